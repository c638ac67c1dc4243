package crossword_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/cluster"
	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/gameclient"
)

// clusterNode is a crossword node of a test cluster: an engine behind a real HTTP server,
// joined to an embedded NATS.
type clusterNode struct {
	e    *engine.Engine
	node *cluster.Node
	url  string
}

func startCrosswordCluster(t *testing.T, o crossword.Options) (a, b clusterNode) {
	t.Helper()
	natsURL, stop, err := cluster.Embedded(cluster.EmbeddedOptions{Addr: "127.0.0.1:0", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	nodes := make([]clusterNode, 2)
	for i := range nodes {
		e := engine.New(engine.Options{Logger: slog.New(slog.DiscardHandler)})
		if err := crossword.RegisterOptions(e, o); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(e)
		url := "ws" + strings.TrimPrefix(srv.URL, "http")
		node, err := cluster.Connect(ctx5(t), natsURL, cluster.Options{
			ID: fmt.Sprintf("node-%c", 'a'+i), URL: url, Load: e.Load,
			Interval: 100 * time.Millisecond, Timeout: time.Second, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.EnableCluster(engine.ClusterOptions{Node: node}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			e.Shutdown(ctx)
			node.Close(ctx)
			srv.Close()
		})
		nodes[i] = clusterNode{e, node, url}
	}
	waitFor(t, "both nodes see each other", func() bool {
		return len(nodes[0].node.Nodes()) == 2 && len(nodes[1].node.Nodes()) == 2
	})
	return nodes[0], nodes[1]
}

// TestAPuzzleMovesWithItsLettersWhenItsNodeDrains: a deploy does not start a puzzle over.
// Two players place letters and score a word on node B; B drains; each follows its 0x1C to
// node A, is the same player there, and finds the letters, who placed them and the
// scoreboard as they were, and plays on.
func TestAPuzzleMovesWithItsLettersWhenItsNodeDrains(t *testing.T) {
	small := builtin(t, "05-small-change") // HAT# / ORES / TEN#
	a, b := startCrosswordCluster(t, crossword.Options{Puzzles: []*crossword.Puzzle{small}})
	room, err := b.e.CreateRoom(crossword.Name, engine.CreateOptions{}) // on B: placement might pick A
	if err != nil {
		t.Fatal(err)
	}
	s := &server{url: b.url}
	ann, ja := s.join(t, "ann", room.ID)
	bob, jb := s.join(t, "bob", room.ID)
	for col, l := range []string{"O", "R", "E"} {
		typeLetter(t, ann, 1, col, l)
	}
	waitFor(t, "ann's letters", func() bool { l, _, _ := cellOf(bob, small, 1, 2); return l == "E" })
	typeLetter(t, bob, 1, 3, "S") // ORES: 4 points to bob
	waitFor(t, "bob's word on the scoreboard", func() bool {
		v, _ := boardOf(ann)
		return len(v.scoreboard) == 1 && v.scoreboard[0].ID == jb.Player && v.scoreboard[0].Score == 4
	})

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the drain's deadline has passed: move the room now
	if n := b.e.Drain(ctx); n != 2 {
		t.Fatalf("Drain moved %d players, want 2", n)
	}
	if got := b.e.Metrics().RoomsMoved.Load(); got != 1 {
		t.Fatalf("RoomsMoved = %d, want 1 (the crossword is Movable)", got)
	}
	var moved []*gameclient.Client
	for _, old := range []struct {
		c *gameclient.Client
		j gameclient.Joined
	}{{ann, ja}, {bob, jb}} {
		var ev gameclient.Event
		for ev = range old.c.Events() {
			if ev.Kind == engine.KindMoved {
				break
			}
		}
		if ev.Kind != engine.KindMoved || ev.URL != a.url {
			t.Fatalf("event %+v, want a move to %s", ev, a.url)
		}
		c, j, err := gameclient.DialJoin(ctx5(t), ev.URL, nil, engine.JoinOptions{Reservation: ev.Reservation})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Conn().CloseNow() })
		if j.Player != old.j.Player || j.Room != ev.Room {
			t.Fatalf("joined as %d in %s, want %d in %s", j.Player, j.Room, old.j.Player, ev.Room)
		}
		moved = append(moved, c)
	}
	ann, bob = moved[0], moved[1]
	for col, want := range "ORES" {
		waitFor(t, "the letters placed before the move", func() bool {
			l, by, _ := cellOf(ann, small, 1, col)
			wantBy := ja.Player
			if col == 3 {
				wantBy = jb.Player
			}
			return l == string(want) && by == wantBy
		})
	}
	waitFor(t, "the scoreboard kept, and both players at the board", func() bool {
		v, _ := boardOf(bob)
		return v.puzzle == small.ID && v.players == 2 && len(v.scoreboard) == 1 &&
			v.scoreboard[0].ID == jb.Player && v.scoreboard[0].Score == 4
	})
	typeLetter(t, ann, 0, 0, "H") // play goes on: no word yet (HAT needs A and T)
	waitFor(t, "a letter placed after the move", func() bool {
		l, by, _ := cellOf(bob, small, 0, 0)
		return l == "H" && by == ja.Player
	})
}
