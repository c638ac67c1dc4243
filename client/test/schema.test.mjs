// Named fields: the schema of the join answer (PROTOCOL.md, "Schema"), entities with
// kindName and values, the room state, and interpolation by field name. Driven by a fake
// socket with the byte examples of PROTOCOL.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, decodeMessage, interpolate, Kind, ROOM_ID, Schema, SnapshotMirror } from "../dist/rallypoint.js";
import { example } from "./examples.mjs";
import { fakeSocket } from "./fake.mjs";

async function joinedWith(t, joined) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  const { FakeWebSocket, sockets } = fakeSocket([]);
  const client = connect("ws://fake/play", { WebSocket: FakeWebSocket, pingInterval: 0 });
  const ws = sockets[0];
  ws.open();
  const joining = client.quickPlay("g");
  ws.deliver(joined);
  const j = await joining;
  return { client, ws, j };
}

test("the schema of the join answer names the fields of the snapshots, and the room state is client.room", async (t) => {
  const { client, ws, j } = await joinedWith(t, decodeMessage(example("joined-schema")));
  assert.equal(j.code, "");
  assert.ok(j.schema instanceof Schema);
  assert.deepEqual([...j.schema.kinds.keys()], [0, 1]);
  assert.equal(j.schema.kind("unit").kind, 1);
  assert.deepEqual(j.schema.kind("unit").fields, [{ name: "x", type: "float" }, { name: "hp", type: "int" }]);
  assert.equal(j.schema.fieldIndex(1, "hp"), 1);
  assert.equal(j.schema.fieldIndex(1, "nope"), -1);
  assert.equal(client.schema, j.schema);

  ws.deliver(decodeMessage(example("snapshot-room")));
  const unit = client.entities().get(1);
  assert.equal(unit.kindName, "unit");
  assert.deepEqual(unit.values, { x: 1.5, hp: 100 });
  assert.equal(unit.get("hp"), 100);
  assert.deepEqual(unit.fields, [1.5, 100]); // still by index
  assert.equal(client.room, client.entities().get(ROOM_ID));
  assert.equal(client.room.kindName, "room");
  assert.deepEqual(client.roomState(), { clock: 90 });

  // A delta keeps the names: hp of unit 1 changes, and the room's clock.
  ws.deliver([Kind.Snapshot, [6, 5, [], [], [[1, 0b10, 99], [ROOM_ID, 1, 91]]]]);
  assert.deepEqual(client.entities().get(1).values, { x: 1.5, hp: 99 });
  assert.deepEqual(client.roomState(), { clock: 91 });
  client.close();
});

test("without a schema (an older server, or a game that declares none) fields are by index and values empty", async (t) => {
  const { client, ws, j } = await joinedWith(t, decodeMessage(example("joined")));
  assert.equal(j.schema, undefined);
  ws.deliver(decodeMessage(example("snapshot-full")).slice(0, 2));
  const e = client.entities().get(1);
  assert.equal(e.kindName, "");
  assert.deepEqual(e.values, {});
  assert.deepEqual(e.fields, [1, 2, 100]);
  assert.equal(client.room, undefined);
  assert.equal(client.roomState(), undefined);
  client.close();
});

test("Schema.parse takes only the documented form", () => {
  const bad = [
    null,
    "x",
    [[1, "a"]], // no fields
    [[256, "a", []]], // kind out of range
    [[-1, "a", []]],
    [["1", "a", []]],
    [[1, 2, []]], // name not a string
    [[1, "a", [[3, "int"]]]], // field name not a string
  ];
  for (const v of bad) assert.equal(Schema.parse(v), undefined, JSON.stringify(v));
  const s = Schema.parse([[1, "a", [["x", "int"], ["y"]]]]);
  assert.deepEqual(s.kind("a").fields, [{ name: "x", type: "int" }, { name: "y", type: "any" }]);
});

test("an entity with fewer or more fields than declared keeps every field by index", () => {
  const m = new SnapshotMirror();
  m.schema = Schema.parse([[1, "p", [["x", "float"], ["y", "float"]]]]);
  m.apply([1, 0, [[1, 1, [5]], [2, 1, [1, 2, 3]]], [], []]);
  assert.deepEqual(m.state.get(1).values, { x: 5, y: undefined });
  assert.deepEqual(m.state.get(2).values, { x: 1, y: 2 });
  assert.deepEqual(m.state.get(2).fields, [1, 2, 3]);
});

test("interpolate blends fields named in the schema, and the result keeps the names", () => {
  const m = new SnapshotMirror();
  m.schema = Schema.parse([[1, "p", [["name", "string"], ["x", "float"], ["y", "float"]]]]);
  const from = m.apply([1, 0, [[1, 1, ["a", 0, 10]]], [], []]).state;
  const to = m.apply([2, 1, [], [], [[1, 0b110, 10, 20]]]).state;
  const s = { from: { tick: 1, time: 0, state: from }, to: { tick: 2, time: 10, state: to }, t: 0.5 };
  const byName = interpolate(s, (kind, name) => (name === "p" ? ["x", "y", "nope"] : [])).get(1);
  assert.deepEqual(byName.values, { name: "a", x: 5, y: 15 });
  assert.equal(byName.kindName, "p");
  assert.deepEqual(interpolate(s, [1]).get(1).values, { name: "a", x: 5, y: 10 }); // by index still
});
