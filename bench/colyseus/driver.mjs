// driver.mjs is the Colyseus counterpart of `loadgen -game shooter`: N players join
// "shooter" rooms with the Colyseus SDK (joinOrCreate, 8 to a room), each sends an input
// every 1/60 s with the loadgen bots' behaviour (bot.mjs) and pings every 2 s.
//
//	node driver.mjs [-url ws://127.0.0.1:2567] [-players 160] [-duration 30s] [-warmup 0s] [-seed N]
//
// Like loadgen, a run has phases: ramp (joins at -ramp a second, at most -concurrency at
// once), measure (-duration), settle (0.5 s), then every player leaves. Once a second it
// prints a progress line to stderr in loadgen's form ("t=3s measure connected=160/160
// ..."), which run.sh uses to time its CPU and byte samples of the server, and at the end
// one JSON line to stdout:
//
//	{"players":160,"seated":160,"duration_s":30,"patches_per_s":4800,"bytes_in_per_player_s":...,
//	 "patches_per_player_min":30.1,"rtt_p50_ms":...,"rtt_p99_ms":...,"inputs_per_s":...,"errors":0,...}
//
// patches_per_player_min is the fewest state patches a second any player seated at the
// window's start received over the window (bench/capacity's "every bot" rule). With
// -warmup W the measure phase lasts W + duration and the summary covers its last
// -duration only (the progress lines say "measure" throughout, as before).
//
// Bytes are counted as loadgen counts them: WebSocket wire bytes received, frame headers
// included (2 bytes for a server frame under 126 bytes, 4 under 64 KiB, 10 above).
import { Client } from '@colyseus/sdk';
import { PROTOCOL_CODE_MASK, Protocol } from '@colyseus/shared-types';
import { ShooterBot, rng } from './bot.mjs';
import { TICK_RATE } from './world.mjs';

const SETTLE_MS = 500;
const MAX_STEPS_PER_FIRE = 4; // a late timer catches up to 3 missed steps (50 ms), then drops the rest

function parseDuration(s, flag) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(s));
  if (!m) throw new Error(`driver.mjs: ${flag} ${s}: want a duration such as 30s, 500ms or 1m`);
  const v = Number(m[1]);
  return m[2] === 'ms' ? v : m[2] === 'm' ? v * 60000 : v * 1000;
}

function parseArgs(argv) {
  const cfg = {
    url: 'ws://127.0.0.1:2567', players: 160, durationMs: 30000, ramp: 500, concurrency: 256,
    seed: 0, namePrefix: 'bot', pingEveryMs: 2000, inputHz: TICK_RATE, warmupMs: 0,
  };
  for (let i = 0; i < argv.length; i++) {
    let name = argv[i].replace(/^--?/, '');
    let value;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else {
      value = argv[++i];
    }
    if (value === undefined) throw new Error(`driver.mjs: -${name} needs a value`);
    switch (name) {
      case 'url': cfg.url = value; break;
      case 'players': cfg.players = Number(value); break;
      case 'duration': cfg.durationMs = parseDuration(value, '-duration'); break;
      case 'warmup': cfg.warmupMs = parseDuration(value, '-warmup'); break;
      case 'ramp': cfg.ramp = Number(value); break;
      case 'concurrency': cfg.concurrency = Number(value); break;
      case 'seed': cfg.seed = Number(value); break;
      case 'name-prefix': cfg.namePrefix = value; break;
      case 'ping-every': cfg.pingEveryMs = parseDuration(value, '-ping-every'); break;
      case 'input-hz': cfg.inputHz = Number(value); break;
      default: throw new Error(`driver.mjs: unknown flag -${name}`);
    }
  }
  if (!Number.isInteger(cfg.players) || cfg.players < 1) throw new Error('driver.mjs: -players must be at least 1');
  if (!(cfg.durationMs > 0)) throw new Error('driver.mjs: -duration must be positive');
  if (!(cfg.ramp > 0) || !(cfg.concurrency >= 1)) throw new Error('driver.mjs: -ramp and -concurrency must be positive');
  if (!(cfg.inputHz > 0 && cfg.inputHz <= 240)) throw new Error('driver.mjs: -input-hz must be in (0, 240]');
  if (!cfg.seed) cfg.seed = Math.floor(Math.random() * 2 ** 32);
  return cfg;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const wireBytes = (n) => n + (n < 126 ? 2 : n < 65536 ? 4 : 10);

/** Player is one connection: its bot, its room and its tallies. */
class Player {
  constructor(run, idx) {
    this.run = run;
    this.idx = idx;
    this.bot = new ShooterBot(rng(run.cfg.seed ^ Math.imul(idx + 1, 0x9e3779b1)));
    this.room = null;
    this.up = false;
    this.closing = false;
    this.bytesIn = 0;
    this.patches = 0;
    this.inputs = 0;
    this.pings = 0;
    this.pingSent = 0;
    this.nextPing = 0;
  }

  async start(client) {
    const room = await client.joinOrCreate('shooter', { name: `${this.run.cfg.namePrefix}-${this.idx + 1}` });
    this.room = room;
    // Count what arrives on the socket itself, as loadgen counts its connections' bytes. The
    // SDK's socket is the ws package's on Node 20 and Node's own WebSocket from Node 22:
    // both have addEventListener, and both deliver ArrayBuffers (binaryType 'arraybuffer').
    room.connection.transport.ws.addEventListener('message', (ev) => {
      const data = ev.data;
      this.bytesIn += wireBytes(data.byteLength);
      if ((new Uint8Array(data, 0, 1)[0] & PROTOCOL_CODE_MASK) === Protocol.ROOM_STATE_PATCH) this.patches++;
    });
    room.onLeave((code) => this.ended(`left the room with code ${code}`));
    room.onDrop((code) => this.ended(`connection dropped with code ${code}`));
    room.onError((code, message) => this.run.error('protocol', `room error ${code}: ${message}`));
    this.bot.attach(room);
    this.up = true;
  }

  ended(why) {
    const wasUp = this.up;
    this.up = false;
    if (wasUp && !this.closing) this.run.error('close', why);
  }

  /** tick runs one scheduler step: a ping when due, then the bot's input. */
  tick(now) {
    if (!this.up) return;
    const run = this.run;
    if (this.nextPing === 0) this.nextPing = now + this.bot.random() * run.cfg.pingEveryMs;
    if (now >= this.nextPing && this.pingSent === 0) {
      this.nextPing = now + run.cfg.pingEveryMs;
      const sent = performance.now();
      this.pingSent = sent;
      // The SDK's callback rounds to whole ms; time the round trip here instead.
      this.room.ping(() => {
        this.pingSent = 0;
        this.pings++;
        if (run.phase === 'measure') run.rtt.push(performance.now() - sent);
      });
    }
    this.bot.step(now);
    this.inputs++;
  }

  async shutdown() {
    if (!this.room) return;
    this.closing = true;
    this.up = false;
    await Promise.race([this.room.leave(true), sleep(5000)]);
  }
}

class Run {
  constructor(cfg) {
    this.cfg = cfg;
    this.t0 = performance.now();
    this.players = [];
    this.phase = 'ramp';
    this.rtt = [];
    this.errorCounts = {};
    this.firstErrors = [];
    this.joinErrors = 0;
    this.shards = [];
  }

  mono() { return performance.now() - this.t0; }

  error(category, message) {
    this.errorCounts[category] = (this.errorCounts[category] || 0) + 1;
    if (this.firstErrors.length < 8) this.firstErrors.push(`${category}: ${message}`);
  }

  errors() { return Object.values(this.errorCounts).reduce((a, b) => a + b, 0); }

  totals() {
    const t = { at: this.mono(), connected: 0, bytesIn: 0, patches: 0, inputs: 0, pings: 0 };
    for (const p of this.players) {
      if (p.up) t.connected++;
      t.bytesIn += p.bytesIn;
      t.patches += p.patches;
      t.inputs += p.inputs;
      t.pings += p.pings;
    }
    return t;
  }

  /**
   * startScheduler steps every seated player at inputHz from 8 shards offset across the
   * period, as loadgen's scheduler does, so that inputs are spread over the period. Each
   * shard counts the steps due by the clock and runs them, catching up one step at most
   * after a late timer (loadgen's ticker drops ticks it could not deliver).
   */
  startScheduler() {
    const period = 1000 / this.cfg.inputHz;
    const n = 8;
    for (let s = 0; s < n; s++) {
      const shard = { players: [], done: 0, t0: 0, timer: null };
      this.shards.push(shard);
      setTimeout(() => {
        shard.t0 = this.mono();
        shard.timer = setInterval(() => {
          const now = this.mono();
          const due = Math.floor((now - shard.t0) / period);
          const steps = Math.min(due - shard.done, MAX_STEPS_PER_FIRE);
          shard.done = due;
          for (let k = 0; k < steps; k++) {
            for (const p of shard.players) p.tick(now);
          }
        }, period);
      }, (period * s) / n);
    }
  }

  stopScheduler() {
    for (const s of this.shards) clearInterval(s.timer);
  }

  async ramp() {
    const { cfg } = this;
    const client = new Client(cfg.url.replace(/^ws/, 'http'));
    const interval = 1000 / cfg.ramp;
    let inFlight = 0;
    const waiters = [];
    const joins = [];
    for (let i = 0; i < cfg.players; i++) {
      const at = i * interval;
      const wait = at - this.mono();
      if (wait > 1) await sleep(wait);
      while (inFlight >= cfg.concurrency) await new Promise((resolve) => waiters.push(resolve));
      const p = new Player(this, i);
      this.players.push(p);
      inFlight++;
      joins.push(p.start(client).then(() => {
        this.shards[i % this.shards.length].players.push(p);
      }, (err) => {
        this.joinErrors++;
        this.error('join', err?.message || String(err));
      }).finally(() => {
        inFlight--;
        waiters.shift()?.();
      }));
    }
    await Promise.all(joins);
  }

  progress(prev, cur) {
    const secs = (cur.at - prev.at) / 1000;
    if (secs <= 0) return;
    const kb = (cur.bytesIn - prev.bytesIn) / secs / 1000;
    process.stderr.write(`t=${Math.floor(cur.at / 1000)}s ${this.phase} connected=${cur.connected}/${this.cfg.players} ` +
      `patches/s=${Math.round((cur.patches - prev.patches) / secs)} in=${kb.toFixed(1)}kB/s errors=${this.errors()}\n`);
  }
}

function quantile(sorted, q) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main() {
  const cfg = parseArgs(process.argv.slice(2));
  const run = new Run(cfg);
  run.startScheduler();
  let prev = run.totals();
  const reporter = setInterval(() => {
    const cur = run.totals();
    run.progress(prev, cur);
    prev = cur;
  }, 1000);

  await run.ramp();
  run.phase = 'measure';
  if (cfg.warmupMs > 0) await sleep(cfg.warmupMs);
  const start = run.totals();
  const startPatches = run.players.map((p) => (p.up ? p.patches : -1));
  await sleep(cfg.durationMs);
  const end = run.totals();
  let minPatches = Infinity;
  run.players.forEach((p, i) => {
    if (startPatches[i] >= 0) minPatches = Math.min(minPatches, p.patches - startPatches[i]);
  });
  run.phase = 'settle';
  await sleep(SETTLE_MS);
  clearInterval(reporter);
  run.stopScheduler();
  await Promise.all(run.players.map((p) => p.shutdown()));

  const secs = (end.at - start.at) / 1000;
  const seated = start.connected;
  const rtt = run.rtt.sort((a, b) => a - b);
  let shots = 0; let hits = 0; let rockets = 0; let kills = 0;
  const rooms = new Map();
  for (const p of run.players) {
    shots += p.bot.shots;
    hits += p.bot.hits;
    rockets += p.bot.rockets;
    kills += p.bot.kills;
    if (p.room) rooms.set(p.room.roomId, (rooms.get(p.room.roomId) || 0) + 1);
  }
  const summary = {
    players: cfg.players,
    seated,
    rooms: rooms.size,
    duration_s: Number(secs.toFixed(3)),
    patches_per_s: Number(((end.patches - start.patches) / secs).toFixed(1)),
    patches_per_player_min: Number.isFinite(minPatches) ? Number((minPatches / secs).toFixed(2)) : 0,
    bytes_in_per_player_s: seated ? Math.round((end.bytesIn - start.bytesIn) / secs / seated) : 0,
    inputs_per_s: Math.round((end.inputs - start.inputs) / secs),
    rtt_p50_ms: Number(quantile(rtt, 0.5).toFixed(2)),
    rtt_p99_ms: Number(quantile(rtt, 0.99).toFixed(2)),
    pongs: rtt.length,
    shots, hits, rockets, kills,
    errors: run.errors(),
    first_errors: run.firstErrors,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  // Timers of the SDK (reconnection, pings) may linger; the run is over.
  process.exit(summary.errors > 0 ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`driver.mjs: ${err?.stack || err}\n`);
  process.exit(2);
});
