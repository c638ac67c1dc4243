// End to end: the SDK's Client against a fake server written with Node's ws package, speaking
// rallypoint.v2 or rallypoint.v1 (whichever it agrees to), answering with the byte examples
// of PROTOCOL.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket, WebSocketServer } from "ws";
import { connect, decodeMessage, encodeMessage, Kind, RallypointError } from "../dist/rallypoint.js";
import { example, hex, v2FullExample } from "./examples.mjs";

/** A fake server: every connection's messages go to a queue the test reads in order. */
async function fakeServer({ protocol = "rallypoint.v2" } = {}) {
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    perMessageDeflate: true,
    handleProtocols: (protocols) => (protocols.has(protocol) ? protocol : false),
  });
  const conns = [];
  const waiters = [];
  wss.on("connection", (ws) => {
    const conn = { ws, queue: [], waiting: [] };
    ws.on("message", (data, isBinary) => {
      assert.ok(isBinary, "the SDK sends binary messages");
      const bytes = new Uint8Array(data);
      const w = conn.waiting.shift();
      if (w) w(bytes);
      else conn.queue.push(bytes);
    });
    const w = waiters.shift();
    if (w) w(conn);
    else conns.push(conn);
  });
  await new Promise((resolve) => wss.once("listening", resolve));
  return {
    url: () => `ws://127.0.0.1:${wss.address().port}/play`,
    /** The next connection. */
    accept: () => new Promise((resolve) => (conns.length > 0 ? resolve(conns.shift()) : waiters.push(resolve))),
    close: () =>
      new Promise((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(resolve);
      }),
  };
}

/** The next message of conn (bytes). */
function next(conn) {
  return new Promise((resolve) => (conn.queue.length > 0 ? resolve(conn.queue.shift()) : conn.waiting.push(resolve)));
}

/** The next message of conn that is not a ping, decoded along with its bytes. */
async function nextNonPing(conn) {
  for (;;) {
    const b = await next(conn);
    const m = decodeMessage(b);
    if (m[0] !== Kind.Ping) return { bytes: b, msg: m };
  }
}

function once(client, event) {
  return new Promise((resolve) => {
    const off = client.on(event, (v) => {
      off();
      resolve(v);
    });
  });
}

function plain(state) {
  return Object.fromEntries([...state].map(([id, e]) => [id, { kind: e.kind, fields: [...e.fields] }]));
}

for (const protocol of ["rallypoint.v2", "rallypoint.v1"]) {
  const v2 = protocol === "rallypoint.v2";
  test(`join, snapshots and acks, inputs, requests, pings, events, reconnection (${protocol})`, { timeout: 20000 }, async () => {
    await play(protocol, v2);
  });
}

async function play(protocol, v2) {
  const srv = await fakeServer({ protocol });
  const states = [];
  const client = connect(srv.url(), { WebSocket, pingInterval: 50, backoff: { initialDelay: 20, maxDelay: 40 } });
  client.on("state", (s) => states.push(s.state));
  let conn = await srv.accept();
  assert.equal(conn.ws.protocol, protocol);

  // Quick play: the join message is the documented bytes.
  const joining = client.quickPlay("tally");
  const join = await nextNonPing(conn);
  assert.equal(hex(join.bytes), hex(example("join")));
  conn.ws.send(example("joined"));
  const j = await joining;
  assert.deepEqual(j, { room: "R", player: 1, token: "T", tick: 0, tickRate: 60, snapshotRate: 30, code: "", resumed: false, schema: undefined, events: [] });
  assert.equal(client.state, "open");
  assert.equal(client.protocol, protocol);
  assert.match(client.extensions, /permessage-deflate/);

  // Full snapshot, then the delta: each applied and acknowledged with the documented bytes.
  const snap1 = once(client, "snapshot");
  conn.ws.send(v2 ? v2FullExample() : example("snapshot-full"));
  assert.equal((await snap1).tick, 30);
  assert.equal(hex((await nextNonPing(conn)).bytes), hex(example("ack")));
  const snap2 = once(client, "snapshot");
  conn.ws.send(example(v2 ? "snapshot-v2-delta" : "snapshot-delta"));
  assert.equal((await snap2).baseline, 30);
  assert.deepEqual((await nextNonPing(conn)).msg, [Kind.Ack, 32]);
  assert.deepEqual(plain(client.entities()), {
    1: { kind: 1, fields: [1.5, 2, 100] },
    3: { kind: 2, fields: [0, 0, 1] },
  });
  assert.equal(client.tick, 32);
  assert.ok(client.interpolated() !== undefined);

  // Inputs are numbered from 1 and kept until acknowledged. Each says what the last
  // interpolated() drew: snapshots 30 and 32 blended, for lag compensation.
  assert.equal(client.sendInput({ add: 3 }), 1);
  assert.equal(client.sendInput({ add: 4 }), 2);
  for (const [seq, add] of [[1, 3], [2, 4]]) {
    const m = (await nextNonPing(conn)).msg;
    assert.deepEqual(m.slice(0, 4), [Kind.Input, seq, { add }, null]);
    const [from, span, milli] = m[4];
    assert.ok(from === 30 && span === 2 && milli >= 0 && milli <= 1000 + 3000, `view ${m[4]}`);
  }
  assert.deepEqual(client.pendingInputs().map((p) => p.seq), [1, 2]);
  const snap3 = once(client, "snapshot");
  if (v2) {
    // The acknowledgement of input 1 inside the snapshot; hp (an integer) 100 + 3.
    conn.ws.send(encodeMessage([Kind.Snapshot, 1, 34, 2, [1, 0b100, 3]]));
  } else {
    conn.ws.send(encodeMessage([Kind.InputAck, 1, 34]));
    conn.ws.send(encodeMessage([Kind.Snapshot, [34, 32, [], [], [[1, 0b100, 103]]]]));
  }
  const s3 = await snap3;
  assert.equal(s3.lastInputSeq, 1);
  assert.deepEqual(client.pendingInputs().map((p) => p.seq), [2]);
  const predicted = client.reconcile(s3.state.get(1).fields[2], (hp, input) => hp + input.add);
  assert.equal(predicted, 107);
  assert.deepEqual((await nextNonPing(conn)).msg, [Kind.Ack, 34]);

  // Requests: answered by request id, errors rejected with the code.
  const total = client.request("total");
  const req = await nextNonPing(conn);
  assert.deepEqual(req.msg, [Kind.Request, 2, "total", null]);
  const bad = assert.rejects(client.request("nope", { x: 1 }), (e) => e instanceof RallypointError && e.code === 5 && e.message === "no such request");
  const req2 = await nextNonPing(conn);
  conn.ws.send(encodeMessage([Kind.Response, req2.msg[1], 5, "no such request"]));
  conn.ws.send(encodeMessage([Kind.Response, 2, 0, 30]));
  assert.equal(await total, 30);
  await bad;

  // Pings: answer the next one; RTT and the server tick follow.
  let ping;
  do ping = decodeMessage(await next(conn));
  while (ping[0] !== Kind.Ping);
  const pong = once(client, "pong");
  conn.ws.send(encodeMessage([Kind.Pong, ping[1], Date.now(), 600]));
  const p = await pong;
  assert.ok(p.rtt >= 0 && p.rtt < 5000, `rtt ${p.rtt}`);
  assert.ok(client.rtt > 0);
  const tick = client.serverTick();
  assert.ok(tick >= 600 && tick < 600 + 60 * 5, `tick ${tick}`);

  // Events, errors, matches, lobby changes; unknown kinds are ignored.
  const ev = once(client, "event");
  const err = once(client, "error");
  const matched = once(client, "matched");
  const room = once(client, "room");
  conn.ws.send(encodeMessage([99, "from the future"]));
  conn.ws.send(example("event"));
  conn.ws.send(example("error"));
  conn.ws.send(example("matched"));
  conn.ws.send(example("room"));
  assert.deepEqual(await ev, { name: "solved", payload: "CAT" });
  const e = await err;
  assert.equal(e.code, 1);
  assert.equal(e.message, "bad");
  assert.deepEqual(await matched, { ticket: "t1", room: "R", reservation: "abc", ttlMs: 15000, url: "" });
  assert.equal((await room).room.max_players, 2);

  // Drop the connection: the client reconnects and resumes with the token; a full
  // snapshot starts the mirror again and input numbering restarts.
  const resumed = once(client, "joined");
  conn.ws.terminate();
  conn = await srv.accept();
  const rejoin = await nextNonPing(conn);
  assert.equal(hex(rejoin.bytes), hex(encodeMessage([Kind.Join, rejoin.msg[1], { token: "T" }])));
  conn.ws.send(encodeMessage([Kind.Joined, rejoin.msg[1], "R", 1, "T2", 40, 60, 30, "", "future"]));
  const r = await resumed;
  assert.equal(r.resumed, true);
  assert.equal(r.token, "T2");
  assert.deepEqual(client.pendingInputs(), []);
  assert.equal(client.sendInput({ add: 1 }), 1);
  assert.deepEqual((await nextNonPing(conn)).msg, [Kind.Input, 1, { add: 1 }]);
  const snap4 = once(client, "snapshot");
  conn.ws.send(encodeMessage(v2 ? [Kind.Snapshot, null, 42, 0, [], [[7, 3, ["x"]]]] : [Kind.Snapshot, [42, 0, [[7, 3, ["x"]]], [], []]]));
  await snap4;
  assert.deepEqual(plain(client.entities()), { 7: { kind: 3, fields: ["x"] } });
  assert.deepEqual((await nextNonPing(conn)).msg, [Kind.Ack, 42]);

  // The server rotates the token on every resume (the one used dies once this connection
  // acknowledges a snapshot): the next resume must use the newest token, "T2".
  const resumedAgain = once(client, "joined");
  conn.ws.terminate();
  conn = await srv.accept();
  const rejoin2 = await nextNonPing(conn);
  assert.deepEqual(rejoin2.msg[2], { token: "T2" });
  conn.ws.send(encodeMessage([Kind.Joined, rejoin2.msg[1], "R", 1, "T3", 50, 60, 30, ""]));
  assert.equal((await resumedAgain).token, "T3");

  // Left: no resume after that. close(): closed for good.
  const left = once(client, "left");
  conn.ws.send(example("left"));
  assert.deepEqual(await left, { code: 9, message: "room empty" });
  assert.equal(client.joined, undefined);
  client.close();
  assert.equal(client.state, "closed");
  assert.deepEqual(states, ["open", "reconnecting", "open", "reconnecting", "open", "closed"]);
  await srv.close();
}

test("calls before the socket opens are queued; a failed resume reports left", { timeout: 20000 }, async () => {
  const srv = await fakeServer();
  const client = connect(srv.url(), { WebSocket, pingInterval: 0, backoff: { initialDelay: 10 } });
  const joining = client.join({ room: "R9", meta: { name: "ann" } });
  let conn = await srv.accept();
  const join = await nextNonPing(conn);
  assert.deepEqual(join.msg, [Kind.Join, 1, { room: "R9", meta: { name: "ann" } }]);
  conn.ws.send(encodeMessage([Kind.Joined, 1, "R9", 4, "tok", 0, 10, 10, ""]));
  await joining;
  conn.ws.close(1001, "going away");
  conn = await srv.accept();
  const rejoin = await nextNonPing(conn);
  assert.deepEqual(rejoin.msg[2], { token: "tok" });
  const left = once(client, "left");
  conn.ws.send(encodeMessage([Kind.Response, rejoin.msg[1], 5, "seat expired"]));
  assert.deepEqual(await left, { code: 5, message: "seat expired", resume: true, rejoining: false });
  assert.equal(client.state, "open");
  client.close();
  await srv.close();
});

test("pending calls fail when the connection drops; gives up after maxReconnectAttempts", { timeout: 20000 }, async () => {
  const srv = await fakeServer();
  const client = connect(srv.url(), { WebSocket, pingInterval: 0, maxReconnectAttempts: 2, backoff: { initialDelay: 10 } });
  const conn = await srv.accept();
  const pending = assert.rejects(client.request("slow"), (e) => e instanceof RallypointError && e.code === -1);
  await nextNonPing(conn);
  const attempts = [];
  const closed = new Promise((resolve) =>
    client.on("state", (s) => {
      if (s.state === "reconnecting") attempts.push(s.attempt);
      if (s.state === "closed") resolve();
    }),
  );
  await srv.close(); // no server any more: every attempt fails
  conn.ws.terminate();
  await pending;
  await closed;
  assert.deepEqual(attempts, [1, 2]);
});

test("a server that agrees to none of rallypoint.v3, rallypoint.v2 and rallypoint.v1 is refused", { timeout: 20000 }, async () => {
  // The handshake fails (as in browsers); without reconnection the client is closed.
  const srv = await fakeServer({ protocol: "other" });
  const client = connect(srv.url(), { WebSocket, pingInterval: 0, reconnect: false });
  const seen = [];
  await new Promise((resolve) => client.on("state", (s) => seen.push(s.state) && s.state === "closed" && resolve()));
  assert.deepEqual(seen, ["closed"]);
  await srv.close();
});
