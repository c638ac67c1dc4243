package engine

import (
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lithammer/shortuuid/v4"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// sim is the typed half of a room, implemented by Room[I]; roomCore drives it.
type sim interface {
	start() error
	join(p *Player) error
	drop(p *Player)
	rejoin(p *Player)
	leave(p *Player, why LeaveReason)
	// forgetInputs drops p's queued inputs (a seat taken over by a new connection).
	forgetInputs(p *Player)
	// pushInput decodes one input on the connection's goroutine and queues it for the tick:
	// raw holds the input (and whatever follows it in the message), dec is positioned at
	// its start. scratch is the caller's reusable decoding space, so that decoding does not
	// allocate.
	pushInput(p *Player, seq uint32, view state.View, raw []byte, dec *msgpack.Decoder, scratch *any) error
	update()
	snapshot(b *state.Builder)
	view(p *Player) (state.ViewKey, state.Filter)
	request(p *Player, name string, payload msgpack.RawMessage) (any, error)
	terminate(why EndReason)
	// marshalState and restoreState move a room with its state, for a Movable game
	// (cluster_move.go); ok is false for a game that is not one.
	marshalState() (state []byte, ok bool, err error)
	restoreState(state []byte, players []*Player) error
}

type cmdKind int

const (
	cmdJoin cmdKind = iota
	cmdRejoin
	cmdDrop
	cmdLeave
	cmdKick
	cmdRequest
	cmdSeatReleased // a reservation ended or was made: republish the room's free seats
	cmdReserve      // another node of the cluster asks for seats (seats)
	cmdPlayers      // the connected players' sessions, for Drain (players)
)

// command is something a connection asks of the room; the room handles it at its next tick.
type command struct {
	kind    cmdKind
	conn    *ws.Conn
	player  *Player
	req     uint64
	name    string
	payload msgpack.RawMessage
	why     LeaveReason
	reply   chan joinResult
	session string // the joining connection's id (reservations are held by it)
	token   string // the resume token a rejoin was made with
	claimed bool   // the joiner took a reserved seat, already counted against capacity
	quick   bool   // quick play handed out this seat and counts it (Engine.joining)
	seats   *seatAsk
	export  chan roomExport
	origin  string // a claimed join: the session id the reservation was made for
}

type joinResult struct {
	player *Player
	err    *Error
}

// RoomInfo describes a room for listings.
type RoomInfo struct {
	ID   string
	Game string
	// Players are the players connected now.
	Players int
	// Held are the seats taken by no one connected: players who dropped, within their
	// grace period (RoomConfig.Grace), and seats reserved for matched players who have not
	// joined yet. Players + Held seats are taken; the rest are free.
	Held       int
	MaxPlayers int
	Locked     bool
	Private    bool
	Metadata   map[string]string
	Code       string // join code, for a private room
}

// roomCore is the untyped machinery of a room: its loop, its seats, its snapshot pipeline.
type roomCore struct {
	e     *Engine
	id    string
	game  string
	cfg   RoomConfig
	clock Clock
	timer *time.Timer // the tick loop's, reused (realClock.sleepWith)
	log   *slog.Logger
	sim   sim

	stop     chan struct{} // closed to end the room
	stopOnce sync.Once
	stopWhy  atomic.Pointer[EndReason]
	finished chan struct{} // closed when the loop has exited

	mu   sync.Mutex
	cmds []command
	work []command     // the loop's swap buffer
	wake chan struct{} // while the room sleeps: closed by enqueue and requestStop

	code       string        // join code of a private room
	created    CreateOptions // as given, Metadata copied (Room.CreateOptions)
	info       atomic.Pointer[RoomInfo]
	publicTick atomic.Uint32 // rc.tick, for other goroutines (pongs)
	// emptyWarned is the game's (registration.emptyWarned): an empty snapshot is logged
	// once per game, not per room. nil for rooms built by hand in tests.
	emptyWarned *atomic.Bool
	// schema and schemaWarned are the game's (registration): the encoded schema for the
	// join answer (nil: none) and the kinds whose mismatch was logged. schemaWarned is nil
	// for rooms built by hand in tests.
	schema       msgpack.RawMessage
	schemaWarned *kindSet
	events       msgpack.RawMessage // the game's event names (registration.events)
	eventIndex   map[string]uint8

	// Owned by the room goroutine.
	players []*Player
	away    int // players in rc.players whose connection dropped (within their grace period)
	// seatedClaims is how many of rc.players took a claimed reservation: the claimed seats
	// beyond it belong to joins on their way to the room (see reservedSeats).
	seatedClaims int
	// movedIn, set before run for a room moving in from another node, is restored after
	// Start; arriving are its players not back yet, by the session id their seat was reserved
	// for (cluster_move.go).
	movedIn    *movedRoom
	arriving   map[string]*Player
	nextID     uint32
	tick       uint32
	sched      schedule
	ring       *state.Ring
	frames     *state.FrameCache[*ws.PreparedMessage]
	made       []*ws.PreparedMessage // the tick's snapshot frames, released once written
	buf        []byte
	sends      []snapshotSend // sendSnapshots' per-player writes, reused
	leads      []byte         // the input acknowledgements those writes lead with
	batches    []ws.Batch     // the writes' batches, one per goroutine writing, reused
	bcast      []*ws.Conn     // Room.Broadcast's reusable list of recipients
	bcastNamed []*ws.Conn     // and of those who get the event's name, not its index
	locked     bool
	private    bool
	metadata   map[string]string
	emptySince time.Duration
	ended      bool
	endedWhy   EndReason
	stats      *RoomStats
}

func newRoomCore(e *Engine, game string, cfg RoomConfig, opts CreateOptions) *roomCore {
	rc := &roomCore{
		e:        e,
		id:       shortuuid.New(),
		game:     game,
		cfg:      cfg,
		clock:    e.clock,
		stop:     make(chan struct{}),
		finished: make(chan struct{}),
		ring:     state.NewRing(cfg.SnapshotHistory),
		frames:   state.NewFrameCache[*ws.PreparedMessage](cfg.FrameCacheSize),
		private:  opts.Private,
		metadata: copyMeta(opts.Metadata),
		created:  CreateOptions{Private: opts.Private, Metadata: copyMeta(opts.Metadata)},
		nextID:   1,
		stats:    newRoomStats(),
	}
	rc.log = e.log.With("room", rc.id, "game", game)
	if cfg.Schema != nil {
		rc.ring.Builder().CheckSchema(cfg.Schema)
	}
	return rc
}

func copyMeta(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// publishInfo makes the room's listing data visible to other goroutines: after every change
// of its seats (a join, a leave, a drop, a resume, a reservation made or ended), its lock or
// its metadata.
func (rc *roomCore) publishInfo() {
	info := &RoomInfo{
		ID: rc.id, Game: rc.game, Players: len(rc.players) - rc.away, Held: rc.away + rc.reservedSeats(),
		MaxPlayers: rc.cfg.MaxPlayers, Locked: rc.locked, Private: rc.private,
		Metadata: copyMeta(rc.metadata), Code: rc.code,
	}
	rc.info.Store(info)
	if !rc.ended {
		en := rc.entry(info)
		rc.e.lobby.dir.Update(en)
		if rc.e.cl != nil {
			rc.e.cl.touch(en)
		}
	}
}

// reservedSeats is how many seats of the room reservations hold for players not in
// rc.players: those reserved and not yet claimed, and those claimed whose join is on its way
// (the session claims the token, then queues the join). Without the second kind, a claimed
// seat would look free from the claim until the join's step, and a quick player or another
// node's reservation taking it would leave the claimant refused "full".
func (rc *roomCore) reservedSeats() int {
	pending, claimed := rc.e.lobby.res.Count(rc.id)
	return pending + max(claimed-rc.seatedClaims, 0)
}

// enqueue hands a command to the room; false when the room has ended.
func (rc *roomCore) enqueue(c command) bool {
	select {
	case <-rc.finished:
		return false
	default:
	}
	rc.mu.Lock()
	rc.cmds = append(rc.cmds, c)
	rc.wakeLocked()
	rc.mu.Unlock()
	return true
}

// wakeLocked wakes the room if it sleeps; rc.mu is held.
func (rc *roomCore) wakeLocked() {
	if rc.wake != nil {
		close(rc.wake)
		rc.wake = nil
	}
}

// sleepUntil waits for the next tick like rc.clock.SleepUntil, with one timer for the room's
// life when the clock is the real one.
func (rc *roomCore) sleepUntil(t time.Duration, done <-chan struct{}) bool {
	if c, ok := rc.clock.(realClock); ok {
		return c.sleepWith(&rc.timer, t, done)
	}
	return rc.clock.SleepUntil(t, done)
}

// requestStop ends the room at its next tick.
func (rc *roomCore) requestStop(why EndReason) {
	rc.stopWhy.CompareAndSwap(nil, &why)
	rc.stopOnce.Do(func() { close(rc.stop) })
	rc.mu.Lock()
	rc.wakeLocked()
	rc.mu.Unlock()
}

// asleep reports whether the room may sleep instead of ticking: nobody holds a seat and the
// game did not ask to tick when empty.
func (rc *roomCore) asleep() bool {
	return len(rc.players) == 0 && !rc.cfg.TickWhenEmpty
}

// sleep parks an empty room until a command arrives (a join, a reservation's end), it is
// stopped, or its EmptyTimeout is up, and reports whether it should go on ticking (false:
// it is stopping). Meanwhile it runs no tick and holds no snapshot history or frames: an
// empty room costs its structs and a parked goroutine, not 60 game updates a second.
//
// When it wakes, its schedule resumes from where it stopped: the next tick is due at once
// and numbered one after the last, as if the time asleep had not passed. So the game's
// tick numbers stay consecutive (Update's "one fixed step" holds, timers counted in ticks
// are paused rather than fired all at once), and the time asleep is neither lateness nor
// skipped ticks in the stats and metrics.
func (rc *roomCore) sleep() bool {
	rc.mu.Lock()
	if len(rc.cmds) > 0 {
		rc.mu.Unlock()
		return true
	}
	wake := make(chan struct{})
	rc.wake = wake
	rc.mu.Unlock()
	rc.release()
	rc.e.metrics.RoomsAsleep.Add(1)
	if rc.cfg.EmptyTimeout < 0 {
		<-wake // no deadline: a clock's SleepUntil would need one
	} else {
		rc.clock.SleepUntil(rc.emptySince+rc.cfg.EmptyTimeout, wake)
	}
	rc.e.metrics.RoomsAsleep.Add(-1)
	rc.mu.Lock()
	if rc.wake == wake {
		rc.wake = nil
	}
	rc.mu.Unlock()
	select {
	case <-rc.stop:
		return false
	default:
	}
	rc.sched.resume(rc.clock.Now())
	return true
}

// release lets go of what only players need: the snapshot history (their baselines), the
// encoded frames and the send buffers. They grow again when someone joins.
func (rc *roomCore) release() {
	rc.ring.Reset()
	rc.frames.Clear()
	rc.buf, rc.sends, rc.leads, rc.bcast = nil, nil, nil, nil
}

// run is the room's goroutine: a fixed-step loop at cfg.TickRate.
func (rc *roomCore) run() {
	defer close(rc.finished)
	if err := rc.guard(rc.sim.start); err != nil {
		rc.end(EndReason{Code: CodeInternal, Message: "the room failed to start"})
		return
	}
	if m := rc.movedIn; m != nil {
		rc.movedIn = nil
		if err := rc.restore(m); err != nil {
			rc.end(EndReason{Code: CodeInternal, Message: "the moved room could not be restored"})
			return
		}
	}
	// The first tick falls on the room's phase (roomsPerPhase), and so do the rest.
	dt := rc.cfg.dt()
	g := rc.e.takePhase(dt)
	defer rc.e.dropPhase(dt, g)
	now := rc.clock.Now()
	rc.sched = schedule{t0: now + untilOffset(now, dt, phaseOffset(dt, g)), dt: dt, maxCatchUp: int64(rc.cfg.MaxCatchUp)}
	rc.emptySince = rc.clock.Now()
	for !rc.ended {
		if (rc.asleep() && !rc.sleep()) || !rc.sleepUntil(rc.sched.due(), rc.stop) {
			// Stopping: one last tick so that every input a client saw accepted is applied
			// and acknowledged, then goodbye.
			rc.step(true)
			if !rc.ended {
				rc.end(*rc.stopWhy.Load())
			}
			return
		}
		late := rc.sched.woke(rc.clock.Now())
		rc.stats.record(late)
		rc.e.metrics.observeLateness(late)
		rc.step(false)
		rc.sched.ran()
	}
}

// guard runs game code, turning a panic into an error after logging it with its stack.
func (rc *roomCore) guard(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			rc.e.metrics.Panics.Add(1)
			rc.log.Error("game code panicked; ending the room", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return fn()
}

// step is one tick: commands, inputs and Update, seat timers, and the snapshot when due (or
// when this is the room's final tick, so that the last inputs are acknowledged).
func (rc *roomCore) step(final bool) {
	rc.pull()
	err := rc.guard(func() error {
		rc.tick++
		rc.publicTick.Store(rc.tick)
		rc.handleCommands()
		rc.sim.update()
		rc.expireSeats()
		if final || rc.tick%uint32(rc.cfg.snapshotEvery()) == 0 {
			rc.sendSnapshots(final)
		}
		return nil
	})
	if err != nil && !rc.ended {
		rc.end(EndReason{Code: CodeInternal, Message: "the game failed and the room ended"})
		return
	}
	if !rc.ended && len(rc.players) == 0 && rc.cfg.EmptyTimeout >= 0 && rc.clock.Now()-rc.emptySince >= rc.cfg.EmptyTimeout {
		rc.end(EndReason{Code: CodeRoomEnded, Message: "room empty"})
	}
}

// pullMax bounds the messages a room reads from one player at one tick (RoomConfig.ReadAtTick):
// the rest wait in the socket for the next tick, so a flooding client delays itself, not the
// room. An honest client sends one input or two a tick, a few more after a stall.
const pullMax = 32

// readAtTick makes c, a player's connection just seated, read at the room's ticks when the
// room's config asks for it.
func (rc *roomCore) readAtTick(c *ws.Conn) {
	if rc.cfg.ReadAtTick {
		c.SetPulled(true)
	}
}

// pull reads what the connected players sent since the last tick, before the tick's
// commands and inputs are taken (RoomConfig.ReadAtTick). The sessions handle the messages
// here, on the room goroutine, as they would on the connections': inputs go to the room's
// queue, a leave or a request to its commands.
func (rc *roomCore) pull() {
	if !rc.cfg.ReadAtTick {
		return
	}
	for _, p := range rc.players {
		if c := p.conn.Load(); c != nil {
			c.Pull(pullMax)
		}
	}
}

func (rc *roomCore) handleCommands() {
	rc.mu.Lock()
	rc.work, rc.cmds = rc.cmds, rc.work[:0]
	rc.mu.Unlock()
	for i := range rc.work {
		c := &rc.work[i]
		switch c.kind {
		case cmdJoin:
			rc.handleJoin(c)
		case cmdRejoin:
			rc.handleRejoin(c)
		case cmdDrop:
			rc.handleDrop(c)
		case cmdLeave, cmdKick:
			rc.removePlayer(c.player, c.why)
		case cmdRequest:
			rc.handleRequest(c)
		case cmdSeatReleased:
			rc.notArriving(c.name)
			rc.publishInfo()
		case cmdReserve:
			rc.handleReserve(c)
		case cmdPlayers:
			c.export <- rc.export()
		}
		*c = command{}
	}
}

func (rc *roomCore) handleJoin(c *command) {
	if c.quick {
		// Quick play counts the seat it handed out as taken until the join is answered. The
		// room releases that count and publishes its new player count in one step, under
		// quickMu: released after publishing, a quick play in between would count the seat
		// twice and open a needless room; released before, it would hand out a seat twice.
		// (Rooms that wake at once on a join made that window common.)
		rc.e.quickMu.Lock()
		defer func() { rc.e.releaseJoining(rc); rc.e.quickMu.Unlock() }()
	}
	fail := func(code Code, msg string) { c.reply <- joinResult{err: &Error{Code: code, Message: msg}} }
	switch {
	case rc.ended:
		fail(CodeRoomEnded, "the room has ended")
		return
	case rc.locked && !c.claimed:
		fail(CodeLocked, "the room is locked")
		return
	case c.claimed && rc.arrive(c.origin, c):
		return // a player of a moved room, back in its seat (cluster_move.go)
	case len(rc.players) >= rc.cfg.MaxPlayers:
		fail(CodeFull, fmt.Sprintf("the room is full (%d players)", rc.cfg.MaxPlayers))
		return
	}
	if !c.claimed && len(rc.players)+rc.reservedSeats() >= rc.cfg.MaxPlayers {
		fail(CodeFull, "the free seats are reserved for matched players")
		return
	}
	p := &Player{ID: rc.nextID, Meta: c.payload, token: rc.e.newID(), room: rc, session: c.session, claimed: c.claimed}
	rc.nextID++
	p.conn.Store(c.conn)
	if err := rc.sim.join(p); err != nil {
		e := asError(err, CodeRefused)
		fail(e.Code, e.Message)
		return
	}
	rc.players = append(rc.players, p)
	rc.readAtTick(c.conn)
	if p.claimed {
		rc.seatedClaims++
	}
	rc.e.sessions.add(p)
	rc.e.metrics.Players.Add(1)
	rc.publishInfo()
	rc.sendJoined(p, c.req)
	c.reply <- joinResult{player: p}
}

func (rc *roomCore) handleRejoin(c *command) {
	p := c.player
	if p.left || rc.ended {
		c.reply <- joinResult{err: &Error{Code: CodeNotFound, Message: "the seat is no longer held"}}
		return
	}
	if c.token != p.token && c.token != p.prevToken {
		// Two resumes with the same token raced and the other came first: this one's token
		// died with that rotation.
		c.reply <- joinResult{err: &Error{Code: CodeNotFound, Message: "unknown or expired resume token"}}
		return
	}
	rc.e.sessions.rotate(p, c.token, rc.e.newID())
	if old := p.conn.Swap(c.conn); old != nil && old != c.conn {
		old.SetPulled(false)
		go old.Close(ws.StatusPolicyViolation, "replaced by a newer connection of the same player")
	}
	rc.readAtTick(c.conn)
	wasDropped := p.dropped
	p.dropped = false
	p.ackTick.Store(0) // the new connection starts from a full snapshot
	p.forgetSent(rc.ring)
	// Input numbering is per connection: a client numbers from 1 again after resuming. Inputs
	// still queued from the old connection are dropped with it, and last_seq starts over, or
	// the acknowledgement of the old connection's highest seq would discard the new one's
	// pending inputs on the client until its numbering caught up.
	rc.sim.forgetInputs(p)
	p.lastSeq = 0
	if wasDropped {
		rc.away--
		rc.e.metrics.PlayersAway.Add(-1)
		rc.publishInfo()
		rc.sim.rejoin(p)
	}
	rc.sendJoined(p, c.req)
	c.reply <- joinResult{player: p}
}

func (rc *roomCore) handleDrop(c *command) {
	p := c.player
	if p.left || !p.conn.CompareAndSwap(c.conn, nil) {
		return // already gone, or a newer connection took over
	}
	p.dropped = true
	p.graceEnds = rc.clock.Now() + rc.cfg.Grace
	p.forgetSent(rc.ring) // a resume starts from a full snapshot: nothing to hold for it
	rc.away++
	rc.e.metrics.PlayersAway.Add(1)
	rc.publishInfo()
	rc.sim.drop(p)
}

func (rc *roomCore) expireSeats() {
	now := rc.clock.Now()
	for i := 0; i < len(rc.players); i++ {
		if p := rc.players[i]; p.dropped && now >= p.graceEnds {
			rc.removePlayer(p, LeftTimeout)
			i--
		}
	}
}

// removePlayer releases a seat for good.
func (rc *roomCore) removePlayer(p *Player, why LeaveReason) {
	if p.left {
		return
	}
	idx := -1
	for i, q := range rc.players {
		if q == p {
			idx = i
		}
	}
	if idx < 0 {
		return
	}
	rc.players = append(rc.players[:idx], rc.players[idx+1:]...)
	if p.claimed {
		rc.seatedClaims-- // and its seat is released below, in the same step
	}
	p.left = true
	p.forgetSent(rc.ring)
	rc.e.sessions.remove(p)
	rc.e.metrics.Players.Add(-1)
	if p.dropped {
		rc.away--
		rc.e.metrics.PlayersAway.Add(-1)
	}
	if len(rc.players) == 0 {
		rc.emptySince = rc.clock.Now()
	}
	rc.publishInfo()
	rc.sim.leave(p, why)
	rc.e.lobby.res.Release(p.session)
	if c := p.conn.Swap(nil); c != nil {
		c.SetPulled(false) // the session reads on, in the lobby
		code := CodeOK
		if why == LeftKicked {
			code = CodeRoomEnded
		}
		rc.e.writeMsg(c, KindLeft, uint64(code), why.String())
	}
}

func (rc *roomCore) handleRequest(c *command) {
	p := c.player
	p.requests.Add(-1)
	if p.left {
		return
	}
	res, err := rc.sim.request(p, c.name, c.payload)
	conn := p.conn.Load()
	if conn == nil {
		return
	}
	if err != nil {
		e := asError(err, CodeBadRequest)
		rc.e.writeMsg(conn, KindResponse, c.req, uint64(e.Code), e.Message)
		return
	}
	rc.e.writeMsg(conn, KindResponse, c.req, uint64(CodeOK), res)
}

// checkSchema logs the entities of the snapshot being built whose number of fields differs
// from the schema, once per game and kind. Without a schema there are none.
func (rc *roomCore) checkSchema(b *state.Builder) {
	for _, m := range b.Mismatches() {
		if rc.schemaWarned == nil || rc.schemaWarned.add(m.Kind) {
			rc.log.Error("an entity does not match RoomConfig.Schema: clients read its fields under the wrong names (an AppendFields that writes more or fewer fields than its kind declares, or a kind not declared); logged once per game and kind",
				"entity", uint32(m.ID), "kind", m.Kind, "fields", m.Fields, "declared", m.Want, "tick", rc.tick)
		}
	}
}

func (rc *roomCore) sendJoined(p *Player, req uint64) {
	conn := p.conn.Load()
	if conn == nil {
		return
	}
	p.namesOn = conn
	// [17, req, room, player, token, tick, tick_rate, snapshot_rate, code, schema, events],
	// the last two when the game declares them (events: the names v2 events name by index).
	msg := []any{req, rc.id, uint64(p.ID), p.token, uint64(rc.tick), uint64(rc.cfg.TickRate), uint64(rc.cfg.SnapshotRate), rc.code}
	if rc.schema != nil {
		msg = append(msg, rc.schema)
	}
	if rc.events != nil {
		msg = append(msg, rc.events)
	}
	rc.e.writeMsg(conn, KindJoined, msg...)
}

// sendSnapshots records the world and sends each connected player a delta against the tick it
// acknowledged. Players with the same view and baseline share one encoded, compressed frame.
// With no player connected it does nothing, not even the game's Snapshot: no one would
// receive it, and a player who connects later starts from a full snapshot anyway.
func (rc *roomCore) sendSnapshots(final bool) {
	if !rc.anyConnected() {
		return
	}
	tick := state.Tick(rc.tick)
	b := rc.ring.Builder()
	b.Begin(tick)
	rc.sim.snapshot(b)
	rc.checkSchema(b)
	snap := b.Finish()
	if snap.Len() == 0 && rc.emptyWarned != nil && rc.emptyWarned.CompareAndSwap(false, true) {
		// Most often a Snapshot that forgets b.Add: the game runs and its players see
		// nothing, which nobody notices without a word. Once per game: a game whose world
		// is empty at times would otherwise say it in every room.
		rc.log.Warn("the game's Snapshot added no entity while players are connected: they see an empty world (a Snapshot that never calls b.Add?); logged once per game",
			"tick", rc.tick, "players", len(rc.players))
	}
	rc.ring.Push(snap)
	for _, p := range rc.players {
		conn := p.conn.Load()
		if conn == nil {
			continue
		}
		if p.prevToken != "" && p.baseline() != 0 {
			// The client acknowledged a snapshot on the connection that resumed, so it has
			// the 0x11 that went before it, and the new token: the one it resumed with dies.
			rc.e.sessions.confirm(p)
		}
		key, filter := rc.sim.view(p)
		base := rc.baseline(p, key)
		if p.behind(tick, rc.cfg.ackWindow()) {
			rc.e.metrics.SnapshotsHeld.Add(1)
			if final && p.lastSeq != 0 && rc.inputAckDue(p, conn, tick) {
				// No later snapshot will carry it: the room's last tick acknowledges the
				// inputs it applied even to a client too far behind for its snapshot (one
				// that has not yet acknowledged its first, say).
				rc.e.writeMsg(conn, KindInputAck, uint64(p.lastSeq), uint64(rc.tick))
			}
			continue
		}
		p.noteSent(rc.ring, snap, key)
		v2, v3 := snapshotWire(conn)
		var prev *state.Snapshot
		if v2 {
			prev = rc.secondBaseline(p, key, base)
		}
		fk := state.FrameKey{View: key, Baseline: tickOf(base), Baseline2: tickOf(prev), Tick: tick, V2: v2, V3: v3 && prev != nil}
		pm, ok := rc.frames.Get(fk)
		if !ok {
			if v2 {
				rc.buf = appendV2Snapshot(rc.buf[:0], prev, base, filter, snap, fk.V3)
			} else {
				rc.buf = append(rc.buf[:0], 0x92, KindSnapshot) // [18, body]
				rc.buf = state.AppendDelta(rc.buf, base, snap, filter)
			}
			pm, _ = ws.NewPreparedMessage(ws.MessageBinary, rc.buf)
			rc.made = append(rc.made, pm)
			rc.frames.Add(fk, pm)
			rc.e.metrics.Encodes.Add(1)
		}
		send := snapshotSend{conn: conn, pm: pm, lead: len(rc.leads)}
		known := uint32(0) // the input seq the client knew at the baseline
		if base != nil {
			known = p.baseSeq
		}
		if p.lastSeq != 0 && rc.inputAckDue(p, conn, tick) {
			if v2 && !conn.SendsCompressed(pm) {
				// The acknowledgement takes the place of the shared frame's nil: the
				// player's own copy of the snapshot, which costs 2 to 4 bytes where a
				// message of its own costs 6 to 14 and a frame header. It is the
				// difference from what the client knew at the baseline: the inputs
				// applied since, a byte where the seq grows to 3 in 5 s of play at 60 Hz
				// and to 5 in 18 minutes.
				send.splice = true
				rc.leads = appendV2SnapshotHead(rc.leads, pm.Data()[0], p.lastSeq-known)
				known = p.lastSeq
			} else {
				rc.leads = appendInputAck(rc.leads, p.lastSeq, rc.tick)
			}
		}
		p.knownSeq(known)
		send.end = len(rc.leads)
		rc.sends = append(rc.sends, send)
	}
	rc.writeSnapshots()
	// Every connection has its frame now, written or held in its writer (which keeps the
	// frame's bytes until it is done with them): the tick's messages go back to ws's pools,
	// and the cache, whose frames serve their own tick only, forgets them.
	for i, pm := range rc.made {
		pm.Release()
		rc.made[i] = nil
	}
	rc.made = rc.made[:0]
	rc.frames.Reset()
}

func (rc *roomCore) anyConnected() bool {
	for _, p := range rc.players {
		if p.conn.Load() != nil {
			return true
		}
	}
	return false
}

// baseline returns the snapshot p's next delta goes against, or nil for a full snapshot. It
// is the tick p last acknowledged, found among the snapshots recently sent to p, which stay
// pinned in the ring until p acknowledges a newer one (Player.sent), and then pinned itself
// until the next acknowledgement, however long that takes. On a busy machine
// acknowledgements come late, and a baseline that had left the ring meant a full snapshot,
// many times the size of a delta, to exactly the players who were already behind. It is
// used only if p still has the view it was sent through.
func (rc *roomCore) baseline(p *Player, key state.ViewKey) *state.Snapshot {
	if ack := p.baseline(); ack != p.seenAck {
		p.seenAck = ack
		// The baseline becomes the second one; the second one goes.
		unpin(rc.ring, &p.prev)
		p.prev, p.prevKey, p.base = p.base, p.baseKey, nil
		// An acknowledgement says the client is caught up to it: what was sent before it
		// is no longer in flight. One not found (too old, or [4, 0] asking for a full
		// snapshot) says the client is listening now: nothing is.
		p.unacked = p.sentN
		if ack != 0 {
			if i := p.findSent(ack); i >= 0 {
				v := p.sent[i%len(p.sent)]
				rc.ring.Pin(v.snap)
				p.base, p.baseKey, p.baseSeq = v.snap, v.key, v.seq
				p.unacked = i + 1
			} else {
				rc.e.metrics.BaselinesLost.Add(1)
			}
			p.releaseOlder(rc.ring, ack)
		}
		if p.prev != nil && (p.base == nil || p.prev.Tick() >= p.base.Tick()) {
			unpin(rc.ring, &p.prev) // no baseline to predict from, or not an older one
		}
	}
	if p.base == nil || p.baseKey != key || p.base.Tick() >= state.Tick(rc.tick) {
		return nil
	}
	return p.base
}

// snapshotWire returns which snapshot message c's subprotocol takes: v2's layout (v3's
// too) and v3's exact predictions.
func snapshotWire(c *ws.Conn) (v2, v3 bool) {
	switch c.Subprotocol() {
	case SubprotocolV3:
		return true, true
	case SubprotocolV2:
		return true, false
	}
	return false, false
}

// secondBackMax is how many snapshot intervals before the tick a second baseline may be.
// The client acknowledged it, so it held it then; since, it has applied at most one
// snapshot an interval, and PROTOCOL.md asks clients to keep at least the last 16 states.
// At 30 Hz that covers a round trip of about 300 ms; a client further behind gets plain
// differences.
const secondBackMax = 12

// secondBaseline returns the snapshot that p's next delta, against base, predicts from
// (state.AppendDeltaV2Predicted), or nil: the baseline p acknowledged before base, if p saw
// it through the same view and it is recent enough that p surely still holds it.
func (rc *roomCore) secondBaseline(p *Player, key state.ViewKey, base *state.Snapshot) *state.Snapshot {
	if !rc.cfg.PredictDeltas || base == nil || p.prev == nil || p.prevKey != key || p.prev.Tick() >= base.Tick() ||
		state.Tick(rc.tick)-p.prev.Tick() > state.Tick(secondBackMax*rc.cfg.snapshotEvery()) {
		return nil
	}
	return p.prev
}

// snapshotSend is one player's share of a snapshot: the shared frame and, in rc.leads[lead:end],
// the player's own input acknowledgement, if one is due: a message [19, last_seq, tick] that
// goes before the frame or, if splice, the head [18, last_seq of the frame's v2 message,
// which replaces the frame's own [18, nil (v2SnapshotHead).
type snapshotSend struct {
	conn      *ws.Conn
	pm        *ws.PreparedMessage
	lead, end int
	splice    bool
}

// v2SnapshotHead is the length of a shared v2 snapshot's head, 9x 12 c0: an array of 5 to
// 7, kind 18, last_seq nil. A player's own copy puts its last_seq there
// (appendV2SnapshotHead).
const v2SnapshotHead = 3

// appendV2Snapshot appends the v2 snapshot message of snap against base, predicted from
// prev if it is not nil (with v3's exact predictions if v3), that players share, [18, nil,
// tick, offset, changed, ...]: its last_seq is nil, for a player's own copy to replace
// (appendV2SnapshotHead).
func appendV2Snapshot(b []byte, prev, base *state.Snapshot, filter state.Filter, snap *state.Snapshot, v3 bool) []byte {
	at := len(b)
	b = append(b, 0, KindSnapshot, 0xc0)
	var n int
	if v3 {
		b, n = state.AppendDeltaV3(b, prev, base, filter, snap, filter)
	} else {
		b, n = state.AppendDeltaV2Predicted(b, prev, base, filter, snap, filter)
	}
	b[at] = 0x90 | byte(2+n) // a fixarray of 5 to 7
	return b
}

// appendV2SnapshotHead appends the head of a v2 snapshot that carries last_seq seq (the
// difference from the seq the client knew at the baseline): the shared message's array
// header arr (its length depends on whether the snapshot adds or removes entities), kind
// 18, seq; the tick and the rest follow.
func appendV2SnapshotHead(b []byte, arr byte, seq uint32) []byte {
	return appendUint32(append(b, arr, KindSnapshot), seq)
}

// parallelSendMin is the audience from which a room's snapshot writes are spread over
// GOMAXPROCS goroutines: each write is a syscall (~5 µs), so 5,000 crossword players held
// the room goroutine 25 ms per snapshot; below it a goroutine costs more than it saves.
const parallelSendMin = 512

// writeSnapshots writes the sends sendSnapshots prepared, and empties the list. What to send
// was decided on the room goroutine; only the writes, which are safe from any goroutine and
// never block on a peer, are spread, and they finish before the tick goes on.
func (rc *roomCore) writeSnapshots() {
	sends := rc.sends
	workers := min(runtime.GOMAXPROCS(0), len(sends)/(parallelSendMin/2))
	if len(sends) < parallelSendMin || workers < 2 {
		workers = 1
	}
	if len(rc.batches) < workers {
		rc.batches = make([]ws.Batch, workers)
	}
	if workers == 1 {
		rc.writeSends(&rc.batches[0], sends)
	} else {
		var wg sync.WaitGroup
		per := (len(sends) + workers - 1) / workers
		for i, b := 0, 0; i < len(sends); i, b = i+per, b+1 {
			part, batch := sends[i:min(i+per, len(sends))], &rc.batches[b]
			wg.Go(func() { rc.writeSends(batch, part) })
		}
		wg.Wait()
	}
	clear(sends)
	rc.sends, rc.leads = sends[:0], rc.leads[:0]
}

// writeSends writes sends through b: the players' sockets that are free get their
// snapshots together, several to a system call (ws.Batch: on Linux through io_uring, about
// half the CPU per write of a write(2) each, bench/floor's BenchmarkBroadcast).
func (rc *roomCore) writeSends(b *ws.Batch, sends []snapshotSend) {
	for _, s := range sends {
		switch {
		case s.lead == s.end:
			_ = b.WriteLatest(s.conn, s.pm)
		case s.splice:
			_ = b.WriteLatestSpliced(s.conn, s.pm, rc.leads[s.lead:s.end], v2SnapshotHead)
		default:
			// The input acknowledgement rides with the snapshot in one latest-wins unit (one
			// write): the client gets both or, if the unit is replaced before it goes,
			// neither. Both writes copy the lead, so rc.leads is free again when they are
			// done.
			_ = b.WriteLatestWith(s.conn, s.pm, rc.leads[s.lead:s.end])
		}
	}
	b.Send()
}

// sentInputAck is the input acknowledgement a player's connection was last sent.
type sentInputAck struct {
	conn *ws.Conn
	seq  uint32     // its last_seq
	tick state.Tick // the first snapshot it went with
}

// inputAckDue reports whether p's input acknowledgement [19, last_seq, tick] must go with
// the snapshot of tick, on conn. It must when last_seq changed since the one this
// connection was last sent, and then with every snapshot until the client acknowledges one
// of them: a unit can be replaced before it is written, acknowledgement and all, so only a
// snapshot the client applied proves that the acknowledgement sent with it arrived. After
// that a snapshot without one means "still last_seq", and saves its 6 to 14 bytes: a player
// who sends no inputs (dead, idle, a game without inputs) is not told the same seq 30 times
// a second.
func (rc *roomCore) inputAckDue(p *Player, conn *ws.Conn, tick state.Tick) bool {
	if a := p.sentAck; a.conn != conn || a.seq != p.lastSeq {
		p.sentAck = sentInputAck{conn: conn, seq: p.lastSeq, tick: tick}
		return true
	}
	return p.baseline() < p.sentAck.tick
}

// end finishes the room: the game is told, every player gets KindLeft and a close frame.
func (rc *roomCore) end(why EndReason) {
	if rc.ended {
		return
	}
	rc.ended = true
	rc.endedWhy = why
	rc.e.forget(rc) // unlisted before anyone is told, so no one finds it again
	_ = rc.guard(func() error { rc.sim.terminate(why); return nil })
	status := ws.StatusNormalClosure
	switch why.Code {
	case CodeInternal:
		status = ws.StatusInternalError
	case CodeShutdown:
		status = ws.StatusGoingAway
	}
	rc.e.metrics.PlayersAway.Add(-int64(rc.away))
	rc.away = 0
	for _, p := range rc.players {
		p.left = true
		rc.e.sessions.remove(p)
		rc.e.metrics.Players.Add(-1)
		if c := p.conn.Swap(nil); c != nil {
			c.SetPulled(false)
			rc.e.writeMsg(c, KindLeft, uint64(why.Code), why.Message)
			go c.Close(status, why.Message)
		}
	}
	rc.players = nil
	rc.log.Info("room ended", "code", why.Code.String(), "reason", why.Message, "ticks", rc.tick, "skipped", rc.sched.skipped)
}

func asError(err error, def Code) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return &Error{Code: def, Message: err.Error()}
}

// tickOf is s's tick, 0 for none.
func tickOf(s *state.Snapshot) state.Tick {
	if s == nil {
		return 0
	}
	return s.Tick()
}
