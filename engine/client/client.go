// Package client is the Go side of the rallypoint.v1 protocol: bots, the load generator and
// tests use it to join rooms, send inputs and keep a mirror of the replicated state exactly
// as a browser does with the JavaScript SDK.
package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// Joined is the server's answer to a successful join.
type Joined struct {
	Room   string
	Player uint32
	// Token resumes the seat: Join with it after a drop. Every resume answers with a new
	// token and the one used dies once this connection acknowledges a snapshot (the client
	// does so on its own), so keep the Token of the latest Joined, not the first.
	Token        string
	Tick         uint32
	TickRate     int
	SnapshotRate int
	Code         string // join code, when the room is private
}

// Event is a reliable event, an error, a departure notice, a match or a lobby change from
// the server.
type Event struct {
	Kind    int // engine.KindEvent, KindError, KindLeft, KindMatched or KindRoom
	Name    string
	Code    engine.Code
	Message string
	Payload msgpack.RawMessage
	// For KindMatched: the ticket, the room and the reservation to join with.
	Ticket, Room, Reservation string
}

// DefaultAckDelay is how long a Client waits, after applying a snapshot, for an input to
// carry its acknowledgement before it sends [4, tick] on its own: one input interval of a
// 60 Hz client, rounded up. See SetAckDelay.
const DefaultAckDelay = 20 * time.Millisecond

// Client is one connection to an engine.
type Client struct {
	c *ws.Conn

	mu       sync.Mutex
	mirror   *state.Mirror
	tick     uint32 // latest snapshot tick applied
	inputAck uint32 // last input seq the server processed
	ackTick  uint32 // server tick of that input ack
	nextSeq  uint32
	nextReq  uint64
	pending  map[uint64]chan response
	rtt      time.Duration
	changed  chan struct{} // closed and replaced whenever a snapshot is applied
	snapErrs int

	// The acknowledgement of the latest snapshot waits for an input to carry it.
	unacked  uint32        // applied snapshot tick not yet acknowledged (0: none)
	view     state.View    // what the client draws, sent with every input (SetView)
	ackDelay time.Duration // see SetAckDelay
	ackTimer *time.Timer   // sends unacked alone when no input took it within ackDelay
	ackArmed bool          // ackTimer is due to fire

	events chan Event
	done   chan struct{}
	err    error
}

type response struct {
	kind    int
	code    engine.Code
	payload msgpack.RawMessage
	joined  Joined
}

// Dial connects to an engine's WebSocket endpoint.
func Dial(ctx context.Context, url string, opts *ws.DialOptions) (*Client, error) {
	var o ws.DialOptions
	if opts != nil {
		o = *opts
	}
	o.Subprotocols = []string{engine.Subprotocol}
	c, _, err := ws.Dial(ctx, url, &o)
	if err != nil {
		return nil, err
	}
	if c.Subprotocol() != engine.Subprotocol {
		c.CloseNow()
		return nil, fmt.Errorf("client: server did not agree to %s", engine.Subprotocol)
	}
	cl := &Client{
		c:       c,
		mirror:  state.NewMirror(128),
		pending: make(map[uint64]chan response),
		changed: make(chan struct{}),
		events:  make(chan Event, 1024),
		done:    make(chan struct{}),

		ackDelay: DefaultAckDelay,
	}
	cl.ackTimer = time.AfterFunc(time.Hour, cl.flushAck)
	cl.ackTimer.Stop()
	go cl.readLoop()
	return cl, nil
}

// Conn is the underlying WebSocket connection.
func (cl *Client) Conn() *ws.Conn { return cl.c }

// Events delivers reliable events, errors and departure notices. If nobody reads it, events
// beyond 1024 are dropped rather than stalling the connection.
func (cl *Client) Events() <-chan Event { return cl.events }

// Done is closed when the connection ends; Err then says why.
func (cl *Client) Done() <-chan struct{} { return cl.done }

// Err is the reason the connection ended, or nil while it is open.
func (cl *Client) Err() error {
	select {
	case <-cl.done:
		return cl.err
	default:
		return nil
	}
}

// Close closes the connection normally.
func (cl *Client) Close() error { return cl.c.Close(ws.StatusNormalClosure, "bye") }

func (cl *Client) send(v ...any) error {
	b, err := engine.Marshal(v)
	if err != nil {
		return err
	}
	return cl.c.WriteMessage(ws.MessageBinary, b)
}

func (cl *Client) call(ctx context.Context, msg func(req uint64) []any) (response, error) {
	ch := make(chan response, 1)
	cl.mu.Lock()
	cl.nextReq++
	req := cl.nextReq
	cl.pending[req] = ch
	cl.mu.Unlock()
	defer func() {
		cl.mu.Lock()
		delete(cl.pending, req)
		cl.mu.Unlock()
	}()
	if err := cl.send(msg(req)...); err != nil {
		return response{}, err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return response{}, ctx.Err()
	case <-cl.done:
		return response{}, cl.err
	}
}

// Join takes a seat: in a given room, a new room (Create), any open room of a game (quick
// play), or the seat a resume token names.
func (cl *Client) Join(ctx context.Context, opts engine.JoinOptions) (Joined, error) {
	r, err := cl.call(ctx, func(req uint64) []any { return []any{engine.KindJoin, req, opts} })
	if err != nil {
		return Joined{}, err
	}
	if r.kind != engine.KindJoined {
		var msg string
		_ = msgpack.Unmarshal(r.payload, &msg)
		return Joined{}, &engine.Error{Code: r.code, Message: msg}
	}
	return r.joined, nil
}

// Leave gives up the seat.
func (cl *Client) Leave() error { return cl.send(engine.KindLeave) }

// SendInput sends one input and returns its sequence number. The input also acknowledges
// the latest applied snapshot, if that is not acknowledged yet, and says what the client
// draws (SetView): [3, seq, input, tick, view].
func (cl *Client) SendInput(v any) (uint32, error) {
	cl.mu.Lock()
	cl.nextSeq++
	seq, ack, view := cl.nextSeq, cl.unacked, cl.view
	if ack != 0 {
		cl.unacked, cl.ackArmed = 0, false
		cl.ackTimer.Stop() // if it is firing already, it finds nothing (or a newer tick) to send
	}
	cl.mu.Unlock()
	switch {
	case !view.IsZero():
		var a any
		if ack != 0 {
			a = ack
		}
		return seq, cl.send(engine.KindInput, seq, v, a, viewWire(view))
	case ack != 0:
		return seq, cl.send(engine.KindInput, seq, v, ack)
	}
	return seq, cl.send(engine.KindInput, seq, v)
}

// SetView sets what this client draws now, for lag compensation: the snapshots of ticks
// view.From and view.To blended by view.T. Every input sent carries it until the next
// SetView; the zero View sends none (the server judges against the present). A bot that
// aims at what it last saw sets the tick of that snapshot (From == To).
func (cl *Client) SetView(view state.View) {
	cl.mu.Lock()
	cl.view = view
	cl.mu.Unlock()
}

// viewWire is a view as PROTOCOL.md writes it: [from_tick, span, t_milli].
func viewWire(v state.View) [3]uint64 {
	span := uint64(0)
	if v.To > v.From {
		span = uint64(v.To - v.From)
	}
	return [3]uint64{uint64(v.From), min(span, math.MaxUint16), uint64(min(math.MaxUint16, max(0, math.Round(v.T*1000))))}
}

// SetAckDelay sets how long the client waits after applying a snapshot for SendInput to
// carry the acknowledgement, before sending [4, tick] alone (DefaultAckDelay unless set).
// Every message costs the server a wake-up and a read, so a client that sends inputs at
// least that often sends no separate acknowledgements at all; one that sends none
// acknowledges each snapshot d late, and its next delta is against an older baseline if a
// snapshot comes sooner than d (deltas stay correct, a little larger). 0 acknowledges every
// snapshot at once.
func (cl *Client) SetAckDelay(d time.Duration) {
	cl.mu.Lock()
	cl.ackDelay = max(d, 0)
	cl.mu.Unlock()
}

// flushAck sends the pending acknowledgement alone: no input took it in time.
func (cl *Client) flushAck() {
	cl.mu.Lock()
	ack := cl.unacked
	cl.unacked, cl.ackArmed = 0, false
	cl.mu.Unlock()
	if ack != 0 {
		_ = cl.send(engine.KindAck, ack) // a failed write ends the connection: the read loop sees it
	}
}

// Request asks the room something and decodes the answer into out (which may be nil).
func (cl *Client) Request(ctx context.Context, name string, payload, out any) error {
	r, err := cl.call(ctx, func(req uint64) []any { return []any{engine.KindRequest, req, name, payload} })
	if err != nil {
		return err
	}
	if r.code != engine.CodeOK {
		var msg string
		_ = msgpack.Unmarshal(r.payload, &msg)
		return &engine.Error{Code: r.code, Message: msg}
	}
	if out == nil {
		return nil
	}
	return msgpack.Unmarshal(r.payload, out)
}

// Ping measures one round trip through the protocol's ping/pong and returns it.
func (cl *Client) Ping(ctx context.Context) (time.Duration, error) {
	ch := make(chan response, 1)
	start := time.Now()
	cl.mu.Lock()
	cl.pending[0] = ch // pongs are matched by the reserved id 0
	cl.mu.Unlock()
	if err := cl.send(engine.KindPing, float64(start.UnixNano())/1e6); err != nil {
		return 0, err
	}
	select {
	case <-ch:
		d := time.Since(start)
		cl.mu.Lock()
		cl.rtt = d
		cl.mu.Unlock()
		return d, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-cl.done:
		return 0, cl.err
	}
}

// State returns the mirror and the latest tick under the client's lock; fn must not keep
// the mirror.
func (cl *Client) State(fn func(m *state.Mirror, tick uint32)) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	fn(cl.mirror, cl.tick)
}

// InputAck is the last input sequence the server has applied, and the tick it said so.
func (cl *Client) InputAck() (seq, tick uint32) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.inputAck, cl.ackTick
}

// WaitSnapshot waits until a snapshot at or after tick has been applied.
func (cl *Client) WaitSnapshot(ctx context.Context, tick uint32) error {
	for {
		cl.mu.Lock()
		ok, ch := cl.tick >= tick, cl.changed
		cl.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-cl.done:
			return cl.err
		}
	}
}

var errProtocol = errors.New("client: malformed server message")

func (cl *Client) readLoop() {
	defer close(cl.done)
	defer cl.ackTimer.Stop()
	var br bytes.Reader
	dec := msgpack.NewDecoder(&br)
	for {
		_, data, err := cl.c.ReadMessage()
		if err != nil {
			cl.err = err
			return
		}
		br.Reset(data)
		dec.Reset(&br)
		if err := cl.dispatch(dec, data); err != nil {
			cl.err = err
			cl.c.Close(ws.StatusProtocolError, "malformed server message")
			return
		}
	}
}

func (cl *Client) dispatch(dec *msgpack.Decoder, data []byte) error {
	n, err := dec.DecodeArrayLen()
	if err != nil || n < 1 {
		return errProtocol
	}
	kind, err := dec.DecodeInt()
	if err != nil {
		return errProtocol
	}
	switch kind {
	case engine.KindSnapshot:
		body, err := dec.DecodeRaw()
		if err != nil {
			return errProtocol
		}
		cl.mu.Lock()
		tick, err := cl.mirror.Apply(body)
		if err != nil {
			cl.snapErrs++
			cl.mu.Unlock()
			return fmt.Errorf("client: apply snapshot: %w", err)
		}
		cl.tick = uint32(tick)
		close(cl.changed)
		cl.changed = make(chan struct{})
		// Acknowledge, so that the next delta is against this tick: on the next input if one
		// goes out within ackDelay, else alone. The deadline runs from the oldest snapshot
		// not yet acknowledged, so a newer one does not postpone it.
		cl.unacked = uint32(tick)
		if cl.ackDelay == 0 {
			cl.unacked = 0
			cl.mu.Unlock()
			return cl.send(engine.KindAck, uint32(tick))
		}
		if !cl.ackArmed {
			cl.ackArmed = true
			cl.ackTimer.Reset(cl.ackDelay)
		}
		cl.mu.Unlock()
	case engine.KindInputAck:
		var seq, tick uint32
		if err := dec.Decode(&seq); err != nil {
			return errProtocol
		}
		if err := dec.Decode(&tick); err != nil {
			return errProtocol
		}
		cl.mu.Lock()
		cl.inputAck, cl.ackTick = seq, tick
		cl.mu.Unlock()
	case engine.KindJoined:
		var j Joined
		var req uint64
		var tickRate, snapRate int
		for i, v := range []any{&req, &j.Room, &j.Player, &j.Token, &j.Tick, &tickRate, &snapRate, &j.Code} {
			if i >= n-1 {
				break
			}
			if err := dec.Decode(v); err != nil {
				return errProtocol
			}
		}
		j.TickRate, j.SnapshotRate = tickRate, snapRate
		// A (re)join starts from a full snapshot, which follows this message; a tick of the
		// room left behind is not acknowledged in the new one.
		cl.mu.Lock()
		cl.mirror = state.NewMirror(128)
		cl.tick, cl.unacked = 0, 0
		cl.mu.Unlock()
		cl.reply(req, response{kind: kind, joined: j})
	case engine.KindResponse:
		var req uint64
		var code engine.Code
		if err := dec.Decode(&req); err != nil {
			return errProtocol
		}
		if err := dec.Decode(&code); err != nil {
			return errProtocol
		}
		payload, _ := dec.DecodeRaw()
		cl.reply(req, response{kind: kind, code: code, payload: payload})
	case engine.KindPong:
		cl.reply(0, response{kind: kind})
	case engine.KindMatched:
		ev := Event{Kind: kind}
		if dec.Decode(&ev.Ticket) != nil || dec.Decode(&ev.Room) != nil || dec.Decode(&ev.Reservation) != nil {
			return errProtocol
		}
		select {
		case cl.events <- ev:
		default:
		}
	case engine.KindRoom:
		ev := Event{Kind: kind}
		if dec.Decode(&ev.Code) != nil {
			return errProtocol
		}
		ev.Payload, _ = dec.DecodeRaw()
		select {
		case cl.events <- ev:
		default:
		}
	case engine.KindEvent, engine.KindError, engine.KindLeft:
		ev := Event{Kind: kind}
		if kind == engine.KindEvent {
			if err := dec.Decode(&ev.Name); err != nil {
				return errProtocol
			}
			ev.Payload, _ = dec.DecodeRaw()
		} else {
			if err := dec.Decode(&ev.Code); err != nil {
				return errProtocol
			}
			_ = dec.Decode(&ev.Message)
		}
		select {
		case cl.events <- ev:
		default:
		}
	default:
		// Unknown kinds are ignored: a newer server may send more.
	}
	return nil
}

func (cl *Client) reply(req uint64, r response) {
	cl.mu.Lock()
	ch := cl.pending[req]
	cl.mu.Unlock()
	if ch != nil {
		select {
		case ch <- r:
		default:
		}
	}
}

// Match queues for a match of a game and returns the ticket. The match arrives on Events as
// KindMatched; join with JoinOptions{Reservation: ev.Reservation}.
func (cl *Client) Match(ctx context.Context, opts engine.MatchOptions) (string, error) {
	r, err := cl.call(ctx, func(req uint64) []any { return []any{engine.KindMatch, req, opts} })
	if err != nil {
		return "", err
	}
	var s string
	_ = msgpack.Unmarshal(r.payload, &s)
	if r.code != engine.CodeOK {
		return "", &engine.Error{Code: r.code, Message: s}
	}
	return s, nil
}

// CancelMatch withdraws a ticket.
func (cl *Client) CancelMatch(ctx context.Context, ticket string) error {
	r, err := cl.call(ctx, func(req uint64) []any { return []any{engine.KindCancel, req, ticket} })
	if err != nil {
		return err
	}
	if r.code != engine.CodeOK {
		var s string
		_ = msgpack.Unmarshal(r.payload, &s)
		return &engine.Error{Code: r.code, Message: s}
	}
	return nil
}

// FollowLobby subscribes to a game's room listing: it returns the rooms now listed, and
// changes arrive on Events as KindRoom. An empty game stops following.
func (cl *Client) FollowLobby(ctx context.Context, game string) (msgpack.RawMessage, error) {
	r, err := cl.call(ctx, func(req uint64) []any { return []any{engine.KindLobby, req, game} })
	if err != nil {
		return nil, err
	}
	if r.code != engine.CodeOK {
		return nil, &engine.Error{Code: r.code}
	}
	return r.payload, nil
}
