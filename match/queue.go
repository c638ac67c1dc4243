package match

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of the matchmaker. Enqueue and Cancel wrap them with the ticket or player concerned;
// test them with errors.Is.
var (
	ErrUnknownMode     = errors.New("match: unknown mode")
	ErrInvalidTicket   = errors.New("match: invalid ticket")
	ErrDuplicateTicket = errors.New("match: ticket id already queued")
	// ErrPlayerBusy refuses a player who is already queued, already matched and not yet
	// released, or seated (Options.Seated): no player is ever in two matches.
	ErrPlayerBusy = errors.New("match: player already queued, matched or seated")
	// ErrTicketNotFound is returned by Cancel for a ticket that is not waiting: unknown,
	// cancelled already, or matched already (a matched ticket is not cancelled; its players
	// leave the room or let their reservation expire).
	ErrTicketNotFound = errors.New("match: ticket not queued")
)

// WindowCurve says how far apart in rating two tickets may be, as a function of how long a
// ticket has waited: a half-width of Initial for the first Delay, then widening by PerSecond
// up to Max. A ticket accepts the ratings in [rating-w, rating+w]; two tickets (and every
// pair of a match) must each accept the other, so a new ticket with a narrow window is not
// pulled into a wide-window veteran's match against its will.
//
// A linear ramp with a cap covers the usual policies ("±50 at first, +10 a second, never
// beyond ±400"); Max also bounds how far a backfill search looks, so a cap makes backfill
// cheaper.
type WindowCurve struct {
	Initial   float64       // half-width at enqueue time
	Delay     time.Duration // how long the window stays at Initial
	PerSecond float64       // widening per second of waiting after Delay
	Max       float64       // the cap; 0 means the window keeps widening forever
}

// At returns the half-width of the window after waiting wait.
func (c WindowCurve) At(wait time.Duration) float64 {
	w := c.Initial
	if wait > c.Delay {
		w += c.PerSecond * (wait - c.Delay).Seconds()
	}
	if c.Max > 0 && w > c.Max {
		w = c.Max
	}
	return w
}

// MatchFunc is a game's own match function. It replaces the built-in one for its queue: it
// gets every waiting ticket of the queue, oldest first, and the open rooms (when Backfill is
// set), and proposes matches. The matchmaker keeps the proposals that are sound (each ticket
// used once and still waiting, sizes within MinPlayers..MaxPlayers, backfill within the
// room's free seats) and drops the others (Stats.Rejected). It runs on the pass goroutine
// without any lock held, so it may take its time; it costs a copy of the queue's tickets
// per pass.
type MatchFunc func(now time.Time, pool []Ticket, rooms []OpenRoom) []Proposal

// Proposal is one match proposed by a MatchFunc.
type Proposal struct {
	Room    string // an open room's ID to backfill, or "" for a new room
	Tickets []int  // indexes into the pool
}

// QueueConfig describes the queue of one game mode.
type QueueConfig struct {
	Mode string
	// MinPlayers and MaxPlayers bound the players of a new room's match. A pass fills a match
	// as close to MaxPlayers as it can and makes it once it has at least MinPlayers.
	MinPlayers, MaxPlayers int
	// RatingKey names the ticket number that holds the rating; "" ignores ratings. When set,
	// every ticket must carry it, and Window must open.
	RatingKey string
	// Window is the rating window as a function of waiting time.
	Window WindowCurve
	// RegionKey names the ticket string that holds the region; "" ignores regions. Tickets
	// of one region are matched together first; a ticket that has waited RegionRelaxAfter
	// accepts any region. Zero RegionRelaxAfter never relaxes.
	RegionKey        string
	RegionRelaxAfter time.Duration
	// Backfill fills open seats of running rooms (Options.OpenRooms) before new rooms are
	// made. A backfilled ticket must accept the room's rating and region.
	Backfill bool
	// MatchFunc, when set, replaces the built-in matching for this queue.
	MatchFunc MatchFunc
}

func (c QueueConfig) validate() error {
	switch {
	case c.Mode == "":
		return errors.New("match: queue without a Mode")
	case c.MinPlayers < 1 || c.MaxPlayers < c.MinPlayers:
		return fmt.Errorf("match: queue %q: need 1 <= MinPlayers (%d) <= MaxPlayers (%d)", c.Mode, c.MinPlayers, c.MaxPlayers)
	case c.Window.Initial < 0 || c.Window.PerSecond < 0 || c.Window.Max < 0 || c.Window.Delay < 0:
		return fmt.Errorf("match: queue %q: negative Window", c.Mode)
	case c.RatingKey != "" && c.Window.Initial == 0 && c.Window.PerSecond == 0:
		return fmt.Errorf("match: queue %q: RatingKey is set but the Window never opens", c.Mode)
	case c.RegionRelaxAfter < 0:
		return fmt.Errorf("match: queue %q: negative RegionRelaxAfter", c.Mode)
	}
	return nil
}

// CheckTicket says why t cannot wait in this queue, or nil: the checks Enqueue makes on a
// ticket of this mode. A Matchmaker of another package (cluster's, which keeps its tickets in
// NATS) refuses the same tickets with the same errors.
func (c QueueConfig) CheckTicket(t Ticket) error { return c.checkTicket(&t) }

// checkTicket says why t cannot wait in this queue, or nil.
func (c QueueConfig) checkTicket(t *Ticket) error {
	if t.ID == "" {
		return fmt.Errorf("%w: empty ID", ErrInvalidTicket)
	}
	if len(t.Players) == 0 || len(t.Players) > c.MaxPlayers {
		return fmt.Errorf("%w %q: %d players, the queue takes 1..%d per ticket", ErrInvalidTicket, t.ID, len(t.Players), c.MaxPlayers)
	}
	for i, p := range t.Players {
		if p == "" || slices.Contains(t.Players[:i], p) {
			return fmt.Errorf("%w %q: empty or repeated player %q", ErrInvalidTicket, t.ID, p)
		}
	}
	if c.RatingKey != "" {
		r, ok := t.Numbers[c.RatingKey]
		if !ok || math.IsNaN(r) || math.IsInf(r, 0) {
			return fmt.Errorf("%w %q: needs a finite %q", ErrInvalidTicket, t.ID, c.RatingKey)
		}
	}
	return nil
}

// Options configure a Local matchmaker.
type Options struct {
	// Queues are the game modes, one queue each.
	Queues []QueueConfig
	// OpenRooms supplies rooms with free seats for queues with Backfill; nil disables backfill.
	OpenRooms OpenRooms
	// Seated, when set, refuses to enqueue a player it reports as holding a seat somewhere
	// (pass Reservations.Holds). It is called before the queue lock is taken, so it may take
	// locks of its own.
	Seated func(player string) bool
	// Clock stamps tickets enqueued without Created; nil is the wall clock.
	Clock Clock
}

// Ticket states. Transitions happen under Local.mu; the pass reads them without the lock
// (atomically) to skip dead tickets early, and rechecks under the lock when it commits.
const (
	stateQueued int32 = iota
	stateMatched
	stateCancelled
)

// entry is a queued ticket with what the pass derives from it.
type entry struct {
	t      Ticket // immutable once enqueued
	q      *queue
	seq    uint64 // enqueue order, the tie-break of every sort
	rating float64
	region string
	state  atomic.Int32

	// Scratch owned by the pass goroutine, recomputed every pass.
	win     float64 // rating window half-width at the pass's now
	relaxed bool    // accepts any region
	taken   bool    // placed in a match by this pass
	pos     int32   // index in the lane being swept
}

func (e *entry) live() bool { return e.state.Load() == stateQueued }

// queue is one mode's queue.
type queue struct {
	cfg QueueConfig

	// Guarded by Local.mu.
	tickets, players int

	// Owned by the pass goroutine (Local.passMu).
	sorted, byAge []*entry // the live tickets, by (rating, seq) and by (Created, seq)
	spare         []*entry // merge buffer
	arrivals      []*entry
	keys          []ratingKey
	sweep         sweeper
}

// Local is the in-memory Matchmaker: every queue lives in this process.
//
// Concurrency: Enqueue, Cancel and Release take one mutex for a few map operations and
// never wait for a pass to finish. A pass (Pass or Run) takes that mutex only briefly: once
// to take the tickets that arrived since the previous pass (a slice swap), then to commit
// its matches, about commitTickets tickets at a time. Everything else (merging arrivals, windows,
// the sweeps, a MatchFunc) runs on the pass's own sorted copies without the lock. A ticket
// cancelled while a pass runs may already be in a proposed match: the commit sees it and
// drops that match, and the other tickets of it wait for the next pass.
//
// Memory: about 900 bytes per waiting ticket with a region and a rating (see Ticket), and a
// map entry per matched player until Release.
type Local struct {
	clock  Clock
	open   OpenRooms
	seated func(string) bool
	queues map[string]*queue
	order  []*queue // queues in Mode order, for deterministic passes

	mu      sync.Mutex
	tickets map[string]*entry // waiting tickets by ID
	players map[string]*entry // waiting or matched-and-held players
	inbox   []*entry          // enqueued since the last pass
	seq     uint64
	held    int
	holdMax time.Duration // longest hold of mu by a pass
	holdAt  time.Time     // when the pass took mu (valid while it holds it)
	// Benchmark hooks, set before any concurrent use: every hold of mu by a pass (called with
	// mu held), and every wait of an Enqueue for mu.
	onHold func(time.Duration)
	onWait func(time.Duration)

	passMu sync.Mutex // one pass at a time
	ps     passState  // guarded by passMu
	stats  counters
}

// NewLocal makes an in-memory matchmaker with the given queues.
func NewLocal(opts Options) (*Local, error) {
	l := &Local{
		clock:   clockOrSystem(opts.Clock),
		open:    opts.OpenRooms,
		seated:  opts.Seated,
		queues:  make(map[string]*queue, len(opts.Queues)),
		tickets: make(map[string]*entry),
		players: make(map[string]*entry),
	}
	for _, c := range opts.Queues {
		if err := c.validate(); err != nil {
			return nil, err
		}
		if _, dup := l.queues[c.Mode]; dup {
			return nil, fmt.Errorf("match: queue %q configured twice", c.Mode)
		}
		q := &queue{cfg: c}
		l.queues[c.Mode] = q
		l.order = append(l.order, q)
	}
	slices.SortFunc(l.order, func(a, b *queue) int { return cmpString(a.cfg.Mode, b.cfg.Mode) })
	return l, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Enqueue adds a ticket to its mode's queue. It refuses an invalid ticket, a ticket ID that
// is already waiting, and a player who is already queued, matched and not yet released, or
// seated. The ticket is copied. Cost: one short critical section, O(players on the ticket).
func (l *Local) Enqueue(t Ticket) error {
	q := l.queues[t.Mode]
	if q == nil {
		return fmt.Errorf("%w %q", ErrUnknownMode, t.Mode)
	}
	if err := q.cfg.checkTicket(&t); err != nil {
		return err
	}
	if l.seated != nil {
		for _, p := range t.Players {
			if l.seated(p) {
				return fmt.Errorf("%w: %q holds a seat", ErrPlayerBusy, p)
			}
		}
	}
	t = t.clone()
	if t.Created.IsZero() {
		t.Created = l.clock.Now()
	}
	e := &entry{t: t, q: q}
	if q.cfg.RatingKey != "" {
		e.rating = t.Numbers[q.cfg.RatingKey]
	}
	if q.cfg.RegionKey != "" {
		e.region = t.Strings[q.cfg.RegionKey]
	}

	if l.onWait != nil {
		start := time.Now()
		l.mu.Lock()
		l.onWait(time.Since(start))
	} else {
		l.mu.Lock()
	}
	defer l.mu.Unlock()
	if _, dup := l.tickets[t.ID]; dup {
		return fmt.Errorf("%w: %q", ErrDuplicateTicket, t.ID)
	}
	for _, p := range t.Players {
		if _, busy := l.players[p]; busy {
			return fmt.Errorf("%w: %q", ErrPlayerBusy, p)
		}
	}
	l.seq++
	e.seq = l.seq
	l.tickets[t.ID] = e
	for _, p := range t.Players {
		l.players[p] = e
	}
	l.inbox = append(l.inbox, e)
	q.tickets++
	q.players += len(t.Players)
	return nil
}

// Cancel takes a waiting ticket out of its queue and frees its players. A ticket that a
// running pass has put in a match is cancelled all the same: that match is dropped when the
// pass commits.
func (l *Local) Cancel(ticketID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.tickets[ticketID]
	if e == nil {
		return fmt.Errorf("%w: %q", ErrTicketNotFound, ticketID)
	}
	e.state.Store(stateCancelled)
	delete(l.tickets, ticketID)
	for _, p := range e.t.Players {
		delete(l.players, p)
	}
	e.q.tickets--
	e.q.players -= len(e.t.Players)
	l.stats.cancelled.Add(1)
	return nil
}

// Release frees matched players, so that they may queue again. Call it when a player's
// seat ends: the reservation expired or was refused, or the player left the room (wire
// Reservations.OnRelease to it). Players who are waiting, unknown or released already are
// ignored. Until it is called, a matched player cannot be enqueued: that is what keeps a
// player out of two matches between the match and the seat.
func (l *Local) Release(players ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range players {
		if e := l.players[p]; e != nil && e.state.Load() == stateMatched {
			delete(l.players, p)
			l.held--
		}
	}
}

// Queued reports whether the ticket is waiting.
func (l *Local) Queued(ticketID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tickets[ticketID] != nil
}

// passLock and passUnlock guard the pass's critical sections and record the longest one
// (Stats.MaxLockHold): the figure that bounds how long a pass can delay an Enqueue.
//
// passLock yields first. A pass runs for tens of milliseconds, and the scheduler preempts a
// goroutine that has run for 10 ms; preempted inside a critical section, the pass would
// keep the lock while other goroutines use their time slices. Yielding starts every
// critical section on a fresh slice, for about 0.2 µs a section.
func (l *Local) passLock() {
	runtime.Gosched()
	l.mu.Lock()
	l.holdAt = time.Now()
}

func (l *Local) passUnlock() {
	d := time.Since(l.holdAt)
	l.holdMax = max(l.holdMax, d)
	if l.onHold != nil {
		l.onHold(d)
	}
	l.mu.Unlock()
}
