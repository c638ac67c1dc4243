// ShooterBot is one Colyseus player with the behaviour of cmd/loadgen's shooter bots
// (shooter.go there): one input per 1/60 s step, [keys, aim, fire, view]; it runs in one of
// 8 directions and changes it every 0.3 to 1 s, or at once when a wall stops it (it
// predicts its own position with Step); it aims at the nearest live enemy it can see, as
// drawn 100 ms behind the latest patch, turning at most 0.15 rad a step; it holds the
// blaster while on target and fires a rocket one step in 40 while it does. The view it
// sends is the tick of the state it aimed at, for the server's lag compensation.
import { step, visible, KEY_UP, KEY_DOWN, KEY_LEFT, KEY_RIGHT, FIRE_BLASTER, FIRE_ROCKET, TICK_RATE } from './world.mjs';
import { BLASTER_RANGE } from './rules.mjs';

const TURN_MIN_MS = 300;
const TURN_MAX_MS = 1000;
const INTERP_DELAY_MS = 100;
const RETARGET_EVERY = 6;
const AIM_TURN = 0.15;
const FIRE_CONE = 0.06;
const ROCKET_ODDS = 40;
const VIEW_HISTORY = 16;
const MAX_PLAYERS = 32;

const DIRECTIONS = [
  KEY_UP, KEY_DOWN, KEY_LEFT, KEY_RIGHT,
  KEY_UP | KEY_LEFT, KEY_UP | KEY_RIGHT, KEY_DOWN | KEY_LEFT, KEY_DOWN | KEY_RIGHT,
];

/** rng returns a seeded generator of floats in [0, 1) (splitmix32): each bot its own stream. */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** A View is the players of one patch, in flat preallocated arrays: reading it allocates nothing. */
class View {
  constructor() {
    this.tick = 0;
    this.n = 0;
    this.ids = new Array(MAX_PLAYERS).fill('');
    this.x = new Float64Array(MAX_PLAYERS);
    this.y = new Float64Array(MAX_PLAYERS);
    this.alive = new Uint8Array(MAX_PLAYERS);
  }

  find(id) {
    for (let i = 0; i < this.n; i++) if (this.ids[i] === id) return i;
    return -1;
  }
}

function remainder(x, y) {
  // Go's math.Remainder: x - n·y with n the integer nearest x/y.
  return x - Math.round(x / y) * y;
}

export class ShooterBot {
  constructor(random) {
    this.random = random;
    this.room = null;
    this.me = '';
    this.ring = Array.from({ length: VIEW_HISTORY }, () => new View());
    this.views = 0; // views pushed
    this.x = 0;
    this.y = 0;
    this.placed = false; // x, y known
    this.keys = 0;
    this.turnAt = 0;
    this.aim = 0;
    this.target = '';
    this.visible = false;
    this.steps = 0;
    this.stepsDue = 0;
    this.input = [0, 0, 0, 0]; // reused: msgpack encodes it at once
    this.pos = { x: 0, y: 0 }; // scratch for step
    this.shots = 0;
    this.hits = 0;
    this.rockets = 0;
    this.kills = 0;
    this.deaths = 0;
  }

  /** attach starts playing in room, whose state is the shooter's. */
  attach(room) {
    this.room = room;
    this.me = room.sessionId;
    room.onStateChange((state) => this.onState(state));
    // The payloads are arrays: shot [by, x1, y1, x2, y2, hit], boom [x, y, by, hit],
    // kill [killer, victim, weapon, killer_name, victim_name].
    room.onMessage('shot', (m) => {
      if (m[0] === this.me) {
        this.shots++;
        if (m[5]) this.hits++;
      }
    });
    room.onMessage('boom', (m) => {
      if (m[2] === this.me) this.rockets++;
    });
    room.onMessage('kill', (m) => {
      if (m[0] === this.me) this.kills++;
      if (m[1] === this.me) this.deaths++;
    });
  }

  latest() {
    return this.views === 0 ? null : this.ring[(this.views - 1) % VIEW_HISTORY];
  }

  /** at returns the newest view at or before tick t, or the oldest held. */
  at(t) {
    let v = null;
    const n = Math.min(this.views, VIEW_HISTORY);
    for (let i = 0; i < n; i++) {
      v = this.ring[(this.views - 1 - i) % VIEW_HISTORY];
      if (v.tick <= t) return v;
    }
    return v;
  }

  /**
   * onState copies the players of a patch into the next view. Colyseus patches carry no
   * input acknowledgement, so the bot cannot reconcile as Rallypoint's bots do: it places
   * itself from the server's position when it (re)spawns and predicts from there; the
   * server applies the same Steps, so the two agree while it lives.
   */
  onState(state) {
    const v = this.ring[this.views % VIEW_HISTORY];
    v.tick = state.tick;
    let n = 0;
    state.players.forEach((p, id) => {
      if (n === MAX_PLAYERS) return;
      v.ids[n] = id;
      v.x[n] = p.x;
      v.y[n] = p.y;
      v.alive[n] = p.alive ? 1 : 0;
      n++;
    });
    v.n = n;
    this.views++;
    const i = v.find(this.me);
    if (i < 0 || !v.alive[i]) {
      this.placed = false;
    } else if (!this.placed) {
      this.x = v.x[i];
      this.y = v.y[i];
      this.placed = true;
    }
  }

  /** step sends one input; now is in ms. */
  step(now) {
    const latest = this.latest();
    if (latest === null) return; // no state yet
    const mi = latest.find(this.me);
    const alive = mi >= 0 && latest.alive[mi] === 1 && this.placed;

    if (now >= this.turnAt || this.keys === 0) this.turn(now, 0);
    const pos = this.pos;
    pos.x = this.x;
    pos.y = this.y;
    step(pos, this.keys);
    if (alive && pos.x === this.x && pos.y === this.y) {
      this.turn(now, this.keys);
      pos.x = this.x;
      pos.y = this.y;
      step(pos, this.keys);
    }
    if (alive) {
      this.x = pos.x;
      this.y = pos.y;
    }

    const lag = Math.floor((TICK_RATE * INTERP_DELAY_MS) / 1000);
    const seen = this.at(latest.tick - Math.min(latest.tick, lag));
    if (++this.steps >= this.stepsDue || seen.find(this.target) < 0) {
      this.retarget(seen);
      this.stepsDue = this.steps + RETARGET_EVERY;
    }
    let fire = 0;
    const ti = seen.find(this.target);
    if (ti >= 0 && seen.alive[ti] && alive) {
      const want = Math.atan2(seen.y[ti] - this.y, seen.x[ti] - this.x);
      const diff = remainder(want - this.aim, 2 * Math.PI);
      this.aim += Math.max(-AIM_TURN, Math.min(AIM_TURN, diff));
      if (Math.abs(diff) < FIRE_CONE && this.visible &&
        Math.hypot(seen.x[ti] - this.x, seen.y[ti] - this.y) <= BLASTER_RANGE) {
        fire = FIRE_BLASTER;
        if (Math.floor(this.random() * ROCKET_ODDS) === 0) fire |= FIRE_ROCKET;
      }
    }
    const input = this.input;
    input[0] = this.keys;
    input[1] = Math.round(remainder(this.aim, 2 * Math.PI) * 1000);
    input[2] = fire;
    input[3] = seen.tick;
    this.room.send('input', input);
  }

  /** turn picks a new direction other than avoid that moves from the predicted position. */
  turn(now, avoid) {
    this.turnAt = now + TURN_MIN_MS + this.random() * (TURN_MAX_MS - TURN_MIN_MS);
    const start = Math.floor(this.random() * DIRECTIONS.length);
    const pos = this.pos;
    for (let i = 0; i < DIRECTIONS.length; i++) {
      const k = DIRECTIONS[(start + i) % DIRECTIONS.length];
      if (k === avoid) continue;
      pos.x = this.x;
      pos.y = this.y;
      step(pos, k);
      if (!this.placed || pos.x !== this.x || pos.y !== this.y) {
        this.keys = k;
        return;
      }
    }
    this.keys = DIRECTIONS[start];
  }

  /** retarget picks the nearest live enemy in view, preferring those in sight. */
  retarget(v) {
    let best = '';
    let bestD = Infinity;
    let bestVis = false;
    for (let i = 0; i < v.n; i++) {
      if (v.ids[i] === this.me || !v.alive[i]) continue;
      const d = Math.hypot(v.x[i] - this.x, v.y[i] - this.y);
      if (bestVis && d >= bestD) continue;
      const vis = visible(this.x, this.y, v.x[i], v.y[i]);
      if ((vis && !bestVis) || (vis === bestVis && d < bestD)) {
        best = v.ids[i];
        bestD = d;
        bestVis = vis;
      }
    }
    this.target = best;
    this.visible = bestVis;
  }
}
