// crossword.mjs: the crossword scenario of the end-to-end driver. Two pages (three for the
// documentation screenshot) join the crossword; each in turn clicks a square and types its
// correct letter, and the other page's rp.letterAt is polled inside that page until the
// letter shows. The elapsed time is measured with Date.now() in both pages (one clock: one
// machine), from the keydown in the typing page to the poll that saw the letter.

import { openPage, waitReady, checkHooks, extensions, joined, screenshot, closeAll, sleep } from './pages.mjs';

// HOOKS is the shape of the crossword page's window.rp.
const HOOKS = { client: 'object', ready: 'any', extensions: 'function', me: 'any', letterAt: 'function', players: 'function' };

const NAMES = ['Ada', 'Grace', 'Linus'];

// run types cells (the first by page A, watched by B, the next by B, and so on round the
// pages) and returns the scenario's result: what the Go test asserts on. park are the
// squares the pages' cursors rest on for the documentation picture.
export async function run(env, cells, park) {
  const count = env.docs ? 3 : 2;
  const result = { pages: [], placements: [], hooks: [] };
  const pages = [];
  try {
    for (let i = 0; i < count; i++) {
      const name = `crossword-${'abc'[i]}`;
      pages.push(await openPage(env, name, `${env.url}/crossword/?name=${NAMES[i]}`));
    }
    await Promise.all(pages.map((p) => waitReady(p, env.stepTimeout)));
    for (const p of pages) {
      const problems = await checkHooks(p, HOOKS);
      result.hooks.push(...problems.map((s) => `${p.name}: ${s}`));
      result.pages.push({ name: p.name, extensions: await extensions(p), joined: await joined(p), players: await playersOf(p) });
    }
    if (result.hooks.length > 0) return result;

    // Every placement is timed: A types and B watches, then B types and the next page (A, or
    // C in the documentation run) watches, and so on round the pages.
    for (let i = 0; i < cells.length; i++) {
      const from = pages[i % pages.length];
      const to = pages[(i + 1) % pages.length];
      result.placements.push(await place(env, from, to, cells[i]));
    }
    // Every page must end up with every letter: the mirrors agree.
    result.consistent = await Promise.all(pages.map((p) => showsAll(p, cells, env.stepTimeout)));
    for (const [i, p] of pages.entries()) result.pages[i].players = await playersOf(p);

    // A reload keeps the seat: the page saved it in sessionStorage and resumes it, the same
    // player (and so the same letters' color and score), with every letter still there.
    const before = await pages[0].page.evaluate(() => window.rp.me);
    await pages[0].page.reload();
    await waitReady(pages[0], env.stepTimeout);
    const after = await pages[0].page.evaluate(() => window.rp.me);
    result.reload = { before, after, consistent: await showsAll(pages[0], cells, env.stepTimeout) };

    await screenshot(env, pages[0], env.out, 'crossword.png', 'check');
    if (env.docs) {
      // Park each page's cursor on its own empty square, so that the picture shows several
      // players' cursors, then let the snapshots carry them.
      for (const [i, p] of pages.entries()) {
        const c = park[i % park.length];
        if (c) await p.page.click(cellSelector(c.row, c.col), { timeout: env.stepTimeout });
      }
      await waitPlayers(pages[0], pages.length, env.stepTimeout);
      await sleep(600); // a few snapshots (10 Hz) carry the cursor moves to page A
      await screenshot(env, pages[0], env.docs, 'crossword.png', 'docs');
    }
    return result;
  } finally {
    await closeAll(pages);
  }
}

export function cellSelector(row, col) {
  return `[data-row="${row}"][data-col="${col}"]`;
}

// place clicks the square in `from`, arms a watcher in `to`, types the letter in `from` and
// returns how long `to` took to show it.
export async function place(env, from, to, cell) {
  const { row, col, letter } = cell;
  const out = { row, col, letter, from: from.name, to: to.name };
  await from.page.click(cellSelector(row, col), { timeout: env.stepTimeout });
  out.before = await watch(env, to, cell);
  await from.page.evaluate(() => {
    window.__rpKeyAt = undefined;
    window.addEventListener('keydown', () => { window.__rpKeyAt = Date.now(); }, { capture: true, once: true });
  });
  await from.page.keyboard.press(letter.toLowerCase());
  out.keyAt = await from.page.evaluate(() => window.__rpKeyAt ?? null);
  Object.assign(out, await seen(env, to, out.keyAt));
  // The typing page shows its own letter too, once its own snapshot brings it.
  out.own = await showsAll(from, [cell], env.stepTimeout);
  return out;
}

// watch arms a watcher in page p that notes when it shows cell's letter (polling every 2 ms)
// and returns what p showed there before.
export async function watch(env, p, { row, col, letter }) {
  return p.page.evaluate(({ row, col, letter, timeoutMs }) => {
    const before = String(window.rp.letterAt(row, col));
    window.__rpSeen = undefined;
    const t0 = Date.now();
    let last = before;
    (function poll() {
      last = String(window.rp.letterAt(row, col));
      if (last === letter) { window.__rpSeen = { ok: true, at: Date.now(), last }; return; }
      if (Date.now() - t0 > timeoutMs) { window.__rpSeen = { ok: false, at: Date.now(), last }; return; }
      setTimeout(poll, 2);
    })();
    return before;
  }, { row, col, letter, timeoutMs: env.stepTimeout });
}

// seen waits for watch's verdict in page p: {seen, last, elapsedMs} with the time from
// typedAt (Date.now(), one clock on one machine) to the poll that saw the letter.
export async function seen(env, p, typedAt) {
  await p.page.waitForFunction(() => window.__rpSeen !== undefined, null, { timeout: env.stepTimeout + 5000, polling: 20 });
  const s = await p.page.evaluate(() => window.__rpSeen);
  return { seen: s.ok, last: s.last, elapsedMs: typedAt === null ? null : s.at - typedAt };
}

// showsAll polls until the page shows every placed letter; it returns which ones it shows.
export async function showsAll(p, cells, timeoutMs) {
  return p.page.evaluate(({ cells, timeoutMs }) => new Promise((resolve) => {
    const t0 = Date.now();
    (function poll() {
      const got = cells.map((c) => String(window.rp.letterAt(c.row, c.col)));
      if (got.every((l, i) => l === cells[i].letter) || Date.now() - t0 > timeoutMs) { resolve(got.join('')); return; }
      setTimeout(poll, 20);
    })();
  }), { cells, timeoutMs });
}

// playersOf returns rp.players() in a form that survives JSON (for the report).
async function playersOf(p) {
  return p.page.evaluate(() => {
    try {
      const v = window.rp.players();
      return JSON.parse(JSON.stringify(v instanceof Map ? [...v.values()] : v ?? null));
    } catch (err) {
      return `rp.players() threw: ${err && err.message || err}`;
    }
  });
}

// waitPlayers waits (best effort, for the picture only) until rp.players() lists n players.
async function waitPlayers(p, n, timeoutMs) {
  await p.page.waitForFunction((n) => {
    const v = window.rp.players();
    const len = v instanceof Map ? v.size : Array.isArray(v) ? v.length : Number(v);
    return len >= n;
  }, n, { timeout: timeoutMs, polling: 50 }).catch(() => {});
}
