package cluster_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/cluster"
)

// threeNodes joins a, b and c and waits until each sees the other two.
func threeNodes(t *testing.T, s *natsServer) []*cluster.Node {
	t.Helper()
	nodes := []*cluster.Node{join(t, s, "a", nil), join(t, s, "b", nil), join(t, s, "c", nil)}
	for _, n := range nodes {
		waitFor(t, testTimeout, n.ID()+" sees all", func() bool { return len(n.Nodes()) == 3 })
	}
	return nodes
}

// TestSeatRaceGrantsExactlyTheFreeSeats sends 50 simultaneous reservations, spread over three
// nodes, into a room on b with 8 free seats.
func TestSeatRaceGrantsExactlyTheFreeSeats(t *testing.T) {
	s := startNATS(t)
	nodes := threeNodes(t, s)
	b := nodes[1]
	ctx := ctxT(t)
	const room, capacity, seated = "race", 10, 2 // 8 free
	if err := b.SetSeats(ctx, room, capacity, seated); err != nil {
		t.Fatal(err)
	}

	type result struct {
		res cluster.Reservation
		err error
	}
	results := make([]result, 50)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := nodes[i%3].Reserve(ctx, room, fmt.Sprintf("player-%d", i), time.Minute)
			results[i] = result{res, err}
		}()
	}
	close(start)
	wg.Wait()

	var granted []cluster.Reservation
	for i, r := range results {
		switch {
		case r.err == nil:
			granted = append(granted, r.res)
		case !errors.Is(r.err, cluster.ErrRoomFull):
			t.Errorf("reservation %d refused with %v, want ErrRoomFull", i, r.err)
		}
	}
	if len(granted) != capacity-seated {
		t.Fatalf("granted %d reservations for %d free seats", len(granted), capacity-seated)
	}
	byNode := map[string]int{}
	for i, r := range results {
		if r.err == nil {
			byNode[nodes[i%3].ID()]++
		}
	}
	t.Logf("granted through a/b/c: %d/%d/%d", byNode["a"], byNode["b"], byNode["c"])
	for _, r := range granted {
		if r.Node != "b" || r.URL != "ws://b.example:8080/ws" || r.Token == "" {
			t.Errorf("reservation %+v: want node b, its URL and a token", r)
		}
	}
	if _, err := nodes[2].Reserve(ctx, room, "late", time.Minute); !errors.Is(err, cluster.ErrRoomFull) {
		t.Errorf("one more: %v, want ErrRoomFull", err)
	}
	// The message says what happened, for a log or a client.
	if _, err := nodes[0].Reserve(ctx, room, "later", time.Minute); err == nil || err.Error() != `cluster: reserve a seat in race for "later": cluster: room full` {
		t.Errorf("error text: %v", err)
	}

	// A reservation is valid on its node only.
	if _, err := nodes[0].Claim(ctx, room, granted[0].Token); !errors.Is(err, cluster.ErrWrongNode) {
		t.Errorf("claim on a: %v, want ErrWrongNode", err)
	}
	player, err := b.Claim(ctx, room, granted[0].Token)
	if err != nil || player != granted[0].Player {
		t.Errorf("claim on b: %q, %v; want %q", player, err, granted[0].Player)
	}
	if _, err := b.Claim(ctx, room, granted[0].Token); !errors.Is(err, cluster.ErrNoSeat) {
		t.Errorf("second claim of one token: %v, want ErrNoSeat", err)
	}
	// A claimed seat is taken, not free: still full.
	if _, err := nodes[2].Reserve(ctx, room, "late", time.Minute); !errors.Is(err, cluster.ErrRoomFull) {
		t.Errorf("after a claim: %v, want ErrRoomFull", err)
	}
	// A cancelled one is free again.
	if err := nodes[2].Cancel(ctx, granted[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[2].Reserve(ctx, room, "late", time.Minute); err != nil {
		t.Errorf("after a cancel: %v", err)
	}
}

func TestReservationsExpire(t *testing.T) {
	s := startNATS(t)
	nodes := threeNodes(t, s)
	a, c := nodes[0], nodes[2]
	ctx := ctxT(t)
	if err := a.SetSeats(ctx, "r", 1, 0); err != nil {
		t.Fatal(err)
	}
	const ttl = 300 * time.Millisecond
	first, err := c.Reserve(ctx, "r", "p1", ttl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reserve(ctx, "r", "p2", ttl); !errors.Is(err, cluster.ErrRoomFull) {
		t.Fatalf("second player: %v, want ErrRoomFull", err)
	}
	// The same player asking again gets the same seat back, not a second one.
	again, err := c.Reserve(ctx, "r", "p1", ttl)
	if err != nil || again.Token != first.Token {
		t.Fatalf("p1 again: %+v %v, want the first reservation", again, err)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	if _, err := a.Claim(ctx, "r", first.Token); !errors.Is(err, cluster.ErrNoSeat) {
		t.Errorf("claim after expiry: %v, want ErrNoSeat", err)
	}
	if _, err := c.Reserve(ctx, "r", "p2", ttl); err != nil {
		t.Errorf("after expiry the seat is free: %v", err)
	}
}

func TestSetSeatsKeepsReservations(t *testing.T) {
	s := startNATS(t)
	a := join(t, s, "a", nil)
	ctx := ctxT(t)
	if err := a.SetSeats(ctx, "r", 4, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Reserve(ctx, "r", "p1", time.Minute); err != nil {
		t.Fatal(err)
	}
	// The room's count changes (two more players): the reservation stays on top.
	if err := a.SetSeats(ctx, "r", 4, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Reserve(ctx, "r", "p2", time.Minute); !errors.Is(err, cluster.ErrRoomFull) {
		t.Errorf("3 taken + 1 reserved of 4: %v, want ErrRoomFull", err)
	}
	if err := a.CloseSeats(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Reserve(ctx, "r", "p2", time.Minute); !errors.Is(err, cluster.ErrNoRoom) {
		t.Errorf("closed room: %v, want ErrNoRoom", err)
	}
	if _, err := a.Reserve(ctx, "nowhere", "p", time.Minute); !errors.Is(err, cluster.ErrNoRoom) {
		t.Errorf("unknown room: %v, want ErrNoRoom", err)
	}
}
