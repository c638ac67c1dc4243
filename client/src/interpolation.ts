/** The snapshot interpolation buffer. */

import type { State } from "./mirror.js";
import { fieldIndex, withFields, type Entity } from "./schema.js";

/** Tuning of the {@link InterpolationBuffer}. */
export interface InterpolationOptions {
  /**
   * The share of snapshots that must arrive in time to be interpolated to (default 0.99):
   * the delay covers this quantile of the measured arrival lateness. Higher is smoother on a
   * jittery link and draws the others a little further in the past.
   */
  quantile?: number;
  /** Delay added on top of one snapshot interval and the lateness quantile (ms, default 4). */
  margin?: number;
  /** Bounds of the delay (ms; default 0 and 1000). */
  minDelay?: number;
  maxDelay?: number;
  /**
   * How far past the newest snapshot the others are extrapolated, along their last motion,
   * when the next snapshot is late (ms, default 100). Beyond it they hold still: a guess
   * that goes on for long is worse than a pause.
   */
  maxExtrapolation?: number;
  /**
   * How fast the render clock may run fast or slow to follow a new delay (default 0.1:
   * between 0.9 and 1.1 times real time). Smaller is smoother, larger adapts sooner.
   */
  slew?: number;
  /** How many recent arrivals the lateness is measured over (default 256: 8.5 s at 30 Hz). */
  window?: number;
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
  /** The snapshot after it (=== from when there is only one). */
  to: BufferedSnapshot;
  /**
   * Blend factor: 0 is `from`, 1 is `to`; above 1 when extrapolating past `to` (the render
   * time is beyond the newest snapshot, by at most maxExtrapolation).
   */
  t: number;
  /** True when the render time is past the newest snapshot: extrapolated, or held still beyond maxExtrapolation. */
  stale: boolean;
}

/** What the buffer did frame by frame, for a debug overlay or a test. */
export interface InterpolationStats {
  /** Samples taken ({@link InterpolationBuffer.sample} calls: one per drawn frame). */
  frames: number;
  /** Frames whose render time was past the newest snapshot (extrapolated or held). */
  stale: number;
  /** Frames held still beyond maxExtrapolation. */
  held: number;
  /** The longest run of held frames, from the first held frame to the next fresh one (ms). */
  longestHold: number;
  /** Times the estimate of the server's time was started afresh, snapshots flowing but all too old for the render clock (the server's tick clock fell behind). */
  rebases: number;
}

/**
 * Buffers snapshots and picks the two around the render time, which trails the server's
 * time by an interpolation delay sized from measured lateness.
 *
 * Each snapshot's arrival gives a sample s = (its tick time) − (its local arrival time). The
 * largest s over the window is the fastest path from the server; a snapshot's lateness is how
 * much later than that it came. The delay is one snapshot interval (the next snapshot must
 * be there to blend towards) plus the chosen quantile of lateness plus a margin, so it grows
 * on a jittery link and shrinks on a steady one. The render clock does not jump to follow
 * it: it runs up to `slew` faster or slower than real time until it is where the delay says
 * (a jump of more than a second, after a long pause, is taken at once). When a snapshot is
 * late anyway, the others are extrapolated along their last motion for up to
 * `maxExtrapolation`, then held.
 */
export class InterpolationBuffer {
  private readonly snaps: BufferedSnapshot[] = [];
  private readonly opts: Required<InterpolationOptions>;
  private tickRate: number;
  private snapshotRate: number;
  private samples: number[] = []; // recent tick time − arrival (ms), a ring
  private next = 0; // where the next sample goes in the ring
  private fastest = -Infinity; // max of samples
  private target = 0; // the delay the lateness calls for (ms)
  private render: number | undefined; // the render clock (tick time, ms)
  private lastNow = 0;
  // While the others are held: the arrivals since the hold began (count, first and last
  // local arrival time), to tell snapshots flowing at their cadence from an outage's backlog.
  private flow: { n: number; first: number; last: number } | undefined;
  private holdStart: number | undefined; // local time the current hold began
  private readonly st: InterpolationStats = { frames: 0, stale: 0, held: 0, longestHold: 0, rebases: 0 };

  /**
   * @param tickRate - the room's simulation rate (Hz)
   * @param snapshotRate - the room's snapshot rate (Hz)
   */
  constructor(tickRate: number, snapshotRate: number, options: InterpolationOptions = {}) {
    this.tickRate = tickRate;
    this.snapshotRate = snapshotRate;
    this.opts = {
      quantile: options.quantile ?? 0.99,
      margin: options.margin ?? 4,
      minDelay: options.minDelay ?? 0,
      maxDelay: options.maxDelay ?? 1000,
      maxExtrapolation: options.maxExtrapolation ?? 100,
      slew: options.slew ?? 0.1,
      window: Math.max(2, options.window ?? 256),
      capacity: Math.max(2, options.capacity ?? 64),
    };
  }

  /** Forgets every snapshot and estimate; optionally with new rates (a new room). Keeps the stats. */
  reset(tickRate = this.tickRate, snapshotRate = this.snapshotRate): void {
    this.snaps.length = 0;
    this.tickRate = tickRate;
    this.snapshotRate = snapshotRate;
    this.samples = [];
    this.next = 0;
    this.fastest = -Infinity;
    this.target = 0;
    this.render = undefined;
    this.flow = undefined;
    this.holdStart = undefined;
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
    this.snaps.push({ tick, time, state });
    if (this.snaps.length > this.opts.capacity) this.snaps.shift();
    if (this.flow !== undefined) {
      if (this.flow.n === 0) this.flow.first = arrival;
      this.flow.n++;
      this.flow.last = arrival;
    }
    this.addSample(time - arrival);
  }

  private addSample(s: number): void {
    const w = this.opts.window;
    let evicted = -Infinity;
    if (this.samples.length < w) this.samples.push(s);
    else {
      evicted = this.samples[this.next];
      this.samples[this.next] = s;
    }
    this.next = (this.next + 1) % w;
    if (s >= this.fastest) this.fastest = s;
    else if (evicted === this.fastest) this.fastest = Math.max(...this.samples);
    this.retarget();
  }

  /** Sets the delay from the samples: one interval, the lateness quantile and the margin. */
  private retarget(): void {
    // The lateness quantile: the k-th largest sample is the k-th least late.
    const sorted = this.samples.slice().sort((a, b) => b - a);
    const k = Math.min(sorted.length - 1, Math.floor(this.opts.quantile * sorted.length));
    const lateness = this.fastest - sorted[k];
    const d = this.interval + lateness + this.opts.margin;
    this.target = Math.min(this.opts.maxDelay, Math.max(this.opts.minDelay, d));
  }

  /** The measured lateness spread: the delay's part beyond one interval and the margin (ms). */
  get jitter(): number {
    return Math.max(0, this.target - this.interval - this.opts.margin);
  }

  /** The snapshot interval (ms). */
  get interval(): number {
    return this.snapshotRate > 0 ? 1000 / this.snapshotRate : 0;
  }

  /** The interpolation delay the measured lateness calls for (ms); the render clock converges on it. */
  get delay(): number {
    return this.target;
  }

  /** The estimated server tick time at local time `now` (ms): the newest snapshot time the fastest path would have delivered by now. */
  serverTime(now: number): number {
    return this.samples.length === 0 ? now : now + this.fastest;
  }

  /**
   * The render time at local time `now` (ms on the tick clock): the server time minus the
   * delay, reached by slewing, never by jumping (but for a gap of over a second). Call it
   * with non-decreasing `now`; each call moves the render clock.
   */
  renderTime(now: number): number {
    const goal = this.serverTime(now) - this.target;
    const dt = this.render === undefined ? 0 : Math.max(0, now - this.lastNow);
    this.lastNow = now;
    if (this.render === undefined || Math.abs(goal - (this.render + dt)) > 1000) {
      this.render = goal;
      return goal;
    }
    const r = this.render + dt;
    const maxStep = this.opts.slew * dt;
    this.render = r + Math.min(maxStep, Math.max(-maxStep, goal - r));
    return this.render;
  }

  /** How many snapshots are buffered. */
  get size(): number {
    return this.snaps.length;
  }

  /** Frame statistics since the buffer was made, or since {@link InterpolationBuffer.resetStats}. */
  get stats(): InterpolationStats {
    return { ...this.st };
  }

  /** Starts the frame statistics afresh: to measure a window of play, not the page's start. */
  resetStats(): void {
    this.st.frames = this.st.stale = this.st.held = this.st.longestHold = this.st.rebases = 0;
    this.holdStart = undefined;
  }

  /**
   * The two snapshots around the render time at local time `now` and the blend factor;
   * undefined while the buffer is empty. Call it once per drawn frame: it moves the render
   * clock and counts the frame in {@link InterpolationBuffer.stats}.
   */
  sample(now: number): InterpolationSample | undefined {
    if (this.snaps.length === 0) return undefined;
    let s = this.sampleAt(this.renderTime(now))!;
    if (!this.held(s)) this.flow = undefined;
    else if (this.flow === undefined) this.flow = { n: 0, first: 0, last: 0 };
    else if (this.flow.n >= 2 && this.flow.last - this.flow.first >= 0.9 * this.interval) {
      this.rebase();
      s = this.sampleAt(this.renderTime(now))!;
    }
    this.count(s, now);
    return s;
  }

  /**
   * Whether the render time is past the newest snapshot by more than maxExtrapolation: the
   * others are held still. When that goes on while snapshots keep arriving at their cadence
   * (two, at least an interval apart, since the hold began), the estimate of the server's
   * time is wrong, not the link. That happens when the server's tick clock falls behind real
   * time (a starved server skips ticks rather than run them late), which no later sample can
   * show while the old, faster ones stay in the window: slewing back at `slew` would hold the
   * others for ten times the shift. An outage's backlog, old snapshots arriving all at once,
   * does not count: they come closer together than an interval, and catch up at once.
   */
  private held(s: InterpolationSample): boolean {
    return s.renderTime - this.snaps[this.snaps.length - 1].time > this.opts.maxExtrapolation;
  }

  /**
   * Starts the estimate afresh from the last few arrivals (a quarter of a second of them,
   * at least two) and puts the render clock where they say at once: one step back in time,
   * which beats holding the others still for seconds. The window then fills again.
   */
  private rebase(): void {
    const keep = Math.max(2, Math.ceil(this.snapshotRate / 4));
    const w = this.samples.length;
    const recent: number[] = [];
    for (let i = 1; i <= Math.min(keep, w); i++) recent.push(this.samples[(this.next - i + w) % w]);
    this.samples = recent.reverse();
    this.next = this.samples.length % this.opts.window;
    this.fastest = Math.max(...this.samples);
    this.retarget();
    this.render = undefined; // renderTime jumps to the goal
    this.flow = undefined;
    this.st.rebases++;
  }

  private count(s: InterpolationSample, now: number): void {
    this.st.frames++;
    if (!s.stale) {
      this.holdStart = undefined;
      return;
    }
    this.st.stale++;
    const newest = this.snaps[this.snaps.length - 1];
    if (s.renderTime - newest.time <= this.opts.maxExtrapolation) return;
    this.st.held++;
    if (this.holdStart === undefined) this.holdStart = now;
    this.st.longestHold = Math.max(this.st.longestHold, now - this.holdStart);
  }

  /**
   * Like {@link InterpolationBuffer.sample}, for a given render time (ms on the tick clock),
   * without moving the clock or counting a frame. Snapshots older than the `from` one are
   * dropped.
   */
  sampleAt(renderTime: number): InterpolationSample | undefined {
    const s = this.snaps;
    if (s.length === 0) return undefined;
    let i = 0;
    while (i + 1 < s.length && s[i + 1].time <= renderTime) i++;
    // Keep one snapshot before `from`: extrapolating needs the newest two.
    if (i > 1) s.splice(0, i - 1);
    i = Math.min(i, 1);
    const newest = s[s.length - 1];
    if (renderTime >= newest.time && s.length >= 2) {
      // Past the newest snapshot: carry on along the last motion, for a while.
      const from = s[s.length - 2];
      const ahead = Math.min(renderTime, newest.time + this.opts.maxExtrapolation);
      const t = (ahead - from.time) / (newest.time - from.time);
      return { renderTime, from, to: newest, t, stale: renderTime > newest.time };
    }
    const from = s[i];
    if (renderTime <= from.time || i + 1 >= s.length) {
      return { renderTime, from, to: from, t: 0, stale: renderTime > newest.time };
    }
    const to = s[i + 1];
    const t = Math.min(1, Math.max(0, (renderTime - from.time) / (to.time - from.time)));
    return { renderTime, from, to, t, stale: false };
  }
}

/**
 * Which numeric fields {@link interpolate} blends: field indexes or declared names, for
 * every kind, or chosen per kind (by number, and by name when the game declares its kinds).
 */
export type LerpFields = readonly (number | string)[] | ((kind: number, kindName: string) => readonly (number | string)[]);

/**
 * Blends two states: every entity of `sample.from` that is also in `sample.to` gets the
 * numeric fields listed in `fields` blended by `sample.t` (linearly; past `to` when t is
 * above 1), the others taken from `from`; entities only in `from` are kept as they are;
 * entities only in `to` are not there yet at the render time and are left out (but when
 * extrapolating past `to`, where they are). `fields` may depend on the entity kind, and
 * name fields as the schema declares them (`["x", "y"]`).
 */
export function interpolate(sample: InterpolationSample, fields: LerpFields): Map<number, Entity> {
  const out = new Map<number, Entity>();
  const { from, to, t } = sample;
  for (const [id, a] of from.state) {
    const b = to.state.get(id);
    if (b === undefined) {
      if (t < 1) out.set(id, a); // gone by `to`: shown until then
      continue;
    }
    if (b === a || t === 0 || b.kind !== a.kind) {
      out.set(id, t >= 1 ? b : a);
      continue;
    }
    const list = typeof fields === "function" ? fields(a.kind, a.kindName ?? "") : fields;
    const f = t >= 1 ? b.fields.slice() : a.fields.slice();
    for (const k of list) {
      const i = typeof k === "number" ? k : fieldIndex(a, k);
      if (i < 0) continue;
      const x = a.fields[i];
      const y = b.fields[i];
      if (typeof x === "number" && typeof y === "number") f[i] = x + (y - x) * t;
    }
    out.set(id, withFields(a, f));
  }
  if (t >= 1) for (const [id, b] of to.state) if (!from.state.has(id)) out.set(id, b);
  return out;
}
