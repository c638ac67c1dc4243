/**
 * The snapshot mirror: applies full and delta snapshot bodies exactly as PROTOCOL.md
 * ("Snapshots") describes, and keeps the states of recent ticks as delta baselines.
 */

import { makeEntity, type Entity, type Schema } from "./schema.js";

export type { Entity } from "./schema.js";

/**
 * The replicated state at one tick: entity id → entity. Treat it as immutable. With a
 * schema it includes the room state (id ROOM_ID, kindName "room"), as any entity.
 */
export type State = ReadonlyMap<number, Entity>;

/** What one applied snapshot body said, besides the resulting state. */
export interface AppliedSnapshot {
  /** The snapshot's tick. */
  tick: number;
  /** The tick it was a delta against, or 0 for a full snapshot. */
  baseline: number;
  /** The state at `tick`. */
  state: State;
}

/** Why a snapshot body could not be applied. */
export class SnapshotError extends Error {
  /** "malformed", "stale" (not newer than the latest state) or "baseline" (unknown baseline). */
  readonly reason: "malformed" | "stale" | "baseline";
  /** The body's tick, when it was read (0 otherwise). */
  readonly tick: number;
  /** For "baseline": the tick the body is a delta against, which the mirror does not hold. */
  readonly baseline: number;
  constructor(reason: "malformed" | "stale" | "baseline", message: string, tick = 0, baseline = 0) {
    super(`rallypoint: snapshot: ${message}`);
    this.name = "SnapshotError";
    this.reason = reason;
    this.tick = tick;
    this.baseline = baseline;
  }
}

const EMPTY: State = new Map();

function isUint(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

function toUint(v: unknown): number | undefined {
  if (isUint(v)) return v;
  if (typeof v === "bigint" && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return undefined;
}

function malformed(msg: string): SnapshotError {
  return new SnapshotError("malformed", msg);
}

/**
 * Keeps the replicated state: the latest tick and a ring of the states of the last
 * `capacity` applied ticks (the Go client keeps 128), so that a delta against any recently
 * acknowledged tick can be applied even when newer snapshots were lost or replaced.
 */
export class SnapshotMirror {
  private readonly capacity: number;
  private readonly states = new Map<number, State>(); // insertion order = tick order
  private latestTick = 0;
  /**
   * The schema entities are named with (the client sets the room's from its join answer);
   * undefined: fields by index only. Entities made before a change keep their names.
   */
  schema: Schema | undefined;

  /** @param capacity - how many recent states to keep as baselines (default 128). */
  constructor(capacity = 128) {
    this.capacity = Math.max(1, capacity);
  }

  /** The tick of the latest applied snapshot, 0 before the first. */
  get tick(): number {
    return this.latestTick;
  }

  /** The latest state (empty before the first snapshot). */
  get state(): State {
    return this.states.get(this.latestTick) ?? EMPTY;
  }

  /** The state at `tick`, if the ring still holds it. */
  stateAt(tick: number): State | undefined {
    return this.states.get(tick);
  }

  /** Forgets every state (a join or resume starts again from a full snapshot). */
  reset(): void {
    this.states.clear();
    this.latestTick = 0;
  }

  /**
   * Applies one decoded snapshot body `[tick, baseline, added, removed, changed]`: start
   * from the state at `baseline` (empty for 0), drop `removed`, overwrite with `added`,
   * patch `changed`. On error the mirror is unchanged and a {@link SnapshotError} is thrown.
   */
  apply(body: unknown): AppliedSnapshot {
    if (!Array.isArray(body) || body.length !== 5) throw malformed("body is not an array of 5");
    const tick = toUint(body[0]);
    const baseline = toUint(body[1]);
    if (tick === undefined || tick === 0 || tick > 0xffffffff) throw malformed("bad tick");
    if (baseline === undefined || baseline >= tick) throw malformed("bad baseline");
    if (this.latestTick !== 0 && tick <= this.latestTick) {
      throw new SnapshotError("stale", `tick ${tick}, latest ${this.latestTick}`, tick, baseline);
    }
    let base: State = EMPTY;
    if (baseline !== 0) {
      const b = this.states.get(baseline);
      if (b === undefined) throw new SnapshotError("baseline", `unknown baseline tick ${baseline}`, tick, baseline);
      base = b;
    }
    const [, , added, removed, changed] = body as unknown[];
    if (!Array.isArray(added) || !Array.isArray(removed) || !Array.isArray(changed)) {
      throw malformed("added, removed and changed must be arrays");
    }
    const next = new Map<number, Entity>(base);
    for (const r of removed) {
      const id = toUint(r);
      if (id === undefined) throw malformed("bad removed id");
      next.delete(id);
    }
    for (const a of added) {
      if (!Array.isArray(a) || a.length !== 3) throw malformed("added entry is not [id, kind, fields]");
      const id = toUint(a[0]);
      const kind = toUint(a[1]);
      if (id === undefined || kind === undefined || kind > 255 || !Array.isArray(a[2])) {
        throw malformed("bad added entry");
      }
      next.set(id, makeEntity(this.schema, kind, Object.freeze(a[2].slice())));
    }
    for (const c of changed) {
      if (!Array.isArray(c) || c.length < 2) throw malformed("changed entry is not [id, mask, ...]");
      const id = toUint(c[0]);
      let mask = toUint(c[1]);
      if (id === undefined || mask === undefined) throw malformed("bad changed entry");
      const old = next.get(id);
      if (old === undefined) throw malformed(`changed entity ${id} not in baseline`);
      const fields = old.fields.slice();
      let v = 2;
      for (let i = 0; mask > 0; i++, mask = Math.floor(mask / 2)) {
        if (mask % 2 === 0) continue;
        if (i >= fields.length) throw malformed(`entity ${id}: mask names field ${i} of ${fields.length}`);
        if (v >= c.length) throw malformed(`entity ${id}: fewer values than mask bits`);
        fields[i] = c[v++];
      }
      if (v !== c.length) throw malformed(`entity ${id}: more values than mask bits`);
      next.set(id, makeEntity(this.schema, old.kind, Object.freeze(fields)));
    }
    this.states.set(tick, next);
    this.latestTick = tick;
    while (this.states.size > this.capacity) {
      const oldest = this.states.keys().next().value as number;
      this.states.delete(oldest);
    }
    return { tick, baseline, state: next };
  }
}
