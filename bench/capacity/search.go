package main

import "fmt"

// search finds the most players a server passes with: it doubles from start until a step
// fails, then bisects between the last pass and the first failure until they are within
// 5% (or 25 players) of each other. An inconclusive step (the load tool saturated) is an
// upper end the harness cannot measure past: the bisection continues below it, and if it
// ends against it the capacity is reported as "> N (load tool bound)".
type search struct {
	start, cap int  // cap 0: none
	lo         int  // most players that passed (0: none yet)
	hi         int  // fewest that did not pass (0: none yet)
	hiBound    bool // hi was inconclusive, not a failure
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
}

func (s *search) capacity() capacity {
	switch {
	case s.capped:
		return capacity{s.lo, ">="}
	case s.hiBound:
		return capacity{s.lo, ">"}
	}
	return capacity{s.lo, ""}
}

func (c capacity) String() string { return fmt.Sprintf("%s%d", c.bound, c.n) }

// note says in words what a bound means.
func (c capacity) note() string {
	switch c.bound {
	case ">":
		return fmt.Sprintf("> %d (load tool bound)", c.n)
	case ">=":
		return fmt.Sprintf(">= %d (the -max cap passed; not searched past it)", c.n)
	}
	return fmt.Sprint(c.n)
}

// ratio is Rallypoint's capacity over Colyseus's, with the bound it inherits: a lower
// bound on Rallypoint's side makes the ratio a lower bound, one on Colyseus's an upper.
func ratio(r, c capacity) string {
	if c.n == 0 {
		return "n/a"
	}
	v := fmt.Sprintf("%.2f", float64(r.n)/float64(c.n))
	switch {
	case r.bound == "" && c.bound == "":
		return v
	case c.bound == "":
		return ">=" + v
	case r.bound == "":
		return "<=" + v
	}
	return "unknown"
}
