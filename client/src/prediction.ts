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
export class InputBuffer<I = unknown> {
  private seq = 0;
  private acked = 0;
  private ackTick = 0;
  private readonly queue: PendingInput<I>[] = [];

  /** Numbers a new input and keeps it as pending; returns its seq. */
  add(input: I, sentAt = 0): number {
    this.seq++;
    this.queue.push({ seq: this.seq, input, sentAt });
    return this.seq;
  }

  /** Handles `[19, last_seq, tick]`: drops every input up to `lastSeq`. */
  ack(lastSeq: number, tick: number): void {
    if (lastSeq < this.acked) return; // stale or repeated
    this.acked = lastSeq;
    this.ackTick = tick;
    let n = 0;
    while (n < this.queue.length && this.queue[n].seq <= lastSeq) n++;
    if (n > 0) this.queue.splice(0, n);
  }

  /** The highest seq the server has applied, and the snapshot tick it said so in. */
  get lastAck(): { seq: number; tick: number } {
    return { seq: this.acked, tick: this.ackTick };
  }

  /** The seq of the last input numbered (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  /** The inputs not yet acknowledged, oldest first (a copy). */
  pending(): PendingInput<I>[] {
    return this.queue.slice();
  }

  /**
   * Re-applies the pending inputs, oldest first, on top of an authoritative state and
   * returns the predicted state. `apply` is the game's own simulation step for one input;
   * it should not mutate `state` (or `authoritative` must be a copy the game owns).
   */
  reconcile<S>(authoritative: S, apply: (state: S, input: I, seq: number) => S): S {
    let s = authoritative;
    for (const p of this.queue) s = apply(s, p.input, p.seq);
    return s;
  }

  /**
   * Starts numbering from 1 again and forgets every pending input: seq counts per
   * connection, and after a resume it is unknown which of them the server applied.
   */
  reset(): void {
    this.seq = 0;
    this.acked = 0;
    this.ackTick = 0;
    this.queue.length = 0;
  }
}
