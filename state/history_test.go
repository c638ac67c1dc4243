package state

import (
	"math"
	"testing"
)

func TestViewClampKeepsViewsWithinTheRewindLimit(t *testing.T) {
	const latest, back, ahead = 100, 30, 6
	cases := []struct {
		name string
		in   View
		want View
	}{
		{"zero stays zero: judge against the present", View{}, View{}},
		{"a view within the limit is kept", View{From: 90, To: 92, T: 0.25}, View{From: 90, To: 92, T: 0.25}},
		{"the latest tick alone", View{From: 100, To: 100}, View{From: 100, To: 100}},
		{"ticks in the future become the latest", View{From: 104, To: 106, T: 0.5}, View{From: 100, To: 100}},
		{"a view ending in the future ends at the latest", View{From: 98, To: 102, T: 0.5}, View{From: 98, To: 100, T: 0.5}},
		{"older than the limit: the oldest tick allowed", View{From: 40, To: 42, T: 0.5}, View{From: 70, To: 70}},
		{"starting before the limit: starts at it", View{From: 68, To: 72, T: 0.5}, View{From: 70, To: 72, T: 0.5}},
		{"ticks the wrong way round are swapped", View{From: 92, To: 90, T: 0.5}, View{From: 90, To: 92, T: 0.5}},
		{"extrapolation is kept up to the bound", View{From: 96, To: 98, T: 2.5}, View{From: 96, To: 98, T: 2.5}},
		{"extrapolation reaches at most 6 ticks past To", View{From: 96, To: 98, T: 40}, View{From: 96, To: 98, T: 4}},
		{"over a longer span, fewer spans", View{From: 90, To: 96, T: 40}, View{From: 90, To: 96, T: 2}},
		{"a negative blend is From", View{From: 96, To: 98, T: -1}, View{From: 96, To: 98}},
		{"NaN is From", View{From: 96, To: 98, T: math.NaN()}, View{From: 96, To: 98}},
		{"one tick: T means nothing", View{From: 96, To: 96, T: 0.7}, View{From: 96, To: 96}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.in.Clamp(latest, back, ahead); got != c.want {
				t.Fatalf("%+v.Clamp(%d, %d, %d) = %+v, want %+v", c.in, latest, back, ahead, got, c.want)
			}
		})
	}
	// Early in a room the limit reaches below tick 1: tick 1 is the oldest.
	if got := (View{From: 0, To: 2, T: 0.5}).Clamp(5, 30, 6); got != (View{From: 1, To: 2, T: 0.5}) {
		t.Fatalf("early clamp: %+v", got)
	}
}

type pos struct {
	x, y     float64
	hittable bool
}

func lerpPos(a, b pos, t float64) pos {
	return pos{a.x + (b.x-a.x)*t, a.y + (b.y-a.y)*t, a.hittable && b.hittable}
}

func TestHistoryDrawnIsWhatTheClientDrew(t *testing.T) {
	var h History[pos]
	for tick := Tick(1); tick <= 200; tick++ {
		h.Record(tick, pos{x: float64(tick) * 4, y: 10, hittable: tick != 150})
	}
	cases := []struct {
		name string
		view View
		want pos
		ok   bool
	}{
		{"one snapshot", View{From: 190, To: 190}, pos{760, 10, true}, true},
		{"T 0 is From", View{From: 190, To: 192}, pos{760, 10, true}, true},
		{"halfway", View{From: 190, To: 192, T: 0.5}, pos{764, 10, true}, true},
		{"To", View{From: 190, To: 192, T: 1}, pos{768, 10, true}, true},
		{"extrapolated half a span past To", View{From: 190, To: 192, T: 1.5}, pos{772, 10, true}, true},
		{"towards a tick when it could not be hit", View{From: 148, To: 150, T: 0.5}, pos{596, 10, false}, true},
		{"overwritten: older than the history", View{From: 60, To: 62, T: 0.5}, pos{}, false},
		{"not recorded yet", View{From: 200, To: 201, T: 0.5}, pos{}, false},
		{"the zero view names no tick", View{}, pos{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := h.Drawn(c.view, lerpPos)
			if ok != c.ok || (ok && got != c.want) {
				t.Fatalf("Drawn(%+v) = %+v, %v; want %+v, %v", c.view, got, ok, c.want, c.ok)
			}
		})
	}
	if h.Len() != DefaultHistoryLen {
		t.Fatalf("Len %d", h.Len())
	}
	h.Forget()
	if _, ok := h.At(199); ok {
		t.Fatal("Forget kept a value")
	}
}

func TestHistoryLengthAndGaps(t *testing.T) {
	h := NewHistory[int](8)
	if h.Len() != 8 {
		t.Fatalf("Len %d", h.Len())
	}
	slot := map[Tick]Tick{} // what each of the 8 slots should hold
	for tick := Tick(1); tick <= 20; tick++ {
		if tick%5 != 0 { // ticks 5, 10, 15, 20: the entity was not there
			h.Record(tick, int(tick))
			slot[tick%8] = tick
		}
	}
	for tick := Tick(1); tick <= 21; tick++ {
		v, ok := h.At(tick)
		// Kept: recorded and not overwritten since (a gap leaves an older tick in place).
		want := slot[tick%8] == tick
		if ok != want || (ok && v != int(tick)) {
			t.Errorf("At(%d) = %d, %v; want ok %v", tick, v, ok, want)
		}
	}
	if _, ok := h.At(7); !ok {
		t.Error("tick 7 was overwritten by nothing (15 was not recorded), yet it is gone")
	}
	empty := NewHistory[int](0)
	if _, ok := empty.At(1); ok {
		t.Fatal("an empty history has a value")
	}
}

// Recording and reading allocate nothing once the ring exists: both run for every entity
// every tick, and for every shot.
func TestHistoryAllocatesOnce(t *testing.T) {
	var h History[pos]
	h.Record(1, pos{})
	tick := Tick(1)
	allocs := testing.AllocsPerRun(1000, func() {
		tick++
		h.Record(tick, pos{x: float64(tick)})
		if _, ok := h.Drawn(View{From: tick - 2, To: tick - 1, T: 0.3}, lerpPos); !ok && tick > 3 {
			t.Fatal("no value")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per tick", allocs)
	}
}
