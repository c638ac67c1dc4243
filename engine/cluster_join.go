package engine

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rallypoint/rallypoint/cluster"
	"github.com/rallypoint/rallypoint/match"
)

// The joins of a clustered engine that the rooms of this node cannot answer: the seat is
// reserved on the room's node and the client is sent there with [27, req, url, reservation,
// ttl_ms, room] (PROTOCOL.md, "A cluster of nodes").

// redirect answers a join with the seat reserved elsewhere.
func (s *session) redirect(req uint64, r seatReply) {
	s.e.metrics.Redirects.Add(1)
	_ = s.e.writeMsg(s.c, KindRedirect, req, r.URL, r.Tokens[0], uint64(r.TTLms), r.Room)
}

// askSeat asks node for this session's seat and answers the join: a redirect, or the
// refusal the room's node gave.
func (s *session) askSeat(req uint64, node string, ask seatRequest, respond func(Code, string)) {
	ask.Players, ask.Client = []string{s.id}, s.key
	r, err := s.e.cl.ask(context.Background(), node, ask)
	switch {
	case err != nil:
		respond(CodeNotFound, "the room's node cannot be reached: "+err.Error())
	case r.Code != CodeOK:
		respond(r.Code, r.Message)
	default:
		s.redirect(req, r)
	}
}

// remoteRoom answers a join by room id for a room of another node; false if the cluster
// does not know the room either.
func (s *session) remoteRoom(req uint64, room string, respond func(Code, string)) bool {
	r, ok := s.e.cl.node.Room(room)
	if !ok || r.Node == s.e.cl.id {
		return false
	}
	s.askSeat(req, r.Node, seatRequest{Room: room}, respond)
	return true
}

// remoteCode answers a join by a code this node does not hold: the cluster's codes say
// which node's room it leads to. The guess Lookup spent is given back when the code is
// real.
func (s *session) remoteCode(req uint64, code string, respond func(Code, string)) bool {
	r, err := s.e.cl.node.ResolveCode(context.Background(), code)
	if err != nil || r.Node == s.e.cl.id {
		return false
	}
	s.e.lobby.codes.Refund(s.key)
	s.askSeat(req, r.Node, seatRequest{Room: r.ID, ByCode: true}, respond)
	return true
}

// remoteResume answers a resume whose token names another node: go there, or, if that
// node has left the cluster, the seat is gone with it.
func (s *session) remoteResume(req uint64, token string, respond func(Code, string)) bool {
	node := nodeOf(token)
	if node == "" || node == s.e.cl.id {
		return false
	}
	ni, ok := s.e.cl.node.NodeByID(node)
	if ok {
		// A client resumes through another node when its own did not answer twice: ask
		// that node first, so that one just killed is known gone now, not once its
		// heartbeats time out (its seats went with it), and the client joins afresh at once.
		ctx, cancel := context.WithTimeout(context.Background(), s.e.cl.timeout)
		_, err := s.e.cl.ask(ctx, node, seatRequest{Probe: true})
		cancel()
		if errors.Is(err, nats.ErrNoResponders) {
			ok = false
		}
	}
	if !ok {
		respond(CodeNotFound, "the node that held your seat is gone")
		return true
	}
	s.e.metrics.Redirects.Add(1)
	_ = s.e.writeMsg(s.c, KindRedirect, req, ni.URL, "", uint64(0), "")
	return true
}

// remoteCreate places a new room by load: on the node with the most free player seats. It
// reports false when that node is this one (or no node is known), for the caller to create
// the room here.
func (s *session) remoteCreate(req uint64, game string, private bool, respond func(Code, string)) bool {
	ni, err := s.e.cl.place(game)
	if err != nil || ni.ID == s.e.cl.id {
		return false
	}
	s.askSeat(req, ni.ID, seatRequest{Game: game, Create: true, Private: private}, respond)
	return true
}

// drainingNode reports whether node is draining (or gone).
func (cl *clusterLink) drainingNode(node string) bool {
	if node == cl.id {
		return cl.draining.Load()
	}
	ni, ok := cl.node.NodeByID(node)
	return !ok || ni.Draining
}

// place picks the node for a new room of game: the live, non-draining one with the most
// headroom in players (cluster.Pick). This node, when it is the only choice and not
// draining.
//
// A node's load is as of its last heartbeat, up to a second old: a burst of quick plays
// would all see the same emptiest node and pile onto it. So the players this node has sent
// to each node since that node's heartbeat count as its load too; the cost is a short list
// of recent placements.
func (cl *clusterLink) place(game string) (cluster.NodeInfo, error) {
	nodes := cl.node.Nodes()
	cl.placedMu.Lock()
	defer cl.placedMu.Unlock()
	now := time.Now()
	keep := cl.placed[:0]
	for _, p := range cl.placed {
		if now.Sub(p.at) < placedMemory {
			keep = append(keep, p)
		}
	}
	cl.placed = keep
	for i := range nodes {
		for _, p := range cl.placed {
			if p.node == nodes[i].ID && p.at.After(nodes[i].At) {
				nodes[i].Load.Players++
			}
		}
	}
	ni, err := cluster.Pick(nodes, game)
	if errors.Is(err, cluster.ErrNoNode) && !cl.draining.Load() {
		return cl.node.Self(), nil
	}
	if err == nil {
		cl.placed = append(cl.placed, placement{node: ni.ID, at: now})
	}
	return ni, err
}

// placement is a new room sent to a node, remembered until its heartbeats count it.
type placement struct {
	node string
	at   time.Time
}

// placedMemory is how long a placement is remembered: past two heartbeats, every node's
// load counts it (clocks agreeing within a second).
const placedMemory = 3 * time.Second

// clusterQuickJoin is quick play across the cluster: the fullest public, unlocked room of
// game with a free seat on any node, else a new room on the node placement picks. A room
// of this node is joined here (quickJoin); one elsewhere through a reservation and a
// redirect. A room that refuses (it filled meanwhile) is passed over, a few times.
func (s *session) clusterQuickJoin(cmd command, game string, respond func(Code, string)) {
	cl := s.e.cl
	var skip []string
	for range 4 {
		best, found := cl.fullestRoom(game, skip)
		ask := seatRequest{Room: best.ID}
		node := best.Node
		if !found {
			ni, err := cl.place(game)
			if err != nil {
				respond(CodeShutdown, "no node of the cluster takes new rooms: "+err.Error())
				return
			}
			ask, node = seatRequest{Game: game}, ni.ID
		}
		if node == cl.id {
			if cl.draining.Load() && !found {
				respond(CodeShutdown, "the node is draining and no other takes new rooms")
				return
			}
			// A room here: join it, or another room here with a free seat, but make no new
			// one unless placement chose this node; new rooms go by placement.
			if s.quickJoinOr(cmd, game, respond, !found) {
				return
			}
			skip = append(skip, best.ID)
			continue
		}
		ask.Players, ask.Client = []string{s.id}, s.key
		r, err := cl.ask(context.Background(), node, ask)
		switch {
		case err == nil && r.Code == CodeOK:
			cl.noteRoom(r, node, game)
			s.redirect(cmd.req, r)
			return
		case err == nil && r.Code != CodeFull && r.Code != CodeLocked && r.Code != CodeRoomEnded && r.Code != CodeShutdown:
			respond(r.Code, r.Message)
			return
		}
		if found {
			skip = append(skip, best.ID)
		}
	}
	if cl.draining.Load() {
		respond(CodeFull, "no room of the cluster has a free seat now; try again")
		return
	}
	s.quickJoin(cmd, game, respond)
}

// claim takes the seat of a reservation token: in a cluster, also one reserved for a
// session of the node that sent the client here.
func (s *session) claim(token string) (room string, err error) {
	if s.e.cl == nil {
		return s.e.lobby.res.Claim(token, s.id)
	}
	return s.e.lobby.res.ClaimTransfer(token, s.id, s.e.cl.foreign)
}

// recentRoom is a room of another node that quick play sent players to in the last moments,
// with the seats it said were taken: the directory shows them up to publishEvery plus a
// NATS hop later, and a burst of quick plays would otherwise open a new room each.
type recentRoom struct {
	node, game string
	taken, max int
	at         time.Time
}

// recentMemory is how long a room's count from a seat answer outranks the directory's.
const recentMemory = time.Second

// noteRoom remembers the seats a quick play's answer counted in a room of node.
func (cl *clusterLink) noteRoom(r seatReply, node, game string) {
	if r.Max == 0 {
		return
	}
	cl.placedMu.Lock()
	defer cl.placedMu.Unlock()
	if cl.recent == nil {
		cl.recent = make(map[string]recentRoom)
	}
	if old, ok := cl.recent[r.Room]; ok && old.taken > r.Taken && time.Since(old.at) < recentMemory {
		return // answers raced; keep the larger count
	}
	cl.recent[r.Room] = recentRoom{node: node, game: game, taken: r.Taken, max: r.Max, at: time.Now()}
}

// fullestRoom is quick play's choice: the public, unlocked room of game with a free seat and
// the most seats taken, on a node that is not draining, not in skip; seats counted from the
// directory or, for a room quick play filled lately, from the room's own answers.
func (cl *clusterLink) fullestRoom(game string, skip []string) (cluster.Room, bool) {
	cl.placedMu.Lock()
	recent := make(map[string]recentRoom, len(cl.recent))
	for id, r := range cl.recent {
		if time.Since(r.at) >= recentMemory {
			delete(cl.recent, id)
		} else if r.game == game {
			recent[id] = r
		}
	}
	cl.placedMu.Unlock()
	var best cluster.Room
	bestTaken, found := 0, false
	consider := func(r cluster.Room, taken int) {
		if r.Locked || r.Private || taken >= r.MaxPlayers || slices.Contains(skip, r.ID) || cl.drainingNode(r.Node) {
			return // a draining node's rooms end soon: no one new goes there
		}
		if !found || taken > bestTaken {
			best, bestTaken, found = r, taken, true
		}
	}
	for _, r := range cl.node.Rooms(match.Filter{Game: game}) {
		taken := r.Players + r.Held
		if n, ok := recent[r.ID]; ok {
			taken = max(taken, n.taken)
			delete(recent, r.ID)
		}
		consider(r, taken)
	}
	for id, n := range recent { // not in the directory yet
		r := cluster.Room{Node: n.node}
		r.ID, r.Game, r.MaxPlayers = id, game, n.max
		consider(r, n.taken)
	}
	return best, found
}
