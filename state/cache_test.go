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

func TestFrameCacheEvictsTheLeastRecentlyUsed(t *testing.T) {
	c := NewFrameCache[int](2)
	a, b, d := FrameKey{Tick: 1}, FrameKey{Tick: 2}, FrameKey{Tick: 3}
	c.Add(a, 1)
	c.Add(b, 2)
	c.Get(a) // b is now the least recently used
	c.Add(d, 3)
	if _, ok := c.Get(b); ok {
		t.Error("b survived, though least recently used")
	}
	if _, ok := c.Get(a); !ok {
		t.Error("a was evicted, though used recently")
	}
	if c.Len() != 2 {
		t.Errorf("Len() = %d, want 2", c.Len())
	}
}

func TestFrameCacheDefaultSize(t *testing.T) {
	c := NewFrameCache[int](0)
	for i := range DefaultFrameCacheSize + 10 {
		c.Add(FrameKey{Tick: Tick(i + 1)}, i)
	}
	if c.Len() != DefaultFrameCacheSize {
		t.Errorf("NewFrameCache(0) holds %d frames, want %d", c.Len(), DefaultFrameCacheSize)
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
