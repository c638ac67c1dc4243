package engine

import (
	"testing"
	"time"
)

func TestScheduleHasNoDrift(t *testing.T) {
	// 60 Hz does not divide a second evenly in nanoseconds; deadlines computed from k must
	// still land exactly on t0 + k·dt after a million ticks.
	s := schedule{t0: 123, dt: time.Second / 60, maxCatchUp: 3}
	for range 1_000_000 {
		if late := s.woke(s.due()); late != 0 {
			t.Fatalf("on-time wake reported lateness %v", late)
		}
		s.ran()
	}
	if want := time.Duration(123) + 1_000_000*(time.Second/60); s.due() != want {
		t.Fatalf("tick 1e6 due at %v, want %v", s.due(), want)
	}
}

func TestScheduleCatchUpIsBounded(t *testing.T) {
	tests := []struct {
		name        string
		lateTicks   float64
		wantSkipped int64
	}{
		{"slightly late: no skip", 0.5, 0},
		{"three behind: catch up", 3.5, 0},
		{"ten behind: skip beyond catch-up", 10.5, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dt := 10 * time.Millisecond
			s := schedule{dt: dt, maxCatchUp: 3}
			late := s.woke(time.Duration(tt.lateTicks * float64(dt)))
			if late != time.Duration(tt.lateTicks*float64(dt)) {
				t.Fatalf("lateness %v", late)
			}
			if s.skipped != tt.wantSkipped {
				t.Fatalf("skipped %d, want %d", s.skipped, tt.wantSkipped)
			}
			// Having skipped, at most maxCatchUp+1 ticks run back to back before the loop
			// is on time again.
			now := time.Duration(tt.lateTicks * float64(dt))
			s.ran()
			backToBack := 1
			for s.due() <= now {
				s.woke(now)
				s.ran()
				backToBack++
			}
			if backToBack > int(s.maxCatchUp)+1 {
				t.Fatalf("%d ticks back to back", backToBack)
			}
		})
	}
}

// TestPhaseGroupsFillAndRefill: rooms of the same tick length are dealt to phase groups of
// roomsPerPhase, the first with room first, so a group a room left is refilled before a new
// one starts; rooms of another tick length count apart.
func TestPhaseGroupsFillAndRefill(t *testing.T) {
	const dt, other = time.Second / 60, time.Second / 10
	var e Engine
	var got []int
	for range 2*roomsPerPhase + 1 {
		got = append(got, e.takePhase(dt))
	}
	for i, g := range got {
		if want := i / roomsPerPhase; g != want {
			t.Fatalf("room %d got group %d, want %d (all: %v)", i, g, want, got)
		}
	}
	if g := e.takePhase(other); g != 0 {
		t.Fatalf("the first room at another rate got group %d, want 0", g)
	}
	e.dropPhase(dt, 1)
	e.dropPhase(dt, 0)
	for _, want := range []int{0, 1, 2} {
		if g := e.takePhase(dt); g != want {
			t.Fatalf("after two rooms ended, a new room got group %d, want %d", g, want)
		}
	}
}

// TestPhaseOffsetsSpreadOverTheTick: however many groups there are, their offsets halve the
// largest gap of the tick left by the ones before, and the first tick of a room waits for
// its group's offset, never longer than a tick.
func TestPhaseOffsetsSpreadOverTheTick(t *testing.T) {
	const dt = 16 * time.Millisecond
	for g, want := range []time.Duration{0, 8 * time.Millisecond, 4 * time.Millisecond, 12 * time.Millisecond, 2 * time.Millisecond, 10 * time.Millisecond} {
		if got := phaseOffset(dt, g); got != want {
			t.Errorf("phaseOffset(group %d) = %v, want %v", g, got, want)
		}
	}
	tests := []struct{ now, offset, want time.Duration }{
		{0, 0, 0},
		{5 * time.Millisecond, 8 * time.Millisecond, 3 * time.Millisecond},
		{9 * time.Millisecond, 8 * time.Millisecond, 15 * time.Millisecond},
		{dt*1000 + time.Millisecond, 0, 15 * time.Millisecond},
		{dt * 7, 4 * time.Millisecond, 4 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := untilOffset(tt.now, dt, tt.offset); got != tt.want {
			t.Errorf("untilOffset(now %v, offset %v) = %v, want %v", tt.now, tt.offset, got, tt.want)
		}
	}
}

// TestResumeKeepsThePhase: a room that slept ticks again at its group's offset, at most a tick
// after it woke, as if the time asleep had not passed (no lateness).
func TestResumeKeepsThePhase(t *testing.T) {
	const dt = time.Second / 60
	offset := phaseOffset(dt, 3)
	for _, asleep := range []time.Duration{time.Millisecond, dt, 7 * dt / 2, 10 * time.Minute} {
		s := schedule{t0: untilOffset(0, dt, offset), dt: dt, maxCatchUp: 3}
		s.woke(s.due())
		s.ran()
		now := s.due() + asleep
		s.resume(now)
		if d := s.due(); d < now || d-now >= dt || d%dt != offset {
			t.Errorf("asleep %v: next tick at %v, woke at %v: want within a tick, at offset %v (got %v)", asleep, d, now, offset, d%dt)
		}
		if late := s.woke(s.due()); late != 0 {
			t.Errorf("asleep %v: lateness %v after resume", asleep, late)
		}
	}
}
