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
