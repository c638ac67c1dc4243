/**
 * The snapshot mirror: applies full and delta snapshot bodies exactly as PROTOCOL.md
 * ("Snapshots", "The v2 snapshot") describes, and keeps the states of recent ticks as delta
 * baselines.
 */

import { decodeMessage, IntReader } from "./codec.js";
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
 * A field's value as a msgpack integer, exactly: a number while it is a safe integer, a
 * bigint beyond; undefined when the value is not a msgpack integer.
 */
type Int = number | bigint | undefined;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The integer a field holds, read from its decoded value alone. That is right for an entity
 * the mirror keeps no exact integers for (SnapshotMirror's `exact`): its safe integers are
 * all msgpack integers, and it holds no other integer.
 */
function intOf(v: unknown): Int {
  return typeof v === "number" && Number.isSafeInteger(v) ? v : undefined;
}

/**
 * Whether a field's decoded value `shown` does not tell its integer `n` by itself (see
 * intOf): an integer beyond 2^53 (decoded rounded), or a float with a whole value (decoded
 * as the integer would be).
 */
function misleads(n: Int, shown: unknown): boolean {
  return typeof n === "bigint" || (n === undefined && intOf(shown) !== undefined);
}

/**
 * a + b exactly, as an Int (a safe sum stays a number: no bigint is made for it), or
 * undefined when it is outside what a msgpack integer holds (int64 below, uint64 above).
 */
function addInt(a: number | bigint, b: number | bigint): Int {
  if (typeof a === "number" && typeof b === "number") {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s; // then it is exact
  }
  const s = BigInt(a) + BigInt(b);
  if (s < INT64_MIN || s > UINT64_MAX) return undefined;
  return s >= SAFE_MIN && s <= SAFE_MAX ? Number(s) : s;
}

/** PROTOCOL.md, "The v2 snapshot": the bounds within which a field is predicted. */
const PREDICT_MAX_VALUE = 2 ** 47;
const PREDICT_MAX_STEP = 2 ** 20;
const PREDICT_MAX_GAP = 4096;

/**
 * A predicted snapshot's second baseline: the ticks from the baseline to the snapshot (g1)
 * and from the second baseline to the baseline (g2), and the state there.
 */
interface Gaps {
  g1: number;
  g2: number;
  second: State;
}

/**
 * The value a field that was `b1` at the baseline and `b2` at the second baseline is
 * predicted to have, `b1 + trunc((b1 − b2) × g1 / g2)`, or undefined where it is not
 * predicted (its difference is from b1), as Go's state.Predict. Within the bounds the
 * product is below 2^32 and every step is exact.
 */
function predict(b1: number | bigint, b2: number | bigint, g1: number, g2: number): number | undefined {
  if (typeof b1 !== "number" || typeof b2 !== "number") return undefined; // beyond 2^53: beyond the bounds
  if (Math.abs(b1) > PREDICT_MAX_VALUE || Math.abs(b2) > PREDICT_MAX_VALUE) return undefined;
  const step = b1 - b2;
  if (Math.abs(step) > PREDICT_MAX_STEP) return undefined;
  const a = step * g1;
  return b1 + (a - (a % g2)) / g2;
}

/** The number of bits set in a 32-bit word. */
function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/**
 * Keeps the replicated state: the latest tick and a ring of the states of the last
 * `capacity` applied ticks (the Go client keeps 128), so that a delta against any recently
 * acknowledged tick can be applied even when newer snapshots were lost or replaced.
 */
export class SnapshotMirror {
  private readonly capacity: number;
  private readonly states = new Map<number, State>(); // insertion order = tick order
  /** The input seq known at each state's tick: the one its snapshot carried, or its baseline's. */
  private readonly known = new Map<number, number>();
  private latestTick = 0;
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
  private readonly exact = new WeakMap<Entity, readonly Int[]>();
  /** applyV2's scratch: the reader of the message's integers, and what it read. */
  private readonly reader = new IntReader();
  private readonly ints: Int[] = [];
  /** applyV2's scratch: the new integers of one changed entity, by field index. */
  private readonly fieldInts: Int[] = [];

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
    this.known.clear();
    this.latestTick = 0;
  }

  /**
   * The input acknowledgement a v2 snapshot message carries, decoded: its `last_seq` is the
   * number of inputs applied since the seq known at the snapshot's baseline (PROTOCOL.md,
   * "The v2 snapshot"), so this is that seq plus it. Undefined when the message carries
   * none, or names a baseline the mirror does not hold (the next snapshot carries it again).
   */
  lastSeq(msg: readonly unknown[]): number | undefined {
    const d = toUint(msg[1]);
    const tick = toUint(msg[2]);
    const off = toUint(Array.isArray(msg[3]) ? (msg[3] as unknown[])[0] : msg[3]);
    if (d === undefined || tick === undefined || off === undefined || off > tick) return undefined;
    const known = off === 0 ? 0 : this.known.get(tick - off);
    return known === undefined ? undefined : known + d;
  }

  /**
   * The state a snapshot of `tick` patches: empty for baseline 0, else the kept state of
   * `baseline`. Throws a "stale" SnapshotError for a tick not after the latest and a
   * "baseline" one for a baseline the mirror no longer (or never) held.
   */
  private baseFor(tick: number, baseline: number): State {
    if (this.latestTick !== 0 && tick <= this.latestTick) {
      throw new SnapshotError("stale", `tick ${tick}, latest ${this.latestTick}`, tick, baseline);
    }
    if (baseline === 0) return EMPTY;
    const b = this.states.get(baseline);
    if (b === undefined) throw new SnapshotError("baseline", `unknown baseline tick ${baseline}`, tick, baseline);
    return b;
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
    const base = this.baseFor(tick, baseline);
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
    return this.commit(tick, baseline, next);
  }

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
  applyV2(message: Uint8Array, decoded?: unknown, v3 = false): AppliedSnapshot {
    let msg = decoded;
    if (msg === undefined) {
      try {
        msg = decodeMessage(message);
      } catch {
        throw malformed("not a msgpack message");
      }
    }
    if (!Array.isArray(msg) || msg.length < 5 || msg.length > 7) throw malformed("message is not an array of 5 to 7");
    const tick = toUint(msg[2]);
    if (tick === undefined || tick === 0 || tick > 0xffffffff) throw malformed("bad tick");
    // The offset, or the pair [offset, offset2] that names a second baseline too.
    const pair = Array.isArray(msg[3]) ? (msg[3] as unknown[]) : undefined;
    const offset = toUint(pair !== undefined ? pair[0] : msg[3]);
    if (offset === undefined || offset >= tick) throw malformed("bad offset");
    const baseline = offset === 0 ? 0 : tick - offset;
    const base = this.baseFor(tick, baseline);
    let gaps: Gaps | undefined;
    let exact = false; // a v3 snapshot whose offset2 is negative
    if (pair !== undefined) {
      let raw2 = pair[1];
      if (v3 && typeof raw2 === "number" && raw2 < 0) {
        exact = true;
        raw2 = -raw2;
      }
      const offset2 = toUint(raw2);
      if (pair.length !== 2 || offset2 === undefined || offset === 0 || offset2 === 0 ||
          offset > PREDICT_MAX_GAP || offset2 > PREDICT_MAX_GAP || offset2 >= baseline) {
        throw malformed("bad offset pair");
      }
      const second = this.states.get(baseline - offset2);
      if (second === undefined) {
        throw new SnapshotError("baseline", `unknown second baseline tick ${baseline - offset2}`, tick, baseline - offset2);
      }
      gaps = { g1: offset, g2: offset2, second };
    }
    const changed: unknown = msg[4];
    const added: unknown = msg.length > 5 ? msg[5] : [];
    const removed: unknown = msg.length > 6 ? msg[6] : [];
    if (!Array.isArray(added) || !Array.isArray(removed) || !Array.isArray(changed)) {
      throw malformed("added, removed and changed must be arrays");
    }
    const scanned = this.scanInts(message);
    if (scanned < 0) throw malformed("the bytes are not a v2 snapshot message");
    const ints = this.ints;

    const next = new Map<number, Entity>(base);
    for (const r of removed) {
      const id = toUint(r);
      if (id === undefined) throw malformed("bad removed id");
      next.delete(id);
    }
    if (changed.length > scanned) throw malformed("the bytes are not the decoded message");
    let k = changed.length; // ints[k]: the next added field's (the changed values' come first)
    for (const a of added) {
      if (!Array.isArray(a) || a.length !== 3) throw malformed("added entry is not [id, kind, fields]");
      const id = toUint(a[0]);
      const kind = toUint(a[1]);
      const fields: unknown = a[2];
      if (id === undefined || kind === undefined || kind > 255 || !Array.isArray(fields)) {
        throw malformed("bad added entry");
      }
      if (k + fields.length > scanned) throw malformed("the bytes are not the decoded message");
      const e = makeEntity(this.schema, kind, Object.freeze(fields.slice()));
      for (let j = 0; j < fields.length; j++) {
        if (misleads(ints[k + j], fields[j])) {
          this.exact.set(e, Object.freeze(ints.slice(k, k + fields.length)));
          break;
        }
      }
      next.set(id, e);
      k += fields.length;
    }
    if (k !== scanned) throw malformed("the bytes are not the decoded message");

    // An exact v3 snapshot: every entity of the baseline neither removed nor added moves on
    // to where it was heading first; a changed entry corrects that.
    let moved: Map<number, Entity> | undefined;
    if (exact && gaps !== undefined) {
      moved = new Map();
      for (const [id, old] of base) {
        if (next.get(id) !== old) continue; // removed, or added again
        const e = this.predicted(old, id, gaps);
        if (e !== old) {
          moved.set(id, e);
          next.set(id, e);
        }
      }
    }

    // changed: [id, mask, value..., id, mask, value...], ids ascending, each entity in the
    // baseline and neither removed nor added (the checks v1's entries get, and Go's).
    let prev = -1;
    for (let p = 0; p < changed.length; ) {
      if (changed.length - p < 2) throw malformed("changed ends with an id without a mask");
      const id = toUint(changed[p]);
      const mask = ints[p + 1];
      if (id === undefined) throw malformed("bad changed id");
      if (id <= prev) throw malformed(`changed entity ${id} after ${prev}: ids must ascend`);
      if (mask === undefined || mask <= 0) throw malformed(`entity ${id}: bad mask`);
      const old = moved?.get(id) ?? base.get(id); // on v3, corrected from its prediction
      if (old === undefined || next.get(id) !== old) {
        throw malformed(`changed entity ${id} not in baseline (or removed, or added too)`);
      }
      // The mask as two 32-bit words: a mask of up to 64 fields is exact here.
      let lo: number, hi: number;
      if (typeof mask === "number") {
        lo = mask % 0x100000000;
        hi = (mask - lo) / 0x100000000;
      } else {
        lo = Number(mask & 0xffffffffn);
        hi = Number(mask >> 32n);
      }
      const nv = popcount32(lo) + popcount32(hi);
      if (nv > changed.length - p - 2) throw malformed(`entity ${id}: mask names ${nv} values, ${changed.length - p - 2} follow`);
      next.set(id, this.patch(old, id, lo, hi, nv, changed, p + 2, p + 2, moved === undefined ? gaps : undefined));
      prev = id;
      p += 2 + nv;
    }
    const known = this.lastSeq(msg) ?? (baseline === 0 ? 0 : this.known.get(baseline)) ?? 0;
    return this.commit(tick, baseline, next, known);
  }

  /**
   * Reads into this.ints the integers of every value of a v2 snapshot message's changed list,
   * then of its added fields (see {@link IntReader}). Returns how many, or -1 if the bytes
   * are not such a message.
   */
  private scanInts(message: Uint8Array): number {
    const r = this.reader;
    const ints = this.ints;
    r.reset(message);
    const len = r.arrayLen();
    if (len < 5 || len > 7) return -1;
    for (let i = 0; i < 4; i++) r.skip(); // kind, last_seq, tick, offset
    let k = 0;
    for (let n = r.arrayLen(); n > 0 && !r.bad; n--) ints[k++] = r.int(); // changed
    if (len > 5) {
      for (let n = r.arrayLen(); n > 0 && !r.bad; n--) { // added
        if (r.arrayLen() !== 3) return -1;
        r.skip(); // id
        r.skip(); // kind
        for (let f = r.arrayLen(); f > 0 && !r.bad; f--) ints[k++] = r.int();
      }
    }
    if (len > 6) r.skip(); // removed
    return r.done ? k : -1;
  }

  /**
   * Entity `old` with the fields the mask (`lo`, `hi`; `nv` bits) names set from
   * `changed[at...]`, whose integers are `this.ints[intAt...]`: an integer where `old` holds
   * an integer is a difference, anything else the new value.
   */
  private patch(old: Entity, id: number, lo: number, hi: number, nv: number, changed: readonly unknown[], at: number, intAt: number, gaps?: Gaps): Entity {
    const fields = old.fields.slice();
    const oldExact = this.exact.get(old);
    // The entity at the second baseline, to predict from: the same kind and number of fields.
    let prior = gaps?.second.get(id);
    if (prior !== undefined && (prior.kind !== old.kind || prior.fields.length !== fields.length)) prior = undefined;
    const priorExact = prior !== undefined ? this.exact.get(prior) : undefined;
    const ints = this.ints;
    const now = this.fieldInts;
    let mislead = false;
    for (let i = 0, left = nv; left > 0; i++) {
      if (((i < 32 ? lo >>> i : hi >>> (i - 32)) & 1) === 0) continue;
      left--;
      if (i >= fields.length) throw malformed(`entity ${id}: mask names field ${i} of ${fields.length}`);
      const sent = ints[intAt++];
      let shown = changed[at++];
      let n = sent;
      if (sent !== undefined) {
        const was = oldExact !== undefined ? oldExact[i] : intOf(old.fields[i]);
        if (was !== undefined) {
          if (typeof sent === "bigint" && sent > INT64_MAX) throw malformed(`entity ${id} field ${i}: a difference above int64`);
          let from: number | bigint = was;
          if (prior !== undefined) {
            const before = priorExact !== undefined ? priorExact[i] : intOf(prior.fields[i]);
            if (before !== undefined) from = predict(was, before, gaps!.g1, gaps!.g2) ?? was;
          }
          n = addInt(from, sent);
          if (n === undefined) throw malformed(`entity ${id} field ${i}: the sum is beyond int64 and uint64`);
          shown = typeof n === "bigint" ? Number(n) : n; // rounded beyond 2^53, as v1's decoding
        }
      }
      fields[i] = shown;
      now[i] = n;
      mislead ||= misleads(n, shown);
    }
    const e = makeEntity(this.schema, old.kind, Object.freeze(fields));
    if (mislead || oldExact !== undefined) {
      // Some field's decoded value misleads (a new one, or one kept from old): keep them all.
      const x: Int[] = new Array<Int>(fields.length);
      mislead = false;
      for (let i = 0; i < fields.length; i++) {
        const set = ((i < 32 ? lo >>> i : hi >>> (i - 32)) & 1) !== 0;
        x[i] = set ? now[i] : oldExact !== undefined ? oldExact[i] : intOf(old.fields[i]);
        mislead ||= misleads(x[i], fields[i]);
      }
      if (mislead) this.exact.set(e, Object.freeze(x));
    }
    return e;
  }

  /**
   * On v3, entity `old` of the baseline where it was heading: each integer field predicted
   * from its value at the baseline and at the second baseline (as {@link patch} predicts a
   * listed one), for an entity at both with the same kind and number of fields (at most 64).
   * `old` itself when nothing moves.
   */
  private predicted(old: Entity, id: number, gaps: Gaps): Entity {
    const prior = gaps.second.get(id);
    const n = old.fields.length;
    if (prior === undefined || prior === old || prior.kind !== old.kind || prior.fields.length !== n || n > 64) return old;
    const oldExact = this.exact.get(old);
    const priorExact = this.exact.get(prior);
    let fields: unknown[] | undefined;
    let x: Int[] | undefined;
    for (let i = 0; i < n; i++) {
      const was = oldExact !== undefined ? oldExact[i] : intOf(old.fields[i]);
      const before = priorExact !== undefined ? priorExact[i] : intOf(prior.fields[i]);
      if (was === undefined || before === undefined) continue;
      const p = predict(was, before, gaps.g1, gaps.g2);
      if (p === undefined || p === was) continue;
      fields ??= old.fields.slice();
      fields[i] = p; // within ±2^48: a safe number, which misleads nothing
      if (oldExact !== undefined) {
        x ??= oldExact.slice();
        x[i] = p;
      }
    }
    if (fields === undefined) return old;
    const e = makeEntity(this.schema, old.kind, Object.freeze(fields));
    if (x !== undefined) this.exact.set(e, Object.freeze(x));
    return e;
  }

  /** Makes `next` the state at `tick`, the latest, and lets the oldest state beyond capacity go. */
  private commit(tick: number, baseline: number, next: State, known = 0): AppliedSnapshot {
    this.states.set(tick, next);
    this.known.set(tick, known);
    this.latestTick = tick;
    while (this.states.size > this.capacity) {
      const oldest = this.states.keys().next().value as number;
      this.states.delete(oldest);
      this.known.delete(oldest);
    }
    return { tick, baseline, state: next };
  }
}
