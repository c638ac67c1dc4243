package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rallypoint/rallypoint/match"
)

// The matchmaker's leader side: the lease, the term, and the commit (see matchmaker.go).

// errLostLease ends a term whose lease ran out in the middle of a pass.
var errLostLease = errors.New("cluster: matcher lease lost")

// Run campaigns for the matcher's lease and, while this node holds it, runs a pass every
// interval over the cluster's waiting tickets and calls onMatch for each match, on Run's
// goroutine, in order. Run it on every node, once. It returns ctx.Err(), after giving the lease
// up so that another node takes over at once.
func (m *Matchmaker) Run(ctx context.Context, interval time.Duration, onMatch func(match.Match)) error {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return errors.New("cluster: matchmaker already running")
	}
	m.running = true
	m.mu.Unlock()
	cctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.campaign(cctx)
	}()
	defer func() {
		m.endTerm()
		stop()
		wg.Wait()
		m.mu.Lock()
		m.running = false
		m.mu.Unlock()
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		m.retryReleases(ctx)
		if err := m.step(ctx, onMatch); err != nil && ctx.Err() == nil {
			m.log.Warn("cluster: matcher term ends", "err", err)
			m.endTerm()
		}
	}
}

// step is one tick of Run: start or end the term as the lease says, settle what other
// leaders left, then one pass.
func (m *Matchmaker) step(ctx context.Context, onMatch func(match.Match)) error {
	m.mu.Lock()
	tm := m.term
	m.mu.Unlock()
	if !m.Leading() || !m.n.Synced() {
		m.endTerm()
		return nil
	}
	if tm != nil && (tm.broken.Load() || tm.reconnects != m.n.nc.Stats().Reconnects) {
		m.endTerm()
		tm = nil
	}
	if tm == nil {
		var err error
		if tm, err = m.startTerm(ctx); err != nil {
			return err
		}
		if err := m.settle(ctx, tm, onMatch); err != nil {
			return err
		}
	} else if time.Since(tm.settled) >= m.ttl {
		if err := m.settle(ctx, tm, onMatch); err != nil {
			return err
		}
	}
	if time.Since(tm.purged) >= purgeEvery {
		tm.purged = time.Now()
		pctx, cancel := m.opCtx(ctx)
		for _, kv := range []jetstream.KeyValue{tm.kv.tickets, tm.kv.players, tm.kv.matches} {
			if err := kv.PurgeDeletes(pctx, jetstream.DeleteMarkersOlderThan(markerAge)); err != nil {
				m.log.Warn("cluster: purge delete markers", "bucket", kv.Bucket(), "err", err)
			}
		}
		cancel()
	}
	if m.owner != nil && time.Since(tm.swept) >= sweepEvery {
		tm.swept = time.Now()
		m.sweepOrphans(tm)
	}
	return m.pass(ctx, tm, onMatch)
}

// sweepEvery is how often the leader looks for tickets whose players' node is gone.
const sweepEvery = time.Second

// sweepOrphans cancels the waiting tickets of players whose node (MatchmakerOptions.Owner)
// has been out of the cluster's view for a whole Timeout more, freeing their players' keys as
// any Cancel does.
//
// Why the second Timeout: a node drops out of the view after one Timeout without heartbeats,
// which a live node on a machine kept busy can reach, and comes back with its next one; a
// withdrawn ticket of a live node is a player waiting for a match that can never come (no
// one tells it). What it costs: the tickets of a node that did die wait about one Timeout
// (3 s by default) longer, during which a match may still take one and seat the others of
// that match with a player who never comes (the seat then expires).
func (m *Matchmaker) sweepOrphans(tm *term) {
	var orphans []string
	now := time.Now()
	missing := map[string]bool{}
	tm.mu.Lock()
	for _, w := range tm.waiting {
		for _, p := range w.rec.Ticket.Players {
			node := m.owner(p)
			if node == "" || node == m.n.ID() {
				continue
			}
			if _, live := m.n.NodeByID(node); live {
				continue
			}
			missing[node] = true
			since, ok := m.missingSince[node]
			if !ok {
				m.missingSince[node] = now
			} else if now.Sub(since) >= m.n.opts.Timeout {
				orphans = append(orphans, w.rec.Ticket.ID)
				break
			}
		}
	}
	tm.mu.Unlock()
	for node := range m.missingSince {
		if !missing[node] {
			delete(m.missingSince, node) // back in the view, or no ticket of its waits any more
		}
	}
	for _, id := range orphans {
		err := m.Cancel(id)
		switch {
		case err == nil:
			m.log.Info("cluster: withdrew a ticket whose player's node left the cluster", "ticket", id)
		case !errors.Is(err, match.ErrTicketNotFound):
			m.log.Warn("cluster: cannot withdraw an orphaned ticket", "ticket", id, "err", err)
		}
	}
}

// campaign takes and renews the lease every LeaseTTL/3 until ctx ends, then gives it up.
func (m *Matchmaker) campaign(ctx context.Context) {
	t := time.NewTicker(m.ttl / 3)
	defer t.Stop()
	for {
		m.leaseTick(ctx)
		select {
		case <-ctx.Done():
			m.resign()
			return
		case <-t.C:
		}
	}
}

func (m *Matchmaker) leaseTick(ctx context.Context) {
	now := time.Now()
	if m.leading.Load() && now.UnixNano() >= m.validUntil.Load() {
		m.leading.Store(false)
		m.setHolder("")
		m.log.Warn("cluster: matcher lease ran out")
	}
	if !m.n.Synced() {
		return
	}
	octx, cancel := context.WithTimeout(ctx, m.ttl/3)
	defer cancel()
	kv, err := m.buckets(octx)
	if err != nil {
		return
	}
	me := []byte(m.n.ID())
	take := func(rev uint64, err error) {
		if err != nil {
			return
		}
		m.leaseRev = rev
		m.validUntil.Store(now.Add(m.ttl).UnixNano())
		if !m.leading.Swap(true) {
			m.log.Info("cluster: this node is the matcher")
		}
		m.setHolder(m.n.ID())
	}
	if m.leading.Load() {
		rev, err := kv.lease.Update(octx, leaseKey, me, m.leaseRev)
		if isCAS(err) || errors.Is(err, jetstream.ErrKeyNotFound) {
			m.leading.Store(false)
			m.setHolder("")
			m.log.Warn("cluster: matcher lease taken over")
			return
		}
		take(rev, err) // another error: ours until validUntil, unless a renewal gets through
		return
	}
	e, err := kv.lease.Get(octx, leaseKey)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		take(kv.lease.Create(octx, leaseKey, me))
	case err != nil:
	case string(e.Value()) == m.n.ID():
		take(kv.lease.Update(octx, leaseKey, me, e.Revision())) // ours, from a previous life
	default:
		m.setHolder(string(e.Value()))
	}
}

// resign gives the lease up, if held.
func (m *Matchmaker) resign() {
	if !m.leading.Swap(false) {
		return
	}
	m.setHolder("")
	ctx, cancel := context.WithTimeout(context.Background(), m.ttl/3)
	defer cancel()
	if kv, err := m.buckets(ctx); err == nil {
		_ = kv.lease.Delete(ctx, leaseKey, jetstream.LastRevision(m.leaseRev))
	}
}

// term is a leader's state: the waiting tickets as the tickets bucket says, mirrored into a
// match.Local that makes the passes.
type term struct {
	kv         mmBuckets
	local      *match.Local
	reconnects uint64
	w          jetstream.KeyWatcher
	done       chan struct{}
	broken     atomic.Bool // the watcher ended under us
	settled    time.Time   // the last settle
	purged     time.Time
	swept      time.Time // the last sweepOrphans

	mu      sync.Mutex
	waiting map[string]waitingTicket // by ticket key
	claimed map[string]string        // ticket key → the match claiming it
}

type waitingTicket struct {
	rec ticketRecord
	rev uint64
}

// startTerm watches the tickets and fills the mirror with the waiting ones.
func (m *Matchmaker) startTerm(ctx context.Context) (*term, error) {
	octx, cancel := m.opCtx(ctx)
	defer cancel()
	rc := m.n.nc.Stats().Reconnects
	kv, err := m.buckets(octx)
	if err != nil {
		return nil, err
	}
	local, err := match.NewLocal(match.Options{Queues: m.opts.Queues, OpenRooms: m.opts.OpenRooms, Clock: m.clock})
	if err != nil {
		return nil, err
	}
	kw, err := kv.tickets.WatchAll(context.Background())
	if err != nil {
		return nil, fmt.Errorf("cluster: watch tickets: %w", err)
	}
	tm := &term{
		kv: kv, local: local, reconnects: rc, w: kw, done: make(chan struct{}), purged: time.Now(),
		waiting: make(map[string]waitingTicket), claimed: make(map[string]string),
	}
	ready := make(chan struct{})
	go func() {
		defer close(tm.done)
		initial := true
		for e := range kw.Updates() {
			if e == nil {
				if initial {
					initial = false
					close(ready)
				}
				continue
			}
			tm.apply(m, e)
		}
		tm.broken.Store(true)
	}()
	select {
	case <-ready:
	case <-tm.done:
		return nil, errors.New("cluster: tickets watcher ended before the current values arrived")
	case <-octx.Done():
		_ = kw.Stop()
		<-tm.done
		return nil, fmt.Errorf("cluster: waiting for the tickets: %w", octx.Err())
	}
	m.mu.Lock()
	m.term = tm
	m.mu.Unlock()
	return tm, nil
}

func (m *Matchmaker) endTerm() {
	m.mu.Lock()
	tm := m.term
	m.term = nil
	m.mu.Unlock()
	if tm != nil {
		_ = tm.w.Stop()
		<-tm.done
	}
}

// apply folds one change of the tickets bucket into the mirror.
func (tm *term) apply(m *Matchmaker, e jetstream.KeyValueEntry) {
	key := e.Key()
	tm.mu.Lock()
	defer tm.mu.Unlock()
	gone := func() {
		if w, ok := tm.waiting[key]; ok {
			delete(tm.waiting, key)
			_ = tm.local.Cancel(w.rec.Ticket.ID)
		}
	}
	if e.Operation() != jetstream.KeyValuePut {
		gone()
		delete(tm.claimed, key)
		return
	}
	var rec ticketRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		m.log.Warn("cluster: bad ticket record", "key", key, "err", err)
		return
	}
	if rec.Match != "" {
		gone()
		tm.claimed[key] = rec.Match
		return
	}
	delete(tm.claimed, key)
	tm.waiting[key] = waitingTicket{rec: rec, rev: e.Revision()}
	if !tm.local.Queued(rec.Ticket.ID) {
		if err := tm.local.Enqueue(rec.Ticket); err != nil {
			m.log.Warn("cluster: a stored ticket does not fit the queues", "ticket", rec.Ticket.ID, "err", err)
		}
	}
}

// requeue puts back into the mirror the tickets of a dissolved proposal that still wait.
func (tm *term) requeue(mt match.Match) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for _, t := range mt.Tickets {
		if w, ok := tm.waiting[kvKey(t.ID)]; ok && !tm.local.Queued(t.ID) {
			_ = tm.local.Enqueue(w.rec.Ticket)
		}
	}
}

// pass runs one pass over the mirror and commits its matches one by one.
func (m *Matchmaker) pass(ctx context.Context, tm *term, onMatch func(match.Match)) error {
	start := time.Now()
	ms := tm.local.Pass(m.clock.Now())
	for _, mt := range ms {
		tm.local.Release(mt.Players()...) // NATS holds the players; the mirror only proposes
	}
	m.stats.passes.Add(1)
	defer func() { m.stats.lastPass.Store(int64(time.Since(start))) }()
	for _, mt := range ms {
		if !m.Leading() {
			return errLostLease // the rest only lived in the mirror: the next term reads NATS again
		}
		ok, err := m.commit(ctx, tm, mt, onMatch)
		if err != nil {
			return err
		}
		if !ok {
			m.stats.dissolved.Add(1)
			tm.requeue(mt)
		}
	}
	return nil
}

func (m *Matchmaker) at(step string) {
	if m.hook != nil {
		m.hook(step)
	}
}

// commit writes a proposed match to NATS and delivers it (steps 1 to 6 at the top of
// matchmaker.go). It reports false when the match was dissolved; an error leaves whatever was
// written for the next settle.
func (m *Matchmaker) commit(ctx context.Context, tm *term, mt match.Match, onMatch func(match.Match)) (bool, error) {
	octx, cancel := m.opCtx(ctx)
	defer cancel()
	kv := tm.kv
	tickets := make([]waitingTicket, len(mt.Tickets))
	tm.mu.Lock()
	for i, t := range mt.Tickets {
		w, ok := tm.waiting[kvKey(t.ID)]
		if !ok {
			tm.mu.Unlock()
			return false, nil // gone since the pass began: nothing written yet
		}
		tickets[i] = w
	}
	tm.mu.Unlock()

	rec := matchRecord{Match: mt, State: statePending, Leader: m.n.ID()}
	data, err := json.Marshal(&rec)
	if err != nil {
		return false, err
	}
	mrev, err := kv.matches.Create(octx, kvKey(mt.ID), data)
	if err != nil {
		return false, fmt.Errorf("cluster: record match %s: %w", mt.ID, err)
	}
	m.at("recorded")
	for _, w := range tickets {
		c := w.rec
		c.Match = mt.ID
		cdata, err := json.Marshal(&c)
		if err != nil {
			return false, err
		}
		_, err = kv.tickets.Update(octx, kvKey(c.Ticket.ID), cdata, w.rev)
		if isCAS(err) { // cancelled or changed since the mirror saw it
			return false, m.dissolve(octx, kv, mt.ID, onMatch)
		}
		if err != nil {
			return false, fmt.Errorf("cluster: claim ticket %s: %w", c.Ticket.ID, err)
		}
		m.at("claimed")
	}
	if !m.Leading() {
		return false, m.dissolve(octx, kv, mt.ID, onMatch)
	}
	rec.State = stateCommitted
	if data, err = json.Marshal(&rec); err != nil {
		return false, err
	}
	_, err = kv.matches.Update(octx, kvKey(mt.ID), data, mrev)
	if isCAS(err) { // a Cancel dissolved it
		return false, m.dissolve(octx, kv, mt.ID, onMatch)
	}
	if err != nil {
		return false, fmt.Errorf("cluster: commit match %s: %w", mt.ID, err)
	}
	m.at("committed")
	return true, m.deliver(octx, kv, mt, onMatch)
}

// deliver finishes a committed match: its players held by it, its tickets deleted, onMatch
// called, the record cleared. Each step is idempotent, so a new leader runs it again from
// the start on a record a dead one left.
func (m *Matchmaker) deliver(ctx context.Context, kv mmBuckets, mt match.Match, onMatch func(match.Match)) error {
	for _, t := range mt.Tickets {
		for _, p := range t.Players {
			if err := m.hold(ctx, kv, p, t.ID, mt.ID); err != nil {
				return fmt.Errorf("cluster: hold player %q for match %s: %w", p, mt.ID, err)
			}
		}
		key := kvKey(t.ID)
		e, err := kv.tickets.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cluster: finish match %s: %w", mt.ID, err)
		}
		var rec ticketRecord
		if json.Unmarshal(e.Value(), &rec) == nil && rec.Match != mt.ID {
			continue // a ticket of the same id queued since
		}
		if err := kv.tickets.Delete(ctx, key, jetstream.LastRevision(e.Revision())); err != nil && !isCAS(err) {
			return fmt.Errorf("cluster: finish match %s: %w", mt.ID, err)
		}
	}
	m.at("finished")
	onMatch(mt)
	m.stats.matches.Add(1)
	m.stats.matchedTickets.Add(uint64(len(mt.Tickets)))
	m.stats.matchedPlayers.Add(uint64(len(mt.Players())))
	if mt.Room != "" {
		m.stats.backfills.Add(1)
	}
	m.at("delivered")
	if err := kv.matches.Delete(ctx, kvKey(mt.ID)); err != nil {
		return fmt.Errorf("cluster: clear match %s: %w", mt.ID, err)
	}
	return nil
}

// hold marks a player's key as held by a match (it waited in ticket).
func (m *Matchmaker) hold(ctx context.Context, kv mmBuckets, player, ticket, matchID string) error {
	key := kvKey(player)
	for attempt := range casAttempts {
		if attempt > 0 {
			if err := pause(ctx, attempt); err != nil {
				return err
			}
		}
		e, err := kv.players.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil // released already: a repeated delivery
		}
		if err != nil {
			return err
		}
		var rec playerRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil || rec.Ticket != ticket || rec.Match != "" {
			return nil // held already, or queued again after a release
		}
		rec.Match = matchID
		data, err := json.Marshal(&rec)
		if err != nil {
			return err
		}
		_, err = kv.players.Update(ctx, key, data, e.Revision())
		if err == nil || !isCAS(err) {
			return err
		}
	}
	return ErrContention
}

// dissolve undoes match id: its record turned to dissolved (unless it committed meanwhile,
// when it is delivered instead), the tickets it claimed put back waiting, the record cleared.
func (m *Matchmaker) dissolve(ctx context.Context, kv mmBuckets, id string, onMatch func(match.Match)) error {
	state, err := m.stopMatch(ctx, kv, id)
	if err != nil {
		return fmt.Errorf("cluster: dissolve match %s: %w", id, err)
	}
	if state == "" {
		return nil
	}
	e, err := kv.matches.Get(ctx, kvKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: dissolve match %s: %w", id, err)
	}
	var rec matchRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return fmt.Errorf("cluster: dissolve match %s: bad record: %w", id, err)
	}
	if state == stateCommitted {
		return m.deliver(ctx, kv, rec.Match, onMatch)
	}
	for _, t := range rec.Match.Tickets {
		key := kvKey(t.ID)
		te, err := kv.tickets.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // cancelled
		}
		if err != nil {
			return fmt.Errorf("cluster: dissolve match %s: %w", id, err)
		}
		var tr ticketRecord
		if json.Unmarshal(te.Value(), &tr) != nil || tr.Match != id {
			continue
		}
		tr.Match = ""
		data, err := json.Marshal(&tr)
		if err != nil {
			return err
		}
		if _, err := kv.tickets.Update(ctx, key, data, te.Revision()); err != nil && !isCAS(err) {
			return fmt.Errorf("cluster: dissolve match %s: put back %s: %w", id, t.ID, err)
		}
	}
	if err := kv.matches.Delete(ctx, kvKey(id), jetstream.LastRevision(e.Revision())); err != nil && !isCAS(err) {
		return fmt.Errorf("cluster: dissolve match %s: %w", id, err)
	}
	return nil
}

// settle finishes every match record in the bucket (the previous leader's, or this one's
// after an error) and puts back tickets claimed by a match that has no record. It runs at the
// start of a term and every LeaseTTL after, between passes.
func (m *Matchmaker) settle(ctx context.Context, tm *term, onMatch func(match.Match)) error {
	octx, cancel := m.opCtx(ctx)
	defer cancel()
	kv := tm.kv
	keys, err := kv.matches.Keys(octx)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return fmt.Errorf("cluster: list matches: %w", err)
	}
	for _, key := range keys {
		e, err := kv.matches.Get(octx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cluster: settle matches: %w", err)
		}
		var rec matchRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			m.log.Warn("cluster: bad match record; deleted", "key", key, "err", err)
			_ = kv.matches.Delete(octx, key, jetstream.LastRevision(e.Revision()))
			continue
		}
		if rec.State == stateCommitted {
			m.log.Info("cluster: delivering a match a previous matcher committed", "match", rec.Match.ID, "by", rec.Leader)
			err = m.deliver(octx, kv, rec.Match, onMatch)
		} else {
			err = m.dissolve(octx, kv, rec.Match.ID, onMatch)
		}
		if err != nil {
			return err
		}
	}
	// Claims without a record cannot come from the commit (the record is written first and
	// cleared last); repair them all the same rather than leave a ticket stuck.
	tm.mu.Lock()
	orphans := make(map[string]string)
	for key, id := range tm.claimed {
		if !slices.Contains(keys, kvKey(id)) {
			orphans[key] = id
		}
	}
	tm.mu.Unlock()
	for key, id := range orphans {
		if _, err := kv.matches.Get(octx, kvKey(id)); !errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // recorded since the listing
		}
		te, err := kv.tickets.Get(octx, key)
		if err != nil {
			continue
		}
		var tr ticketRecord
		if json.Unmarshal(te.Value(), &tr) != nil || tr.Match != id {
			continue
		}
		tr.Match = ""
		if data, err := json.Marshal(&tr); err == nil {
			_, _ = kv.tickets.Update(octx, key, data, te.Revision())
		}
	}
	tm.settled = time.Now()
	return nil
}
