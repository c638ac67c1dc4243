package main

import "fmt"

// search finds the most players a server passes with: it doubles from start until a step
// fails, then bisects between the last pass and the first failure until they are within
// 5% (or 25 players) of each other. An inconclusive step (the load tool saturated) is an
// upper end the harness cannot measure past: the bisection continues below it, and if it
// ends against it the capacity is reported as "> N (load tool bound)".
//
// A failure is kept even when an inconclusive step below it ends the bisection: a server
// that failed its own rules at F players (the load tool not saturated) serves fewer than F,
// so a load-tool-bound capacity still has an upper end, and the ratio a bound from it.
type search struct {
	start, cap int  // cap 0: none
	lo         int  // most players that passed (0: none yet)
	hi         int  // fewest that did not pass (0: none yet)
	hiBound    bool // hi was inconclusive, not a failure
	failed     int  // fewest players that failed the server's rules (0: none yet)
	capped     bool // the cap passed
	steps      int
}

// next is the player count of the next step, or 0 when the search is over.
func (s *search) next() int {
	if s.capped {
		return 0
	}
	if s.hi == 0 {
		n := s.start
		if s.lo > 0 {
			n = 2 * s.lo
		}
		if s.cap > 0 && n > s.cap {
			n = s.cap
		}
		return n
	}
	if s.hi-s.lo <= max(25, s.lo/20) {
		return 0
	}
	return (s.lo + s.hi) / 2
}

// record takes a step's verdict.
func (s *search) record(n int, v verdict) {
	s.steps++
	switch v {
	case verdictPass:
		s.lo = max(s.lo, n)
		if s.cap > 0 && n >= s.cap {
			s.capped = true
		}
	default:
		if v == verdictFail && (s.failed == 0 || n < s.failed) {
			s.failed = n
		}
		if s.hi == 0 || n <= s.hi {
			s.hi = n
			s.hiBound = v == verdictInconclusive
		}
	}
}

// capacity is the search's answer as the summary line prints it: a number, or a bound.
type capacity struct {
	n     int
	bound string // "": exact; ">": at least n+1 (load tool bound); ">=": the cap passed
	// below, for a bound, is the fewest players the server failed its own rules with
	// (0: none seen above n): the capacity is under it.
	below int
}

func (s *search) capacity() capacity {
	below := 0
	if s.failed > s.lo { // a failure under a pass is noise, and bounds nothing
		below = s.failed
	}
	switch {
	case s.capped:
		return capacity{s.lo, ">=", below}
	case s.hiBound:
		return capacity{s.lo, ">", below}
	}
	return capacity{n: s.lo}
}

func (c capacity) String() string { return fmt.Sprintf("%s%d", c.bound, c.n) }

// note says in words what a bound means.
func (c capacity) note() string {
	switch c.bound {
	case ">":
		return fmt.Sprintf("> %d (load tool bound)%s", c.n, c.failedAt())
	case ">=":
		return fmt.Sprintf(">= %d (the -max cap passed; not searched past it)%s", c.n, c.failedAt())
	}
	return fmt.Sprint(c.n)
}

func (c capacity) failedAt() string {
	if c.below == 0 {
		return ""
	}
	return fmt.Sprintf(", < %d (failed the rules there)", c.below)
}

// span is the range the capacity lies in: lo players passed; it is under hi (0: no upper
// end known). An exact capacity is its own span.
func (c capacity) span() (lo, hi int) {
	if c.bound == "" {
		return c.n, c.n
	}
	return c.n, c.below
}

// ratio is Rallypoint's capacity over Colyseus's, with the bound it inherits. Each side lies
// in a span (capacity.span); the ratio is at least Rallypoint's low end over Colyseus's high
// end, and at most the other way round. The summary line says the lower bound when there is
// one (the goal is one: ratio >= 2), else the upper, else "unknown"; ratioNote says
// both ends in words.
func ratio(r, c capacity) string {
	short, _ := ratioText(r, c)
	return short
}

// ratioNote is the line before the summary: where the ratio lies, in words.
func ratioNote(r, c capacity) string {
	_, words := ratioText(r, c)
	return "ratio: " + words
}

func ratioText(r, c capacity) (short, words string) {
	lo, hi, ok := ratioSpan(r, c)
	switch {
	case !ok:
		return "n/a", "colyseus passed no step"
	case lo == hi && lo > 0:
		v := fmt.Sprintf("%.2f", lo)
		return v, v
	case lo > 0 && hi > 0:
		return fmt.Sprintf(">=%.2f", lo), fmt.Sprintf("between %.2f and %.2f (rallypoint's least over colyseus's most, and the other way round)", lo, hi)
	case lo > 0:
		return fmt.Sprintf(">=%.2f", lo), fmt.Sprintf("at least %.2f (rallypoint's least over colyseus's most)", lo)
	case hi > 0:
		return fmt.Sprintf("<=%.2f", hi), fmt.Sprintf("at most %.2f (rallypoint's most over colyseus's least)", hi)
	}
	return "unknown", "unknown (neither side has an upper end)"
}

// ratioSpan returns the least and the most the ratio can be (0: no such end), and false
// when Colyseus passed no step.
func ratioSpan(r, c capacity) (lo, hi float64, ok bool) {
	if c.n == 0 {
		return 0, 0, false
	}
	rlo, rhi := r.span()
	clo, chi := c.span()
	if chi > 0 {
		lo = float64(rlo) / float64(chi)
	}
	if rhi > 0 {
		hi = float64(rhi) / float64(clo)
	}
	return lo, hi, true
}
