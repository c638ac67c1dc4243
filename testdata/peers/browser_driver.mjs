// browser_driver.mjs: opens a page in headless Debian Chromium through playwright-core and
// prints what the page reports (net/ws/interop_test.go, TestInteropChromium...).
//
//   node browser_driver.mjs --url http://127.0.0.1:PORT/browser.html [--chromium /usr/bin/chromium]
//        [--timeout SECONDS]
//
// Prints {"event":"console",...} for the page's console messages and, at the end, one line
// {"event":"result","result":{...window.rpResult...}} (or {"event":"result","error":...}).
// Never downloads a browser: it runs the executable given by --chromium.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { emit, parseArgs } from './lib.mjs';

const args = parseArgs(process.argv.slice(2), { url: '', chromium: '/usr/bin/chromium', timeout: 60 });
if (!args.url) throw new Error('--url is required');

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-chromium-'));
let context;
let exitCode = 1;
// Stopped by the Go test (timeout or test end): take Chromium down with us.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, async () => {
    emit({ event: 'stopped', signal: sig });
    if (context) await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
    process.exit(1);
  });
}
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: args.chromium,
    headless: true,
    timeout: args.timeout * 1000,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (msg) => emit({ event: 'console', type: msg.type(), text: msg.text() }));
  page.on('pageerror', (err) => emit({ event: 'pageerror', error: String(err && err.message) }));
  await page.goto(args.url, { timeout: args.timeout * 1000 });
  await page.waitForFunction(() => window.rpResult !== undefined, null, { timeout: args.timeout * 1000 });
  const result = await page.evaluate(() => window.rpResult);
  emit({ event: 'result', browser: context.browser() ? context.browser().version() : '', result });
  exitCode = result.ok ? 0 : 1;
} catch (err) {
  emit({ event: 'result', error: String(err && err.message || err) });
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(exitCode);
