// lateness.mjs measures how late the Colyseus rooms' simulation steps start, the figure
// Rallypoint's engine exports as rallypoint_tick_lateness_seconds, so that bench/capacity
// can hold both servers to the same "p99 tick lateness < 5 ms" rule.
//
// Colyseus runs a room's simulation with Node's setInterval(fn, 1000 / 60). Node keeps
// timers in whole milliseconds and re-arms an interval from the moment its callback ran:
// a quiet server steps every ~16.3 ms (about 61 Hz), and a late step is never caught up,
// the next one is simply due an interval after it. So a step's lateness here is
//
//	lateness(k) = max(0, start(k) - (start(k-1) + 1000/60 ms))
//
// how much later than one 1000/60 ms period after the previous step it began: the delay
// the event loop (busy with sockets, patches, other rooms, or the machine's other work)
// added to that step. An absolute schedule t0 + k·dt, Rallypoint's, was tried first and
// is wrong for Node: with no catch-up, every few-ms hiccup of a shared machine stays in
// the figure for good (it drifted past 100 ms within seconds on a 16-player run), so it
// measured the machine's history, not the server's load. What this rule misses, a loop
// that is a little late on every step and so runs below 60 Hz, the step count shows: the
// histogram's _count is the number of steps, and bench/capacity checks the steps per
// second per room next to the lateness (as it does for Rallypoint's ticks).
//
// Cost: one performance.now() and a walk over 12 bucket bounds per step of each room,
// well under a microsecond; at 60 steps a second in 100 rooms that is under 0.1 ms of CPU
// a second, so the hook does not change what it measures. The histogram is shared by all
// rooms of the process, as Rallypoint's is, and is served only when server.mjs is started
// with -metrics-addr.

/** BOUNDS_S are the upper bounds, in seconds, of Rallypoint's tick-lateness buckets (engine/stats.go). */
export const BOUNDS_S = [50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 1];

/** Histogram counts lateness in BOUNDS_S's buckets, plus one for larger values. */
export class Histogram {
  constructor() {
    this.counts = new Float64Array(BOUNDS_S.length + 1);
    this.sum = 0;
  }

  /** observe adds one lateness, in seconds. */
  observe(s) {
    let i = 0;
    while (i < BOUNDS_S.length && s > BOUNDS_S[i]) i++;
    this.counts[i]++;
    this.sum += s;
  }

  /** prometheus is the histogram in the Prometheus text format, cumulative, under name. */
  prometheus(name, help) {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    let cum = 0;
    for (let i = 0; i < BOUNDS_S.length; i++) {
      cum += this.counts[i];
      lines.push(`${name}_bucket{le="${BOUNDS_S[i]}"} ${cum}`);
    }
    cum += this.counts[BOUNDS_S.length];
    lines.push(`${name}_bucket{le="+Inf"} ${cum}`, `${name}_sum ${this.sum}`, `${name}_count ${cum}`);
    return `${lines.join('\n')}\n`;
  }
}

/** lateness is the process's histogram, all rooms together. */
export const lateness = new Histogram();

/** StepClock times one room's steps by the rule at the top of this file. */
export class StepClock {
  constructor(dtMs, now = () => performance.now()) {
    this.dt = dtMs;
    this.now = now;
    this.prev = -1; // start of the previous step; the first step is on time by definition
  }

  /** step is called as a simulation step starts; it records and returns its lateness in ms. */
  step(hist = lateness) {
    const t = this.now();
    const late = this.prev < 0 ? 0 : Math.max(0, t - (this.prev + this.dt));
    this.prev = t;
    hist.observe(late / 1000);
    return late;
  }
}
