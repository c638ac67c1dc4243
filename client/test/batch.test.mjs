// inputRate coalesces inputs: with inputs made at 60 Hz and inputRate 30, every other input
// waits for the next turn and goes with the one after it in one [10, first_seq, inputs, ack,
// views]; an input after a quiet spell goes at once; the seqs, the acknowledgement and the
// views ride along exactly as they would on single inputs. Driven by a fake socket and
// Node's mock timers (Date included, as the client's clock).
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, Kind, MAX_INPUT_BATCH } from "../dist/rallypoint.js";
import { fakeSocket } from "./fake.mjs";

async function seated(t, options = {}) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
  const log = [];
  const { FakeWebSocket, sockets } = fakeSocket(log);
  const client = connect("ws://fake/play", { WebSocket: FakeWebSocket, pingInterval: 0, now: () => Date.now(), ...options });
  const ws = sockets[0];
  ws.open();
  const joining = client.quickPlay("g");
  ws.deliver([Kind.Joined, 1, "R", 1, "T", 0, 60, 30, ""]);
  await joining;
  log.length = 0;
  return { client, ws, log };
}

const sent = (log) => log.filter((e) => e.sent !== undefined).map((e) => e.sent);

test("inputs at 60 Hz with inputRate 30 go two by two, in order, none lost", async (t) => {
  const { client, log } = await seated(t, { inputRate: 30 });
  let n = 0;
  for (let i = 0; i < 60; i++) {
    client.sendInput({ n: ++n });
    t.mock.timers.tick(1000 / 60);
  }
  t.mock.timers.tick(100); // the last turn
  const msgs = sent(log);
  const seqs = [];
  for (const m of msgs) {
    if (m[0] === Kind.Input) {
      seqs.push(m[1]);
      assert.deepEqual(m[2], { n: m[1] });
    } else {
      assert.equal(m[0], Kind.Inputs, `sent ${JSON.stringify(m)}`);
      assert.ok(m[2].length >= 2 && m[2].length <= MAX_INPUT_BATCH);
      m[2].forEach((input, i) => {
        seqs.push(m[1] + i);
        assert.deepEqual(input, { n: m[1] + i });
      });
    }
  }
  assert.deepEqual(seqs, Array.from({ length: n }, (_, i) => i + 1), "every input once, in order");
  assert.ok(n >= 59, `${n} inputs`);
  assert.ok(msgs.length <= 31, `${msgs.length} messages in a second at inputRate 30`);
  assert.ok(msgs.length >= 20, `${msgs.length} messages: the waiting inputs go at every turn`);
  assert.equal(client.pendingInputs().length, n, "all pending until the server acknowledges them");
  client.close();
});

test("an input after a quiet spell goes at once; the next waits for its turn with the acknowledgement", async (t) => {
  const { client, ws, log } = await seated(t, { inputRate: 20, stallAfter: 1e9 }); // a turn every 50 ms
  client.sendInput("a");
  assert.deepEqual(sent(log), [[Kind.Input, 1, "a"]], "the first input is not held");
  log.length = 0;
  t.mock.timers.tick(10);
  ws.deliver([Kind.Snapshot, [4, 0, [], [], []]]);
  client.sendInput("b");
  client.sendInput("c");
  assert.deepEqual(sent(log), [], "b and c wait for the turn");
  t.mock.timers.tick(39);
  assert.deepEqual(sent(log), []);
  t.mock.timers.tick(1);
  assert.deepEqual(sent(log), [[Kind.Inputs, 2, ["b", "c"], 4]], "b and c together, with the tick to acknowledge");
  log.length = 0;
  t.mock.timers.tick(500);
  client.sendInput("d");
  assert.deepEqual(sent(log), [[Kind.Input, 4, "d"]], "after a quiet spell, at once");
  client.close();
});

test("a full batch goes without waiting, and a drop forgets what was waiting", async (t) => {
  const { client, ws, log } = await seated(t, { inputRate: 1 });
  client.sendInput(0); // goes at once
  log.length = 0;
  for (let i = 1; i <= MAX_INPUT_BATCH; i++) client.sendInput(i);
  assert.deepEqual(sent(log), [[Kind.Inputs, 2, Array.from({ length: MAX_INPUT_BATCH }, (_, i) => i + 1)]]);
  log.length = 0;
  client.sendInput("lost");
  ws.drop(1006);
  t.mock.timers.tick(2000);
  assert.deepEqual(sent(log).filter((m) => m[0] === Kind.Input || m[0] === Kind.Inputs), [],
    "an input numbered for a dropped connection is not sent on the next");
  client.close();
});

test("without inputRate every input goes at once, as before", async (t) => {
  const { client, log } = await seated(t);
  client.sendInput("a");
  client.sendInput("b");
  assert.deepEqual(sent(log), [[Kind.Input, 1, "a"], [Kind.Input, 2, "b"]]);
  client.close();
});
