package engine

import (
	"context"
	"errors"
	"slices"

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
// headroom in players. This node, when it is the only choice and not draining.
func (cl *clusterLink) place(game string) (cluster.NodeInfo, error) {
	ni, err := cl.node.PickNode(game)
	if errors.Is(err, cluster.ErrNoNode) && !cl.draining.Load() {
		return cl.node.Self(), nil
	}
	return ni, err
}

// clusterQuickJoin is quick play across the cluster: the fullest public, unlocked room of
// game with a free seat on any node, else a new room on the node placement picks. A room
// of this node is joined here (quickJoin); one elsewhere through a reservation and a
// redirect. A room that refuses (it filled meanwhile) is passed over, a few times.
func (s *session) clusterQuickJoin(cmd command, game string, respond func(Code, string)) {
	cl := s.e.cl
	var skip []string
	for range 4 {
		var best cluster.Room
		found := false
		for _, r := range cl.node.Rooms(match.Filter{Game: game, MinFreeSeats: 1}) {
			if r.Locked || r.Private || slices.Contains(skip, r.ID) || cl.drainingNode(r.Node) {
				continue // a draining node's rooms end soon: no one new goes there
			}
			if !found || r.Players+r.Held > best.Players+best.Held {
				best, found = r, true
			}
		}
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
			s.quickJoin(cmd, game, respond)
			return
		}
		ask.Players, ask.Client = []string{s.id}, s.key
		r, err := cl.ask(context.Background(), node, ask)
		switch {
		case err == nil && r.Code == CodeOK:
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
