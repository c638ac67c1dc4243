// The shooter's rules, ported from examples/shooter (game.go, weapons.go, lagcomp.go,
// names.go) so that a Colyseus room does the same work per input and per tick as
// Rallypoint's Game: one Step per input, the blaster's ray against walls and rewound
// players, rockets swept along their path every tick, deaths, respawns at the spawn point
// farthest from the live enemies, and a 16-tick position history per combatant.
//
// The rules know nothing of Colyseus: a Sim holds plain numbers and reports events through
// a callback, and the room copies what changed into its schema once a tick. That is the
// fastest way to write a Colyseus room (schema setters track changes on every write), so
// the comparison does not charge Colyseus for a slow room.
import {
  WIDTH, HEIGHT, RADIUS, SPAWNS, FIRE_BLASTER, FIRE_ROCKET,
  step, rayBorder, wallHit, rayCircle,
} from './world.mjs';

export const MAX_HEALTH = 100;
export const RESPAWN_TICKS = 120;
export const BLASTER_DAMAGE = 25;
export const BLASTER_COOLDOWN = 15;
export const BLASTER_RANGE = 1400;
export const ROCKET_SPEED = 700;
export const ROCKET_DAMAGE = 60;
export const ROCKET_RADIUS = 6;
export const ROCKET_COOLDOWN = 48;
export const ROCKET_LIFETIME = 120;
/** Lag compensation's limit in ticks: the engine's default RoomConfig.MaxRewind, 1 s at 60 Hz. */
export const MAX_REWIND = 60;
/** The replicated aim is one of AIM_DIRECTIONS directions (shooter.AimDirections). */
export const AIM_DIRECTIONS = 128;

const HIST_LEN = 128; // ticks of history: state.DefaultHistoryLen, what the shooter keeps
const ROCKET_STEP = ROCKET_SPEED / 60;

/** Combatant is a player in the arena. id is the Colyseus sessionId. */
export class Combatant {
  constructor(id, name, color) {
    this.id = id;
    this.name = name;
    this.color = color;
    this.x = 0;
    this.y = 0;
    this.aim = 0;
    this.health = 0;
    this.alive = false;
    this.frags = 0;
    this.deaths = 0;
    this.respawnAt = 0;
    this.blasterAt = 0;
    this.rocketAt = 0;
    this.gone = false; // left the room: inputs still queued for this tick are dropped
    this.view = null; // the room's schema for this combatant
    // The position ring for lag compensation, as lagcomp.go's history: per slot the tick,
    // x, y and whether the combatant could be hit then, in flat arrays.
    this.histTick = new Float64Array(HIST_LEN).fill(-1);
    this.histX = new Float64Array(HIST_LEN);
    this.histY = new Float64Array(HIST_LEN);
    this.histHit = new Uint8Array(HIST_LEN);
  }

  record(tick) {
    const i = tick % HIST_LEN;
    this.histTick[i] = tick;
    this.histX[i] = this.x;
    this.histY[i] = this.y;
    this.histHit[i] = this.alive ? 1 : 0;
  }

  /** at sets out.x, out.y to where the combatant stood at the end of tick at; false if unknown. */
  at(at, now, out) {
    if (at >= now) {
      out.x = this.x;
      out.y = this.y;
      return true;
    }
    const i = at % HIST_LEN;
    if (this.histTick[i] !== at || !this.histHit[i]) return false;
    out.x = this.histX[i];
    out.y = this.histY[i];
    return true;
  }
}

/**
 * Rocket is a rocket in flight. It is launched from (x0, y0) at the end of tick launched and
 * flies straight from the next tick: what the state replicates, once (as shooter's rockets).
 */
export class Rocket {
  constructor(id, x, y, launched, dx, dy, owner, ownerName, expires) {
    this.id = id;
    this.x = x;
    this.y = y;
    this.x0 = x;
    this.y0 = y;
    this.launched = launched;
    this.dx = dx;
    this.dy = dy;
    this.owner = owner;
    this.ownerName = ownerName;
    this.expires = expires;
    this.view = null; // the room's schema for this rocket
  }
}

/**
 * Sim is one arena. emit(name, payload) receives the "shot", "boom" and "kill" events
 * with the payloads of protocol.go's ShotEvent, BoomEvent and KillEvent: arrays
 * [by, x1, y1, x2, y2, hit], [x, y, by, hit] and [killer, victim, weapon, killer_name,
 * victim_name].
 */
export class Sim {
  constructor(emit, random = Math.random) {
    this.emit = emit;
    this.random = random;
    this.tick = 0;
    this.all = []; // combatants in join order
    this.rockets = []; // in flight, oldest first
    this.nextRocket = 0;
    this.exploded = []; // rockets that exploded this tick
    this.pos = { x: 0, y: 0 }; // scratch for step and history lookups
  }

  join(c) {
    this.all.push(c);
    this.spawn(c);
  }

  leave(c) {
    c.gone = true;
    const i = this.all.indexOf(c);
    if (i >= 0) this.all.splice(i, 1);
  }

  /**
   * update runs one tick as game.go's update: respawns, rockets, then the inputs in
   * arrival order (players[i] sent inputs[i], an array [keys, aim, fire, view]), then the
   * history.
   */
  update(players, inputs, n) {
    const tick = ++this.tick;
    this.exploded.length = 0;
    for (const c of this.all) {
      if (!c.alive && tick >= c.respawnAt) this.spawn(c);
    }
    this.moveRockets();
    for (let i = 0; i < n; i++) {
      const c = players[i];
      if (c.alive && !c.gone) this.apply(c, inputs[i]);
    }
    for (const c of this.all) c.record(tick);
  }

  apply(c, input) {
    const pos = this.pos;
    pos.x = c.x;
    pos.y = c.y;
    step(pos, input[0] & 0xff);
    c.x = pos.x;
    c.y = pos.y;
    c.aim = (input[1] | 0) % 6284;
    const fire = input[2] & 0xff;
    if ((fire & FIRE_BLASTER) && this.tick >= c.blasterAt) {
      c.blasterAt = this.tick + BLASTER_COOLDOWN;
      this.fireBlaster(c, input[3] | 0);
    }
    if ((fire & FIRE_ROCKET) && this.tick >= c.rocketAt && c.alive) {
      c.rocketAt = this.tick + ROCKET_COOLDOWN;
      this.fireRocket(c);
    }
  }

  spawn(c) {
    let best = -1;
    let bestD = -1;
    for (let i = 0; i < SPAWNS.length; i++) {
      const s = SPAWNS[i];
      let d = Infinity;
      for (const o of this.all) {
        if (o !== c && o.alive) {
          d = Math.min(d, (o.x - s.x) * (o.x - s.x) + (o.y - s.y) * (o.y - s.y));
        }
      }
      if (d > bestD) {
        best = i;
        bestD = d;
      }
    }
    if (bestD === Infinity) best = Math.floor(this.random() * SPAWNS.length);
    const s = SPAWNS[best];
    c.x = s.x;
    c.y = s.y;
    c.health = MAX_HEALTH;
    c.alive = true;
    c.aim = Math.round(Math.atan2(HEIGHT / 2 - s.y, WIDTH / 2 - s.x) * 1000);
  }

  rewindTick(view) {
    const now = this.tick;
    if (view <= 0 || view > now) return now;
    return Math.max(view, now - MAX_REWIND);
  }

  fireBlaster(c, view) {
    const a = c.aim / 1000;
    const dx = Math.cos(a);
    const dy = Math.sin(a);
    let t = Math.min(BLASTER_RANGE, rayBorder(c.x, c.y, dx, dy));
    const w = wallHit(c.x, c.y, dx, dy, t);
    if (w >= 0) t = w;
    const at = this.rewindTick(view);
    const pos = this.pos;
    let victim = null;
    for (const o of this.all) {
      if (o === c || !o.alive) continue;
      if (!o.at(at, this.tick, pos)) continue;
      const ht = rayCircle(c.x, c.y, dx, dy, pos.x, pos.y, RADIUS, t);
      if (ht >= 0) {
        t = ht;
        victim = o;
      }
    }
    this.emit('shot', [
      c.id, Math.round(c.x), Math.round(c.y), Math.round(c.x + dx * t), Math.round(c.y + dy * t),
      victim ? victim.id : 0,
    ]);
    if (victim) this.damage(victim, BLASTER_DAMAGE, c.id, c.name, 'blaster');
  }

  fireRocket(c) {
    this.nextRocket++;
    const a = c.aim / 1000;
    this.rockets.push(new Rocket(this.nextRocket, c.x, c.y, this.tick, Math.cos(a), Math.sin(a), c.id, c.name,
      this.tick + ROCKET_LIFETIME));
  }

  moveRockets() {
    let n = 0;
    const rockets = this.rockets;
    for (let i = 0; i < rockets.length; i++) {
      const rk = rockets[i];
      if (!this.flyRocket(rk)) rockets[n++] = rk;
      else this.exploded.push(rk);
    }
    rockets.length = n;
  }

  /** flyRocket moves rk one tick, sweeping its path, and reports whether it exploded. */
  flyRocket(rk) {
    const border = rayBorder(rk.x, rk.y, rk.dx, rk.dy);
    let t = Math.min(ROCKET_STEP, border);
    const w = wallHit(rk.x, rk.y, rk.dx, rk.dy, t);
    let stopped = w >= 0;
    if (stopped) t = w;
    stopped = stopped || border <= ROCKET_STEP;
    let victim = null;
    for (const o of this.all) {
      if (o.id === rk.owner || !o.alive) continue;
      const ht = rayCircle(rk.x, rk.y, rk.dx, rk.dy, o.x, o.y, RADIUS + ROCKET_RADIUS, t);
      if (ht >= 0) {
        t = ht;
        victim = o;
        stopped = true;
      }
    }
    rk.x += rk.dx * t;
    rk.y += rk.dy * t;
    if (!stopped && this.tick < rk.expires) return false;
    this.emit('boom', [Math.round(rk.x), Math.round(rk.y), rk.owner, victim ? victim.id : 0]);
    if (victim) this.damage(victim, ROCKET_DAMAGE, rk.owner, rk.ownerName, 'rocket');
    return true;
  }

  damage(v, amount, by, byName, weapon) {
    v.health -= amount;
    if (v.health > 0) return;
    v.health = 0;
    v.alive = false;
    v.deaths++;
    v.respawnAt = this.tick + RESPAWN_TICKS;
    for (const k of this.all) {
      if (k.id === by) {
        if (k !== v) k.frags++;
        break;
      }
    }
    this.emit('kill', [by, v.id, weapon, byName, v.name]);
  }
}

/**
 * aimDirection is an aim in milliradians as the state carries it, as shooter.AimDirection:
 * one of AIM_DIRECTIONS directions from +x towards +y, 0 to AIM_DIRECTIONS - 1.
 */
export function aimDirection(aim) {
  const v = (aim / 1000 / (2 * Math.PI)) * AIM_DIRECTIONS;
  const d = v < 0 ? -Math.round(-v) : Math.round(v); // Go's math.Round: halves away from zero
  return ((d % AIM_DIRECTIONS) + AIM_DIRECTIONS) % AIM_DIRECTIONS;
}

/**
 * color is a player's "#rrggbb" as names.go's Color: hues a golden angle apart by a
 * numeric id, so that players who join one after the other get distinct colors.
 */
export function color(id) {
  const h = ((id * 137.50776405) % 360) / 60;
  const s = 0.7;
  const l = 0.55;
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs((h % 2) - 1));
  let r; let g; let b;
  switch (Math.floor(h)) {
    case 0: [r, g, b] = [c, x, 0]; break;
    case 1: [r, g, b] = [x, c, 0]; break;
    case 2: [r, g, b] = [0, c, x]; break;
    case 3: [r, g, b] = [0, x, c]; break;
    case 4: [r, g, b] = [x, 0, c]; break;
    default: [r, g, b] = [c, 0, x];
  }
  const m = l - c / 2;
  const to = (v) => Math.round((v + m) * 255).toString(16).padStart(2, '0');
  return `#${to(r)}${to(g)}${to(b)}`;
}
