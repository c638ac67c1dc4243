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
