package state

import (
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
)

// DefaultFrameCacheSize is the number of frames a FrameCache holds when NewFrameCache is
// given 0. A frame is useful for one tick only, to the players who share its view and
// baseline, so the cache needs about (distinct views × distinct baselines) entries per tick of
// the rooms that share it; older ticks fall out on their own.
const DefaultFrameCacheSize = 256

// FrameKey identifies an encoded frame: the delta of tick Tick against Baseline (0 for a full
// snapshot) as seen by view View. Two players with equal keys receive identical bytes.
type FrameKey struct {
	View     ViewKey
	Baseline Tick
	Tick     Tick
}

// FrameCache is a least-recently-used cache of encoded frames, so that players who share a
// view and a baseline share one encoding (and, for the engine, one compression and one
// framing). V is what the caller stores; the engine stores *ws.PreparedMessage. It counts
// hits and misses, for the metrics.
//
// It is safe for concurrent use (hashicorp/golang-lru takes a lock per call). Each Add of a
// new key allocates a list element.
type FrameCache[V any] struct {
	lru    *lru.Cache[FrameKey, V]
	hits   atomic.Uint64
	misses atomic.Uint64
}

// NewFrameCache returns a cache of size frames; size <= 0 means DefaultFrameCacheSize.
func NewFrameCache[V any](size int) *FrameCache[V] {
	if size <= 0 {
		size = DefaultFrameCacheSize
	}
	c, err := lru.New[FrameKey, V](size)
	if err != nil { // only for size <= 0, excluded above
		panic("state: NewFrameCache: " + err.Error())
	}
	return &FrameCache[V]{lru: c}
}

// Get returns the frame stored under k and marks it recently used, counting a hit or a miss.
func (c *FrameCache[V]) Get(k FrameKey) (V, bool) {
	v, ok := c.lru.Get(k)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return v, ok
}

// Add stores v under k, evicting the least recently used frame if the cache is full.
func (c *FrameCache[V]) Add(k FrameKey, v V) {
	c.lru.Add(k, v)
}

// Len returns the number of frames in the cache.
func (c *FrameCache[V]) Len() int { return c.lru.Len() }

// Stats returns the number of Get calls that found a frame and that did not, since the cache
// was made.
func (c *FrameCache[V]) Stats() (hits, misses uint64) {
	return c.hits.Load(), c.misses.Load()
}
