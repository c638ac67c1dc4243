package engine

import (
	"log/slog"
	"math"
	"net"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// pipePlayer is a room driven by hand with one player on an in-memory connection, whose
// client end the test reads.
type pipePlayer struct {
	t   *testing.T
	rc  *roomCore
	p   *Player
	cli *ws.Conn
	seq uint32
	in  []byte
	dec *msgpack.Decoder
	br  *byteReader
}

func newPipePlayer(t *testing.T) *pipePlayer {
	e := New(Options{Clock: &FakeClock{}, Logger: slog.New(slog.DiscardHandler)})
	cfg, err := RoomConfig{TickRate: 60, SnapshotRate: 30, MaxPlayers: 2, EmptyTimeout: -1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	rc := newRoomCore(e, "arena", cfg, CreateOptions{})
	rc.sim = &Room[arenaInput]{core: rc, game: &arena{}}
	if err := rc.sim.start(); err != nil {
		t.Fatal(err)
	}
	in, _ := msgpack.Marshal(arenaInput{DX: 1})
	pp := &pipePlayer{t: t, rc: rc, in: in, dec: msgpack.NewDecoder(nil), br: &byteReader{}}
	srv := pp.dial()
	reply := make(chan joinResult, 1)
	rc.enqueue(command{kind: cmdJoin, conn: srv, reply: reply})
	rc.step(false)
	res := <-reply
	if res.err != nil {
		t.Fatal(res.err)
	}
	pp.p = res.player
	pp.expect(KindJoined)
	return pp
}

// dial makes a new connection: the server end is returned, the client end kept for reading.
func (pp *pipePlayer) dial() *ws.Conn {
	a, b := net.Pipe()
	lim := ws.Limits{PingInterval: -1, IdleTimeout: -1}
	srv := ws.NewConn(a, true, Subprotocol, lim, new(ws.Metrics))
	pp.cli = ws.NewConn(b, false, Subprotocol, lim, new(ws.Metrics))
	cli := pp.cli
	pp.t.Cleanup(func() { srv.CloseNow(); cli.CloseNow() })
	return srv
}

// read returns the next message the client end gets.
func (pp *pipePlayer) read() []any {
	pp.t.Helper()
	_ = pp.cli.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := pp.cli.ReadMessage()
	if err != nil {
		pp.t.Fatal(err)
	}
	var m []any
	if err := msgpack.Unmarshal(data, &m); err != nil || len(m) == 0 {
		pp.t.Fatalf("undecodable message % x: %v", data, err)
	}
	return m
}

func (pp *pipePlayer) expect(kind int) []any {
	pp.t.Helper()
	m := pp.read()
	if uintOf(m[0]) != uint64(kind) {
		pp.t.Fatalf("got %v, want a message of kind %d", m, kind)
	}
	return m
}

// snapshot runs the room to its next snapshot and returns that snapshot's tick and the
// last_seq of the input acknowledgement that came right before it (0 for none).
func (pp *pipePlayer) snapshot() (tick, ackSeq uint32) {
	pp.t.Helper()
	for pp.rc.step(false); pp.rc.tick%uint32(pp.rc.cfg.snapshotEvery()) != 0; pp.rc.step(false) {
	}
	m := pp.read()
	if uintOf(m[0]) == KindInputAck {
		if len(m) != 3 || uintOf(m[2]) != uint64(pp.rc.tick) {
			pp.t.Fatalf("input acknowledgement %v before the snapshot of tick %d", m, pp.rc.tick)
		}
		ackSeq = uint32(uintOf(m[1]))
		m = pp.read()
	}
	if uintOf(m[0]) != KindSnapshot {
		pp.t.Fatalf("got %v, want the snapshot of tick %d", m, pp.rc.tick)
	}
	return pp.rc.tick, ackSeq
}

// uintOf is a decoded MessagePack integer of any width; anything else is MaxUint64.
func uintOf(v any) uint64 {
	switch x := v.(type) {
	case int8:
		return uint64(x)
	case int16:
		return uint64(x)
	case int32:
		return uint64(x)
	case int64:
		return uint64(x)
	case uint8:
		return uint64(x)
	case uint16:
		return uint64(x)
	case uint32:
		return uint64(x)
	case uint64:
		return x
	}
	return math.MaxUint64
}

// TestInputAckGoesOnlyWhenItChanged: [19, last_seq, tick] goes before a snapshot when
// last_seq changed since the one the connection was last sent, and with every snapshot
// after that until the client acknowledges a snapshot that went with it (before that, the
// unit carrying it may have been replaced unwritten). A new connection numbers its inputs
// from 1 again, so it starts with nothing acknowledged.
func TestInputAckGoesOnlyWhenItChanged(t *testing.T) {
	pp := newPipePlayer(t)
	steps := []struct {
		name   string
		input  bool // send the next input before the snapshot
		ackOf  int  // the client acknowledges the snapshot of this earlier step first (-1: none)
		rejoin bool // the player comes back on a new connection first
		want   uint32
	}{
		{"no input yet: nothing to acknowledge", false, -1, false, 0},
		{"input 1 applied", true, -1, false, 1},
		{"unchanged, but no snapshot that carried it was acknowledged", false, -1, false, 1},
		{"only a snapshot from before it was acknowledged", false, 0, false, 1},
		{"a snapshot that carried it was acknowledged", false, 2, false, 0},
		{"still unchanged", false, -1, false, 0},
		{"input 2 applied", true, -1, false, 2},
		{"acknowledged at once", false, 6, false, 0},
		{"a new connection has nothing acknowledged", false, -1, true, 0},
		{"nor after it acknowledges", false, 8, false, 0},
		{"input 1 on the new connection", true, -1, false, 1},
		{"unchanged until acknowledged", false, -1, false, 1},
	}
	ticks := make([]uint32, len(steps))
	for i, s := range steps {
		if s.rejoin {
			reply := make(chan joinResult, 1)
			pp.rc.enqueue(command{kind: cmdRejoin, conn: pp.dial(), player: pp.p, reply: reply})
			pp.rc.step(false)
			if res := <-reply; res.err != nil {
				t.Fatal(res.err)
			}
			pp.expect(KindJoined)
			pp.seq = 0 // numbering is per connection
		}
		if s.ackOf >= 0 {
			pp.p.ackTick.Store(ticks[s.ackOf])
		}
		if s.input {
			pp.seq++
			pp.br.reset(pp.in)
			pp.dec.Reset(pp.br)
			if err := pp.rc.sim.pushInput(pp.p, pp.seq, state.View{}, pp.in, pp.dec, &pp.br.scratch); err != nil {
				t.Fatal(err)
			}
		}
		var got uint32
		ticks[i], got = pp.snapshot()
		if got != s.want {
			t.Fatalf("step %d (%s): acknowledgement of seq %d before the snapshot of tick %d, want %d (0: none)",
				i, s.name, got, ticks[i], s.want)
		}
	}
}
