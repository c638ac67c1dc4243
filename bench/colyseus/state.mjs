// The shooter's replicated state as a Colyseus developer would declare it with
// @colyseus/schema 5's non-decorator API. Field for field it carries what Rallypoint's
// shooter replicates (examples/shooter/protocol.go: KindPlayer and KindRocket), with the
// types a Colyseus user would pick: float32 positions (Rallypoint sends x·100 as an
// integer), int16 aim in milliradians, small unsigned integers for counters.
import { schema, t } from '@colyseus/schema';

export const Player = schema({
  x: t.float32(),
  y: t.float32(),
  aim: t.int16(),
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
}, 'Rocket');

export const ShooterState = schema({
  // tick is the room's simulation tick. Rallypoint's snapshots carry their tick in the
  // frame header; a Colyseus client needs it in the state to send the "view" tick that
  // lag compensation rewinds to.
  tick: t.uint32(),
  players: t.map(Player), // by sessionId
  rockets: t.map(Rocket), // by rocket number
}, 'ShooterState');
