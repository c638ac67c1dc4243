/** Round-trip time, clock offset and server tick estimation from ping/pong. */
/** What one pong taught. */
export interface ClockSample {
    /** This round trip (ms). */
    rtt: number;
    /** Smoothed round-trip time (ms). */
    smoothedRtt: number;
    /** Round-trip time variation (ms). */
    rttVariation: number;
    /** Smoothed offset: server clock − local clock (ms). */
    offset: number;
}
/**
 * Estimates the round-trip time (smoothed like TCP's SRTT/RTTVAR, RFC 6298), the offset of
 * the server's clock from the local one, and the room's current tick, from pongs
 * `[23, client_time, server_time, tick]`. Times are in ms on the local clock passed in
 * (`performance.now()` by default in {@link Client}).
 *
 * The first `warmup` pongs are a clock filter in the manner of NTP's: the one with the
 * shortest round trip wins outright, since its offset is the least skewed by queueing. A
 * page's first ping often waits behind script loading; smoothing it in at 1/8 would keep a
 * loopback RTT reading 100 ms for half a minute.
 */
export declare class ServerClock {
    private readonly gain;
    private readonly warmup;
    private srtt;
    private rttvar;
    private off;
    private samples;
    private tickRate;
    private anchorTime;
    private anchorTick;
    private hasTick;
    /**
     * @param gain - weight of a new sample in the smoothed values (default 1/8).
     * @param warmup - how many first samples are filtered by shortest round trip (default 4).
     */
    constructor(gain?: number, warmup?: number);
    /** Sets the room's tick rate (Hz), from the join answer; needed to estimate the tick. */
    setTickRate(hz: number): void;
    /** Forgets the tick estimate (a new room); keeps the RTT and offset. */
    resetTick(): void;
    /**
     * Feeds one pong received at local time `now`. `clientTime` is the local time the ping was
     * sent (echoed by the server), `serverTime` the server's clock (ms since the Unix epoch)
     * and `tick` the room's tick when it answered (0 outside a room).
     */
    onPong(clientTime: number, serverTime: number, tick: number, now: number): ClockSample;
    /** How many pongs were fed. */
    get sampleCount(): number;
    /** Smoothed round-trip time in ms (0 before the first pong). */
    get rtt(): number;
    /** Round-trip time variation in ms. */
    get rttVariation(): number;
    /** Server clock − local clock, in ms. */
    get offset(): number;
    /** The server's clock (ms since the Unix epoch) at local time `now`. */
    serverTime(now: number): number;
    /**
     * The room's estimated current tick at local time `now`, fractional (floor it for the tick
     * being simulated); undefined before a pong from inside a room and a known tick rate.
     */
    serverTick(now: number): number | undefined;
    private estimateTick;
}
