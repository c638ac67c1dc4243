package cluster_test

import (
	"errors"
	"testing"

	"github.com/rallypoint/rallypoint/cluster"
)

func node(id string, maxPlayers, players, maxRooms, rooms int) cluster.NodeInfo {
	return cluster.NodeInfo{ID: id, MaxPlayers: maxPlayers, MaxRooms: maxRooms,
		Load: cluster.Load{Players: players, Rooms: rooms}}
}

func TestPick(t *testing.T) {
	draining := node("d", 1000, 0, 0, 0)
	draining.Draining = true
	shooterOnly := node("s", 1000, 0, 0, 0)
	shooterOnly.Games = []string{"shooter"}
	for _, tc := range []struct {
		name  string
		nodes []cluster.NodeInfo
		game  string
		want  string // "" for ErrNoNode
	}{
		{"most player headroom wins", []cluster.NodeInfo{node("a", 100, 90, 0, 1), node("b", 100, 10, 0, 1), node("c", 100, 50, 0, 1)}, "g", "b"},
		{"players, not rooms: many small rooms beat few full ones",
			[]cluster.NodeInfo{node("full", 300, 300-5, 0, 3), node("busy", 300, 20, 0, 10)}, "g", "busy"},
		{"headroom is capacity minus load, not load alone",
			[]cluster.NodeInfo{node("small", 50, 10, 0, 1), node("big", 500, 100, 0, 1)}, "g", "big"},
		{"a tie goes to fewer rooms", []cluster.NodeInfo{node("a", 100, 50, 0, 5), node("b", 100, 50, 0, 2)}, "g", "b"},
		{"a full tie goes to the smaller id", []cluster.NodeInfo{node("c", 100, 50, 0, 2), node("a", 100, 50, 0, 2), node("b", 100, 50, 0, 2)}, "g", "a"},
		{"room cap reached", []cluster.NodeInfo{node("a", 1000, 0, 4, 4), node("b", 100, 90, 4, 3)}, "g", "b"},
		{"player cap reached", []cluster.NodeInfo{node("a", 100, 100, 0, 1), node("b", 100, 99, 0, 1)}, "g", "b"},
		{"over the player cap", []cluster.NodeInfo{node("a", 100, 120, 0, 1)}, "g", ""},
		{"uncapped: least loaded wins", []cluster.NodeInfo{node("a", 0, 500, 0, 1), node("b", 0, 100, 0, 1)}, "g", "b"},
		{"uncapped beats capped", []cluster.NodeInfo{node("a", 1000, 0, 0, 0), node("b", 0, 100, 0, 1)}, "g", "b"},
		{"draining is skipped", []cluster.NodeInfo{draining, node("a", 100, 99, 0, 1)}, "g", "a"},
		{"only draining", []cluster.NodeInfo{draining}, "g", ""},
		{"a node serving other games is skipped", []cluster.NodeInfo{shooterOnly, node("a", 100, 99, 0, 1)}, "crossword", "a"},
		{"a node serving the game is picked", []cluster.NodeInfo{shooterOnly, node("a", 100, 99, 0, 1)}, "shooter", "s"},
		{"no nodes", nil, "g", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cluster.Pick(tc.nodes, tc.game)
			if tc.want == "" {
				if !errors.Is(err, cluster.ErrNoNode) {
					t.Fatalf("got %q, %v; want ErrNoNode", got.ID, err)
				}
				return
			}
			if err != nil || got.ID != tc.want {
				t.Fatalf("got %q, %v; want %q", got.ID, err, tc.want)
			}
		})
	}
}

// TestPickIgnoresOrder checks that every node, whatever order its view is in, picks the same.
func TestPickIgnoresOrder(t *testing.T) {
	nodes := []cluster.NodeInfo{node("a", 100, 40, 0, 2), node("b", 100, 40, 0, 2), node("c", 100, 40, 0, 2), node("d", 100, 41, 0, 1)}
	perm := [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1, 3, 0, 2}}
	for _, p := range perm {
		view := make([]cluster.NodeInfo, len(p))
		for i, j := range p {
			view[i] = nodes[j]
		}
		if got, err := cluster.Pick(view, "g"); err != nil || got.ID != "a" {
			t.Errorf("order %v: got %q, %v; want a", p, got.ID, err)
		}
	}
}

// TestPickNodeByHeadroom places through live nodes, each picking from its own view.
func TestPickNodeByHeadroom(t *testing.T) {
	s := startNATS(t)
	loads := map[string]cluster.Load{
		"a": {Players: 80, Rooms: 2},  // 100 - 80 = 20
		"b": {Players: 150, Rooms: 9}, // 400 - 150 = 250, but at its room cap
		"c": {Players: 60, Rooms: 30}, // 200 - 60 = 140
	}
	caps := map[string][2]int{"a": {100, 0}, "b": {400, 9}, "c": {200, 0}}
	var nodes []*cluster.Node
	for _, id := range []string{"a", "b", "c"} {
		nodes = append(nodes, join(t, s, id, func(o *cluster.Options) {
			o.MaxPlayers, o.MaxRooms = caps[id][0], caps[id][1]
			o.Load = func() cluster.Load { return loads[id] }
		}))
	}
	for _, n := range nodes {
		waitFor(t, 2*testTimeout, n.ID()+" sees every load", func() bool {
			view := n.Nodes()
			return len(view) == 3 && view[2].Load == loads["c"] && view[1].Load == loads["b"]
		})
		if got, err := n.PickNode("g"); err != nil || got.ID != "c" {
			t.Errorf("%s picks %q (%v), want c", n.ID(), got.ID, err)
		}
	}
}
