package engine

import "time"

// schedule decides when ticks run: tick k is due at t0 + k·dt, computed from k rather than
// accumulated, so rounding never drifts. When the loop wakes late it runs the missed ticks
// back to back, but at most maxCatchUp of them; beyond that the schedule jumps ahead and
// the skipped ticks are counted, so a slow game falls behind real time instead of spiralling.
type schedule struct {
	t0         time.Duration
	dt         time.Duration
	k          int64 // next tick number to run
	maxCatchUp int64
	skipped    int64
}

// due is when tick k should run.
func (s *schedule) due() time.Duration { return s.t0 + time.Duration(s.k)*s.dt }

// woke is called with the time the loop woke for the current tick. It returns how late the
// tick is and, if the loop has fallen more than maxCatchUp ticks behind, skips ahead.
func (s *schedule) woke(now time.Duration) (lateness time.Duration) {
	lateness = now - s.due()
	if lateness < 0 {
		return 0
	}
	behind := int64(lateness / s.dt) // ticks already overdue after this one
	if behind > s.maxCatchUp {
		skip := behind - s.maxCatchUp
		s.k += skip
		s.skipped += skip
	}
	return lateness
}

// resume re-anchors the schedule after the room slept: the next tick is due at now, and
// those after it dt apart, as if the time asleep had not passed. Nothing counts as late or
// skipped.
func (s *schedule) resume(now time.Duration) {
	if now > s.due() {
		s.t0 = now - time.Duration(s.k)*s.dt
	}
}

// ran advances to the next tick.
func (s *schedule) ran() { s.k++ }
