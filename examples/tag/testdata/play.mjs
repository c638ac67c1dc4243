// play.mjs: plays the tag page in headless Chromium for browser_test.go and prints one JSON
// line with what it saw. Ada, on a desktop page, is first in and so "it": she holds the
// arrow keys towards Bob. Bob is on a phone-sized page with touch, holding a finger on Ada
// as drawn, so that he runs to her. The run ends when Bob's page gets the "tagged" event.
//
//   node play.mjs --url http://127.0.0.1:PORT --chromium /usr/bin/chromium --peers DIR
//
// It runs with the repository's testdata/peers as its working directory and loads
// playwright-core from there (--peers). It asserts nothing: the Go test does.

import path from 'node:path';
import { createRequire } from 'node:module';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const url = arg('url', '');
const peers = arg('peers', process.cwd());
const { chromium } = createRequire(path.join(peers, 'package.json'))('playwright-core');
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const STEP = 15000;

const browser = await chromium.launch({
  executablePath: arg('chromium', '/usr/bin/chromium'),
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const result = { errors: [] };
try {
  const open = async (name, opts) => {
    const context = await browser.newContext(opts);
    const page = await context.newPage();
    page.on('pageerror', (e) => result.errors.push(`${name}: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') result.errors.push(`${name}: ${m.text()}`); });
    await page.goto(`${url}/?name=${name}`, { timeout: STEP });
    await page.waitForFunction(() => window.rp && window.rp.ready, null, { timeout: STEP, polling: 20 });
    return page;
  };
  const ada = await open('Ada', { viewport: { width: 1000, height: 700 } });
  const bob = await open('Bob', { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  const cdp = await bob.context().newCDPSession(bob);
  // A runner as a page's mirror has it, by field name; "it" from the room state.
  const runner = (page, name) => page.evaluate((name) => {
    const it = window.rp.client.roomState()?.it;
    for (const [id, e] of window.rp.client.entities()) {
      if (e.kindName === 'runner' && e.values.name === name) return { id, x: e.values.x, y: e.values.y, it: id === it };
    }
    return null;
  }, name);
  result.adaFirst = await runner(ada, 'Ada');
  result.bobFirst = await runner(bob, 'Bob');
  // Where Ada is drawn on Bob's screen: the canvas maps the field's 800 × 500 onto its box.
  const onBobsScreen = (p) => bob.evaluate((p) => {
    const r = document.getElementById('field').getBoundingClientRect();
    return { x: r.left + (p.x / 800) * r.width, y: r.top + (p.y / 500) * r.height };
  }, p);

  const t0 = Date.now();
  let held = null;
  let touching = false;
  while (Date.now() - t0 < 20000) {
    const tags = await bob.evaluate(() => window.rp.tags.slice());
    if (tags.length > 0) {
      result.tagged = tags[0];
      result.ms = Date.now() - t0;
      break;
    }
    const a = await runner(ada, 'Ada');
    const b = await runner(ada, 'Bob');
    if (a === null || b === null) continue;
    const key = Math.abs(b.x - a.x) > Math.abs(b.y - a.y) ? (b.x > a.x ? 'ArrowRight' : 'ArrowLeft') : (b.y > a.y ? 'ArrowDown' : 'ArrowUp');
    if (key !== held) {
      if (held !== null) await ada.keyboard.up(held);
      await ada.keyboard.down(key);
      held = key;
    }
    const at = await onBobsScreen(a);
    await cdp.send('Input.dispatchTouchEvent', { type: touching ? 'touchMove' : 'touchStart', touchPoints: [{ x: at.x, y: at.y, id: 1 }] });
    touching = true;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (held !== null) await ada.keyboard.up(held);
  if (touching) await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  // The first snapshot after the tag, both runners and the room state read at once (a
  // second later Bob may tag Ada back: the test checks the state of one tag).
  await bob.waitForFunction(() => (window.rp.client.roomState()?.tags ?? 0) >= 1, null, { timeout: STEP, polling: 10 }).catch(() => {});
  const last = await bob.evaluate(() => {
    const room = window.rp.client.roomState() ?? {};
    const out = { tags: room.tags ?? 0 };
    for (const [id, e] of window.rp.client.entities()) {
      if (e.kindName === 'runner') out[e.values.name] = { id, x: e.values.x, y: e.values.y, it: id === room.it };
    }
    return out;
  });
  result.tags = last.tags;
  result.adaLast = last.Ada ?? null;
  result.bobLast = last.Bob ?? null;
} catch (e) {
  result.error = String(e && e.stack || e);
} finally {
  emit({ event: 'tag', ...result });
  await browser.close();
}
