package cluster_test

import (
	"errors"
	"testing"

	"github.com/rallypoint/rallypoint/cluster"
	"github.com/rallypoint/rallypoint/match"
)

func TestPrivateCodesAreUniqueAcrossTheCluster(t *testing.T) {
	s := startNATS(t)
	nodes := threeNodes(t, s)
	a, b, c := nodes[0], nodes[1], nodes[2]
	ctx := ctxT(t)
	if err := a.PublishRoom(ctx, match.Entry{ID: "secret", Game: "shooter", MaxPlayers: 4, Private: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateCode(ctx, "QX7KPM", "secret"); err != nil {
		t.Fatal(err)
	}
	// Any node resolves it, in any case.
	for _, code := range []string{"QX7KPM", "qx7kpm"} {
		r, err := c.ResolveCode(ctx, code)
		if err != nil || r.ID != "secret" || r.Node != "a" || r.URL != "ws://a.example:8080/ws" {
			t.Errorf("c resolves %s: %+v %v", code, r, err)
		}
	}
	waitFor(t, testTimeout, "c has the private room's entry", func() bool {
		r, err := c.ResolveCode(ctx, "QX7KPM")
		return err == nil && r.Game == "shooter" && r.Private
	})
	// A second create of the same code fails, from another node or the same one.
	for _, n := range []*cluster.Node{b, a} {
		if err := n.CreateCode(ctx, "qx7kpm", "other"); !errors.Is(err, cluster.ErrCodeTaken) {
			t.Errorf("%s creates a taken code: %v, want ErrCodeTaken", n.ID(), err)
		}
	}
	if _, err := b.ResolveCode(ctx, "NOSUCH"); !errors.Is(err, cluster.ErrCodeUnknown) {
		t.Errorf("unknown code: %v, want ErrCodeUnknown", err)
	}
	if err := a.CreateCode(ctx, "no.dots", "secret"); !errors.Is(err, cluster.ErrBadID) {
		t.Errorf("bad code: %v, want ErrBadID", err)
	}

	// Only its node releases a code; then it is free for anyone.
	if err := b.ReleaseCode(ctx, "QX7KPM"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ResolveCode(ctx, "QX7KPM"); err != nil {
		t.Errorf("b released a's code: %v", err)
	}
	if err := a.ReleaseCode(ctx, "QX7KPM"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ResolveCode(ctx, "QX7KPM"); !errors.Is(err, cluster.ErrCodeUnknown) {
		t.Errorf("released code: %v, want ErrCodeUnknown", err)
	}
	if err := b.CreateCode(ctx, "QX7KPM", "bs-room"); err != nil {
		t.Errorf("b takes the released code: %v", err)
	}
}

func TestCodeOfAGoneNodeIsFreeAgain(t *testing.T) {
	s := startNATS(t)
	nodes := threeNodes(t, s)
	a, b := nodes[0], nodes[1]
	ctx := ctxT(t)
	if err := b.CreateCode(ctx, "GONE42", "r"); err != nil {
		t.Fatal(err)
	}
	b.Conn().Close()
	waitFor(t, 2*testTimeout, "a forgets b", func() bool { _, ok := a.NodeByID("b"); return !ok })
	if _, err := a.ResolveCode(ctx, "GONE42"); !errors.Is(err, cluster.ErrNodeGone) {
		t.Errorf("code of a gone node: %v, want ErrNodeGone", err)
	}
	if err := a.CreateCode(ctx, "GONE42", "r2"); err != nil {
		t.Fatalf("a takes over the code: %v", err)
	}
	if r, err := nodes[2].ResolveCode(ctx, "GONE42"); err != nil || r.Node != "a" || r.ID != "r2" {
		t.Errorf("after the takeover: %+v %v", r, err)
	}
}
