package cluster_test

import (
	"errors"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/cluster"
	"github.com/rallypoint/rallypoint/match"
)

// TestNATSRestart stops the NATS server and starts it again on the same address and
// directory: the nodes reconnect and re-announce themselves and their rooms; codes, kept on
// disk, are still there.
func TestNATSRestart(t *testing.T) {
	s := startNATS(t)
	a := join(t, s, "a", nil)
	b := join(t, s, "b", nil)
	ctx := ctxT(t)
	if err := a.PublishRoom(ctx, match.Entry{ID: "ra", Game: "g", MaxPlayers: 4}); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateCode(ctx, "KEEPME", "ra"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testTimeout, "b lists a's room", func() bool { _, ok := b.Room("ra"); return ok })

	s.stop()
	// Cut off, a node says so, and its view fades: it offers no room of a node it cannot
	// hear.
	waitFor(t, testTimeout, "b knows it is cut off", func() bool { return !b.Synced() })
	waitFor(t, 2*testTimeout, "b's view fades", func() bool { _, ok := b.Room("ra"); return len(b.Nodes()) == 1 && !ok })
	if _, err := a.ResolveCode(ctx, "KEEPME"); !errors.Is(err, cluster.ErrNotSynced) {
		t.Errorf("resolve while NATS is down: %v, want ErrNotSynced at once", err)
	}

	s.start(t, s.addr)
	back := time.Now()
	for _, n := range []*cluster.Node{a, b} {
		waitFor(t, 5*time.Second, n.ID()+" reconnected and sees both", func() bool {
			return n.Synced() && len(n.Nodes()) == 2
		})
	}
	waitFor(t, testTimeout, "b lists a's room again", func() bool {
		r, ok := b.Room("ra")
		return ok && r.Node == "a"
	})
	t.Logf("cluster whole again %v after NATS came back", time.Since(back))

	// Hard state survived.
	if r, err := b.ResolveCode(ctx, "KEEPME"); err != nil || r.ID != "ra" {
		t.Errorf("code after the restart: %+v %v", r, err)
	}
	// And a node joining now sees everyone at once.
	c := join(t, s, "c", nil)
	if got := len(c.Nodes()); got != 3 {
		t.Errorf("c joining after the restart sees %d nodes", got)
	}
	if _, ok := c.Room("ra"); !ok {
		t.Error("c joining after the restart does not list a's room")
	}
}
