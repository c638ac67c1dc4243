// network.mjs: plays the example games' pages in headless Debian Chromium through simulated
// network paths (net/netsim proxies that cmd/gameserver/network_test.go puts in front of the
// in-process server), measures what a player gets, and prints it as JSON lines. It asserts
// nothing: the Go test does.
//
//   node network.mjs --plan '{...}' --control http://127.0.0.1:PORT [--chromium /usr/bin/chromium]
//        [--peers testdata/peers] [--timeout SECONDS]
//
// The plan (JSON): {"measureSeconds": N, "shooter": [{name, url}], "letters": [{name, url,
// cells}], "blackouts": [{name, game, proxy, url, watchUrl, seconds, phase, cell}]}. Each url is a
// proxy's http://host:port: the pages and their WebSockets go through it. The control URL
// blacks a proxy out: GET /blackout?proxy=NAME&ms=5000 answers {"startMs", "endMs"} (Unix
// ms; every clock here is the same machine's, so Date.now() in the pages compares).
//
// Lines: {"event":"browser"}, the pages' diagnostics (as driver.mjs), one result line per
// plan entry ("shooter:NAME", "letters:NAME", "blackout:NAME"), and {"event":"done"}.
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { openPage, waitReady, closeAll, sleep } from './pages.mjs';
import { place } from './crossword.mjs';
import { drive, scenario } from './browser.mjs';

const peersArg = process.argv.indexOf('--peers');
const peers = peersArg > 0 ? process.argv[peersArg + 1] : process.cwd();
const { emit, parseArgs } = await import(pathToFileURL(path.join(peers, 'lib.mjs')).href);
const { chromium } = createRequire(path.join(peers, 'package.json'))('playwright-core');

const args = parseArgs(process.argv.slice(2), {
  plan: '', control: '', chromium: '/usr/bin/chromium', peers, timeout: 600,
});
if (!args.plan || !args.control) throw new Error('--plan and --control are required');
const plan = JSON.parse(args.plan);

const env = { emit, browser: null, stepTimeout: 20000 };
// setupTimeout bounds a blackout page's first join, which this test does not time: phase 2
// opens six pages at once, and under CI's -race run a starved server (a third of a room's
// ticks skipped) once kept two of them from joining within 20 s.
const setupTimeout = 3 * env.stepTimeout;

await drive({
  chromium,
  executablePath: args.chromium,
  env,
  timeoutSeconds: args.timeout,
  play: async (env) => {
    let ok = true;
    for (const s of plan.shooter ?? []) {
      ok = (await scenario(env, `shooter:${s.name}`, () => playShooter(env, s, plan.measureSeconds))) && ok;
    }
    for (const l of plan.letters ?? []) {
      ok = (await scenario(env, `letters:${l.name}`, () => typeLetters(env, l))) && ok;
    }
    // Blackouts of the same phase run side by side, each on its own proxy.
    const phases = new Map();
    for (const b of plan.blackouts ?? []) phases.set(b.phase, [...(phases.get(b.phase) ?? []), b]);
    for (const group of phases.values()) {
      const done = await Promise.all(group.map((b) => scenario(env, `blackout:${b.name}`, () => (b.game === 'shooter' ? shooterBlackout(env, b) : crosswordBlackout(env, b)))));
      ok = done.every(Boolean) && ok;
    }
    return ok;
  },
});

// ---- the shooter: prediction, key to screen, frames, hits ----------------------------------

// playShooter joins a new arena (with its bots) through entry.url, lets the interpolation
// buffer learn the path, times key presses to the screen, then walks about for `seconds`
// while the page's autopilot shoots at the bots as drawn: on target, or clearly off.
async function playShooter(env, entry, seconds) {
  const p = await openPage(env, `shooter:${entry.name}`, `${entry.url}/shooter/?name=Tester&new=1`);
  try {
    await waitReady(p, env.stepTimeout);
    await sleep(3000); // the buffer measures the path's lateness
    const keyToScreen = await timeKeys(p, 8);
    await p.page.evaluate(armShooting);
    const t0 = Date.now();
    // Play for `seconds`, and on for up to half as long again while fewer than MIN_ON shots
    // at a bot have been fired: a run spent behind walls says nothing about hits.
    const MIN_ON = 10;
    let stuck = 0;
    for (;;) {
      const elapsed = Date.now() - t0;
      if (elapsed >= seconds * 1500) break;
      if (elapsed >= seconds * 1000) {
        const on = await p.page.evaluate(() => window.rp.fired.filter((f) => f.kind === 'on').length);
        if (on >= MIN_ON) break;
      }
      // Seek the fight: towards the nearest live bot while it is far, strafing across the
      // line to it when it is near (the shots then leave from a moving shooter). A walk that
      // a wall stopped turns aside for the next few steps instead of pushing into the wall.
      const { key, from } = await p.page.evaluate((stuck) => {
        const me = window.rp.local();
        let best = null;
        for (const o of window.rp.others()) {
          const d = Math.hypot(o.x - me.x, o.y - me.y);
          if (o.bot && o.alive && (best === null || d < best.d)) best = { ...o, d };
        }
        const to = best ?? { x: 1000, y: 300, d: 1000 };
        let dx = to.x - me.x;
        let dy = to.y - me.y;
        if (stuck > 0 || (best !== null && best.d < 350)) [dx, dy] = Math.random() < 0.5 ? [-dy, dx] : [dy, -dx];
        const key = Math.abs(dx) > Math.abs(dy) ? (dx > 0 ? 'd' : 'a') : (dy > 0 ? 's' : 'w');
        return { key, from: { x: me.x, y: me.y } };
      }, stuck);
      await p.page.keyboard.down(key);
      await sleep(500);
      await p.page.keyboard.up(key);
      await sleep(150);
      const moved = await p.page.evaluate((f) => {
        const me = window.rp.local();
        return Math.hypot(me.x - f.x, me.y - f.y);
      }, from);
      stuck = moved < 30 ? 3 : Math.max(0, stuck - 1);
    }
    const result = await p.page.evaluate(collectShooting);
    return { ...result, keyToScreen };
  } finally {
    await closeAll([p]);
  }
}

// timeKeys presses a movement key, from standing still, until n presses were timed (at most
// 3n tries), and returns for each the time from the keydown to the first drawn frame that
// shows you moved (ms), or null for a press that moved nothing. A press straight into a wall
// moves nothing whatever the SDK does: the next try takes another direction (all four, at
// random), and only when none moves does the list end up short.
async function timeKeys(p, n) {
  const out = [];
  let timed = 0;
  for (let i = 0; i < 3 * n && timed < n; i++) {
    await p.page.waitForFunction(() => window.rp.ready && window.rp.alive(), null, { timeout: 15000, polling: 50 }).catch(() => {});
    const key = await p.page.evaluate((blocked) => {
      const me = window.rp.local();
      const keys = blocked ? ['a', 'd', 'w', 's'] : [me.x < 1000 ? 'd' : 'a', me.y < 600 ? 's' : 'w'];
      const key = keys[Math.floor(Math.random() * keys.length)];
      window.__rpKey = { ms: null };
      window.addEventListener('keydown', () => {
        const t0 = performance.now();
        const p0 = window.rp.local();
        (function watch() {
          const d = window.rp.lastDraw;
          if (d.at > t0 && Math.hypot(d.x - p0.x, d.y - p0.y) > 0.01) { window.__rpKey.ms = d.at - t0; return; }
          if (performance.now() - t0 < 1000) requestAnimationFrame(watch);
        })();
      }, { capture: true, once: true });
      return key;
    }, out.length > 0 && out[out.length - 1] === null);
    await p.page.keyboard.down(key);
    await p.page.waitForFunction(() => window.__rpKey.ms !== null, null, { timeout: 1200, polling: 'raf' }).catch(() => {});
    await sleep(150);
    await p.page.keyboard.up(key);
    const ms = await p.page.evaluate(() => window.__rpKey.ms);
    out.push(ms);
    if (ms !== null) timed++;
    await sleep(350);
  }
  return out;
}

// armShooting runs in the page: it installs rp.autopilot, which every 16 input steps (just
// over the blaster's 15-tick cooldown: a fire the server refuses because the path bunched
// two inputs makes no shot, and is counted apart) picks the nearest live bot drawn in the
// open, with nobody else near the shot's line, and fires at its drawn centre, or every other
// time clearly beside it (2.5 radii off, a shot that must miss), and records the "shot" and
// "kill" events and the frame and prediction counters.
function armShooting() {
  const rp = window.rp;
  const R = 16;
  const RANGE = 1400;
  const SPACING = 16;
  // The distance along the ray from (x, y) in direction (dx, dy) to the first wall, or Infinity.
  const wallHit = (x, y, dx, dy, walls) => {
    let best = Infinity;
    for (const [wx, wy, ww, wh] of walls) {
      let t0 = 0;
      let t1 = Infinity;
      for (const [o, d, lo, hi] of [[x, dx, wx, wx + ww], [y, dy, wy, wy + wh]]) {
        if (Math.abs(d) < 1e-12) {
          if (o < lo || o > hi) { t1 = -1; break; }
          continue;
        }
        const a = (lo - o) / d;
        const b = (hi - o) / d;
        t0 = Math.max(t0, Math.min(a, b));
        t1 = Math.min(t1, Math.max(a, b));
      }
      if (t1 >= t0 && t0 < best) best = t0;
    }
    return best;
  };
  // Whether the segment's first len units pass within 3 units of a wall: the walls grown by
  // 3, seen along two lines 3 units either side.
  const nearWall = (x, y, dx, dy, len, walls) => {
    const grown = walls.map(([wx, wy, ww, wh]) => [wx - 3, wy - 3, ww + 6, wh + 6]);
    return wallHit(x, y, dx, dy, grown) <= len;
  };
  // Whether any of others comes within r of the ray's first `len` units.
  const crowded = (x, y, dx, dy, len, others, skip, r) => others.some((o) => {
    if (o.id === skip || !o.alive) return false;
    const t = Math.max(0, Math.min(len, (o.x - x) * dx + (o.y - y) * dy));
    return Math.hypot(x + dx * t - o.x, y + dy * t - o.y) < r;
  });
  let steps = SPACING;
  let off = false;
  rp.fired = [];
  const why = { calls: 0, ready: 0, none: 0, walls: 0, crowded: 0, fired: 0 };
  rp.autopilot = (me, others, walls) => {
    why.calls++;
    if (++steps < SPACING || walls === null) return null;
    why.ready++;
    // A bot drawn alive but dead in the newest snapshot is dead on the server now: a shot at
    // it cannot hit, whatever it was aimed at. Pick the living.
    const latest = rp.client.entities();
    const living = (o) => latest.get(o.id)?.fields[4] === true;
    const targets = others.filter((o) => o.bot && o.alive && living(o))
      .map((o) => ({ o, d: Math.hypot(o.x - me.x, o.y - me.y) }))
      .filter((c) => c.d > 4 * R && c.d < RANGE - 4 * R)
      .sort((a, b) => a.d - b.d);
    for (const { o, d } of targets) {
      let ax = o.x;
      let ay = o.y;
      if (off) { // beside the target, perpendicular to the line of fire
        ax += ((-(o.y - me.y)) / d) * 2.5 * R;
        ay += ((o.x - me.x) / d) * 2.5 * R;
      }
      const len = Math.hypot(ax - me.x, ay - me.y);
      const dx = (ax - me.x) / len;
      const dy = (ay - me.y) / len;
      const wall = wallHit(me.x, me.y, dx, dy, walls);
      // A wall before the aim point, or within a few units of the line: a shot that grazes a
      // corner is the wall's, not a measure of lag compensation.
      if (wall <= len || nearWall(me.x, me.y, dx, dy, len, walls)) { why.walls++; continue; }
      // On target the shot stops at the target; beside it, it flies on to a wall or its range.
      const reach = off ? Math.min(wall, RANGE) : len;
      if (crowded(me.x, me.y, dx, dy, reach, others, off ? -1 : o.id, R + 6)) { why.crowded++; continue; }
      steps = 0;
      why.fired++;
      const kind = off ? 'off' : 'on';
      off = !off;
      return { x: ax, y: ay, fire: 1, target: o.id, kind };
    }
    if (targets.length === 0) why.none++;
    return null;
  };
  const rec = { shots: [], kills: [], t0: performance.now(), why };
  rec.off = rp.client.on('event', ({ name, payload: p }) => {
    const at = performance.now();
    if (name === 'shot' && Number(p[0]) === rp.me) {
      rec.shots.push({ at, aim: Math.atan2(Number(p[4]) - Number(p[2]), Number(p[3]) - Number(p[1])) * 1000, hit: Number(p[5]), line: [p[1], p[2], p[3], p[4]].map(Number) });
    } else if (name === 'kill') rec.kills.push({ at, victim: Number(p[1]) });
  });
  // Every gap in arrivals longer than 50 ms (the snapshot interval is 33 ms), for the log and
  // the longest-freeze bound. And for each arrival that ended a run of stale frames: how
  // many there were (n), how far the render clock had run past the newest snapshot when it
  // came (overMs), how late it was (lateMs: the fastest sample in the buffer's window less
  // its own), and the lateness a delay learnt from the recent past covered by then (refMs):
  // the 99th percentile of the 256 arrivals before it, followed as the SDK's render clock
  // can follow it, rising no faster than 10% of real time (its default slew: the picture
  // must not jump) and falling at once. It is computed here from the arrivals, not read
  // from the SDK. The Go test excuses the share of those frames that lateness beyond both
  // the path's jitter and that reference explains: a spike no delay learnt from the path
  // and the recent past, reached smoothly, would have covered.
  // clockLostMs: how far the server's tick clock fell behind the page's over the window
  // (ticks a starved server skipped rather than run late), from the first and last arrivals.
  rec.trouble = { stalls: 0, reconnects: 0, maxGapMs: 0, gapsMs: [], late: [], clockLostMs: 0 };
  let first; // the first arrival's {time, at}
  const buf = rp.client.buffer;
  let lastSnap = 0;
  let prevTime; // the tick time of the previous snapshot
  let prevStale = 0;
  const seen = []; // the last 256 samples (tick time − arrival, ms), a ring
  let seenNext = 0;
  const slew = 0.1; // the SDK's default: the render clock gains at most 10% of real time
  let reach; // the lateness the recent past calls for, as far as a slewing clock has followed it (ms)
  rec.offStall = rp.client.on('stall', (x) => { if (x.stalled) rec.trouble.stalls++; });
  rec.offState = rp.client.on('state', (x) => { if (x.state === 'reconnecting') rec.trouble.reconnects++; });
  rec.offSnap = rp.client.on('snapshot', (x) => {
    const now = performance.now();
    const gap = lastSnap > 0 ? now - lastSnap : 0;
    if (lastSnap > 0) {
      rec.trouble.maxGapMs = Math.max(rec.trouble.maxGapMs, gap);
      if (gap > 50 && rec.trouble.gapsMs.length < 1000) rec.trouble.gapsMs.push(Math.round(gap));
    }
    lastSnap = now;
    const time = buf.tickTime(x.tick);
    const sample = time - now;
    if (first === undefined) first = { time, at: now };
    rec.trouble.clockLostMs = Math.max(0, (now - first.at) - (time - first.time));
    if (seen.length > 0) {
      const desc = seen.slice().sort((a, b) => b - a);
      const want = desc[0] - desc[Math.min(desc.length - 1, Math.floor(0.99 * desc.length))];
      reach = reach === undefined || want <= reach ? want : Math.min(want, reach + slew * gap);
    }
    const stale = buf.stats.stale;
    if (stale > prevStale && prevTime !== undefined && buf.render !== undefined && reach !== undefined && rec.trouble.late.length < 5000) {
      rec.trouble.late.push({
        n: stale - prevStale,
        overMs: buf.render + (now - buf.lastNow) - prevTime,
        lateMs: buf.fastest - sample,
        refMs: reach,
      });
    }
    if (seen.length < 256) seen.push(sample);
    else seen[seenNext] = sample;
    seenNext = (seenNext + 1) % 256;
    prevStale = stale;
    prevTime = time;
  });
  rp.client.buffer.resetStats(); // the window measured, not the page's start
  rec.buffer0 = rp.client.buffer.stats;
  rec.stats0 = { ...rp.stats };
  window.__rpShoot = rec;
}

// collectShooting runs in the page: it stops the autopilot and pairs each shot event with
// the fire it came from, and counts. A fire the server refused (its cooldown not over: the
// path bunched two inputs; the shooter died first) made no shot, so the pairing goes by
// what each shot says: the shooter's position (to the unit: the event rounds it) and the
// direction (to what the rounded ends allow), from a fire at most 3 s before.
function collectShooting() {
  const rp = window.rp;
  const rec = window.__rpShoot;
  rp.autopilot = null;
  rec.off();
  rec.offStall();
  rec.offState();
  rec.offSnap();
  const minutes = (performance.now() - rec.t0) / 60000;
  const intents = rp.fired.slice();
  const out = { on: 0, hits: 0, misses: [], off: 0, falseHits: 0, voided: 0, unfired: 0, unmatched: 0 };
  let k = 0;
  const turn = (a) => Math.abs(((a + 3141.59 * 3) % 6283.19) - 3141.59); // |a| in (-π, π], mrad
  for (const s of rec.shots) {
    const [x1, y1, x2, y2] = s.line;
    const tol = Math.max(2, 1500 / Math.max(1, Math.hypot(x2 - x1, y2 - y1)));
    const fits = (it) => turn(s.aim - it.aim) <= tol && Math.abs(Math.round(it.from.x) - x1) <= 1 &&
      Math.abs(Math.round(it.from.y) - y1) <= 1 && s.at - it.at < 3000 && s.at >= it.at;
    let j = k;
    while (j < intents.length && !fits(intents[j])) j++;
    if (j === intents.length) { out.unmatched++; continue; }
    out.unfired += j - k; // fires the server did not take (the shooter died first)
    const it = intents[j];
    k = j + 1;
    const dead = rec.kills.some((x) => x.victim === it.target && x.at >= it.at && x.at <= s.at);
    if (dead) { out.voided++; continue; } // killed before this shot was judged
    if (it.kind === 'on') {
      out.on++;
      if (s.hit === it.target) out.hits++;
      else if (out.misses.length < 20) out.misses.push({ target: it.target, hit: s.hit, aim: it.aim, shotAim: s.aim, ms: s.at - it.at, from: it.from, to: it.to, view: it.view, shot: s.line });
    } else {
      out.off++;
      if (s.hit !== 0) {
        out.falseHits++;
        if (out.misses.length < 20) out.misses.push({ falseHit: true, target: it.target, hit: s.hit, aim: it.aim, shotAim: s.aim, ms: s.at - it.at, from: it.from, to: it.to, view: it.view, shot: s.line, others: it.others });
      }
    }
  }
  const b0 = rec.buffer0;
  const b1 = rp.client.buffer.stats;
  return {
    ...out,
    autopilot: rec.why,
    trouble: rec.trouble,
    minutes,
    frames: b1.frames - b0.frames,
    stale: b1.stale - b0.stale,
    held: b1.held - b0.held,
    longestHoldMs: b1.longestHold,
    rebases: b1.rebases - b0.rebases,
    delayMs: rp.client.buffer.delay,
    rttMs: rp.client.rtt,
    predictedSteps: rp.stats.predictedSteps - rec.stats0.predictedSteps,
    mispredictions: rp.stats.mispredictions - rec.stats0.mispredictions,
    reconciliations: rp.stats.reconciliations - rec.stats0.reconciliations,
    me: rp.me,
  };
}

// ---- the crossword: a letter from one page to another ---------------------------------------

// typeLetters opens two crossword pages through entry.url and times each of entry.cells
// typed on one page until the other shows it, the pages taking turns.
async function typeLetters(env, entry) {
  const pages = [];
  try {
    for (const name of ['Ada', 'Grace']) pages.push(await openPage(env, `letters:${entry.name}:${name}`, `${entry.url}/crossword/?name=${name}`));
    await Promise.all(pages.map((p) => waitReady(p, env.stepTimeout)));
    const placements = [];
    for (const [i, cell] of entry.cells.entries()) {
      placements.push(await place(env, pages[i % 2], pages[(i + 1) % 2], cell));
    }
    return { placements };
  } finally {
    await closeAll(pages);
  }
}

// ---- blackouts ------------------------------------------------------------------------------

// blackout asks the Go test to black entry's proxy out for entry.seconds; returns {startMs, endMs}.
async function blackout(entry) {
  const res = await fetch(`${args.control}/blackout?proxy=${encodeURIComponent(entry.proxy)}&ms=${entry.seconds * 1000}`);
  if (!res.ok) throw new Error(`control: ${res.status} ${await res.text()}`);
  return res.json();
}

// armMonitor runs in a page: it records, in Date.now() time, the connection's states, joins,
// snapshots and predicted steps, for the blackout's timeline.
function armMonitor() {
  const c = window.rp.client;
  const m = { states: [], joins: [], snapshots: [], steps: [], me: window.rp.me };
  c.on('state', (s) => m.states.push({ at: Date.now(), state: s.state, reason: s.reason ?? '', attempt: s.attempt ?? 0 }));
  c.on('stall', (s) => m.states.push({ at: Date.now(), state: s.stalled ? 'stalled' : 'flowing' }));
  c.on('joined', (j) => m.joins.push({ at: Date.now(), player: j.player, resumed: j.resumed }));
  c.on('left', (l) => m.joins.push({ at: Date.now(), left: l.code, message: l.message, rejoining: l.rejoining ?? false }));
  c.on('error', (e) => m.joins.push({ at: Date.now(), error: e.code, message: e.message }));
  c.on('snapshot', () => { if (m.snapshots.length < 5000) m.snapshots.push(Date.now()); });
  if (window.rp.stats) {
    // Steps, and the spans the player was dead (no inputs are sent while dead: a bot may
    // shoot the player during the outage, and the respawn takes 2 s).
    m.dead = [];
    let last = window.rp.stats.predictedSteps;
    let deadSince = 0;
    (function watch() {
      const n = window.rp.stats.predictedSteps;
      if (n !== last && m.steps.length < 5000) m.steps.push(Date.now());
      last = n;
      const alive = window.rp.alive();
      if (!alive && deadSince === 0) deadSince = Date.now();
      if (alive && deadSince !== 0) { m.dead.push([deadSince, Date.now()]); deadSince = 0; }
      setTimeout(watch, 5);
    })();
  }
  window.__rpMon = m;
}

// timeline turns a page's monitor into the blackout's figures, relative to its start and end.
function timeline(m, when) {
  const after = (list, t) => list.find((x) => (typeof x === 'number' ? x : x.at) >= t);
  const lost = m.states.find((s) => s.state === 'reconnecting' && s.at >= when.startMs);
  const snap = after(m.snapshots, when.endMs);
  const resumed = m.joins.find((j) => j.at >= when.startMs && j.player !== undefined);
  const rejoined = m.joins.find((j) => j.at >= when.startMs && j.player !== undefined && !j.resumed);
  return {
    rejoined: rejoined ? { player: rejoined.player, ms: rejoined.at - when.endMs } : null,
    joins: m.joins.filter((j) => j.at >= when.startMs).map((j) => ({ ...j, at: j.at - when.endMs })),
    noticedMs: lost ? lost.at - when.startMs : null,
    noticedReason: lost ? lost.reason : '',
    stalledMs: (() => { const s = m.states.find((x) => x.state === 'stalled' && x.at >= when.startMs); return s ? s.at - when.startMs : null; })(),
    firstSnapshotMs: snap === undefined ? null : snap - when.endMs,
    resumed: resumed ? { player: resumed.player, resumed: resumed.resumed, ms: resumed.at - when.endMs } : null,
    left: m.joins.filter((j) => j.left !== undefined),
    states: m.states.slice(0, 40).map((s) => ({ ...s, at: s.at - when.startMs })),
  };
}

// shooterBlackout plays the shooter through entry.proxy, walks, blacks the link out for
// entry.seconds, and times the way back: the same player resumed, snapshots and predicted
// steps flowing again after the link returns.
async function shooterBlackout(env, entry) {
  const p = await openPage(env, `blackout:${entry.name}`, `${entry.url}/shooter/?name=Dropper&new=1`);
  try {
    await waitReady(p, setupTimeout);
    await sleep(2000);
    const me = await p.page.evaluate(() => window.rp.me);
    await p.page.evaluate(armMonitor);
    let walking = true;
    const walk = (async () => {
      while (walking) {
        const key = await p.page.evaluate(() => (window.rp.local().x < 1000 ? 'd' : 'a')).catch(() => 'd');
        await p.page.keyboard.down(key);
        await sleep(400);
        await p.page.keyboard.up(key);
      }
    })();
    const when = await blackout(entry);
    await sleep(Math.max(0, when.endMs - Date.now()));
    // Play continues: a snapshot and a predicted step after the link's return (bounded wait).
    await p.page.waitForFunction((end) => {
      const m = window.__rpMon;
      return m.snapshots.some((t) => t >= end) && m.steps.some((t) => t >= end) && window.rp.ready;
    }, when.endMs, { timeout: 15000, polling: 20 }).catch(() => {});
    walking = false;
    await walk;
    const m = await p.page.evaluate(() => window.__rpMon);
    const steps = m.steps.find((t) => t >= when.endMs);
    const t = timeline(m, when);
    // Time spent dead after the return (waiting to respawn) is the game, not the link.
    const deadMs = steps === undefined ? 0 : m.dead.reduce((sum, [a, b]) => sum + Math.max(0, Math.min(b, steps) - Math.max(a, when.endMs)), 0);
    const cont = t.firstSnapshotMs === null || steps === undefined ? null : Math.max(t.firstSnapshotMs, steps - when.endMs - deadMs);
    return { seconds: entry.seconds, me, ...t, continueMs: cont, deadAfterReturnMs: Math.round(deadMs), samePlayer: t.resumed !== null && t.resumed.player === me && t.resumed.resumed };
  } finally {
    await closeAll([p]);
  }
}

// crosswordBlackout opens page A through entry.proxy and page B through entry.watchUrl,
// blacks A's link out, types a correct letter on A during the outage, and times the way
// back: A resumed as the same player, and the letter on B.
async function crosswordBlackout(env, entry) {
  const pages = [];
  try {
    pages.push(await openPage(env, `blackout:${entry.name}:A`, `${entry.url}/crossword/?name=Away`));
    pages.push(await openPage(env, `blackout:${entry.name}:B`, `${entry.watchUrl}/crossword/?name=Home`));
    const [a, b] = pages;
    await Promise.all(pages.map((p) => waitReady(p, setupTimeout)));
    const me = await a.page.evaluate(() => window.rp.me);
    await a.page.evaluate(armMonitor);
    const { row, col, letter } = entry.cell;
    const lost = entry.lostCell;
    await b.page.evaluate(({ cells }) => {
      window.__rpSeen = cells.map(() => null);
      cells.forEach(({ row, col, letter }, i) => (function poll() {
        if (String(window.rp.letterAt(row, col)) === letter) { window.__rpSeen[i] = Date.now(); return; }
        setTimeout(poll, 5);
      })());
    }, { cells: [entry.cell, lost] });
    await a.page.click(`[data-row="${lost.row}"][data-col="${lost.col}"]`, { timeout: env.stepTimeout });
    const when = await blackout(entry);
    // A letter typed at once, before the page can tell the link is dead, goes into it and is
    // lost with it: the page must send it again once it is back.
    await a.page.keyboard.press(lost.letter.toLowerCase());
    const lostPending = (await a.page.evaluate(() => window.rp.pending())).filter((p) => p.row === lost.row && p.col === lost.col);
    await a.page.click(`[data-row="${row}"][data-col="${col}"]`, { timeout: env.stepTimeout });
    await sleep(Math.min(1000, entry.seconds * 500));
    // The letter is typed once the page can tell the link is bad (the SDK's stall, 500 ms
    // without a snapshot): a page starved of CPU notices late, and a letter typed before
    // that is sent into the dead link; the page sends it again after the return, which
    // lostLetterSeenMs below times.
    await a.page.waitForFunction(() => window.rp.client.stalled || window.rp.client.state !== 'open', null,
      { timeout: Math.max(1000, when.endMs - Date.now() - 500), polling: 20 }).catch(() => {});
    const typedAt = Date.now();
    await a.page.keyboard.press(letter.toLowerCase());
    // The letter typed once the stall showed (the one typed into the dead link is pending too).
    const pendingDuring = (await a.page.evaluate(() => window.rp.pending())).filter((p) => p.row === row && p.col === col);
    await sleep(Math.max(0, when.endMs - Date.now()));
    await b.page.waitForFunction(() => window.__rpSeen.every((t) => t !== null), null, { timeout: 15000, polling: 20 }).catch(() => {});
    await a.page.waitForFunction((end) => window.__rpMon.snapshots.some((t) => t >= end), when.endMs, { timeout: 5000, polling: 20 }).catch(() => {});
    const seenAt = await b.page.evaluate(() => window.__rpSeen);
    const m = await a.page.evaluate(() => window.__rpMon);
    const t = timeline(m, when);
    return {
      seconds: entry.seconds, me, ...t,
      typedMs: typedAt - when.startMs,
      pendingDuring,
      lostPending,
      letterSeenMs: seenAt[0] === null ? null : seenAt[0] - when.endMs,
      lostLetterSeenMs: seenAt[1] === null ? null : seenAt[1] - when.endMs,
      continueMs: t.firstSnapshotMs,
      samePlayer: t.resumed !== null && t.resumed.player === me && t.resumed.resumed,
      refused: await a.page.evaluate(() => window.rp.refused),
    };
  } finally {
    await closeAll(pages);
  }
}
