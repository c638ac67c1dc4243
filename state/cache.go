package state

import (
	"sync"
	"sync/atomic"
)

// DefaultFrameCacheSize is the number of frames a FrameCache holds when NewFrameCache is
// given 0: the distinct (view, baseline) pairs of one tick that are worth sharing. A tick
// with more frames than that encodes the extra ones for each player who needs them.
const DefaultFrameCacheSize = 256

// FrameKey identifies an encoded frame: the delta of tick Tick against Baseline (0 for a full
// snapshot) as seen by view View, written by AppendDeltaV3 if V3, else by AppendDeltaV2 if
// V2, else by AppendDelta. Two players with equal keys receive identical bytes. A v3 frame
// without a second baseline is v2's: its key says V2 only, and v2 and v3 players share it.
type FrameKey struct {
	View      ViewKey
	Baseline  Tick
	Baseline2 Tick // the second baseline of a predicted v2 frame, 0 for none
	Tick      Tick
	V2        bool
	V3        bool // exact predictions (AppendDeltaV3): Baseline2 is set
}

// FrameCache holds the encoded frames of one tick, so that players who share a view and a
// baseline share one encoding (and, for the engine, one compression and one framing). V is
// what the caller stores; the engine stores *ws.PreparedMessage. It counts hits and misses,
// for the metrics.
//
// A frame is useful during its own tick only: the next tick's players need the next tick's
// frames. So the cache keeps the newest tick it has seen and lets go of every frame of an
// older one as soon as a newer tick is looked up or added: it never pins a stale frame, and
// a room that stops sending holds at most its last tick's frames (Clear drops those too).
// An earlier version kept a least-recently-used list of 256 frames across ticks: an 8-player
// shooter room then held about 150 KiB of frames no one could use again.
//
// Memory: a map of at most size entries, made at the first Add and reused from tick to tick
// (Add allocates nothing once it has grown), plus the frames themselves.
//
// It is safe for concurrent use (one mutex, uncontended in the engine, where only the room's
// goroutine uses its cache).
type FrameCache[V any] struct {
	size int

	mu     sync.Mutex
	tick   Tick // the tick whose frames are held
	frames map[FrameKey]V

	hits   atomic.Uint64
	misses atomic.Uint64
}

// NewFrameCache returns a cache of at most size frames per tick; size <= 0 means
// DefaultFrameCacheSize.
func NewFrameCache[V any](size int) *FrameCache[V] {
	if size <= 0 {
		size = DefaultFrameCacheSize
	}
	return &FrameCache[V]{size: size}
}

// advance makes t the cache's tick if it is newer, releasing the older tick's frames;
// c.mu is held.
func (c *FrameCache[V]) advance(t Tick) {
	if t > c.tick {
		clear(c.frames)
		c.tick = t
	}
}

// Get returns the frame stored under k, counting a hit or a miss. Asking for a newer tick
// than the cache holds releases the frames it holds.
func (c *FrameCache[V]) Get(k FrameKey) (V, bool) {
	c.mu.Lock()
	c.advance(k.Tick)
	v, ok := c.frames[k]
	c.mu.Unlock()
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return v, ok
}

// Add stores v under k. A frame of a tick older than one the cache has seen is not stored
// (no one will ask for it); one of a newer tick releases the frames held. When the tick
// already has size frames, v is not stored: players who need it get it encoded again.
func (c *FrameCache[V]) Add(k FrameKey, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(k.Tick)
	if k.Tick < c.tick {
		return
	}
	if _, ok := c.frames[k]; !ok && len(c.frames) >= c.size {
		return
	}
	if c.frames == nil {
		c.frames = make(map[FrameKey]V)
	}
	c.frames[k] = v
}

// Reset drops every frame but keeps the map for the next tick's, so that a steady tick
// allocates nothing: for a caller that has let go of what its frames hold (the engine
// releases its prepared messages once a tick's writes are made) and must not find them again.
func (c *FrameCache[V]) Reset() {
	c.mu.Lock()
	clear(c.frames)
	c.mu.Unlock()
}

// Clear releases every frame and the map that held them: for a room that has nobody to send
// to. The next Add starts afresh.
func (c *FrameCache[V]) Clear() {
	c.mu.Lock()
	c.frames = nil
	c.mu.Unlock()
}

// Len returns the number of frames in the cache, all of one tick.
func (c *FrameCache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frames)
}

// Stats returns the number of Get calls that found a frame and that did not, since the cache
// was made.
func (c *FrameCache[V]) Stats() (hits, misses uint64) {
	return c.hits.Load(), c.misses.Load()
}
