package match

import (
	"context"
	"sync/atomic"
	"time"
)

// Matchmaker is the seam between game servers and matchmaking. The engine (or any Go server)
// talks to this interface only; Local serves it from memory, and a distributed
// implementation (queues on NATS JetStream, say, with one elected matcher) can serve the same
// calls when one machine is not enough, without a change to game code.
//
// The contract every implementation keeps:
//   - a player is in at most one waiting ticket or held match at a time (Enqueue refuses
//     the rest with ErrPlayerBusy), until Release;
//   - a ticket is matched at most once, whole, or cancelled, never both;
//   - onMatch sees each match once.
type Matchmaker interface {
	// Enqueue adds a ticket to its mode's queue. It returns quickly even while a pass runs.
	Enqueue(t Ticket) error
	// Cancel withdraws a waiting ticket.
	Cancel(ticketID string) error
	// Release frees matched players once their seat is over, so they may queue again.
	Release(players ...string)
	// Run makes matches every interval until ctx ends and hands each to onMatch, on Run's
	// goroutine, in order. It returns ctx.Err().
	Run(ctx context.Context, interval time.Duration, onMatch func(Match)) error
	// Stats reports queue sizes and counters.
	Stats() Stats
}

var _ Matchmaker = (*Local)(nil)

// Stats is a snapshot of a matchmaker's queues and counters.
type Stats struct {
	Queues map[string]QueueStats // by mode
	// Held is the number of matched players not yet released.
	Held int
	// Counters since the matchmaker was made.
	Passes, Matches, Backfills, MatchedTickets, MatchedPlayers, Cancelled uint64
	// Dissolved counts matches dropped at commit because a ticket was cancelled meanwhile.
	Dissolved uint64
	// Rejected counts MatchFunc proposals that were not sound.
	Rejected uint64
	// LastPass is how long the last pass took.
	LastPass time.Duration
	// MaxLockHold is the longest a pass has held the queue lock, and so the longest a pass
	// has made an Enqueue or Cancel wait (scheduling and GC aside).
	MaxLockHold time.Duration
}

// QueueStats describes one queue.
type QueueStats struct {
	Tickets, Players int // waiting
}

type counters struct {
	passes, matches, backfills, matchedTickets, matchedPlayers atomic.Uint64
	cancelled, dissolved, rejected                             atomic.Uint64
	lastPass                                                   atomic.Int64
}

// Stats reports the queues and counters. Cost: one short critical section, O(queues).
func (l *Local) Stats() Stats {
	s := Stats{Queues: make(map[string]QueueStats, len(l.order))}
	l.mu.Lock()
	for _, q := range l.order {
		s.Queues[q.cfg.Mode] = QueueStats{Tickets: q.tickets, Players: q.players}
	}
	s.Held = l.held
	s.MaxLockHold = l.holdMax
	l.mu.Unlock()
	c := &l.stats
	s.Passes, s.Matches, s.Backfills = c.passes.Load(), c.matches.Load(), c.backfills.Load()
	s.MatchedTickets, s.MatchedPlayers = c.matchedTickets.Load(), c.matchedPlayers.Load()
	s.Cancelled, s.Dissolved, s.Rejected = c.cancelled.Load(), c.dissolved.Load(), c.rejected.Load()
	s.LastPass = time.Duration(c.lastPass.Load())
	return s
}

// Run runs a pass every interval (100-250 ms suits most games: a shorter interval matches
// sooner but sweeps the queues more often) at the Clock's time, and calls onMatch for each
// match. onMatch should reserve the seats (Reservations.Reserve) before it returns, so that
// the next pass's OpenRooms already counts them. Call Pass directly for a pass on demand.
func (l *Local) Run(ctx context.Context, interval time.Duration, onMatch func(Match)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			for _, m := range l.Pass(l.clock.Now()) {
				onMatch(m)
			}
		}
	}
}
