// Type-checked, never run (TestTypedUsageChecks in ../../typed_test.go): a page typed by the
// generated declarations of both examples reads named, typed fields, and a wrong name fails.
import type { Client } from "../../dist/rallypoint.js";
import type { Entities, Input, Events, RoomState } from "../../../examples/crossword/web/types";
import type { Entities as SE, Input as SI, Events as SEv } from "../../../examples/shooter/web/types";
declare const client: Client;
for (const e of client.entities<Entities>().values()) {
  if (e.kindName === "cell") { const l: string = e.values.letter; void l; }
  if (e.kindName === "cursor") { const r: number = e.values.row; const g: number = e.get("col"); void r; void g; }
}
const rs = client.roomState<RoomState>();
const w: number | undefined = rs?.width; void w;
client.sendInput<Input>({ kind: "letter", row: 0, col: 1, letter: "A" });
client.sendInput<SI>([1, 2, 0]);
client.onEvent<Events["word"]>("word", (p) => { const n: number = p.points; void n; });
client.onEvent<SEv["kill"]>("kill", (p) => { const s: string = p[2]; void s; });
const s = client.interpolated<SE>(0, (_k, name) => (name === "player" ? ["x", "y"] : []));
if (s) for (const e of s.entities.values()) if (e.kindName === "player") { const h: number = e.values.health; void h; }
// @ts-expect-error: not a field of a cell
for (const e of client.entities<Entities>().values()) if (e.kindName === "cell") void e.values.row;
