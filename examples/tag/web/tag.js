// The tag page: joins a "tag" room with the browser SDK (quick play, or a match with
// ?match=1), sends the direction the keys or a finger say, and draws the runners between
// snapshots. The server sends the game's schema with the join, so runners are read by
// field name (r.values.x) and the room state by client.roomState(); types.d.ts, generated
// from the Go declarations, gives them their types.

import { Code, RallypointError, connect } from "/client/rallypoint.js";

/** @typedef {import("./types").Entities} Entities */
/** @typedef {import("./types").RoomState} RoomState */
/** @typedef {import("./types").Input} Input */

const RADIUS = 14;

const params = new URLSearchParams(location.search);
const name = params.get("name") || `Runner${100 + Math.floor(Math.random() * 900)}`;
const client = connect(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/play`, {
  autoRejoin: true, // a seat lost in a long outage: quick play again
  storage: sessionStorage, // a reload takes the same seat back
});
const status = document.getElementById("status");
const canvas = document.getElementById("field");
const ctx = canvas.getContext("2d");

/** For tests and the console: the page's state. */
const rp = { client, ready: false, me: 0, matching: false, tags: [] };
window.rp = rp;

async function join() {
  try {
    const meta = { name };
    const seat = (await client.resumeSaved().catch(() => undefined)) ??
      (params.get("match") === "1" ? await findMatch(meta) : await client.quickPlay("tag", meta));
    rp.me = seat.player;
  } catch (e) {
    status.textContent = `could not join: ${e instanceof Error ? e.message : e}`;
    setTimeout(join, 3000);
  }
}

async function findMatch(meta) {
  status.textContent = "finding a match…";
  rp.matching = true;
  try {
    return await client.findMatch({ game: "tag", meta });
  } catch (e) {
    if (!(e instanceof RallypointError && e.code === Code.NotFound)) throw e;
    return await client.quickPlay("tag", meta); // no matchmaking on this server
  } finally {
    rp.matching = false;
  }
}

client.on("joined", (j) => {
  rp.me = j.player;
  status.textContent = `playing as ${name}`;
});
client.on("state", ({ state }) => {
  if (state !== "open") status.textContent = state;
});
client.on("snapshot", () => {
  rp.ready = client.entities().has(rp.me);
});
client.onEvent("tagged", (t) => {
  rp.tags.push(t);
  status.textContent = `${t.by} tagged ${t.it}`;
});

// ---- input: the keys held, or where a finger is ----------------------------------------

const held = new Set();
let finger = null; // {x, y} in field units while a finger is down
let sent = "";

function direction() {
  if (finger !== null) {
    const me = client.entities().get(rp.me);
    if (me === undefined || me.kindName !== "runner") return [0, 0];
    const dx = finger.x - me.values.x;
    const dy = finger.y - me.values.y;
    const dead = RADIUS / 2; // close enough: stand still rather than jitter
    return [Math.abs(dx) > dead ? Math.sign(dx) : 0, Math.abs(dy) > dead ? Math.sign(dy) : 0];
  }
  const on = (...keys) => keys.some((k) => held.has(k));
  return [(on("ArrowRight", "d") ? 1 : 0) - (on("ArrowLeft", "a") ? 1 : 0), (on("ArrowDown", "s") ? 1 : 0) - (on("ArrowUp", "w") ? 1 : 0)];
}

/** Sends the direction when it changes (and again every half second, in case one was lost). */
let sentAt = 0;
function sendDirection(now) {
  const [dx, dy] = direction();
  const key = `${dx},${dy}`;
  if (key === sent && now - sentAt < 500) return;
  if (client.sendInput(/** @type {Input} */ ({ dx, dy })) > 0) {
    sent = key;
    sentAt = now;
  }
}

addEventListener("keydown", (e) => {
  if (!e.key.startsWith("Arrow") && !"wasd".includes(e.key)) return;
  held.add(e.key);
  e.preventDefault();
});
addEventListener("keyup", (e) => held.delete(e.key));
addEventListener("blur", () => held.clear());

function toField(e) {
  const r = canvas.getBoundingClientRect();
  return { x: ((e.clientX - r.left) / r.width) * canvas.width, y: ((e.clientY - r.top) / r.height) * canvas.height };
}
canvas.addEventListener("pointerdown", (e) => { finger = toField(e); canvas.setPointerCapture(e.pointerId); });
canvas.addEventListener("pointermove", (e) => { if (finger !== null) finger = toField(e); });
for (const end of ["pointerup", "pointercancel"]) canvas.addEventListener(end, () => { finger = null; });

// ---- drawing -------------------------------------------------------------------------

function frame(now) {
  if (client.joined !== undefined) sendDirection(now);
  // Positions blended between the two snapshots around the render time.
  const s = client.interpolated(undefined, ["x", "y"]);
  const entities = s === undefined ? client.entities() : s.entities;
  const it = client.roomState()?.it ?? 0;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const board = [];
  for (const [id, e] of entities) {
    if (e.kindName !== "runner") continue; // the room state is an entity too
    const r = /** @type {import("./types").RunnerValues} */ (e.values);
    ctx.beginPath();
    ctx.arc(r.x, r.y, RADIUS, 0, 2 * Math.PI);
    ctx.fillStyle = id === it ? "#ff5d5d" : id === rp.me ? "#7aa2ff" : "#c9d1d9";
    ctx.fill();
    ctx.fillStyle = "#e6edf3";
    ctx.fillText(r.name, r.x - RADIUS, r.y - RADIUS - 4);
    board.push([r.name, r.seconds]);
  }
  board.sort((a, b) => a[1] - b[1]);
  showScores(board);
  requestAnimationFrame(frame);
}

/** Redraws the list of seconds as it, when it changed. */
let shown = "";
function showScores(board) {
  const text = JSON.stringify(board);
  if (text === shown) return;
  shown = text;
  document.getElementById("scores").replaceChildren(...board.map(([who, seconds]) => {
    const li = document.createElement("li");
    li.textContent = `${who}: ${seconds} s as it`;
    return li;
  }));
}
ctx.font = "13px system-ui, sans-serif";
requestAnimationFrame(frame);
join();
