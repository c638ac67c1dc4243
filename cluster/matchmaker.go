package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rallypoint/rallypoint/match"
)

// The cluster's matchmaker
//
// Tickets live in NATS, so that any node enqueues and a failover loses none; one node at a
// time, the holder of a lease, matches them with match.Local's algorithm; every commit is a
// sequence of compare-and-set writes that a leader may die in the middle of, leaving either
// the tickets waiting or the match recorded for the next leader to deliver.
//
// Four buckets (Prefix "rallypoint"):
//
//	rallypoint_tickets  ticket id → ticket, its node, and the match claiming it if any   file
//	rallypoint_players  player id → the ticket it waits in, or the match holding it    file
//	rallypoint_matches  match id  → the match and its state (pending, committed, dissolved)  file
//	rallypoint_matcher  "lease"   → the node id of the matcher                         memory, MaxAge = LeaseTTL
//
// Keys are the ids themselves when they are plain (letters, digits, '-', '_', inner dots),
// else "=" and the id in unpadded base64url.
//
// # A ticket's life
//
// Enqueue creates a key per player in the players bucket with KV Create, which fails if the
// key exists: that is the cluster-wide "one waiting ticket or held match per player"
// (ErrPlayerBusy), with no lock. Then it creates the ticket. A player key stays until Cancel
// (the ticket's players are freed) or, once matched, until Release.
//
// # The lease
//
// Every node's Run campaigns: every LeaseTTL/3 it reads the lease key and creates it if it
// is absent (KV Create: one node wins). The holder renews it by compare-and-set on its
// revision; the bucket's MaxAge removes a lease not renewed within LeaseTTL, so another node
// takes over within LeaseTTL + LeaseTTL/3 of the holder's death. The holder stops matching
// once LeaseTTL has passed since it sent its last successful renewal, never later than the
// server expires the key. A Run that ends deletes its lease: a clean handover is immediate.
//
// # A leader's term
//
// On winning the lease a node starts a term: it watches the tickets bucket and mirrors the
// waiting tickets into a fresh match.Local (the same queues, OpenRooms and MatchFunc), then
// settles the matches a previous leader left recorded (below). Each Run interval it runs one
// Local.Pass over the mirror and commits each proposed match to NATS:
//
//  1. create the match record, state pending;
//  2. claim each ticket: compare-and-set from the waiting revision the mirror saw to the same
//     ticket naming the match. A ticket cancelled or changed meanwhile fails its claim: the
//     match is dissolved (the claimed tickets are put back, waiting) and the others wait for
//     the next pass;
//  3. compare-and-set the record from pending to committed: the commit point;
//  4. mark each player's key as held by the match, delete the tickets;
//  5. call onMatch; 6. delete the record.
//
// Cancel of a ticket that a pending match claims dissolves that match by compare-and-set on
// the record (pending to dissolved), so step 3 fails and the leader puts the other tickets
// back: a cancel wins over any match that has not committed, as with match.Local. Cancel of a
// ticket whose match committed returns ErrTicketNotFound: it is matched.
//
// A new leader settles every record it finds: pending ones are dissolved (compare-and-set
// first, so that a slow old leader cannot commit them after), committed ones are finished
// from step 4 and delivered. So onMatch sees a match twice only if a leader died (or lost its
// lease) after step 5 and before step 6; the record keeps the match's ID, so the repeat has the
// same Match.ID and the engine can ignore it. Two nodes believing they lead at once (an old
// leader paused past its lease) cannot match a ticket twice either: a ticket is claimed by
// compare-and-set on its revision, once.
//
// The cost: a match of k tickets and p players is about 2k + 2p + 3 JetStream round trips,
// on the leader's Run goroutine, one match after the other (some 1-3 ms for a duel on a LAN).
// The leader keeps two copies of each waiting ticket (the mirror's record and the Local's
// entry), about 1.5 KB with a region and a rating. A term starts with one read of every
// waiting ticket.

// MatchmakerOptions configure a Matchmaker beyond the match.Options it shares with match.Local.
type MatchmakerOptions struct {
	// LeaseTTL is how long the matcher's lease lasts without a renewal, and so about how long
	// matching stops when the matcher dies: a new one takes over within LeaseTTL and a third.
	// Default 3 s; it is renewed every third of it, one small write. Every node must use the
	// same value (the last to start sets the bucket's MaxAge).
	LeaseTTL time.Duration
	// Timeout bounds each NATS call of Enqueue, Cancel and Release, and each step of a commit;
	// default the node's Timeout (3 s).
	Timeout time.Duration
	// Owner, when set, names the node a player id's connection lives on ("" for none known).
	// With it the matcher withdraws, about once a second, every waiting ticket with a player
	// whose node has left the cluster (out of the view for a Timeout more than it takes to
	// leave it: see sweepOrphans): that player is gone with its node, and matching the
	// ticket would hold seats for no one and leave the others of the match short. Without it
	// such tickets wait until cancelled. The engine's player ids are session ids, which
	// start with their node's id (engine.SessionNode).
	Owner func(player string) string
}

// Matchmaker is the cluster's match.Matchmaker: tickets enqueued on any node wait in NATS and
// are matched together by one elected node (see the comment at the top of matchmaker.go for
// the buckets, the lease and the commit). Its methods are safe for concurrent use.
//
// Every node runs Run: the node holding the lease matches for the whole cluster and calls its
// onMatch for every match of the cluster, whichever nodes the players came through; the other
// nodes' Run only campaign for the lease. The players of a match may be on any node (the
// engine's player ids say which); routing them is the caller's.
//
// Contract, as match.Matchmaker's, with one difference: onMatch sees a match twice, with the
// same Match.ID, if the leader dies between its onMatch and clearing the match's record.
//
// Cut off from NATS, a node refuses Enqueue and Cancel with ErrNotSynced, queues its Release
// calls to retry them, stops matching once its lease runs out, and keeps campaigning.
type Matchmaker struct {
	n         *Node
	opts      match.Options
	ttl       time.Duration
	opTimeout time.Duration
	owner     func(player string) string // MatchmakerOptions.Owner
	queues    map[string]match.QueueConfig
	clock     match.Clock
	log       *slog.Logger

	kvMu sync.Mutex
	kvOK bool
	kvAt uint64 // the connection's reconnect count when the buckets were made
	kv   mmBuckets

	leading    atomic.Bool
	validUntil atomic.Int64 // unix nanoseconds: the lease is ours until then
	leaseRev   uint64       // the campaign goroutine's

	mu       sync.Mutex
	holder   string          // the lease holder as last seen
	term     *term           // while leading
	releases map[string]bool // players whose Release failed, retried by Run
	running  bool

	stats mmCounters
	hook  func(step string) // tests: called at each step of a commit, on Run's goroutine

	// missingSince is when the sweep first found each node with waiting tickets out of the
	// view (sweepOrphans); only Run's goroutine touches it.
	missingSince map[string]time.Time
}

var _ match.Matchmaker = (*Matchmaker)(nil)

type mmCounters struct {
	passes, matches, backfills, matchedTickets, matchedPlayers atomic.Uint64
	cancelled, dissolved                                       atomic.Uint64
	lastPass                                                   atomic.Int64
}

type mmBuckets struct {
	tickets, players, matches, lease jetstream.KeyValue
}

// Match record states.
const (
	statePending   = "pending"
	stateCommitted = "committed"
	stateDissolved = "dissolved"
)

const leaseKey = "lease"

// casAttempts bounds the compare-and-set rounds of one record update. Each round either
// writes or sees a newer record, which means another writer succeeded.
const casAttempts = 200

// ErrContention is returned when a record kept changing under a compare-and-set for
// casAttempts rounds: try again.
var ErrContention = errors.New("cluster: too many concurrent updates; try again")

type ticketRecord struct {
	Ticket match.Ticket `json:"ticket"`
	Node   string       `json:"node"`            // where it was enqueued
	Match  string       `json:"match,omitempty"` // the match claiming it
}

type playerRecord struct {
	Ticket string `json:"ticket"`
	Node   string `json:"node"`
	Match  string `json:"match,omitempty"` // set once matched: held until Release
}

type matchRecord struct {
	Match  match.Match `json:"match"`
	State  string      `json:"state"`
	Leader string      `json:"leader"`
}

// NewMatchmaker makes the cluster's matchmaker on node n. opts are match.Local's: the queues,
// OpenRooms (called on the leader, for the whole cluster's rooms), Seated (checked on the node
// that enqueues) and Clock (ticket stamps and pass times). The buckets are made at the first
// call that needs them.
func NewMatchmaker(n *Node, opts match.Options, mo MatchmakerOptions) (*Matchmaker, error) {
	if n == nil {
		return nil, errors.New("cluster: matchmaker needs a node")
	}
	if _, err := match.NewLocal(opts); err != nil { // the queues' own checks
		return nil, err
	}
	if mo.LeaseTTL <= 0 {
		mo.LeaseTTL = 3 * time.Second
	}
	if mo.Timeout <= 0 {
		mo.Timeout = n.opts.Timeout
	}
	m := &Matchmaker{
		n: n, opts: opts, ttl: mo.LeaseTTL, opTimeout: mo.Timeout, owner: mo.Owner,
		queues:       make(map[string]match.QueueConfig, len(opts.Queues)),
		clock:        opts.Clock,
		log:          n.log.With("part", "matchmaker"),
		releases:     make(map[string]bool),
		missingSince: make(map[string]time.Time),
	}
	if m.clock == nil {
		m.clock = match.SystemClock{}
	}
	m.opts.Queues = slices.Clone(opts.Queues)
	for _, q := range opts.Queues {
		m.queues[q.Mode] = q
	}
	return m, nil
}

// Leader is the node holding the matcher's lease as this node last saw it ("" when none is
// known): for metrics and logs.
func (m *Matchmaker) Leader() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.holder
}

// Leading reports whether this node matches for the cluster now.
func (m *Matchmaker) Leading() bool {
	return m.leading.Load() && time.Now().UnixNano() < m.validUntil.Load()
}

func (m *Matchmaker) setHolder(id string) {
	m.mu.Lock()
	m.holder = id
	m.mu.Unlock()
}

// kvKey makes an id a KV key (see the top of the file).
func kvKey(id string) string {
	plain := id != "" && id[0] != '.' && id[len(id)-1] != '.'
	for i := 0; plain && i < len(id); i++ {
		c := id[i]
		plain = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' ||
			c == '.' && id[i-1] != '.'
	}
	if plain {
		return id
	}
	return "=" + base64.RawURLEncoding.EncodeToString([]byte(id))
}

func isCAS(err error) bool {
	return errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists)
}

func (m *Matchmaker) mmBucketConfigs() []jetstream.KeyValueConfig {
	p, r := m.n.opts.Prefix, m.n.opts.Replicas
	return []jetstream.KeyValueConfig{
		{Bucket: p + "_tickets", Description: "Rallypoint matchmaking: waiting tickets",
			Storage: jetstream.FileStorage, Replicas: r},
		{Bucket: p + "_players", Description: "Rallypoint matchmaking: players waiting or matched",
			Storage: jetstream.FileStorage, Replicas: r},
		{Bucket: p + "_matches", Description: "Rallypoint matchmaking: matches being committed or delivered",
			Storage: jetstream.FileStorage, Replicas: r},
		{Bucket: p + "_matcher", Description: "Rallypoint matchmaking: the matcher's lease",
			TTL: m.ttl, Storage: jetstream.MemoryStorage, Replicas: r},
	}
}

// buckets returns the buckets, (re)making them after each reconnect: NATS may have restarted
// without them (the lease bucket lives in memory).
func (m *Matchmaker) buckets(ctx context.Context) (mmBuckets, error) {
	rc := m.n.nc.Stats().Reconnects
	m.kvMu.Lock()
	defer m.kvMu.Unlock()
	if m.kvOK && m.kvAt == rc {
		return m.kv, nil
	}
	var kvs [4]jetstream.KeyValue
	for i, cfg := range m.mmBucketConfigs() {
		kv, err := m.n.js.CreateOrUpdateKeyValue(ctx, cfg)
		if err != nil {
			return mmBuckets{}, fmt.Errorf("cluster: bucket %s: %w", cfg.Bucket, err)
		}
		kvs[i] = kv
	}
	m.kv = mmBuckets{tickets: kvs[0], players: kvs[1], matches: kvs[2], lease: kvs[3]}
	m.kvOK, m.kvAt = true, rc
	return m.kv, nil
}

func (m *Matchmaker) opCtx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, m.opTimeout)
}

// ready checks that NATS can be used now and returns the buckets.
func (m *Matchmaker) ready(ctx context.Context, what string) (mmBuckets, error) {
	if !m.n.Synced() {
		return mmBuckets{}, fmt.Errorf("cluster: %s: %w", what, ErrNotSynced)
	}
	kv, err := m.buckets(ctx)
	if err != nil {
		return mmBuckets{}, fmt.Errorf("cluster: %s: %w", what, err)
	}
	return kv, nil
}

// Enqueue stores a ticket in NATS, from any node. It refuses what match.Local refuses, with
// the same errors (ErrUnknownMode, ErrInvalidTicket, ErrDuplicateTicket for a ticket id
// waiting anywhere in the cluster, ErrPlayerBusy for a player waiting, matched or seated
// anywhere), and fails with ErrNotSynced when this node is cut off from NATS. Cost: one KV
// Create per player and one for the ticket.
func (m *Matchmaker) Enqueue(t match.Ticket) error {
	q, ok := m.queues[t.Mode]
	if !ok {
		return fmt.Errorf("%w %q", match.ErrUnknownMode, t.Mode)
	}
	if err := q.CheckTicket(t); err != nil {
		return err
	}
	if m.opts.Seated != nil {
		for _, p := range t.Players {
			if m.opts.Seated(p) {
				return fmt.Errorf("%w: %q holds a seat", match.ErrPlayerBusy, p)
			}
		}
	}
	t.Players, t.Strings, t.Numbers = slices.Clone(t.Players), maps.Clone(t.Strings), maps.Clone(t.Numbers)
	if t.Created.IsZero() {
		t.Created = m.clock.Now()
	}
	data, err := json.Marshal(ticketRecord{Ticket: t, Node: m.n.ID()})
	if err != nil {
		return fmt.Errorf("%w %q: %v", match.ErrInvalidTicket, t.ID, err)
	}
	pdata, err := json.Marshal(playerRecord{Ticket: t.ID, Node: m.n.ID()})
	if err != nil {
		return err
	}
	ctx, cancel := m.opCtx(context.Background())
	defer cancel()
	what := "enqueue " + t.ID
	kv, err := m.ready(ctx, what)
	if err != nil {
		return err
	}
	type made struct {
		key string
		rev uint64
	}
	var players []made
	undo := func() {
		uctx, cancel := m.opCtx(context.Background())
		defer cancel()
		for _, p := range players {
			if err := kv.players.Delete(uctx, p.key, jetstream.LastRevision(p.rev)); err != nil && !isCAS(err) {
				m.log.Warn("cluster: enqueue: cannot free a player again; it stays busy", "key", p.key, "err", err)
			}
		}
	}
	for _, p := range t.Players {
		key := kvKey(p)
		rev, err := kv.players.Create(ctx, key, pdata)
		if err != nil {
			undo()
			if isCAS(err) {
				return fmt.Errorf("%w: %q", match.ErrPlayerBusy, p)
			}
			return fmt.Errorf("cluster: %s: %w", what, err)
		}
		players = append(players, made{key, rev})
	}
	if _, err := kv.tickets.Create(ctx, kvKey(t.ID), data); err != nil {
		undo()
		if isCAS(err) {
			return fmt.Errorf("%w: %q", match.ErrDuplicateTicket, t.ID)
		}
		return fmt.Errorf("cluster: %s: %w", what, err)
	}
	return nil
}

// Cancel withdraws a waiting ticket, from any node, and frees its players. A ticket that a
// match claims but has not committed is cancelled all the same, and that match dissolved; a
// ticket matched already, or unknown, gets ErrTicketNotFound. Cut off from NATS it fails with
// ErrNotSynced.
func (m *Matchmaker) Cancel(ticketID string) error {
	ctx, cancel := m.opCtx(context.Background())
	defer cancel()
	what := "cancel " + ticketID
	kv, err := m.ready(ctx, what)
	if err != nil {
		return err
	}
	key := kvKey(ticketID)
	for attempt := range casAttempts {
		if attempt > 0 {
			if err := pause(ctx, attempt); err != nil {
				return fmt.Errorf("cluster: %s: %w", what, err)
			}
		}
		e, err := kv.tickets.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("%w: %q", match.ErrTicketNotFound, ticketID)
		}
		if err != nil {
			return fmt.Errorf("cluster: %s: %w", what, err)
		}
		var rec ticketRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			return fmt.Errorf("cluster: %s: bad ticket record: %w", what, err)
		}
		if rec.Match != "" {
			state, err := m.stopMatch(ctx, kv, rec.Match)
			if err != nil {
				return fmt.Errorf("cluster: %s: %w", what, err)
			}
			if state == stateCommitted {
				return fmt.Errorf("%w: %q is matched", match.ErrTicketNotFound, ticketID)
			}
		}
		err = kv.tickets.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
		if isCAS(err) {
			continue // claimed, or put back, meanwhile
		}
		if err != nil {
			return fmt.Errorf("cluster: %s: %w", what, err)
		}
		m.stats.cancelled.Add(1)
		for _, p := range rec.Ticket.Players {
			if err := m.freePlayer(ctx, kv, p, ticketID); err != nil {
				m.log.Warn("cluster: cancel: cannot free a player; it stays busy", "player", p, "err", err)
			}
		}
		return nil
	}
	return fmt.Errorf("cluster: %s: %w", what, ErrContention)
}

// stopMatch makes sure match id will not commit: a pending record is turned to dissolved by
// compare-and-set. It returns the record's state then ("" if there is no record: the match was
// dissolved and cleared).
func (m *Matchmaker) stopMatch(ctx context.Context, kv mmBuckets, id string) (string, error) {
	for attempt := range casAttempts {
		if attempt > 0 {
			if err := pause(ctx, attempt); err != nil {
				return "", err
			}
		}
		e, err := kv.matches.Get(ctx, kvKey(id))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		var rec matchRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			return "", fmt.Errorf("bad match record %s: %w", id, err)
		}
		if rec.State != statePending {
			return rec.State, nil
		}
		rec.State = stateDissolved
		data, err := json.Marshal(&rec)
		if err != nil {
			return "", err
		}
		_, err = kv.matches.Update(ctx, kvKey(id), data, e.Revision())
		if err == nil {
			return stateDissolved, nil
		}
		if !isCAS(err) {
			return "", err
		}
	}
	return "", ErrContention
}

// freePlayer deletes the key of a player who waits in ticket (cancelled), leaving a key that
// names another ticket or a match alone.
func (m *Matchmaker) freePlayer(ctx context.Context, kv mmBuckets, player, ticket string) error {
	key := kvKey(player)
	e, err := kv.players.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var rec playerRecord
	if json.Unmarshal(e.Value(), &rec) == nil && (rec.Ticket != ticket || rec.Match != "") {
		return nil
	}
	err = kv.players.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
	if isCAS(err) {
		return nil
	}
	return err
}

// Release frees matched players, from any node, so that they may queue again. Players who
// wait, unknown or released already are ignored, as with match.Local. A Release that cannot
// reach NATS is kept and retried by this node's Run every interval until it can.
func (m *Matchmaker) Release(players ...string) {
	if len(players) == 0 {
		return
	}
	ctx, cancel := m.opCtx(context.Background())
	defer cancel()
	kv, err := m.ready(ctx, "release")
	var failed []string
	if err != nil {
		failed = players
	} else {
		for _, p := range players {
			if err := m.release(ctx, kv, p); err != nil {
				failed = append(failed, p)
			}
		}
	}
	if len(failed) > 0 {
		m.mu.Lock()
		for _, p := range failed {
			m.releases[p] = true
		}
		m.mu.Unlock()
	}
}

func (m *Matchmaker) release(ctx context.Context, kv mmBuckets, player string) error {
	key := kvKey(player)
	e, err := kv.players.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var rec playerRecord
	if json.Unmarshal(e.Value(), &rec) == nil && rec.Match == "" {
		return nil // waiting
	}
	err = kv.players.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
	if isCAS(err) {
		return nil // changed meanwhile: released, or queued again
	}
	return err
}

// retryReleases retries the Release calls that could not reach NATS.
func (m *Matchmaker) retryReleases(ctx context.Context) {
	m.mu.Lock()
	if len(m.releases) == 0 {
		m.mu.Unlock()
		return
	}
	ps := slices.Collect(maps.Keys(m.releases))
	clear(m.releases)
	m.mu.Unlock()
	m.Release(ps...)
}

// Stats reports the counters of this node's calls and, on the leader, the queues as its
// mirror holds them (other nodes report empty queues). Held is not counted (it would take a
// read of every player key): 0.
func (m *Matchmaker) Stats() match.Stats {
	s := match.Stats{Queues: make(map[string]match.QueueStats, len(m.queues))}
	for mode := range m.queues {
		s.Queues[mode] = match.QueueStats{}
	}
	m.mu.Lock()
	tm := m.term
	m.mu.Unlock()
	if tm != nil {
		ls := tm.local.Stats()
		maps.Copy(s.Queues, ls.Queues)
		s.MaxLockHold = ls.MaxLockHold
	}
	c := &m.stats
	s.Passes, s.Matches, s.Backfills = c.passes.Load(), c.matches.Load(), c.backfills.Load()
	s.MatchedTickets, s.MatchedPlayers = c.matchedTickets.Load(), c.matchedPlayers.Load()
	s.Cancelled, s.Dissolved = c.cancelled.Load(), c.dissolved.Load()
	s.LastPass = time.Duration(c.lastPass.Load())
	return s
}

// pause waits a little, at random and longer with each attempt, before a compare-and-set is
// tried again.
func pause(ctx context.Context, attempt int) error {
	wait := time.Duration(int64(time.Millisecond) * int64(min(attempt, 10)))
	select {
	case <-time.After(wait):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
