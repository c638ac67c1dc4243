// match.mjs: the "Find a match" scenario of the end-to-end driver. Pages enter from the
// start page's "Find a match" links, as a player would:
//   - two shooter pages queue; the first waits (rp.matching) until the second comes, and
//     both play in the same new arena;
//   - a third shooter page is put at once into that arena's free seat (backfill);
//   - a lone crossword page waits, and its "Play now instead" withdraws the ticket and
//     quick-plays, like a page opened without ?match=1;
//   - two crossword pages queue and get a puzzle room of their own, not the big one.

import { openPage, waitReady, joined, closeAll } from './pages.mjs';

// viaStartPage opens the start page and follows the game card's "Find a match" link.
async function viaStartPage(env, name, game) {
  const p = await openPage(env, name, `${env.url}/`);
  const link = p.page.locator(`.game[data-game="${game}"] a.match`);
  const href = await link.getAttribute('href', { timeout: env.stepTimeout });
  await Promise.all([p.page.waitForURL((u) => u.search.includes('match=1'), { timeout: env.stepTimeout }), link.click()]);
  return { p, href };
}

// waitMatching waits until the page says it is queued (rp.matching) and returns true, or false
// if it never did within the step timeout.
async function waitMatching(env, p) {
  return p.page.waitForFunction(() => window.rp && window.rp.matching === true, null, { timeout: env.stepTimeout, polling: 20 })
    .then(() => true, () => false);
}

export async function run(env) {
  const result = {};
  const pages = [];
  try {
    // Two shooter players.
    const a = await viaStartPage(env, 'match:shooter:a', 'shooter');
    pages.push(a.p);
    result.href = a.href;
    result.firstWaited = await waitMatching(env, a.p);
    await new Promise((r) => setTimeout(r, 500)); // the first is alone in the queue for a while
    result.firstStillWaiting = await a.p.page.evaluate(() => window.rp.matching === true && !window.rp.client.joined);
    const b = await viaStartPage(env, 'match:shooter:b', 'shooter');
    pages.push(b.p);
    await waitReady(a.p, env.stepTimeout);
    await waitReady(b.p, env.stepTimeout);
    result.shooter = [await joined(a.p), await joined(b.p)];
    // A third player gets the free seat of the running arena.
    const c = await openPage(env, 'match:shooter:c', `${env.url}/shooter/?match=1&name=Late`);
    pages.push(c);
    await waitReady(c, env.stepTimeout);
    result.backfilled = await joined(c);

    // A lone crossword player gives up waiting.
    const d = await viaStartPage(env, 'match:crossword:alone', 'crossword');
    pages.push(d.p);
    result.loneWaited = await waitMatching(env, d.p);
    result.button = await d.p.page.locator('#rejoin').textContent();
    await d.p.page.locator('#rejoin').click();
    await waitReady(d.p, env.stepTimeout);
    result.quick = await joined(d.p);

    // Two crossword players get a puzzle of their own.
    const e = await viaStartPage(env, 'match:crossword:e', 'crossword');
    pages.push(e.p);
    await waitMatching(env, e.p);
    const f = await viaStartPage(env, 'match:crossword:f', 'crossword');
    pages.push(f.p);
    await waitReady(e.p, env.stepTimeout);
    await waitReady(f.p, env.stepTimeout);
    result.crossword = [await joined(e.p), await joined(f.p)];
    return result;
  } finally {
    await closeAll(pages);
  }
}
