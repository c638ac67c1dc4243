// The rallypoint.v2 wire (PROTOCOL.md, "The v2 snapshot"): the mirror against byte vectors of
// the Go encoder (state/deltav2_test.go, PROTOCOL.md's examples), integer differences
// included, and the client: both subprotocols offered and either accepted, the input
// acknowledgement a v2 snapshot carries.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, connect, decodeMessage, Kind, SnapshotMirror, SUBPROTOCOL, SUBPROTOCOL_V2 } from "../dist/rallypoint.js";
import { decodeMulti } from "@msgpack/msgpack";
import { example, v2FullExample } from "./examples.mjs";
import { fakeSocket, seated } from "./fake.mjs";

const unhex = (s) => Uint8Array.from(s.split(/\s+/).filter(Boolean), (h) => parseInt(h, 16));

/**
 * The v2 message of the values AppendDeltaV2 writes (hex), with last_seq (hex, nil by
 * default): an array of 2 and as many as there are (5 if they do not decode).
 */
function msg(vals, seq = "c0") {
  let n = 3;
  try {
    n = [...decodeMulti(unhex(vals))].length;
  } catch {
    // a malformed vector: the mirror must refuse it, whatever the array's length says
  }
  return unhex(`${(0x92 + n).toString(16)} 12 ${seq} ${vals}`);
}

function plain(state) {
  return Object.fromEntries([...state].map(([id, e]) => [id, { kind: e.kind, fields: [...e.fields] }]));
}

/** A mirror that applied the v2 messages of `vals` (hex strings) in order. */
function mirrorOf(...vals) {
  const m = new SnapshotMirror();
  for (const v of vals) m.applyV2(msg(v));
  return m;
}

test("the subprotocol names", () => {
  assert.equal(SUBPROTOCOL_V2, "rallypoint.v2");
  assert.equal(SUBPROTOCOL, "rallypoint.v1");
});

// state/deltav2_test.go's TestAppendDeltaV2Bytes: `from` as a full v2 snapshot (offset 0),
// `delta` the bytes the Go encoder writes from it, `want` the state the mirror must reach.
const vectors = [
  {
    name: "full snapshot: offset 0, added as in v1",
    delta: "07 00 90 92 93 01 02 92 ca 3f c0 00 00 64 93 03 00 90",
    want: { 1: { kind: 2, fields: [1.5, 100] }, 3: { kind: 0, fields: [] } },
    baseline: 0,
  },
  {
    name: "offset is tick minus baseline",
    from: "cd 01 2c 00 90 91 93 01 00 91 a1 61",
    delta: "cd 01 2f 03 93 01 01 a1 62",
    want: { 1: { kind: 0, fields: ["b"] } },
    baseline: 300,
  },
  {
    name: "integers that were integers go as differences",
    from: "0a 00 90 91 93 01 00 93 cd 03 e8 a1 61 fb", // [1000, "a", -5]
    delta: "0c 02 95 01 07 03 a1 62 fe",
    want: { 1: { kind: 0, fields: [1003, "b", -7] } },
    baseline: 10,
  },
  {
    name: "a difference may need more bytes than the value",
    from: "01 00 90 91 93 01 00 91 64", // [100]
    delta: "02 01 93 01 01 d1 ff 38",
    want: { 1: { kind: 0, fields: [-100] } },
  },
  {
    name: "changed entries follow each other in one array",
    from: "01 00 90 92 93 01 00 92 01 02 93 02 00 91 05", // 1: [1, 2], 2: [5]
    delta: "02 01 96 01 02 02 02 01 04",
    want: { 1: { kind: 0, fields: [1, 4] }, 2: { kind: 0, fields: [9] } },
  },
  {
    name: "an integer that becomes a float goes as it is",
    from: "01 00 90 91 93 01 00 91 01",
    delta: "02 01 93 01 01 ca 3f c0 00 00",
    want: { 1: { kind: 0, fields: [1.5] } },
  },
  {
    name: "a float that becomes an integer goes as it is",
    from: "01 00 90 91 93 01 00 91 ca 3f c0 00 00",
    delta: "02 01 93 01 01 02",
    want: { 1: { kind: 0, fields: [2] } },
  },
  {
    name: "a whole float that becomes an integer goes as it is (the float decodes as an integer would)",
    from: "01 00 90 91 93 01 00 91 ca 3f 80 00 00", // [float32 1.0]
    delta: "02 01 93 01 01 03",
    want: { 1: { kind: 0, fields: [3] } }, // not 1 + 3
  },
  {
    name: "a whole float sent to an integer field is not a difference (it decodes as 2)",
    from: "01 00 90 91 93 01 00 91 05", // [5]
    delta: "02 01 93 01 01 ca 40 00 00 00",
    want: { 1: { kind: 0, fields: [2] } }, // not 5 + 2
  },
  {
    name: "nil that becomes an integer goes as it is",
    from: "01 00 90 91 93 01 00 91 c0",
    delta: "02 01 93 01 01 07",
    want: { 1: { kind: 0, fields: [7] } },
  },
  {
    name: "unsigned integers above int64 send the entity whole",
    from: "01 00 90 91 93 01 00 92 cf 80 00 00 00 00 00 00 00 01",
    delta: "02 01 90 91 93 01 00 92 cf 80 00 00 00 00 00 00 01 01",
    want: { 1: { kind: 0, fields: [Number(2n ** 63n + 1n), 1] } },
  },
  {
    name: "a wide integer that did not change does not send the entity whole",
    from: "01 00 90 91 93 01 00 92 cf 80 00 00 00 00 00 00 00 01",
    delta: "02 01 93 01 02 01",
    want: { 1: { kind: 0, fields: [2 ** 63, 2] } },
  },
  {
    name: "a difference as wide as int64 allows is sent",
    from: "01 00 90 91 93 01 00 91 00",
    delta: "02 01 93 01 01 cf 7f ff ff ff ff ff ff ff",
    want: { 1: { kind: 0, fields: [Number(2n ** 63n - 1n)] } },
  },
];

for (const v of vectors) {
  test(`v2 bytes: ${v.name}`, () => {
    const m = new SnapshotMirror();
    if (v.from !== undefined) m.applyV2(msg(v.from));
    const a = m.applyV2(msg(v.delta));
    assert.equal(a.baseline, v.baseline ?? (v.from === undefined ? 0 : a.tick - 1));
    assert.deepEqual(plain(m.state), v.want);
  });
}

test("PROTOCOL.md's v2 delta example applies as its v1 twin does", () => {
  const v1 = new SnapshotMirror();
  v1.apply(decodeMessage(example("snapshot-full"))[1]);
  v1.apply(decodeMessage(example("snapshot-delta"))[1]);
  const m = new SnapshotMirror();
  m.applyV2(v2FullExample());
  const a = m.applyV2(example("snapshot-v2-delta"));
  assert.deepEqual([a.tick, a.baseline], [32, 30]);
  assert.deepEqual(plain(m.state), plain(v1.state));
  assert.deepEqual(plain(m.state), { 1: { kind: 1, fields: [1.5, 2, 100] }, 3: { kind: 2, fields: [0, 0, 1] } });
});

test("PROTOCOL.md's integer difference example: 100 + 3", () => {
  const m = mirrorOf("1e 00 90 91 93 01 01 91 64"); // tick 30: entity 1 [100]
  const a = m.applyV2(example("snapshot-v2-intdiff"));
  assert.deepEqual([a.tick, a.baseline], [32, 30]);
  assert.deepEqual(plain(m.state), { 1: { kind: 1, fields: [103] } });
});

test("the brief's v1 delta and its v2 form reach the same state; the float 2.0 is no difference", () => {
  // Tick 7: entity 1 [5] and entity 2 [6], integers. Tick 8: entity 3 added, 2 removed, 1's
  // field 0 set to the float 2.0.
  const v1 = new SnapshotMirror();
  v1.apply([7, 0, [[1, 1, [5]], [2, 1, [6]]], [], []]);
  v1.apply(decodeMessage(unhex("95 08 07 91 93 03 02 92 ca 3f 00 00 00 14 91 02 91 93 01 01 ca 40 00 00 00")));
  const m = mirrorOf("07 00 90 92 93 01 01 91 05 93 02 01 91 06");
  m.applyV2(unhex("97 12 c0 08 01 93 01 01 ca 40 00 00 00 91 93 03 02 92 ca 3f 00 00 00 14 91 02"));
  assert.deepEqual(plain(m.state), { 1: { kind: 1, fields: [2] }, 3: { kind: 2, fields: [0.5, 20] } });
  assert.deepEqual(plain(m.state), plain(v1.state));
});

test("a whole float stays a float through deltas that do not change it", () => {
  // [float32 1.0, 10]; then only field 1 changes (+5); then field 0 gets the integer 3,
  // which is the new value (the baseline's 1 is still a float), then the integer +2.
  const m = mirrorOf("01 00 90 91 93 01 00 92 ca 3f 80 00 00 0a");
  m.applyV2(msg("02 01 93 01 02 05"));
  assert.deepEqual(m.state.get(1).fields, [1, 15]);
  m.applyV2(msg("03 01 93 01 01 03"));
  assert.deepEqual(m.state.get(1).fields, [3, 15]);
  m.applyV2(msg("04 01 94 01 03 02 fb"));
  assert.deepEqual(m.state.get(1).fields, [5, 10]);
  // A delta against tick 2 (still held) sees field 0 as the float it was there.
  m.applyV2(msg("05 03 93 01 01 04"));
  assert.deepEqual(m.state.get(1).fields, [4, 15]);
});

test("integers beyond 2^53 sum exactly; fields show what v1's decoding shows", () => {
  // 2^53 + 1 decodes rounded to 2^53, as on v1; the mirror keeps it exactly.
  const big = "cf 00 20 00 00 00 00 00 01";
  const m = mirrorOf(`01 00 90 91 93 01 00 91 ${big}`);
  assert.equal(m.state.get(1).fields[0], decodeMessage(unhex(big)));
  assert.equal(m.state.get(1).fields[0], 2 ** 53);
  // −2: 2^53 − 1, exactly (a rounded baseline would give 2^53 − 2).
  m.applyV2(msg("02 01 93 01 01 fe"));
  assert.equal(m.state.get(1).fields[0], Number.MAX_SAFE_INTEGER);
  assert.equal(typeof m.state.get(1).fields[0], "number");
  // +3 from there: 2^53 + 2, which a double holds.
  m.applyV2(msg("03 01 93 01 01 03"));
  assert.equal(m.state.get(1).fields[0], 2 ** 53 + 2);
  // Against tick 1 again: (2^53 + 1) + 1 = 2^53 + 2 (rounded: 2^53 + 1 → 2^53).
  m.applyV2(msg("04 03 93 01 01 01"));
  assert.equal(m.state.get(1).fields[0], 2 ** 53 + 2);

  // The ends of the ranges: uint64 max − 1 + 1, int64 min + 1 − 1, and back to 0.
  const e = mirrorOf("01 00 90 91 93 01 00 92 cf ff ff ff ff ff ff ff fe d3 80 00 00 00 00 00 00 01");
  e.applyV2(msg("02 01 94 01 03 01 ff"));
  assert.deepEqual(e.state.get(1).fields, [Number(2n ** 64n - 1n), -(2 ** 63)]);
  assert.deepEqual(e.state.get(1).fields, decodeMessage(unhex("92 cf ff ff ff ff ff ff ff ff d3 80 00 00 00 00 00 00 00")));
  // (2^64 − 1) − (2^63 − 1) = 2^63, exactly; int64 min + (2^63 − 1) = −1.
  e.applyV2(msg("03 01 94 01 03 d3 80 00 00 00 00 00 00 01 cf 7f ff ff ff ff ff ff ff"));
  assert.deepEqual(e.state.get(1).fields, [2 ** 63, -1]);
  // 2^63 − (2^63 − 1) = 1: exact only if 2^63 was.
  e.applyV2(msg("04 01 93 01 01 d3 80 00 00 00 00 00 00 01"));
  assert.deepEqual(e.state.get(1).fields, [1, -1]);
});

// state/deltav2_test.go's TestMirrorApplyV2Rejects, and more: a refused message leaves the
// mirror as it was. The base, tick 5: entity 1 [1, 2], entity 2 [uint64 max, int64 min].
const base = "05 00 90 92 93 01 00 92 01 02 93 02 00 92 cf ff ff ff ff ff ff ff ff d3 80 00 00 00 00 00 00 00";
const rejects = [
  ["empty", "", "malformed"],
  ["tick 0", "00 00 90", "malformed"],
  ["tick above 32 bits", "cf 00 00 00 01 00 00 00 00 00 90", "malformed"],
  ["offset missing", "06", "malformed"],
  ["offset not an integer", "06 c0 90", "malformed"],
  ["offset equal to tick", "06 06 90", "malformed"],
  ["tick not newer", "05 00 90", "stale"],
  ["unknown baseline", "07 03 90", "baseline"],
  ["v1 body", "95 06 01 90 90 90", "malformed"],
  ["trailing byte", "06 01 90 90 90 00", "malformed"],
  ["changed holds only an id", "06 01 91 01", "malformed"],
  ["changed mask 0", "06 01 92 01 00", "malformed"],
  ["changed mask names more values than follow", "06 01 93 01 03 05", "malformed"],
  ["changed ids descending", "06 01 96 02 01 05 01 01 05", "malformed"],
  ["changed id twice", "06 01 96 01 01 05 01 02 05", "malformed"],
  ["changed unknown id", "06 01 93 03 01 05", "malformed"],
  ["changed ends with a lone id", "06 01 94 01 01 05 02", "malformed"],
  ["changed mask beyond the fields", "06 01 93 01 04 05", "malformed"],
  ["changed mask not an integer", "06 01 93 01 a1 61 05", "malformed"],
  ["changed and removed", "06 01 93 01 01 05 90 91 01", "malformed"],
  ["changed and added", "06 01 93 01 01 05 91 93 01 00 92 01 02", "malformed"],
  ["a valid entry before a bad one", "06 01 96 01 01 05 02 00 05", "malformed"],
  ["difference above int64", "06 01 93 01 01 cf 80 00 00 00 00 00 00 00", "malformed"],
  ["sum above uint64", "06 01 93 02 01 01", "malformed"],
  ["sum below int64", "06 01 93 02 02 ff", "malformed"],
  ["changed not an array", "06 01 c0", "malformed"],
];

for (const [name, vals, reason] of rejects) {
  test(`v2 refused, mirror unchanged: ${name}`, () => {
    const m = mirrorOf(base);
    const before = plain(m.state);
    assert.throws(() => m.applyV2(msg(vals)), (e) => e.name === "SnapshotError" && e.reason === reason);
    assert.equal(m.tick, 5);
    assert.deepEqual(plain(m.state), before);
    // And it still applies a good delta on top afterwards (its scratch is not left dirty).
    m.applyV2(msg("08 03 96 01 02 05 02 02 01"));
    assert.deepEqual(plain(m.state)[1].fields, [1, 7]);
    assert.deepEqual(plain(m.state)[2].fields, [Number(2n ** 64n - 1n), -(2 ** 63) + 1]);
  });
}

test("v2: the bytes must be those of the decoded message given", () => {
  const m = mirrorOf(base);
  const a = msg("06 01 93 01 01 01");
  assert.throws(() => m.applyV2(a, decodeMessage(msg("06 01 96 01 01 01 02 01 01"))), (e) => e.reason === "malformed");
  assert.equal(m.tick, 5);
  m.applyV2(a, decodeMessage(a));
  assert.deepEqual(m.state.get(1).fields, [2, 2]);
});

// ---- the client ---------------------------------------------------------------------

test("the client offers rallypoint.v3, rallypoint.v2 then rallypoint.v1 and accepts each", async (t) => {
  for (const protocol of ["rallypoint.v3", "rallypoint.v2", "rallypoint.v1"]) {
    const { client, ws } = seated(t, protocol);
    assert.deepEqual(ws.protocols, ["rallypoint.v3", "rallypoint.v2", "rallypoint.v1"]);
    assert.equal(client.state, "open");
    assert.equal(client.protocol, protocol);
    assert.equal(ws.closedWith, undefined);
    const joining = client.quickPlay("g");
    ws.deliver([Kind.Joined, 1, "R", 1, "T", 0, 60, 30, ""]);
    await joining;
    // Either snapshot form is taken on either (the length tells them apart).
    ws.deliver([Kind.Snapshot, [2, 0, [[1, 1, [10]]], [], []]]);
    ws.deliver([Kind.Snapshot, null, 4, 2, [1, 1, 5]]);
    assert.deepEqual(client.entities().get(1).fields, [15]);
  }
});

test("a server agreeing to another subprotocol is refused", (t) => {
  const log = [];
  const { FakeWebSocket, sockets } = fakeSocket(log, { protocol: "rallypoint.v4" });
  const client = connect("ws://fake/play", { WebSocket: FakeWebSocket, pingInterval: 0 });
  t.after(() => client.close());
  const errors = [];
  client.on("error", (e) => errors.push(e));
  sockets[0].open();
  assert.deepEqual(sockets[0].closedWith, { code: 1002, reason: "subprotocol" });
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /rallypoint\.v3.*rallypoint\.v2.*rallypoint\.v1/);
});

test("a v2 snapshot's last_seq acknowledges inputs, counted from its baseline's, even when the snapshot is dropped", async (t) => {
  const { client, ws, log } = seated(t, "rallypoint.v2");
  const joining = client.quickPlay("g");
  ws.deliver([Kind.Joined, 1, "R", 1, "T", 0, 60, 30, ""]);
  await joining;
  const seen = [];
  const misses = [];
  const errors = [];
  client.on("snapshot", (s) => seen.push([s.tick, s.baseline, s.lastInputSeq]));
  client.on("baselineMiss", (m) => misses.push([m.tick, m.baseline, m.action]));
  client.on("error", (e) => errors.push(e));
  for (let i = 1; i <= 4; i++) client.sendInput({ i });
  const pending = () => client.pendingInputs().map((p) => p.seq);

  ws.deliver([Kind.Snapshot, 1, 10, 0, [], [[1, 1, [0]]]]); // input 1 applied by tick 10
  assert.deepEqual(seen.at(-1), [10, 0, 1]);
  assert.deepEqual(pending(), [2, 3, 4]);

  ws.deliver([Kind.Snapshot, null, 12, 2, [1, 1, 5]]); // nil: nothing new
  assert.deepEqual(seen.at(-1), [12, 10, 1]);
  assert.deepEqual(client.entities().get(1).fields, [5]);

  ws.deliver([Kind.Snapshot, 1, 12, 2, [1, 1, 5]]); // tick 12 again: dropped, but 1 + 1 is taken
  assert.equal(seen.length, 2);
  assert.deepEqual(pending(), [3, 4], "the dropped snapshot's last_seq was taken");

  log.length = 0;
  ws.deliver([Kind.Snapshot, 1, 16, 2, [1, 1, 1]]); // against 14, never applied: unreadable
  assert.deepEqual(misses, [[16, 14, "reset"]]);
  assert.deepEqual(log.filter((e) => e.sent).map((e) => e.sent), [[Kind.Ack, 0]]);
  assert.deepEqual(pending(), [3, 4], "a last_seq counted from a baseline not held was taken");
  assert.equal(seen.length, 2);

  ws.deliver([Kind.InputAck, 3, 17]); // the separate message still counts on v2
  assert.deepEqual(pending(), [4]);
  ws.deliver([Kind.Snapshot, null, 18, 0, [], [[1, 1, [7]]]]); // the full snapshot asked for: known 0
  assert.deepEqual(seen.at(-1), [18, 0, 3]);

  ws.deliver([Kind.Snapshot, 4, 20, 2, [1, 1, 0x7f]]); // 0 + 4
  assert.deepEqual(seen.at(-1), [20, 18, 4]);
  assert.deepEqual(client.entities().get(1).fields, [7 + 0x7f]);
  assert.deepEqual(pending(), []);

  client.sendInput({ i: 5 });
  ws.deliver([Kind.Snapshot, 1, 22, 2, [1, 1, 1]]); // 4 known at tick 20, its baseline, + 1
  assert.deepEqual(seen.at(-1), [22, 20, 5]);
  assert.deepEqual(pending(), []);
  assert.deepEqual(errors, []);
});

test("a malformed v2 snapshot is an error and changes nothing", async (t) => {
  const { client, ws } = seated(t, "rallypoint.v2");
  const joining = client.quickPlay("g");
  ws.deliver([Kind.Joined, 1, "R", 1, "T", 0, 60, 30, ""]);
  await joining;
  const errors = [];
  client.on("error", (e) => errors.push(e));
  ws.deliver([Kind.Snapshot, null, 10, 0, [], [[1, 1, [0, 1]]]]);
  ws.deliver([Kind.Snapshot, null, 12, 2, [1, 0b11, 5]]); // two bits, one value
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, Code.Malformed);
  assert.equal(client.tick, 10);
  assert.deepEqual(client.entities().get(1).fields, [0, 1]);
});

// Predicted differences (PROTOCOL.md, "The v2 snapshot"): the offset pair names a second
// baseline, and a changed integer is a difference from the value predicted from the two.
test("PROTOCOL.md's predicted example: 97, 100, then 103 + 1", () => {
  const m = mirrorOf("1c 00 90 91 93 01 01 91 61", "1e 02 93 01 01 03"); // ticks 28 [97], 30 [100]
  const a = m.applyV2(example("snapshot-v2-predicted"));
  assert.deepEqual([a.tick, a.baseline], [32, 30]);
  assert.deepEqual(plain(m.state), { 1: { kind: 1, fields: [104] } });
});

// The bytes of Go's AppendDeltaV2Predicted: entity 1 went 0 → −10 over 3 ticks, predicted
// at −10 + trunc(−10 / 3) = −13 a tick later (rounded toward zero, not down), sent as 1
// from −12; its second field stood still at 5 and moved to 6. Entity 2 stepped by 2^21,
// beyond the bound: its difference is from the baseline.
test("predicted differences as Go's encoder writes them", () => {
  const m = mirrorOf("01 00 90 92 93 01 00 92 00 05 93 02 00 91 00", "04 03 96 01 01 f6 02 01 ce 00 20 00 00");
  const a = m.applyV2(msg("05 92 01 03 97 01 03 01 01 02 01 07"));
  assert.deepEqual([a.tick, a.baseline], [5, 4]);
  assert.deepEqual(plain(m.state), { 1: { kind: 0, fields: [-12, 6] }, 2: { kind: 0, fields: [2 ** 21 + 7] } });
});

test("a predicted snapshot needs its second baseline; bad pairs are malformed", () => {
  const m = mirrorOf("01 00 90 92 93 01 00 92 00 05 93 02 00 91 00", "04 03 96 01 01 f6 02 01 ce 00 20 00 00");
  const before = plain(m.state);
  assert.throws(() => m.applyV2(msg("05 92 01 02 97 01 03 01 01 02 01 07")),
    (e) => e.name === "SnapshotError" && e.reason === "baseline" && e.baseline === 2);
  for (const vals of ["05 92 00 03 90", "05 92 01 00 90", "05 92 01 04 90", "05 91 01 90", "05 93 01 03 01 90", "05 92 01 c0 90"]) {
    assert.throws(() => m.applyV2(msg(vals)), (e) => e.name === "SnapshotError" && e.reason === "malformed", vals);
  }
  assert.equal(m.tick, 4);
  assert.deepEqual(plain(m.state), before);
});

test("a v2 event may name its event by index in the join answer's list", async (t) => {
  const { client, ws } = seated(t, "rallypoint.v2");
  const joining = client.quickPlay("g");
  ws.deliver([Kind.Joined, 1, "R", 1, "T", 0, 60, 30, "", null, ["shot", "boom"]]);
  const j = await joining;
  assert.deepEqual(j.events, ["shot", "boom"]);
  const events = [];
  const errors = [];
  client.on("event", (e) => events.push([e.name, e.payload]));
  client.on("error", (e) => errors.push(e.code));
  ws.deliver([Kind.Event, 1, [7, 8]]);
  ws.deliver([Kind.Event, "word", "CAT"]); // a name not listed travels as it is
  ws.deliver([Kind.Event, 2, null]); // no third name: malformed, and not emitted
  assert.deepEqual(events, [["boom", [7, 8]], ["word", "CAT"]]);
  assert.deepEqual(errors, [Code.Malformed]);
});
