package engine_test

import (
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/net/ws"
)

// rawPlayer is a joined connection that speaks the protocol by hand, so that a test chooses
// exactly which acknowledgements go out (gameclient sends its own).
type rawPlayer struct {
	t      *testing.T
	c      *ws.Conn
	token  string // the resume token
	joined []any  // the 0x11 that seated it, decoded
}

func (te *testEngine) rawJoin(t *testing.T) *rawPlayer {
	t.Helper()
	c, _, err := ws.Dial(ctx5(t), te.url, &ws.DialOptions{Subprotocols: []string{engine.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	rp := &rawPlayer{t: t, c: c}
	rp.send(engine.KindJoin, 1, engine.JoinOptions{Game: "tally"})
	for {
		if m := rp.read(); m[0] == engine.KindJoined {
			rp.token, _ = m[4].(string)
			rp.joined = m
			return rp
		}
	}
}

func (rp *rawPlayer) send(v ...any) {
	rp.t.Helper()
	b, err := engine.Marshal(v)
	if err != nil {
		rp.t.Fatal(err)
	}
	if err := rp.c.WriteMessage(ws.MessageBinary, b); err != nil {
		rp.t.Fatal(err)
	}
}

// read returns the next message, decoded, with its kind as an int.
func (rp *rawPlayer) read() []any {
	rp.t.Helper()
	return rp.readWithin(5 * time.Second)
}

// readWithin is read with a longer wait, for what goes through other processes' hands (a
// cluster's matcher) on a machine CI keeps busy: a hang detector, not a timing.
func (rp *rawPlayer) readWithin(d time.Duration) []any {
	rp.t.Helper()
	_ = rp.c.NetConn().SetReadDeadline(time.Now().Add(d))
	_, p, err := rp.c.ReadMessage()
	if err != nil {
		rp.t.Fatal(err)
	}
	var m []any
	if err := msgpack.Unmarshal(p, &m); err != nil || len(m) == 0 {
		rp.t.Fatalf("undecodable server message % x: %v", p, err)
	}
	m[0] = toInt(m[0])
	return m
}

// snapshot returns the tick and baseline of the next snapshot.
func (rp *rawPlayer) snapshot() (tick, baseline int) {
	rp.t.Helper()
	for {
		if m := rp.read(); m[0] == engine.KindSnapshot {
			body := m[1].([]any)
			return toInt(body[0]), toInt(body[1])
		}
	}
}

// TestInputCarriesAnAckLikeASeparateAck checks that [3, seq, input, tick] makes tick the
// baseline of the player's next delta, exactly as [3, seq, input] followed by [4, tick]
// does, and that without an acknowledgement the snapshots stay full.
func TestInputCarriesAnAckLikeASeparateAck(t *testing.T) {
	tests := []struct {
		name string
		ack  func(rp *rawPlayer, seq, tick int)
	}{
		{"separate ack", func(rp *rawPlayer, seq, tick int) {
			rp.send(engine.KindInput, seq, tallyInput{Add: 1})
			rp.send(engine.KindAck, tick)
		}},
		{"ack on the input", func(rp *rawPlayer, seq, tick int) {
			rp.send(engine.KindInput, seq, tallyInput{Add: 1}, tick)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := startEngine(t, engine.RoomConfig{TickRate: 60, SnapshotRate: 30}, engine.Options{})
			rp := te.rawJoin(t)
			acked, base := rp.snapshot()
			if base != 0 {
				t.Fatalf("first snapshot (tick %d) is a delta against %d", acked, base)
			}
			// Nothing acknowledged yet: the next snapshots are full too.
			for range 3 {
				if tick, base := rp.snapshot(); base != 0 {
					t.Fatalf("unacknowledged: snapshot of tick %d is a delta against %d", tick, base)
				}
			}
			// Send without an acknowledgement first, then with one: from the first delta on,
			// every snapshot is a delta against the acknowledged tick.
			rp.send(engine.KindInput, 1, tallyInput{Add: 1})
			tt.ack(rp, 2, acked)
			deadline := time.Now().Add(5 * time.Second)
			for {
				tick, base := rp.snapshot()
				if base == acked {
					break
				}
				if base != 0 || time.Now().After(deadline) {
					t.Fatalf("snapshot of tick %d is a delta against %d, want 0 until the ack of %d arrives, then %d", tick, base, acked, acked)
				}
			}
			for range 3 {
				if tick, base := rp.snapshot(); base != acked {
					t.Fatalf("snapshot of tick %d is a delta against %d, want %d (acknowledged)", tick, base, acked)
				}
			}
		})
	}
}

// TestMalformedInputAckIsRefusedWhole checks that an input whose fourth element is not a
// tick gets code 1 and is not applied, nor its acknowledgement taken, while nil means none.
func TestMalformedInputAckIsRefusedWhole(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{TickRate: 60, SnapshotRate: 30}, engine.Options{})
	rp := te.rawJoin(t)
	acked, _ := rp.snapshot()
	for _, bad := range []any{"30", -1, 1.5, uint64(1) << 32, []int{30}, map[string]int{"tick": 30}} {
		rp.send(engine.KindInput, 1, tallyInput{Add: 100}, bad)
		for {
			m := rp.read()
			if m[0] == engine.KindSnapshot && toInt(m[1].([]any)[1]) != 0 {
				t.Fatalf("fourth element %#v was taken as an acknowledgement", bad)
			}
			if m[0] == engine.KindInputAck {
				t.Fatalf("input with fourth element %#v was applied", bad)
			}
			if m[0] == engine.KindError {
				if code := toInt(m[1]); code != int(engine.CodeMalformed) {
					t.Fatalf("fourth element %#v answered code %d, want %d", bad, code, engine.CodeMalformed)
				}
				break
			}
		}
	}
	// Too many elements is malformed too.
	rp.send(engine.KindInput, 1, tallyInput{Add: 100}, acked, 0)
	for m := rp.read(); m[0] != engine.KindError; m = rp.read() {
		if m[0] == engine.KindInputAck {
			t.Fatal("a five-element input was applied")
		}
	}
	// nil is no acknowledgement; the input counts. Then one with a tick.
	rp.send(engine.KindInput, 1, tallyInput{Add: 2}, nil)
	rp.send(engine.KindInput, 2, tallyInput{Add: 3}, acked)
	deadline := time.Now().Add(5 * time.Second)
	var seq, base int
	for seq < 2 || base != acked {
		if time.Now().After(deadline) {
			t.Fatalf("inputs applied up to %d, baseline %d; want 2 and %d", seq, base, acked)
		}
		switch m := rp.read(); m[0] {
		case engine.KindInputAck:
			seq = toInt(m[1])
		case engine.KindSnapshot:
			base = toInt(m[1].([]any)[1])
		case engine.KindError:
			t.Fatalf("valid input answered %v", m)
		}
	}
	var total int64
	c := te.dial(t)
	if _, err := c.Join(ctx5(t), engine.JoinOptions{Game: "tally"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Request(ctx5(t), "total", nil, &total); err != nil || total != 5 {
		t.Fatalf("total %d (%v), want 5: only the two well-formed inputs count", total, err)
	}
}

// TestAckOfATickNotYetReachedIsIgnored: a client cannot have seen a snapshot of a tick the
// room has not run, and taking it would make every genuine acknowledgement after it look
// stale (the server keeps the highest).
func TestAckOfATickNotYetReachedIsIgnored(t *testing.T) {
	for _, onInput := range []bool{false, true} {
		te := startEngine(t, engine.RoomConfig{TickRate: 60, SnapshotRate: 30}, engine.Options{})
		rp := te.rawJoin(t)
		acked, _ := rp.snapshot()
		future := acked + 1_000_000
		if onInput {
			rp.send(engine.KindInput, 1, tallyInput{Add: 1}, future)
			rp.send(engine.KindInput, 2, tallyInput{Add: 1}, acked)
		} else {
			rp.send(engine.KindAck, future)
			rp.send(engine.KindAck, acked)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			tick, base := rp.snapshot()
			if base == acked {
				break
			}
			if base != 0 || time.Now().After(deadline) {
				t.Fatalf("on input %v: after acks of %d then %d, snapshot of tick %d is a delta against %d", onInput, future, acked, tick, base)
			}
		}
	}
}
