// findMatch: queue, wait for the match, take the reserved seat, in one call.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, Kind, Code } from "../dist/rallypoint.js";
import { fakeSocket } from "./fake.mjs";

function setup(t) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  const log = [];
  const { FakeWebSocket, sockets } = fakeSocket(log);
  const client = connect("ws://fake/play", { WebSocket: FakeWebSocket, random: () => 0 });
  sockets[0].open();
  const sent = (kind) => log.filter((e) => e.sent?.[0] === kind).map((e) => e.sent);
  return { client, ws: sockets[0], sent };
}

const flush = () => new Promise((r) => setImmediate(r));

test("findMatch queues, waits for the match and joins with its reservation", async (t) => {
  const { client, ws, sent } = setup(t);
  const joined = client.findMatch({ game: "duel", numbers: { rating: 1500 } });
  const [match] = sent(Kind.Match);
  assert.deepEqual(match[2], { game: "duel", numbers: { rating: 1500 } });
  ws.deliver([Kind.Response, match[1], Code.OK, "t1"]);
  await flush();
  ws.deliver([Kind.Matched, "someone else's", "R0", "x", 15000]);
  await flush();
  assert.equal(sent(Kind.Join).length, 0, "a match for another ticket is not ours");
  ws.deliver([Kind.Matched, "t1", "R", "abc", 15000]);
  await flush();
  const [join] = sent(Kind.Join);
  assert.deepEqual(join[2], { reservation: "abc" });
  ws.deliver([Kind.Joined, join[1], "R", 7, "T", 0, 60, 30, ""]);
  const j = await joined;
  assert.equal(j.room, "R");
  assert.equal(j.player, 7);
});

test("findMatch rejects when the queue refuses, and withdraws the ticket when aborted", async (t) => {
  const { client, ws, sent } = setup(t);
  const refused = client.findMatch({ game: "nope" }).catch((e) => e);
  const [m1] = sent(Kind.Match);
  ws.deliver([Kind.Response, m1[1], Code.Refused, "no queue for nope"]);
  const e = await refused;
  assert.equal(e.code, Code.Refused);
  assert.match(e.message, /no queue/);

  const ac = new AbortController();
  const aborted = client.findMatch({ game: "duel" }, ac.signal).catch((e) => e);
  const m2 = sent(Kind.Match)[1];
  ws.deliver([Kind.Response, m2[1], Code.OK, "t2"]);
  await flush();
  ac.abort();
  const e2 = await aborted;
  assert.match(e2.message, /aborted/);
  const [cancel] = sent(Kind.Cancel);
  assert.equal(cancel[2], "t2");
  ws.deliver([Kind.Matched, "t2", "R", "abc", 15000]);
  await flush();
  assert.equal(sent(Kind.Join).length, 0, "a match after the abort is not joined");
});

test("findMatch joins the reserved seat with its meta, which the queue never sees", async (t) => {
  const { client, ws, sent } = setup(t);
  const joined = client.findMatch({ game: "duel", meta: { name: "Ada" } });
  const [match] = sent(Kind.Match);
  assert.deepEqual(match[2], { game: "duel" });
  ws.deliver([Kind.Response, match[1], Code.OK, "t1"]);
  await flush();
  ws.deliver([Kind.Matched, "t1", "R", "abc", 15000]);
  await flush();
  const [join] = sent(Kind.Join);
  assert.deepEqual(join[2], { reservation: "abc", meta: { name: "Ada" } });
  ws.deliver([Kind.Joined, join[1], "R", 7, "T", 0, 60, 30, ""]);
  assert.equal((await joined).player, 7);
});

test("findMatch rejects when its ticket ends unmatched, [22, 5, message, ticket]", async (t) => {
  const { client, ws, sent } = setup(t);
  const failed = [];
  client.on("matchFailed", (f) => failed.push(f));
  const p = client.findMatch({ game: "duel" }).catch((e) => e);
  const [m] = sent(Kind.Match);
  ws.deliver([Kind.Response, m[1], Code.OK, "t1"]);
  await flush();
  ws.deliver([Kind.Error, Code.NotFound, "matchmaking: ticket t0 ended unmatched", "t0"]);
  await flush();
  ws.deliver([Kind.Error, Code.NotFound, "matchmaking: ticket t1 ended unmatched (full); queue again", "t1"]);
  const e = await p;
  assert.equal(e.code, Code.NotFound);
  assert.match(e.message, /t1 ended unmatched/);
  assert.deepEqual(failed.map((f) => f.ticket), ["t0", "t1"]);
  ws.deliver([Kind.Matched, "t1", "R", "abc", 15000]);
  await flush();
  assert.equal(sent(Kind.Join).length, 0, "a match after the failure is not joined");
});
