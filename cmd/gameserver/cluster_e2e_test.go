//go:build linux

package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/internal/peertest"
)

// clusterE2ETimeout bounds the cluster browser run: a page load, two walks and a drain.
const clusterE2ETimeout = 90 * time.Second

type clusterSeat struct {
	Room     string `json:"room"`
	Player   int    `json:"player"`
	NodeURL  string `json:"nodeUrl"`
	EntryURL string `json:"entryUrl"`
}

type clusterWalk struct {
	Key      string  `json:"key"`
	Distance float64 `json:"distance"`
	Frames   int     `json:"frames"`
}

type clusterResult struct {
	First     clusterSeat `json:"first"`
	FirstWalk clusterWalk `json:"firstWalk"`
	Moves     []struct {
		URL     string `json:"url"`
		Room    string `json:"room"`
		ReadyMs int    `json:"readyMs"`
	} `json:"moves"`
	Second     clusterSeat `json:"second"`
	SecondWalk clusterWalk `json:"secondWalk"`
}

// TestBrowserPlaysAcrossTheCluster opens the shooter page in Chromium through one node of a
// two-node cluster while the only arena with a free seat is on the other: the page, its
// code unchanged, plays there (its socket on that node, the server moving its player). Then
// that node is drained (SIGTERM): the page is moved to a new arena on the entry node and
// plays on, without a reload.
func TestBrowserPlaysAcrossTheCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsAddr := ln.Addr().String()
	ln.Close()
	a := startNode(t, clusterOptions{natsListen: natsAddr, natsDir: t.TempDir(), nodeID: "a", drain: 500 * time.Millisecond})
	eventually(t, "a is up", func() bool {
		_, err := http.Get("http://" + a.addr + "/healthz")
		return err == nil
	})
	b := startNode(t, clusterOptions{natsURL: "nats://" + natsAddr, nodeID: "b", drain: 500 * time.Millisecond})
	for _, n := range []*gsNode{a, b} {
		eventually(t, n.addr+" sees two nodes", func() bool {
			return strings.Contains(n.get(t, "/metrics"), "rallypoint_cluster_nodes 2")
		})
	}

	// A player of our own opens an arena wherever placement puts it: the host.
	p := dialPlay(t, a.url())
	p.send(engine.KindJoin, 1, engine.JoinOptions{Game: "shooter", Create: true})
	m := p.next(engine.KindJoined, engine.KindRedirect, engine.KindResponse)
	host, entry := a, b
	if m[0] == engine.KindRedirect {
		if m[2] != b.url() {
			t.Fatalf("redirected to %v, want b's %s", m[2], b.url())
		}
		host, entry = b, a
		p.c.CloseNow()
		p = dialPlay(t, host.url())
		p.send(engine.KindJoin, 1, engine.JoinOptions{Reservation: m[3].(string)})
		m = p.next(engine.KindJoined, engine.KindResponse)
	}
	if m[0] != engine.KindJoined {
		t.Fatalf("create through a: %v", m)
	}
	arena := m[2].(string)
	go func() { // keep reading, so that the player stays connected
		for {
			if _, _, err := p.c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	eventually(t, "the entry node lists the arena", func() bool {
		return strings.Contains(entry.get(t, "/rooms?game=shooter"), arena)
	})

	drained := make(chan struct{})
	run := runDriver(t, driverRun{
		timeout: clusterE2ETimeout, out: t.TempDir(), scenarios: "cluster", url: "http://" + entry.addr,
		during: func(ctx context.Context, d *peertest.Process) {
			defer close(drained)
			if _, err := d.AwaitEvent(ctx, "cluster-playing"); err != nil {
				return // the scenario's result says why
			}
			p.c.CloseNow() // our own player leaves with the node; only the page matters
			host.stop(t)
		},
	})
	<-drained
	var r clusterResult
	run.result(t, "cluster", &r)
	diag := run.diagnostics("cluster")
	t.Logf("first: %+v walked %+v; moves %+v; second: %+v walked %+v", r.First, r.FirstWalk, r.Moves, r.Second, r.SecondWalk)
	if r.First.EntryURL != entry.url() || r.First.NodeURL != host.url() || r.First.Room != arena {
		t.Errorf("the page opened through %s played in %s on %s, want the arena %s on %s\n%s", r.First.EntryURL, r.First.Room, r.First.NodeURL, arena, host.url(), diag)
	}
	if r.FirstWalk.Distance <= 1 || r.FirstWalk.Frames <= 0 {
		t.Errorf("on the redirected node the player did not move (%+v)\n%s", r.FirstWalk, diag)
	}
	if len(r.Moves) != 1 || r.Moves[0].URL != entry.url() {
		t.Fatalf("after draining %s the page was moved %+v, want once to %s\n%s", host.url(), r.Moves, entry.url(), diag)
	}
	if r.Second.NodeURL != entry.url() || r.Second.Room != r.Moves[0].Room || r.Second.Room == arena {
		t.Errorf("after the move the page plays in %s on %s, want the new room %s on %s\n%s", r.Second.Room, r.Second.NodeURL, r.Moves[0].Room, entry.url(), diag)
	}
	if r.SecondWalk.Distance <= 1 || r.SecondWalk.Frames <= 0 {
		t.Errorf("after the move the player did not move (%+v)\n%s", r.SecondWalk, diag)
	}
}
