package state

import "fmt"

// DefaultRingSize is the number of snapshots a Ring keeps when NewRing is given 0: about two
// seconds at 30 snapshots a second. A player whose acknowledged tick is older than that gets a
// full snapshot.
const DefaultRingSize = 64

// Ring keeps the last n snapshots of a room, the baselines that deltas are encoded against,
// and recycles their memory: when a push makes the oldest snapshot leave the ring, its buffers
// go to the ring's Builder, which writes the next snapshot into them. After warm-up a room
// builds snapshots without allocating, and holds n+1 snapshots' worth of memory, each as large
// as the largest scene it has held.
//
// The price of recycling: a *Snapshot must not be used once it has left the ring (n pushes
// after its own), unless it is pinned (Pin). Look baselines up with Get at each use, or pin
// the ones kept longer.
//
// A Ring is not safe for concurrent use; it belongs to its room's goroutine. The snapshots it
// holds may be read by other goroutines while no Push can recycle them.
type Ring struct {
	slots []*Snapshot // circular: the oldest at start, count of them
	start int
	count int
	free  []*Snapshot // left the ring, for b to reuse
	b     Builder
}

// NewRing returns a ring that keeps the last n snapshots; n <= 0 means DefaultRingSize.
func NewRing(n int) *Ring {
	if n <= 0 {
		n = DefaultRingSize
	}
	r := &Ring{slots: make([]*Snapshot, n), free: make([]*Snapshot, 0, 1)}
	r.b.ring = r
	return r
}

// Builder returns the ring's builder, the same one at every call, whose snapshots reuse the
// memory of those that left the ring.
func (r *Ring) Builder() *Builder { return &r.b }

// Push adds s as the newest snapshot. If the ring is full, the oldest snapshot leaves it and,
// if the ring's builder made it, its memory is reused by the next Begin. Ticks must increase
// from push to push: Push panics otherwise, as the baseline lookup relies on it.
func (r *Ring) Push(s *Snapshot) {
	if s == nil {
		panic("state: Ring.Push of a nil snapshot")
	}
	if s == r.b.cur {
		panic("state: Ring.Push of a snapshot still being built (call Finish first)")
	}
	if last := r.Latest(); last != nil && s.tick <= last.tick {
		panic(fmt.Sprintf("state: Ring.Push of tick %d after tick %d: ticks must increase", s.tick, last.tick))
	}
	n := len(r.slots)
	if r.count == n {
		old := r.slots[r.start]
		r.slots[r.start] = nil
		r.start = (r.start + 1) % n
		r.count--
		if old.pins > 0 {
			old.left = true // recycled by its last Unpin
		} else {
			r.recycle(old)
		}
	}
	r.slots[(r.start+r.count)%n] = s
	r.count++
}

// maxFree bounds the snapshots a ring keeps for reuse: one is what a steady room needs;
// the rest, released together by Unpin, go to the garbage collector.
const maxFree = 2

// recycle keeps s, which left the ring and is pinned by no one, for the builder to reuse.
func (r *Ring) recycle(s *Snapshot) {
	if s.ring == r && len(r.free) < maxFree {
		r.free = append(r.free, s)
	}
}

// Pin keeps s, a snapshot this ring holds, from being recycled when it leaves the ring,
// until as many Unpin calls as Pin calls. The engine pins the snapshot each player last
// acknowledged, so that a late acknowledgement still has its baseline and the player gets a
// small delta rather than a full snapshot (the Quake 3 model: a baseline outlives the ring
// as long as the client holds it). The cost is the memory of the pinned snapshots that left
// the ring: at most one per pinning player, and players who acknowledged the same tick
// share it.
func (r *Ring) Pin(s *Snapshot) {
	if s == nil || s.ring != r {
		panic("state: Ring.Pin of a snapshot this ring did not build")
	}
	if s.left && s.pins == 0 {
		panic("state: Ring.Pin of a snapshot already recycled")
	}
	s.pins++
}

// Unpin undoes one Pin. A snapshot that left the ring is recycled at its last Unpin.
func (r *Ring) Unpin(s *Snapshot) {
	if s == nil || s.ring != r || s.pins <= 0 {
		panic("state: Ring.Unpin without a Pin")
	}
	s.pins--
	if s.pins == 0 && s.left {
		s.left = false
		r.recycle(s)
	}
}

// take returns a snapshot that left the ring, emptied, or a new one that the ring will
// recycle, sized by the hints.
func (r *Ring) take(ents, bounds, arena int) *Snapshot {
	if n := len(r.free); n > 0 {
		s := r.free[n-1]
		r.free[n-1] = nil
		r.free = r.free[:n-1]
		s.ents, s.bounds, s.arena = s.ents[:0], s.bounds[:0], s.arena[:0]
		return s
	}
	return newSnapshot(r, ents, bounds, arena)
}

// Get returns the snapshot of tick t, or nil if the ring does not hold it (t is 0, too old,
// not a snapshot tick, or in the future). It searches from the newest, so the recent baselines
// that players usually acknowledge are found first.
func (r *Ring) Get(t Tick) *Snapshot {
	if t == 0 {
		return nil
	}
	n := len(r.slots)
	for i := r.count - 1; i >= 0; i-- {
		s := r.slots[(r.start+i)%n]
		if s.tick == t {
			return s
		}
		if s.tick < t {
			return nil
		}
	}
	return nil
}

// Latest returns the newest snapshot, or nil if the ring is empty.
func (r *Ring) Latest() *Snapshot {
	if r.count == 0 {
		return nil
	}
	return r.slots[(r.start+r.count-1)%len(r.slots)]
}

// Reset empties the ring and lets go of every snapshot's memory, including the ones kept for
// recycling: for a room that nobody is in, whose baselines no one can use. The ring then
// costs its slots (a pointer each) until snapshots are pushed again, and the first ring's
// worth of them allocate, sized like the last ones the builder made. Snapshots that were in
// the ring must not be used afterwards. Reset must not be called between Begin and Finish.
func (r *Ring) Reset() {
	if r.b.cur != nil {
		panic("state: Ring.Reset while a snapshot is being built")
	}
	clear(r.slots)
	clear(r.free)
	r.start, r.count, r.free = 0, 0, r.free[:0]
}

// Len returns the number of snapshots the ring holds, at most its size.
func (r *Ring) Len() int { return r.count }
