// The SDK against the byte examples of PROTOCOL.md: what it encodes and what it decodes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SnapshotMirror, decodeMessage, encodeMessage, Kind } from "../dist/rallypoint.js";
import { example, examples, hex } from "./examples.mjs";

test("PROTOCOL.md examples are found", () => {
  assert.ok(examples.size >= 25, `only ${examples.size} examples`);
});

test("client messages encode to the documented bytes", () => {
  const cases = {
    join: [1, 1, { game: "tally" }],
    "join-resume": [1, 2, { token: "abc" }],
    leave: [2],
    input: [3, 7, { add: 3 }],
    ack: [4, 30],
    "input-ack": [3, 8, { add: 3 }, 30],
    "input-view": [3, 9, { add: 3 }, null, [100, 2, 500]],
    request: [5, 3, "total", null],
    ping: [6, 1500.25],
    "join-code": [1, 2, { code: "k7qx2m" }],
    "join-reserved": [1, 3, { reservation: "abc" }],
    cancel: [8, 5, "t1"],
    lobby: [9, 6, "duel"],
  };
  for (const [name, msg] of Object.entries(cases)) {
    assert.equal(hex(encodeMessage(msg)), hex(example(name)), name);
  }
});

test("match decodes to what the SDK sends (integers may be encoded as integers)", () => {
  // The Go encoder writes rating 1500 as a float64; the SDK writes it as an integer, which
  // the server accepts ("clients should accept every integer encoding", and so does it).
  assert.deepEqual(decodeMessage(example("match")), [7, 4, { game: "duel", numbers: { rating: 1500 } }]);
  assert.deepEqual(decodeMessage(encodeMessage([7, 4, { game: "duel", numbers: { rating: 1500 } }])), decodeMessage(example("match")));
});

test("server messages decode", () => {
  assert.deepEqual(decodeMessage(example("joined")), [Kind.Joined, 1, "R", 1, "T", 0, 60, 30, ""]);
  assert.deepEqual(decodeMessage(example("joined-private")), [Kind.Joined, 1, "R", 1, "T", 0, 60, 30, "K7QX2M"]);
  assert.deepEqual(decodeMessage(example("matched")), [Kind.Matched, "t1", "R", "abc", 15000]);
  assert.deepEqual(decodeMessage(example("room")), [
    Kind.Room,
    0,
    { id: "R", game: "duel", players: 1, held: 0, max_players: 2, locked: false, metadata: null },
  ]);
  assert.deepEqual(decodeMessage(example("inputack")), [Kind.InputAck, 7, 30]);
  assert.deepEqual(decodeMessage(example("event")), [Kind.Event, "solved", "CAT"]);
  assert.deepEqual(decodeMessage(example("response")), [Kind.Response, 3, 0, 30]);
  assert.deepEqual(decodeMessage(example("error")), [Kind.Error, 1, "bad"]);
  assert.deepEqual(decodeMessage(example("pong")), [Kind.Pong, 1500.25, 1700000000000.5, 30]);
  assert.deepEqual(decodeMessage(example("left")), [Kind.Left, 9, "room empty"]);
});

function plain(state) {
  return Object.fromEntries([...state].map(([id, e]) => [id, { kind: e.kind, fields: [...e.fields] }]));
}

test("the full and delta snapshot examples apply to the documented states", () => {
  const m = new SnapshotMirror();
  const full = decodeMessage(example("snapshot-full"));
  assert.equal(full[0], Kind.Snapshot);
  const a = m.apply(full[1]);
  assert.equal(a.tick, 30);
  assert.equal(a.baseline, 0);
  assert.deepEqual(plain(m.state), {
    1: { kind: 1, fields: [1, 2, 100] },
    2: { kind: 1, fields: [5, 5, 100] },
  });
  const delta = decodeMessage(example("snapshot-delta"));
  const b = m.apply(delta[1]);
  assert.equal(b.tick, 32);
  assert.equal(b.baseline, 30);
  assert.deepEqual(plain(m.state), {
    1: { kind: 1, fields: [1.5, 2, 100] },
    3: { kind: 2, fields: [0, 0, 1] },
  });
  // The baseline state is untouched, and still available for another delta against 30.
  assert.deepEqual(plain(m.stateAt(30)), {
    1: { kind: 1, fields: [1, 2, 100] },
    2: { kind: 1, fields: [5, 5, 100] },
  });
  assert.equal(m.tick, 32);
});

test("a delta against an older acknowledged tick applies after newer ones", () => {
  const m = new SnapshotMirror();
  m.apply(decodeMessage(example("snapshot-full"))[1]); // 30
  m.apply([31, 30, [], [], [[2, 0b100, 90]]]); // 31: entity 2 hp 90
  // 33 is a delta against 30 (31's ack was lost or late).
  m.apply([33, 30, [], [1], []]);
  assert.deepEqual(plain(m.state), { 2: { kind: 1, fields: [5, 5, 100] } });
});

test("errors leave the mirror unchanged", () => {
  const m = new SnapshotMirror();
  m.apply(decodeMessage(example("snapshot-full"))[1]);
  const before = plain(m.state);
  const bad = [
    [[40, 7, [], [], []], "baseline"], // unknown baseline
    [[30, 0, [], [], []], "stale"], // not newer
    [[41, 30, [], [], [[9, 1, 0]]], "malformed"], // changed entity not in baseline
    [[42, 30, [], [], [[1, 0b1000, 0]]], "malformed"], // mask beyond the fields
    [[43, 30, [], [], [[1, 0b11, 0]]], "malformed"], // fewer values than bits
    [[44, 30, [], [], [[1, 0b1, 0, 0]]], "malformed"], // more values than bits
    [[45, 30, [[1, 1]], [], []], "malformed"],
    [[0, 0, [], [], []], "malformed"],
    [[46, 46, [], [], []], "malformed"],
    ["nope", "malformed"],
  ];
  for (const [body, reason] of bad) {
    assert.throws(() => m.apply(body), (e) => e.reason === reason, JSON.stringify(body));
    assert.deepEqual(plain(m.state), before);
    assert.equal(m.tick, 30);
  }
});

test("the ring keeps the last `capacity` states", () => {
  const m = new SnapshotMirror(4);
  m.apply([1, 0, [[1, 0, [0]]], [], []]);
  for (let t = 2; t <= 10; t++) m.apply([t, t - 1, [], [], [[1, 1, t]]]);
  assert.equal(m.stateAt(6), undefined);
  assert.deepEqual(m.stateAt(7).get(1).fields, [7]);
  assert.deepEqual(m.state.get(1).fields, [10]);
  assert.throws(() => m.apply([11, 5, [], [], []]), (e) => e.reason === "baseline");
});
