// shooter.js: the browser side of the arena shooter.
//
// It joins a "shooter" room with the Rallypoint SDK and runs three loops:
//
//   - a fixed 60 Hz input loop: each step samples the controls into one input
//     [keys, aim, fire], sends it, and applies the same movement Step locally
//     (prediction), so your own player answers the keys at once whatever the latency. The
//     aim is taken from where that step puts you, which is where the server fires from, and
//     the SDK adds to the input the frame last drawn, for the server's lag compensation.
//     While the link is stalled or down, the SDK sends nothing and nothing is predicted;
//   - on each snapshot (30 Hz): reconciliation. The server's position of you already
//     includes every input up to the one it acknowledged, so the SDK re-applies the
//     pending ones on top. sim.js is bit-exact with the server's Step, so this lands on the
//     predicted position exactly unless the server really disagreed (then the visible
//     correction is smoothed out over a few frames);
//   - the frame loop: everyone else drawn between the two snapshots around the SDK's
//     interpolation time, the rockets where their straight flight from their launch puts
//     them at that time, you at your predicted position.
//
// window.rp exposes the state the end-to-end tests check (defined below, before joining).

import { Code, RallypointError, connect } from "/client/rallypoint.js";
import { Controls } from "./input.js";
import { Renderer } from "./render.js";
import * as sim from "./sim.js";

// Replicated entities are read by the names the server declares (shooter.Schema in Go, sent
// with the join answer): e.kindName is "player" or "rocket", e.values their fields by name,
// typed in types.d.ts (generated from the Go declarations).
/** @typedef {import("./types").Entities} Entities */
/** @typedef {import("/client/rallypoint.js").EntityOf<Entities>} Ent */
// Players' positions blend between snapshots (their aim is blended by hand: it wraps);
// rockets' fields never change, they are placed by the render time.
const LERP_FIELDS = (kind, kindName) => (kindName === "player" ? ["x", "y"] : []);
const AIM_UNIT = (2 * Math.PI) / sim.AIM_DIRECTIONS; // radians per replicated aim step

const STEP_MS = 1000 / sim.TICK_RATE;
// Steps run back to back at most when the loop was held up (a busy main thread, a throttled
// background tab). Time beyond that is dropped rather than sent as a burst of inputs: the
// server takes a bounded number of inputs per player and tick.
const MAX_CATCH_UP = 6;
// A correction farther than this is a teleport (respawn, resume), drawn at once.
const SNAP_DISTANCE = 64;
// Time constant (ms) with which a small visible correction decays.
const SMOOTH_MS = 80;

const params = new URLSearchParams(location.search);
const name = (params.get("name") || `Player${100 + Math.floor(Math.random() * 900)}`).trim().slice(0, 24);

const canvas = /** @type {HTMLCanvasElement} */ (document.getElementById("arena"));
canvas.focus();
const renderer = new Renderer(canvas);
const controls = new Controls(canvas, renderer);
// With touch controls on (a phone, or the first touch), the layout is made for thumbs.
renderer.touch = controls.touch;
controls.touch.onEnable = () => renderer.resize();
renderer.resize();
// Safari zooms on a pinch whatever the viewport says; a pinch here is two thumbs playing.
document.addEventListener("gesturestart", (e) => e.preventDefault());
// autoRejoin: when the seat could not be resumed (the link was down longer than the server
// holds a seat), the SDK quick-plays a new arena by itself.
// sessionStorage keeps the seat across a reload of this tab: back as the same player, score
// and all, within the grace period.
const client = connect(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/play`, { autoRejoin: true, storage: sessionStorage });
const room = params.get("room"); // join this room rather than quick play (tests, links to a friend)
const fresh = params.get("new") === "1"; // always a new room (tests that want the arena to themselves)
// ?match=1 (the start page's "Find a match"): queue for a match rather than quick play: a
// running arena with a free seat, or a new one with the next player who asks.
let matching = params.get("match") === "1";

/** Everything the page knows about you and the room beyond the SDK's mirror. */
const game = {
  me: 0, // your entity id (= your player id)
  walls: null, // [[x, y, w, h], ...] from the "map" request
  seated: false, // joined (a seat in a room, maybe resuming after a drop)
  inRoom: false, // seated and connected: inputs may go out
  seen: false, // a snapshot with you in it was applied since the last (re)join
  alive: false,
  health: 0,
  color: "#8b96a5",
  pred: { x: 0, y: 0 }, // predicted position (prediction works on this object in place)
  server: { x: 0, y: 0 }, // your position in the latest snapshot
  offset: { x: 0, y: 0 }, // visible error still being smoothed out: drawn at pred + offset
  aim: 0, // milliradians, as last sent
  cooldown: { blaster: 0, rocket: 0 }, // steps until each weapon may fire again (predicted)
  respawnAt: 0, // local time of the respawn while dead
  killer: "",
  message: "Connecting…",
  link: "", // what the connection is going through, when not well: shown over the arena
};

const stats = { predictedSteps: 0, movedSteps: 0, reconciliations: 0, mispredictions: 0 };
/** The other players as drawn in the last frame. */
let rendered = [];

// ---- the debug hook for end-to-end tests ---------------------------------------------------

/**
 * window.rp: the page's state for end-to-end tests and the console. Read it; do not
 * change it. Positions are world units (x right, y down, arena 2000 × 1200).
 */
const rp = {
  /** The SDK client (connect's result). */
  client,
  /** True while queued for a match (?match=1), until matched or "Play now instead". */
  matching: false,
  /** True once joined, the map loaded and a snapshot with you in it applied; false again while the connection is down or after leaving, until the next such snapshot. */
  ready: false,
  /** The negotiated WebSocket extensions (client.extensions), e.g. "permessage-deflate; ...". */
  extensions: () => client.extensions,
  /** Your entity id (= your player id in the room); 0 before joining. */
  me: 0,
  /** The name sent with the join (?name= or a random PlayerNNN). */
  name,
  /** Your predicted position now: {x, y}. */
  local: () => ({ x: game.pred.x, y: game.pred.y }),
  /** Your position in the latest snapshot: {x, y}. */
  server: () => ({ x: game.server.x, y: game.server.y }),
  /** Whether you are alive in the latest snapshot (no inputs are sent while dead). */
  alive: () => game.alive,
  /** How many inputs the server has not acknowledged yet. */
  pending: () => client.pendingInputs().length,
  /** predictedSteps: inputs sent and applied locally; movedSteps: those with movement bits; reconciliations: snapshots re-predicted from; mispredictions: reconciliations that did not land on the predicted position (respawns excepted). */
  stats,
  /** The other players as last rendered: [{id, x, y, bot, alive}], interpolated. */
  others: () => rendered.map((o) => ({ ...o })),
  /** Frames drawn. */
  frames: 0,
  /** The last frame drawn: {at (performance.now()), x, y (your position as drawn)}. */
  lastDraw: { at: 0, x: 0, y: 0 },
  /**
   * For tests: if set, a function (me {x, y}, others as last drawn, walls) =>
   * {x, y, fire, target} | null that each input step calls instead of reading the pointer
   * and the fire buttons: it aims at {x, y} and holds the fire bits. The input says the frame
   * those others were drawn in.
   */
  autopilot: null,
  /** Blaster shots the autopilot fired, for tests: [{seq, aim, target, kind, at, from, to, view}]. */
  fired: [],
  /** The viewport point (CSS px) where the world point (x, y) is drawn: {x, y}. */
  toScreen: (x, y) => renderer.toScreen(x, y),
  /**
   * The touch controls as drawn: {enabled, turned (the arena a quarter turn round), move and
   * aim (where each stick rests, {x, y}), rocket (the button, {x, y, r}), held (which of
   * "move", "aim", "rocket" a finger holds)}. CSS px of the viewport.
   */
  touch: () => {
    const t = controls.touch;
    const { move, aim, rocket } = renderer.thumbs;
    const held = [t.move && "move", t.aim && "aim", t.rocket !== null && "rocket"].filter(Boolean);
    return { enabled: t.enabled, turned: renderer.turned, move: { ...move }, aim: { ...aim }, rocket: { ...rocket }, held };
  },
};
window.rp = rp;

// ---- joining ---------------------------------------------------------------------------

let joining = false;

/** Quick-plays a shooter room and fetches the map; retries while the connection lives. */
async function play() {
  if (joining || client.state === "closed") return;
  joining = true;
  try {
    if (!game.seated) {
      game.message = "Joining…";
      const meta = { name };
      const resumed = await client.resumeSaved(room).catch(() => undefined); // a reload: the same seat
      const joined = resumed ?? (await (room ? client.join({ room, meta }) : fresh ? client.join({ game: "shooter", create: true, meta }) : matching ? findMatch(meta) : client.quickPlay("shooter", meta)));
      game.me = rp.me = joined.player;
    }
    if (game.walls === null) game.walls = parseMap(await client.request("map"));
    game.message = "";
  } catch (e) {
    game.message = `Could not join: ${e instanceof Error ? e.message : e}`;
    setTimeout(play, 3000);
  } finally {
    joining = false;
  }
}

/**
 * Queues for a match and takes the seat it reserves. "Play now instead" withdraws the ticket
 * and quick-plays; so does a server without matchmaking. Once matched (or not), later joins
 * (after leaving a room) quick-play.
 */
async function findMatch(meta) {
  const abort = new AbortController();
  game.message = "Finding a match… waiting for another player";
  rp.matching = true;
  showAgain("Play now instead", () => abort.abort());
  try {
    return await client.findMatch({ game: "shooter", meta }, abort.signal);
  } catch (e) {
    if (!abort.signal.aborted && !(e instanceof RallypointError && e.code === Code.NotFound)) throw e;
    if (!abort.signal.aborted) console.warn("shooter: this server has no matchmaking; quick play instead");
    game.message = "Joining…";
    return await client.quickPlay("shooter", meta);
  } finally {
    matching = false;
    rp.matching = false;
    hideAgain("Play now instead");
  }
}

/** Checks the "map" answer against sim.js and returns its walls. */
function parseMap(m) {
  if (m === null || typeof m !== "object" || !Array.isArray(m.walls)) throw new Error("bad map answer");
  const want = { width: sim.WIDTH, height: sim.HEIGHT, radius: sim.RADIUS, speed: sim.SPEED, tick_rate: sim.TICK_RATE };
  for (const [k, v] of Object.entries(want)) {
    // Prediction replays the server's Step with these numbers: a mismatch means it will not.
    if (num(m[k]) !== v) console.warn(`shooter: map ${k} is ${m[k]}, sim.js assumes ${v}; prediction will be corrected at every snapshot`);
  }
  return m.walls.map((w) => [num(w[0]), num(w[1]), num(w[2]), num(w[3])]);
}

client.on("joined", (j) => {
  // A join or a resume starts from a full snapshot, and input numbering starts again.
  game.me = rp.me = j.player; // a new seat (autoRejoin) is a new player
  game.message = "";
  game.seated = true;
  game.inRoom = true;
  game.seen = false;
  rp.ready = false;
});

client.on("left", ({ message, rejoining }) => {
  // Left for good (the room ended, or the seat was gone when resuming): play on elsewhere.
  game.seated = false;
  game.inRoom = false;
  game.seen = false;
  rp.ready = false;
  if (rejoining) {
    game.message = "Your seat was released while you were away; joining a new arena…";
    return; // the SDK quick-plays by itself
  }
  game.message = `Left the room (${message}); joining again…`;
  setTimeout(play, 2000);
});

client.on("state", ({ state, reason, attempt }) => {
  if (state !== "open") {
    // Inputs are not sent meanwhile; the seat is held for the server's grace period.
    game.inRoom = false;
    rp.ready = false;
  }
  if (state === "reconnecting") game.link = reason === "silent" ? `Connection lost, reconnecting (${attempt})…` : `Reconnecting (${attempt})…`;
  if (state === "open") game.link = "";
  if (state === "closed") {
    game.message = "Disconnected.";
    showAgain("Play again", () => location.reload());
  }
});

// A stall: no snapshot for half a second. Inputs stop until the world moves again.
client.on("stall", ({ stalled }) => {
  game.link = stalled ? "Connection unstable…" : "";
});

/** Hides the button over the arena if it still says label. */
function hideAgain(label) {
  const b = document.getElementById("again");
  if (b !== null && b.textContent === label) b.hidden = true;
}

/** Shows a button over the arena, for what only a click fixes. */
function showAgain(label, onclick) {
  const b = document.getElementById("again");
  if (b === null) return;
  b.textContent = label;
  b.hidden = false;
  b.onclick = () => {
    b.hidden = true;
    onclick();
  };
}

// ---- snapshots: reconciliation -----------------------------------------------------------

client.on("snapshot", ({ tick, state }) => {
  const e = game.me === 0 ? undefined : state.get(game.me);
  if (e === undefined || e.kindName !== "player") return;
  const f = e.values;
  const sx = num(f.x) / sim.GRID;
  const sy = num(f.y) / sim.GRID;
  const wasAlive = game.seen && game.alive;
  game.server.x = sx;
  game.server.y = sy;
  game.alive = f.alive === true;
  game.health = num(f.health);
  game.color = str(f.color) || game.color;
  if (game.alive) {
    game.respawnAt = 0;
    reconcile(tick, sx, sy, wasAlive);
  } else {
    // Dead: no inputs go out, nothing to predict; hold the server's position.
    if (game.respawnAt === 0) game.respawnAt = performance.now() + sim.RESPAWN_STEPS * STEP_MS;
    game.pred.x = sx;
    game.pred.y = sy;
    game.offset.x = game.offset.y = 0;
  }
  game.seen = true;
  if (game.walls !== null) rp.ready = true;
});

const replayed = { x: 0, y: 0 };
const applyInput = (pos, input) => sim.stepInto(pos, input[0], game.walls);

/** Re-applies the pending inputs on the server's position of you at `tick`. */
function reconcile(tick, sx, sy, wasAlive) {
  // The server's input acknowledgement comes right before its snapshot, in the same write,
  // and only when it changed: a snapshot without one holds the inputs up to the seq
  // acknowledged last, whose pending successors the SDK replays. An acknowledgement newer
  // than the snapshot would mean the two came apart: keep the prediction then.
  if (wasAlive && client.inputs.lastAck.tick > tick) return;
  replayed.x = sx;
  replayed.y = sy;
  client.reconcile(replayed, applyInput);
  stats.reconciliations++;
  const ex = game.pred.x - replayed.x;
  const ey = game.pred.y - replayed.y;
  if (!wasAlive) {
    game.offset.x = game.offset.y = 0; // (re)spawned: appear there at once
  } else if (ex !== 0 || ey !== 0) {
    stats.mispredictions++;
    game.offset.x += ex;
    game.offset.y += ey;
    if (Math.hypot(game.offset.x, game.offset.y) > SNAP_DISTANCE) game.offset.x = game.offset.y = 0;
  }
  game.pred.x = replayed.x;
  game.pred.y = replayed.y;
}

// ---- events: effects ------------------------------------------------------------------

client.on("event", ({ name: ev, payload: p }) => {
  if (!Array.isArray(p)) return;
  const now = performance.now();
  // Payloads are arrays: shot [by, x1, y1, x2, y2, hit], boom [x, y, by, hit],
  // kill [killer, victim, weapon, killer_name, victim_name].
  switch (ev) {
    case "shot": {
      const [by, x1, y1, x2, y2, hit] = p;
      renderer.addTracer(num(x1), num(y1), num(x2), num(y2), colorOf(num(by)), num(hit) !== 0, now);
      break;
    }
    case "boom":
      renderer.addBoom(num(p[0]), num(p[1]), now);
      break;
    case "kill": {
      const [killer, victim, weapon, killerName, victimName] = [num(p[0]), num(p[1]), str(p[2]), str(p[3]), str(p[4])];
      const mine = killer === game.me || victim === game.me;
      renderer.addKill(killerName, colorOf(killer), victimName, colorOf(victim), weapon, mine, now);
      if (victim === game.me) {
        game.respawnAt = now + sim.RESPAWN_STEPS * STEP_MS;
        game.killer = killer === victim ? "yourself" : killerName;
      }
      break;
    }
  }
});

function colorOf(id) {
  const e = client.entities().get(id);
  return e !== undefined && e.kindName === "player" ? str(e.values.color) || "#cccccc" : "#cccccc";
}

// ---- the fixed-step input loop ------------------------------------------------------------

/** One 1/60 s step: sample the controls, send the input, predict its movement. */
function inputStep() {
  if (!rp.ready || !game.inRoom || !game.alive || !client.canSendInput) return;
  const keys = controls.keys();
  // Where this step puts you: the server applies the step, then fires from there.
  stepped.x = game.pred.x;
  stepped.y = game.pred.y;
  sim.stepInto(stepped, keys, game.walls);
  let fire = controls.fire();
  const auto = rp.autopilot === null ? null : rp.autopilot({ x: stepped.x, y: stepped.y }, rendered, game.walls);
  const stick = controls.touch.aimAngle();
  if (auto) {
    game.aim = aimAt(stepped, auto.x, auto.y, game.aim);
    fire = auto.fire;
  } else if (stick !== null) {
    game.aim = Math.round(stick * 1000); // a stick gives a direction, not a point
  } else {
    game.aim = aimFromPointer(stepped, game.aim);
  }
  const seq = client.sendInput([keys, game.aim, fire]);
  if (seq === 0) return; // not sent (the link stalled just now): nothing to predict
  game.pred.x = stepped.x;
  game.pred.y = stepped.y;
  stats.predictedSteps++;
  if (keys !== 0) stats.movedSteps++;
  // Held buttons fire whenever the cooldown allows, as on the server (for the HUD only).
  const cd = game.cooldown;
  if (cd.blaster > 0) cd.blaster--;
  if (cd.rocket > 0) cd.rocket--;
  if (fire & sim.FIRE_BLASTER && cd.blaster === 0) {
    cd.blaster = sim.BLASTER_COOLDOWN;
    if (auto) rp.fired.push({ seq, aim: game.aim, target: auto.target ?? 0, kind: auto.kind ?? "", at: performance.now(), from: { x: stepped.x, y: stepped.y }, to: { x: auto.x, y: auto.y }, view: client.drawnView, others: rendered.map((o) => [o.id, Math.round(o.x), Math.round(o.y), o.alive]) });
  }
  if (fire & sim.FIRE_ROCKET && cd.rocket === 0) cd.rocket = sim.ROCKET_COOLDOWN;
}

const stepped = { x: 0, y: 0 };

/** The aim angle (milliradians, y down) from `from` to the pointer on the page. */
function aimFromPointer(from, previous) {
  const p = controls.pointer;
  if (p === null) return previous;
  const w = renderer.toWorld(p.x, p.y);
  return aimAt(from, w.x, w.y, previous);
}

/** The aim angle (milliradians, y down) from `from` to (x, y). */
function aimAt(from, x, y, previous) {
  const dx = x - from.x;
  const dy = y - from.y;
  if (dx === 0 && dy === 0) return previous;
  return Math.round(Math.atan2(dy, dx) * 1000);
}

let acc = 0;
let lastPump = -1;

/** Runs the input steps due by `now` (driven by both animation frames and a timer). */
function pump(now) {
  if (lastPump >= 0) acc += now - lastPump;
  lastPump = now;
  if (acc > MAX_CATCH_UP * STEP_MS) acc = MAX_CATCH_UP * STEP_MS;
  while (acc >= STEP_MS) {
    acc -= STEP_MS;
    inputStep();
  }
}

// ---- frames ----------------------------------------------------------------------------

let lastFrame = 0; // the last scene update
let lastDraw = 0;
let lastAnimationFrame = 0;

/** Updates the scene (interpolation, smoothing, rp.others) and, if `draw`, draws it. */
function frame(now, draw) {
  const dt = lastFrame === 0 ? 0 : Math.max(0, now - lastFrame);
  lastFrame = now;
  const k = Math.exp(-dt / SMOOTH_MS);
  game.offset.x *= k;
  game.offset.y *= k;
  if (Math.abs(game.offset.x) < 0.01 && Math.abs(game.offset.y) < 0.01) game.offset.x = game.offset.y = 0;

  const players = [];
  const rockets = [];
  const others = [];
  const sample = client.interpolated(now, LERP_FIELDS);
  if (sample !== undefined) {
    const renderTick = (sample.renderTime * sim.TICK_RATE) / 1000;
    for (const [id, e] of sample.entities) {
      const f = e.values;
      if (e.kindName === "rocket") {
        rockets.push(rocketAt(f, sample.to.state.has(id) ? renderTick : Math.min(renderTick, sample.from.tick)));
      } else if (e.kindName === "player" && id !== game.me) {
        const p = playerOf(id, f, num(f.x) / sim.GRID, num(f.y) / sim.GRID, blendedAim(sample, id));
        players.push(p);
        others.push({ id, x: p.x, y: p.y, bot: p.bot, alive: p.alive });
      }
    }
  }
  const mine = client.entities().get(game.me);
  if (rp.ready && mine !== undefined) {
    const p = playerOf(game.me, mine.values, game.pred.x + game.offset.x, game.pred.y + game.offset.y, game.aim / 1000);
    p.alive = game.alive;
    p.me = true;
    players.push(p); // drawn last: on top
  }
  rendered = others;
  if (!draw) return;
  lastDraw = now;
  rp.frames++;
  rp.lastDraw = { at: now, x: game.pred.x + game.offset.x, y: game.pred.y + game.offset.y };
  renderer.draw({ now, walls: game.walls, players, rockets, scores: scores(), hud: hud(now), pointer: controls.pointer, touch: controls.touch });
}

/** @param {Partial<import("./types").PlayerValues>} f a player's values */
function playerOf(id, f, x, y, aim) {
  return {
    id,
    x,
    y,
    aim,
    health: num(f.health),
    alive: f.alive === true,
    name: str(f.name),
    color: str(f.color) || "#cccccc",
    bot: f.bot === true,
    me: false,
  };
}

/**
 * A rocket as drawn at (fractional) tick `tick`: it flies straight from where it was
 * launched, (vx, vy) units a second from the tick after its launch tick. A rocket that has
 * exploded by the next snapshot is held where it was at the last one that had it.
 */
function rocketAt(f, tick) {
  const vx = num(f.vx);
  const vy = num(f.vy);
  const dt = Math.max(0, tick - num(f.tick)) / sim.TICK_RATE;
  return { x: num(f.x) / sim.GRID + vx * dt, y: num(f.y) / sim.GRID + vy * dt, vx, vy, owner: num(f.owner) };
}

/** The aim of `id` blended between the two snapshots around the render time, the short way round. */
function blendedAim(sample, id) {
  const a = sample.from.state.get(id);
  const b = sample.to.state.get(id);
  const from = a === undefined ? 0 : num(a.values.aim) * AIM_UNIT;
  if (b === undefined || sample.t === 0) return from;
  let d = num(b.values.aim) * AIM_UNIT - from;
  if (d > Math.PI) d -= 2 * Math.PI;
  else if (d < -Math.PI) d += 2 * Math.PI;
  return from + d * sample.t;
}

/** The scoreboard rows: most frags first, then fewest deaths. */
function scores() {
  const rows = [];
  for (const [id, e] of client.entities()) {
    if (e.kindName !== "player") continue;
    const f = e.values;
    rows.push({
      name: str(f.name),
      color: str(f.color) || "#cccccc",
      frags: num(f.frags),
      deaths: num(f.deaths),
      bot: f.bot === true,
      me: id === game.me,
    });
  }
  rows.sort((a, b) => b.frags - a.frags || a.deaths - b.deaths || a.name.localeCompare(b.name));
  return rows;
}

function hud(now) {
  let banner = "";
  let subBanner = "";
  if (client.state === "connecting") banner = "Connecting…";
  else if (game.link !== "") banner = game.link;
  else if (game.message !== "") banner = game.message;
  else if (!rp.ready) banner = "Joining…";
  else if (!game.alive) {
    const left = Math.max(0, (game.respawnAt - now) / 1000);
    banner = `Respawning in ${left.toFixed(1)} s`;
    if (game.killer !== "") subBanner = `fragged by ${game.killer}`;
  }
  let players = 0;
  for (const e of client.entities().values()) if (e.kindName === "player") players++;
  const tick = client.serverTick(now);
  const mine = client.entities().get(game.me);
  return {
    name: (mine !== undefined && str(mine.values.name)) || name,
    color: game.color,
    alive: game.alive,
    health: game.health,
    blaster: 1 - game.cooldown.blaster / sim.BLASTER_COOLDOWN,
    rocket: 1 - game.cooldown.rocket / sim.ROCKET_COOLDOWN,
    rtt: client.rtt,
    tick: tick === undefined ? client.tick : Math.floor(tick),
    players,
    state: client.state,
    extensions: client.extensions,
    banner,
    subBanner,
  };
}

// Animation frames step and draw. Where they stop (background tabs, some headless
// browsers), the timer keeps the steps going and the scene current, and draws a few times a
// second: nobody may be looking, but rp.others() and the canvas still follow the game.
requestAnimationFrame(function loop() {
  // performance.now(), not the frame's timestamp: the steps' clock must not run backwards
  // between the timer and a frame (a frame's timestamp is when the frame began), and the
  // SDK times snapshot arrivals with it too.
  const now = performance.now();
  lastAnimationFrame = now;
  pump(now);
  frame(now, true);
  requestAnimationFrame(loop);
});
setInterval(() => {
  const now = performance.now();
  pump(now);
  if (now - lastAnimationFrame > 100) frame(now, now - lastDraw > 250);
}, STEP_MS);

function num(v) {
  return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : 0;
}

function str(v) {
  return typeof v === "string" ? v : "";
}

play();
