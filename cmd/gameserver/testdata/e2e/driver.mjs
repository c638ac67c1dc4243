// driver.mjs: plays the example games' pages in headless Debian Chromium for
// cmd/gameserver/e2e_test.go, and prints what it saw as JSON lines. It asserts nothing: the Go
// test does, and prints these lines (console messages and page errors included) on failure.
//
//   node driver.mjs --url http://127.0.0.1:PORT --out DIR --cells '[{"row":0,"col":0,"letter":"A"},...]'
//        [--docs DIR --park '[{"row":1,"col":2},...]'] [--scenarios crossword,shooter]
//        [--chromium /usr/bin/chromium]
//        [--peers testdata/peers] [--timeout SECONDS]
//
// --scenarios phone-shooter,phone-crossword plays the pages as a phone instead (phone.mjs):
// touches only, at 390 × 844 and on its side; the crossword types the first two --cells.
// --scenarios match enters through the start page's "Find a match" links (match.mjs).
// --scenarios cluster plays the shooter through one node of a cluster on another (cluster.mjs);
// cluster-kill does too, and plays on after that node is killed.
//
// It runs with the repository's testdata/peers as its working directory (peertest.Start does
// that) and loads playwright-core and lib.mjs from there (--peers): the packages are installed
// once, by `npm ci` in testdata/peers. It never downloads a browser: it runs --chromium.
//
// Lines: {"event":"browser","version","pid"} once Chromium is up (pid leads Chromium's own
// process group, so the Go test can kill what is left if this process is killed), then per
// page "console", "pageerror", "requestfailed", "http" (status >= 400), "websocket" and
// "screenshot" lines, one {"event":"crossword",...} and one {"event":"shooter",...} result
// (with "error" when the scenario could not finish; "phone-crossword" and "phone-shooter"
// for the phone scenarios; "match" for the match scenario; "cluster" and "cluster-kill"
// for the cluster scenarios, each saying "cluster-playing" first), and {"event":"done"}.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import * as crossword from './crossword.mjs';
import * as shooter from './shooter.mjs';
import * as phone from './phone.mjs';
import * as match from './match.mjs';
import * as cluster from './cluster.mjs';
import { drive, scenario } from './browser.mjs';

const peersArg = process.argv.indexOf('--peers');
const peers = peersArg > 0 ? process.argv[peersArg + 1] : process.cwd();
const { emit, parseArgs } = await import(pathToFileURL(path.join(peers, 'lib.mjs')).href);
const { chromium } = createRequire(path.join(peers, 'package.json'))('playwright-core');

const args = parseArgs(process.argv.slice(2), {
  url: '', out: '', docs: '', cells: '[]', park: '[]', scenarios: 'crossword,shooter',
  chromium: '/usr/bin/chromium', peers, timeout: 60,
});
if (!args.url || !args.out) throw new Error('--url and --out are required');

const env = {
  url: args.url.replace(/\/+$/, ''),
  out: args.out,
  docs: args.docs,
  emit,
  browser: null,
  stepTimeout: 15000, // one page step: load, join, a letter to show up, a bot to move
  settleTimeout: 5000, // after the keys are released, inputs acknowledged and prediction = server
};

await drive({
  chromium,
  executablePath: args.chromium,
  env,
  timeoutSeconds: args.timeout,
  play: async (env) => {
    fs.mkdirSync(env.out, { recursive: true });
    if (env.docs) fs.mkdirSync(env.docs, { recursive: true });
    const scenarios = new Set(args.scenarios.split(',').filter(Boolean));
    const cells = JSON.parse(args.cells);
    const plays = [
      ['crossword', () => crossword.run(env, cells, JSON.parse(args.park) || [])],
      ['shooter', () => shooter.run(env)],
      ['phone-shooter', () => phone.shooter(env)],
      ['phone-crossword', () => phone.crossword(env, cells)],
      ['match', () => match.run(env)],
      ['cluster', () => cluster.run(env)],
      ['cluster-kill', () => cluster.runKill(env)],
    ];
    let ok = true;
    for (const [name, play] of plays) {
      if (scenarios.has(name)) ok = (await scenario(env, name, play)) && ok;
    }
    return ok;
  },
});
