// The crossword page: connects to /play with the browser SDK, quick-plays "crossword" and
// draws the replicated state. Inputs and events are those of ../README.md. The server is
// the authority: a typed letter shows grey (pending) until a snapshot places it, or a
// "wrong" event refuses it.
//
// URL parameters: ?name=Ada (else a random name), ?room=ID (join that room, not quick play),
// ?match=1 (queue for a match: a fresh puzzle with the others who asked).

import { Code, RallypointError, connect } from "/client/rallypoint.js";
import {
  ACROSS, DOWN, CURSOR_BASE,
  Puzzle, color, dirName, readBoard, readCell, readCursor,
} from "./puzzle.js";
import { Typing } from "./typing.js";
import { View } from "./view.js";

const params = new URLSearchParams(location.search);
const name = (params.get("name") ?? "").trim().slice(0, 20) || randomName();
let matching = params.get("match") === "1";
const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/play`;

// Codes of the "left" message (PROTOCOL.md): flooded the room; the server is stopping.
const CODE_FLOODED = 8;
const CODE_SHUTTING_DOWN = 13;

// A letter sent that the server has neither placed nor refused after this long was dropped
// (typed between two puzzles): stop showing it. Letters typed while the link is down are
// not sent yet and wait, shown pending, however long the outage; they go once the seat is
// back, and a letter whose fate the drop hid is sent again (a placed letter is ignored).
const PENDING_MS = 4000;

/** Everything the page shows; View.paint draws it. */
const model = {
  puzzle: undefined, // Puzzle, from the board entity
  letters: [], // per square: the placed letter or ""
  by: [], // per square: who placed it
  pending: new Map(), // square → {row, col, letter, sentAt}: typed here, not yet confirmed (sentAt 0: not sent)
  cursor: { row: 0, col: 0, dir: ACROSS }, // yours, moved locally; the server follows
  peers: new Map(), // player id → {row, col, dir, color, name}: the others' cursors
  board: { puzzle: "", scoreboard: [], next: 0, players: 0 },
  me: { id: 0, name, color: "", score: 0, rank: 0 },
  solved: undefined, // {title, scoreboard, until} between puzzles
  painted: false,
};

// The square clicked last, if nothing else moved the cursor since: a second click there
// turns the cursor.
let clicked;

const view = new View();
// A phone's keyboard (through a hidden input) and the letter pad type as the keys do.
const typing = new Typing(document.getElementById("keys"), document.getElementById("pad"), document.getElementById("pad-toggle"), {
  letter: (ch) => act(() => typeLetter(ch)),
  backspace: () => act(backspace),
  turn: () => act(turn),
  next: (back) => act(() => nextClue(back)),
});
// sessionStorage keeps the seat across a reload of this tab (not in other tabs, which would
// fight over it): a reload within the grace period comes back as the same player.
// ackDelay: acknowledge the snapshots (ten a second) about four times a second rather than
// each one. Every acknowledgement is a message the server reads; a puzzle's deltas against a
// baseline a few hundred ms older are as small, and letters do not wait for acknowledgements.
const client = connect(url, { storage: sessionStorage, ackDelay: 250 });
const sender = inputSender(client);
// After a (re)join, the letters still pending are sent again once a snapshot shows the puzzle.
let resendAfterSnapshot = false;

let markReady;
const ready = new Promise((resolve) => (markReady = resolve));
let isReady = false;

// The hook end-to-end tests drive the page with (cmd/gameserver's e2e tests).
window.rp = {
  client,
  /** Resolves (to true) once joined and the first snapshot is drawn. */
  ready,
  /** The negotiated WebSocket extensions, e.g. "permessage-deflate; ...". */
  extensions: () => client.extensions,
  /** Your player id (0 before the join). */
  get me() {
    return model.me.id;
  },
  /** The placed letter shown at (row, col), uppercase, or "" (a pending letter is not placed). */
  letterAt(row, col) {
    const pz = model.puzzle;
    if (pz === undefined || pz.black(row, col)) return "";
    return (model.letters[pz.index(row, col)] ?? "").toUpperCase();
  },
  /** The number of players in the room, as shown. */
  players: () => model.board.players,
  /** Letters typed and not yet confirmed: [{row, col, letter, sent}]. */
  pending: () => [...model.pending.values()].map((p) => ({ row: p.row, col: p.col, letter: p.letter, sent: p.sentAt !== 0 })),
  /** Letters typed while offline that were refused for good (the puzzle changed meanwhile). */
  refused: 0,
  /** True while queued for a match (?match=1), until matched or "Play now instead". */
  matching: false,
  /** How many letters and Backspaces came through the hidden input, that is from a phone's keyboard (or an IME). */
  typed: () => typing.count,
};

// ---- the connection ---------------------------------------------------------------------

// After the server said we are out of the room for a reason a new join fixes (it is
// restarting, the room ended, the seat could not be resumed), the page joins again by
// itself, at most once in 10 s; otherwise (flooding, or a second time) it shows a button.
let rejoinOnOpen = false;
let autoJoinedAt = -Infinity;

client.on("state", ({ state, attempt, reason }) => {
  const lost = reason === "silent" ? "connection lost, " : "";
  const text = { connecting: "connecting", open: "connected", reconnecting: `${lost}reconnecting${attempt ? ` (${attempt})` : ""}`, closed: "disconnected" }[state];
  view.setConnection(state, text);
  if (state === "open") view.setExtensions(client.extensions);
  if (state === "closed") view.setRejoin(() => location.reload());
  if (state === "open" && rejoinOnOpen) {
    rejoinOnOpen = false;
    join();
  }
});

client.on("pong", () => view.setRtt(client.rtt));

// No snapshot for half a second: the link stalls. Letters wait until it moves again.
client.on("stall", ({ stalled }) => {
  if (stalled) view.setConnection("reconnecting", "connection unstable");
  else {
    view.setConnection("open", "connected");
    sender.flush();
  }
});

client.on("joined", (j) => {
  model.me.id = j.player;
  sender.setTickRate(j.tickRate);
  view.setRejoin(undefined);
  resendAfterSnapshot = true; // once the first snapshot says the puzzle is the same one
  if (j.resumed) {
    view.setConnection("open", "connected");
    moveCursor(model.cursor.row, model.cursor.col, model.cursor.dir); // show it again
  }
  refreshMe(true);
});

client.on("left", ({ code, message, resume }) => {
  view.setConnection("left", "not in a room");
  // resume: the link was down longer than the server holds a seat.
  view.toast([resume ? "You were away too long and your seat was released: joining again" : `Left the room: ${message || "the seat was released"}`], "bad", 6000);
  const now = performance.now();
  if (code === CODE_FLOODED || now - autoJoinedAt < 10000) {
    view.setRejoin(() => join());
    return;
  }
  autoJoinedAt = now;
  if (code === CODE_SHUTTING_DOWN) rejoinOnOpen = true; // the connection closes next: join on the next one
  else join();
});

client.on("error", (e) => console.warn("rallypoint:", e.message));

client.on("snapshot", ({ state }) => {
  const b = client.room; // the board is the room state
  if (b === undefined) return;
  if (model.puzzle === undefined || b.values.puzzle !== model.puzzle.id) newPuzzle(new Puzzle(b.values));
  const pz = model.puzzle;
  const board = readBoard(b.values);
  model.board = board;

  const now = performance.now();
  for (let sq = 0; sq < pz.mask.length; sq++) {
    const e = state.get(sq + 1);
    if (e === undefined || e.kindName !== "cell") continue;
    const c = readCell(e.values);
    model.letters[sq] = c.letter;
    model.by[sq] = c.by;
  }
  for (const [sq, p] of model.pending) {
    // Right after a (re)join, a letter sent before the drop is not given up for its age: the
    // drop may have eaten it (sent into a link that was already dead, before the page could
    // tell), so it goes again below.
    const expired = !resendAfterSnapshot && p.sentAt !== 0 && now - p.sentAt > PENDING_MS;
    if (model.letters[sq] || expired) model.pending.delete(sq);
  }
  if (resendAfterSnapshot) {
    // Seated again (resumed, or a new seat in the same puzzle): the letters typed meanwhile,
    // and any whose answer the drop may have eaten, go (again).
    resendAfterSnapshot = false;
    for (const p of model.pending.values()) {
      p.sentAt = 0;
      sender.send({ kind: "letter", row: p.row, col: p.col, letter: p.letter, dir: dirName(model.cursor.dir) });
    }
  }

  model.peers.clear();
  const mine = CURSOR_BASE + model.me.id;
  for (const [id, e] of state) {
    if (e.kindName !== "cursor" || id === mine) continue;
    const c = readCursor(e.values);
    if (pz.black(c.row, c.col)) continue;
    model.peers.set(id - CURSOR_BASE, c);
  }

  if (board.next !== 0 && model.solved === undefined) {
    // Joined between two puzzles: the board says when the next one starts.
    const t = client.serverTick();
    const tickMs = 1000 / (client.joined?.tickRate || 10);
    showSolved({ title: pz.title, scoreboard: board.scoreboard, until: t === undefined ? 0 : now + (board.next - t) * tickMs });
  }
  const rank = board.scoreboard.findIndex((e) => e.id === model.me.id);
  if (rank >= 0) model.me.rank = rank + 1;

  view.paint(model);
  if (!isReady && model.me.id !== 0) {
    isReady = true;
    markReady(true);
  }
});

client.on("event", ({ name, payload: p }) => {
  const pz = model.puzzle;
  switch (name) {
    case "wrong": {
      if (pz === undefined || pz.black(p.row, p.col)) break;
      const sq = pz.index(p.row, p.col);
      if (model.pending.get(sq)?.letter === p.letter) model.pending.delete(sq);
      if (p.score !== model.me.score) refreshMe(false);
      setScore(p.score);
      view.flashWrong(sq);
      view.paint(model);
      break;
    }
    case "score":
      setScore(p.score);
      refreshMe(false);
      view.paint(model);
      break;
    case "word": {
      const mine = p.by === model.me.id;
      const dir = p.dir === "down" ? DOWN : ACROSS;
      const clue = pz?.clues.find((c) => c.dir === dir && c.number === p.number);
      if (clue) view.flashWord(clue.cells, color(p.by));
      view.toast(
        [{ text: mine ? "You" : p.name, cls: "who", color: color(p.by) }, ` finished ${p.number} ${dir === DOWN ? "Down" : "Across"} `, { text: p.answer, cls: "ans" }, { text: `+${p.points}`, cls: "pts" }],
        mine ? "mine" : "",
      );
      break;
    }
    case "solved": {
      const scoreboard = (p.scoreboard ?? []).map((e) => ({ id: Number(e[0]), name: String(e[1]), score: Number(e[2]) }));
      showSolved({ title: p.title, scoreboard, until: performance.now() + Number(p.next_in_ms) });
      const first = scoreboard[0];
      view.toast([`Solved “${p.title}”!`, ...(first ? [` Top: ${first.name}, ${first.score} points`] : [])], "win", 5000);
      break;
    }
  }
});

function newPuzzle(pz) {
  if (model.pending.size > 0 && model.puzzle !== undefined) {
    // Typed for the puzzle that is gone (while offline, or just as it was solved): say so.
    const n = model.pending.size;
    window.rp.refused += n;
    view.toast([`${n} letter${n === 1 ? "" : "s"} you typed could not be placed: the puzzle changed`], "bad", 6000);
  }
  model.puzzle = pz;
  model.letters = new Array(pz.mask.length).fill("");
  model.by = new Array(pz.mask.length).fill(0);
  model.pending.clear();
  model.peers.clear();
  const start = pz.first();
  model.cursor = { row: start.row, col: start.col, dir: pz.wordAt(start.row, start.col, ACROSS) ? ACROSS : DOWN };
  model.solved = undefined;
  clicked = undefined;
  model.me.score = 0; // scores start again with each puzzle
  model.me.rank = 0;
  view.build(pz, clickCell, clickClue);
  if (model.me.id !== 0) moveCursor(model.cursor.row, model.cursor.col, model.cursor.dir);
}

function showSolved(info) {
  model.solved = info;
  view.showSolved(info, model.me.id);
}

function setScore(score) {
  view.flashScore(score - model.me.score);
  model.me.score = score;
}

// Your rank comes from the scoreboard while you are on it. Below it, from "me", which costs
// the server a pass over the room's players: so it is asked when your score changed and
// every 10 s while you have points (others' scores move your rank), at most once a second.
// Without points you have no rank to show.
let meTimer = 0;
let meAt = -Infinity;
function refreshMe(now) {
  if (meTimer) return;
  const wait = now ? 0 : Math.max(0, 1000 - (performance.now() - meAt));
  meTimer = setTimeout(() => {
    meAt = performance.now();
    client.request("me").then(
      (m) => {
        meTimer = 0;
        Object.assign(model.me, { id: Number(m.id), name: String(m.name), color: String(m.color), score: Number(m.score), rank: Number(m.rank) });
        view.paint(model);
      },
      () => (meTimer = 0),
    );
  }, wait);
}

setInterval(() => {
  if (client.joined !== undefined && model.me.score > 0 && !model.board.scoreboard.some((e) => e.id === model.me.id)) refreshMe(false);
}, 10000);

async function join() {
  const meta = { name };
  const room = params.get("room");
  try {
    if ((await client.resumeSaved(room)) !== undefined) return; // the page was reloaded: the same seat
  } catch {
    // the seat is gone (its grace ran out): a new one below
  }
  (room ? client.join({ room, meta }) : matching ? findMatch(meta) : client.quickPlay("crossword", meta)).catch((e) => {
    view.setConnection("left", "could not join");
    view.toast([`Could not join: ${e.message}`], "bad", 8000);
    view.setRejoin(() => join());
  });
}

/**
 * Queues for a match (?match=1, the start page's "Find a match"): 2 to 16 players who asked
 * get a fresh puzzle of their own. "Play now instead" withdraws the ticket and quick-plays the
 * big puzzle; so does a server without matchmaking. Later joins quick-play.
 */
async function findMatch(meta) {
  const abort = new AbortController();
  view.setConnection("matching", "finding a match");
  const note = view.toast(["Finding a match… waiting for another player to ask."], "", 600000);
  view.setRejoin(() => abort.abort(), "Play now instead");
  window.rp.matching = true;
  try {
    return await client.findMatch({ game: "crossword", meta }, abort.signal);
  } catch (e) {
    if (!abort.signal.aborted && !(e instanceof RallypointError && e.code === Code.NotFound)) throw e;
    if (!abort.signal.aborted) console.warn("crossword: this server has no matchmaking; quick play instead");
    return await client.quickPlay("crossword", meta);
  } finally {
    matching = false;
    window.rp.matching = false;
    view.setRejoin(undefined);
    note.remove();
  }
}

// ---- inputs -----------------------------------------------------------------------------

/**
 * Sends inputs at most `perTick` per server tick, so that a burst (fast typing, a test
 * typing faster, a held arrow key) never piles up in one tick (the server takes one
 * second's worth a tick and drops the rest). Cursor moves are latest-wins: a move still
 * waiting is replaced by the next move, and a letter (which moves the cursor too) replaces
 * it. While the SDK cannot send (the link is stalled or down) everything waits here; the
 * page calls flush when it can again.
 */
function inputSender(client, perTick = 5) {
  let tickMs = 100;
  let windowAt = -Infinity;
  let sent = 0;
  let timer = 0;
  const queue = [];
  function flush() {
    const now = performance.now();
    if (now - windowAt >= tickMs) {
      windowAt = now;
      sent = 0;
    }
    while (queue.length > 0 && sent < perTick) {
      const input = queue[0];
      if (client.sendInput(input) === 0) return; // not now: the next "stall" or "joined" flushes
      queue.shift();
      sent++;
      if (input.kind === "letter") {
        const p = model.pending.get(model.puzzle?.index(input.row, input.col));
        if (p !== undefined && p.letter === input.letter) p.sentAt = performance.now();
      }
    }
    if (queue.length > 0 && !timer) {
      timer = setTimeout(() => {
        timer = 0;
        flush();
      }, tickMs - (now - windowAt));
    }
  }
  return {
    setTickRate(hz) {
      if (hz > 0) tickMs = 1000 / hz;
    },
    send(input) {
      const same = (q) => q.kind === "letter" && q.row === input.row && q.col === input.col && q.letter === input.letter;
      if (input.kind === "letter" && queue.some(same)) return flush(); // already waiting
      const last = queue[queue.length - 1];
      if (last !== undefined && last.kind !== "letter") queue.pop();
      queue.push(input);
      flush();
    },
    flush,
  };
}

function moveCursor(row, col, dir, kind = "cursor") {
  model.cursor = { row, col, dir };
  sender.send({ kind, row, col, dir: dirName(dir) });
}

function playing() {
  return model.puzzle !== undefined && model.board.next === 0 && client.joined !== undefined;
}

function typeLetter(ch) {
  const pz = model.puzzle;
  const { row, col, dir } = model.cursor;
  const sq = pz.index(row, col);
  const letter = ch.toUpperCase();
  if (!model.letters[sq] && playing()) {
    model.pending.set(sq, { row, col, letter, sentAt: 0 });
    sender.send({ kind: "letter", row, col, letter, dir: dirName(dir) });
  }
  const next = pz.advance(row, col, dir, (s) => model.letters[s] !== "" || model.pending.has(s));
  if (next.row !== row || next.col !== col) moveCursor(next.row, next.col, dir);
}

function backspace() {
  const pz = model.puzzle;
  const { row, col, dir } = model.cursor;
  const sq = pz.index(row, col);
  if (model.pending.delete(sq)) return; // placed letters are right and stay: only yours go
  const prev = pz.back(row, col, dir);
  model.pending.delete(pz.index(prev.row, prev.col));
  moveCursor(prev.row, prev.col, dir, "clear");
}

function arrow(dr, dc) {
  const { row, col } = model.cursor;
  const dir = dr !== 0 ? DOWN : ACROSS;
  const next = model.puzzle.step(row, col, dr, dc) ?? { row, col };
  moveCursor(next.row, next.col, dir);
}

function turn() {
  const { row, col, dir } = model.cursor;
  const other = dir === ACROSS ? DOWN : ACROSS;
  if (model.puzzle.wordAt(row, col, other)) moveCursor(row, col, other);
}

/** Enter: the first empty square of the next clue (Shift: the previous one). */
function nextClue(back) {
  const pz = model.puzzle;
  const { row, col, dir } = model.cursor;
  const here = pz.clues.indexOf(pz.wordAt(row, col, dir));
  const n = pz.clues.length;
  for (let k = 1; k <= n; k++) {
    const clue = pz.clues[(((here + (back ? -k : k)) % n) + n) % n];
    if (clue.cells.some((sq) => !model.letters[sq]) || k === n) return clickClue(clue);
  }
}

/** Runs what a typing key does, as the keydown handler would: with a puzzle only, then repaints. */
function act(fn) {
  if (model.puzzle === undefined) return;
  fn();
  clicked = undefined;
  view.paint(model);
}

function clickCell(row, col) {
  const pz = model.puzzle;
  const { dir } = model.cursor;
  if (clicked !== undefined && clicked.row === row && clicked.col === col && model.cursor.row === row && model.cursor.col === col) {
    turn();
  } else {
    const keep = pz.wordAt(row, col, dir) !== undefined;
    moveCursor(row, col, keep ? dir : dir === ACROSS ? DOWN : ACROSS);
  }
  clicked = { row, col };
  view.paint(model);
  // A finger chose where to type: bring up the phone's keyboard (this runs in the tap's
  // handler, as phones require).
  if (view.touched()) typing.focus();
}

function clickClue(clue) {
  const sq = clue.cells.find((s) => !model.letters[s] && !model.pending.has(s)) ?? clue.cells[0];
  const at = model.puzzle.at(sq);
  moveCursor(at.row, at.col, clue.dir);
  clicked = undefined;
  view.paint(model);
  if (view.touched()) typing.focus();
}

// The clue bar on a phone: the arrows go to the previous and next clue, a tap on the clue
// turns (as a second tap on the square does). Pressing them leaves the focus where it is,
// so the phone's keyboard stays up.
for (const [id, back] of [["clue-prev", true], ["clue-next", false]]) {
  const b = document.getElementById(id);
  b.addEventListener("mousedown", (e) => e.preventDefault());
  b.addEventListener("click", () => {
    if (model.puzzle !== undefined) nextClue(back);
  });
}
document.getElementById("cluebar").addEventListener("mousedown", (e) => {
  if (!view.touched() || model.puzzle === undefined || e.target instanceof HTMLButtonElement) return;
  e.preventDefault();
  act(turn);
  typing.focus();
});

window.addEventListener("keydown", (e) => {
  if (model.puzzle === undefined || e.ctrlKey || e.metaKey || e.altKey) return;
  const k = e.key;
  if (/^[a-z]$/i.test(k)) typeLetter(k);
  else if (k === "ArrowLeft") arrow(0, -1);
  else if (k === "ArrowRight") arrow(0, 1);
  else if (k === "ArrowUp") arrow(-1, 0);
  else if (k === "ArrowDown") arrow(1, 0);
  else if (k === " " || k === "Tab") turn();
  else if (k === "Backspace" || k === "Delete") backspace();
  else if (k === "Enter") nextClue(e.shiftKey);
  else return;
  e.preventDefault();
  clicked = undefined;
  view.paint(model);
});

// ---- names ------------------------------------------------------------------------------

function randomName() {
  const a = ["Swift", "Quiet", "Clever", "Bold", "Lucky", "Sunny", "Witty", "Brave", "Nimble", "Merry", "Keen", "Calm"];
  const b = ["Heron", "Otter", "Fox", "Lynx", "Owl", "Finch", "Badger", "Hare", "Wren", "Moth", "Newt", "Crane"];
  const pick = (l) => l[Math.floor(Math.random() * l.length)];
  return `${pick(a)} ${pick(b)}`;
}

view.setConnection("connecting", "connecting");
join();
