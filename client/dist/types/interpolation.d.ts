/** The snapshot interpolation buffer. */
import type { State } from "./mirror.js";
import { type Entity } from "./schema.js";
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
export declare class InterpolationBuffer {
    private readonly snaps;
    private readonly opts;
    private tickRate;
    private snapshotRate;
    private samples;
    private next;
    private fastest;
    private target;
    private render;
    private lastNow;
    private flow;
    private holdStart;
    private readonly st;
    /**
     * @param tickRate - the room's simulation rate (Hz)
     * @param snapshotRate - the room's snapshot rate (Hz)
     */
    constructor(tickRate: number, snapshotRate: number, options?: InterpolationOptions);
    /** Forgets every snapshot and estimate; optionally with new rates (a new room). Keeps the stats. */
    reset(tickRate?: number, snapshotRate?: number): void;
    /** The time of `tick` on the server's tick clock (ms). */
    tickTime(tick: number): number;
    /** Adds the state of `tick`, which arrived at local time `arrival` (ms). */
    push(tick: number, state: State, arrival: number): void;
    private addSample;
    /** Sets the delay from the samples: one interval, the lateness quantile and the margin. */
    private retarget;
    /** The measured lateness spread: the delay's part beyond one interval and the margin (ms). */
    get jitter(): number;
    /** The snapshot interval (ms). */
    get interval(): number;
    /** The interpolation delay the measured lateness calls for (ms); the render clock converges on it. */
    get delay(): number;
    /** The estimated server tick time at local time `now` (ms): the newest snapshot time the fastest path would have delivered by now. */
    serverTime(now: number): number;
    /**
     * The render time at local time `now` (ms on the tick clock): the server time minus the
     * delay, reached by slewing, never by jumping (but for a gap of over a second). Call it
     * with non-decreasing `now`; each call moves the render clock.
     */
    renderTime(now: number): number;
    /** How many snapshots are buffered. */
    get size(): number;
    /** Frame statistics since the buffer was made, or since {@link InterpolationBuffer.resetStats}. */
    get stats(): InterpolationStats;
    /** Starts the frame statistics afresh: to measure a window of play, not the page's start. */
    resetStats(): void;
    /**
     * The two snapshots around the render time at local time `now` and the blend factor;
     * undefined while the buffer is empty. Call it once per drawn frame: it moves the render
     * clock and counts the frame in {@link InterpolationBuffer.stats}.
     */
    sample(now: number): InterpolationSample | undefined;
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
    private held;
    /**
     * Starts the estimate afresh from the last few arrivals (a quarter of a second of them,
     * at least two) and puts the render clock where they say at once: one step back in time,
     * which beats holding the others still for seconds. The window then fills again.
     */
    private rebase;
    private count;
    /**
     * Like {@link InterpolationBuffer.sample}, for a given render time (ms on the tick clock),
     * without moving the clock or counting a frame. Snapshots older than the `from` one are
     * dropped.
     */
    sampleAt(renderTime: number): InterpolationSample | undefined;
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
export declare function interpolate(sample: InterpolationSample, fields: LerpFields): Map<number, Entity>;
