package engine

import (
	"context"
	"encoding/json"

	"github.com/nats-io/nats.go"

	"github.com/rallypoint/rallypoint/match"
)

// Matchmaking in a cluster
//
// A match may join players whose connections are on different nodes (a cluster-wide
// matchmaker: tickets in NATS, one elected matcher) into a room on a third. The node that
// made the match places the room by load, asks the room's node for the players' seats
// together (a seat request, as a redirect does), and tells each player through its own node:
// a session id names its node, and each node listens on "<prefix>.matched.<node>" for the
// notices of its sessions, which it passes on as [25, ticket, room, reservation, ttl_ms, url].
// A player's seat, claimed on the room's node under a new session id, is released there with
// the id the matchmaker knows too (match.Reservation.Origin), so the player may queue again.

// matchedNotice tells a node that one of its sessions was matched.
type matchedNotice struct {
	Player string `json:"player"` // the session id on the receiving node
	Ticket string `json:"ticket"`
	Room   string `json:"room"`
	Token  string `json:"token"`
	TTLms  int64  `json:"ttlMs"`
	URL    string `json:"url"`
	// Requeue, when set, is instead a ticket of the node's players whose match could not be
	// seated: the node queues it again (lobby.requeue).
	Requeue *match.Ticket `json:"requeue,omitempty"`
}

func matchedSubject(prefix, node string) string { return prefix + ".matched." + node }

// listenMatched passes on the match notices for this node's sessions, and puts back in the
// queue the tickets whose match the matcher could not seat (matchedNotice.Requeue).
func (cl *clusterLink) listenMatched() (*nats.Subscription, error) {
	return cl.node.Conn().Subscribe(matchedSubject(cl.node.Prefix(), cl.id), func(m *nats.Msg) {
		var n matchedNotice
		if json.Unmarshal(m.Data, &n) != nil {
			return
		}
		if n.Requeue != nil {
			cl.e.lobby.requeueTicket(*n.Requeue)
			return
		}
		cl.e.lobby.notify(n)
	})
}

// sendRequeue hands a ticket of another node's players, whose match could not be seated, back
// to that node (lobby.requeue). A node that does not get it (gone, or cut off) has lost its
// players' connections too.
func (cl *clusterLink) sendRequeue(node string, t match.Ticket) {
	b, err := json.Marshal(matchedNotice{Requeue: &t})
	if err == nil {
		err = cl.node.Conn().Publish(matchedSubject(cl.node.Prefix(), node), b)
	}
	if err != nil {
		cl.e.log.Warn("matchmaking: cannot hand a ticket back to its players' node", "node", node, "ticket", t.ID, "err", err)
	}
}

// notify writes a match notice to the session it names, if it is still connected (else the
// seat expires unclaimed).
func (l *lobby) notify(n matchedNotice) {
	l.mu.Lock()
	s := l.sessions[n.Player]
	if s != nil {
		s.ticket = "" // matched: the connection may queue again once the seat is over
	}
	l.mu.Unlock()
	if s == nil {
		return
	}
	_ = l.e.writeMsg(s.c, KindMatched, n.Ticket, n.Room, n.Token, uint64(max(n.TTLms, 0)), n.URL)
}

// clusterMatched seats a match somewhere in the cluster and tells its players wherever they
// are connected. It reports false when the seats could not be had; the caller releases the
// players in the matchmaker.
func (cl *clusterLink) clusterMatched(m match.Match) bool {
	ask := seatRequest{Room: m.Room, Game: m.Mode, Create: m.Room == "", Players: m.Players()}
	node := ""
	if m.Room != "" {
		r, ok := cl.node.Room(m.Room)
		if !ok {
			cl.e.log.Warn("matchmaking: the backfilled room left the directory", "room", m.Room)
			return false
		}
		node = r.Node
	} else {
		ni, err := cl.place(m.Mode)
		if err != nil {
			cl.e.log.Warn("matchmaking: no node takes the match's room", "mode", m.Mode, "err", err)
			return false
		}
		node = ni.ID
	}
	var r seatReply
	if node == cl.id {
		ctx, cancel := context.WithTimeout(context.Background(), cl.timeout)
		r = cl.e.reserveSeats(ctx, ask)
		cancel()
	} else {
		var err error
		if r, err = cl.ask(context.Background(), node, ask); err != nil {
			cl.e.log.Warn("matchmaking: the room's node did not answer", "node", node, "err", err)
			return false
		}
	}
	if r.Code != CodeOK {
		cl.e.log.Warn("matchmaking: seats refused", "node", node, "code", r.Code, "message", r.Message)
		return false
	}
	i := 0
	for _, t := range m.Tickets {
		for _, p := range t.Players {
			n := matchedNotice{Player: p, Ticket: t.ID, Room: r.Room, Token: r.Tokens[i], TTLms: r.TTLms, URL: r.URL}
			i++
			home := nodeOf(p)
			if home == "" {
				home = cl.id
			}
			if home == node {
				n.URL = "" // the room is on the player's own node: it joins on the connection it has
			}
			if home == cl.id {
				cl.e.lobby.notify(n)
				continue
			}
			b, _ := json.Marshal(n)
			if err := cl.node.Conn().Publish(matchedSubject(cl.node.Prefix(), home), b); err != nil {
				cl.e.log.Warn("matchmaking: cannot tell a player's node", "node", home, "err", err)
			}
		}
	}
	return true
}

// clusterOpenRooms lists the rooms of the whole cluster that backfill may fill: public,
// unlocked, with free seats, not on a draining node.
func (cl *clusterLink) clusterOpenRooms(mode string) []match.OpenRoom {
	var out []match.OpenRoom
	for _, r := range cl.node.Rooms(match.Filter{Game: mode, MinFreeSeats: 1}) {
		if r.Locked || cl.drainingNode(r.Node) {
			continue
		}
		out = append(out, match.OpenRoom{ID: r.ID, FreeSeats: r.FreeSeats()})
	}
	return out
}
