// pages.mjs: what every scenario of the end-to-end driver does with a page: open it in its own
// browser context with its diagnostics reported, wait for the page's `window.rp` debug hooks,
// check their shape, and take screenshots.

import fs from 'node:fs';
import path from 'node:path';

// VIEWPORT is the size of every page: the size of the screenshots in docs/screenshots.
export const VIEWPORT = { width: 1280, height: 800 };

// PHONE is the phone the phone scenarios emulate: 390 × 844 CSS pixels held upright (an
// iPhone 12 to 15, and about what most Android phones offer), and on its side.
export const PHONE = { width: 390, height: 844 };
export const PHONE_LANDSCAPE = { width: 844, height: 390 };

// openPage opens url in a fresh browser context (its own storage, so that two pages are two
// players, as two people on two machines would be) and reports the page's console messages,
// uncaught errors, failed requests and HTTP errors as JSON lines tagged with name. Those lines
// are what the Go test prints when an assertion fails. With opts.phone ({width, height}) the
// page is a phone before it loads: DevTools' mobile emulation at that size (a mobile
// viewport, `pointer: coarse`) and touch emulation, so that Input.dispatchTouchEvent on the
// returned `cdp` session sends real touches.
export async function openPage(env, name, url, opts = {}) {
  const context = await env.browser.newContext({ viewport: opts.phone ?? VIEWPORT, deviceScaleFactor: 1 });
  const page = await context.newPage();
  let cdp = null;
  if (opts.phone) {
    cdp = await context.newCDPSession(page);
    await emulatePhone(cdp, opts.phone);
  }
  page.on('console', (msg) => {
    const loc = msg.location();
    env.emit({ event: 'console', page: name, type: msg.type(), text: msg.text(), at: loc && loc.url ? `${loc.url}:${loc.lineNumber}` : '' });
  });
  page.on('pageerror', (err) => env.emit({ event: 'pageerror', page: name, error: String((err && (err.stack || err.message)) || err) }));
  page.on('requestfailed', (req) => env.emit({ event: 'requestfailed', page: name, url: req.url(), failure: (req.failure() || {}).errorText || '' }));
  page.on('response', (res) => {
    if (res.status() >= 400) env.emit({ event: 'http', page: name, url: res.url(), status: res.status() });
  });
  page.on('websocket', (ws) => {
    env.emit({ event: 'websocket', page: name, url: ws.url(), state: 'open' });
    ws.on('close', () => env.emit({ event: 'websocket', page: name, url: ws.url(), state: 'closed' }));
    ws.on('socketerror', (err) => env.emit({ event: 'websocket', page: name, url: ws.url(), state: 'error', error: String(err) }));
  });
  const res = await page.goto(url, { timeout: env.stepTimeout, waitUntil: 'load' });
  if (!res) throw new Error(`${name}: GET ${url} gave no response`);
  if (res.status() !== 200) throw new Error(`${name}: GET ${url} answered HTTP ${res.status()}`);
  return { name, page, context, cdp };
}

// emulatePhone makes the page behind cdp a phone of size {width, height} (portrait when
// taller than wide), with touch; called again, it turns the phone. The page sees a resize.
export async function emulatePhone(cdp, size) {
  const portrait = size.height >= size.width;
  await cdp.send('Emulation.setDeviceMetricsOverride', {
    width: size.width, height: size.height, deviceScaleFactor: 1, mobile: true,
    screenOrientation: portrait ? { type: 'portraitPrimary', angle: 0 } : { type: 'landscapePrimary', angle: 90 },
  });
  await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 });
}

// touch sends one touch event through cdp: type touchStart, touchMove or touchEnd, and the
// fingers on the screen after it ([{id, x, y}] in CSS pixels; [] after the last lifts).
// Chromium works out which finger went down, moved or lifted from the list.
export async function touch(p, type, fingers) {
  await p.cdp.send('Input.dispatchTouchEvent', { type, touchPoints: fingers.map((f) => ({ id: f.id, x: f.x, y: f.y, radiusX: 8, radiusY: 8, force: 1 })) });
}

// tap touches the middle of the element that selector names (scrolled into view first)
// with one finger and lifts it, as a tap.
export async function tap(p, selector) {
  const at = await p.page.evaluate((selector) => {
    const e = document.querySelector(selector);
    if (!e) return null;
    e.scrollIntoView({ block: 'nearest' });
    const r = e.getBoundingClientRect();
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
  }, selector);
  if (at === null) throw new Error(`${p.name}: nothing to tap at ${selector}`);
  await touch(p, 'touchStart', [{ id: 1, ...at }]);
  await touch(p, 'touchEnd', []);
  return at;
}

// captureScreenshot saves the page as dir/file (PNG) through DevTools' Page.captureScreenshot,
// at the emulated size, and reports it as screenshot does.
export async function captureScreenshot(env, p, dir, file, kind) {
  const out = path.join(dir, file);
  const shot = await p.cdp.send('Page.captureScreenshot', { format: 'png' });
  fs.writeFileSync(out, Buffer.from(shot.data, 'base64'));
  env.emit({ event: 'screenshot', page: p.name, kind, path: out });
  return out;
}

// waitReady waits for window.rp and its `ready`: a promise (awaited) or a boolean (polled).
export async function waitReady(p, timeoutMs) {
  await p.page.evaluate((timeoutMs) => new Promise((resolve, reject) => {
    const t0 = Date.now();
    let waiting = false;
    const fail = (why) => reject(new Error(why));
    const timer = setTimeout(() => {
      const rp = window.rp;
      fail(rp === undefined
        ? `window.rp is not defined ${timeoutMs} ms after load`
        : `rp.ready did not become true or resolve within ${timeoutMs} ms (it is ${typeof rp.ready}: ${String(rp.ready)})`);
    }, timeoutMs);
    const done = () => { clearTimeout(timer); resolve(); };
    (function poll() {
      const rp = window.rp;
      if (rp && !waiting) {
        const r = rp.ready;
        if (r && typeof r.then === 'function') {
          waiting = true;
          r.then(done, (err) => { clearTimeout(timer); fail(`rp.ready rejected: ${err && err.message || err}`); });
          return;
        }
        if (r === true) { done(); return; }
      }
      if (Date.now() - t0 < timeoutMs) setTimeout(poll, 20);
    })();
  }), timeoutMs);
}

// checkHooks lists how window.rp differs from the contract: spec maps each member to the
// type it must have ('function', 'object', 'number' or 'any' for present and not undefined).
// An empty list means the page honours the contract's shape.
export async function checkHooks(p, spec) {
  return p.page.evaluate((spec) => {
    const rp = window.rp;
    if (rp === undefined || rp === null) return ['window.rp is not defined'];
    const problems = [];
    for (const [name, want] of Object.entries(spec)) {
      const v = rp[name];
      const got = v === null ? 'null' : typeof v;
      if (v === undefined) problems.push(`rp.${name} is missing`);
      else if (want === 'object' && got !== 'object') problems.push(`rp.${name} is ${got}, want an object`);
      else if (want !== 'any' && want !== 'object' && got !== want) problems.push(`rp.${name} is ${got}, want a ${want}`);
    }
    return problems;
  }, spec);
}

// extensions returns what the page's rp.extensions() says was negotiated on its game socket.
export async function extensions(p) {
  return p.page.evaluate(() => String(window.rp.extensions()));
}

// joined returns the SDK's joined record (room and player id), from the client the page uses.
export async function joined(p) {
  return p.page.evaluate(() => {
    const j = window.rp.client && window.rp.client.joined;
    return j ? { room: String(j.room), player: Number(j.player) } : null;
  });
}

// screenshot saves the page as dir/file and reports it, so the Go test can check the image.
export async function screenshot(env, p, dir, file, kind) {
  const out = path.join(dir, file);
  await p.page.screenshot({ path: out, type: 'png', timeout: env.stepTimeout });
  env.emit({ event: 'screenshot', page: p.name, kind, path: out });
  return out;
}

// sleep waits ms milliseconds. The driver uses it only for how long a key is held or a game is
// left to play, never to wait for an outcome: outcomes are polled for with deadlines.
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// closeAll closes the contexts of the pages, ignoring errors (the browser may be gone).
export async function closeAll(pages) {
  await Promise.all(pages.map((p) => p.context.close().catch(() => {})));
}
