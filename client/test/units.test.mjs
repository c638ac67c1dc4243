// Unit tests of the pieces the Client puts together: interpolation, prediction bookkeeping,
// backoff and the clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { InterpolationBuffer, interpolate, InputBuffer, backoffDelay, ServerClock } from "../dist/rallypoint.js";

const st = (x) => new Map([[1, { kind: 1, fields: [x, 10 * x, "n"] }]]);

test("interpolation: delay is two intervals plus jitter; render time trails server time", () => {
  // 60 Hz ticks, 20 Hz snapshots: a snapshot every 3 ticks = 50 ms.
  const b = new InterpolationBuffer(60, 20);
  assert.equal(b.interval, 50);
  for (let i = 0; i < 10; i++) b.push(3 * (i + 1), st(i), 1000 + 50 * i); // perfectly regular
  assert.equal(b.jitter, 0);
  assert.equal(b.delay, 100);
  // tick 3 → 50 ms arrives at 1000: offset −950, so server time at local 1450 is tick 30's 500 ms.
  assert.equal(b.serverTime(1450), 500);
  assert.equal(b.renderTime(1450), 400); // tick 24
  const s = b.sample(1450 + 25); // render time 425: halfway between ticks 24 (400) and 27 (450)
  assert.equal(s.from.tick, 24);
  assert.equal(s.to.tick, 27);
  assert.equal(s.t, 0.5);
  const e = interpolate(s, [0, 1]);
  assert.deepEqual(e.get(1).fields, [7.5, 75, "n"]);
  // Older snapshots were dropped; newest clamps (no extrapolation).
  assert.equal(b.size, 3);
  const late = b.sample(5000);
  assert.equal(late.from.tick, 30);
  assert.equal(late.to, late.from);
  assert.equal(late.t, 0);
});

test("interpolation: jitter grows the delay, bounded", () => {
  const b = new InterpolationBuffer(30, 30);
  let arrival = 0;
  for (let i = 1; i <= 200; i++) {
    arrival += i % 2 === 0 ? 13.3 : 53.3; // mean 33.3 ms, ±20 ms jitter
    b.push(i, st(i), arrival);
  }
  assert.ok(b.jitter > 18 && b.jitter < 21, `jitter ${b.jitter}`);
  assert.ok(b.delay > 2 * 33.3 + 3 * 18, `delay ${b.delay}`);
  // The server time follows the early arrivals, not the mean: snapshot 200 (tick time
  // 6666.7 ms) arrived at 6660, 13.3 ms after 199, which came 53.3 ms after 198.
  assert.ok(Math.abs(b.serverTime(arrival) - (200 * 1000) / 30) < 25, `${b.serverTime(arrival)}`);
  const steady = new InterpolationBuffer(30, 30, { jitterFactor: 3, maxDelay: 100 });
  for (let i = 1; i <= 200; i++) steady.push(i, st(i), i % 2 === 0 ? i * 33.3 + 20 : i * 33.3);
  assert.equal(steady.delay, 100); // bounded
});

test("interpolation: entities only in `to` wait, entities only in `from` stay, kinds picked", () => {
  const from = { tick: 1, time: 0, state: new Map([[1, { kind: 1, fields: [0, 0] }], [2, { kind: 2, fields: [0, 0] }]]) };
  const to = { tick: 2, time: 10, state: new Map([[1, { kind: 1, fields: [10, 10] }], [3, { kind: 1, fields: [5, 5] }]]) };
  const e = interpolate({ renderTime: 5, from, to, t: 0.5 }, (kind) => (kind === 1 ? [0] : []));
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
  const nominal = [250, 500, 1000, 2000, 4000, 5000, 5000];
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
