package main

import (
	"fmt"
	"math"
	"runtime"
	"sort"
)

// The machine's speed. This development machine is a virtual machine whose host reports
// no steal time (/proc/stat's steal column stays 0), so when the host gives its cores to
// others, the other% columns read 0 and the server and its load tool simply run slower:
// within minutes of each other the same loadgen step measured 96% of a core and 71%.
// Around every step the harness times a fixed piece of integer work on each of the two
// cores, pinned there, while none of the step's processes runs, and the table shows each
// core's speed against the fastest time of the run: a step taken at 80% of the machine
// says less than one at 100%.

// probeWork is the fixed work: about 7 ms of dependent integer operations on this machine.
const probeWork = 1 << 22

// probeRounds are timed per core; the median is the core's time, so that one preemption
// does not count as a slow machine.
const probeRounds = 3

// spin does probeWork steps of xorshift; KeepAlive keeps the compiler from dropping them.
func spin(x uint64) {
	for range probeWork {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	runtime.KeepAlive(x)
}

// probeCores times the work on each core (median of probeRounds), NaN for a core it could
// not pin to.
func probeCores(cores ...int) []float64 {
	out := make([]float64, len(cores))
	for i, c := range cores {
		var ts []float64
		for range probeRounds {
			d, ok := onCore(c, func() { spin(uint64(c) + 1) })
			if !ok {
				break
			}
			ts = append(ts, d.Seconds())
		}
		out[i] = median(ts)
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// speeds keeps the fastest probe time seen per core, the run's 100%.
type speeds struct{ best []float64 }

// note records a step's probe times (before and after it).
func (s *speeds) note(times ...[]float64) {
	for _, t := range times {
		for i, v := range t {
			for len(s.best) <= i {
				s.best = append(s.best, math.NaN())
			}
			if !math.IsNaN(v) && (math.IsNaN(s.best[i]) || v < s.best[i]) {
				s.best[i] = v
			}
		}
	}
}

// pct is a probe time as a share of the run's fastest on that core, in %.
func (s *speeds) pct(core int, t float64) float64 {
	if core >= len(s.best) || math.IsNaN(t) || math.IsNaN(s.best[core]) || t <= 0 {
		return math.NaN()
	}
	return 100 * s.best[core] / t
}

// slower returns, per core, the slower of two probes: a step is as fast as the worse end.
func slower(a, b []float64) []float64 {
	out := make([]float64, max(len(a), len(b)))
	for i := range out {
		out[i] = math.NaN()
		for _, t := range [][]float64{a, b} {
			if i < len(t) && !math.IsNaN(t[i]) && (math.IsNaN(out[i]) || t[i] > out[i]) {
				out[i] = t[i]
			}
		}
	}
	return out
}

// slowPct is the speed, in % of the run's fastest on a core, below which a failed step is not
// trusted: run again once, and only the second run counts. On this virtual machine a host
// that takes the cores for a while slows everything by a quarter (the speed% column), and
// a server whose ticks run a fifth late for it fails on lateness at a count it passes
// otherwise; the bisection then searches below a failure the server did not make. Either
// server gets the second run on the same terms; a pass or an inconclusive step is never run
// again (a slow machine only makes a pass harder). What it costs: one more step's time
// (25 s by default) for each failure on a slowed machine.
const slowPct = 90

// slowest is the lower of a step's speeds on its cores (the slower of its probes on each,
// against the run's fastest), and whether it is below slowPct. A core it could not time
// does not count.
func (s *speeds) slowest(probe []float64) (pct float64, slow bool) {
	pct = math.NaN()
	for i, t := range probe {
		if v := s.pct(i, t); !math.IsNaN(v) && (math.IsNaN(pct) || v < pct) {
			pct = v
		}
	}
	return pct, !math.IsNaN(pct) && pct < slowPct
}

// otherMax is the other processes' share of the server's or the bots' core, in %, above
// which a failed step is not trusted either: the other% columns measure it, and on this
// machine a few minutes of it at 5 to 18% took both servers' p99 lateness from 2 to 4 ms to
// 14 to 34 ms.
const otherMax = 5

// disturbed says why a failed step is not to be trusted, if it is not: a core ran under
// slowPct of its speed, or other processes took more than otherMax of a core the step used.
func disturbed(r stepResult, sp *speeds) (why string, ok bool) {
	if pct, slow := sp.slowest(r.probe); slow {
		return fmt.Sprintf("the machine ran at %.0f%% of its speed (under %d%%)", pct, slowPct), true
	}
	if o := max(r.other0, r.other1); o > otherMax {
		return fmt.Sprintf("other processes took %.0f%% of a core the step used (over %d%%)", o, otherMax), true
	}
	return "", false
}
