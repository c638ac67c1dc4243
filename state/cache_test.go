package state

import (
	"sync"
	"testing"
)

func TestFrameCacheCountsHitsAndMisses(t *testing.T) {
	c := NewFrameCache[[]byte](4)
	k := FrameKey{View: 1, Baseline: 9, Tick: 10}
	if _, ok := c.Get(k); ok {
		t.Fatal("an empty cache found a frame")
	}
	c.Add(k, []byte("frame"))
	for range 3 {
		if v, ok := c.Get(k); !ok || string(v) != "frame" {
			t.Fatalf("Get = %q, %v", v, ok)
		}
	}
	for _, other := range []FrameKey{{View: 2, Baseline: 9, Tick: 10}, {View: 1, Baseline: 8, Tick: 10}, {View: 1, Baseline: 9, Tick: 11}} {
		if _, ok := c.Get(other); ok {
			t.Errorf("Get(%+v) found the frame of %+v", other, k)
		}
	}
	if hits, misses := c.Stats(); hits != 3 || misses != 4 {
		t.Errorf("Stats() = %d hits, %d misses; want 3 and 4", hits, misses)
	}
}

// TestFrameCacheReleasesFramesOfOlderTicks: a frame is used during its own tick only, so
// frames of earlier ticks must not stay pinned (issue 11: a room's cache held 256 stale
// frames, about 150 KiB in an 8-player shooter room).
func TestFrameCacheReleasesFramesOfOlderTicks(t *testing.T) {
	tests := []struct {
		name string
		next func(c *FrameCache[*int])
	}{
		{"Add of a newer tick", func(c *FrameCache[*int]) { c.Add(FrameKey{View: 3, Tick: 11}, new(int)) }},
		{"Get of a newer tick", func(c *FrameCache[*int]) { c.Get(FrameKey{Tick: 11}) }},
		{"Clear", func(c *FrameCache[*int]) { c.Clear() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewFrameCache[*int](8)
			old := FrameKey{View: 1, Baseline: 9, Tick: 10}
			c.Add(old, new(int))
			c.Add(FrameKey{View: 2, Tick: 10}, new(int))
			tt.next(c)
			if _, ok := c.frames[old]; ok {
				t.Fatal("a frame of tick 10 is still held")
			}
			for k := range c.frames {
				if k.Tick != 11 {
					t.Errorf("frame %+v held after moving past tick 10", k)
				}
			}
		})
	}
}

func TestFrameCacheIgnoresFramesOfPastTicks(t *testing.T) {
	c := NewFrameCache[int](8)
	c.Add(FrameKey{Tick: 5}, 5)
	c.Add(FrameKey{Tick: 4}, 4)
	if _, ok := c.Get(FrameKey{Tick: 4}); ok {
		t.Error("a frame of a past tick was stored")
	}
	if v, ok := c.Get(FrameKey{Tick: 5}); !ok || v != 5 {
		t.Errorf("Get(tick 5) = %d, %v", v, ok)
	}
}

func TestFrameCacheHoldsAtMostSizeFramesOfATick(t *testing.T) {
	for _, size := range []int{0, 1, 3} {
		want := size
		if size == 0 {
			want = DefaultFrameCacheSize
		}
		c := NewFrameCache[int](size)
		for i := range want + 10 {
			c.Add(FrameKey{View: ViewKey(i), Tick: 7}, i)
		}
		if c.Len() != want {
			t.Errorf("NewFrameCache(%d) holds %d frames of one tick, want %d", size, c.Len(), want)
		}
		// The frames stored first stay: a full tick does not churn.
		if v, ok := c.Get(FrameKey{View: 0, Tick: 7}); !ok || v != 0 {
			t.Errorf("NewFrameCache(%d): first frame Get = %d, %v", size, v, ok)
		}
	}
}

func TestFrameCacheAddAllocatesNothingOnceGrown(t *testing.T) {
	c := NewFrameCache[int](16)
	tick := Tick(1)
	fill := func() {
		tick++
		for v := range 8 {
			k := FrameKey{View: ViewKey(v), Baseline: tick - 1, Tick: tick}
			if _, ok := c.Get(k); !ok {
				c.Add(k, v)
			}
		}
	}
	fill()
	if n := testing.AllocsPerRun(100, fill); n != 0 {
		t.Errorf("a tick of 8 frames allocates %.1f times", n)
	}
}

func TestFrameCacheIsSafeForConcurrentUse(t *testing.T) {
	c := NewFrameCache[int](64)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				k := FrameKey{View: ViewKey(g), Tick: Tick(i % 50)}
				if _, ok := c.Get(k); !ok {
					c.Add(k, i)
				}
			}
		})
	}
	wg.Wait()
	if hits, misses := c.Stats(); hits+misses != 4000 {
		t.Errorf("%d hits + %d misses, want 4000 lookups", hits, misses)
	}
}
