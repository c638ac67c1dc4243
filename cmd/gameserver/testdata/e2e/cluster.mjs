// cluster.mjs: the cluster scenario of the end-to-end driver. The shooter page is opened
// through one node (--url) while the only arena with a free seat is on another node: the SDK
// follows the redirect (0x1B) and the page plays there, its page code unchanged. The driver
// then says {"event":"cluster-playing"}, and the Go test drains that node
// (SIGTERM): the SDK follows the move (0x1C) to a room on the entry node and the page plays on.

import { openPage, waitReady, closeAll, sleep } from './pages.mjs';

export async function run(env) {
  const result = {};
  const pages = [];
  try {
    const p = await openPage(env, 'cluster', `${env.url}/shooter/?name=Far`);
    pages.push(p);
    await waitReady(p, env.stepTimeout);
    result.first = await seat(p);
    result.firstWalk = await walk(env, p);
    await p.page.evaluate(() => {
      window.__rpMoves = [];
      window.rp.client.on('moved', (m) => window.__rpMoves.push({ url: m.url, room: m.room, at: performance.now() }));
    });
    env.emit({ event: 'cluster-playing', nodeUrl: result.first.nodeUrl });
    // The Go test drains the node now; wait for the page to play on another one.
    await p.page.waitForFunction((old) => {
      const ok = window.rp.client.nodeUrl !== old && window.rp.ready === true && window.__rpMoves.length > 0;
      if (ok) window.__rpReadyAt = performance.now();
      return ok;
    }, result.first.nodeUrl, { timeout: 3 * env.stepTimeout, polling: 20 });
    result.moves = await p.page.evaluate(() => window.__rpMoves.map((m) => ({ url: m.url, room: m.room, readyMs: Math.round(window.__rpReadyAt - m.at) })));
    result.second = await seat(p);
    result.secondWalk = await walk(env, p);
    return result;
  } finally {
    await closeAll(pages);
  }
}

// seat is where the page plays: its room and player, and the node its client is on.
async function seat(p) {
  return p.page.evaluate(() => {
    const c = window.rp.client;
    return { room: String(c.joined.room), player: Number(c.joined.player), nodeUrl: c.nodeUrl, entryUrl: c.entryUrl, frames: window.rp.frames };
  });
}

// walk holds a movement key until the server's position of the player moved (trying the
// four directions, a wall may block one) and reports how far, and how many frames the page
// drew meanwhile.
async function walk(env, p) {
  const start = await p.page.evaluate(() => ({ ...window.rp.server(), frames: window.rp.frames }));
  for (const key of ['d', 'a', 's', 'w']) {
    await p.page.keyboard.down(key);
    await sleep(400);
    await p.page.keyboard.up(key);
    const moved = await p.page.waitForFunction((s) => {
      const q = window.rp.server();
      return Math.hypot(q.x - s.x, q.y - s.y) > 1 ? Math.hypot(q.x - s.x, q.y - s.y) : false;
    }, start, { timeout: 2000, polling: 20 }).then((h) => h.jsonValue(), () => 0);
    if (moved > 0) {
      const frames = await p.page.evaluate(() => window.rp.frames);
      return { key, distance: moved, frames: frames - start.frames };
    }
  }
  return { key: '', distance: 0, frames: (await p.page.evaluate(() => window.rp.frames)) - start.frames };
}

// runKill is the "cluster-kill" scenario: as run, but the Go test kills the node the page
// plays on (SIGKILL): the SDK's reconnections to it fail, it falls back to the entry URL,
// learns that the seat's node is gone and joins afresh (autoRejoin); the page plays on in a
// new arena without a reload. It reports how long the page was without a game.
export async function runKill(env) {
  const result = {};
  const pages = [];
  try {
    const p = await openPage(env, 'cluster-kill', `${env.url}/shooter/?name=Far`);
    pages.push(p);
    await waitReady(p, env.stepTimeout);
    result.first = await seat(p);
    result.firstWalk = await walk(env, p);
    await p.page.evaluate(() => {
      window.__rpStates = [];
      window.rp.client.on('state', (s) => window.__rpStates.push({ state: s.state, reason: s.reason || '', at: performance.now() }));
    });
    env.emit({ event: 'cluster-playing', nodeUrl: result.first.nodeUrl });
    await p.page.waitForFunction((first) => {
      const c = window.rp.client;
      const ok = window.rp.ready === true && c.joined && String(c.joined.room) !== first.room && window.__rpStates.length > 0;
      if (ok) window.__rpReadyAt = performance.now();
      return ok;
    }, result.first, { timeout: 4 * env.stepTimeout, polling: 20 });
    result.states = await p.page.evaluate(() => window.__rpStates.map((s) => `${s.state}${s.reason ? ':' + s.reason : ''}`));
    result.backMs = await p.page.evaluate(() => Math.round(window.__rpReadyAt - window.__rpStates[0].at));
    result.second = await seat(p);
    result.secondWalk = await walk(env, p);
    return result;
  } finally {
    await closeAll(pages);
  }
}
