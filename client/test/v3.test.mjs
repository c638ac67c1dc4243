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

// AppendDeltaV2 and AppendDeltaV3 over two entities: 1 runs at a steady speed in y and
// turns by 1 in x; 2 moved from 7 to 9 and stopped there.
const full1 = "96 12 c0 01 00 90 92 93 01 00 93 cd 03 e8 cd 13 88 64 93 02 00 92 07 a1 61"; // tick 1
const delta3 = "95 12 c0 03 02 97 01 03 cc 82 d1 ff 7e 02 01 02"; // tick 3 against 1
const v3At5 = "95 12 c0 05 92 02 02 96 01 01 01 02 01 fe"; // tick 5 against 3 and 1

test("the mirror applies v3's corrections to what it predicts", () => {
  const m = new SnapshotMirror();
  m.applyV2(unhex(full1), undefined, true);
  m.applyV2(unhex(delta3), undefined, true);
  const applied = m.applyV2(unhex(v3At5), undefined, true);
  assert.equal(applied.tick, 5);
  assert.equal(applied.baseline, 3);
  // y went on from 4870 by −130 unlisted; x was predicted at 1260 and corrected by 1; 2 was
  // predicted at 11 and corrected by −2.
  assert.deepEqual(plain(applied.state), { 1: [1261, 4740, 100], 2: [9, "a"] });
});

test("the same bytes on v2 mean another state: the wire is the connection's", () => {
  const m = new SnapshotMirror();
  m.applyV2(unhex(full1));
  m.applyV2(unhex(delta3));
  // On v2 an unlisted field keeps its baseline value.
  assert.deepEqual(plain(m.applyV2(unhex(v3At5)).state), { 1: [1261, 4870, 100], 2: [9, "a"] });
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
  const applied = m.applyV2(unhex("97 12 c0 05 92 02 02 90 91 93 02 00 92 09 a1 62 91 01"), undefined, true);
  assert.deepEqual(plain(applied.state), { 2: [9, "b"] });
});

test("the client reads its v3 connection's snapshots with predictions", async (t) => {
  for (const [protocol, want] of [
    ["rallypoint.v3", [1261, 4740, 100]],
    ["rallypoint.v2", [1261, 4870, 100]],
  ]) {
    const { client, ws } = seated(t, protocol);
    const joining = client.quickPlay("g");
    ws.deliver([Kind.Joined, 1, "R", 1, "T", 0, 60, 30, ""]);
    await joining;
    ws.deliver([Kind.Snapshot, null, 1, 0, [], [[1, 0, [1000, 5000, 100]], [2, 0, [7, "a"]]]]);
    ws.deliver([Kind.Snapshot, null, 3, 2, [1, 3, 130, -130, 2, 1, 2]]);
    ws.deliver([Kind.Snapshot, null, 5, [2, 2], [1, 1, 1, 2, 1, -2]]);
    assert.equal(client.protocol, protocol);
    assert.deepEqual([...client.entities().get(1).fields], want, protocol);
    assert.deepEqual([...client.entities().get(2).fields], [9, "a"], protocol);
  }
});
