package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/examples/shooter"
	"github.com/rallypoint/rallypoint/internal/wstest"
	"github.com/rallypoint/rallypoint/net/ws"
)

// peer is the server end of one bot's connection, played by the test.
type peer struct {
	t  *testing.T
	c  *ws.Conn
	in *wstest.Inbox // what c received
}

// servePeer serves r with ws.Serve for a peer of t agreeing to subprotocol proto, and
// returns it, or nil when the handshake failed.
func servePeer(t *testing.T, w http.ResponseWriter, r *http.Request, proto string) *peer {
	in := wstest.NewInbox()
	c, err := ws.Serve(w, r, &ws.AcceptOptions{Subprotocols: []string{proto}}, func(*ws.Conn) ws.Handler { return in })
	if err != nil {
		return nil
	}
	return &peer{t: t, c: c, in: in}
}

// seatBot starts one bot of the game driver makes against a peer, answers its join and
// returns both ends.
func seatBot(t *testing.T, game string, driver func(r *runner) gameDriver) (*bot, *peer) {
	return seatBotAt(t, game, driver, 30)
}

// seatBotAt is seatBot with the snapshot rate (Hz) the join answer announces.
func seatBotAt(t *testing.T, game string, driver func(r *runner) gameDriver, snapRate int) (*bot, *peer) {
	b, p, _ := seatBotConns(t, game, driver, snapRate)
	return b, p
}

// seatBotConns is seatBotAt that also returns the server ends of the bot's later
// connections (a resume), as they are accepted.
func seatBotConns(t *testing.T, game string, driver func(r *runner) gameDriver, snapRate int) (*bot, *peer, <-chan *peer) {
	return seatBotWith(t, game, driver, snapRate, nil)
}

// seatBotWith is seatBotConns with tweak applied to the bot's configuration first.
func seatBotWith(t *testing.T, game string, driver func(r *runner) gameDriver, snapRate int, tweak func(*config)) (*bot, *peer, <-chan *peer) {
	return seatBotOn(t, engine.Subprotocol, game, driver, snapRate, tweak)
}

// seatBotOn is seatBotWith with the peer agreeing to subprotocol proto.
func seatBotOn(t *testing.T, proto, game string, driver func(r *runner) gameDriver, snapRate int, tweak func(*config)) (*bot, *peer, <-chan *peer) {
	conns := make(chan *peer, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := servePeer(t, w, r, proto); p != nil {
			conns <- p
		}
	}))
	t.Cleanup(srv.Close)
	cfg := defaults
	cfg.URL, cfg.Game, cfg.Origin = "ws"+strings.TrimPrefix(srv.URL, "http"), game, ""
	cfg.PingEvery = time.Hour
	cfg.AckEvery = 0 // the scripted peers expect each acknowledgement; ackEvery's own test sets it
	if tweak != nil {
		tweak(&cfg)
	}
	if err := cfg.normalize(); err != nil {
		t.Fatal(err)
	}
	r := &runner{cfg: cfg, t0: time.Now()}
	r.game = driver(r)
	b := &bot{r: r, rng: rand.New(rand.NewPCG(1, 2))}
	started := make(chan error, 1)
	go func() { started <- b.start(context.Background()) }()
	var p *peer
	select {
	case p = <-conns:
	case err := <-started:
		t.Fatalf("bot did not connect: %v", err)
	}
	t.Cleanup(func() { p.c.CloseNow() })
	if m := p.read(); m[0] != int64(engine.KindJoin) {
		t.Fatalf("bot sent %v, want a join", m)
	}
	p.send(engine.KindJoined, uint64(joinReq), "R", uint64(1), "T", uint64(0), uint64(60), uint64(snapRate), "")
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.closing.Store(true); b.c.CloseNow() })
	return b, p, conns
}

func (p *peer) send(v ...any) {
	p.t.Helper()
	b, err := engine.Marshal(v)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.c.WriteMessage(ws.MessageBinary, b); err != nil {
		p.t.Fatal(err)
	}
}

// snapshot sends an empty full snapshot of tick.
func (p *peer) snapshot(tick int) {
	p.send(engine.KindSnapshot, []any{tick, 0, []any{}, []any{}, []any{}})
}

// read returns the bot's next message other than a ping, decoded, integers as int64. It
// waits 5 seconds at most for each message.
func (p *peer) read() []any {
	p.t.Helper()
	for {
		_, data, err := p.in.Next(5 * time.Second)
		if err != nil {
			p.t.Fatal(err)
		}
		var m []any
		if err := msgpack.Unmarshal(data, &m); err != nil || len(m) == 0 {
			p.t.Fatalf("undecodable bot message % x: %v", data, err)
		}
		for i, v := range m {
			if n, ok := asInt64(v); ok {
				m[i] = n
			}
		}
		if m[0] != int64(engine.KindPing) {
			return m
		}
	}
}

func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), true
	}
	return 0, false
}

// isView reports whether v is a view of one snapshot as the bots send it: [tick, 0, 0].
func isView(v any) bool {
	a, ok := v.([]any)
	if !ok || len(a) != 3 {
		return false
	}
	tick, ok1 := asInt64(a[0])
	span, ok2 := asInt64(a[1])
	blend, ok3 := asInt64(a[2])
	return ok1 && ok2 && ok3 && tick > 0 && span == 0 && blend == 0
}

// waitUnacked waits until the bot's read loop has applied the snapshot of tick and left its
// acknowledgement to the inputs.
func waitUnacked(t *testing.T, b *bot, tick uint32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.unacked.Load() != tick {
		if time.Now().After(deadline) {
			t.Fatalf("the bot did not take snapshot %d for an input (waiting: %d)", tick, b.unacked.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestShooterInputsCarryTheAck: the first input after a snapshot carries its tick, the
// next carries none, and no [4, tick] is sent.
func TestShooterInputsCarryTheAck(t *testing.T) {
	b, p := seatBot(t, "shooter", func(r *runner) gameDriver { return newShooterDriver(r) })
	if !b.ackOnInput {
		t.Fatal("shooter bots do not acknowledge on their inputs")
	}
	for tick := 2; tick <= 10; tick += 2 {
		p.snapshot(tick)
		waitUnacked(t, b, uint32(tick))
		for i := range 2 {
			b.tick(b.r.mono())
			m := p.read()
			switch {
			case m[0] != int64(engine.KindInput):
				t.Fatalf("after snapshot %d the bot sent %v, want an input", tick, m)
			case i == 0 && (len(m) < 4 || m[3] != int64(tick)):
				t.Fatalf("first input after snapshot %d is %v, want it to carry the tick", tick, m)
			case i == 1 && len(m) > 3 && m[3] != nil:
				t.Fatalf("second input after snapshot %d is %v, want no tick (already acknowledged)", tick, m)
			case len(m) == 5 && !isView(m[4]):
				t.Fatalf("input %v: its fifth element is not a view [tick, 0, 0]", m)
			}
			if in, ok := m[2].([]any); !ok || len(in) != 3 {
				t.Fatalf("input %v is not [keys, aim, fire]", m[2])
			}
		}
	}
	if raceEnabled {
		return
	}
	// The input path stays allocation-free with the acknowledgement on it. The peer drops
	// the inputs uncopied, so that its allocations do not count.
	p.in.Discard.Store(true)
	tick := uint32(100)
	if n := testing.AllocsPerRun(200, func() {
		tick++
		b.unacked.Store(tick)
		b.tick(b.r.mono())
	}); n != 0 {
		t.Errorf("a step with an acknowledgement allocates %.1f times", n)
	}
	p.c.CloseNow()
	<-p.in.Done()
}

// quietDriver's bots acknowledge on inputs but send none: each tick goes alone, at the end
// of the first step that did not take it.
type quietDriver struct{ shooterDriver }

type quietBot struct{ shooterBot }

func (*quietBot) step(int64) {}

func (d *quietDriver) newBehavior(b *bot) behavior { return &quietBot{shooterBot{b: b}} }

func TestAckGoesAloneAfterAStepWithoutInput(t *testing.T) {
	b, p := seatBot(t, shooter.Name, func(r *runner) gameDriver { return &quietDriver{shooterDriver{r: r}} })
	for _, tick := range []int{3, 6, 9} {
		p.snapshot(tick)
		waitUnacked(t, b, uint32(tick))
		b.tick(b.r.mono())
		if m := p.read(); len(m) != 2 || m[0] != int64(engine.KindAck) || m[1] != int64(tick) {
			t.Fatalf("after a step without input the bot sent %v, want [4, %d]", m, tick)
		}
		if b.unacked.Load() != 0 {
			t.Fatal("the acknowledgement sent alone is still waiting")
		}
	}
}

// TestCrosswordBotsAckAtOnce: crossword bots type every few seconds, so no input carries
// their acknowledgements: with -ack-every 0 they acknowledge each snapshot as it is applied.
func TestCrosswordBotsAckAtOnce(t *testing.T) {
	b, p := seatBot(t, "crossword", func(r *runner) gameDriver {
		d, err := newCrosswordDriver(r)
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
	if b.ackOnInput {
		t.Fatal("crossword bots wait for inputs to acknowledge")
	}
	for _, tick := range []int{5, 10} {
		p.snapshot(tick)
		if m := p.read(); len(m) != 2 || m[0] != int64(engine.KindAck) || m[1] != int64(tick) {
			t.Fatalf("after snapshot %d the bot sent %v, want [4, %d]", tick, m, tick)
		}
	}
}

// TestCrosswordBotsAckAtMostEveryAckEvery: with -ack-every, as the crossword page's
// ackDelay, the first snapshot is acknowledged at once and the next ones only once
// AckEvery has passed since, with the latest tick.
func TestCrosswordBotsAckAtMostEveryAckEvery(t *testing.T) {
	const every = 300 * time.Millisecond
	_, p, _ := seatBotWith(t, "crossword", func(r *runner) gameDriver {
		d, err := newCrosswordDriver(r)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}, 30, func(c *config) { c.AckEvery = every })
	want := func(tick int) {
		t.Helper()
		if m := p.read(); len(m) != 2 || m[0] != int64(engine.KindAck) || m[1] != int64(tick) {
			t.Fatalf("the bot sent %v, want [4, %d]", m, tick)
		}
	}
	p.snapshot(5)
	want(5)
	start := time.Now()
	tick := 6
	for ; time.Since(start) < every+every/2; tick++ {
		p.snapshot(tick)
		time.Sleep(every / 10)
	}
	// Ticks 6 onwards: one acknowledgement, of the first tick applied once AckEvery passed;
	// the next message is the acknowledgement of a snapshot sent after a second wait.
	m := p.read()
	var got int64
	if len(m) == 2 {
		got, _ = m[1].(int64)
	}
	if len(m) != 2 || m[0] != int64(engine.KindAck) || got <= 6 || got >= int64(tick) {
		t.Fatalf("the bot sent %v, want one [4, tick] of a tick between 7 and %d", m, tick-1)
	}
	time.Sleep(every)
	p.snapshot(tick)
	want(tick)
}

// TestShooterBotsSendOneMessageAStep runs shooter bots against the engine: what they send
// beyond their inputs (pings, a join) is far below one message per snapshot, so no
// snapshot is acknowledged alone, and the engine takes every input as well formed.
func TestShooterBotsSendOneMessageAStep(t *testing.T) {
	var e *engine.Engine
	url := startServer(t, func(eng *engine.Engine) error { e = eng; return shooter.Register(eng) })
	cfg := testConfig(url, "shooter")
	cfg.Players = 8
	cfg.Duration = 2 * time.Second
	cfg.Concurrency = 1
	var out strings.Builder
	res, err := run(context.Background(), cfg, &out, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	if v := parseSummary(t, out.String()); v["errors"] != 0 {
		t.Fatalf("errors: %v", v)
	}
	if n := e.Metrics().Malformed.Load(); n != 0 {
		t.Fatalf("the engine refused %d messages as malformed", n)
	}
	extra := res.messagesOutPerS - res.inputsPerS
	if res.inputsPerS == 0 || res.snapshotsPerS == 0 || extra >= res.snapshotsPerS/2 {
		t.Fatalf("%.0f messages/s sent for %.0f inputs/s and %.0f snapshots/s: acknowledgements go alone",
			res.messagesOutPerS, res.inputsPerS, res.snapshotsPerS)
	}
}

// TestV2LastSeqIsCountedFromTheBaseline: a v2 snapshot's last_seq is the inputs applied
// since the seq known at its baseline, which is the one its baseline carried, or that
// baseline's own when it carried none (PROTOCOL.md, "The v2 snapshot").
func TestV2LastSeqIsCountedFromTheBaseline(t *testing.T) {
	b, p, _ := seatBotOn(t, engine.SubprotocolV2, "shooter", func(r *runner) gameDriver { return newShooterDriver(r) }, 30, nil)
	sb := b.beh.(*shooterBot)
	for _, step := range []struct {
		msg  []any
		want uint32
	}{
		{[]any{engine.KindSnapshot, 3, 10, 0, []any{}}, 3},           // full: 0 + 3
		{[]any{engine.KindSnapshot, nil, 12, 2, []any{}}, 3},         // none: known at 12 is 3
		{[]any{engine.KindSnapshot, 2, 14, 2, []any{}}, 5},           // against 12: 3 + 2
		{[]any{engine.KindSnapshot, 1, 16, []any{2, 2}, []any{}}, 6}, // against 14 (and 12): 5 + 1
		{[]any{engine.KindSnapshot, 4, 18, 4, []any{}}, 9},           // against 14 again: 5 + 4
	} {
		p.send(step.msg...)
		deadline := time.Now().Add(5 * time.Second)
		for {
			sb.mu.Lock()
			got := sb.ackSeq
			sb.mu.Unlock()
			if got == step.want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %v: acknowledged seq %d, want %d", step.msg, got, step.want)
			}
			time.Sleep(time.Millisecond)
		}
	}
}
