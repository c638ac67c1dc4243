// browser.mjs: what every end-to-end driver does with Chromium: start it headless with no
// network beyond the pages (never downloading a browser: it runs --chromium), report it,
// take it down with the driver whatever stops the driver, and print {"event":"done"} last.

import fs from 'node:fs';

// FLAGS are the flags of testdata/peers/browser_driver.mjs: no network beyond the page, no GPU.
export const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// browserPid finds the Chromium that playwright started as our child. Playwright starts it in
// a process group of its own (detached), which outlives us if we are killed with SIGKILL.
function browserPid() {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // state, ppid, pgrp, ...
      if (Number(fields[1]) === process.pid && /chrom/i.test(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')))) {
        return { pid: Number(d), pgid: Number(fields[2]) };
      }
    } catch {
      // the process ended while we looked
    }
  }
  return { pid: 0, pgid: 0 };
}

// drive launches Chromium (playwright-core's chromium, executable path) into env.browser,
// emits {"event":"browser",...}, runs play(env) and emits {"event":"done"}; an error before
// play reports {"event":"fatal"}. It exits the process when done, on SIGTERM/SIGINT (the Go
// test stopping it) and after timeoutSeconds, closing the browser first.
export async function drive({ chromium, executablePath, env, timeoutSeconds, play }) {
  let exiting = false;
  const shutdown = async (code) => {
    if (exiting) return;
    exiting = true;
    if (env.browser) await env.browser.close().catch(() => {});
    process.exit(code);
  };
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => { env.emit({ event: 'stopped', signal: sig }); shutdown(1); });
  }
  const overall = setTimeout(() => { env.emit({ event: 'timeout', seconds: timeoutSeconds }); shutdown(1); }, timeoutSeconds * 1000);
  overall.unref();
  let code = 0;
  try {
    env.browser = await chromium.launch({
      executablePath,
      headless: true,
      timeout: env.stepTimeout,
      args: FLAGS,
      // Our own handlers close the browser; playwright's would race them to process.exit.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    env.emit({ event: 'browser', version: env.browser.version(), ...browserPid() });
    code = (await play(env)) ? 0 : 1;
  } catch (err) {
    code = 1;
    env.emit({ event: 'fatal', error: String((err && err.message) || err), stack: String(err && err.stack) });
  }
  env.emit({ event: 'done' });
  await shutdown(code);
}

// scenario runs one named scenario and emits its result line ({"event": name, ...result}),
// or the error that stopped it; it returns whether it finished.
export async function scenario(env, name, play) {
  try {
    env.emit({ event: name, ...(await play()) });
    return true;
  } catch (err) {
    env.emit({ event: name, error: String((err && err.message) || err), stack: String(err && err.stack) });
    return false;
  }
}
