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
export declare class InterpolationBuffer {
    private readonly snaps;
    private readonly opts;
    private tickRate;
    private snapshotRate;
    private offset;
    private jit;
    private last;
    /**
     * @param tickRate - the room's simulation rate (Hz)
     * @param snapshotRate - the room's snapshot rate (Hz)
     */
    constructor(tickRate: number, snapshotRate: number, options?: InterpolationOptions);
    /** Forgets every snapshot and estimate; optionally with new rates (a new room). */
    reset(tickRate?: number, snapshotRate?: number): void;
    /** The time of `tick` on the server's tick clock (ms). */
    tickTime(tick: number): number;
    /** Adds the state of `tick`, which arrived at local time `arrival` (ms). */
    push(tick: number, state: State, arrival: number): void;
    /** The measured jitter of snapshot arrivals (ms). */
    get jitter(): number;
    /** The snapshot interval (ms). */
    get interval(): number;
    /** The current interpolation delay: intervals · interval + jitterFactor · jitter, bounded (ms). */
    get delay(): number;
    /** The estimated server tick time at local time `now` (ms). */
    serverTime(now: number): number;
    /** The render time at local time `now`: estimated server time − delay (ms). */
    renderTime(now: number): number;
    /** How many snapshots are buffered. */
    get size(): number;
    /**
     * The two snapshots around the render time at local time `now` and the blend factor;
     * undefined while the buffer is empty. Snapshots older than the `from` one are dropped.
     */
    sample(now: number): InterpolationSample | undefined;
    /** Like {@link InterpolationBuffer.sample}, for a given render time (ms on the tick clock). */
    sampleAt(renderTime: number): InterpolationSample | undefined;
}
/**
 * Blends two states: every entity of `sample.from` that is also in `sample.to` gets the
 * numeric fields listed in `fields` linearly interpolated (the others are taken from
 * `from`); entities only in `from` are kept as they are; entities only in `to` are not there
 * yet at the render time and are left out. `fields` may depend on the entity kind.
 */
export declare function interpolate(sample: InterpolationSample, fields: readonly number[] | ((kind: number) => readonly number[])): Map<number, Entity>;
