package engine

import (
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/net/ws"
)

// TestClaimedSeatStaysTakenUntilItsJoinArrives: a session claims a reservation, then queues
// its join; in between, the claimed seat must not look free. A quick player (or another
// node's reservation) that came first took it before this test was written, and the
// claimant was refused "the room is full" (a flake of the cluster quick-play burst test).
func TestClaimedSeatStaysTakenUntilItsJoinArrives(t *testing.T) {
	e := New(Options{Clock: &FakeClock{}, Logger: slog.New(slog.DiscardHandler)})
	cfg, err := RoomConfig{TickRate: 60, SnapshotRate: 30, MaxPlayers: 2, EmptyTimeout: -1, AckWindow: -1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	rc := newRoomCore(e, "arena", cfg, CreateOptions{})
	rc.sim = &Room[arenaInput]{core: rc, game: &arena{}}
	if err := rc.sim.start(); err != nil {
		t.Fatal(err)
	}
	lim := ws.Limits{PingInterval: -1, IdleTimeout: -1}
	join := func(session string, claimed bool) (*Player, error) {
		t.Helper()
		a, b := net.Pipe()
		srv, cli := ws.NewConn(a, true, Subprotocol, lim, new(ws.Metrics)), ws.NewConn(b, false, Subprotocol, lim, new(ws.Metrics))
		t.Cleanup(func() { srv.CloseNow(); cli.CloseNow() })
		go func() { // drain what the room sends
			for {
				if _, _, err := cli.ReadMessage(); err != nil {
					return
				}
			}
		}()
		reply := make(chan joinResult, 1)
		rc.enqueue(command{kind: cmdJoin, conn: srv, reply: reply, session: session, claimed: claimed})
		rc.step(false)
		res := <-reply
		if res.err != nil {
			return nil, res.err
		}
		return res.player, nil
	}
	if _, err := join("first", false); err != nil {
		t.Fatal(err)
	}
	rs, err := e.lobby.res.Reserve(rc.id, []string{"matched"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.lobby.res.Claim(rs[0].Token, "matched"); err != nil {
		t.Fatal(err)
	}
	// The claim ran; the claimant's join is still on its way.
	if got := rc.reservedSeats(); got != 1 {
		t.Fatalf("reservedSeats = %d while a claimed join is on its way, want 1", got)
	}
	rc.publishInfo()
	if info := rc.info.Load(); info.Players+info.Held != 2 {
		t.Fatalf("room lists %d players + %d held, want both seats taken", info.Players, info.Held)
	}
	var re *Error
	if _, err := join("quick", false); !errors.As(err, &re) || re.Code != CodeFull {
		t.Fatalf("a join racing the claimant got %v, want code %d (full)", err, CodeFull)
	}
	p, err := join("matched", true)
	if err != nil {
		t.Fatalf("the claimant was refused: %v", err)
	}
	if got := rc.reservedSeats(); got != 0 {
		t.Fatalf("reservedSeats = %d with the claimant seated, want 0", got)
	}
	rc.removePlayer(p, LeftByChoice)
	if got, free := rc.reservedSeats(), cfg.MaxPlayers-len(rc.players); got != 0 || free != 1 {
		t.Fatalf("after the claimant left: reservedSeats %d, free seats %d; want 0 and 1", got, free)
	}
	if e.lobby.res.Holds("matched") {
		t.Fatal("the claimant's seat outlived its leaving")
	}
}
