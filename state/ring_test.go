package state

import (
	"strings"
	"testing"
)

// pushTicks pushes snapshots of the given ticks built by r's builder.
func pushTicks(r *Ring, ticks ...Tick) {
	b := r.Builder()
	for _, t := range ticks {
		b.Begin(t)
		b.Add(1, 0, vals{int(t)})
		r.Push(b.Finish())
	}
}

func TestRingKeepsTheLastN(t *testing.T) {
	r := NewRing(3)
	if r.Latest() != nil || r.Get(1) != nil || r.Len() != 0 {
		t.Fatal("a new ring is not empty")
	}
	pushTicks(r, 2, 4, 6, 8, 10)
	tests := []struct {
		tick Tick
		held bool
	}{
		{0, false},  // "no tick"
		{2, false},  // left the ring
		{4, false},  // left the ring
		{5, false},  // never a snapshot tick
		{6, true},   // oldest held
		{8, true},   //
		{10, true},  // latest
		{12, false}, // future
	}
	for _, tt := range tests {
		s := r.Get(tt.tick)
		if (s != nil) != tt.held || (s != nil && s.Tick() != tt.tick) {
			t.Errorf("Get(%d) = %v, want held=%v", tt.tick, s, tt.held)
		}
	}
	if l := r.Latest(); l == nil || l.Tick() != 10 || r.Len() != 3 {
		t.Errorf("Latest %v Len %d, want tick 10 and 3", l, r.Len())
	}
}

func TestRingDefaultSize(t *testing.T) {
	r := NewRing(0)
	for tick := Tick(1); tick <= 100; tick++ {
		pushTicks(r, tick)
	}
	if r.Len() != DefaultRingSize || r.Get(100-DefaultRingSize) != nil || r.Get(101-DefaultRingSize) == nil {
		t.Errorf("NewRing(0) holds %d snapshots, want the last %d", r.Len(), DefaultRingSize)
	}
}

func TestRingRecyclesOnlyItsBuildersSnapshots(t *testing.T) {
	r := NewRing(2)
	pushTicks(r, 1)
	first := r.Latest()
	pushTicks(r, 2, 3) // tick 1 leaves the ring
	b := r.Builder()
	b.Begin(4)
	if b.cur != first {
		t.Error("the builder did not reuse the snapshot that left the ring")
	}
	b.Add(1, 0, nil)
	r.Push(b.Finish())

	foreign := build(5, ent{1, 0, nil})
	r.Push(foreign)
	pushTicks(r, 6, 7) // foreign leaves the ring
	if len(r.free) != 1 || r.free[0] == foreign {
		t.Error("the ring recycled a snapshot that its builder did not make")
	}
	if foreign.Tick() != 5 || foreign.Len() != 1 {
		t.Error("a foreign snapshot changed after leaving the ring")
	}
}

func TestRingPushPanicsOnMisuse(t *testing.T) {
	tests := []struct {
		name string
		do   func(r *Ring)
		want string
	}{
		{"tick not increasing", func(r *Ring) { pushTicks(r, 5, 5) }, "tick 5 after tick 5"},
		{"tick going back", func(r *Ring) { pushTicks(r, 5, 4) }, "tick 4 after tick 5"},
		{"nil", func(r *Ring) { r.Push(nil) }, "nil snapshot"},
		{"unfinished", func(r *Ring) { r.Builder().Begin(1); r.Push(r.Builder().cur) }, "still being built"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, tt.want) {
					t.Errorf("panic %q, want one containing %q", msg, tt.want)
				}
			}()
			tt.do(NewRing(4))
		})
	}
}

// TestRingResetLetsGoOfEverySnapshot: an empty room resets its ring, and must then hold no
// snapshot, neither as a baseline nor for recycling (issue 11: empty rooms held 64).
func TestRingResetLetsGoOfEverySnapshot(t *testing.T) {
	r := NewRing(3)
	pushTicks(r, 1, 2, 3, 4, 5)
	old := r.Latest()
	r.Reset()
	if r.Len() != 0 || r.Latest() != nil || r.Get(5) != nil {
		t.Fatalf("after Reset: Len %d, Latest %v, Get(5) %v", r.Len(), r.Latest(), r.Get(5))
	}
	if len(r.free) != 0 {
		t.Fatalf("after Reset, %d snapshots are kept for recycling", len(r.free))
	}
	for i, s := range r.slots {
		if s != nil {
			t.Fatalf("after Reset, slot %d still points at tick %d", i, s.Tick())
		}
	}
	// Ticks go on from where they were, into new memory.
	pushTicks(r, 6, 7, 8, 9)
	if r.Len() != 3 || r.Latest().Tick() != 9 || r.Get(7) == nil {
		t.Fatalf("after Reset and 4 pushes: Len %d, Latest %d", r.Len(), r.Latest().Tick())
	}
	for _, s := range r.slots {
		if s == old {
			t.Fatal("a snapshot from before Reset came back")
		}
	}
}

// TestRingPinnedSnapshotOutlivesTheRing: a pinned snapshot keeps its contents after it
// leaves the ring, however many snapshots are built meanwhile, and is recycled only at its
// last Unpin; an unpinned one is recycled as before.
func TestRingPinnedSnapshotOutlivesTheRing(t *testing.T) {
	tests := []struct {
		name      string
		pins      int
		unpins    int
		later     int  // snapshots pushed after tick 1 while pinned
		recycled  bool // tick 1's memory back in the free list at the end
		untouched bool // tick 1 still reads as tick 1 at the end
	}{
		{"NotPinned", 0, 0, 5, true, false},
		{"PinnedLongAfter", 1, 0, 20, false, true},
		{"TwoPinsOneUnpin", 2, 1, 20, false, true},
		{"UnpinnedAfterLeaving", 1, 1, 20, true, true}, // free, not reused yet
		{"UnpinnedBeforeLeaving", 1, 1, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRing(2)
			pushTicks(r, 1)
			first := r.Latest()
			for range tt.pins {
				r.Pin(first)
			}
			for i := range tt.later {
				pushTicks(r, Tick(2+i))
			}
			if tt.pins > 0 && (first.Tick() != 1 || first.Len() != 1) {
				t.Fatalf("pinned snapshot reads tick %d with %d entities after leaving the ring", first.Tick(), first.Len())
			}
			for range tt.unpins {
				r.Unpin(first)
			}
			inFree := false
			for _, s := range r.free {
				inFree = inFree || s == first
			}
			if inFree != tt.recycled {
				t.Errorf("recycled = %v, want %v", inFree, tt.recycled)
			}
			if got := first.Tick() == 1 && first.Len() == 1; got != tt.untouched {
				t.Errorf("tick 1 untouched = %v, want %v", got, tt.untouched)
			}
		})
	}
}

func TestRingUnpinWithoutPinPanics(t *testing.T) {
	defer func() {
		if msg, _ := recover().(string); !strings.Contains(msg, "without a Pin") {
			t.Errorf("panic %q", msg)
		}
	}()
	r := NewRing(2)
	pushTicks(r, 1)
	r.Unpin(r.Latest())
}
