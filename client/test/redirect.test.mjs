// A cluster of nodes (PROTOCOL.md, "A cluster of nodes"): a join answered with a redirect is
// followed to the node it names, a match on another node is joined there, a move (a node
// draining) takes the seat waiting elsewhere, a dead node's players come back through the
// entry URL, and redirects are bounded. Fake sockets, each remembering the URL it dialed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, Kind, Code } from "../dist/rallypoint.js";
import { fakeSocket } from "./fake.mjs";

const ENTRY = "ws://a/play";
const B = "ws://b/play";
const C = "ws://c/play";

function setup(t, options = {}) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  const log = [];
  const { FakeWebSocket, sockets } = fakeSocket(log);
  const client = connect(ENTRY, { WebSocket: FakeWebSocket, random: () => 0, pingInterval: 0, ...options });
  t.after(() => client.close());
  const events = [];
  for (const name of ["redirect", "moved", "left", "joined", "error"]) client.on(name, (e) => events.push([name, e]));
  sockets[0].open();
  /** The join messages sent, newest last. */
  const joins = () => log.filter((e) => e.sent?.[0] === Kind.Join).map((e) => e.sent);
  return { client, sockets, log, events, joins, last: () => sockets.at(-1) };
}

const flush = () => new Promise((r) => setImmediate(r));
const joined = (req, room, player, token) => [Kind.Joined, req, room, player, token, 0, 60, 30, ""];

test("a join redirected is followed to the room's node with the reservation and meta", async (t) => {
  const env = setup(t);
  const p = env.client.quickPlay("shooter", { name: "ann" });
  const [j1] = env.joins();
  assert.deepEqual(j1[2], { game: "shooter", meta: { name: "ann" } });
  env.sockets[0].deliver([Kind.Redirect, j1[1], B, "resv", 15000, "R"]);
  assert.equal(env.sockets.length, 2, "a connection to the room's node");
  assert.equal(env.last().url, B);
  assert.equal(env.sockets[0].closedWith?.code, 1000, "the entry connection is let go");
  env.last().open();
  const j2 = env.joins().at(-1);
  assert.equal(j2[1], j1[1], "the same request goes on");
  assert.deepEqual(j2[2], { reservation: "resv", meta: { name: "ann" } });
  env.last().deliver(joined(j2[1], "R", 3, "b.T"));
  const j = await p;
  assert.equal(j.room, "R");
  assert.equal(j.player, 3);
  assert.equal(env.client.nodeUrl, B);
  assert.equal(env.client.entryUrl, ENTRY);
  assert.deepEqual(env.events.find(([n]) => n === "redirect")[1], { url: B, room: "R", hops: 1, resume: false });

  // A drop on B resumes on B, not through the entry.
  env.last().drop(1006);
  t.mock.timers.tick(300);
  assert.equal(env.last().url, B);
  env.last().open();
  assert.deepEqual(env.joins().at(-1)[2], { token: "b.T" });
});

test("a resume by token is redirected with the same token", async (t) => {
  const env = setup(t);
  const p = env.client.join({ token: "b.T" });
  const [j1] = env.joins();
  env.sockets[0].deliver([Kind.Redirect, j1[1], B, "", 15000, "R"]);
  env.last().open();
  assert.deepEqual(env.joins().at(-1)[2], { token: "b.T" });
  env.last().deliver(joined(j1[1], "R", 3, "b.T2"));
  assert.equal((await p).player, 3);
});

test("redirects are bounded: the join is rejected after maxRedirects hops", async (t) => {
  const env = setup(t);
  const p = env.client.quickPlay("g").catch((e) => e);
  for (let hop = 0; hop <= 3; hop++) {
    const j = env.joins().at(-1);
    env.last().deliver([Kind.Redirect, j[1], hop % 2 === 0 ? B : C, "r", 15000, "R"]);
    if (hop < 3) env.last().open();
  }
  const e = await p;
  assert.equal(e.code, Code.Disconnected);
  assert.match(e.message, /too many redirects \(3\)/);
  assert.equal(env.joins().length, 4, "the entry and three redirects, no fourth");
});

test("findMatch joins a match on another node there", async (t) => {
  const env = setup(t);
  const p = env.client.findMatch({ game: "duel", meta: { name: "bo" } });
  const m = env.log.find((e) => e.sent?.[0] === Kind.Match).sent;
  env.sockets[0].deliver([Kind.Response, m[1], Code.OK, "t1"]);
  await flush();
  env.sockets[0].deliver([Kind.Matched, "t1", "R", "resv", 15000, C]);
  assert.equal(env.last().url, C);
  env.last().open();
  const j = env.joins().at(-1);
  assert.deepEqual(j[2], { reservation: "resv", meta: { name: "bo" } });
  env.last().deliver(joined(j[1], "R", 2, "c.T"));
  assert.equal((await p).room, "R");
  assert.equal(env.client.nodeUrl, C);
});

test("moved: the seat waiting on another node is taken, the old room left quietly", async (t) => {
  const env = setup(t);
  const p = env.client.quickPlay("g", { name: "cy" });
  env.sockets[0].deliver(joined(env.joins()[0][1], "R1", 1, "a.T"));
  await p;
  env.sockets[0].deliver([Kind.Moved, B, "resv", 20000, "R2"]);
  assert.ok(env.log.some((e) => e.sent?.[0] === Kind.Leave), "the old room is left");
  assert.equal(env.last().url, B);
  env.last().open();
  const j = env.joins().at(-1);
  assert.deepEqual(j[2], { reservation: "resv", meta: { name: "cy" } });
  env.last().deliver(joined(j[1], "R2", 5, "b.T"));
  assert.deepEqual(env.events.find(([n]) => n === "moved")[1], { url: B, reservation: "resv", ttlMs: 20000, room: "R2" });
  assert.equal(env.client.joined.room, "R2");
  assert.equal(env.events.filter(([n]) => n === "left").length, 0, "a move is not a departure");
});

test("a dead node: after two failed attempts the seat is resumed through the entry, then joined afresh", async (t) => {
  const env = setup(t, { autoRejoin: true });
  const p = env.client.quickPlay("g");
  env.sockets[0].deliver([Kind.Redirect, env.joins()[0][1], B, "resv", 15000, "R"]);
  env.last().open();
  env.last().deliver(joined(env.joins().at(-1)[1], "R", 3, "b.T"));
  await p;
  env.last().drop(1006); // B dies
  for (let i = 0; i < 2; i++) {
    t.mock.timers.tick(2000);
    assert.equal(env.last().url, B, `attempt ${i + 1} goes to the room's node`);
    env.last().drop(1006); // refused: never opened
  }
  t.mock.timers.tick(2000);
  assert.equal(env.last().url, ENTRY, "the third attempt goes through the entry");
  env.last().open();
  const resume = env.joins().at(-1);
  assert.deepEqual(resume[2], { token: "b.T" });
  env.last().deliver([Kind.Response, resume[1], Code.NotFound, "the node that held your seat is gone"]);
  await flush();
  const left = env.events.find(([n]) => n === "left")[1];
  assert.equal(left.rejoining, true);
  const again = env.joins().at(-1);
  assert.deepEqual(again[2], { game: "g" }, "quick play again, through the entry");
  env.last().deliver(joined(again[1], "R9", 1, "a.T"));
  await flush();
  assert.equal(env.client.joined.room, "R9");
  assert.equal(env.client.nodeUrl, ENTRY);
});
