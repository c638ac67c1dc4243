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

// roomStatsSamples is how many recent ticks a RoomStats keeps: 17 s at 60 Hz.
const roomStatsSamples = 1024

// RoomStats keeps a room's recent tick lateness exactly (the last 1024 ticks, to the
// microsecond), for percentiles in tests and benchmarks. Its memory grows with the ticks the
// room runs, to 4 KiB: a room that never ticks (empty, asleep) costs none. It used to hold
// 4096 nanosecond samples from the start, 32 KiB in every room, the largest part of an
// empty room's cost (issue 11).
type RoomStats struct {
	mu    sync.Mutex
	late  []uint32 // microseconds; a ring once full
	n     int
	ticks int64
}

func newRoomStats() *RoomStats { return &RoomStats{} }

func (s *RoomStats) record(d time.Duration) {
	us := uint32(min(max(d, 0)/time.Microsecond, 1<<32-1))
	s.mu.Lock()
	if len(s.late) < roomStatsSamples {
		if len(s.late) == cap(s.late) { // grow by doubling, to exactly roomStatsSamples
			s.late = append(make([]uint32, 0, min(max(2*cap(s.late), 64), roomStatsSamples)), s.late...)
		}
		s.late = append(s.late, us)
	} else {
		s.late[s.n%roomStatsSamples] = us
	}
	s.n++
	s.ticks++
	s.mu.Unlock()
}

// Lateness returns the recorded lateness samples, oldest first.
func (s *RoomStats) Lateness() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]time.Duration, 0, len(s.late))
	start := 0
	if s.n > len(s.late) {
		start = s.n % len(s.late)
	}
	for i := range s.late {
		out = append(out, time.Duration(s.late[(start+i)%len(s.late)])*time.Microsecond)
	}
	return out
}

// Metrics counts what an engine's rooms do. Export it however you like (the gameserver
// turns it into Prometheus series).
type Metrics struct {
	Rooms        atomic.Int64
	RoomsAsleep  atomic.Int64 // empty rooms sleeping instead of ticking (RoomConfig.TickWhenEmpty)
	RoomsCreated atomic.Int64 // rooms started, ever
	// Rooms refused: Options.MaxRooms reached, a client's budget spent, the server's rate
	// spent (Options.ClientRoomBurst, RoomBurst).
	RoomsRefusedMax    atomic.Int64
	RoomsRefusedClient atomic.Int64
	RoomsRefusedRate   atomic.Int64
	Players            atomic.Int64 // seated players, connected or within their grace period
	PlayersAway        atomic.Int64 // of those, the ones whose connection dropped (their seat held)
	Ticks              atomic.Int64
	Encodes            atomic.Int64 // snapshot frames encoded (cache misses)
	Panics             atomic.Int64
	InputsDropped      atomic.Int64 // inputs beyond RoomConfig.MaxInputsPerTick, not queued
	Malformed          atomic.Int64 // malformed client messages
	InputPanics        atomic.Int64 // inputs refused because the game's input decoder panicked on them
	// RequestsRefused counts requests answered with CodeRateLimited because the player
	// already had RoomConfig.MaxPendingRequests waiting.
	RequestsRefused atomic.Int64
	// Conns are the connections the engine holds (handshakes included);
	// ConnsRefusedPerClient and ConnsRefused count those refused by
	// Options.MaxConnsPerClient (429) and Options.MaxConns (503).
	Conns                 atomic.Int64
	ConnsRefusedPerClient atomic.Int64
	ConnsRefused          atomic.Int64
	// OriginsRefused counts browser handshakes refused for their Origin or, with
	// Options.PublicHosts, their Host (403).
	OriginsRefused atomic.Int64
	// BaselinesLost counts acknowledgements that came too late to be used: the tick was no
	// longer among the last 64 snapshots sent to the player when it was acknowledged, or was
	// not sent on the player's connection. Each costs that player a full snapshot.
	BaselinesLost atomic.Int64
	// BaselineResets counts [4, 0] from clients that could not apply a delta (they do not
	// hold its baseline) and asked for a full snapshot.
	BaselineResets atomic.Int64
	// SnapshotsHeld counts snapshots not sent to a player whose acknowledgements were more
	// than RoomConfig.AckWindow behind: a client that could not keep up.
	SnapshotsHeld atomic.Int64
	TickLateness  Histogram
	// In a cluster (Engine.EnableCluster): joins answered with a redirect to another node
	// (0x1B), and seat requests sent to other nodes; rooms a drain moved to another node
	// with their state (a Movable game).
	Redirects       atomic.Int64
	ClusterRequests atomic.Int64
	RoomsMoved      atomic.Int64
}

func (m *Metrics) observeLateness(d time.Duration) {
	m.Ticks.Add(1)
	m.TickLateness.Observe(d)
}
