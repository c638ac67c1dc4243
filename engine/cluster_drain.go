package engine

import (
	"context"
	"time"
)

// Drain takes a clustered engine out of service for a deploy: at once it takes no new rooms
// (placement passes it over, and its own quick plays and creations go to other nodes) and
// says so in the directory; its rooms play on until they empty or ctx ends. Then each room
// that still has players is offered a new room on another node: that node reserves a seat
// for every connected player of the room, together, and each is sent [28, url, reservation,
// ttl_ms, room] before the room ends with code 13 and close 1001. The game's state does not
// move: the players start a new room of the same game. It returns how many players were
// offered a seat elsewhere; Shutdown follows.
//
// Without a cluster, Drain only waits for the rooms to empty or ctx to end.
func (e *Engine) Drain(ctx context.Context) int {
	cl := e.cl
	if cl != nil {
		cl.draining.Store(true)
		cl.node.SetDraining(true)
	}
	for {
		if e.metrics.Players.Load() == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
			continue
		}
		break
	}
	if cl == nil {
		return 0
	}
	e.mu.Lock()
	rooms := make([]*roomCore, 0, len(e.rooms))
	for _, rc := range e.rooms {
		rooms = append(rooms, rc)
	}
	e.mu.Unlock()
	moved := 0
	for _, rc := range rooms {
		moved += cl.move(rc)
	}
	return moved
}

// move offers the connected players of rc seats together in a new room of its game on
// another node, and ends rc.
func (cl *clusterLink) move(rc *roomCore) int {
	reply := make(chan roomExport, 1)
	if !rc.enqueue(command{kind: cmdPlayers, export: reply}) {
		return 0
	}
	var ex roomExport
	select {
	case ex = <-reply:
	case <-rc.finished:
		return 0
	}
	players := ex.players
	moved := 0
	if len(players) > 0 {
		ask := seatRequest{Game: rc.game, Create: true}
		for _, p := range players {
			ask.Players = append(ask.Players, p.session)
		}
		ni, err := cl.node.PickNode(rc.game)
		var r seatReply
		if err == nil && ex.movable {
			// The room moves with its state (cluster_move.go); if that fails, as a new room.
			withState := ask
			withState.State = ex.state
			for _, p := range players {
				withState.Seats = append(withState.Seats, movedSeat{ID: p.id, Meta: p.meta})
			}
			ctx, cancel := context.WithTimeout(context.Background(), cl.timeout)
			r, err = cl.ask(ctx, ni.ID, withState)
			cancel()
			if err != nil || r.Code != CodeOK {
				cl.e.log.Warn("drain: the room could not move with its state; its players get a new room", "room", rc.id, "err", err, "code", r.Code, "message", r.Message)
			} else {
				cl.e.metrics.RoomsMoved.Add(1)
			}
		}
		if err == nil && (!ex.movable || r.Code != CodeOK) {
			ctx, cancel := context.WithTimeout(context.Background(), cl.timeout)
			r, err = cl.ask(ctx, ni.ID, ask)
			cancel()
		}
		switch {
		case err != nil:
			cl.e.log.Warn("drain: no room elsewhere for the players", "room", rc.id, "err", err)
		case r.Code != CodeOK:
			cl.e.log.Warn("drain: no room elsewhere for the players", "room", rc.id, "code", r.Code, "message", r.Message)
		default:
			for i, p := range players {
				if cl.e.writeMsg(p.conn, KindMoved, r.URL, r.Tokens[i], uint64(r.TTLms), r.Room) == nil {
					moved++
				}
			}
		}
	}
	rc.requestStop(EndReason{Code: CodeShutdown, Message: "the server is draining; your room moved to another server"})
	return moved
}
