package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/protocol"
)

// Chaos mode (-chaos-every D): the bots misbehave as real clients do, to show that overload
// and bad links degrade a player's experience and never break it (issue 11). During the
// measured phase, each bot, at random times D apart on average (uniformly from D/2 to 3D/2
// after the end of its previous episode, drawn from the bot's seeded random source), does one
// of:
//
//   - stall: its read loop stops reading the socket for 1 to 8 s, as a frozen tab or a
//     starved client does, then reads the backlog and carries on. It keeps writing meanwhile
//     (pings, its play, the acknowledgements of what it applied), so the link is not silent:
//     the server must send it fewer snapshots, never close it. 8 s stays under the server's
//     write timeout (10 s, ws.Limits.WriteTimeout) and its silent-peer timeout (8 s of
//     nothing heard), which an honest stalled client does not trigger.
//   - drop: the TCP connection is cut abruptly (a reset, no close frame), as when a phone
//     switches networks; after 0.5 to 5 s the bot dials again and resumes its seat with the
//     latest resume token, join {"token": ...}, well within the seat's grace period (30 s).
//   - pause: it stops playing (no inputs, no letters) for 1 to 5 s but keeps reading and
//     acknowledging.
//
// The odds are -chaos-weights (stall, drop, pause; 2,2,1 by default). An episode that is
// under way when the measured phase ends is finished (a stalled bot reads again, a dropped
// one resumes) before the settle phase, so that the end-of-run checks see every bot caught up.
//
// What is an error: a resume refused (any code: with drops of at most 5 s the seat must still
// be held) or failed (dial, handshake, timeout); a stalled bot closed by the server (an honest
// slow client closed: counted with the unexpected closes, in its own category of first errors
// with the close code and reason); and, as without chaos, any protocol error or malformed
// snapshot. A resumed crossword bot must end with every letter (crossword.go).

// The kinds of episode, in the order of -chaos-weights.
const (
	chaosStall = iota
	chaosDrop
	chaosPause
	chaosKinds
)

// The episodes' lengths, uniform in [min, max].
const (
	stallMin, stallMax = 1 * time.Second, 8 * time.Second
	dropMin, dropMax   = 500 * time.Millisecond, 5 * time.Second
	pauseMin, pauseMax = 1 * time.Second, 5 * time.Second
	// minChaosEvery bounds -chaos-every from below: an episode a few scheduler periods
	// apart would only measure the load generator.
	minChaosEvery = 100 * time.Millisecond
	// slowCloseWindow: a connection closed by the server this long after a stall ended
	// counts as an honest slow client closed (the server's write timeout is 10 s).
	slowCloseWindow = 10 * time.Second
)

// botChaos is one bot's chaos state.
type botChaos struct {
	next       int64 // scheduler: mono time of the next episode, 0 until drawn
	pauseUntil int64 // scheduler: no play before this mono time

	busy     atomic.Bool  // a stall or a drop is under way: no other episode starts
	stallFor atomic.Int64 // ns the read loop is to stall before its next read; 0 for none

	stallEnd int64 // read loop: mono time its last stall ended, 0 if none
	resumeAt int64 // read loop (set before it starts): mono time the resume began, 0 once its first snapshot came
}

// chaosStats are the run's chaos counts.
type chaosStats struct {
	stalls, drops, pauses atomic.Int64
	resumes               atomic.Int64 // seats resumed
	resumeFailed          atomic.Int64 // no answer to the join: dial, handshake or timeout
	slowClosed            atomic.Int64 // stalled bots closed by the server
	latency               hist         // µs from the start of a resume to its first snapshot

	mu      sync.Mutex
	refused map[protocol.Code]int64 // resumes refused, by the code of [21, req, code, message]
}

func (s *chaosStats) refuse(code protocol.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.refused = map[protocol.Code]int64{}
	}
	s.refused[code]++
}

// refusals returns the number of refused resumes and their counts by code, as
// "5 (not found): 2 14 (timeout): 1".
func (s *chaosStats) refusals() (int64, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	codes := make([]protocol.Code, 0, len(s.refused))
	var n int64
	for c, k := range s.refused {
		codes = append(codes, c)
		n += k
	}
	slices.Sort(codes)
	var b strings.Builder
	for i, c := range codes {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d (%s): %d", c, c, s.refused[c])
	}
	return n, b.String()
}

// errors is what the chaos adds to the run's errors besides the closes.
func (s *chaosStats) errors() int64 {
	n, _ := s.refusals()
	return n + s.resumeFailed.Load()
}

// parseChaosWeights reads -chaos-weights: three non-negative integers, stall,drop,pause.
func parseChaosWeights(s string) ([chaosKinds]int, error) {
	var w [chaosKinds]int
	parts := strings.Split(s, ",")
	if len(parts) != chaosKinds {
		return w, fmt.Errorf("want three weights, stall,drop,pause: %q", s)
	}
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 0 {
			return w, fmt.Errorf("weight %q is not a non-negative integer", p)
		}
		w[i] = v
	}
	return w, nil
}

// uniform returns a duration in [lo, hi] from the bot's random source (scheduler only).
func (b *bot) uniform(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(b.rng.Int64N(int64(hi-lo)+1))
}

// chaosStep runs on the scheduler before the bot's step: it starts an episode when one is
// due. It reports true when it dropped the connection (the step must not run).
func (b *bot) chaosStep(now int64) bool {
	r, ch := b.r, &b.chaos
	if r.phase.Load() != phaseMeasure || ch.busy.Load() || now < ch.pauseUntil {
		return false
	}
	every := r.cfg.ChaosEvery
	if ch.next == 0 {
		ch.next = now + int64(b.uniform(every/2, every*3/2))
		return false
	}
	if now < ch.next {
		return false
	}
	ch.next = 0 // drawn again once this episode is over
	switch b.pickChaos() {
	case chaosStall:
		r.chaos.stalls.Add(1)
		ch.busy.Store(true)
		ch.stallFor.Store(int64(b.uniform(stallMin, stallMax)))
	case chaosPause:
		r.chaos.pauses.Add(1)
		ch.pauseUntil = now + int64(b.uniform(pauseMin, pauseMax))
	case chaosDrop:
		r.chaos.drops.Add(1)
		b.drop(b.uniform(dropMin, dropMax))
		return true
	}
	return false
}

// pickChaos draws an episode's kind by the weights.
func (b *bot) pickChaos() int {
	w := &b.r.cfg.ChaosWeights
	sum := 0
	for _, v := range w {
		sum += v
	}
	k := b.rng.IntN(sum)
	for i, v := range w {
		if k < v {
			return i
		}
		k -= v
	}
	return chaosPause // unreachable: normalize makes the sum positive
}

// stall stops reading for d (read loop). The read loop resumes with the backlog.
func (b *bot) stall(d time.Duration) {
	time.Sleep(d)
	b.chaos.stallEnd = b.r.mono()
	b.chaos.busy.Store(false)
}

// stallNotBegun ends a stall that was asked for when the connection ended before the read
// loop began it (read loop, on exit).
func (b *bot) stallNotBegun() {
	if b.chaos.stallFor.Swap(0) > 0 {
		b.chaos.busy.Store(false)
	}
}

// closeCategory is the error category of an unexpected end of the connection (read loop): a
// bot that stalled lately was an honest slow client, which the server must never close.
func (b *bot) closeCategory() string {
	if end := b.chaos.stallEnd; end != 0 && b.r.mono()-end < int64(slowCloseWindow) {
		b.r.chaos.slowClosed.Add(1)
		return "stalled bot closed"
	}
	return "close"
}

// drop cuts the connection without a close frame (scheduler) and resumes the seat after
// a while, on a goroutine of its own.
func (b *bot) drop(after time.Duration) {
	b.chaos.busy.Store(true)
	b.closing.Store(true) // the end of this connection is ours: not an unexpected close
	b.up.Store(false)     // the scheduler leaves the bot alone until the resume seats it
	cut(b.c)
	// Input numbering is per connection: the new one numbers from 1 (PROTOCOL.md).
	b.seq, b.inputAck, b.inputView = 0, 0, 0
	b.batch.reset()
	b.chaos.pauseUntil = 0
	b.r.chaosWG.Add(1)
	go b.resume(after)
}

// cut drops c's transport abruptly: a TCP reset (SO_LINGER 0), no FIN and no close frame,
// so the server learns of it at its next read or write, as when a phone changes networks.
// (A link that goes silent without a reset is the server's silent-peer timeout's business,
// 8 s; a resume replaces such a connection at once. Over wss:// the connection is a TLS one
// and is closed without the reset.)
func cut(c *ws.Conn) {
	if tc, ok := c.NetConn().(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.CloseNow()
}

// resume waits for the dropped connection's read loop to end, then for the drop to last
// after, and joins again with the resume token. A refused or failed resume loses the bot,
// an error.
func (b *bot) resume(after time.Duration) {
	r := b.r
	defer r.chaosWG.Done()
	defer b.chaos.busy.Store(false)
	<-b.done // the old read loop is over: its state is ours until the new one starts
	time.Sleep(after)

	b.unacked.Store(0) // a tick of the old connection: the new one starts from a full snapshot
	b.resetAt, b.reacked = 0, 0
	if rs, ok := b.beh.(resumer); ok {
		rs.resumed()
	}
	b.closing.Store(false)
	b.chaos.resumeAt = max(r.mono(), 1)
	err := b.open(context.Background(), protocol.JoinOptions{Token: b.token})
	if err == nil {
		r.chaos.resumes.Add(1)
		return
	}
	b.lost.Store(true)
	var refused *joinRefusedError
	if errors.As(err, &refused) {
		r.chaos.refuse(refused.code)
		r.errs.add("resume refused", err)
		return
	}
	r.chaos.resumeFailed.Add(1)
	r.errs.add("resume", err)
}

// resumer is a behavior with state tied to the connection, reset when the bot resumes on a
// new one (before its read loop starts).
type resumer interface {
	resumed()
}

// chaosQuiet reports whether no bot is in a stall or a drop, those lost aside.
func (r *runner) chaosQuiet() bool {
	for _, b := range r.startedBots() {
		if b.chaos.busy.Load() && !b.lost.Load() {
			return false
		}
	}
	return true
}

// awaitChaos waits, once the measured phase is over and no episode starts any more, for the
// episodes under way to end: stalled bots reading again, dropped ones resumed. It gives up
// after the longest an episode can take, plus a join, plus a margin (a hang detector).
func (r *runner) awaitChaos(ctx context.Context) {
	if r.cfg.ChaosEvery == 0 {
		return
	}
	deadline := time.Now().Add(max(stallMax, dropMax) + r.cfg.JoinTimeout + 5*time.Second)
	for !r.chaosQuiet() && time.Now().Before(deadline) {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return
		}
	}
}

// chaosRows are the report's lines about the chaos.
func (res *result) chaosRows(r *runner, s *chaosStats) {
	refused, codes := s.refusals()
	res.chaos = &chaosSummary{
		stalls: s.stalls.Load(), drops: s.drops.Load(), pauses: s.pauses.Load(),
		resumes: s.resumes.Load(), refused: refused, failed: s.resumeFailed.Load(),
		slowClosed: s.slowClosed.Load(),
		p50:        s.latency.Quantile(0.50) / 1e3, p99: s.latency.Quantile(0.99) / 1e3,
		max: float64(s.latency.Max()) / 1e3,
	}
	c := res.chaos
	if codes != "" {
		codes = " (codes " + codes + ")"
	}
	w := r.cfg.ChaosWeights
	res.rows = append(res.rows,
		row{"chaos", fmt.Sprintf("every %v a bot (weights stall %d, drop %d, pause %d): %d stalls, %d drops, %d pauses",
			r.cfg.ChaosEvery, w[chaosStall], w[chaosDrop], w[chaosPause], c.stalls, c.drops, c.pauses)},
		row{"resumes", fmt.Sprintf("%d ok, %d refused%s, %d failed", c.resumes, c.refused, codes, c.failed)},
		row{"resume to snapshot ms", fmt.Sprintf("p50 %.2f  p99 %.2f  max %.2f  (%d: reconnect to the first snapshot)",
			c.p50, c.p99, c.max, s.latency.Count())},
		row{"stalled bots closed", fmt.Sprintf("%d (honest slow clients the server closed)", c.slowClosed)},
	)
}

// chaosSummary is what the report and the summary line say about the chaos.
type chaosSummary struct {
	stalls, drops, pauses    int64
	resumes, refused, failed int64
	slowClosed               int64
	p50, p99, max            float64 // ms, resume to its first snapshot
}
