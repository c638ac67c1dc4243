/** The reconnection schedule. */

/** Exponential backoff with jitter. */
export interface BackoffOptions {
  /** The first delay (ms, default 250). */
  initialDelay?: number;
  /**
   * The longest delay (ms, default 2000). A player waits at most this long after the network
   * comes back; a server restarting gets its clients back spread over this long (with the
   * jitter below).
   */
  maxDelay?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /**
   * The fraction of each delay that is random (default 0.5): the delay is drawn uniformly
   * from [d·(1−jitter), d], so that clients dropped together do not return together.
   */
  jitter?: number;
}

/**
 * The delay before reconnection attempt `attempt` (0 for the first):
 * d = min(maxDelay, initialDelay·factor^attempt), minus up to `jitter`·d at random.
 * `random` returns a number in [0, 1) (Math.random by default).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialDelay ?? 250;
  const max = options.maxDelay ?? 2000;
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const d = Math.min(max, initial * Math.pow(factor, Math.max(0, attempt)));
  return d * (1 - jitter * random());
}
