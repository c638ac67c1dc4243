package engine

import (
	"sync"
	"sync/atomic"
	"time"
)

// latencyBuckets are the upper bounds of the tick-lateness histogram.
var latencyBuckets = []time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, time.Second,
}

// Histogram counts durations in fixed buckets (latencyBuckets, plus one for larger values).
// It is safe for concurrent use and never allocates.
type Histogram struct {
	counts [13]atomic.Int64
	sum    atomic.Int64
}

// Observe adds one duration.
func (h *Histogram) Observe(d time.Duration) {
	i := 0
	for i < len(latencyBuckets) && d > latencyBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// Buckets returns the bucket upper bounds and cumulative counts (the last bound is +Inf).
func (h *Histogram) Buckets() (bounds []time.Duration, cumulative []int64) {
	var n int64
	for i := range h.counts {
		n += h.counts[i].Load()
		cumulative = append(cumulative, n)
	}
	return append(append([]time.Duration(nil), latencyBuckets...), time.Duration(1<<63-1)), cumulative
}

// Count and Sum are the number and total of observations.
func (h *Histogram) Count() int64 {
	var n int64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}
func (h *Histogram) Sum() time.Duration { return time.Duration(h.sum.Load()) }

// RoomStats keeps a room's recent tick lateness exactly (the last 4096 ticks), for
// percentiles in tests and benchmarks.
type RoomStats struct {
	mu    sync.Mutex
	late  [4096]time.Duration
	n     int
	ticks int64
}

func newRoomStats() *RoomStats { return &RoomStats{} }

func (s *RoomStats) record(d time.Duration) {
	s.mu.Lock()
	s.late[s.n%len(s.late)] = d
	s.n++
	s.ticks++
	s.mu.Unlock()
}

// Lateness returns the recorded lateness samples, oldest first.
func (s *RoomStats) Lateness() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n <= len(s.late) {
		return append([]time.Duration(nil), s.late[:s.n]...)
	}
	i := s.n % len(s.late)
	return append(append([]time.Duration(nil), s.late[i:]...), s.late[:i]...)
}

// Metrics counts what an engine's rooms do. Export it however you like (the gameserver
// turns it into Prometheus series).
type Metrics struct {
	Rooms         atomic.Int64
	Players       atomic.Int64
	Ticks         atomic.Int64
	Encodes       atomic.Int64 // snapshot frames encoded (cache misses)
	Panics        atomic.Int64
	InputsDropped atomic.Int64 // inputs beyond RoomConfig.MaxInputsPerTick, not queued
	Malformed     atomic.Int64 // malformed client messages
	// BaselinesLost counts acknowledgements that came too late to be used: the tick had left
	// the room's ring (RoomConfig.SnapshotHistory) before it was acknowledged, or was not
	// sent on the player's connection. Each costs that player a full snapshot.
	BaselinesLost atomic.Int64
	// BaselineResets counts [4, 0] from clients that could not apply a delta (they do not
	// hold its baseline) and asked for a full snapshot.
	BaselineResets atomic.Int64
	TickLateness   Histogram
}

func (m *Metrics) observeLateness(d time.Duration) {
	m.Ticks.Add(1)
	m.TickLateness.Observe(d)
}
