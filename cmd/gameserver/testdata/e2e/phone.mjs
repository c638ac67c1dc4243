// phone.mjs: the phone scenarios of the end-to-end driver. The pages are phones (DevTools'
// mobile emulation at 390 × 844 with touch on, pages.mjs openPage) played with real touches
// (Input.dispatchTouchEvent), never with the keyboard or the mouse:
//
//   - shooter: the touch controls show and the arena is turned to fill the upright screen;
//     the left thumb moves (inputs with movement bits reach the server: its position of you
//     changes); then both thumbs at once, the left one moving and the right one aiming at a
//     bot drawn on the screen and holding fire until a shot hits one (the server's "shot"
//     event names the bot it hit); the rocket button launches a rocket. Turned on its side
//     (844 × 390), the arena is upright again and fills the height.
//   - crossword: a tap on a square focuses the hidden input (a phone opens its keyboard for
//     that), a second tap turns; a letter typed as an Android keyboard types it (an IME
//     composition, then its commit) shows on a second page, and so does one tapped on the
//     letter pad; the current clue stays in view.
//
// Both check that nothing is wider than the screen, upright and on its side. Like
// driver.mjs, this asserts nothing: the Go test (phone_test.go) does.

import { openPage, waitReady, emulatePhone, touch, tap, captureScreenshot, closeAll, sleep, PHONE, PHONE_LANDSCAPE } from './pages.mjs';
import { cellSelector, watch, seen, showsAll } from './crossword.mjs';

// BOT_IDS are the ids of the shooter's server bots (examples/shooter, protocol.go).
const BOT_IDS = [16777216, 33554432];
// How far a thumb leans a stick, CSS px: past the dead zone, within reach (touch.js).
const LEAN = 44;
const ATTEMPTS = 3; // a bot may kill the player mid-walk: walk again after the respawn
// How long the fight may take to land a hit: the bots are often behind walls, and kill the
// player now and then (2 s to respawn).
const FIGHT_MS = 30000;
const WALK_MS = 600;

// ---- the shooter ----------------------------------------------------------------------------

export async function shooter(env) {
  const result = {};
  const pages = [];
  try {
    const p = await openPage(env, 'phone-shooter', `${env.url}/shooter/?name=Thumbs&new=1`, { phone: PHONE });
    pages.push(p);
    await waitReady(p, env.stepTimeout);
    result.portrait = await arenaLayout(env, p, PHONE);
    result.moves = [];
    for (let i = 0; i < ATTEMPTS; i++) {
      const m = await moveWithStick(env, p);
      result.moves.push(m);
      if (!m.died) break;
    }
    result.fight = await fireAtABot(env, p);
    result.rocket = await fireRocket(env, p);
    await captureScreenshot(env, p, env.out, 'shooter-phone.png', 'check');
    await emulatePhone(p.cdp, PHONE_LANDSCAPE);
    result.landscape = await arenaLayout(env, p, PHONE_LANDSCAPE);
    return result;
  } finally {
    await closeAll(pages);
  }
}

// resized waits until the page's window has the size the emulation gave it, and for a frame
// drawn since.
async function resized(env, p, size) {
  await p.page.waitForFunction(({ width, height }) => window.innerWidth === width && window.innerHeight === height, size, { timeout: env.stepTimeout, polling: 20 });
  await p.page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

// arenaLayout reports how the shooter fits the screen: the touch controls, whether the arena
// is turned, its box on the screen and the page's scroll size.
async function arenaLayout(env, p, size) {
  await resized(env, p, size);
  return p.page.evaluate(() => {
    const rp = window.rp;
    const t = rp.touch();
    const a = rp.toScreen(0, 0);
    const b = rp.toScreen(2000, 1200);
    return {
      width: window.innerWidth,
      height: window.innerHeight,
      scrollWidth: document.scrollingElement.scrollWidth,
      scrollHeight: document.scrollingElement.scrollHeight,
      touch: t.enabled,
      turned: t.turned,
      arena: { left: Math.min(a.x, b.x), right: Math.max(a.x, b.x), top: Math.min(a.y, b.y), bottom: Math.max(a.y, b.y) },
    };
  });
}

// waitAlive waits until the page's player is alive (a bot may have killed it).
async function waitAlive(env, p) {
  await p.page.waitForFunction(() => window.rp.ready && window.rp.alive(), null, { timeout: env.stepTimeout, polling: 50 });
}

// moveWithStick puts the left thumb on the move stick and leans it towards the middle of the
// arena (so that the border does not stop the walk) until the server's position of the
// player has moved, or the settle timeout.
async function moveWithStick(env, p) {
  await waitAlive(env, p);
  const start = await p.page.evaluate(() => {
    const rp = window.rp;
    const me = rp.local();
    const from = rp.toScreen(me.x, me.y);
    const to = rp.toScreen(1000, 600);
    const d = Math.hypot(to.x - from.x, to.y - from.y) || 1;
    return { server: rp.server(), movedSteps: rp.stats.movedSteps, rest: rp.touch().move, dir: { x: (to.x - from.x) / d, y: (to.y - from.y) / d } };
  });
  const f = { id: 1, x: start.rest.x, y: start.rest.y };
  await touch(p, 'touchStart', [f]);
  for (let i = 1; i <= 4; i++) {
    await touch(p, 'touchMove', [{ id: 1, x: f.x + (start.dir.x * LEAN * i) / 4, y: f.y + (start.dir.y * LEAN * i) / 4 }]);
    await sleep(16);
  }
  const held = await p.page.evaluate(() => window.rp.touch().held);
  await p.page.waitForFunction((s) => {
    const v = window.rp.server();
    return Math.hypot(v.x - s.x, v.y - s.y) > 1 || !window.rp.alive();
  }, start.server, { timeout: env.settleTimeout, polling: 20 }).catch(() => {});
  await sleep(200); // a few more steps, for the counts
  await touch(p, 'touchEnd', []);
  const end = await p.page.evaluate(() => ({ server: window.rp.server(), movedSteps: window.rp.stats.movedSteps, alive: window.rp.alive(), held: window.rp.touch().held }));
  return {
    from: start.server,
    to: end.server,
    distance: Math.hypot(end.server.x - start.server.x, end.server.y - start.server.y),
    movedSteps: end.movedSteps - start.movedSteps,
    held,
    heldAfter: end.held,
    died: !end.alive,
  };
}

// armShots runs in the page: it records the "shot" events of the page's player (the id of
// what each hit, 0 for a wall or nothing) and loads the walls, to aim at bots in the open.
function armShots() {
  const rp = window.rp;
  const rec = { shots: [], walls: [] };
  rp.client.on('event', ({ name, payload: p }) => {
    if (name === 'shot' && Number(p[0]) === rp.me) rec.shots.push({ at: performance.now(), hit: Number(p[5]) });
  });
  rp.client.request('map').then((m) => { rec.walls = m.walls.map((w) => w.map(Number)); }, () => {});
  window.__phoneShots = rec;
}

// aimPlan runs in the page: where the two thumbs should lean now, as unit vectors on the
// screen (move null: back to the middle, standing still), and what the page shows. The right
// thumb points at the nearest live bot drawn in the open (else the nearest drawn at all); the
// left one walks towards it while a wall is in the way, and stands still while the bot is in
// the open: a stick gives a direction, not a point, so a shooter walking across the line of
// fire would miss between two re-aims.
function aimPlan(bots) {
  const rp = window.rp;
  const rec = window.__phoneShots;
  const held = rp.touch().held;
  const status = {
    both: held.includes('move') && held.includes('aim'),
    shots: rec.shots.length,
    hits: rec.shots.filter((x) => x.hit >= bots[0] && x.hit < bots[1]).map((x) => x.hit),
  };
  const me = rp.local();
  // Whether the segment from me to o crosses a wall (slab test against each rectangle).
  const blocked = (o) => rec.walls.some(([wx, wy, ww, wh]) => {
    let t0 = 0;
    let t1 = 1;
    for (const [a, d, lo, hi] of [[me.x, o.x - me.x, wx, wx + ww], [me.y, o.y - me.y, wy, wy + wh]]) {
      if (Math.abs(d) < 1e-9) {
        if (a < lo || a > hi) return false;
        continue;
      }
      const u = (lo - a) / d;
      const v = (hi - a) / d;
      t0 = Math.max(t0, Math.min(u, v));
      t1 = Math.min(t1, Math.max(u, v));
    }
    return t0 <= t1;
  });
  const targets = rp.others().filter((o) => o.bot && o.alive)
    .map((o) => ({ o, d: Math.hypot(o.x - me.x, o.y - me.y), clear: !blocked(o) }))
    .sort((a, b) => (b.clear - a.clear) || (a.d - b.d));
  if (!rp.alive() || targets.length === 0) return { status, plan: null };
  const { o, clear } = targets[0];
  const from = rp.toScreen(me.x, me.y);
  const at = rp.toScreen(o.x, o.y);
  const len = Math.hypot(at.x - from.x, at.y - from.y) || 1;
  const aim = { x: (at.x - from.x) / len, y: (at.y - from.y) / len };
  return { status, plan: { aim, move: clear ? null : aim, target: o.id, clear } };
}

// fireAtABot holds both sticks: the left thumb moves, the right one aims at a bot and fires
// (the blaster fires while the aim stick leans), re-aimed as fast as the page answers as
// the bots and the player move, until a shot hits a bot or FIGHT_MS. It opens with WALK_MS
// of walking towards the bot whatever is in the way, so that moving and firing happen at
// once even when a bot stands in the open from the start. The documentation picture is
// taken right after the first hit, both thumbs down and the tracer on the screen.
async function fireAtABot(env, p) {
  await waitAlive(env, p);
  await p.page.evaluate(armShots);
  const rest = await p.page.evaluate(() => window.rp.touch());
  const moveF = { id: 1, x: rest.move.x, y: rest.move.y };
  const aimF = { id: 2, x: rest.aim.x, y: rest.aim.y };
  const stats0 = await p.page.evaluate(() => ({ ...window.rp.stats }));
  await touch(p, 'touchStart', [moveF]);
  await touch(p, 'touchStart', [moveF, aimF]);
  const out = { bothHeld: false, aimed: 0, clearAims: 0, shots: 0, hits: [], firstHitMs: null };
  const t0 = Date.now();
  let hitAt = 0;
  while (Date.now() - t0 < FIGHT_MS) {
    const { status: s, plan } = await p.page.evaluate(aimPlan, BOT_IDS);
    if (plan !== null) {
      out.aimed++;
      if (plan.clear) out.clearAims++;
      const move = Date.now() - t0 < WALK_MS ? plan.aim : plan.move ?? { x: 0, y: 0 };
      await touch(p, 'touchMove', [
        { id: 1, x: moveF.x + move.x * LEAN, y: moveF.y + move.y * LEAN },
        { id: 2, x: aimF.x + plan.aim.x * LEAN, y: aimF.y + plan.aim.y * LEAN },
      ]);
    }
    out.bothHeld = out.bothHeld || s.both;
    out.shots = s.shots;
    if (s.hits.length > 0 && hitAt === 0) {
      hitAt = Date.now();
      out.firstHitMs = hitAt - t0;
      out.hits = s.hits;
      if (env.docs) await captureScreenshot(env, p, env.docs, 'shooter-phone.png', 'docs');
    }
    if (hitAt !== 0 && Date.now() - hitAt > 300) break; // a few more shots, for the counts
    await sleep(10);
  }
  await touch(p, 'touchEnd', []);
  const stats1 = await p.page.evaluate(() => ({ ...window.rp.stats }));
  out.movedSteps = stats1.movedSteps - stats0.movedSteps;
  out.predictedSteps = stats1.predictedSteps - stats0.predictedSteps;
  return out;
}

// fireRocket holds the rocket button until a rocket of the player's is in the snapshots.
async function fireRocket(env, p) {
  await waitAlive(env, p);
  const b = await p.page.evaluate(() => window.rp.touch().rocket);
  await touch(p, 'touchStart', [{ id: 3, x: b.x, y: b.y }]);
  const held = await p.page.evaluate(() => window.rp.touch().held);
  const t0 = Date.now();
  // Kind 2 is a rocket, its field 4 its owner (examples/shooter README, replicated state).
  const seenRocket = await p.page.waitForFunction(() => {
    for (const e of window.rp.client.entities().values()) {
      if (e.kind === 2 && Number(e.fields[4]) === window.rp.me) return true;
    }
    return false;
  }, null, { timeout: env.settleTimeout, polling: 10 }).then(() => true, () => false);
  const ms = Date.now() - t0;
  await touch(p, 'touchEnd', []);
  return { button: b, held, seen: seenRocket, ms };
}

// ---- the crossword ----------------------------------------------------------------------------

// crossword types cells[0] through the phone's keyboard and cells[1] on the letter pad of a
// phone page, each watched by a second (desktop) page.
export async function crossword(env, cells) {
  const result = { placements: [] };
  const pages = [];
  try {
    const a = await openPage(env, 'phone-crossword', `${env.url}/crossword/?name=Thumbs`, { phone: PHONE });
    pages.push(a);
    const b = await openPage(env, 'phone-crossword-watcher', `${env.url}/crossword/?name=Watcher`);
    pages.push(b);
    await Promise.all(pages.map((p) => waitReady(p, env.stepTimeout)));
    result.touchUI = await a.page.evaluate(() => document.documentElement.classList.contains('touch'));
    result.portrait = await pageLayout(env, a, PHONE);
    result.placements.push(await typeOnPhone(env, a, b, cells[0], 'keyboard'));
    result.placements.push(await typeOnPhone(env, a, b, cells[1], 'pad'));
    result.withPad = await pageLayout(env, a, PHONE);
    await a.page.evaluate(() => window.scrollTo(0, 0));
    await captureScreenshot(env, a, env.out, 'crossword-phone.png', 'check');
    if (env.docs) await captureScreenshot(env, a, env.docs, 'crossword-phone.png', 'docs');
    await emulatePhone(a.cdp, PHONE_LANDSCAPE);
    result.landscape = await pageLayout(env, a, PHONE_LANDSCAPE);
    return result;
  } finally {
    await closeAll(pages);
  }
}

// pageLayout reports the crossword page's scroll width and where the current clue is.
async function pageLayout(env, p, size) {
  await resized(env, p, size);
  return p.page.evaluate(() => {
    const bar = document.getElementById('cluebar').getBoundingClientRect();
    const board = document.getElementById('board').getBoundingClientRect();
    return {
      width: window.innerWidth,
      height: window.innerHeight,
      scrollWidth: document.scrollingElement.scrollWidth,
      clue: document.getElementById('clue-text').textContent,
      clueBox: { top: bar.top, bottom: bar.bottom, left: bar.left, right: bar.right },
      boardBox: { top: board.top, bottom: board.bottom, left: board.left, right: board.right },
      padShown: !document.getElementById('pad').hidden,
    };
  });
}

// typeOnPhone taps the cell's square on phone page `from` (twice more: a second tap turns,
// a third turns back), types its letter via the phone's keyboard or the letter pad, and
// times it to page `to`.
async function typeOnPhone(env, from, to, cell, via) {
  const { row, col, letter } = cell;
  const state = () => from.page.evaluate(() => ({
    focused: document.activeElement ? document.activeElement.id : '',
    cursor: (() => { const c = document.querySelector('.cell.cursor'); return c ? [Number(c.dataset.row), Number(c.dataset.col)] : null; })(),
    clue: document.getElementById('clue-key').textContent,
    typed: window.rp.typed(),
  }));
  const out = { row, col, letter, via, from: from.name, to: to.name };
  await tap(from, cellSelector(row, col));
  const first = await state();
  await tap(from, cellSelector(row, col));
  const second = await state();
  await tap(from, cellSelector(row, col));
  out.tap = { focused: first.focused, cursor: first.cursor, clues: [first.clue, second.clue, (await state()).clue] };
  out.before = await watch(env, to, cell);
  if (via === 'pad') {
    if (!(await from.page.evaluate(() => !document.getElementById('pad').hidden))) await tap(from, '#pad-toggle');
    out.padShown = await from.page.evaluate(() => !document.getElementById('pad').hidden);
  }
  const typed0 = (await state()).typed;
  const typedAt = Date.now();
  if (via === 'keyboard') {
    // As an Android keyboard types: the letter composed, then committed.
    const ch = letter.toLowerCase();
    await from.cdp.send('Input.imeSetComposition', { text: ch, selectionStart: 1, selectionEnd: 1 });
    await from.cdp.send('Input.insertText', { text: ch });
  } else {
    await tap(from, `#pad .key[aria-label="${letter}"]`);
  }
  const after = await state();
  out.typed = after.typed - typed0; // letters the hidden input took
  out.focusedAfter = after.focused;
  Object.assign(out, await seen(env, to, typedAt));
  out.own = await showsAll(from, [cell], env.stepTimeout);
  return out;
}
