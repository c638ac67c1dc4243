/**
 * The snapshot mirror: applies full and delta snapshot bodies exactly as PROTOCOL.md
 * ("Snapshots") describes, and keeps the states of recent ticks as delta baselines.
 */
import { type Entity, type Schema } from "./schema.js";
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
export declare class SnapshotError extends Error {
    /** "malformed", "stale" (not newer than the latest state) or "baseline" (unknown baseline). */
    readonly reason: "malformed" | "stale" | "baseline";
    /** The body's tick, when it was read (0 otherwise). */
    readonly tick: number;
    /** For "baseline": the tick the body is a delta against, which the mirror does not hold. */
    readonly baseline: number;
    constructor(reason: "malformed" | "stale" | "baseline", message: string, tick?: number, baseline?: number);
}
/**
 * Keeps the replicated state: the latest tick and a ring of the states of the last
 * `capacity` applied ticks (the Go client keeps 128), so that a delta against any recently
 * acknowledged tick can be applied even when newer snapshots were lost or replaced.
 */
export declare class SnapshotMirror {
    private readonly capacity;
    private readonly states;
    private latestTick;
    /**
     * The schema entities are named with (the client sets the room's from its join answer);
     * undefined: fields by index only. Entities made before a change keep their names.
     */
    schema: Schema | undefined;
    /** @param capacity - how many recent states to keep as baselines (default 128). */
    constructor(capacity?: number);
    /** The tick of the latest applied snapshot, 0 before the first. */
    get tick(): number;
    /** The latest state (empty before the first snapshot). */
    get state(): State;
    /** The state at `tick`, if the ring still holds it. */
    stateAt(tick: number): State | undefined;
    /** Forgets every state (a join or resume starts again from a full snapshot). */
    reset(): void;
    /**
     * Applies one decoded snapshot body `[tick, baseline, added, removed, changed]`: start
     * from the state at `baseline` (empty for 0), drop `removed`, overwrite with `added`,
     * patch `changed`. On error the mirror is unchanged and a {@link SnapshotError} is thrown.
     */
    apply(body: unknown): AppliedSnapshot;
}
