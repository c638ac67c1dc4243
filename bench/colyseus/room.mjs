// ShooterRoom is the Colyseus equivalent of Rallypoint's shooter room: 8 players, a 60 Hz
// simulation with one Step per "input" message, 30 Hz state patches, and the "shot",
// "boom" and "kill" events broadcast as room messages. It is written the way the Colyseus
// documentation writes a room: inputs are queued by onMessage and applied in the
// simulation interval, and the state is a schema that Colyseus delta-encodes once per
// patch for every client.
import { Room } from '@colyseus/core';
import { ShooterState, Player, Rocket as RocketState } from './state.mjs';
import { Sim, Combatant, color, aimDirection, ROCKET_SPEED } from './rules.mjs';
import { TICK_RATE, PATCH_RATE, GRID } from './world.mjs';
import { StepClock } from './lateness.mjs';

const MAX_NAME = 16;

export class ShooterRoom extends Room {
  maxClients = 8;

  onCreate() {
    this.state = new ShooterState();
    this.patchRate = 1000 / PATCH_RATE; // the setter form of the deprecated setPatchRate()
    this.sim = new Sim((name, payload) => this.broadcast(name, payload));
    this.bySession = new Map(); // sessionId -> Combatant
    this.nextColor = 0;
    // The tick's inputs in arrival order: who sent it, and the [keys, aim, fire, view] array.
    this.inFrom = [];
    this.inValue = [];
    this.inCount = 0;

    this.onMessage('input', (client, input) => {
      const c = this.bySession.get(client.sessionId);
      if (c === undefined || !Array.isArray(input) || input.length !== 4) return;
      this.inFrom[this.inCount] = c;
      this.inValue[this.inCount] = input;
      this.inCount++;
    });
    // How late each step starts against its 1000/60 ms schedule (lateness.mjs: the rule,
    // and why it costs nothing measurable); server.mjs serves it with -metrics-addr.
    this.steps = new StepClock(1000 / TICK_RATE);
    this.setSimulationInterval(() => this.update(), 1000 / TICK_RATE);
  }

  onJoin(client, options) {
    const c = new Combatant(client.sessionId, playerName(options, this.nextColor + 1), color(++this.nextColor));
    this.bySession.set(client.sessionId, c);
    this.sim.join(c);
    const p = new Player();
    p.name = c.name;
    p.color = c.color;
    p.bot = false;
    c.view = p;
    this.state.players.set(client.sessionId, p);
    this.sync(c);
  }

  onLeave(client) {
    const c = this.bySession.get(client.sessionId);
    if (c === undefined) return;
    this.bySession.delete(client.sessionId);
    this.sim.leave(c);
    this.state.players.delete(client.sessionId);
  }

  update() {
    this.steps.step();
    const sim = this.sim;
    sim.update(this.inFrom, this.inValue, this.inCount);
    for (let i = 0; i < this.inCount; i++) {
      this.inFrom[i] = undefined;
      this.inValue[i] = undefined;
    }
    this.inCount = 0;
    this.state.tick = sim.tick;
    for (const c of sim.all) this.sync(c);
    const rockets = this.state.rockets;
    for (const rk of sim.exploded) {
      if (rk.view !== null) rockets.delete(String(rk.id));
    }
    for (const rk of sim.rockets) {
      if (rk.view !== null) continue; // a rocket's state is its launch: it never changes
      const r = rk.view = new RocketState();
      r.x = Math.round(rk.x0 * GRID);
      r.y = Math.round(rk.y0 * GRID);
      r.vx = Math.round(rk.dx * ROCKET_SPEED);
      r.vy = Math.round(rk.dy * ROCKET_SPEED);
      r.owner = rk.owner;
      r.tick = rk.launched;
      rockets.set(String(rk.id), r);
    }
  }

  /** sync copies a combatant into its schema; unchanged fields cost nothing (the setters compare). */
  sync(c) {
    const p = c.view;
    p.x = c.x;
    p.y = c.y;
    p.aim = aimDirection(c.aim);
    p.health = c.health;
    p.alive = c.alive;
    p.frags = c.frags;
    p.deaths = c.deaths;
  }
}

/** playerName reads the join option "name" as names.go's playerName reads the join meta. */
function playerName(options, n) {
  let raw = typeof options === 'string' ? options : options?.name;
  if (typeof raw !== 'string') raw = '';
  // eslint-disable-next-line no-control-regex
  const name = [...raw.trim().replace(/[\u0000-\u001f\u007f\ufffd]/g, '')].slice(0, MAX_NAME).join('').trim();
  return name !== '' ? name : `player ${n}`;
}
