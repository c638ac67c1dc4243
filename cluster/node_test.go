package cluster_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rallypoint/rallypoint/cluster"
	"github.com/rallypoint/rallypoint/match"
)

func TestNodesSeeEachOther(t *testing.T) {
	s := startNATS(t)
	a := join(t, s, "a", nil)
	b := join(t, s, "b", nil)
	waitFor(t, testTimeout, "a sees b", func() bool { return slices.Equal(ids(a.Nodes()), []string{"a", "b"}) })

	// A late joiner holds the current set as soon as Join returns: the KV watch hands it over.
	c := join(t, s, "c", nil)
	if got := ids(c.Nodes()); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("c right after joining sees %v, want a b c", got)
	}
	for _, n := range []*cluster.Node{a, b} {
		waitFor(t, testTimeout, n.ID()+" sees c", func() bool { return len(n.Nodes()) == 3 })
	}
	info, ok := a.NodeByID("c")
	if !ok || info.URL != "ws://c.example:8080/ws" {
		t.Errorf("a's view of c: %+v %v", info, ok)
	}
}

func TestNodeAnnouncesItsLoad(t *testing.T) {
	s := startNATS(t)
	load := cluster.Load{Players: 42, Rooms: 3, CPU: 0.25}
	a := join(t, s, "a", func(o *cluster.Options) {
		o.MaxPlayers, o.MaxRooms = 100, 10
		o.Load = func() cluster.Load { return load }
	})
	b := join(t, s, "b", nil)
	waitFor(t, 2*testInterval+testTimeout, "b sees a's load", func() bool {
		info, ok := b.NodeByID("a")
		return ok && info.Load == load && info.MaxPlayers == 100 && info.MaxRooms == 10
	})

	// Without a Load callback, a node counts the rooms it published.
	ctx := ctxT(t)
	for _, e := range []match.Entry{
		{ID: "r1", Game: "g", Players: 3, Held: 1, MaxPlayers: 8},
		{ID: "r2", Game: "g", Players: 2, MaxPlayers: 8},
	} {
		if err := b.PublishRoom(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 2*testInterval+testTimeout, "a sees b's counted load", func() bool {
		info, ok := a.NodeByID("b")
		return ok && info.Load == cluster.Load{Players: 6, Rooms: 2}
	})
}

// TestNodeStoppedWithoutGoodbyeDisappears kills a node's NATS connection, as a SIGKILL of
// its process would: no goodbye is sent, heartbeats just stop.
func TestNodeStoppedWithoutGoodbyeDisappears(t *testing.T) {
	s := startNATS(t)
	a := join(t, s, "a", nil)
	b := join(t, s, "b", nil)
	c := join(t, s, "c", nil)
	ctx := ctxT(t)
	if err := c.PublishRoom(ctx, match.Entry{ID: "room-on-c", Game: "g", MaxPlayers: 4}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*cluster.Node{a, b} {
		waitFor(t, testTimeout, n.ID()+" lists c's room", func() bool {
			r, ok := n.Room("room-on-c")
			return ok && r.Node == "c" && r.URL == "ws://c.example:8080/ws" && len(n.Nodes()) == 3
		})
	}

	c.Conn().Close()
	stopped := time.Now()
	// Gone within the timeout after its last heartbeat, which came before the stop, plus a
	// little for a busy machine.
	within := testTimeout + 200*time.Millisecond
	for _, n := range []*cluster.Node{a, b} {
		waitFor(t, within-time.Since(stopped), n.ID()+" forgets c", func() bool {
			_, seen := n.NodeByID("c")
			_, listed := n.Room("room-on-c")
			return !seen && !listed && len(n.Rooms(match.Filter{})) == 0
		})
	}
	t.Logf("c gone from a and b %v after its connection closed (timeout %v)", time.Since(stopped), testTimeout)

	// The janitor (a, the smallest id) soon deletes its records.
	waitFor(t, testTimeout, "the janitor deletes c's records", func() bool {
		return len(bucketKeys(t, s, "rallypoint_rooms")) == 0
	})
	// And the others carry on: a and b still see each other.
	if got := ids(a.Nodes()); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("a sees %v", got)
	}
}

func TestCloseSaysGoodbye(t *testing.T) {
	s := startNATS(t)
	a := join(t, s, "a", nil)
	b := join(t, s, "b", nil)
	waitFor(t, testTimeout, "a sees b", func() bool { return len(a.Nodes()) == 2 })
	if err := b.PublishRoom(ctxT(t), match.Entry{ID: "r", Game: "g", MaxPlayers: 2}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testTimeout, "a lists b's room", func() bool { _, ok := a.Room("r"); return ok })
	if err := b.Close(ctxT(t)); err != nil {
		t.Fatalf("close: %v", err)
	}
	// Goodbye is a delete: seen at once, well before the timeout would have done it.
	waitFor(t, testTimeout/2, "a forgets b", func() bool {
		_, ok := a.Room("r")
		return len(a.Nodes()) == 1 && !ok
	})
	if err := b.Close(ctxT(t)); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// TestNodesJoinAndLeaveAtRunTime rejoins a node under the same id: it takes back its place,
// and its records of a previous life (a room it no longer has) are cleaned away.
func TestNodesJoinAndLeaveAtRunTime(t *testing.T) {
	s := startNATS(t)
	a := join(t, s, "a", nil)
	b1 := join(t, s, "b", nil)
	ctx := ctxT(t)
	if err := b1.PublishRoom(ctx, match.Entry{ID: "old", Game: "g", MaxPlayers: 2}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testTimeout, "a lists b's room", func() bool { _, ok := a.Room("old"); return ok })
	b1.Conn().Close() // crash
	waitFor(t, 2*testTimeout, "a forgets b", func() bool { return len(a.Nodes()) == 1 })

	b2 := join(t, s, "b", nil)
	waitFor(t, testTimeout, "a sees b again", func() bool { return len(a.Nodes()) == 2 })
	if _, ok := b2.Room("old"); ok {
		t.Error("the restarted b lists the room of its previous life")
	}
	time.Sleep(2 * testInterval)
	if _, ok := a.Room("old"); ok {
		t.Error("a lists the room b had before it restarted")
	}
}

func TestDrainingNodeTakesNoNewRooms(t *testing.T) {
	s := startNATS(t)
	a := join(t, s, "a", func(o *cluster.Options) { o.MaxPlayers = 1000 })
	b := join(t, s, "b", func(o *cluster.Options) { o.MaxPlayers = 100 })
	waitFor(t, testTimeout, "b sees a", func() bool { return len(b.Nodes()) == 2 })
	if got, err := b.PickNode("g"); err != nil || got.ID != "a" {
		t.Fatalf("before draining b picks %q (%v), want a (more headroom)", got.ID, err)
	}
	a.SetDraining(true)
	waitFor(t, testTimeout, "b sees a draining", func() bool {
		info, _ := b.NodeByID("a")
		return info.Draining
	})
	if got, err := b.PickNode("g"); err != nil || got.ID != "b" {
		t.Errorf("with a draining, b picks %q (%v), want b", got.ID, err)
	}
	if got, err := a.PickNode("g"); err != nil || got.ID != "b" {
		t.Errorf("a itself, draining, picks %q (%v), want b", got.ID, err)
	}
	b.SetDraining(true)
	waitFor(t, testTimeout, "a sees b draining", func() bool {
		info, _ := a.NodeByID("b")
		return info.Draining
	})
	if _, err := a.PickNode("g"); !errors.Is(err, cluster.ErrNoNode) {
		t.Errorf("every node draining: %v, want ErrNoNode", err)
	}
}

func TestJoinRejectsBadOptions(t *testing.T) {
	s := startNATS(t)
	for _, tc := range []struct {
		name string
		opts cluster.Options
	}{
		{"no id", cluster.Options{URL: "ws://x"}},
		{"dot in id", cluster.Options{ID: "a.b", URL: "ws://x"}},
		{"no url", cluster.Options{ID: "a"}},
		{"timeout under two intervals", cluster.Options{ID: "a", URL: "ws://x", Interval: time.Second, Timeout: 1500 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := cluster.Connect(ctxT(t), s.url, tc.opts)
			if err == nil {
				_ = n.Close(ctxT(t))
				t.Fatal("no error")
			}
		})
	}
}

// TestRoomRecordDeletedByAnotherIsRestored plays a janitor that took b for gone (a long pause):
// b finds its room's record deleted and writes it again.
func TestRoomRecordDeletedByAnotherIsRestored(t *testing.T) {
	s := startNATS(t)
	a := join(t, s, "a", nil)
	b := join(t, s, "b", nil)
	ctx := ctxT(t)
	if err := b.PublishRoom(ctx, match.Entry{ID: "r", Game: "g", MaxPlayers: 4}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testTimeout, "a lists b's room", func() bool { _, ok := a.Room("r"); return ok })

	if err := rawBucket(t, s, "rallypoint_rooms").Delete(ctx, "b.r"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testTimeout, "b restores its record", func() bool {
		_, listed := a.Room("r")
		return listed && len(bucketKeys(t, s, "rallypoint_rooms")) == 1
	})
}

// TestJoinOverTheCallersConnection joins over a connection the caller keeps: Close says
// goodbye but leaves the connection open.
func TestJoinOverTheCallersConnection(t *testing.T) {
	s := startNATS(t)
	a := join(t, s, "a", nil)
	nc, err := nats.Connect(s.url, nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b, err := cluster.Join(ctxT(t), nc, cluster.Options{ID: "b", URL: "ws://b", Interval: testInterval, Timeout: testTimeout, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(b.Nodes()); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("b sees %v", got)
	}
	if err := b.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if !nc.IsConnected() {
		t.Error("Close closed the caller's connection")
	}
	waitFor(t, testTimeout/2, "a forgets b", func() bool { return len(a.Nodes()) == 1 })
}

// TestSuspectedNodeLeavesAtOnceAndAWrongSuspicionHeals: Suspect drops a node and its rooms
// from the view at once, as expiry would after Timeout; the node, alive after all, is back
// with its room at its next heartbeat (its swept record written again).
func TestSuspectedNodeLeavesAtOnceAndAWrongSuspicionHeals(t *testing.T) {
	s := startNATS(t)
	a := join(t, s, "a", nil)
	b := join(t, s, "b", nil)
	if err := b.PublishRoom(ctxT(t), match.Entry{ID: "r", Game: "g", MaxPlayers: 4}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testTimeout, "a lists b's room", func() bool { _, ok := a.Room("r"); return ok })
	if !a.Suspect("b") {
		t.Fatal("Suspect(b) says b was not in the view")
	}
	if _, ok := a.NodeByID("b"); ok {
		t.Fatal("b is still in a's view")
	}
	if _, ok := a.Room("r"); ok {
		t.Fatal("b's room is still listed by a")
	}
	if a.Suspect("b") || a.Suspect("nobody") || a.Suspect("a") {
		t.Fatal("Suspect of a node not in the view (or of itself) reported one")
	}
	waitFor(t, testTimeout, "b back in a's view with its room", func() bool {
		_, seen := a.NodeByID("b")
		_, listed := a.Room("r")
		return seen && listed && len(bucketKeys(t, s, "rallypoint_rooms")) == 1
	})
}
