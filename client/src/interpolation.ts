/** The snapshot interpolation buffer. */

import type { Entity, State } from "./mirror.js";

/** Tuning of the {@link InterpolationBuffer}. */
export interface InterpolationOptions {
  /** Snapshot intervals of delay before jitter is added (default 2). */
  intervals?: number;
  /** Multiples of the measured jitter added to the delay (default 3). */
  jitterFactor?: number;
  /** Bounds of the delay (ms; default 0 and 1000). */
  minDelay?: number;
  maxDelay?: number;
  /** How many snapshots to keep at most (default 64). */
  capacity?: number;
}

/** A buffered snapshot. */
export interface BufferedSnapshot {
  tick: number;
  /** The snapshot's time on the server: tick / tick rate (ms). */
  time: number;
  state: State;
}

/** Two snapshots around the render time, and how far between them it is. */
export interface InterpolationSample {
  /** The render time on the server's tick clock (ms): tick = renderTime · tickRate / 1000. */
  renderTime: number;
  /** The snapshot at or before the render time (the oldest one if all are after it). */
  from: BufferedSnapshot;
  /** The snapshot after the render time (=== from when there is none: no extrapolation). */
  to: BufferedSnapshot;
  /** Blend factor in [0, 1]: 0 is `from`, 1 is `to`. */
  t: number;
}

/**
 * Buffers snapshots and picks the two around the render time, which trails the estimated
 * server time by an interpolation delay. The server time is estimated from snapshot
 * arrivals (offset between a snapshot's tick time and its local arrival time, smoothed);
 * the delay is `intervals` snapshot intervals plus `jitterFactor` times the measured jitter
 * of arrivals (RFC 3550's interarrival jitter), so it grows on a jittery link and shrinks
 * back on a steady one.
 */
export class InterpolationBuffer {
  private readonly snaps: BufferedSnapshot[] = [];
  private readonly opts: Required<InterpolationOptions>;
  private tickRate: number;
  private snapshotRate: number;
  private offset = 0; // tick time − local arrival time, smoothed (ms)
  private jit = 0; // ms
  private last: { time: number; arrival: number } | undefined;

  /**
   * @param tickRate - the room's simulation rate (Hz)
   * @param snapshotRate - the room's snapshot rate (Hz)
   */
  constructor(tickRate: number, snapshotRate: number, options: InterpolationOptions = {}) {
    this.tickRate = tickRate;
    this.snapshotRate = snapshotRate;
    this.opts = {
      intervals: options.intervals ?? 2,
      jitterFactor: options.jitterFactor ?? 3,
      minDelay: options.minDelay ?? 0,
      maxDelay: options.maxDelay ?? 1000,
      capacity: options.capacity ?? 64,
    };
  }

  /** Forgets every snapshot and estimate; optionally with new rates (a new room). */
  reset(tickRate = this.tickRate, snapshotRate = this.snapshotRate): void {
    this.snaps.length = 0;
    this.tickRate = tickRate;
    this.snapshotRate = snapshotRate;
    this.offset = 0;
    this.jit = 0;
    this.last = undefined;
  }

  /** The time of `tick` on the server's tick clock (ms). */
  tickTime(tick: number): number {
    return this.tickRate > 0 ? (tick * 1000) / this.tickRate : 0;
  }

  /** Adds the state of `tick`, which arrived at local time `arrival` (ms). */
  push(tick: number, state: State, arrival: number): void {
    const time = this.tickTime(tick);
    const n = this.snaps.length;
    if (n > 0 && tick <= this.snaps[n - 1].tick) return; // stale
    const sample = time - arrival;
    if (this.last === undefined) {
      this.offset = sample;
    } else {
      const d = arrival - this.last.arrival - (time - this.last.time);
      this.jit += (Math.abs(d) - this.jit) / 16;
      this.offset += (sample - this.offset) / 16;
      // A snapshot that arrives earlier than the estimate says is proof: catch up at once.
      if (sample > this.offset) this.offset = sample;
    }
    this.last = { time, arrival };
    this.snaps.push({ tick, time, state });
    if (this.snaps.length > this.opts.capacity) this.snaps.shift();
  }

  /** The measured jitter of snapshot arrivals (ms). */
  get jitter(): number {
    return this.jit;
  }

  /** The snapshot interval (ms). */
  get interval(): number {
    return this.snapshotRate > 0 ? 1000 / this.snapshotRate : 0;
  }

  /** The current interpolation delay: intervals · interval + jitterFactor · jitter, bounded (ms). */
  get delay(): number {
    const d = this.opts.intervals * this.interval + this.opts.jitterFactor * this.jit;
    return Math.min(this.opts.maxDelay, Math.max(this.opts.minDelay, d));
  }

  /** The estimated server tick time at local time `now` (ms). */
  serverTime(now: number): number {
    return now + this.offset;
  }

  /** The render time at local time `now`: estimated server time − delay (ms). */
  renderTime(now: number): number {
    return this.serverTime(now) - this.delay;
  }

  /** How many snapshots are buffered. */
  get size(): number {
    return this.snaps.length;
  }

  /**
   * The two snapshots around the render time at local time `now` and the blend factor;
   * undefined while the buffer is empty. Snapshots older than the `from` one are dropped.
   */
  sample(now: number): InterpolationSample | undefined {
    return this.sampleAt(this.renderTime(now));
  }

  /** Like {@link InterpolationBuffer.sample}, for a given render time (ms on the tick clock). */
  sampleAt(renderTime: number): InterpolationSample | undefined {
    const s = this.snaps;
    if (s.length === 0) return undefined;
    let i = 0;
    while (i + 1 < s.length && s[i + 1].time <= renderTime) i++;
    if (i > 0) {
      s.splice(0, i);
      i = 0;
    }
    const from = s[0];
    if (renderTime <= from.time || s.length === 1) {
      return { renderTime, from, to: from, t: 0 };
    }
    const to = s[1];
    const t = Math.min(1, Math.max(0, (renderTime - from.time) / (to.time - from.time)));
    return { renderTime, from, to, t };
  }
}

/**
 * Blends two states: every entity of `sample.from` that is also in `sample.to` gets the
 * numeric fields listed in `fields` linearly interpolated (the others are taken from
 * `from`); entities only in `from` are kept as they are; entities only in `to` are not there
 * yet at the render time and are left out. `fields` may depend on the entity kind.
 */
export function interpolate(sample: InterpolationSample, fields: readonly number[] | ((kind: number) => readonly number[])): Map<number, Entity> {
  const out = new Map<number, Entity>();
  const { from, to, t } = sample;
  for (const [id, a] of from.state) {
    const b = to.state.get(id);
    if (b === undefined || b === a || t === 0 || b.kind !== a.kind) {
      out.set(id, a);
      continue;
    }
    const list = typeof fields === "function" ? fields(a.kind) : fields;
    const f = a.fields.slice();
    for (const i of list) {
      const x = a.fields[i];
      const y = b.fields[i];
      if (typeof x === "number" && typeof y === "number") f[i] = x + (y - x) * t;
    }
    out.set(id, { kind: a.kind, fields: f });
  }
  return out;
}
