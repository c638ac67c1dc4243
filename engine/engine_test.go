package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// tally is a small game: each input adds to the sender's score; scores are replicated.
type tally struct {
	engine.Hooks[tallyInput]
	scores map[*engine.Player]int64
	log    *gameLog
}

type tallyInput struct {
	Add   int64 `msgpack:"add"`
	Panic bool  `msgpack:"panic,omitempty"`
}

type score struct{ v int64 }

func (s *score) AppendFields(f *state.Fields) { f.Int(s.v) }

// gameLog records the hooks a test's rooms saw.
type gameLog struct {
	mu     sync.Mutex
	events []string
	at     []time.Time // when each event was logged
	inputs []uint32
}

func (l *gameLog) add(s string) {
	l.mu.Lock()
	l.events = append(l.events, s)
	l.at = append(l.at, time.Now())
	l.mu.Unlock()
}

// when is the time event s was first logged.
func (l *gameLog) when(s string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, e := range l.events {
		if e == s {
			return l.at[i], true
		}
	}
	return time.Time{}, false
}

// inputSeqs are the seqs of the inputs the game applied, in order.
func (l *gameLog) inputSeqs() []uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]uint32(nil), l.inputs...)
}

func (l *gameLog) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if e == s {
			return true
		}
	}
	return false
}

func (g *tally) Start(r *engine.Room[tallyInput]) error {
	g.scores = make(map[*engine.Player]int64)
	return nil
}

func (g *tally) Join(r *engine.Room[tallyInput], p *engine.Player) error {
	var name string
	_ = msgpack.Unmarshal(p.Meta, &name)
	if name == "mallory" {
		return engine.Refuse("no mallories")
	}
	g.scores[p] = 0
	g.log.add("join")
	return nil
}

func (g *tally) Drop(r *engine.Room[tallyInput], p *engine.Player)   { g.log.add("drop") }
func (g *tally) Rejoin(r *engine.Room[tallyInput], p *engine.Player) { g.log.add("rejoin") }
func (g *tally) Leave(r *engine.Room[tallyInput], p *engine.Player, why engine.LeaveReason) {
	delete(g.scores, p)
	g.log.add("leave:" + why.String())
}

// MarshalState and RestoreState make tally Movable: the scores, by player id. A room with a
// player named "stay" refuses to marshal, as a game that cannot move a room would.
func (g *tally) MarshalState() ([]byte, error) {
	byID := make(map[uint32]int64, len(g.scores))
	for p, v := range g.scores {
		var name string
		_ = msgpack.Unmarshal(p.Meta, &name)
		if name == "stay" {
			return nil, errors.New("tally: a player asked to stay")
		}
		byID[p.ID] = v
	}
	return msgpack.Marshal(byID)
}

func (g *tally) RestoreState(state []byte, players []*engine.Player) error {
	var byID map[uint32]int64
	if err := msgpack.Unmarshal(state, &byID); err != nil {
		return err
	}
	for _, p := range players {
		g.scores[p] = byID[p.ID]
	}
	g.log.add("restore")
	return nil
}

func (g *tally) Update(r *engine.Room[tallyInput], inputs []engine.Input[tallyInput]) {
	for _, in := range inputs {
		if in.Value.Panic {
			panic("the game has a bug")
		}
		g.scores[in.Player] += in.Value.Add
		g.log.mu.Lock()
		g.log.inputs = append(g.log.inputs, in.Seq)
		g.log.mu.Unlock()
	}
}

func (g *tally) Snapshot(r *engine.Room[tallyInput], b *state.Builder) {
	for p, v := range g.scores {
		b.Add(state.ID(p.ID), 1, &score{v})
	}
}

func (g *tally) Request(r *engine.Room[tallyInput], p *engine.Player, name string, payload msgpack.RawMessage) (any, error) {
	if name != "total" {
		return nil, engine.Reject("unknown request " + name)
	}
	var sum int64
	for _, v := range g.scores {
		sum += v
	}
	return sum, nil
}

type testEngine struct {
	e   *engine.Engine
	url string
	log *gameLog
}

func startEngine(t *testing.T, cfg engine.RoomConfig, opts engine.Options) *testEngine {
	t.Helper()
	te := &testEngine{log: &gameLog{}}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	te.e = engine.New(opts)
	if err := engine.Register(te.e, "tally", cfg, func() engine.Game[tallyInput] { return &tally{log: te.log} }); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(te.e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		te.e.Shutdown(ctx)
		srv.Close()
	})
	te.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	return te
}

func (te *testEngine) dial(t *testing.T) *gameclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := gameclient.Dial(ctx, te.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Conn().CloseNow() })
	return c
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// scoreOf reads a player's replicated score from a client's mirror.
func scoreOf(c *gameclient.Client, id uint32) (v int64, ok bool) {
	c.State(func(m *state.Mirror, _ uint32) {
		e, found := m.Entity(state.ID(id))
		if found {
			ok = e.Decode(0, &v) == nil
		}
	})
	return
}

func TestRoomReplicatesInputsToEveryPlayer(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{TickRate: 60, SnapshotRate: 30}, engine.Options{})
	a, b := te.dial(t), te.dial(t)
	ja, err := a.Join(ctx5(t), engine.JoinOptions{Game: "tally"})
	if err != nil {
		t.Fatal(err)
	}
	jb, err := b.Join(ctx5(t), engine.JoinOptions{Game: "tally"})
	if err != nil {
		t.Fatal(err)
	}
	if ja.Room != jb.Room || ja.Player == jb.Player || ja.Token == "" {
		t.Fatalf("quick play put players in rooms %q and %q as %d and %d", ja.Room, jb.Room, ja.Player, jb.Player)
	}
	var last uint32
	for range 10 {
		if last, err = a.SendInput(tallyInput{Add: 3}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		va, _ := scoreOf(a, ja.Player)
		vb, _ := scoreOf(b, ja.Player)
		if seq, _ := a.InputAck(); va == 30 && vb == 30 && seq == last {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v, _ := scoreOf(b, ja.Player); v != 30 {
		t.Fatalf("player b sees a's score %d, want 30", v)
	}
	if seq, _ := a.InputAck(); seq != last {
		t.Fatalf("input ack %d, want %d", seq, last)
	}
	var total int64
	if err := b.Request(ctx5(t), "total", nil, &total); err != nil || total != 30 {
		t.Fatalf("request total: %d, %v", total, err)
	}
	if err := b.Request(ctx5(t), "nope", nil, nil); err == nil || !strings.Contains(err.Error(), "unknown request") {
		t.Fatalf("unknown request answered %v", err)
	}
}

func TestJoinRefusalCarriesTheGamesReason(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	c := te.dial(t)
	meta, _ := msgpack.Marshal("mallory")
	_, err := c.Join(ctx5(t), engine.JoinOptions{Game: "tally", Meta: meta})
	var e *engine.Error
	if !asError(err, &e) || e.Code != engine.CodeRefused || e.Message != "no mallories" {
		t.Fatalf("join answered %v", err)
	}
	if _, err := c.Join(ctx5(t), engine.JoinOptions{Game: "nope"}); !asError(err, &e) || e.Code != engine.CodeNotFound {
		t.Fatalf("join of an unknown game answered %v", err)
	}
}

func TestRoomFullIsRefused(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{MaxPlayers: 1}, engine.Options{})
	j, err := te.dial(t).Join(ctx5(t), engine.JoinOptions{Game: "tally"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = te.dial(t).Join(ctx5(t), engine.JoinOptions{Room: j.Room})
	var e *engine.Error
	if !asError(err, &e) || e.Code != engine.CodeFull {
		t.Fatalf("second join of a 1-seat room: %v", err)
	}
}

func asError(err error, target **engine.Error) bool {
	e, ok := err.(*engine.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestReconnectWithinGraceResumesTheSamePlayer(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{Grace: 5 * time.Second}, engine.Options{})
	a := te.dial(t)
	j, err := a.Join(ctx5(t), engine.JoinOptions{Game: "tally"})
	if err != nil {
		t.Fatal(err)
	}
	a.SendInput(tallyInput{Add: 7})
	waitFor(t, "score 7", func() bool { v, _ := scoreOf(a, j.Player); return v == 7 })
	a.Conn().CloseNow() // the network drops
	waitFor(t, "drop", func() bool { return te.log.has("drop") })

	b := te.dial(t)
	j2, err := b.Join(ctx5(t), engine.JoinOptions{Token: j.Token})
	if err != nil {
		t.Fatal(err)
	}
	if j2.Player != j.Player || j2.Room != j.Room {
		t.Fatalf("resumed as player %d in %s, want %d in %s", j2.Player, j2.Room, j.Player, j.Room)
	}
	waitFor(t, "state after resume", func() bool { v, ok := scoreOf(b, j.Player); return ok && v == 7 })
	if !te.log.has("rejoin") || te.log.has("leave:timed out") {
		t.Fatalf("hooks: %v", te.log.events)
	}
}

func TestSeatIsReleasedWhenGraceEnds(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{Grace: 100 * time.Millisecond}, engine.Options{})
	a := te.dial(t)
	j, err := a.Join(ctx5(t), engine.JoinOptions{Game: "tally"})
	if err != nil {
		t.Fatal(err)
	}
	a.Conn().CloseNow()
	waitFor(t, "leave after grace", func() bool { return te.log.has("leave:timed out") })
	_, err = te.dial(t).Join(ctx5(t), engine.JoinOptions{Token: j.Token})
	var e *engine.Error
	if !asError(err, &e) || e.Code != engine.CodeNotFound {
		t.Fatalf("resume after grace: %v", err)
	}
}

func TestPanicInGameCodeEndsOnlyThatRoom(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	victim, bystander := te.dial(t), te.dial(t)
	jv, err := victim.Join(ctx5(t), engine.JoinOptions{Game: "tally", Create: true})
	if err != nil {
		t.Fatal(err)
	}
	jb, err := bystander.Join(ctx5(t), engine.JoinOptions{Game: "tally", Create: true})
	if err != nil || jb.Room == jv.Room {
		t.Fatalf("second room: %v %v", jb, err)
	}
	victim.SendInput(tallyInput{Panic: true})
	ev := waitEvent(t, victim, engine.KindLeft)
	if ev.Code != engine.CodeInternal {
		t.Fatalf("victim told %+v", ev)
	}
	<-victim.Done()
	if ws.CloseStatus(victim.Err()) != ws.StatusInternalError {
		t.Fatalf("victim's connection closed with %v, want 1011", victim.Err())
	}
	if _, ok := te.e.Room(jv.Room); ok {
		t.Fatal("the panicking room is still listed")
	}
	bystander.SendInput(tallyInput{Add: 1})
	waitFor(t, "bystander's room still ticking", func() bool { v, _ := scoreOf(bystander, jb.Player); return v == 1 })
	if te.e.Metrics().Panics.Load() != 1 {
		t.Fatalf("panics counted: %d", te.e.Metrics().Panics.Load())
	}
}

// TestInputsBeyondTheTickBoundAreDroppedNotThePlayer: a burst larger than MaxInputsPerTick
// (here 50 inputs into a room that ticks twice a second and takes 4 per tick) loses its
// excess inputs; the player stays, as a player whose inputs piled up while the server was
// starved of CPU must (4,000 loadgen bots were kicked that way before).
func TestInputsBeyondTheTickBoundAreDroppedNotThePlayer(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{TickRate: 2, MaxInputsPerTick: 4}, engine.Options{})
	burst, calm := te.dial(t), te.dial(t)
	jb, err := burst.Join(ctx5(t), engine.JoinOptions{Game: "tally"})
	if err != nil {
		t.Fatal(err)
	}
	jc, err := calm.Join(ctx5(t), engine.JoinOptions{Room: jb.Room})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		burst.SendInput(tallyInput{Add: 1})
	}
	waitFor(t, "inputs beyond the bound dropped", func() bool { return te.e.Metrics().InputsDropped.Load() > 0 })
	calm.SendInput(tallyInput{Add: 2})
	waitFor(t, "calm player's input applied", func() bool { v, _ := scoreOf(calm, jc.Player); return v == 2 })
	var v int64
	waitFor(t, "every input of the burst applied or dropped", func() bool {
		v, _ = scoreOf(calm, jb.Player)
		return v+te.e.Metrics().InputsDropped.Load() == 50
	})
	if v < 4 || v >= 50 {
		t.Fatalf("burst of 50: %d applied, %d dropped", v, te.e.Metrics().InputsDropped.Load())
	}
	// Still seated and heard: one more input is applied.
	burst.SendInput(tallyInput{Add: 100})
	waitFor(t, "the burst player's next input applied", func() bool { w, _ := scoreOf(calm, jb.Player); return w == v+100 })
	if te.log.has("leave:rate limited") {
		t.Fatal("the burst player was removed")
	}
}

func TestMalformedMessagesGetAnErrorAndChangeNothing(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	c := te.dial(t)
	j, err := c.Join(ctx5(t), engine.JoinOptions{Game: "tally"})
	if err != nil {
		t.Fatal(err)
	}
	bad := [][]byte{
		{0xc1},             // never-used msgpack byte
		{0x01},             // not an array
		{0x91, 0xa1, 'x'},  // kind is a string
		{0x91, 0x7f},       // unknown kind
		{0x92, 0x03, 0x01}, // input without a payload
		// Lengths beyond the message: a string "of 2 GiB", a million-element array, deep nesting.
		{0x92, 0x06, 0xdb, 0x80, 0x00, 0x00, 0x00},
		{0x93, 0x03, 0x01, 0xdd, 0x00, 0x0f, 0x42, 0x40},
		append(append([]byte{0x93, 0x03, 0x01}, bytes.Repeat([]byte{0x91}, 100)...), 0x01),
	}
	// Each of the lies above, repeated, must not make the server hold what they claim
	// (the decoder used to grow its buffer by a megabyte and more per attempt, and keep it).
	for range 30 {
		bad = append(bad, []byte{0x92, 0x06, 0xdb, 0x80, 0x00, 0x00, 0x00})
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, b := range bad {
		if err := c.Conn().WriteMessage(ws.MessageBinary, b); err != nil {
			t.Fatal(err)
		}
		ev := waitEvent(t, c, engine.KindError)
		if ev.Code != engine.CodeMalformed && ev.Code != engine.CodeUnknownKind {
			t.Fatalf("message %x answered %+v", b, ev)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 32<<20 {
		t.Fatalf("heap grew by %d MiB over %d malformed messages", grown>>20, len(bad))
	}
	c.SendInput(tallyInput{Add: 5})
	waitFor(t, "input after garbage", func() bool { v, _ := scoreOf(c, j.Player); return v == 5 })
}

func TestShutdownAppliesReceivedInputsAndSays1001(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{TickRate: 1}, engine.Options{})
	c := te.dial(t)
	if _, err := c.Join(ctx5(t), engine.JoinOptions{Game: "tally"}); err != nil {
		t.Fatal(err)
	}
	seq, _ := c.SendInput(tallyInput{Add: 1})
	// The pong proves that the server read the input; the next tick is ~1 s away.
	if _, err := c.Ping(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	if err := te.e.Shutdown(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	if ws.CloseStatus(c.Err()) != ws.StatusGoingAway {
		t.Fatalf("closed with %v, want 1001", c.Err())
	}
	if got, _ := c.InputAck(); got != seq {
		t.Fatalf("input %d was received before shutdown but acknowledged only up to %d", seq, got)
	}
}

// TestShutdownClosesConnectionsInNoRoom: a connection that never joined (a lobby page,
// a player waiting for a match) is in no room to end, and Shutdown closes it itself with
// 1001, while one in a room gets its room's 1001.
func TestShutdownClosesConnectionsInNoRoom(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{TickRate: 10}, engine.Options{})
	idle, seated := te.dial(t), te.dial(t)
	if _, err := seated.Join(ctx5(t), engine.JoinOptions{Game: "tally"}); err != nil {
		t.Fatal(err)
	}
	if _, err := idle.Ping(ctx5(t)); err != nil { // its session is open on the server
		t.Fatal(err)
	}
	if err := te.e.Shutdown(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*gameclient.Client{"in no room": idle, "in a room": seated} {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("the connection %s was not closed by Shutdown", name)
		}
		if ws.CloseStatus(c.Err()) != ws.StatusGoingAway {
			t.Errorf("the connection %s closed with %v, want 1001", name, c.Err())
		}
	}
}

func TestFakeClockRunsTicksWithoutSleeping(t *testing.T) {
	clock := &engine.FakeClock{}
	e := engine.New(engine.Options{Clock: clock, Logger: slog.New(slog.DiscardHandler)})
	done := make(chan *engine.RoomStats, 1)
	err := engine.Register(e, "slow", engine.RoomConfig{TickRate: 100, MaxCatchUp: 2, EmptyTimeout: -1, TickWhenEmpty: true},
		func() engine.Game[int] { return &slowGame{clock: clock, done: done} })
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := e.CreateRoom("slow", engine.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stats := <-done
	if time.Since(start) > 2*time.Second {
		t.Fatal("1000 ticks at 100 Hz took real time: the fake clock was not used")
	}
	late := stats.Lateness()
	// Tick 500 took 25 ms (2.5 ticks): the next ticks run late and catch up; tick 800 took
	// 100 ms: beyond MaxCatchUp the schedule skips ahead.
	if late[500] != 15*time.Millisecond {
		t.Fatalf("tick after a 25 ms tick: lateness %v, want 15ms", late[500])
	}
	for i, l := range late {
		if l > 0 && (i < 500 || i > 810) {
			t.Fatalf("tick %d late by %v with nothing slow before it", i+1, l)
		}
	}
	if e.Metrics().Ticks.Load() < 1000 {
		t.Fatalf("ticks counted: %d", e.Metrics().Ticks.Load())
	}
}

// slowGame is slow on purpose at ticks 500 and 800, under a fake clock.
type slowGame struct {
	engine.Hooks[int]
	clock *engine.FakeClock
	done  chan *engine.RoomStats
}

func (g *slowGame) Snapshot(*engine.Room[int], *state.Builder) {} // nothing to replicate

func (g *slowGame) Update(r *engine.Room[int], _ []engine.Input[int]) {
	switch r.Tick() {
	case 500:
		g.clock.Advance(25 * time.Millisecond)
	case 800:
		g.clock.Advance(100 * time.Millisecond)
	case 1000:
		g.done <- r.Stats()
		r.End("done")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitEvent(t *testing.T, c *gameclient.Client, kind int) gameclient.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-c.Events():
			if ev.Kind == kind {
				return ev
			}
		case <-timeout:
			t.Fatalf("no event of kind %#x", kind)
		}
	}
}

// bigMover replicates 256 entities whose every field changes every tick, so that each delta
// is large and a client that stops reading fills its socket within a second or two.
type bigMover struct {
	engine.Hooks[tallyInput]
	t float32
}

func (g *bigMover) Update(r *engine.Room[tallyInput], _ []engine.Input[tallyInput]) { g.t++ }
func (g *bigMover) Snapshot(r *engine.Room[tallyInput], b *state.Builder) {
	for i := range 256 {
		b.Add(state.ID(i+1), 1, &xy{g.t + float32(i), g.t * float32(i)})
	}
}

func TestSlowReaderGetsTheLatestSnapshotNotABacklog(t *testing.T) {
	wm := new(ws.Metrics)
	e := engine.New(engine.Options{Logger: slog.New(slog.DiscardHandler), Accept: ws.AcceptOptions{Metrics: wm}})
	if err := engine.Register(e, "big", engine.RoomConfig{TickRate: 60, SnapshotRate: 60},
		func() engine.Game[tallyInput] { return &bigMover{} }); err != nil {
		t.Fatal(err)
	}
	// Small socket buffers on both ends (which also stops the kernel's autotuning), so that a
	// client that stops reading backs up into the server's outbound path within a second.
	srv := httptest.NewUnstartedServer(e)
	srv.Listener = smallBufListener{srv.Listener}
	srv.Start()
	defer srv.Close()
	defer e.Shutdown(context.Background())
	// A raw client with a small receive buffer that joins and then stops reading.
	dialer := &net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, _, err := ws.Dial(ctx5(t), "ws"+strings.TrimPrefix(srv.URL, "http"), &ws.DialOptions{
		Subprotocols: []string{engine.Subprotocol}, NetDialContext: dialer.DialContext,
		Compression: ws.CompressionOptions{Mode: ws.CompressionDisabled},
		Limits:      ws.Limits{MaxMessageSize: 1 << 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	join, _ := engine.Marshal([]any{engine.KindJoin, 1, engine.JoinOptions{Game: "big"}})
	c.WriteMessage(ws.MessageBinary, join)
	// Stop reading until the server has had to replace an unsent snapshot (about a second).
	waitFor(t, "a replaced snapshot", func() bool { return wm.LatestReplaced.Load() > 0 })
	time.Sleep(500 * time.Millisecond)
	resumeTick := int(e.Metrics().Ticks.Load()) // the only room's tick
	// Resume reading: count the snapshots that arrive before one from after the pause.
	var snapshots, stale int
	roomTick, lastTick := -1, 0
	resumed := time.Now()
	for time.Since(resumed) < 3*time.Second {
		_ = c.NetConn().SetReadDeadline(time.Now().Add(time.Second))
		_, p, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var msg []any
		if len(p) < 2 || msgpack.Unmarshal(p, &msg) != nil {
			continue
		}
		switch p[1] {
		case engine.KindJoined:
			roomTick = toInt(msg[5])
		case engine.KindSnapshot:
			snapshots++
			lastTick = toInt(msg[1].([]any)[0])
		}
		if roomTick >= 0 && lastTick >= resumeTick { // produced after the pause
			break
		}
		if snapshots > 0 {
			stale++
		}
	}
	// A backlog would deliver every snapshot of the pause before a fresh one; latest-wins
	// delivers what was already in the socket, then the newest.
	if lastTick < resumeTick {
		t.Fatalf("no fresh snapshot within 3 s of resuming (last tick %d, resumed at %d)", lastTick, resumeTick)
	}
	if produced := resumeTick - roomTick; stale > produced/2 {
		t.Fatalf("%d of %d stale snapshots before a fresh one: a backlog, not latest-wins", stale, produced)
	}
	t.Logf("%d snapshots before a fresh one (%d replaced unsent), fresh tick %d after %v", stale, wm.LatestReplaced.Load(), lastTick, time.Since(resumed))
}

func toInt(v any) int {
	switch x := v.(type) {
	case int8:
		return int(x)
	case int16:
		return int(x)
	case int32:
		return int(x)
	case int64:
		return int(x)
	case uint8:
		return int(x)
	case uint16:
		return int(x)
	case uint32:
		return int(x)
	case uint64:
		return int(x)
	}
	return -1
}

type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(8192)
	}
	return c, err
}

// flip shows ten entities and switches each player's view between odd and even ids every
// ten ticks.
type flip struct{ engine.Hooks[tallyInput] }

func (flip) Update(*engine.Room[tallyInput], []engine.Input[tallyInput]) {}
func (flip) Snapshot(r *engine.Room[tallyInput], b *state.Builder) {
	for i := range 10 {
		b.Add(state.ID(i+1), 1, &xy{float32(r.Tick()), float32(i)})
	}
}
func (flip) View(r *engine.Room[tallyInput], p *engine.Player) (state.ViewKey, state.Filter) {
	parity := state.ID(r.Tick() / 10 % 2)
	return state.ViewKey(parity + 1), func(id state.ID, _ uint8) bool { return id%2 == parity }
}

func TestChangingViewNeverBreaksDeltas(t *testing.T) {
	e := engine.New(engine.Options{Logger: slog.New(slog.DiscardHandler)})
	engine.Register(e, "flip", engine.RoomConfig{TickRate: 60, SnapshotRate: 30}, func() engine.Game[tallyInput] { return flip{} })
	srv := httptest.NewServer(e)
	defer srv.Close()
	defer e.Shutdown(context.Background())
	c, err := gameclient.Dial(ctx5(t), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Conn().CloseNow()
	if _, err := c.Join(ctx5(t), engine.JoinOptions{Game: "flip"}); err != nil {
		t.Fatal(err)
	}
	for range 60 {
		time.Sleep(20 * time.Millisecond)
		if err := c.Err(); err != nil {
			t.Fatalf("client failed applying snapshots across view changes: %v", err)
		}
		c.State(func(m *state.Mirror, tick uint32) {
			parity := state.ID(tick / 10 % 2)
			for _, ent := range m.Entities() {
				if ent.ID%2 != parity {
					t.Fatalf("tick %d: entity %d from the previous view is still in the mirror", tick, ent.ID)
				}
			}
		})
	}
}

func TestRoomCreationIsBounded(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{MaxRooms: 2})
	for i := range 3 {
		_, err := te.dial(t).Join(ctx5(t), engine.JoinOptions{Game: "tally", Create: true})
		var e *engine.Error
		switch {
		case i < 2 && err != nil:
			t.Fatalf("room %d: %v", i, err)
		case i == 2 && (!asError(err, &e) || e.Code != engine.CodeFull):
			t.Fatalf("third room with MaxRooms 2: %v", err)
		}
	}
}

// TestResumedSeatNumbersInputsAfresh: input numbering is per connection, so a resumed seat's
// acknowledgements start over; acknowledging the old connection's highest seq would tell the
// client its new inputs 1..n were all applied (found in review of the input-ack change).
func TestResumedSeatNumbersInputsAfresh(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{Grace: 5 * time.Second}, engine.Options{})
	a := te.dial(t)
	j, err := a.Join(ctx5(t), engine.JoinOptions{Game: "tally"})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		a.SendInput(tallyInput{Add: 1})
	}
	waitFor(t, "five inputs acknowledged", func() bool { seq, _ := a.InputAck(); return seq == 5 })
	a.Conn().CloseNow()
	waitFor(t, "drop", func() bool { return te.log.has("drop") })

	b := te.dial(t)
	if _, err := b.Join(ctx5(t), engine.JoinOptions{Token: j.Token}); err != nil {
		t.Fatal(err)
	}
	if seq, err := b.SendInput(tallyInput{Add: 2}); err != nil || seq != 1 {
		t.Fatalf("first input after resume: seq %d, %v", seq, err)
	}
	waitFor(t, "score 7 after resume", func() bool { v, _ := scoreOf(b, j.Player); return v == 7 })
	if seq, _ := b.InputAck(); seq != 1 {
		t.Fatalf("after resuming and sending input 1, the server acknowledges input %d", seq)
	}
}

// blank is a game whose Snapshot forgets to add anything.
type blank struct{ engine.Hooks[int] }

func (blank) Update(*engine.Room[int], []engine.Input[int]) {}
func (blank) Snapshot(*engine.Room[int], *state.Builder)    {}

// TestAnEmptySnapshotIsLoggedOncePerGame: a game that showed its players nothing used to do
// so silently (issue 12). A game can no longer leave Snapshot out (Hooks has none to embed:
// that is a compile error), and a Snapshot that adds no entity while players are connected
// is logged, once per game however many rooms it runs; a game with entities is not.
func TestAnEmptySnapshotIsLoggedOncePerGame(t *testing.T) {
	var logs syncBuffer
	te := startEngine(t, engine.RoomConfig{TickRate: 20}, engine.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err := engine.Register(te.e, "blank", engine.RoomConfig{TickRate: 20}, func() engine.Game[int] { return blank{} }); err != nil {
		t.Fatal(err)
	}
	const warning = "the game's Snapshot added no entity"
	count := func(game string) int {
		n := 0
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, warning) && strings.Contains(l, `"game":"`+game+`"`) {
				n++
			}
		}
		return n
	}
	for range 2 { // two rooms of each game, each with a player who gets snapshots
		for _, game := range []string{"blank", "tally"} {
			c := te.dial(t)
			j, err := c.Join(ctx5(t), engine.JoinOptions{Game: game, Create: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.WaitSnapshot(ctx5(t), j.Tick+2); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := count("blank"); n != 1 {
		t.Fatalf("%d warnings for the game with empty snapshots, want 1:\n%s", n, logs.String())
	}
	if n := count("tally"); n != 0 {
		t.Fatalf("%d warnings for a game with entities", n)
	}
}

// farewell records who Terminate and Leave see.
type farewell struct {
	engine.Hooks[int]
	log *gameLog
}

func (g *farewell) Update(*engine.Room[int], []engine.Input[int]) {}
func (g *farewell) Snapshot(_ *engine.Room[int], b *state.Builder) {
	b.Add(1, 1, &score{1})
}
func (g *farewell) Leave(_ *engine.Room[int], p *engine.Player, why engine.LeaveReason) {
	g.log.add("leave:" + why.String())
}
func (g *farewell) Terminate(r *engine.Room[int], why engine.EndReason) {
	g.log.add(fmt.Sprintf("terminate:%d players", len(r.Players())))
}

// TestTerminateSeesThePlayersSeatedAtTheEnd: when a room ends, the players still seated get
// no Leave (there was a LeftRoomEnded reason for it, never given, issue 12); Terminate lists
// them in r.Players(), connected or within their grace period.
func TestTerminateSeesThePlayersSeatedAtTheEnd(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	log := &gameLog{}
	if err := engine.Register(te.e, "farewell", engine.RoomConfig{Grace: time.Minute}, func() engine.Game[int] { return &farewell{log: log} }); err != nil {
		t.Fatal(err)
	}
	a, b := te.dial(t), te.dial(t)
	j, err := a.Join(ctx5(t), engine.JoinOptions{Game: "farewell"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(ctx5(t), engine.JoinOptions{Room: j.Room}); err != nil {
		t.Fatal(err)
	}
	b.Conn().CloseNow() // b's seat is held
	waitFor(t, "b's seat held", func() bool { info, _ := te.e.Room(j.Room); return info.Held == 1 })
	te.e.EndRoom(j.Room, "closing time")
	if ev := waitEvent(t, a, engine.KindLeft); ev.Code != engine.CodeRoomEnded {
		t.Fatalf("a was told %+v", ev)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if !slices.Equal(log.events, []string{"terminate:2 players"}) {
		t.Fatalf("hooks at the end: %v", log.events)
	}
}
