// Snapshot acknowledgements ride on inputs: with inputs, no [4, tick] goes out; without
// them, [4, tick] goes after ackDelay. Driven by a fake socket and Node's mock timers, so
// that the order of snapshots, inputs and timers is exact and nothing waits in real time.
import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { connect, Kind } from "../dist/rallypoint.js";
import { fakeSocket } from "./fake.mjs";

/** A client seated in room R, on mock timers, with the log of what happened. */
async function seated(t, options = {}) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  const log = [];
  const { FakeWebSocket, sockets } = fakeSocket(log);
  const client = connect("ws://fake/play", { WebSocket: FakeWebSocket, pingInterval: 0, ...options });
  const ws = sockets[0];
  ws.open();
  const joining = client.quickPlay("g");
  ws.deliver([Kind.Joined, 1, "R", 1, "T", 0, 60, 30, ""]);
  await joining;
  log.length = 0; // the join
  return { client, ws, log };
}

const snapshot = (tick) => [Kind.Snapshot, [tick, 0, [], [], []]];

test("with inputs every 16 ms, no separate ack is sent and inputs carry the latest tick", async (t) => {
  const { client, ws, log } = await seated(t);
  let tick = 0;
  let n = 0;
  ws.deliver(snapshot((tick += 2)));
  const inputs = setInterval(() => client.sendInput({ n: ++n }), 16);
  const snapshots = setInterval(() => ws.deliver(snapshot((tick += 2))), 33); // 30 Hz
  t.mock.timers.tick(1000);
  clearInterval(inputs);
  clearInterval(snapshots);

  assert.ok(n >= 60 && tick >= 60, `${n} inputs, snapshots up to tick ${tick}`);
  let latest = 0; // the latest snapshot delivered
  let acked = 0; // the latest tick an input carried
  let seq = 0;
  for (const e of log) {
    if (e.snapshot !== undefined) {
      assert.equal(latest, acked, `snapshot ${e.snapshot} arrived before ${latest} was acknowledged`);
      latest = e.snapshot;
      continue;
    }
    const m = e.sent;
    assert.equal(m[0], Kind.Input, `the client sent ${JSON.stringify(m)}, not an input`);
    assert.equal(m[1], ++seq);
    if (latest !== acked) {
      assert.deepEqual(m, [Kind.Input, seq, { n: seq }, latest], "the first input after a snapshot carries its tick");
      acked = latest;
    } else {
      assert.deepEqual(m, [Kind.Input, seq, { n: seq }], "an input with nothing new to acknowledge carries no tick");
    }
  }
  assert.equal(seq, n);
  // Nothing is left to acknowledge alone later.
  t.mock.timers.tick(1000);
  assert.ok(log.every((e) => e.sent === undefined || e.sent[0] === Kind.Input));
  client.close();
});

test("without inputs, [4, tick] goes out after ackDelay", async (t) => {
  const { ws, log, client } = await seated(t);
  for (const tick of [3, 6, 9]) {
    log.length = 0;
    ws.deliver(snapshot(tick));
    t.mock.timers.tick(19);
    assert.deepEqual(log, [{ snapshot: tick }], "nothing before the delay");
    t.mock.timers.tick(1);
    assert.deepEqual(log, [{ snapshot: tick }, { sent: [Kind.Ack, tick] }]);
    t.mock.timers.tick(13); // to the next snapshot, 33 ms apart
  }
  // A newer snapshot within the delay does not postpone it: one ack, of the newest.
  log.length = 0;
  ws.deliver(snapshot(12));
  t.mock.timers.tick(10);
  ws.deliver(snapshot(13));
  t.mock.timers.tick(10);
  assert.deepEqual(log, [{ snapshot: 12 }, { snapshot: 13 }, { sent: [Kind.Ack, 13] }]);
  // An input after that has nothing to carry.
  client.sendInput("x");
  assert.deepEqual(log.at(-1), { sent: [Kind.Input, 1, "x"] });
  client.close();
});

test("ackDelay sets the wait; 0 acknowledges at once", async (t) => {
  {
    const { ws, log, client } = await seated(t, { ackDelay: 50 });
    ws.deliver(snapshot(2));
    t.mock.timers.tick(49);
    assert.deepEqual(log, [{ snapshot: 2 }]);
    client.sendInput(7);
    assert.deepEqual(log, [{ snapshot: 2 }, { sent: [Kind.Input, 1, 7, 2] }]);
    t.mock.timers.tick(100);
    assert.equal(log.length, 2, "the input took the acknowledgement: no [4, 2] later");
    client.close();
    t.mock.timers.reset();
  }
  const { ws, log, client } = await seated(t, { ackDelay: 0 });
  ws.deliver(snapshot(2));
  assert.deepEqual(log, [{ snapshot: 2 }, { sent: [Kind.Ack, 2] }]);
  client.sendInput(7);
  assert.deepEqual(log.at(-1), { sent: [Kind.Input, 1, 7] });
  client.close();
});

test("an input sent from the snapshot handler carries that snapshot's tick", async (t) => {
  const { ws, log, client } = await seated(t);
  client.on("snapshot", (s) => client.sendInput({ seen: s.tick }));
  ws.deliver(snapshot(4));
  assert.deepEqual(log, [{ snapshot: 4 }, { sent: [Kind.Input, 1, { seen: 4 }, 4] }]);
  client.close();
});

test("a join forgets the tick of the room left behind", async (t) => {
  const { ws, log, client } = await seated(t);
  ws.deliver(snapshot(40));
  const joining = client.join({ room: "R2" });
  ws.deliver([Kind.Joined, 2, "R2", 1, "T2", 0, 60, 30, ""]);
  await joining;
  client.sendInput(1);
  t.mock.timers.tick(100);
  assert.deepEqual(
    log.filter((e) => e.sent !== undefined && e.sent[0] !== Kind.Join),
    [{ sent: [Kind.Input, 1, 1] }],
    "neither the input nor a later [4, tick] acknowledges tick 40 of the old room",
  );
  client.close();
});
