// Liveness and reconnection on a bad network: a silent link is noticed and left within
// silenceTimeout, a stalled room stops inputs, every close that another attempt may fix is
// retried, and a seat found gone is offered again (autoRejoin). Driven by a fake socket, an
// injected clock and Node's mock timers, so that seconds of silence take no time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, decodeMessage, Kind } from "../dist/rallypoint.js";
import { fakeSocket } from "./fake.mjs";

/** A client on mock timers and a fake clock; `advance(ms)` moves both. */
function setup(t, options = {}) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  let clock = 1000;
  const log = [];
  const { FakeWebSocket, sockets } = fakeSocket(log);
  const states = [];
  const client = connect("ws://fake/play", { WebSocket: FakeWebSocket, now: () => clock, random: () => 0, ...options });
  client.on("state", (s) => states.push(s));
  const advance = (ms) => {
    for (let left = ms; left > 0; left -= 10) {
      clock += Math.min(10, left);
      t.mock.timers.tick(Math.min(10, left));
    }
  };
  return { client, sockets, log, states, advance, now: () => clock };
}

/** Opens sockets[i] and seats the client (a join or, on a later socket, the resume). */
async function seat(env, i, { resume = false, token = "T", tickRate = 60, snapshotRate = 30 } = {}) {
  const ws = env.sockets[i];
  ws.open();
  if (!resume) {
    const joining = env.client.quickPlay("g", { name: "ann" });
    ws.deliver([Kind.Joined, 1, "R", 7, token, 0, tickRate, snapshotRate, ""]);
    await joining;
  } else {
    const join = env.log.findLast((e) => e.sent?.[0] === Kind.Join);
    ws.deliver([Kind.Joined, join.sent[1], "R", 7, token, 0, tickRate, snapshotRate, ""]);
  }
  return ws;
}

const snapshot = (tick) => [Kind.Snapshot, [tick, 0, [], [], []]];

test("a silent link is left within silenceTimeout, and the seat resumed on a new one at once", async (t) => {
  const env = setup(t);
  const ws = await seat(env, 0);
  // Snapshots flow for a second; the server answers nothing else (no pongs needed).
  for (let tick = 2; tick <= 60; tick += 2) {
    ws.deliver(snapshot(tick));
    env.advance(33);
  }
  assert.equal(env.client.state, "open");
  const silentAt = env.now();
  // The link goes silent: nothing more arrives.
  while (env.client.state === "open" && env.now() - silentAt < 10000) env.advance(50);
  const noticed = env.now() - silentAt;
  assert.ok(noticed >= 3000 && noticed <= 3300, `a silent link noticed after ${noticed} ms, want about silenceTimeout (3000)`);
  const change = env.states.at(-1);
  assert.equal(change.state, "reconnecting");
  assert.equal(change.reason, "silent");
  assert.equal(change.delay, 0, "the first attempt after a silence goes at once");
  assert.equal(ws.closedWith?.code, 4000, "the dead socket is let go");
  env.advance(10);
  assert.equal(env.sockets.length, 2, "a new connection is attempted");
  // The new connection resumes the seat with the token: the same player.
  const ws2 = env.sockets[1];
  ws2.open();
  const join = env.log.findLast((e) => e.sent?.[0] === Kind.Join).sent;
  assert.deepEqual(join[2], { token: "T" });
  const resumed = new Promise((resolve) => env.client.on("joined", resolve));
  ws2.deliver([Kind.Joined, join[1], "R", 7, "T2", 200, 60, 30, ""]);
  const j = await resumed;
  assert.equal(j.player, 7);
  assert.equal(j.resumed, true);
  // Events from the abandoned socket, if it ever wakes, change nothing.
  assert.equal(ws.onmessage, null);
  assert.equal(ws.onclose, null);
});

test("outside a room, answered pings keep a quiet link alive; unanswered ones end it", async (t) => {
  const env = setup(t, { pingInterval: 1000 });
  const ws = env.sockets[0];
  ws.open();
  let pings = 0;
  let answer = true;
  const send = ws.send.bind(ws);
  ws.send = (data) => {
    send(data);
    const m = decodeMessage(data);
    if (m[0] !== Kind.Ping) return;
    pings++;
    if (answer) setTimeout(() => ws.deliver([Kind.Pong, m[1], Date.now(), 0]), 100); // 100 ms RTT
  };
  env.advance(10000);
  assert.equal(env.client.state, "open", "ten quiet seconds with pongs are not silence");
  assert.ok(pings >= 10 && pings <= 16, `${pings} pings in 10 s (warm-up of four, then one a second)`);
  answer = false;
  const from = env.now();
  while (env.client.state === "open" && env.now() - from < 10000) env.advance(50);
  const noticed = env.now() - from;
  assert.equal(env.states.at(-1).reason, "silent");
  assert.ok(noticed >= 2900 && noticed <= 3400, `unanswered pings noticed after ${noticed} ms`);
});

test("a connection attempt not open within connectTimeout gets a fresh one beside it; the old one may still open, for twice as long in all", async (t) => {
  const env = setup(t, { connectTimeout: 2000 });
  env.advance(1990);
  assert.equal(env.sockets.length, 1);
  env.advance(20);
  assert.equal(env.states.at(-1).state, "reconnecting");
  assert.equal(env.states.at(-1).reason, "connect timeout");
  env.advance(10);
  assert.equal(env.sockets.length, 2, "attempts go on while the link is silent, without waiting for a backoff");
  assert.equal(env.sockets[0].closedWith, undefined, "the attempt given up on lingers");
  env.advance(2000);
  assert.equal(env.sockets.length, 3);
  assert.notEqual(env.sockets[0].closedWith, undefined, "one lingering attempt at a time: the oldest is closed");
  assert.equal(env.sockets[1].closedWith, undefined);
  // The lingering attempt opens first (a slow handshake finishing): it is kept, the newer closed.
  await seat(env, 1);
  assert.equal(env.client.state, "open");
  assert.notEqual(env.sockets[2].closedWith, undefined, "the newer attempt is dropped");
  env.advance(500);
  assert.equal(env.sockets.length, 3, "no more attempts once open");
  // A lingering attempt that never opens is closed 2 connectTimeouts after it began, also
  // when the next attempt does not time out but is refused (and waits for the backoff).
  env.sockets[1].drop(1006);
  while (env.sockets.length === 3) env.advance(10);
  const began = env.now();
  while (env.sockets.length === 4) env.advance(10);
  env.sockets[4].drop(1006);
  while (env.sockets[3].closedWith === undefined && env.now() - began < 20000) env.advance(10);
  const took = env.now() - began;
  assert.ok(took >= 3970 && took <= 4030, `a lingering attempt closed after ${took} ms, want 4000`);
});

test("a stalled room stops inputs, which are not queued; they go again once snapshots flow", async (t) => {
  const env = setup(t);
  const ws = await seat(env, 0);
  const stalls = [];
  env.client.on("stall", (s) => stalls.push(s.stalled));
  ws.deliver(snapshot(2));
  assert.equal(env.client.sendInput({ k: 1 }), 1);
  env.advance(400);
  assert.equal(env.client.canSendInput, true, "400 ms without a snapshot is not a stall yet (stallAfter 500)");
  env.advance(200);
  assert.equal(env.client.stalled, true);
  assert.deepEqual(stalls, [true]);
  const sent = env.log.filter((e) => e.sent?.[0] === Kind.Input).length;
  for (let i = 0; i < 30; i++) {
    assert.equal(env.client.sendInput({ k: 1 }), 0, "no input is sent into a stalled link");
    env.advance(16);
  }
  assert.equal(env.log.filter((e) => e.sent?.[0] === Kind.Input).length, sent, "nothing was queued either");
  ws.deliver(snapshot(40));
  assert.deepEqual(stalls, [true, false]);
  assert.equal(env.client.sendInput({ k: 2 }), 2);
  assert.deepEqual(env.log.at(-1).sent.slice(0, 3), [Kind.Input, 2, { k: 2 }]);
});

test("inputs are not sent or queued while reconnecting; a close the server may undo (1008, 1001, 1011) is not final", async (t) => {
  for (const code of [1008, 1001, 1011, 1006]) {
    await t.test(`close ${code}`, async (t) => {
      const env = setup(t);
      const ws = await seat(env, 0);
      ws.deliver(snapshot(2));
      ws.drop(code);
      assert.equal(env.client.state, "reconnecting");
      assert.equal(env.states.at(-1).code, code);
      assert.equal(env.client.sendInput({ k: 1 }), 0);
      env.advance(300);
      assert.equal(env.sockets.length, 2);
      const ws2 = env.sockets[1];
      env.log.length = 0;
      ws2.open();
      const sent = env.log.map((e) => e.sent[0]);
      assert.deepEqual(sent, [Kind.Join], "only the resume goes out on the new connection: no stale inputs");
    });
  }
});

test("protocol errors are final: retrying would fail the same way", async (t) => {
  const env = setup(t);
  await seat(env, 0);
  env.sockets[0].drop(1002);
  assert.equal(env.client.state, "closed");
  env.advance(5000);
  assert.equal(env.sockets.length, 1);
});

test("reconnection never gives up by default, and waits at most 2 s between refused attempts", async (t) => {
  const env = setup(t, { random: () => 0 }); // no jitter: the nominal delays
  await seat(env, 0);
  env.sockets[0].drop(1006);
  for (let i = 1; i <= 30; i++) {
    const last = env.sockets.length;
    env.advance(2010);
    assert.equal(env.sockets.length, last + 1, `attempt ${i + 1} within 2 s`);
    env.sockets.at(-1).drop(1006); // refused
  }
  assert.equal(env.client.state, "reconnecting");
  assert.deepEqual(env.states.slice(1, 6).map((s) => s.delay), [250, 500, 1000, 2000, 2000]);
});

test("a resume that finds the seat gone says so; with autoRejoin, join again the same way with the same meta", async (t) => {
  for (const autoRejoin of [false, true]) {
    await t.test(`autoRejoin ${autoRejoin}`, async (t) => {
      const env = setup(t, { autoRejoin });
      await seat(env, 0);
      env.sockets[0].drop(1006);
      env.advance(300);
      const ws2 = env.sockets[1];
      ws2.open();
      const resume = env.log.findLast((e) => e.sent?.[0] === Kind.Join).sent;
      const left = new Promise((resolve) => env.client.on("left", resolve));
      env.log.length = 0;
      ws2.deliver([Kind.Response, resume[1], 5, "unknown or expired resume token"]);
      assert.deepEqual(await left, { code: 5, message: "unknown or expired resume token", resume: true, rejoining: autoRejoin });
      const joins = env.log.filter((e) => e.sent?.[0] === Kind.Join).map((e) => e.sent[2]);
      assert.deepEqual(joins, autoRejoin ? [{ game: "g", meta: { name: "ann" } }] : []);
      assert.equal(env.client.state, "open");
    });
  }
});

test("a connection that closes before it ever opened is reported as refused, with a reason the page can show", async (t) => {
  const env = setup(t);
  const errors = [];
  env.client.on("error", (e) => errors.push(e));
  env.sockets[0].drop(1006); // a 403 for the page's origin, as a browser reports it
  assert.equal(env.states.at(-1).state, "reconnecting");
  assert.equal(env.states.at(-1).reason, "refused");
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /refused the connection before it opened \(a page on an origin/);

  // One that opened and then closed is "closed", as before.
  env.advance(5000);
  await seat(env, 1);
  env.sockets[1].drop(1006);
  assert.equal(env.states.at(-1).reason, "closed");
  assert.equal(errors.length, 1);
});
