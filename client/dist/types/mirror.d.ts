/**
 * The snapshot mirror: applies full and delta snapshot bodies exactly as PROTOCOL.md
 * ("Snapshots", "The v2 snapshot") describes, and keeps the states of recent ticks as delta
 * baselines.
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
    /** The input seq known at each state's tick: the one its snapshot carried, or its baseline's. */
    private readonly known;
    private latestTick;
    /**
     * The schema entities are named with (the client sets the room's from its join answer);
     * undefined: fields by index only. Entities made before a change keep their names.
     */
    schema: Schema | undefined;
    /**
     * For the entities applyV2 made whose decoded fields mislead (see misleads): every field's
     * integer, so that a later v2 difference adds to the right value of the right type. Most
     * entities have none, and cost nothing; an entity that leaves every state is forgotten.
     */
    private readonly exact;
    /** applyV2's scratch: the reader of the message's integers, and what it read. */
    private readonly reader;
    private readonly ints;
    /** applyV2's scratch: the new integers of one changed entity, by field index. */
    private readonly fieldInts;
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
     * The input acknowledgement a v2 snapshot message carries, decoded: its `last_seq` is the
     * number of inputs applied since the seq known at the snapshot's baseline (PROTOCOL.md,
     * "The v2 snapshot"), so this is that seq plus it. Undefined when the message carries
     * none, or names a baseline the mirror does not hold (the next snapshot carries it again).
     */
    lastSeq(msg: readonly unknown[]): number | undefined;
    /**
     * The state a snapshot of `tick` patches: empty for baseline 0, else the kept state of
     * `baseline`. Throws a "stale" SnapshotError for a tick not after the latest and a
     * "baseline" one for a baseline the mirror no longer (or never) held.
     */
    private baseFor;
    /**
     * Applies one decoded snapshot body `[tick, baseline, added, removed, changed]`: start
     * from the state at `baseline` (empty for 0), drop `removed`, overwrite with `added`,
     * patch `changed`. On error the mirror is unchanged and a {@link SnapshotError} is thrown.
     */
    apply(body: unknown): AppliedSnapshot;
    /**
     * Applies one rallypoint.v2 snapshot message, `[18, last_seq, tick, offset, changed,
     * added, removed]` (PROTOCOL.md, "The v2 snapshot"), as received: the baseline is
     * `tick - offset` (none for offset 0), changed is one flat list of id, mask and values,
     * added and removed may be left out (empty), and a changed value that is a msgpack
     * integer, where the baseline's field is one too, is the difference from it, or from the
     * value predicted from it and the second baseline's when the offset is a pair
     * `[offset, offset2]`. `last_seq` is the caller's (the client takes it as an input
     * acknowledgement). On error the mirror is unchanged and a {@link SnapshotError} is thrown.
     *
     * The mirror reads the bytes besides the decoded message, because decoding loses what the
     * rule needs: a float 2.0 decodes as 2, as the integer 2 does, and an integer beyond 2^53
     * decodes rounded. Fields are the same values v1 gives (numbers, integers beyond 2^53
     * rounded as decodeMessage rounds them) while the mirror keeps those integers exactly for
     * the sums. A mirror follows one wire: a v1 body carries no types, so the v2 deltas against
     * the states it made would take every decoded integer for a msgpack integer (the client
     * starts its mirror afresh on every join, and the wire is fixed per connection).
     *
     * @param message - the message's bytes.
     * @param decoded - `decodeMessage(message)`, when the caller has it already (the client
     *   does, having read its kind); decoded here otherwise.
     * @param v3 - the connection speaks rallypoint.v3 (PROTOCOL.md, "The v3 snapshot"): in a
     *   snapshot whose offset2 is negative (exact), an entity or field the message does not
     *   list is where it was predicted to be, and a listed integer is the difference from
     *   that prediction. Elsewhere a negative offset2 is malformed.
     */
    applyV2(message: Uint8Array, decoded?: unknown, v3?: boolean): AppliedSnapshot;
    /**
     * Reads into this.ints the integers of every value of a v2 snapshot message's changed list,
     * then of its added fields (see {@link IntReader}). Returns how many, or -1 if the bytes
     * are not such a message.
     */
    private scanInts;
    /**
     * Entity `old` with the fields the mask (`lo`, `hi`; `nv` bits) names set from
     * `changed[at...]`, whose integers are `this.ints[intAt...]`: an integer where `old` holds
     * an integer is a difference, anything else the new value.
     */
    private patch;
    /**
     * On v3, entity `old` of the baseline where it was heading: each integer field predicted
     * from its value at the baseline and at the second baseline (as {@link patch} predicts a
     * listed one), for an entity at both with the same kind and number of fields (at most 64).
     * `old` itself when nothing moves.
     */
    private predicted;
    /** Makes `next` the state at `tick`, the latest, and lets the oldest state beyond capacity go. */
    private commit;
}
