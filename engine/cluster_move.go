package engine

import (
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/net/ws"
)

// Moving a running room to another node, with its state
//
// When a clustered node drains (Engine.Drain), each room with players is offered a new room on
// another node (0x1C). For most games that is a new game: the players start afresh. A game
// that implements Movable keeps playing instead: the old room's state is marshalled on its
// goroutine, travels in the seat request with its players' ids and join metas, and the new
// room restores it after Start, before its first tick, with those players waiting for their
// owners. Each player that takes the reserved seat is the same Player (same ID, same Meta)
// and the game sees Rejoin, not Join; one that does not come within the reservation's TTL
// gets Leave (LeftTimeout). A state the game cannot marshal, or a request NATS refuses (its
// payload limit, 1 MB by default, bounds the state), falls back to the plain move. A state
// that RestoreState rejects ends the new room (code 10, internal): the seats were already
// given, so RestoreState should refuse only what MarshalState could not have made.
//
// What it costs: the ticks between the marshal and the room's end (one NATS round trip, a
// few milliseconds) are not carried over, and players whose connection was down at the
// deadline (in their grace period) do not move: their resume names the old node.

// Movable is a Game whose room can move to another node of its cluster with its state when
// its node drains. MarshalState runs on the old room's goroutine; RestoreState on the new
// room's, after Start and before the first tick, with the players who are moving in (the
// same ID and Meta as before; their seats held for them): rebuild what the game keeps per
// *Player from their IDs.
type Movable interface {
	MarshalState() ([]byte, error)
	RestoreState(state []byte, players []*Player) error
}

// movedSeat is a player of a room moving in: its id and join meta in the room it leaves.
type movedSeat struct {
	ID   uint32             `json:"id"`
	Meta msgpack.RawMessage `json:"meta,omitempty"`
}

// movedRoom is what a moving room brings to its new node: its state and its players, and
// the session ids their reservations are made for (in the same order).
type movedRoom struct {
	state    []byte
	seats    []movedSeat
	sessions []string
}

// roomExport is a room's answer to cmdPlayers: its connected players, and for a Movable
// game, its state.
type roomExport struct {
	players []seatedConn
	state   []byte
	movable bool
}

// seatedConn is a connected player of a room being moved.
type seatedConn struct {
	session string
	conn    *ws.Conn
	id      uint32
	meta    msgpack.RawMessage
}

// export answers cmdPlayers, on the room goroutine.
func (rc *roomCore) export() roomExport {
	var ex roomExport
	for _, p := range rc.players {
		if conn := p.conn.Load(); conn != nil && !p.dropped {
			ex.players = append(ex.players, seatedConn{session: p.session, conn: conn, id: p.ID, meta: p.Meta})
		}
	}
	err := rc.guard(func() error {
		var err error
		ex.state, ex.movable, err = rc.sim.marshalState()
		return err
	})
	if err != nil {
		rc.e.log.Warn("drain: the game's state could not be marshalled; its players move to a new room", "room", rc.id, "err", err)
		ex.state, ex.movable = nil, false
	}
	return ex
}

// checkMoved validates a seat request that brings a room's state.
func checkMoved(req seatRequest) (*movedRoom, error) {
	if !req.Create || len(req.Seats) != len(req.Players) {
		return nil, errors.New("a moved room's request needs create and one seat per player")
	}
	seen := make(map[uint32]bool, len(req.Seats))
	for _, s := range req.Seats {
		if s.ID == 0 || seen[s.ID] {
			return nil, fmt.Errorf("a moved room's player id %d is zero or repeated", s.ID)
		}
		seen[s.ID] = true
	}
	return &movedRoom{state: req.State, seats: req.Seats, sessions: req.Players}, nil
}

// restore makes the room a moved one: its players waiting for their owners, the game's
// state restored. On the room goroutine, after Start.
func (rc *roomCore) restore(m *movedRoom) error {
	ps := make([]*Player, len(m.seats))
	rc.arriving = make(map[string]*Player, len(ps))
	for i, s := range m.seats {
		p := &Player{ID: s.ID, Meta: s.Meta, token: rc.e.newID(), room: rc}
		ps[i] = p
		rc.arriving[m.sessions[i]] = p
		rc.nextID = max(rc.nextID, s.ID+1)
	}
	return rc.guard(func() error { return rc.sim.restoreState(m.state, ps) })
}

// arrive seats a player of a moved room on the connection that claimed its reservation (key:
// the session id the reservation was made for); false if key names none.
func (rc *roomCore) arrive(key string, c *command) bool {
	p := rc.arriving[key]
	if p == nil {
		return false
	}
	delete(rc.arriving, key)
	p.session, p.claimed = c.session, true
	p.conn.Store(c.conn)
	rc.players = append(rc.players, p)
	rc.readAtTick(c.conn)
	rc.seatedClaims++
	rc.e.sessions.add(p)
	rc.e.metrics.Players.Add(1)
	rc.sim.rejoin(p) // the game seated this player on the old node, with its state
	rc.publishInfo()
	rc.sendJoined(p, c.req)
	c.reply <- joinResult{player: p}
	return true
}

// notArriving gives up on a moved player whose reservation ended unclaimed.
func (rc *roomCore) notArriving(key string) {
	if p := rc.arriving[key]; p != nil {
		delete(rc.arriving, key)
		rc.sim.leave(p, LeftTimeout)
	}
}
