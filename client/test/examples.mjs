// The byte examples of PROTOCOL.md (repository root), by name: <!-- example NAME --> blocks.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const doc = readFileSync(fileURLToPath(new URL("../../PROTOCOL.md", import.meta.url)), "utf8");

/** @type {Map<string, Uint8Array>} */
export const examples = new Map();
for (const m of doc.matchAll(/<!-- example ([\w-]+) -->\s*```\n([0-9a-f \n]+)```/g)) {
  examples.set(m[1], Uint8Array.from(m[2].trim().split(/\s+/), (h) => parseInt(h, 16)));
}

/** The bytes of example `name`; throws if PROTOCOL.md has no such example. */
export function example(name) {
  const b = examples.get(name);
  if (b === undefined) throw new Error(`PROTOCOL.md has no example ${name}`);
  return b;
}

export function hex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

/**
 * The full snapshot example, `[18, [tick, 0, added, [], []]]` on v1, as a v2 server sends
 * it: `[18, nil, tick, 0, [], added]` (changed first and empty, removed left out), the
 * body's bytes moved into place.
 */
export function v2FullExample() {
  const v1 = example("snapshot-full"); // 92 12 95 tick 00 added 90 90 (removed, changed)
  const tickLen = { 0xcc: 2, 0xcd: 3, 0xce: 5 }[v1[3]] ?? 1;
  if (v1[3 + tickLen] !== 0 || v1.at(-1) !== 0x90 || v1.at(-2) !== 0x90) {
    throw new Error("snapshot-full is not a full snapshot whose removed and changed are empty");
  }
  const added = v1.subarray(3 + tickLen + 1, v1.length - 2);
  return Uint8Array.of(0x96, 0x12, 0xc0, ...v1.subarray(3, 3 + tickLen + 1), 0x90, ...added);
}
