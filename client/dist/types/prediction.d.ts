/** Input numbering and bookkeeping for client-side prediction and reconciliation. */
/** An input sent to the server and not yet acknowledged. */
export interface PendingInput<I = unknown> {
    /** Its sequence number (from 1, per connection). */
    readonly seq: number;
    /** The input as the game defines it. */
    readonly input: I;
    /** The local time it was sent (ms). */
    readonly sentAt: number;
}
/**
 * Numbers inputs and keeps those the server has not applied yet. The server echoes the
 * highest applied `seq` in `[19, last_seq, tick]` right before a snapshot whenever it changed: the
 * authoritative state of that snapshot already contains every input up to `last_seq`, so
 * the local prediction is that state with the pending inputs re-applied on top
 * ({@link InputBuffer.reconcile}).
 */
export declare class InputBuffer<I = unknown> {
    private seq;
    private acked;
    private ackTick;
    private readonly queue;
    /** Numbers a new input and keeps it as pending; returns its seq. */
    add(input: I, sentAt?: number): number;
    /** Handles `[19, last_seq, tick]`: drops every input up to `lastSeq`. */
    ack(lastSeq: number, tick: number): void;
    /** The highest seq the server has applied, and the snapshot tick it said so in. */
    get lastAck(): {
        seq: number;
        tick: number;
    };
    /** The seq of the last input numbered (0 before the first). */
    get lastSeq(): number;
    /** The inputs not yet acknowledged, oldest first (a copy). */
    pending(): PendingInput<I>[];
    /**
     * Re-applies the pending inputs, oldest first, on top of an authoritative state and
     * returns the predicted state. `apply` is the game's own simulation step for one input;
     * it should not mutate `state` (or `authoritative` must be a copy the game owns).
     */
    reconcile<S>(authoritative: S, apply: (state: S, input: I, seq: number) => S): S;
    /**
     * Starts numbering from 1 again and forgets every pending input: seq counts per
     * connection, and after a resume it is unknown which of them the server applied.
     */
    reset(): void;
}
