package engine

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// TestLargeRoomSnapshotsReachEveryPlayer runs a room big enough for its snapshot writes to
// be spread over goroutines (parallelSendMin players and more) and checks every player gets
// the snapshot, led by their own input acknowledgement exactly when they sent an input.
func TestLargeRoomSnapshotsReachEveryPlayer(t *testing.T) {
	n := parallelSendMin + 7
	e := New(Options{Clock: &FakeClock{}, Logger: slog.New(slog.DiscardHandler)})
	// No acknowledgements: the test reads one snapshot per player, not the flow of them.
	cfg, err := RoomConfig{TickRate: 60, SnapshotRate: 30, MaxPlayers: n, EmptyTimeout: -1, AckWindow: -1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	rc := newRoomCore(e, "arena", cfg, CreateOptions{})
	rc.sim = &Room[arenaInput]{core: rc, game: &arena{}}
	if err := rc.sim.start(); err != nil {
		t.Fatal(err)
	}
	lim := ws.Limits{PingInterval: -1, IdleTimeout: -1}
	read := func(c *ws.Conn) []any {
		t.Helper()
		_ = c.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var m []any
		if err := msgpack.Unmarshal(data, &m); err != nil || len(m) == 0 {
			t.Fatalf("undecodable message % x: %v", data, err)
		}
		return m
	}
	clients := make([]*ws.Conn, n)
	players := make([]*Player, n)
	for i := range n {
		a, b := net.Pipe()
		srv := ws.NewConn(a, true, Subprotocol, lim, new(ws.Metrics))
		clients[i] = ws.NewConn(b, false, Subprotocol, lim, new(ws.Metrics))
		t.Cleanup(func() { srv.CloseNow(); clients[i].CloseNow() })
		reply := make(chan joinResult, 1)
		rc.enqueue(command{kind: cmdJoin, conn: srv, reply: reply})
		rc.step(false)
		res := <-reply
		if res.err != nil {
			t.Fatal(res.err)
		}
		players[i] = res.player
		if m := read(clients[i]); uintOf(m[0]) != KindJoined {
			t.Fatalf("player %d: got %v, want joined", i, m)
		}
	}
	in, _ := msgpack.Marshal(arenaInput{DX: 1})
	br, dec := &byteReader{}, msgpack.NewDecoder(nil)
	for i := 0; i < n; i += 3 { // every third player sends input 1
		br.reset(in)
		dec.Reset(br)
		if err := rc.sim.pushInput(players[i], 1, state.View{}, in, dec, &br.scratch); err != nil {
			t.Fatal(err)
		}
	}
	for rc.step(false); rc.tick%uint32(rc.cfg.snapshotEvery()) != 0; rc.step(false) {
	}
	for i, c := range clients {
		// Snapshots of the ticks that ran while the others joined may come first.
		m := read(c)
		for uintOf(m[0]) == KindSnapshot && snapshotTick(m) < uint64(rc.tick) {
			m = read(c)
		}
		if i%3 == 0 {
			if uintOf(m[0]) != KindInputAck || uintOf(m[1]) != 1 || uintOf(m[2]) != uint64(rc.tick) {
				t.Fatalf("player %d: got %v, want [19, 1, %d] before the snapshot", i, m, rc.tick)
			}
			m = read(c)
		}
		if uintOf(m[0]) != KindSnapshot {
			t.Fatalf("player %d: got %v, want the snapshot of tick %d", i, m, rc.tick)
		}
	}
	if len(rc.sends) != 0 || len(rc.leads) != 0 {
		t.Fatalf("send lists not emptied: %d sends, %d lead bytes", len(rc.sends), len(rc.leads))
	}
}

// snapshotTick is the tick of a decoded [18, [tick, baseline, ...]].
func snapshotTick(m []any) uint64 {
	if len(m) < 2 {
		return 0
	}
	body, ok := m[1].([]any)
	if !ok || len(body) == 0 {
		return 0
	}
	return uintOf(body[0])
}
