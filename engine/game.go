package engine

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/state"
)

// Game is one room's simulation, with inputs of type I. The engine makes one per room with the
// factory given to Register and calls every method on that room's goroutine, one at a time:
// game code never takes a lock, and the game's own struct fields are its typed state.
//
// Embed Hooks[I] to get no-op versions of the optional methods. Update and Snapshot are
// not among them: a game without them would compile and show its players nothing.
type Game[I any] interface {
	// Start runs once before the first tick. An error ends the room before anyone joins.
	Start(r *Room[I]) error
	// Join is a player's attempt to take a seat. Return nil to accept, or Refuse(reason) (any
	// error) to refuse: the client gets CodeRefused and the reason.
	Join(r *Room[I], p *Player) error
	// Drop says a player's connection was lost. Their seat is held for the grace period; the
	// game decides what their character does meanwhile.
	Drop(r *Room[I], p *Player)
	// Rejoin says a dropped player is back on a new connection, as the same Player.
	Rejoin(r *Room[I], p *Player)
	// Leave says a player is gone for good: they left, their grace period ended, or they were
	// kicked. The Player must not be used afterwards. When the room ends, Leave is not
	// called for the players still seated: Terminate is, with r.Players() still listing them.
	Leave(r *Room[I], p *Player, why LeaveReason)
	// Update advances the simulation by one fixed step, r.DT(), with the inputs that arrived
	// since the previous tick, in arrival order.
	Update(r *Room[I], inputs []Input[I])
	// Snapshot describes the replicated world at this tick: b.Add each entity players see.
	// It runs at the snapshot rate while a player is connected. A Snapshot that adds
	// nothing while players are connected is logged once per game (a warning: the players
	// see an empty world), since it is most often a forgotten b.Add.
	Snapshot(r *Room[I], b *state.Builder)
	// View says what a player sees: players with the same key must have the same filter, and
	// then share encoded frames. Return (0, nil) for "everything".
	View(r *Room[I], p *Player) (state.ViewKey, state.Filter)
	// Request answers a client's request; the result is msgpack-encoded into the response.
	// Return Reject(reason) to refuse it.
	Request(r *Room[I], p *Player, name string, payload msgpack.RawMessage) (any, error)
	// Terminate runs once when the room ends, for whatever reason. r.Players() are the
	// players seated at the end (connected or not), who get no Leave: keep their results
	// here. They are told (KindLeft) and disconnected once it returns.
	Terminate(r *Room[I], why EndReason)
}

// Hooks gives a Game no-op versions of the optional methods: embed it and implement what
// your game needs, Update and Snapshot at least. Snapshot has no no-op here on purpose: a
// game that embedded one and forgot its own compiled, ran, and sent every player an empty
// world without a word (issue 12). A game with nothing to replicate (events only) says so
// with an empty Snapshot of its own.
type Hooks[I any] struct{}

func (Hooks[I]) Start(*Room[I]) error                                 { return nil }
func (Hooks[I]) Join(*Room[I], *Player) error                         { return nil }
func (Hooks[I]) Drop(*Room[I], *Player)                               {}
func (Hooks[I]) Rejoin(*Room[I], *Player)                             {}
func (Hooks[I]) Leave(*Room[I], *Player, LeaveReason)                 {}
func (Hooks[I]) View(*Room[I], *Player) (state.ViewKey, state.Filter) { return 0, nil }
func (Hooks[I]) Request(*Room[I], *Player, string, msgpack.RawMessage) (any, error) {
	return nil, Reject("this game serves no requests")
}
func (Hooks[I]) Terminate(*Room[I], EndReason) {}

// Input is one input message from a player.
type Input[I any] struct {
	Player *Player
	Seq    uint32 // the client's sequence number, echoed in KindInputAck
	// View is what the client drew when it made the input (the browser SDK sends the frame
	// it last interpolated), limited to RoomConfig.MaxRewind before this tick: judge what the
	// input aimed at against it, with a state.History of each target (lag compensation).
	// The zero View means the client said nothing: judge against the present.
	View  state.View
	Value I
}

// LeaveReason says why a player left.
type LeaveReason int

const (
	LeftByChoice LeaveReason = iota // the client sent KindLeave
	LeftTimeout                     // the grace period after a drop ended (a lost link, or a connection closed without KindLeave)
	LeftKicked                      // the game called Room.Kick
)

func (w LeaveReason) String() string {
	switch w {
	case LeftByChoice:
		return "left"
	case LeftTimeout:
		return "timed out"
	case LeftKicked:
		return "kicked"
	}
	return fmt.Sprintf("LeaveReason(%d)", int(w))
}

// EndReason says why a room ended.
type EndReason struct {
	Code    Code   // CodeRoomEnded, CodeInternal, CodeShutdown
	Message string // what players are told
}
