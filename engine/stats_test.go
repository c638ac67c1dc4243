package engine

import (
	"testing"
	"time"
)

func TestRoomStatsKeepsTheLastSamplesOldestFirst(t *testing.T) {
	tests := []struct {
		name  string
		ticks int
	}{
		{"none", 0},
		{"a few", 3},
		{"exactly full", roomStatsSamples},
		{"wrapped", roomStatsSamples + 5},
		{"wrapped twice", 2*roomStatsSamples + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRoomStats()
			for i := range tt.ticks {
				s.record(time.Duration(i) * time.Millisecond)
			}
			got := s.Lateness()
			want := min(tt.ticks, roomStatsSamples)
			if len(got) != want {
				t.Fatalf("%d samples, want %d", len(got), want)
			}
			for i, d := range got {
				if w := time.Duration(tt.ticks-want+i) * time.Millisecond; d != w {
					t.Fatalf("sample %d = %v, want %v", i, d, w)
				}
			}
		})
	}
}

func TestRoomStatsCostsNothingUntilTheRoomTicks(t *testing.T) {
	s := newRoomStats()
	if cap(s.late) != 0 {
		t.Fatalf("a new RoomStats holds room for %d samples", cap(s.late))
	}
	for range 3 * roomStatsSamples {
		s.record(time.Millisecond)
	}
	if cap(s.late) > roomStatsSamples {
		t.Fatalf("RoomStats grew to %d samples, more than %d", cap(s.late), roomStatsSamples)
	}
	if n := testing.AllocsPerRun(100, func() { s.record(time.Millisecond) }); n != 0 {
		t.Fatalf("record allocates %.1f times once full", n)
	}
}
