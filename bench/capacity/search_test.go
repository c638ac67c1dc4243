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

func TestRatioCarriesTheBounds(t *testing.T) {
	cases := []struct {
		r, c capacity
		want string
	}{
		{capacity{400, ""}, capacity{200, ""}, "2.00"},
		{capacity{400, ">"}, capacity{200, ""}, ">=2.00"},
		{capacity{400, ">="}, capacity{300, ""}, ">=1.33"},
		{capacity{400, ""}, capacity{200, ">"}, "<=2.00"},
		{capacity{400, ">"}, capacity{200, ">"}, "unknown"},
		{capacity{400, ""}, capacity{0, ""}, "n/a"},
	}
	for _, c := range cases {
		if got := ratio(c.r, c.c); got != c.want {
			t.Errorf("ratio(%s, %s) = %s, want %s", c.r, c.c, got, c.want)
		}
	}
	if got := summaryLine(capacity{400, ""}, capacity{160, ""}); got != "rallypoint_players_per_core=400 colyseus_players_per_core=160 ratio=2.50" {
		t.Errorf("summary line %q", got)
	}
}
