package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/protocol"
)

// Rejoin mode (-rejoin): load on a cluster whose nodes die or drain mid-run
// (bench/cluster/run.sh kills one). A bot comes back the way the browser SDK's client does
// (client/src/client.ts: dropped, onMoved, seatLost), so that what the run measures is what
// players would live through:
//
//   - its connection ends without our asking and without a planned cause (EOF, a reset, or a
//     close 1001, 1006 or 1012: a node that died, restarted or drained), or its room ends
//     with code 13 (the node shuts down) before any 0x1C: it waits the SDK's backoff
//     (250 ms doubling to 2 s, minus up to half at random) and resumes its seat with its
//     latest token at the node it was on. Two failed attempts in a row at a node other than
//     the entry send the next ones through the entry -url (the SDK's NODE_FAILURES), which
//     redirects the resume (0x1B) or says the seat is gone. A refused resume (code 5, "the
//     node that held your seat is gone", or any other code) makes it join afresh, with the
//     same quick play, through the entry -url.
//   - it gets 0x1C, [28, url, reservation, ttl_ms, room] (its node drains): it leaves, lets
//     go of that connection and joins at url with the reservation and its meta at once; if
//     that fails, it joins afresh through the entry.
//
// Each such loss is an episode: "affected". It ends when the bot applies its first snapshot
// after the loss ("back"; the time from noticing the loss to that snapshot goes into a
// histogram) and counts as resumed, rejoined (afresh) or moved by the way the bot came back;
// or, when the bot is not back within -rejoin-within of the loss, as lost, an error (a
// player the cluster could not take back). The losses themselves are not errors. A bot that
// joins afresh, or follows a move, is a new player in a new room: its mirror, player id,
// room and behavior start over (the old behavior is kept for the game's report).
//
// What a rejoin costs the numbers: the bots away are not counted as connected and send
// nothing, so a run with a kill has fewer snapshots a second; and each bot takes a step
// lock (an uncontended mutex, about 20 ns) on every scheduler step, so that its connection
// can be replaced while the scheduler runs. Without -rejoin none of this runs and the
// behavior is the load generator's as before.

// backoff is the SDK's reconnection schedule (client/src/backoff.ts defaults).
const (
	backoffInitial = 250 * time.Millisecond
	backoffMax     = 2 * time.Second
	// nodeFailures: failed attempts in a row at a node other than the entry before the next
	// go through the entry (client.ts NODE_FAILURES).
	nodeFailures = 2
)

// backoffDelay is the wait before reconnection attempt n (0 for the first): min(2 s,
// 250 ms·2^n), minus up to half of it at random, so that bots dropped together do not
// return together.
func backoffDelay(n int) time.Duration {
	d := backoffMax
	if n < 4 {
		d = min(backoffMax, backoffInitial<<n)
	}
	return d - time.Duration(rand.Int64N(int64(d)/2+1))
}

// How a bot came back: the ways it joined again.
const (
	wayResume = iota // its seat, with the resume token
	wayRejoin        // afresh, by quick play through the entry
	wayMoved         // the seat reserved for it by a draining node (0x1C)
	ways
)

// botRejoin is one bot's rejoin state.
type botRejoin struct {
	// step is held by the scheduler for each step of the bot (bot.tick), so that an
	// episode can wait until no step uses the old connection before it replaces it.
	step sync.Mutex

	active atomic.Bool   // an episode is under way (one at a time: a later end is its business)
	lostAt atomic.Int64  // mono time the loss was noticed, until back (or lost): 0 otherwise
	back   chan struct{} // closed by the read loop at the first snapshot after the loss
}

// rejoinStats are the run's rejoin counts.
type rejoinStats struct {
	affected atomic.Int64
	by       [ways]atomic.Int64 // episodes that ended back, by way
	lost     atomic.Int64
	back     hist // µs, loss to the first snapshot after it

	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup
	ctx     context.Context // cancelled when the run stops waiting for episodes
	cancel  context.CancelFunc
}

// unplanned reports whether err, which ended a connection, is one a player's client
// recovers from by reconnecting: the transport died (no close frame: EOF, a reset), or the
// server said it is going away (1001: drained or shutting down), the link was lost (1006),
// or it restarts (1012). Any other close is the server's judgment of the bot (1008 for a
// flood, 1011 for a failed room, 1002 for a protocol error...): an error, as without
// -rejoin.
func unplanned(err error) bool {
	switch ws.CloseStatus(err) {
	case 0, ws.StatusGoingAway, ws.StatusAbnormalClosure, ws.StatusServiceRestart:
		return true
	}
	return false
}

// startRejoins readies the run for episodes.
func (r *runner) startRejoins() {
	r.rejoin.ctx, r.rejoin.cancel = context.WithCancel(context.Background())
}

// stopRejoins ends the episodes still under way (they count as lost) and waits for them;
// losses after it are lost at once.
func (r *runner) stopRejoins() {
	if r.rejoin.cancel == nil {
		return
	}
	r.rejoin.mu.Lock()
	r.rejoin.stopped = true
	r.rejoin.mu.Unlock()
	r.rejoin.cancel()
	r.rejoin.wg.Wait()
}

// awaitRejoins waits, once the measured phase is over, for the episodes under way to end,
// at most -rejoin-within (each ends by then) and a second.
func (r *runner) awaitRejoins(ctx context.Context) {
	if !r.cfg.Rejoin {
		return
	}
	deadline := time.Now().Add(r.cfg.RejoinWithin + time.Second)
	for r.away() > 0 && time.Now().Before(deadline) {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return
		}
	}
}

// away counts the bots in an episode now.
func (r *runner) away() int {
	n := 0
	for _, b := range r.startedBots() {
		if b.rj.active.Load() && !b.lost.Load() {
			n++
		}
	}
	return n
}

// lose starts an episode for a bot whose connection ended, or whose room ends, without a
// planned cause (move is nil), or that was moved (move names the seat). It runs on the
// read loop of the connection that ended; the episode runs on a goroutine of its own.
func (b *bot) lose(move *gameclient.RedirectError) {
	if !b.rj.active.CompareAndSwap(false, true) {
		return // the episode under way sees this connection end and goes on
	}
	r := b.r
	b.rj.back = make(chan struct{})
	b.rj.lostAt.Store(max(r.mono(), 1))
	r.rejoin.affected.Add(1)
	r.rejoin.mu.Lock()
	stopped := r.rejoin.stopped
	if !stopped {
		r.rejoin.wg.Add(1)
	}
	r.rejoin.mu.Unlock()
	if stopped {
		b.giveUp(errors.New("loadgen: lost after the run stopped rejoining"))
		return
	}
	go b.comeBack(move)
}

// giveUp ends an episode with the bot lost.
func (b *bot) giveUp(err error) {
	if at := b.rj.lostAt.Load(); at == 0 || !b.rj.lostAt.CompareAndSwap(at, 0) {
		return // back after all: the first snapshot came as the time ran out
	}
	b.lost.Store(true)
	b.r.rejoin.lost.Add(1)
	b.r.errs.add("rejoin", err)
}

// backNow is the read loop's part at each snapshot applied: the first after a loss ends
// the episode.
func (b *bot) backNow(now int64) {
	at := b.rj.lostAt.Load()
	if at == 0 || !b.rj.lostAt.CompareAndSwap(at, 0) {
		return
	}
	b.r.rejoin.back.Record((now - at) / 1e3)
	close(b.rj.back)
}

// comeBack runs one episode (see the top of this file) until the bot is back or lost.
func (b *bot) comeBack(move *gameclient.RedirectError) {
	r := b.r
	defer r.rejoin.wg.Done()
	lostAt := b.rj.lostAt.Load()
	ctx, cancel := context.WithDeadline(r.rejoin.ctx, r.t0.Add(time.Duration(lostAt)+r.cfg.RejoinWithin))
	defer cancel()
	back := b.rj.back

	way, target, failures, attempt := wayResume, b.url, 0, 0
	if move != nil {
		way, target = wayMoved, move.URL
	}
	wait := way == wayResume // the SDK waits its backoff before the first reconnection, not to follow a move
	var err error
	for {
		<-b.done // the previous connection's read loop is over: the bot is ours
		if wait {
			select {
			case <-time.After(backoffDelay(attempt)):
			case <-ctx.Done():
			}
			attempt++
		}
		if ctx.Err() != nil {
			break
		}
		b.quiesce()
		join := protocol.JoinOptions{Token: b.token}
		switch way {
		case wayResume:
			if rs, ok := b.beh.(resumer); ok {
				rs.resumed()
			}
		case wayMoved:
			b.startOver()
			join = protocol.JoinOptions{Reservation: move.Reservation, Meta: r.meta(b.idx)}
		case wayRejoin:
			b.startOver()
			join = protocol.JoinOptions{Game: r.game.name(), Meta: r.meta(b.idx)}
		}
		b.url = target
		b.closing.Store(false)
		if err = b.open(ctx, join); err == nil {
			select {
			case <-back:
				r.rejoin.by[way].Add(1)
				b.rj.active.Store(false)
				return
			case <-b.done:
				// Seated, and the connection ended before its first snapshot: resume there.
				err = errors.New("loadgen: the connection ended again before the first snapshot")
				way, target, wait, failures = wayResume, b.url, true, 0
				continue
			case <-ctx.Done():
			}
			break
		}
		if ctx.Err() != nil {
			break
		}
		var refused *joinRefusedError
		switch {
		case way == wayResume && errors.As(err, &refused):
			// The seat is gone: afresh through the entry, at once (the SDK's seatLost).
			way, target, wait = wayRejoin, r.cfg.URL, false
		case way == wayMoved:
			way, target, wait = wayRejoin, r.cfg.URL, false
		case way == wayResume:
			failures++
			if failures >= nodeFailures && target != r.cfg.URL {
				target, failures = r.cfg.URL, 0 // the node is gone, most likely: ask the entry
			}
			wait = true
		default:
			wait = true // afresh failed: again after the backoff
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	b.giveUp(fmt.Errorf("not back within %v of the loss: %w", r.cfg.RejoinWithin, err))
}

// quiesce waits until no scheduler step uses the bot (the step lock), and resets what the
// scheduler keeps per connection: inputs are numbered from 1 on each (PROTOCOL.md), the
// acknowledgements waiting are of the old one. The scheduler leaves the bot alone until
// the next join seats it (up is false).
func (b *bot) quiesce() {
	b.rj.step.Lock()
	b.seq, b.inputAck, b.inputView = 0, 0, 0
	b.batch.reset()
	b.rj.step.Unlock()
	b.unacked.Store(0)
	b.resetAt, b.reacked = 0, 0
}

// startOver makes the bot a new player before it joins afresh or follows a move: a new
// room and player id come with the join, so the mirror, the ticks and the behavior start
// over (onJoined makes new ones). The old behavior is kept for the game's report.
func (b *bot) startOver() {
	if b.beh != nil {
		b.past = append(b.past, b.beh)
	}
	b.beh, b.mirror = nil, nil
	b.player, b.room, b.token = 0, "", ""
	b.lastTick = 0
	b.firstSnap.Store(0) // what the new room owes it counts from its first snapshot there
}

// rejoinSummary is what the report and the summary line say about the rejoins.
type rejoinSummary struct {
	affected, resumed, rejoined, moved, lost int64
	n                                        int64   // episodes back
	p50, p99, max                            float64 // ms, loss to the first snapshot
}

// rejoinRows are the report's lines about the rejoins.
func (res *result) rejoinRows(r *runner) {
	s := &r.rejoin
	res.rejoin = &rejoinSummary{
		affected: s.affected.Load(), resumed: s.by[wayResume].Load(), rejoined: s.by[wayRejoin].Load(),
		moved: s.by[wayMoved].Load(), lost: s.lost.Load(), n: s.back.Count(),
		p50: s.back.Quantile(0.50) / 1e3, p99: s.back.Quantile(0.99) / 1e3, max: float64(s.back.Max()) / 1e3,
	}
	j := res.rejoin
	res.rows = append(res.rows,
		row{"rejoins", fmt.Sprintf("%d bots affected: %d resumed, %d rejoined afresh, %d moved, %d lost (not back within %v)",
			j.affected, j.resumed, j.rejoined, j.moved, j.lost, r.cfg.RejoinWithin)},
		row{"back to playing ms", fmt.Sprintf("p50 %.2f  p99 %.2f  max %.2f  (%d: loss to the first snapshot)", j.p50, j.p99, j.max, j.n)},
	)
}
