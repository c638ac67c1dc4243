// The shooter's replicated state as a Colyseus developer would declare it with
// @colyseus/schema 5's non-decorator API. Field for field it carries what Rallypoint's
// shooter replicates (examples/shooter/protocol.go: KindPlayer and KindRocket), with the
// types a Colyseus user would pick: float32 player positions (their 1/16-unit grid is
// exact in a float32; Rallypoint sends x·16 as an integer), the aim as a uint8 direction
// in 128ths of a turn, small unsigned integers for counters; a rocket as where and when it
// was launched (x·16 and y·16, which int16 holds) and its velocity, set once: it flies
// straight, so the clients compute where it is, and only its launch and its removal travel.
import { schema, t } from '@colyseus/schema';

export const Player = schema({
  x: t.float32(),
  y: t.float32(),
  aim: t.uint8(),
  health: t.uint8(),
  alive: t.boolean(),
  frags: t.uint16(),
  deaths: t.uint16(),
  name: t.string(),
  color: t.string(),
  bot: t.boolean(),
}, 'Player');

export const Rocket = schema({
  x: t.int16(),
  y: t.int16(),
  vx: t.int16(),
  vy: t.int16(),
  owner: t.string(),
  tick: t.uint32(),
}, 'Rocket');

export const ShooterState = schema({
  // tick is the room's simulation tick. Rallypoint's snapshots carry their tick in the
  // frame header; a Colyseus client needs it in the state to send the "view" tick that
  // lag compensation rewinds to.
  tick: t.uint32(),
  players: t.map(Player), // by sessionId
  rockets: t.map(Rocket), // by rocket number
}, 'ShooterState');
