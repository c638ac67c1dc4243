package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/rallypoint/rallypoint/internal/msgcheck"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// Room is a game's handle on its room. Its methods are for the room's own goroutine, that is,
// for game code called by the engine; they are not safe from other goroutines.
type Room[I any] struct {
	core   *roomCore
	game   Game[I]
	schema *msgcheck.Schema // I's, checked before an input is decoded (see decodeInput)

	pending []Input[I] // guarded by core.mu
	batch   []Input[I] // owned by the room goroutine
}

// ID is the room's unique id.
func (r *Room[I]) ID() string { return r.core.id }

// Tick is the number of the tick being simulated, from 1.
func (r *Room[I]) Tick() uint32 { return r.core.tick }

// DT is the fixed simulation step.
func (r *Room[I]) DT() time.Duration { return r.core.cfg.dt() }

// Players are the seated players, connected or not, in join order. Do not modify the slice.
func (r *Room[I]) Players() []*Player { return r.core.players }

// Log is the room's logger.
func (r *Room[I]) Log() *slog.Logger { return r.core.log }

// Send sends a reliable event to one player, in order with their other events.
func (r *Room[I]) Send(p *Player, name string, payload any) error {
	c := p.conn.Load()
	if c == nil {
		return nil // a dropped player misses events; the game resends state on Rejoin if needed
	}
	if i, ok := r.core.eventIndex[name]; ok && byIndex(p, c) {
		return r.core.e.writeMsg(c, KindEvent, i, payload)
	}
	return r.core.e.writeMsg(c, KindEvent, name, payload)
}

// byIndex reports whether an event to p on c may name its event by index: c speaks v2 (or
// v3) and has been sent the join answer that lists the names. Events a game sends from its
// Join or Rejoin hook go before that answer, with their names.
func byIndex(p *Player, c *ws.Conn) bool {
	if p.namesOn != c {
		return false
	}
	v2, _ := snapshotWire(c)
	return v2
}

// Broadcast sends a reliable event to every connected player, encoded once.
func (r *Room[I]) Broadcast(name string, payload any) error {
	return r.broadcast(name, payload, r.core.players)
}

// BroadcastTo sends a reliable event to the listed players (a team, the players near an
// explosion), encoded and framed once as Broadcast is, where a Send to each would encode it
// once per player. Players not connected (dropped, within their grace period), gone, or of
// another room are skipped; list a player once, or they get it as often as listed. The
// list is only read: it may be the game's own, reused from tick to tick.
func (r *Room[I]) BroadcastTo(players []*Player, name string, payload any) error {
	return r.broadcast(name, payload, players)
}

func (r *Room[I]) broadcast(name string, payload any, to []*Player) error {
	// One frame for everyone on each wire, written in parallel for large rooms: a crossword
	// "word" event to 5,000 players is 5,000 syscalls, which on the room goroutine alone
	// held up ticks. v2 players get a listed name as its index (state.Schema.Events).
	index, indexed := r.core.eventIndex[name]
	conns, named := r.core.bcast[:0], r.core.bcastNamed[:0]
	for _, p := range to {
		if p == nil || p.room != r.core || p.left {
			continue
		}
		if c := p.conn.Load(); c != nil {
			if indexed && byIndex(p, c) {
				conns = append(conns, c)
			} else {
				named = append(named, c)
			}
		}
	}
	var err error
	if len(conns) > 0 {
		err = broadcastEvent(conns, index, payload)
	}
	if len(named) > 0 && err == nil {
		err = broadcastEvent(named, name, payload)
	}
	clear(conns)
	clear(named)
	r.core.bcast, r.core.bcastNamed = conns[:0], named[:0]
	return err
}

// broadcastEvent writes [20, name, payload] to conns, encoded and framed once; name is the
// event's name or its index.
func broadcastEvent(conns []*ws.Conn, name, payload any) error {
	b, err := Marshal([]any{KindEvent, name, payload})
	if err != nil {
		return err
	}
	pm, err := ws.NewPreparedMessage(ws.MessageBinary, b)
	if err != nil {
		return err
	}
	ws.Broadcast(pm, conns)
	pm.Release() // the writes are made; frames still queued hold their own bytes
	return nil
}

// Kick removes a player; they get KindLeft with the reason.
func (r *Room[I]) Kick(p *Player) { r.core.removePlayer(p, LeftKicked) }

// End ends the room after this tick: Terminate runs, players get KindLeft with the message
// and a normal close.
func (r *Room[I]) End(message string) {
	r.core.end(EndReason{Code: CodeRoomEnded, Message: message})
}

// Lock stops new players from joining; Unlock lets them in again.
func (r *Room[I]) Lock()   { r.core.locked = true; r.core.publishInfo() }
func (r *Room[I]) Unlock() { r.core.locked = false; r.core.publishInfo() }

// SetMetadata sets a key shown in room listings.
func (r *Room[I]) SetMetadata(key, value string) {
	r.core.metadata[key] = value
	r.core.publishInfo()
}

// CreateOptions are the options the room was created with (by Engine.CreateRoom, a
// client's {"create": true}, quick play or a match): whether it is private, and the
// metadata it started with. SetMetadata changes the listing, not these. The Metadata map is
// a copy.
func (r *Room[I]) CreateOptions() CreateOptions {
	o := r.core.created
	o.Metadata = copyMeta(o.Metadata)
	return o
}

// Stats are the room's loop statistics.
func (r *Room[I]) Stats() *RoomStats { return r.core.stats }

// sim implementation.

func (r *Room[I]) start() error              { return r.game.Start(r) }
func (r *Room[I]) join(p *Player) error      { return r.game.Join(r, p) }
func (r *Room[I]) drop(p *Player)            { r.game.Drop(r, p) }
func (r *Room[I]) rejoin(p *Player)          { r.game.Rejoin(r, p) }
func (r *Room[I]) snapshot(b *state.Builder) { r.game.Snapshot(r, b) }
func (r *Room[I]) terminate(why EndReason)   { r.game.Terminate(r, why) }
func (r *Room[I]) view(p *Player) (state.ViewKey, state.Filter) {
	return r.game.View(r, p)
}
func (r *Room[I]) request(p *Player, name string, payload msgpack.RawMessage) (any, error) {
	return r.game.Request(r, p, name, payload)
}

func (r *Room[I]) marshalState() ([]byte, bool, error) {
	m, ok := any(r.game).(Movable)
	if !ok {
		return nil, false, nil
	}
	b, err := m.MarshalState()
	return b, true, err
}

func (r *Room[I]) restoreState(state []byte, players []*Player) error {
	m, ok := any(r.game).(Movable)
	if !ok {
		return errors.New("engine: a moved room's game is not Movable here")
	}
	return m.RestoreState(state, players)
}

func (r *Room[I]) leave(p *Player, why LeaveReason) {
	// Inputs still queued from this player are dropped with the seat.
	r.forgetInputs(p)
	r.game.Leave(r, p, why)
}

func (r *Room[I]) forgetInputs(p *Player) {
	r.core.mu.Lock()
	n := 0
	for _, in := range r.pending {
		if in.Player != p {
			r.pending[n] = in
			n++
		}
	}
	clear(r.pending[n:])
	r.pending = r.pending[:n]
	r.core.mu.Unlock()
}

// errInputDropped is returned by pushInput when the player already has MaxInputsPerTick
// inputs waiting for the room's next tick. The input is dropped, not the player: the queue
// grows as fast when the room is starved of CPU as when the client floods, and a server
// under load must not kick its players for its own slowness. Floods are bounded by the
// connection's message rate limit (1008 above it), so memory stays bounded either way.
var errInputDropped = errors.New("engine: input dropped: too many waiting for one tick")

func (r *Room[I]) pushInput(p *Player, seq uint32, view state.View, raw []byte, dec *msgpack.Decoder, scratch *any) error {
	v, _ := (*scratch).(*I)
	if v == nil {
		v = new(I)
		*scratch = v
	}
	var zero I
	*v = zero
	if err := r.decodeInput(raw, dec, v); err != nil {
		return err
	}
	rc := r.core
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if p.queued >= rc.cfg.MaxInputsPerTick {
		return errInputDropped
	}
	p.queued++
	r.pending = append(r.pending, Input[I]{Player: p, Seq: seq, View: view, Value: *v})
	return nil
}

func (r *Room[I]) update() {
	rc := r.core
	rc.mu.Lock()
	r.batch, r.pending = r.pending, r.batch[:0]
	for i := range r.batch {
		r.batch[i].Player.queued = 0
	}
	rc.mu.Unlock()
	// A client can have seen no later state than the previous tick's.
	latest, back, ahead := state.Tick(rc.tick-1), rc.cfg.rewindTicks(), rc.cfg.ticks(maxExtrapolation)
	for i := range r.batch {
		in := &r.batch[i]
		if in.Seq > in.Player.lastSeq {
			in.Player.lastSeq = in.Seq
		}
		in.View = in.View.Clamp(latest, back, ahead)
	}
	r.game.Update(r, r.batch)
	clear(r.batch)
}

// errInputPanicked answers an input whose decoding panicked.
var errInputPanicked = &Error{Code: CodeMalformed, Message: "input does not decode: the game's decoder failed on it"}

// decodeInput decodes one input into v on the connection's goroutine.
//
// The input is first checked against I (msgcheck.Schema, built once at Register): the
// decoder's own errors name no field ("msgpack: invalid code=a4 decoding int64"), and it
// narrows integers without a word (500 arrives in an int8 as -12, -1 in a uint8 as 255), so
// a client could hand the game values it never sent. An input that does not fit is refused
// as malformed with the field named: `input field "row": want an integer in -128..127
// (int8), got 500`. The check walks the input's bytes once without allocating: about
// 0.15 µs for a crossword input (msgcheck's BenchmarkSchemaCheckInput), where the whole
// per-input path takes about 0.6 µs (BenchmarkSessionInput, whose checked and unchecked
// variants measured within a busy machine's noise of each other). Types that decode
// themselves (msgpack.CustomDecoder and the like) are not checked: their decoder is the
// game's, and it must refuse what it cannot take.
//
// Decoding runs on the connection's goroutine, where a panic would take the whole server
// down: the room's guard runs on the room's goroutine only. A panic
// in the game's decoder (a custom DecodeMsgpack, a msgpack hook) refuses that input as
// malformed rather than ending the room as a panic in Update does. The decoder ran on
// bytes from one client, into a value no one else holds (the connection's scratch), and
// touched no room state (it runs concurrently with the room, so it must not): the room is
// intact, and ending it would let any one client end every room it can join by sending
// the bytes that trip the bug, which "no client can hurt another" forbids. The panic is
// counted (Metrics.InputPanics) and logged with its stack, rate-limited, so the bug is seen.
func (r *Room[I]) decodeInput(raw []byte, dec *msgpack.Decoder, v *I) (err error) {
	defer func() {
		if x := recover(); x != nil {
			rc := r.core
			rc.e.metrics.InputPanics.Add(1)
			if ok, held := rc.e.panicLogs.allow(); ok {
				rc.log.Error("the game's input decoder panicked; the input is refused, the room goes on",
					"panic", fmt.Sprint(x), "suppressed", held, "stack", string(debug.Stack()))
			}
			err = errInputPanicked
		}
	}()
	if r.schema != nil {
		if _, err := r.schema.Check(raw); err != nil {
			if fe, ok := err.(*msgcheck.FieldError); ok {
				if fe.Path == "" {
					return &Error{Code: CodeMalformed, Message: "input: " + fe.Error()}
				}
				return &Error{Code: CodeMalformed, Message: "input " + fe.Error()}
			}
			return &Error{Code: CodeMalformed, Message: "input does not decode: " + err.Error()}
		}
	}
	if err := decodeValue(dec, v); err != nil {
		return &Error{Code: CodeMalformed, Message: "input does not decode: " + err.Error()}
	}
	return nil
}

// decodeValue decodes the next value into v as dec.Decode(v) does, but calls an input that
// decodes itself (msgpack.CustomDecoder, as the shooter's does) directly: Decode finds that
// method through reflection, a type lookup and three wrappers per input. In a CPU profile
// with 750 shooter players on one core, Decode was 23% of the session's cost per input;
// BenchmarkDecodeSelfDecodingInput measures 63 ns for the direct call against 93 ns. A nil
// still goes through Decode, which leaves v the zero value without calling the method.
func decodeValue[I any](dec *msgpack.Decoder, v *I) error {
	if cd, ok := any(v).(msgpack.CustomDecoder); ok {
		if c, err := dec.PeekCode(); err != nil || c != msgpcode.Nil {
			return cd.DecodeMsgpack(dec)
		}
	}
	return dec.Decode(v)
}
