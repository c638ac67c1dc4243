package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/protocol"
	"github.com/rallypoint/rallypoint/state"
)

// A bot is one player: one WebSocket connection speaking rallypoint.v1 as the browser SDK
// does (join by quick play, apply every snapshot to a state.Mirror and acknowledge it, ping
// every few seconds), driven by its game's behavior.
//
// Acknowledgements: a bot whose behavior sends an input every step (the shooter's) puts the
// latest applied tick on its next input, [3, seq, input, tick], as the SDK does, and sends
// no [4, tick] of its own: one message a step instead of up to two, which is what the server
// pays for (a wake-up and a read each). A tick no step's input took by the end of the next
// step goes alone. Other bots (the crossword's, which type every few seconds) acknowledge
// the snapshot in hand at most every AckEvery (250 ms), as the crossword page does with the
// SDK's ackDelay: each acknowledgement costs the server a read, and a puzzle's deltas
// against a slightly older baseline cost next to nothing.
//
// It does not use gameclient's Client, whose per-snapshot path allocates (the acknowledgement is
// encoded by reflection, a channel is made per snapshot) and which hides the snapshot bodies
// that the bots' zero-allocation game logic reads; it reads messages with the same scanner
// (protocol.Reader) and writes them with protocol's Append functions. Its joins follow a
// cluster's redirects with gameclient.FollowRedirects, the loop of gameclient.DialJoin. Two goroutines touch a bot: its own read
// loop, which handles what the server sends, and a scheduler shard, which calls step at the
// input rate; each has its own write buffer (WriteMessage copies), and the behaviors guard
// what both use.
type bot struct {
	r   *runner
	idx int // 0-based, in the order the bots were started
	c   *ws.Conn
	v3  bool       // c speaks rallypoint.v3 (set with c, before its read loop starts)
	rng *rand.Rand // owned by the scheduler goroutine (step); the read loop has none

	mirror *state.Mirror
	beh    behavior

	// Set by the read loop before joined is signalled, then read-only until a resume.
	player       uint32
	room         string
	token        string // the resume token of the latest 0x11: they rotate on every resume
	tickRate     int
	snapshotRate int
	joined       chan error // one value: nil when seated, the reason otherwise
	// url is the node the bot is seated on: the -url it entered through, or where the
	// cluster's redirects sent it. Resumes go there. Written by open, before the bot is up.
	url       string
	redirects atomic.Int64           // redirects followed, every join and resume together
	node      atomic.Pointer[string] // url once seated, for the reporter's goroutine

	rd      protocol.Reader // read loop's scanner
	readBuf []byte          // read loop's write scratch (acknowledgements)
	stepBuf []byte          // scheduler's write scratch (inputs, pings)
	out     *ws.Batch       // scheduler: its shard's batch while it steps this bot (nil: write at once)

	lastTick  uint32              // read loop: latest applied snapshot tick
	ackedAt   int64               // read loop: mono time of the last acknowledgement onSnapshot sent
	resetAt   int64               // read loop: mono time [4, 0] went out, 0 when no full snapshot is asked for
	reacked   uint32              // read loop: the latest tick acknowledged again after a baseline miss
	known     protocol.SeqHistory // read loop: the input seq known at each recent snapshot tick
	evNames   [][]byte            // read loop: the room's event names, by index (the join answer)
	seq       uint32              // scheduler: last input sequence number sent
	inputAck  uint32              // scheduler: the tick the input beginInput started carries (0: none)
	inputView uint32              // scheduler: the snapshot tick that input says the bot aimed at (0: none)
	inputAt   int                 // scheduler: where the input starts in the message beginInput started
	batch     inputBatch
	nextPing  int64 // scheduler: mono time of the next ping
	firstSnap atomic.Int64
	up        atomic.Bool // seated and connected
	closing   atomic.Bool // we are closing it: its end is expected
	lost      atomic.Bool // it ended, or left its room, without our asking
	done      chan struct{}

	// ackOnInput is set with the behavior, before the bot is up: its inputs carry the
	// acknowledgements. unacked is the applied tick waiting for an input (0: none), written
	// by the read loop and taken by the scheduler.
	ackOnInput bool
	unacked    atomic.Uint32

	n counters

	chaos botChaos // chaos.go

	rj   botRejoin  // rejoin.go
	past []behavior // rejoin: the behaviors of the rooms it left for a new one (startOver)
}

// counters are one bot's tallies, summed by the reporter; atomics, because the reporter
// reads them while the bot runs.
type counters struct {
	snapshots      atomic.Int64
	events         atomic.Int64
	protocolErrors atomic.Int64
	baselineMisses atomic.Int64 // deltas dropped: their baseline was not held
	baselineResets atomic.Int64 // [4, 0] sent after such a miss
	pongs          atomic.Int64
	inputs         atomic.Int64
}

// behavior is a game's bot logic, made when the bot is seated. The read loop calls
// snapshot, inputAck and event; the scheduler calls step. Times are runner.mono values.
type behavior interface {
	// snapshot sees each snapshot after the mirror applied it, with the time it was read.
	// An error counts as a protocol error.
	snapshot(s snapMsg, now int64) error
	inputAck(seq, tick uint32)
	event(name, payload []byte, now int64)
	// step runs at the scheduler's rate while the bot is seated: send inputs here.
	step(now int64)
}

// joinReq is the request id of the bot's join; the bot sends no other request.
const joinReq = 1

var errNotSeated = errors.New("loadgen: connection ended before the join was answered")

// start dials, joins by quick play and starts the read loop. It returns once the bot is
// seated, or with the reason it could not be.
func (b *bot) start(ctx context.Context) error {
	b.url = b.r.cfg.URL
	return b.open(ctx, protocol.JoinOptions{Game: b.r.game.name(), Meta: b.r.meta(b.idx)})
}

// joinRefusedError is the server's answer [21, req, code, message] to the bot's join.
type joinRefusedError struct {
	code protocol.Code
	msg  string
}

func (e *joinRefusedError) Error() string { return fmt.Sprintf("join refused: %s: %s", e.code, e.msg) }

// open joins with opts at b.url, by quick play at the start or with the resume token after a
// drop (chaos.go), and follows a cluster's redirects as gameclient.DialJoin does (the same
// loop, gameclient.FollowRedirects, at most gameclient.MaxRedirects hops) on the bot's own
// connections: each hop's connection is dropped and the next node dialed. It returns once
// the bot is seated, with b.url the node that seated it, or with the reason it could not be.
// The previous connection's read loop, if any, must have ended.
func (b *bot) open(ctx context.Context, join protocol.JoinOptions) error {
	ctx, cancel := context.WithTimeout(ctx, b.r.cfg.JoinTimeout)
	defer cancel()
	final, hops, err := gameclient.FollowRedirects(ctx, b.url, join, b.openAt)
	b.redirects.Add(int64(hops))
	if err == nil {
		b.url = final
		b.node.Store(&final)
	}
	return err
}

// openAt dials url, starts the read loop and joins there with join: one hop of open.
func (b *bot) openAt(ctx context.Context, url string, join protocol.JoinOptions) error {
	cfg := &b.r.cfg
	opts := &ws.DialOptions{
		Subprotocols: []string{protocol.SubprotocolV3, protocol.SubprotocolV2, protocol.Subprotocol},
		Metrics:      &b.r.wsm,
		// nil dials the server; set, the simulated path in front of it (netpath.go).
		NetDialContext: b.r.netDial,
	}
	if cfg.Origin != "" {
		opts.Header = map[string][]string{"Origin": {cfg.Origin}}
	}
	if !cfg.Compress {
		opts.Compression.Mode = ws.CompressionDisabled
	}
	c, _, err := ws.Dial(ctx, url, opts)
	if err != nil {
		return err
	}
	p := c.Subprotocol()
	if !slices.Contains(opts.Subprotocols, p) {
		c.CloseNow()
		return fmt.Errorf("loadgen: server agreed to none of %s, %s and %s", protocol.SubprotocolV3, protocol.SubprotocolV2, protocol.Subprotocol)
	}
	b.c, b.v3 = c, p == protocol.SubprotocolV3
	b.joined = make(chan error, 1)
	b.done = make(chan struct{})
	go b.readLoop()

	msg, err := protocol.Marshal([]any{protocol.KindJoin, joinReq, join})
	if err != nil {
		c.CloseNow()
		return err
	}
	if err := c.WriteMessage(ws.MessageBinary, msg); err != nil {
		c.CloseNow()
		return err
	}
	select {
	case err = <-b.joined:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		b.closing.Store(true)
		c.CloseNow()
		<-b.done // the next hop's read loop must not share the bot with this one
		if _, ok := err.(*gameclient.RedirectError); ok {
			b.closing.Store(false) // the next hop's connection is not being closed
		}
		return err
	}
	return nil
}

// readLoop reads until the connection ends; it owns the mirror and the read scratch. It
// stalls when the chaos asks it to (chaos.go), between two messages.
func (b *bot) readLoop() {
	defer close(b.done)
	defer b.stallNotBegun()
	for {
		_, data, err := b.c.ReadMessage()
		if err != nil {
			b.ended(err)
			return
		}
		if err := b.dispatch(data, b.r.mono()); err != nil {
			b.n.protocolErrors.Add(1)
			b.r.errs.add("protocol", err)
			b.closing.Store(true) // counted as a protocol error, not also as a close
			b.lost.Store(true)
			b.c.Close(ws.StatusProtocolError, "malformed server message")
			b.ended(err)
			return
		}
		if d := b.chaos.stallFor.Swap(0); d > 0 {
			b.stall(time.Duration(d))
		}
	}
}

// ended notes the end of the connection: an error unless we were closing it.
func (b *bot) ended(err error) {
	wasUp := b.up.Swap(false)
	select {
	case b.joined <- errNotSeated:
	default:
	}
	if b.r.cfg.Rejoin && !b.closing.Load() {
		if b.rj.active.Load() {
			return // an episode's connection ended: the episode goes on (rejoin.go)
		}
		if wasUp && unplanned(err) {
			b.lose(nil) // the node died or went away: come back (rejoin.go)
			return
		}
	}
	if wasUp && !b.closing.Load() {
		b.lost.Store(true)
		b.r.closes.Add(1)
		b.r.errs.add(b.closeCategory(), err)
	}
}

// dispatch handles one server message.
func (b *bot) dispatch(data []byte, now int64) error {
	r := &b.rd
	r.Reset(data)
	n := r.ArrayLen()
	kind := r.Int()
	if r.Err() != nil || n < 1 {
		return fmt.Errorf("loadgen: message is not [kind, ...]: % x", head(data))
	}
	switch kind {
	case protocol.KindSnapshot:
		switch n {
		case 2: // v1: [18, body]
			return b.onSnapshot(snapMsg{b: r.Rest()}, now) // the mirror checks the body
		case 5, 6, 7: // v2: [18, last_seq, tick, offset, changed[, added[, removed]]]
			s := snapMsg{v2: true, v3: b.v3}
			if s.hasSeq = !r.IsNil(); s.hasSeq {
				seq := r.Uint()
				if r.Err() != nil || seq > math.MaxUint32 {
					return fmt.Errorf("loadgen: malformed v2 snapshot")
				}
				s.seq = uint32(seq)
			}
			s.b = r.Rest()
			return b.onSnapshot(s, now)
		}
		return fmt.Errorf("loadgen: snapshot message of %d elements", n)
	case protocol.KindInputAck:
		seq, tick := r.Int(), r.Int()
		if r.Err() != nil {
			return fmt.Errorf("loadgen: malformed input ack")
		}
		b.beh.inputAck(uint32(seq), uint32(tick))
	case protocol.KindEvent:
		var name []byte
		if r.IsUint() { // v2: the index of a name the join answer listed
			if i := r.Uint(); i < uint64(len(b.evNames)) {
				name = b.evNames[i]
			} else {
				return fmt.Errorf("loadgen: event %d of %d names", i, len(b.evNames))
			}
		} else {
			name = r.Str()
		}
		payload := r.Raw()
		if r.Err() != nil {
			return fmt.Errorf("loadgen: malformed event")
		}
		b.n.events.Add(1)
		b.beh.event(name, payload, now)
	case protocol.KindPong:
		t := r.Float()
		if r.Err() != nil {
			return fmt.Errorf("loadgen: malformed pong")
		}
		b.n.pongs.Add(1)
		if sent := int64(t * 1e6); sent >= b.chaos.stallEnd {
			// A ping sent before the end of a stall was answered in time but read late: its
			// round trip is the stall's, not the network's.
			b.r.recordRTT(now - sent)
		}
	case protocol.KindJoined:
		return b.onJoined(r, n)
	case protocol.KindResponse:
		req, code := r.Int(), r.Int()
		msg := r.Str()
		if r.Err() == nil && req == joinReq {
			select {
			case b.joined <- &joinRefusedError{protocol.Code(code), string(msg)}:
			default:
			}
		}
	case protocol.KindRedirect:
		// [27, req, url, reservation, ttl_ms, room]: the seat is on another node; open follows.
		req, url, resv := r.Int(), r.Str(), r.Str()
		ttl, room := r.Int(), r.Str()
		if r.Err() != nil || n < 6 || len(url) == 0 {
			return fmt.Errorf("loadgen: malformed redirect")
		}
		if req == joinReq {
			select {
			case b.joined <- &gameclient.RedirectError{URL: string(url), Reservation: string(resv), TTL: time.Duration(ttl) * time.Millisecond, Room: string(room)}:
			default:
			}
		}
	case protocol.KindError:
		code := r.Int()
		msg := r.Str()
		b.n.protocolErrors.Add(1)
		b.r.errs.add("protocol", fmt.Errorf("server error %d (%s): %s", code, protocol.Code(code), msg))
	case protocol.KindMoved:
		// [28, url, reservation, ttl_ms, room]: the room's node drains. Without -rejoin the bot
		// ignores it, as before, and the room's end that follows is an unexpected close.
		url, resv := r.Str(), r.Str()
		ttl, room := r.Int(), r.Str()
		if r.Err() != nil || n < 5 {
			return fmt.Errorf("loadgen: malformed moved message")
		}
		if b.r.cfg.Rejoin && len(url) > 0 && len(resv) > 0 && !b.closing.Load() && b.up.Load() {
			b.moved(&gameclient.RedirectError{URL: string(url), Reservation: string(resv), TTL: time.Duration(ttl) * time.Millisecond, Room: string(room)})
		}
	case protocol.KindLeft:
		code := r.Int()
		msg := r.Str()
		if b.r.cfg.Rejoin && protocol.Code(code) == protocol.CodeShutdown && !b.closing.Load() && b.up.Load() && !b.rj.active.Load() {
			// The room ends with its node, and no seat elsewhere came first (0x1C): the
			// seat is gone with it; the episode finds that out by resuming, as the SDK does.
			b.closing.Store(true)
			b.up.Store(false)
			b.lose(nil)
			b.c.CloseNow()
			return nil
		}
		if !b.closing.Load() && b.up.Swap(false) {
			b.lost.Store(true)
			b.r.closes.Add(1)
			b.r.errs.add(b.closeCategory(), fmt.Errorf("left the room: %d (%s): %s", code, protocol.Code(code), msg))
		}
	default:
		// Unknown kinds are ignored: a newer server may send more (PROTOCOL.md).
	}
	return nil
}

// onJoined reads [17, req, room, player, token, tick, tick_rate, snapshot_rate, code,
// schema, events].
func (b *bot) onJoined(r *protocol.Reader, n int) error {
	if n < 8 {
		return fmt.Errorf("loadgen: joined message of %d elements", n)
	}
	r.Int() // req
	room := r.Str()
	player := r.Int()
	token := r.Str()
	r.Skip() // tick
	tickRate, snapRate := r.Int(), r.Int()
	if n > 10 {
		r.Skip()                  // code
		r.Skip()                  // schema
		b.evNames = b.evNames[:0] // the names v2 events are sent by index of
		for range r.ArrayLen() {
			b.evNames = append(b.evNames, bytes.Clone(r.Str()))
		}
	}
	if r.Err() != nil {
		return fmt.Errorf("loadgen: malformed joined message")
	}
	b.token = string(token) // a new one after every resume: only the latest keeps working
	if b.beh != nil {
		// A resume (PROTOCOL.md, "Sessions"): the same seat, the same player id.
		if uint32(player) != b.player || string(room) != b.room {
			return fmt.Errorf("loadgen: resumed as player %d in room %q, was %d in %q", player, room, b.player, b.room)
		}
		b.up.Store(true)
		b.joined <- nil
		return nil
	}
	b.room, b.player = string(room), uint32(player)
	b.tickRate, b.snapshotRate = int(tickRate), int(snapRate)
	if b.r.cfg.Mirror {
		// Made once, at the first join: a resumed bot keeps its mirror, and the server
		// starts the new connection with a full snapshot, which it applies over what it had.
		b.mirror = state.NewMirror(mirrorRing(b.r.cfg.MirrorRing, b.snapshotRate))
	}
	b.known = protocol.SeqHistory{} // the new connection's seqs count from its full snapshot
	b.beh = b.r.game.newBehavior(b)
	_, b.ackOnInput = b.beh.(inputAcker)
	b.up.Store(true)
	b.joined <- nil
	return nil
}

// inputAcker is a behavior whose step sends an input every time (once it has seen a
// snapshot): its inputs carry the snapshot acknowledgements.
type inputAcker interface {
	behavior
	acksOnInputs()
}

// errBaselineMiss is returned by a behavior that cannot apply a delta because it no longer
// holds its baseline (only without a mirror to rebuild from).
var errBaselineMiss = errors.New("loadgen: delta against a baseline no longer held")

// onSnapshot applies a snapshot to the mirror, lets the behavior read it and acknowledges it.
func (b *bot) onSnapshot(s snapMsg, now int64) error {
	if b.beh == nil {
		return fmt.Errorf("loadgen: snapshot before joined")
	}
	r := &b.rd
	tick, baseline := s.header(r)
	known, haveKnown := b.known.At(baseline)
	if s.hasSeq && haveKnown && r.Err() == nil {
		// The input acknowledgement it carries, as [19, seq, tick] before it would: the
		// difference from the seq known at its baseline.
		known += s.seq
		b.beh.inputAck(known, tick)
	}
	if b.mirror != nil {
		var err error
		switch { // it checks everything, the header included
		case s.v3:
			_, err = b.mirror.ApplyV3(s.b)
		case s.v2:
			_, err = b.mirror.ApplyV2(s.b)
		default:
			_, err = b.mirror.Apply(s.b)
		}
		switch {
		case errors.Is(err, state.ErrUnknownBaseline):
			return b.baselineMiss(baseline, now)
		case err != nil:
			return fmt.Errorf("loadgen: snapshot: %w", err)
		}
	} else if r.Err() != nil || tick <= b.lastTick {
		// Without a mirror, check what it would check first: the tick, in order.
		return fmt.Errorf("loadgen: snapshot of tick %d after tick %d", tick, b.lastTick)
	}
	switch err := b.beh.snapshot(s, now); {
	case errors.Is(err, errBaselineMiss):
		return b.baselineMiss(baseline, now)
	case err != nil:
		return err
	}
	b.lastTick = tick
	b.known.Add(tick, known)
	if baseline == 0 {
		b.resetAt = 0 // the full snapshot asked for, if one was
	}
	if b.firstSnap.Load() == 0 {
		b.firstSnap.Store(now)
	}
	if b.chaos.resumeAt != 0 {
		b.r.chaos.latency.Record((now - b.chaos.resumeAt) / 1e3)
		b.chaos.resumeAt = 0
	}
	b.n.snapshots.Add(1)
	if b.r.cfg.Rejoin {
		b.backNow(now)
	}
	if !b.ackOnInput && b.r.cfg.AckEvery > 0 && b.ackedAt != 0 && now-b.ackedAt < int64(b.r.cfg.AckEvery) {
		return nil // a later snapshot's acknowledgement covers this one
	}
	b.ackedAt = now
	return b.acknowledge(tick)
}

// moved follows a draining node's 0x1C (read loop, with -rejoin): leave the room, as the
// SDK does (it ends anyway), let go of this connection, and take the seat at move.URL.
func (b *bot) moved(move *gameclient.RedirectError) {
	b.closing.Store(true) // its end is ours now: neither an error nor a loss
	b.up.Store(false)
	p := protocol.AppendUint(protocol.AppendArray(b.readBuf[:0], 1), protocol.KindLeave)
	b.readBuf = p
	_ = b.c.WriteMessage(ws.MessageBinary, p)
	b.lose(move)
	b.c.CloseNow()
}

// mirrorRing is how many states a bot's mirror keeps: n, or with n 0 a second of snapshots
// and two more. The server sends snapshots up to its acknowledgement window ahead of a
// client's acknowledgements (RoomConfig.AckWindow, 1 s by default), each a delta against the
// latest acknowledged tick, so a mirror that keeps fewer drops deltas whose baselines it has
// let go when the bot falls behind, as a starved browser would not (the SDK keeps 128). It
// is 16 at least, the states PROTOCOL.md asks a client to keep for a second baseline.
func mirrorRing(n, snapshotRate int) int {
	if n > 0 {
		return n
	}
	return max(16, snapshotRate+2)
}

// resetIntervals is how many snapshot intervals a bot waits after [4, 0] for the full
// snapshot before it may ask again (each ask costs the server a full snapshot; deltas
// against the lost baseline keep coming until the server has read it).
const resetIntervals = 4

// baselineMiss handles a delta against a baseline tick we do not hold (PROTOCOL.md,
// "Recovering a lost baseline"): the snapshot is dropped. A baseline at or below the
// latest tick applied means the server encodes against an older acknowledgement than our
// latest (the mirror let that state go, or our acknowledgement is on its way): acknowledge
// the latest tick again, once. A baseline above it means the server believes we hold a
// state we never applied, which no acknowledgement can mend: send [4, 0] for a full
// snapshot, once, then again only if none came within resetIntervals snapshot intervals.
func (b *bot) baselineMiss(baseline uint32, now int64) error {
	b.n.baselineMisses.Add(1)
	if baseline <= b.lastTick {
		if b.lastTick <= b.reacked {
			return nil // acknowledged again already
		}
		b.reacked = b.lastTick
		return b.acknowledge(b.lastTick)
	}
	rate := int64(b.snapshotRate)
	if rate <= 0 {
		rate = 10
	}
	if b.resetAt != 0 && now-b.resetAt < resetIntervals*int64(time.Second)/rate {
		return nil // asked already: the full snapshot is on its way
	}
	b.resetAt, b.reacked = max(now, 1), 0
	b.n.baselineResets.Add(1)
	p := protocol.AppendUint(protocol.AppendUint(protocol.AppendArray(b.readBuf[:0], 2), protocol.KindAck), 0)
	b.readBuf = p
	_ = b.c.WriteMessage(ws.MessageBinary, p) // a failed write ends the connection: the read loop sees it
	return nil
}

// acknowledge has tick acknowledged: by the next input, or at once with [4, tick].
func (b *bot) acknowledge(tick uint32) error {
	if tick == 0 {
		return nil
	}
	if b.ackOnInput {
		b.unacked.Store(tick)
		return nil
	}
	p := protocol.AppendUint(protocol.AppendUint(protocol.AppendArray(b.readBuf[:0], 2), protocol.KindAck), uint64(tick))
	b.readBuf = p
	_ = b.c.WriteMessage(ws.MessageBinary, p) // a failed write ends the connection: the read loop sees it
	return nil
}

// tick runs one scheduler step: a ping when due, then the behavior's step.
func (b *bot) tick(now int64) {
	if b.r.cfg.Rejoin {
		b.rj.step.Lock() // an episode replaces the connection only between steps (rejoin.go)
		defer b.rj.step.Unlock()
	}
	if !b.up.Load() {
		return
	}
	if b.r.cfg.ChaosEvery > 0 && b.chaosStep(now) {
		return // dropped: the bot is down until it resumes
	}
	if b.nextPing == 0 {
		// The first ping at a random point of the interval, so that pings spread evenly.
		b.nextPing = now + b.rng.Int64N(int64(b.r.cfg.PingEvery)+1)
	}
	if now >= b.nextPing {
		b.nextPing = now + int64(b.r.cfg.PingEvery)
		// [6, client_time]: our clock in ms, echoed by the pong; read now rather than at the
		// start of the shard's round, which may be a little earlier.
		p := protocol.AppendFloat64(protocol.AppendUint(protocol.AppendArray(b.stepBuf[:0], 2), protocol.KindPing), float64(b.r.mono())/1e6)
		b.stepBuf = p
		b.stepWrite(p)
	}
	pending := b.unacked.Load()
	if now >= b.chaos.pauseUntil {
		b.beh.step(now)
	}
	// A tick that was waiting before the step and that the step's input did not take (it
	// sent none) goes alone now; a newer one, arrived meanwhile, waits for the next step.
	if pending != 0 && b.unacked.CompareAndSwap(pending, 0) {
		p := protocol.AppendUint(protocol.AppendUint(protocol.AppendArray(b.stepBuf[:0], 2), protocol.KindAck), uint64(pending))
		b.stepBuf = p
		b.stepWrite(p)
	}
}

// stepWrite sends a message the scheduler's step made: through the shard's batch, so that
// one io_uring_enter(2) sends up to 64 bots' inputs (ws.Batch; bench/floor measured half
// the sending thread's CPU of a write(2) each), else at once. Either way the message goes
// alone, in order with the bot's others, as the browser SDK sends it. A failed write ends
// the connection, which the read loop sees.
func (b *bot) stepWrite(p []byte) {
	if b.out != nil {
		_ = b.out.WriteMessage(b.c, ws.MessageBinary, p)
		return
	}
	_ = b.c.WriteMessage(ws.MessageBinary, p)
}

// beginInput numbers the next input and returns the scheduler's scratch holding the start
// of [3, seq, input] (or of [3, seq, input, tick], taking the tick waiting to be
// acknowledged, or of [3, seq, input, tick_or_nil, view] when view, the snapshot tick the
// bot aims at, is not 0); the behavior appends its input and passes the result to
// sendInput.
func (b *bot) beginInput(view uint32) []byte {
	b.seq++
	b.inputAck = b.unacked.Swap(0)
	b.inputView = view
	n := 3
	switch {
	case view != 0:
		n = 5
	case b.inputAck != 0:
		n = 4
	}
	p := protocol.AppendUint(protocol.AppendUint(protocol.AppendArray(b.stepBuf[:0], n), protocol.KindInput), uint64(b.seq))
	b.inputAt = len(p)
	return p
}

// sendInput writes the message beginInput started, with its acknowledgement and view: one
// snapshot as it was, [tick, 0, 0].
func (b *bot) sendInput(p []byte) {
	if b.r.cfg.InputBatch > 1 {
		b.batchInput(p[b.inputAt:])
		return
	}
	switch {
	case b.inputAck != 0:
		p = protocol.AppendUint(p, uint64(b.inputAck))
	case b.inputView != 0:
		p = append(p, 0xc0) // nil: no acknowledgement, a view follows
	}
	if b.inputView != 0 {
		p = protocol.AppendUint(protocol.AppendUint(protocol.AppendUint(protocol.AppendArray(p, 3), uint64(b.inputView)), 0), 0)
	}
	b.stepBuf = p
	b.n.inputs.Add(1)
	b.stepWrite(p)
}

// shutdown leaves the room and closes the connection normally.
func (b *bot) shutdown() {
	if b.c == nil {
		return
	}
	b.closing.Store(true)
	b.up.Store(false)
	var p [2]byte
	_ = b.c.WriteMessage(ws.MessageBinary, protocol.AppendUint(protocol.AppendArray(p[:0], 1), protocol.KindLeave))
	_ = b.c.Close(ws.StatusNormalClosure, "load test over")
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
	}
}

// head is the start of a message, for error texts.
func head(b []byte) []byte { return b[:min(len(b), 16)] }
