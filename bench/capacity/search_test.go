package main

import (
	"slices"
	"testing"
)

// TestSearchSteps drives the search with a server that passes up to a true capacity (and
// a load tool that saturates from some count on) and checks the steps it takes and its
// answer.
func TestSearchSteps(t *testing.T) {
	cases := []struct {
		name      string
		start     int
		cap       int
		capacity  int // passes at or below
		toolBound int // inconclusive at or above (0: never)
		steps     []int
		want      string
	}{
		{"doubles then bisects to within 25", 100, 0, 330, 0, []int{100, 200, 400, 300, 350, 325}, "325"},
		{"bisects to within 5% when that is wider", 100, 0, 1000, 0, []int{100, 200, 400, 800, 1600, 1200, 1000, 1100, 1050}, "1000"},
		{"first step fails: bisects below it to within 25", 100, 0, 40, 0, []int{100, 50, 25}, "25"},
		{"cap passes: stops there", 100, 300, 1000, 0, []int{100, 200, 300}, ">=300"},
		{"cap fails: bisects below it", 100, 300, 250, 0, []int{100, 200, 300, 250, 275}, "250"},
		{"load tool bound", 100, 0, 1000, 400, []int{100, 200, 400, 300, 350, 375}, ">375"},
		{"a failure below the tool's bound is exact", 100, 0, 320, 400, []int{100, 200, 400, 300, 350, 325}, "300"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &search{start: c.start, cap: c.cap}
			var steps []int
			for n := s.next(); n != 0; n = s.next() {
				if len(steps) > 20 {
					t.Fatalf("no end: %v", steps)
				}
				steps = append(steps, n)
				v := verdictFail
				switch {
				case c.toolBound > 0 && n >= c.toolBound:
					v = verdictInconclusive
				case n <= c.capacity:
					v = verdictPass
				}
				s.record(n, v)
			}
			if !slices.Equal(steps, c.steps) {
				t.Errorf("steps %v, want %v", steps, c.steps)
			}
			if got := s.capacity().String(); got != c.want {
				t.Errorf("capacity %s, want %s", got, c.want)
			}
		})
	}
}

// TestSearchKeepsTheFailureAboveAToolBound replays bench/capacity's run of 2026-12-07 for
// Colyseus: a failure at 400 (lateness, the driver at 88% of its core), then the driver
// saturated at 300, passes at 250 and 275. The capacity is load tool bound, but under 400.
func TestSearchKeepsTheFailureAboveAToolBound(t *testing.T) {
	verdicts := map[int]verdict{100: verdictPass, 200: verdictPass, 400: verdictFail,
		300: verdictInconclusive, 250: verdictPass, 275: verdictPass}
	s := &search{start: 100}
	var steps []int
	for n := s.next(); n != 0; n = s.next() {
		v, ok := verdicts[n]
		if !ok {
			t.Fatalf("unexpected step %d after %v", n, steps)
		}
		steps = append(steps, n)
		s.record(n, v)
	}
	if want := []int{100, 200, 400, 300, 250, 275}; !slices.Equal(steps, want) {
		t.Errorf("steps %v, want %v", steps, want)
	}
	c := s.capacity()
	if c != (capacity{275, ">", 400}) {
		t.Errorf("capacity %+v", c)
	}
	if got, want := c.note(), "> 275 (load tool bound), < 400 (failed the rules there)"; got != want {
		t.Errorf("note %q, want %q", got, want)
	}
}

// TestSearchIgnoresAFailureUnderAPass: the search never steps above a failure, but a
// capacity read from a search whose failure lies under its pass (noise) must not claim an
// upper end below what passed.
func TestSearchIgnoresAFailureUnderAPass(t *testing.T) {
	s := &search{lo: 175, hi: 190, hiBound: true, failed: 120}
	if c := s.capacity(); c != (capacity{175, ">", 0}) {
		t.Errorf("capacity %+v, want >175 with no upper end", c)
	}
}

func TestRatioCarriesTheBounds(t *testing.T) {
	cases := []struct {
		r, c capacity
		want string
		note string
	}{
		{capacity{n: 400}, capacity{n: 200}, "2.00", "ratio: 2.00"},
		{capacity{400, ">", 0}, capacity{n: 200}, ">=2.00", "ratio: at least 2.00 (rallypoint's least over colyseus's most)"},
		{capacity{400, ">=", 0}, capacity{n: 300}, ">=1.33", "ratio: at least 1.33 (rallypoint's least over colyseus's most)"},
		{capacity{n: 400}, capacity{200, ">", 0}, "<=2.00", "ratio: at most 2.00 (rallypoint's most over colyseus's least)"},
		{capacity{400, ">", 0}, capacity{200, ">", 0}, "unknown", "ratio: unknown (neither side has an upper end)"},
		// Colyseus bound by its tool but failed at 250: the ratio is at least 400/250.
		{capacity{n: 400}, capacity{200, ">", 250}, ">=1.60", "ratio: between 1.60 and 2.00 (rallypoint's least over colyseus's most, and the other way round)"},
		// Both bound by their tools, both failed above: this run's figures.
		{capacity{900, ">", 950}, capacity{275, ">", 400}, ">=2.25", "ratio: between 2.25 and 3.45 (rallypoint's least over colyseus's most, and the other way round)"},
		{capacity{900, ">", 0}, capacity{275, ">", 400}, ">=2.25", "ratio: at least 2.25 (rallypoint's least over colyseus's most)"},
		{capacity{900, ">", 950}, capacity{275, ">", 0}, "<=3.45", "ratio: at most 3.45 (rallypoint's most over colyseus's least)"},
		{capacity{n: 400}, capacity{n: 0}, "n/a", "ratio: colyseus passed no step"},
	}
	for _, c := range cases {
		if got := ratio(c.r, c.c); got != c.want {
			t.Errorf("ratio(%+v, %+v) = %s, want %s", c.r, c.c, got, c.want)
		}
		if got := ratioNote(c.r, c.c); got != c.note {
			t.Errorf("ratioNote(%+v, %+v) = %q, want %q", c.r, c.c, got, c.note)
		}
	}
	if got := summaryLine(capacity{n: 400}, capacity{n: 160}); got != "rallypoint_players_per_core=400 colyseus_players_per_core=160 ratio=2.50" {
		t.Errorf("summary line %q", got)
	}
}
