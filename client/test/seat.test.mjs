// Per-name event handlers and the seat kept across a page reload.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, Kind, Code } from "../dist/rallypoint.js";
import { fakeSocket } from "./fake.mjs";

class MemoryStorage {
  items = new Map();
  getItem(k) { return this.items.has(k) ? this.items.get(k) : null; }
  setItem(k, v) { this.items.set(k, String(v)); }
  removeItem(k) { this.items.delete(k); }
}

function page(t, storage) {
  const log = [];
  const { FakeWebSocket, sockets } = fakeSocket(log);
  const client = connect("ws://fake/play", { WebSocket: FakeWebSocket, random: () => 0, storage });
  sockets[0].open();
  const sent = (kind) => log.filter((e) => e.sent?.[0] === kind).map((e) => e.sent);
  return { client, ws: sockets[0], sent };
}

const flush = () => new Promise((r) => setImmediate(r));

test("onEvent hands a handler the payloads of its event name only, until unsubscribed", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  const { client, ws } = page(t);
  const solved = [];
  const off = client.onEvent("solved", (w) => solved.push(w));
  ws.deliver([Kind.Event, "solved", "CAT"]);
  ws.deliver([Kind.Event, "wrong", 3]);
  ws.deliver([Kind.Event, "solved", "DOG"]);
  off();
  ws.deliver([Kind.Event, "solved", "EMU"]);
  assert.deepEqual(solved, ["CAT", "DOG"]);
});

test("a seat saved in storage is taken back after a reload, and forgotten when it is gone", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  const storage = new MemoryStorage();
  const first = page(t, storage);
  assert.equal(await first.client.resumeSaved(), undefined, "nothing saved yet");
  const joining = first.client.quickPlay("crossword");
  const [join] = first.sent(Kind.Join);
  first.ws.deliver([Kind.Joined, join[1], "R", 7, "T1", 0, 10, 10, ""]);
  await joining;
  assert.deepEqual({ ...first.client.savedSeat(), savedAt: 0 }, { room: "R", token: "T1", savedAt: 0 });

  // The page reloads: a new client with the same storage resumes the seat with its token.
  const second = page(t, storage);
  const resumed = second.client.resumeSaved();
  const [rejoin] = second.sent(Kind.Join);
  assert.deepEqual(rejoin[2], { token: "T1" });
  second.ws.deliver([Kind.Joined, rejoin[1], "R", 7, "T2", 40, 10, 10, ""]);
  const j = await resumed;
  assert.equal(j.player, 7);
  assert.equal(second.client.savedSeat().token, "T2", "tokens rotate on every resume: the newest is kept");

  // Leaving forgets it.
  second.client.leave();
  assert.equal(second.client.savedSeat(), undefined);

  // A saved seat whose grace ran out: the resume is refused, and the seat forgotten.
  storage.setItem("rallypoint:ws://fake/play", JSON.stringify({ room: "R", token: "old", savedAt: 1 }));
  const third = page(t, storage);
  assert.equal(await third.client.resumeSaved("another room"), undefined, "a page opened for another room leaves the seat alone");
  assert.equal(third.sent(Kind.Join).length, 0);
  const refused = third.client.resumeSaved().catch((e) => e);
  const [r3] = third.sent(Kind.Join);
  third.ws.deliver([Kind.Response, r3[1], Code.Refused, "no such seat"]);
  const e = await refused;
  assert.equal(e.code, Code.Refused);
  assert.equal(third.client.savedSeat(), undefined);
  await flush();
});
