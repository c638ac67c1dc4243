// A snapshot whose delta names a baseline the client does not hold is dropped, and the
// client recovers (PROTOCOL.md, "Recovering a lost baseline"): a baseline at or below the
// latest applied tick is answered by acknowledging that tick again (once), a newer one by
// [4, 0] (once, until a full snapshot arrives or the timeout passes), and the full snapshot
// is applied. Driven by a fake socket, with the client's clock in the test's hands; on both
// wires (v2 names the baseline by its offset from the tick).
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, Kind } from "../dist/rallypoint.js";
import { fakeSocket, v2Encoder } from "./fake.mjs";

/** A full snapshot body of tick: [id, value] pairs, each entity of kind 1 with one field. */
const full = (tick, ents) => [tick, 0, ents.map(([id, v]) => [id, 1, [v]]), [], []];
/** A delta of tick against base that sets field 0 of the listed entities. */
const delta = (tick, base, ents) => [tick, base, [], [], ents.map(([id, v]) => [id, 1, v])];

const cases = [
  {
    name: "newer unknown baseline asks for a full snapshot once",
    rate: 30,
    steps: [
      { body: full(10, [[1, 1], [2, 2]]), want: [[Kind.Ack, 10]] },
      { body: delta(12, 10, [[1, 3]]), want: [[Kind.Ack, 12]] },
      { body: delta(16, 14, [[2, 9]]), want: [[Kind.Ack, 0]] }, // 14 never applied
      { body: delta(18, 14, [[2, 10]]), want: [] }, // on its way before [4, 0]: dropped
      { body: full(20, [[1, 5], [2, 6], [3, 7]]), want: [[Kind.Ack, 20]] },
      { body: delta(22, 20, [[3, 8]]), want: [[Kind.Ack, 22]] },
    ],
    tick: 22,
    state: [[1, 5], [2, 6], [3, 8]],
    stats: { snapshots: 4, baselineMisses: 2, baselineResets: 1 },
    actions: ["reset", "wait"],
  },
  {
    name: "older unknown baseline acknowledges the latest tick again",
    rate: 30,
    steps: [
      { body: full(10, [[1, 1]]), want: [[Kind.Ack, 10]] },
      { body: full(20, [[1, 2]]), want: [[Kind.Ack, 20]] },
      { body: delta(24, 15, [[1, 4]]), want: [[Kind.Ack, 20]] }, // 15 never applied, below 20
      { body: delta(26, 15, [[1, 5]]), want: [] }, // 20 acknowledged again already
      { body: delta(28, 20, [[1, 6]]), want: [[Kind.Ack, 28]] },
    ],
    tick: 28,
    state: [[1, 6]],
    stats: { snapshots: 3, baselineMisses: 2, baselineResets: 0 },
    actions: ["reack", "wait"],
  },
  {
    name: "before any snapshot a delta asks for a full one",
    rate: 30,
    steps: [
      { body: delta(8, 6, [[1, 1]]), want: [[Kind.Ack, 0]] },
      { body: full(10, [[1, 2]]), want: [[Kind.Ack, 10]] },
    ],
    tick: 10,
    state: [[1, 2]],
    stats: { snapshots: 1, baselineMisses: 1, baselineResets: 1 },
    actions: ["reset"],
  },
  {
    name: "no full snapshot within 4 snapshot intervals: ask again",
    rate: 10, // 400 ms
    steps: [
      { body: full(10, [[1, 1]]), want: [[Kind.Ack, 10]] },
      { body: delta(14, 12, [[1, 2]]), want: [[Kind.Ack, 0]] },
      { after: 399, body: delta(16, 12, [[1, 3]]), want: [] },
      { after: 1, body: delta(18, 12, [[1, 3]]), want: [[Kind.Ack, 0]] },
      { body: full(20, [[1, 4]]), want: [[Kind.Ack, 20]] },
    ],
    tick: 20,
    state: [[1, 4]],
    stats: { snapshots: 2, baselineMisses: 3, baselineResets: 2 },
    actions: ["reset", "wait", "reset"],
  },
  {
    name: "a full snapshot ends the wait: the next miss asks at once",
    rate: 30,
    steps: [
      { body: full(10, [[1, 1]]), want: [[Kind.Ack, 10]] },
      { body: delta(14, 12, [[1, 2]]), want: [[Kind.Ack, 0]] },
      { body: full(16, [[1, 3]]), want: [[Kind.Ack, 16]] },
      { body: delta(20, 18, [[1, 4]]), want: [[Kind.Ack, 0]] },
      { body: full(22, [[1, 5]]), want: [[Kind.Ack, 22]] },
    ],
    tick: 22,
    state: [[1, 5]],
    stats: { snapshots: 3, baselineMisses: 2, baselineResets: 2 },
    actions: ["reset", "reset"],
  },
];

for (const [protocol, c] of ["rallypoint.v2", "rallypoint.v1"].flatMap((p) => cases.map((c) => [p, c]))) {
  test(`${c.name} (${protocol})`, async (t) => {
    let clock = 1000;
    const log = [];
    const { FakeWebSocket, sockets } = fakeSocket(log, { protocol });
    const v2 = v2Encoder();
    // ackDelay 0: every applied snapshot is acknowledged at once, so the answers are exact.
    const client = connect("ws://fake/play", { WebSocket: FakeWebSocket, pingInterval: 0, ackDelay: 0, now: () => clock });
    t.after(() => client.close()); // also when an assertion fails: its timers would keep the test alive
    const ws = sockets[0];
    ws.open();
    assert.equal(client.protocol, protocol);
    const joining = client.quickPlay("g");
    ws.deliver([Kind.Joined, 1, "R", 1, "T", 0, c.rate, c.rate, ""]);
    await joining;
    const misses = [];
    const errors = [];
    client.on("baselineMiss", (m) => misses.push(m));
    client.on("error", (e) => errors.push(e));
    for (const [i, st] of c.steps.entries()) {
      clock += st.after ?? 0;
      log.length = 0;
      ws.deliver(protocol === "rallypoint.v2" ? v2(st.body) : [Kind.Snapshot, st.body]);
      const sent = log.filter((e) => e.sent !== undefined).map((e) => e.sent);
      assert.deepEqual(sent, st.want, `step ${i} (snapshot ${st.body[0]} against ${st.body[1]})`);
    }
    assert.equal(client.tick, c.tick);
    assert.deepEqual([...client.entities()].map(([id, e]) => [id, e.fields[0]]), c.state);
    assert.deepEqual(client.stats, c.stats);
    assert.deepEqual(misses.map((m) => m.action), c.actions);
    for (const m of misses) assert.ok(m.tick > m.baseline && m.baseline > 0, `miss event ${JSON.stringify(m)}`);
    assert.deepEqual(errors, [], "a miss is not an error");
    assert.equal(client.state, "open");
  });
}
