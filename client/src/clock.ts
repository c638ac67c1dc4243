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
export class ServerClock {
  private srtt = 0;
  private rttvar = 0;
  private off = 0;
  private samples = 0;
  private tickRate = 0;
  private anchorTime = 0; // local time at which the room was at anchorTick
  private anchorTick = 0;
  private hasTick = false;

  /**
   * @param gain - weight of a new sample in the smoothed values (default 1/8).
   * @param warmup - how many first samples are filtered by shortest round trip (default 4).
   */
  constructor(
    private readonly gain = 1 / 8,
    private readonly warmup = 4,
  ) {}

  /** Sets the room's tick rate (Hz), from the join answer; needed to estimate the tick. */
  setTickRate(hz: number): void {
    this.tickRate = hz;
  }

  /** Forgets the tick estimate (a new room); keeps the RTT and offset. */
  resetTick(): void {
    this.hasTick = false;
  }

  /**
   * Feeds one pong received at local time `now`. `clientTime` is the local time the ping was
   * sent (echoed by the server), `serverTime` the server's clock (ms since the Unix epoch)
   * and `tick` the room's tick when it answered (0 outside a room).
   */
  onPong(clientTime: number, serverTime: number, tick: number, now: number): ClockSample {
    const rtt = Math.max(0, now - clientTime);
    const mid = now - rtt / 2; // local time at which the server answered, assuming symmetry
    const offset = serverTime - mid;
    const best = this.samples === 0 || (this.samples < this.warmup && rtt < this.srtt);
    if (best) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
      this.off = offset;
    } else if (this.samples >= this.warmup) {
      this.rttvar += this.gain * 2 * (Math.abs(this.srtt - rtt) - this.rttvar); // β = 1/4
      this.srtt += this.gain * (rtt - this.srtt);
      this.off += this.gain * (offset - this.off);
    }
    this.samples++;
    if (tick > 0 && this.tickRate > 0) {
      if (!this.hasTick || best) {
        this.anchorTime = mid;
        this.anchorTick = tick;
        this.hasTick = true;
      } else {
        // Move the anchor to this sample's time, then correct it part of the way.
        const predicted = this.estimateTick(mid);
        this.anchorTick = predicted + this.gain * 2 * (tick - predicted);
        this.anchorTime = mid;
      }
    }
    return { rtt, smoothedRtt: this.srtt, rttVariation: this.rttvar, offset: this.off };
  }

  /** How many pongs were fed. */
  get sampleCount(): number {
    return this.samples;
  }

  /** Smoothed round-trip time in ms (0 before the first pong). */
  get rtt(): number {
    return this.srtt;
  }

  /** Round-trip time variation in ms. */
  get rttVariation(): number {
    return this.rttvar;
  }

  /** Server clock − local clock, in ms. */
  get offset(): number {
    return this.off;
  }

  /** The server's clock (ms since the Unix epoch) at local time `now`. */
  serverTime(now: number): number {
    return now + this.off;
  }

  /**
   * The room's estimated current tick at local time `now`, fractional (floor it for the tick
   * being simulated); undefined before a pong from inside a room and a known tick rate.
   */
  serverTick(now: number): number | undefined {
    return this.hasTick ? this.estimateTick(now) : undefined;
  }

  private estimateTick(now: number): number {
    return this.anchorTick + ((now - this.anchorTime) * this.tickRate) / 1000;
  }
}
