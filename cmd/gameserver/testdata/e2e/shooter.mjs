// shooter.mjs: the shooter scenario of the end-to-end driver. One page joins the arena (with
// the server's bots); the driver checks that it renders, holds D then S while a sampler in
// the page records the predicted and the authoritative position every few milliseconds, and
// after the keys are released waits for the moment all inputs are acknowledged to compare
// the two. Then it watches a bot move.

import { openPage, waitReady, checkHooks, extensions, joined, screenshot, closeAll, sleep } from './pages.mjs';

// HOOKS is the shape of the shooter page's window.rp.
const HOOKS = {
  client: 'object', ready: 'any', extensions: 'function', me: 'any', local: 'function', server: 'function',
  pending: 'function', stats: 'object', others: 'function', frames: 'number',
};

// Holding times. They decide how far the player walks, not whether the test passes: every
// outcome is polled for with a deadline.
const HOLD_D_MS = 600;
const HOLD_S_MS = 500;
const ATTEMPTS = 3; // a bot may kill the player mid-walk; walk again after the respawn

export async function run(env) {
  const result = { hooks: [] };
  const pages = [];
  try {
    const p = await openPage(env, 'shooter', `${env.url}/shooter/?name=Tester`);
    pages.push(p);
    await waitReady(p, env.stepTimeout);
    result.hooks = (await checkHooks(p, HOOKS)).map((s) => `shooter: ${s}`);
    if (result.hooks.length > 0) return result;
    result.hooks.push(...(await checkShapes(p)).map((s) => `shooter: ${s}`));
    if (result.hooks.length > 0) return result;
    result.extensions = await extensions(p);
    result.joined = await joined(p);
    result.focused = await p.page.evaluate(() => document.activeElement ? document.activeElement.tagName : '');
    result.frames = await framesGrow(p, 30, env.stepTimeout);

    result.walks = [];
    for (let i = 0; i < ATTEMPTS; i++) {
      const w = await walk(env, p);
      result.walks.push(w);
      if (!w.died) break;
    }
    result.bot = await botMoves(p, env.stepTimeout);
    await screenshot(env, p, env.out, 'shooter.png', 'check');
    if (env.docs) await docsPicture(env, p);
    return result;
  } finally {
    await closeAll(pages);
  }
}

// checkShapes looks at what the hook functions return, beyond their types.
async function checkShapes(p) {
  return p.page.evaluate(() => {
    const rp = window.rp;
    const problems = [];
    const isPoint = (v) => v && typeof v.x === 'number' && typeof v.y === 'number';
    if (!isPoint(rp.local())) problems.push(`rp.local() returned ${JSON.stringify(rp.local())}, want {x, y} numbers`);
    if (!isPoint(rp.server())) problems.push(`rp.server() returned ${JSON.stringify(rp.server())}, want {x, y} numbers`);
    const n = rp.pending();
    if (typeof n !== 'number' && !Array.isArray(n)) problems.push(`rp.pending() returned ${typeof n}, want a count`);
    for (const k of ['predictedSteps', 'reconciliations', 'mispredictions']) {
      if (typeof rp.stats[k] !== 'number') problems.push(`rp.stats.${k} is ${typeof rp.stats[k]}, want a number`);
    }
    const o = rp.others();
    if (!Array.isArray(o)) problems.push(`rp.others() returned ${typeof o}, want an array`);
    else if (o.length > 0 && !(isPoint(o[0]) && 'id' in o[0] && typeof o[0].bot === 'boolean' && typeof o[0].alive === 'boolean')) {
      problems.push(`rp.others()[0] is ${JSON.stringify(o[0])}, want {id, x, y, bot, alive}`);
    }
    if (!rp.client || !rp.client.joined) problems.push('rp.client.joined is not set after rp.ready');
    return problems;
  });
}

// framesGrow waits until rp.frames has grown by n: the page is drawing.
async function framesGrow(p, n, timeoutMs) {
  const start = await p.page.evaluate(() => window.rp.frames);
  const t0 = Date.now();
  await p.page.waitForFunction(({ start, n }) => window.rp.frames >= start + n, { start, n }, { timeout: timeoutMs, polling: 20 })
    .catch(() => {});
  const end = await p.page.evaluate(() => window.rp.frames);
  return { start, end, ms: Date.now() - t0 };
}

// walk holds D then S with a sampler running in the page, then waits for the settle moment:
// no input pending and the prediction equal to the server's position.
async function walk(env, p) {
  await p.page.waitForFunction(() => {
    const rp = window.rp;
    const e = rp.client.entities().get(rp.client.joined.player);
    return e && e.fields[4] !== false;
  }, null, { timeout: env.stepTimeout, polling: 50 });
  await p.page.evaluate(armSampler);
  await p.page.keyboard.down('d');
  await sleep(HOLD_D_MS);
  await p.page.keyboard.up('d');
  await p.page.keyboard.down('s');
  await sleep(HOLD_S_MS);
  await p.page.keyboard.up('s');
  await p.page.evaluate(() => window.__rpWalk.release());
  await p.page.waitForFunction(() => window.__rpWalk.settled || window.__rpWalk.died, null, { timeout: env.settleTimeout, polling: 20 })
    .catch(() => {});
  return p.page.evaluate(() => window.__rpWalk.stop());
}

// armSampler runs in the page: it samples rp.local(), rp.server() and rp.pending() on every
// macrotask turn (so between the page's steps and its socket messages) and keeps a summary.
function armSampler() {
  const rp = window.rp;
  const pid = rp.client.joined.player;
  const pos = (v) => ({ x: Number(v.x), y: Number(v.y) });
  const count = (v) => (Array.isArray(v) ? v.length : Number(v));
  const moved = (a, b) => Math.abs(a.x - b.x) > 1e-9 || Math.abs(a.y - b.y) > 1e-9;
  const alive = () => {
    const e = rp.client.entities().get(pid);
    return e ? e.fields[4] !== false : true;
  };
  const t0 = performance.now();
  const s = {
    start: { local: pos(rp.local()), server: pos(rp.server()), pending: count(rp.pending()) },
    stats0: { ...rp.stats },
    firstLocalMoveMs: -1,
    firstServerMoveMs: -1,
    aheadSamples: 0,
    maxLead: 0,
    holdSamples: 0,
    settleSamples: 0,
    minPending: Infinity,
    maxPending: 0,
    died: false,
    releasedMs: -1,
    settled: null,
    last: null,
  };
  let running = true;
  const sample = () => {
    if (!running) return;
    const now = performance.now() - t0;
    const l = pos(rp.local());
    const v = pos(rp.server());
    const n = count(rp.pending());
    if (!alive()) s.died = true;
    if (s.firstLocalMoveMs < 0 && moved(l, s.start.local)) s.firstLocalMoveMs = now;
    if (s.firstServerMoveMs < 0 && moved(v, s.start.server)) s.firstServerMoveMs = now;
    const lead = Math.hypot(l.x - v.x, l.y - v.y);
    s.maxLead = Math.max(s.maxLead, lead);
    if (s.releasedMs < 0) {
      s.holdSamples++;
      if (lead > 0.01) s.aheadSamples++;
    } else {
      s.settleSamples++;
      s.minPending = Math.min(s.minPending, n);
      s.maxPending = Math.max(s.maxPending, n);
      if (!s.settled && n === 0 && Math.abs(l.x - v.x) < 0.01 && Math.abs(l.y - v.y) < 0.01) {
        s.settled = { afterReleaseMs: now - s.releasedMs, local: l, server: v, pending: n };
      }
    }
    s.last = { local: l, server: v, pending: n };
    setTimeout(sample, 0);
  };
  s.release = () => { s.releasedMs = performance.now() - t0; };
  s.stop = () => {
    running = false;
    const out = { ...s, stats1: { ...rp.stats } };
    delete out.release;
    delete out.stop;
    if (out.minPending === Infinity) out.minPending = -1;
    return out;
  };
  window.__rpWalk = s;
  sample();
}

// botMoves watches rp.others() until a live bot is somewhere else than where it was first
// seen alive.
async function botMoves(p, timeoutMs) {
  return p.page.evaluate((timeoutMs) => new Promise((resolve) => {
    const t0 = performance.now();
    const first = new Map();
    (function poll() {
      const others = window.rp.others();
      for (const o of others) {
        if (!o.bot || !o.alive) continue;
        const at = { x: Number(o.x), y: Number(o.y) };
        const f = first.get(o.id);
        if (!f) { first.set(o.id, at); continue; }
        const d = Math.hypot(at.x - f.x, at.y - f.y);
        if (d > 1) { resolve({ ok: true, id: o.id, from: f, to: at, distance: d, ms: performance.now() - t0, bots: first.size }); return; }
      }
      if (performance.now() - t0 > timeoutMs) {
        resolve({ ok: false, bots: first.size, others: JSON.parse(JSON.stringify(others.slice(0, 6))) });
        return;
      }
      setTimeout(poll, 20);
    })();
  }), timeoutMs);
}

// docsPicture plays a few more seconds for docs/screenshots/shooter.png: the player walks
// toward the middle, aims at the nearest bot and fires both weapons, and the picture is taken right after
// a shot while the bots are alive, so that tracers, bots and the overlays are all in it.
async function docsPicture(env, p) {
  await p.page.evaluate(() => {
    window.__rpLastShot = 0;
    // A tracer long enough to see (not a shot into the wall next to the shooter).
    window.rp.client.on('event', ({ name, payload: p }) => {
      if (name === 'shot' && Math.hypot(p.x2 - p.x1, p.y2 - p.y1) > 200) window.__rpLastShot = performance.now();
    });
  });
  const aimAt = () => p.page.evaluate(() => {
    // The page fits the whole arena in the window (render.js): world to screen is one scale
    // and one offset. Only the picture depends on this.
    const W = 2000, H = 1200, pad = 8;
    const w = window.innerWidth, h = window.innerHeight;
    const scale = Math.min((w - 2 * pad) / W, (h - 2 * pad) / H);
    const ox = (w - W * scale) / 2, oy = (h - H * scale) / 2;
    const me = window.rp.local();
    let best = null;
    for (const o of window.rp.others()) {
      if (!o.alive) continue;
      const d = Math.hypot(o.x - me.x, o.y - me.y);
      if (!best || d < best.d) best = { d, x: o.x, y: o.y };
    }
    const t = best || { x: W / 2, y: H / 2 };
    return { x: ox + t.x * scale, y: oy + t.y * scale, me };
  });
  let at = await aimAt();
  const keys = [at.me.x < 1000 ? 'd' : 'a', at.me.y < 600 ? 's' : 'w'];
  for (const k of keys) await p.page.keyboard.down(k);
  await p.page.keyboard.down('Space'); // rockets too
  await p.page.mouse.move(at.x, at.y);
  await p.page.mouse.down();
  for (let i = 0; i < 10; i++) { // about 1.5 s of walking and shooting, re-aiming as the bots move
    await sleep(150);
    at = await aimAt();
    await p.page.mouse.move(at.x, at.y);
  }
  for (const k of keys) await p.page.keyboard.up(k);
  // A good moment: you and at least two bots alive (the bots fight back), a long shot just
  // fired (tracers fade in 150 ms).
  await p.page.waitForFunction(() => {
    const bots = window.rp.others().filter((o) => o.bot && o.alive).length;
    const alive = typeof window.rp.alive === 'function' ? window.rp.alive() : true;
    return alive && bots >= Math.min(2, window.rp.others().length) && performance.now() - window.__rpLastShot < 30;
  }, null, { timeout: env.stepTimeout, polling: 5 }).catch(() => {});
  await screenshot(env, p, env.docs, 'shooter.png', 'docs');
  await p.page.keyboard.up('Space');
  await p.page.mouse.up();
}
