package engine

import (
	"sync/atomic"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// Player is a seat in a room. The same Player survives a dropped connection and a reconnect
// with its resume token. Game code may keep *Player values (as map keys, say) until Leave.
type Player struct {
	// ID is unique within the room and stable across reconnects.
	ID uint32
	// Meta is what the client sent as "meta" when joining (msgpack; nil if none).
	Meta msgpack.RawMessage

	// token resumes the seat; prevToken, the token the last resume was made with, is still
	// honoured until the new connection shows it received token (see sessions.rotate).
	// Both are written on the room goroutine under sessions.mu.
	token     string
	prevToken string
	room      *roomCore
	session   string // id of the connection that took the seat (reservations are keyed by it)

	conn     atomic.Pointer[ws.Conn] // nil while dropped
	ackTick  atomic.Uint32           // last snapshot tick the client acknowledged
	requests atomic.Int32            // requests queued for the room, not yet answered

	// Owned by the room goroutine.
	lastSeq   uint32        // highest input sequence handed to Update
	sentAck   sentInputAck  // the input acknowledgement this player's connection was sent last
	dropped   bool          // connection lost, seat held
	graceEnds time.Duration // when a dropped seat is released
	left      bool
	// sentViews remembers the view each recent snapshot was encoded for, by tick: a delta is
	// valid only against a baseline the client saw through the same view.
	sentViews [64]sentView

	// Guarded by room.mu.
	queued int // inputs waiting for the next tick
}

// Connected reports whether the player currently has a connection.
func (p *Player) Connected() bool { return p.conn.Load() != nil }

// baseline is the snapshot tick the next delta for this player is computed against.
func (p *Player) baseline() state.Tick { return state.Tick(p.ackTick.Load()) }

type sentView struct {
	tick state.Tick
	key  state.ViewKey
}

func (p *Player) noteSent(tick state.Tick, key state.ViewKey) {
	p.sentViews[tick%state.Tick(len(p.sentViews))] = sentView{tick, key}
}

// sawThrough reports whether the snapshot of tick was sent to this player for view key.
func (p *Player) sawThrough(tick state.Tick, key state.ViewKey) bool {
	v := p.sentViews[tick%state.Tick(len(p.sentViews))]
	return v.tick == tick && v.key == key
}
