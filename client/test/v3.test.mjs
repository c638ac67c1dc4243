// The rallypoint.v3 wire (PROTOCOL.md, "The v3 snapshot"): a snapshot against two baselines
// lists only what its prediction missed. The mirror against the Go encoder's bytes
// (state/exact_test.go, PROTOCOL.md's example) and the client on a v3 connection.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kind, SnapshotMirror, SUBPROTOCOL_V3 } from "../dist/rallypoint.js";
import { example } from "./examples.mjs";
import { seated } from "./fake.mjs";

const unhex = (s) => Uint8Array.from(s.split(/\s+/).filter(Boolean), (h) => parseInt(h, 16));

function plain(state) {
  return Object.fromEntries([...state].map(([id, e]) => [id, [...e.fields]]));
}

test("the subprotocol name", () => {
  assert.equal(SUBPROTOCOL_V3, "rallypoint.v3");
});

// AppendDeltaV2 and AppendDeltaV3 over three entities: 1 runs at a steady speed in y and
// turns by 1 in x; 2 moved from 7 to 9 and stopped there; 3 moves steadily. The exact
// snapshot (offset2 −2) lists 1's x and 2's correction, and leaves 3 out.
const full1 = "96 12 c0 01 00 90 93 93 01 00 93 cd 03 e8 cd 13 88 64 93 02 00 92 07 a1 61 93 03 00 92 32 3c"; // tick 1
const delta3 = "95 12 c0 03 02 9b 01 03 cc 82 d1 ff 7e 02 01 02 03 03 02 03"; // tick 3 against 1
const v3At5 = "95 12 c0 05 92 02 fe 96 01 01 01 02 01 fe"; // tick 5 against 3 and 1
const want5 = { 1: [1261, 4740, 100], 2: [9, "a"], 3: [54, 66] };

test("the mirror applies v3's corrections to what it predicts", () => {
  const m = new SnapshotMirror();
  m.applyV2(unhex(full1), undefined, true);
  m.applyV2(unhex(delta3), undefined, true);
  const applied = m.applyV2(unhex(v3At5), undefined, true);
  assert.equal(applied.tick, 5);
  assert.equal(applied.baseline, 3);
  // y went on from 4870 by −130 unlisted; x was predicted at 1260 and corrected by 1; 2 was
  // predicted at 11 and corrected by −2; 3 went on from (52, 63) by (2, 3) unlisted.
  assert.deepEqual(plain(applied.state), want5);
});

test("a snapshot with a positive offset2 reads as on v2 on a v3 connection", () => {
  const m = new SnapshotMirror();
  m.applyV2(unhex(full1), undefined, true);
  m.applyV2(unhex(delta3), undefined, true);
  // AppendDeltaV2Predicted's bytes for the same tick: every field that differs from the
  // baseline is listed (3's as residuals of 0), an unlisted one keeps its baseline value.
  const v2At5 = "95 12 c0 05 92 02 02 98 01 03 01 00 03 03 00 00";
  assert.deepEqual(plain(m.applyV2(unhex(v2At5), undefined, true).state), want5);
});

test("off v3, a negative offset2 is malformed", () => {
  const m = new SnapshotMirror();
  m.applyV2(unhex(full1));
  m.applyV2(unhex(delta3));
  assert.throws(() => m.applyV2(unhex(v3At5)), (e) => e.reason === "malformed");
  assert.equal(m.tick, 3);
});

test("PROTOCOL.md's v3 example: a steady field is left out", () => {
  // The field was 97 at tick 28, 100 at tick 30, and is 103 at tick 32, where it was
  // predicted: nothing is listed.
  const m = new SnapshotMirror();
  m.applyV2(unhex("96 12 c0 1c 00 90 91 93 01 01 91 61")); // tick 28: entity 1, kind 1, [97]
  m.applyV2(unhex("95 12 c0 1e 02 93 01 01 03")); // tick 30: +3
  const applied = m.applyV2(example("snapshot-v3-steady"), undefined, true);
  assert.equal(applied.tick, 32);
  assert.deepEqual(plain(applied.state), { 1: [103] });
});

test("a v3 entity removed, or sent whole, is not predicted", () => {
  const m = new SnapshotMirror();
  m.applyV2(unhex(full1), undefined, true);
  m.applyV2(unhex(delta3), undefined, true);
  // tick 5: 1 removed, 2 added again whole as [9, "b"] (an array of 7: changed, added, removed).
  const applied = m.applyV2(unhex("97 12 c0 05 92 02 fe 90 91 93 02 00 92 09 a1 62 91 01"), undefined, true);
  assert.deepEqual(plain(applied.state), { 2: [9, "b"], 3: [54, 66] });
});

test("the client reads its v3 connection's snapshots with predictions", async (t) => {
  for (const protocol of ["rallypoint.v3", "rallypoint.v2"]) {
    const { client, ws } = seated(t, protocol);
    const joining = client.quickPlay("g");
    ws.deliver([Kind.Joined, 1, "R", 1, "T", 0, 60, 30, ""]);
    await joining;
    ws.deliver([Kind.Snapshot, null, 1, 0, [], [[1, 0, [1000, 5000, 100]], [2, 0, [7, "a"]]]]);
    ws.deliver([Kind.Snapshot, null, 3, 2, [1, 3, 130, -130, 2, 1, 2]]);
    ws.deliver([Kind.Snapshot, null, 5, [2, -2], [1, 1, 1, 2, 1, -2]]);
    assert.equal(client.protocol, protocol);
    if (protocol === "rallypoint.v3") {
      assert.equal(client.tick, 5);
      assert.deepEqual([...client.entities().get(1).fields], [1261, 4740, 100]);
      assert.deepEqual([...client.entities().get(2).fields], [9, "a"]);
    } else {
      // v2 has no exact snapshots: the message is malformed, and the state stays at tick 3.
      assert.equal(client.tick, 3, protocol);
    }
  }
});
