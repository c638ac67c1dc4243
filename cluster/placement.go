package cluster

import (
	"cmp"
	"fmt"
	"math"
	"strings"
)

// Headroom is how many more players placement may send to a node: MaxPlayers minus
// Load.Players, or, with no player cap, math.MaxInt32 minus Load.Players (so that among
// uncapped nodes the least loaded still wins). Never negative.
func (ni NodeInfo) Headroom() int {
	limit := ni.MaxPlayers
	if limit <= 0 {
		limit = math.MaxInt32
	}
	return max(limit-ni.Load.Players, 0)
}

// eligible reports whether placement may send a new room of game to the node.
func (ni NodeInfo) eligible(game string) bool {
	if ni.Draining || !ni.Serves(game) {
		return false
	}
	if ni.MaxRooms > 0 && ni.Load.Rooms >= ni.MaxRooms {
		return false
	}
	return ni.Headroom() > 0
}

// Pick chooses where a new room of game goes: among the nodes that serve the game, are not
// draining and are under both their caps (rooms and players), the one with the most headroom
// in players; ties go to the node with fewer rooms, then to the smaller id, so that every node
// picks the same one from the same view.
//
// Players, not rooms: a node with three full 100-player rooms is busier than one with ten
// 2-player rooms, and balancing by room count (as Colyseus does) sends the next crowd to the
// former. The cost: a node with many small idle rooms keeps getting rooms until its room cap,
// so set MaxRooms. Nodes pick from views up to one heartbeat old, so a burst of placements on
// several nodes at once can overshoot a node's headroom by what arrives within an Interval;
// the caps are enforced again when the room is made on its node.
func Pick(nodes []NodeInfo, game string) (NodeInfo, error) {
	var best *NodeInfo
	for i := range nodes {
		ni := &nodes[i]
		if !ni.eligible(game) {
			continue
		}
		if best == nil || better(ni, best) {
			best = ni
		}
	}
	if best == nil {
		return NodeInfo{}, fmt.Errorf("cluster: place a %q room among %d nodes: %w", game, len(nodes), ErrNoNode)
	}
	return *best, nil
}

func better(a, b *NodeInfo) bool {
	if c := cmp.Compare(a.Headroom(), b.Headroom()); c != 0 {
		return c > 0
	}
	if c := cmp.Compare(a.Load.Rooms, b.Load.Rooms); c != 0 {
		return c < 0
	}
	return strings.Compare(a.ID, b.ID) < 0
}

// PickNode chooses the node of the live view (this one included) for a new room of game, by
// Pick. This node's own entry carries its load as of its last heartbeat, like the others'.
func (n *Node) PickNode(game string) (NodeInfo, error) {
	nodes := n.Nodes()
	return Pick(nodes, game)
}
