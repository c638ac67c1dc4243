package main

import (
	"math"
	"runtime"
	"testing"
)

func TestProbeTimesEachCore(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the probe pins threads with sched_setaffinity (Linux)")
	}
	cores := []int{0}
	if runtime.NumCPU() > 1 {
		cores = append(cores, 1)
	}
	for i, d := range probeCores(cores...) {
		if math.IsNaN(d) || d <= 0 || d > 5 {
			t.Errorf("core %d: probe took %v s, want a positive time under 5 s", cores[i], d)
		}
	}
	if d := probeCores(4096)[0]; !math.IsNaN(d) {
		t.Errorf("core 4096: %v s, want NaN (no such core)", d)
	}
}

func TestSpeedsAgainstTheFastest(t *testing.T) {
	nan := math.NaN()
	var sp speeds
	sp.note([]float64{0.010, 0.020}, []float64{0.012, nan})
	sp.note([]float64{0.011, 0.016})
	cases := []struct {
		core int
		t    float64
		want float64 // NaN: none
	}{
		{0, 0.010, 100},
		{0, 0.020, 50},
		{1, 0.016, 100},
		{1, 0.020, 80},
		{1, nan, nan},
		{2, 0.010, nan}, // never probed
	}
	for _, c := range cases {
		got := sp.pct(c.core, c.t)
		if math.IsNaN(c.want) != math.IsNaN(got) || (!math.IsNaN(c.want) && math.Abs(got-c.want) > 1e-9) {
			t.Errorf("pct(%d, %v) = %v, want %v", c.core, c.t, got, c.want)
		}
	}
	got := slower([]float64{0.010, nan}, []float64{0.012, 0.020})
	if got[0] != 0.012 || got[1] != 0.020 {
		t.Errorf("slower: %v, want [0.012 0.02]", got)
	}
	s := stepResult{probe: []float64{0.020, 0.016}}
	if cell := speedCell(s, &sp); cell != "50/100" {
		t.Errorf("speed cell %q, want 50/100", cell)
	}
	if cell := speedCell(stepResult{}, &sp); cell != "-/-" {
		t.Errorf("speed cell of a step without probes %q, want -/-", cell)
	}
}

// TestSlowestDecidesARetry: a step is as slow as its slower core, a core without a time does
// not count, and below slowPct a failure is run again.
func TestSlowestDecidesARetry(t *testing.T) {
	nan := math.NaN()
	var sp speeds
	sp.note([]float64{0.010, 0.020})
	cases := []struct {
		name  string
		probe []float64
		pct   float64 // NaN: none
		slow  bool
	}{
		{"both at their best", []float64{0.010, 0.020}, 100, false},
		{"the server's core at 75%, as in a run that failed 200 players on it", []float64{0.010 / 0.75, 0.020}, 75, true},
		{"the bots' core at 80%", []float64{0.010, 0.025}, 80, true},
		{"just above the line", []float64{0.010 / 0.91, 0.020}, 91, false},
		{"one core not timed", []float64{nan, 0.020 / 0.5}, 50, true},
		{"neither timed", []float64{nan, nan}, nan, false},
		{"no probe", nil, nan, false},
	}
	for _, c := range cases {
		pct, slow := sp.slowest(c.probe)
		if slow != c.slow || math.IsNaN(pct) != math.IsNaN(c.pct) || (!math.IsNaN(c.pct) && math.Abs(pct-c.pct) > 1e-9) {
			t.Errorf("%s: slowest = %v, %v; want %v, %v", c.name, pct, slow, c.pct, c.slow)
		}
	}
}

// TestDisturbedStepsRunAgain: a failure is run again when a core was slow or other
// processes took more than otherMax of the server's or the bots' core.
func TestDisturbedStepsRunAgain(t *testing.T) {
	var sp speeds
	sp.note([]float64{0.010, 0.020})
	fast := []float64{0.010, 0.020}
	cases := []struct {
		name string
		r    stepResult
		want bool
	}{
		{"quiet", stepResult{probe: fast}, false},
		{"slow core", stepResult{probe: []float64{0.010 / 0.73, 0.020}}, true},
		{"other load on the server's core, as when Rallypoint failed 200", stepResult{probe: fast, other0: 8, other1: 6}, true},
		{"other load on the bots' core", stepResult{probe: fast, other1: 16}, true},
		{"a little other load", stepResult{probe: fast, other0: 3, other1: 5}, false},
		{"other load unknown", stepResult{probe: fast, other0: math.NaN(), other1: math.NaN()}, false},
	}
	for _, c := range cases {
		why, got := disturbed(c.r, &sp)
		if got != c.want || (got && why == "") || (!got && why != "") {
			t.Errorf("%s: disturbed = %q, %v; want %v", c.name, why, got, c.want)
		}
	}
}
