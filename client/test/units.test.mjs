// Unit tests of the pieces the Client puts together: interpolation, prediction bookkeeping,
// backoff and the clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { InterpolationBuffer, interpolate, InputBuffer, backoffDelay, ServerClock } from "../dist/rallypoint.js";

const st = (x) => new Map([[1, { kind: 1, fields: [x, 10 * x, "n"] }]]);

/** A deterministic PRNG (mulberry32), so that the simulated networks replay exactly. */
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Plays `seconds` of a 60 Hz room sending 30 Hz snapshots through a one-way path of
 * `delay` ± `jitter` ms (uniform) that keeps order, as TCP does (a snapshot is delivered no
 * earlier than the one before it), and draws frames at 60 Hz. Returns the buffer and what
 * the frames saw after `warmup` seconds.
 */
function simulate({ delay = 50, jitter = 20, seconds = 120, warmup = 3, seed = 1, options = {}, path }) {
  const r = rng(seed);
  const b = new InterpolationBuffer(60, 30, options);
  const arrivals = [];
  let last = 0;
  for (let tick = 2; tick <= seconds * 60; tick += 2) {
    const sent = (tick * 1000) / 60 + 7; // the server sends a little after the tick
    const d = path ? path(sent, r) : delay - jitter + 2 * jitter * r();
    last = Math.max(last, sent + d);
    arrivals.push({ tick, at: last });
  }
  const out = { frames: 0, stale: 0, held: 0, longestStaleMs: 0, backwards: 0, maxStepRatio: 0, delays: [] };
  let i = 0;
  let prev;
  let staleSince;
  for (let now = 0; now < seconds * 1000; now += 1000 / 60) {
    while (i < arrivals.length && arrivals[i].at <= now) {
      b.push(arrivals[i].tick, st(arrivals[i].tick), arrivals[i].at);
      i++;
    }
    const s = b.sample(now);
    if (s === undefined || now < warmup * 1000) {
      prev = s?.renderTime;
      continue;
    }
    out.frames++;
    if (s.stale) {
      out.stale++;
      staleSince ??= now;
      out.longestStaleMs = Math.max(out.longestStaleMs, now - staleSince);
    } else staleSince = undefined;
    if (prev !== undefined) {
      if (s.renderTime < prev) out.backwards++;
      out.maxStepRatio = Math.max(out.maxStepRatio, (s.renderTime - prev) / (1000 / 60));
    }
    prev = s.renderTime;
    out.delays.push(now + 0 - s.renderTime);
  }
  out.buffer = b;
  return out;
}

test("interpolation: on a steady link the delay is one interval and a margin; render time trails server time", () => {
  // 60 Hz ticks, 20 Hz snapshots: a snapshot every 3 ticks = 50 ms.
  const b = new InterpolationBuffer(60, 20);
  assert.equal(b.interval, 50);
  for (let i = 0; i < 10; i++) b.push(3 * (i + 1), st(i), 1000 + 50 * i); // perfectly regular
  assert.equal(b.jitter, 0);
  assert.equal(b.delay, 54); // one interval, the 4 ms margin
  // tick 3 → 50 ms arrived at 1000: the server time at local 1450 is tick 30's 500 ms.
  assert.equal(b.serverTime(1450), 500);
  assert.equal(b.renderTime(1450), 446);
  const s = b.sampleAt(425); // halfway between ticks 24 (400) and 27 (450)
  assert.equal(s.from.tick, 24);
  assert.equal(s.to.tick, 27);
  assert.equal(s.t, 0.5);
  assert.equal(s.stale, false);
  const e = interpolate(s, [0, 1]);
  assert.deepEqual(e.get(1).fields, [7.5, 75, "n"]);
});

test("interpolation: past the newest snapshot, extrapolation along the last motion for up to 100 ms, then held", () => {
  const b = new InterpolationBuffer(60, 20);
  for (let i = 0; i < 10; i++) b.push(3 * (i + 1), st(i), 1000 + 50 * i); // newest: tick 30 at 500 ms, x 9
  const s = b.sampleAt(525);
  assert.equal(s.from.tick, 27);
  assert.equal(s.to.tick, 30);
  assert.equal(s.t, 1.5);
  assert.equal(s.stale, true);
  assert.deepEqual(interpolate(s, [0, 1]).get(1).fields, [9.5, 95, "n"]); // half an interval on
  const held = b.sampleAt(900);
  assert.equal(held.t, 3, "held at 100 ms past the newest snapshot (two intervals beyond from)");
  assert.deepEqual(interpolate(held, [0]).get(1).fields, [11, 10 * 9, "n"]);
  // Entities that appear in the newest snapshot are there when extrapolating; gone ones are not.
  const from = { tick: 1, time: 0, state: new Map([[1, { kind: 1, fields: [0] }], [2, { kind: 1, fields: [0] }]]) };
  const to = { tick: 2, time: 10, state: new Map([[1, { kind: 1, fields: [10] }], [3, { kind: 1, fields: [5] }]]) };
  const ex = interpolate({ renderTime: 15, from, to, t: 1.5, stale: true }, [0]);
  assert.deepEqual([...ex.keys()].sort(), [1, 3]);
  assert.deepEqual(ex.get(1).fields, [15]);
});

test("interpolation: at 100 ± 20 ms, under 0.5% of frames lack a fresh snapshot, none held, the clock never jumps", () => {
  for (const seed of [1, 2, 3]) {
    const r = simulate({ delay: 50, jitter: 20, seed });
    const stale = r.stale / r.frames;
    assert.ok(stale < 0.005, `seed ${seed}: ${(100 * stale).toFixed(2)}% of ${r.frames} frames stale`);
    assert.ok(r.longestStaleMs <= 100, `seed ${seed}: stale for ${r.longestStaleMs} ms at once`);
    assert.equal(r.buffer.stats.held, 0, `seed ${seed}: frames held still`);
    assert.equal(r.backwards, 0, "the render clock went backwards");
    assert.ok(r.maxStepRatio <= 1.1 + 1e-9, `a frame moved the render clock ${r.maxStepRatio}× real time`);
    // The delay the others are drawn at: one interval plus most of the 40 ms spread, not much more.
    const d = r.buffer.delay;
    assert.ok(d > 33.3 + 25 && d < 33.3 + 40 + 10, `seed ${seed}: delay ${d.toFixed(1)} ms`);
  }
  for (const seed of [4, 5]) {
    const r = simulate({ delay: 100, jitter: 40, seed }); // 200 ± 40 ms RTT
    assert.ok(r.stale / r.frames < 0.005, `200 ± 40, seed ${seed}: ${((100 * r.stale) / r.frames).toFixed(2)}% stale`);
    assert.equal(r.buffer.stats.held, 0);
  }
});

test("interpolation: a link that gets slower is followed by slowing the clock, not by jumping", () => {
  // 50 ± 5 ms for a minute, then 150 ± 5 ms: the render clock runs at 0.9× until the new
  // delay is reached, frames extrapolate (never hold) over the step, and nothing jumps.
  const r = simulate({ seconds: 120, seed: 7, path: (sent, rnd) => (sent < 60000 ? 50 : 150) - 5 + 10 * rnd() });
  assert.equal(r.backwards, 0);
  assert.ok(r.maxStepRatio <= 1.1 + 1e-9, `step ${r.maxStepRatio}`);
  assert.ok(r.longestStaleMs < 1100, `stale for ${r.longestStaleMs} ms while the clock slowed`);
  assert.ok(r.stale / r.frames < 0.02, `${((100 * r.stale) / r.frames).toFixed(2)}% stale`);
});

test("interpolation: a server clock that falls behind (skipped ticks) is caught at once, not slewed for seconds", () => {
  // A starved server skips ticks, so its tick clock falls behind real time: every snapshot
  // from then on looks 600 ms later. Slewing at 10% would hold the others still for about
  // six seconds (the old, faster samples stay in the window); the buffer starts its estimate
  // afresh instead, with one step back: the others are held no longer than the 600 ms in
  // which no snapshot came and the 150 ms the buffer waits to be sure (it held 5.4 s before).
  const r = simulate({ seconds: 90, seed: 9, path: (sent, rnd) => (sent < 60000 ? 50 : 650) - 5 + 10 * rnd() });
  assert.ok(r.buffer.stats.longestHold < 800, `held for ${r.buffer.stats.longestHold.toFixed(0)} ms`);
  assert.ok(r.longestStaleMs < 900, `stale for ${r.longestStaleMs.toFixed(0)} ms at once`);
  assert.ok(r.buffer.stats.rebases >= 1, "no rebase");
  assert.ok(r.backwards <= r.buffer.stats.rebases, `the render clock went back ${r.backwards} times in ${r.buffer.stats.rebases} rebases`);
  assert.ok(r.stale / r.frames < 0.01, `${((100 * r.stale) / r.frames).toFixed(2)}% stale`);
  // A link that goes quiet is not such a shift: no snapshot arrives, so nothing is rebased.
  const q = simulate({ seconds: 30, seed: 10, path: (sent, rnd) => (sent > 15000 && sent < 17000 ? 17000 - sent + 50 : 50) - 5 + 10 * rnd() });
  assert.equal(q.buffer.stats.rebases, 0, "a 2 s outage was taken for a server clock shift");
});

test("interpolation: stats count frames, stale and held frames, the longest hold", () => {
  const b = new InterpolationBuffer(60, 30, { maxExtrapolation: 50 });
  for (let tick = 2; tick <= 60; tick += 2) b.push(tick, st(tick), (tick * 1000) / 60);
  for (let now = 1000; now < 1500; now += 10) b.sample(now); // no snapshot after 1000 ms
  const s = b.stats;
  assert.equal(s.frames, 50);
  assert.ok(s.stale > 40 && s.held > 30 && s.longestHold >= 300, JSON.stringify(s));
  // resetStats measures a window: the hold before it is not counted in it.
  b.resetStats();
  for (let tick = 62; tick <= 120; tick += 2) b.push(tick, st(tick), (tick * 1000) / 60 + 500);
  for (let now = 1500; now < 2000; now += 10) b.sample(now);
  const w = b.stats;
  assert.equal(w.frames, 50);
  assert.ok(w.longestHold < 300, `longest hold in the window ${w.longestHold} ms, before it ${s.longestHold} ms`);
});

test("interpolation: entities only in `to` wait, entities only in `from` stay, kinds picked", () => {
  const from = { tick: 1, time: 0, state: new Map([[1, { kind: 1, fields: [0, 0] }], [2, { kind: 2, fields: [0, 0] }]]) };
  const to = { tick: 2, time: 10, state: new Map([[1, { kind: 1, fields: [10, 10] }], [3, { kind: 1, fields: [5, 5] }]]) };
  const e = interpolate({ renderTime: 5, from, to, t: 0.5, stale: false }, (kind) => (kind === 1 ? [0] : []));
  assert.deepEqual([...e.keys()], [1, 2]);
  assert.deepEqual(e.get(1).fields, [5, 0]);
});

test("reconciliation: acknowledged inputs are dropped, pending ones re-applied", () => {
  const ib = new InputBuffer();
  assert.equal(ib.add({ dx: 1 }), 1);
  assert.equal(ib.add({ dx: 2 }), 2);
  assert.equal(ib.add({ dx: 4 }), 3);
  const apply = (s, input) => ({ x: s.x + input.dx });
  assert.deepEqual(ib.reconcile({ x: 0 }, apply), { x: 7 });
  ib.ack(2, 30); // the server's x already contains inputs 1 and 2
  assert.deepEqual(ib.pending().map((p) => p.seq), [3]);
  assert.deepEqual(ib.reconcile({ x: 3 }, apply), { x: 7 });
  assert.deepEqual(ib.lastAck, { seq: 2, tick: 30 });
  ib.ack(1, 31); // stale: ignored
  assert.deepEqual(ib.lastAck, { seq: 2, tick: 30 });
  ib.ack(3, 33);
  assert.deepEqual(ib.pending(), []);
  assert.deepEqual(ib.reconcile({ x: 7 }, apply), { x: 7 });
  ib.reset();
  assert.equal(ib.add({}), 1);
});

test("backoff: exponential, capped, with jitter below the nominal delay", () => {
  const nominal = [250, 500, 1000, 2000, 2000, 2000, 2000];
  nominal.forEach((d, i) => assert.equal(backoffDelay(i, {}, () => 0), d));
  nominal.forEach((d, i) => assert.equal(backoffDelay(i, {}, () => 0.999999), d * (1 - 0.5 * 0.999999)));
  assert.equal(backoffDelay(3, { initialDelay: 100, factor: 3, maxDelay: 60000, jitter: 0 }, () => 0.7), 2700);
  for (let i = 0; i < 1000; i++) {
    const d = backoffDelay(2, { jitter: 0.25 });
    assert.ok(d > 750 && d <= 1000, `${d}`);
  }
});

test("clock: smoothed RTT, offset and server tick", () => {
  const c = new ServerClock(1 / 8, 1); // no warm-up filter: smoothing from the second pong
  c.setTickRate(60);
  // Ping at 1000, server answers at its 51000 (tick 600), pong at 1100: RTT 100, offset 50000 − 1050... 
  let s = c.onPong(1000, 51000, 600, 1100);
  assert.equal(s.rtt, 100);
  assert.equal(c.rtt, 100);
  assert.equal(c.offset, 51000 - 1050);
  assert.equal(c.serverTime(2050), 52000);
  assert.equal(c.serverTick(1050), 600);
  assert.equal(c.serverTick(2050), 660);
  // A slower round trip moves SRTT an eighth of the way.
  s = c.onPong(2000, 52000 + 100, 666, 2300); // server answered at local 2150 (tick 666 exactly)
  assert.equal(s.rtt, 300);
  assert.equal(c.rtt, 125);
  assert.ok(Math.abs(c.serverTick(2150) - 666) < 1e-9);
  assert.equal(c.sampleCount, 2);
  c.resetTick();
  assert.equal(c.serverTick(3000), undefined);
});

test("clock: warm-up keeps the fastest of the first pongs, then smooths", () => {
  const c = new ServerClock(); // warm-up of 4
  c.setTickRate(60);
  c.onPong(0, 50100, 0, 200); // a first ping stuck behind page load: RTT 200
  assert.equal(c.rtt, 200);
  c.onPong(250, 50252, 0, 254); // RTT 4: wins outright, offset from it (50252 − 252)
  assert.equal(c.rtt, 4);
  assert.equal(c.offset, 50000);
  c.onPong(500, 50503, 0, 510); // RTT 10, slower than the best: ignored during warm-up
  assert.equal(c.rtt, 4);
  assert.equal(c.offset, 50000);
  c.onPong(750, 50752, 0, 754); // 4th sample, RTT 4: not better, ignored
  assert.equal(c.rtt, 4);
  c.onPong(2750, 52752, 0, 2762); // after warm-up: RTT 12 smoothed in at 1/8
  assert.equal(c.rtt, 5);
  assert.equal(c.sampleCount, 5);
});
