// Package client is the Go side of the rallypoint.v1 protocol: bots, the load generator and
// tests use it to join rooms, send inputs and keep a mirror of the replicated state exactly
// as a browser does with the JavaScript SDK.
//
// In a cluster of nodes a join may be answered with a redirect to the room's node: Join
// returns it as a *RedirectError, and DialJoin follows it (at most MaxRedirects hops), so
// that a bot pointed at any node ends seated where its room is (Client.URL).
package gameclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/protocol"
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

// Event is a reliable event, an error, a departure notice, a match, a lobby change or a
// move from the server, or the client's own notice that it dropped a snapshot
// (KindBaselineMiss).
type Event struct {
	Kind    int // protocol.KindEvent, KindError, KindLeft, KindMatched, KindRoom, KindMoved or KindBaselineMiss
	Name    string
	Code    protocol.Code
	Message string
	Payload msgpack.RawMessage
	// For KindMatched: the ticket, the room and the reservation to join with. For
	// KindMoved: the room and the reservation waiting at URL (Ticket is ""). KindError: the
	// matchmaking ticket that ended unmatched, if that is the error.
	Ticket, Room, Reservation string
	// For KindMatched and KindMoved: the node to join at ("" for a match on this node) and
	// how long the reserved seat waits. Join there with DialJoin(ctx, URL, ..., {Reservation}).
	URL string
	TTL time.Duration
	// For KindBaselineMiss: the dropped snapshot's tick and the baseline it named.
	Tick, Baseline uint32
	// For KindBaselineMiss: true when the client sent [4, 0] for a full snapshot, false when
	// it acknowledged its latest tick again (Message says which).
	Reset bool
}

// KindBaselineMiss is the Kind of the Event a Client emits when it drops a snapshot whose
// delta names a baseline it does not hold. It is not a server message kind (those are
// unsigned bytes): the client recovers by itself (see Stats), and the event only tells a bot
// or a test that it happened.
const KindBaselineMiss = -1

// Stats are a Client's counts of snapshots, for bots and tests to report. A client that
// misses baselines often is acknowledging ticks it then loses: a bug in the client, or a
// server whose acknowledgement handling is wrong.
type Stats struct {
	Snapshots      int64 // snapshot bodies applied
	BaselineMisses int64 // deltas dropped because the mirror did not hold their baseline
	BaselineResets int64 // [4, 0] sent for a full snapshot, after a miss ahead of the mirror
}

// resetIntervals is how many snapshot intervals, on top of the last measured round trip,
// a Client waits after [4, 0] for the full snapshot before it may ask again. Deltas against
// the unknown baseline keep coming until the server reads the request (a round trip and
// whatever the latest-wins slot held), and each further [4, 0] costs the server a full
// snapshot; but the request can also be lost to the server (a resume moved the seat off
// this connection while it was on its way), and then asking again is the only way out.
const resetIntervals = 4

// DefaultAckDelay is how long a Client waits, after applying a snapshot, for an input to
// carry its acknowledgement before it sends [4, tick] on its own: one input interval of a
// 60 Hz client, rounded up. See SetAckDelay.
const DefaultAckDelay = 20 * time.Millisecond

// Client is one connection to a Rallypoint server (an engine's WebSocket endpoint).
type Client struct {
	c         *ws.Conn
	v3        bool   // c speaks rallypoint.v3: predicted snapshots leave out what they predict
	url       string // the URL dialed: the node this connection is on
	redirects int    // redirects DialJoin followed to reach it

	mu       sync.Mutex
	mirror   *state.Mirror
	known    protocol.SeqHistory // the input seq known at each state the mirror holds
	evNames  []string            // the room's event names, by index (from the join answer)
	tick     uint32              // latest snapshot tick applied
	inputAck uint32              // last input seq the server processed
	ackTick  uint32              // server tick of that input ack
	nextSeq  uint32
	nextReq  uint64
	pending  map[uint64]chan response
	rtt      time.Duration
	changed  chan struct{} // closed and replaced whenever a snapshot is applied
	stats    Stats
	snapRate int // the room's snapshot rate (Hz), from the latest Joined

	// Recovery from a delta whose baseline the mirror lacks (see onBaselineMiss).
	resetAt time.Time // when [4, 0] went out; zero: no full snapshot asked for
	reacked uint32    // the latest tick acknowledged again after a miss

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
	kind     int
	code     protocol.Code
	payload  msgpack.RawMessage
	joined   Joined
	redirect *RedirectError
}

// Dial connects to an engine's WebSocket endpoint.
func Dial(ctx context.Context, url string, opts *ws.DialOptions) (*Client, error) {
	var o ws.DialOptions
	if opts != nil {
		o = *opts
	}
	// v3 first, then v2: their snapshots are smaller. A caller may offer fewer (a test of
	// the v1 wire), not others: this client speaks these three.
	if len(o.Subprotocols) == 0 {
		o.Subprotocols = []string{protocol.SubprotocolV3, protocol.SubprotocolV2, protocol.Subprotocol}
	}
	for _, p := range o.Subprotocols {
		if !speaks(p) {
			return nil, fmt.Errorf("gameclient: cannot speak subprotocol %q, only %s, %s and %s", p, protocol.SubprotocolV3, protocol.SubprotocolV2, protocol.Subprotocol)
		}
	}
	c, _, err := ws.Dial(ctx, url, &o)
	if err != nil {
		return nil, err
	}
	if !speaks(c.Subprotocol()) {
		c.CloseNow()
		return nil, fmt.Errorf("gameclient: server agreed to none of %s", strings.Join(o.Subprotocols, ", "))
	}
	cl := &Client{
		c:       c,
		v3:      c.Subprotocol() == protocol.SubprotocolV3,
		url:     url,
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

// speaks reports whether the client speaks subprotocol p.
func speaks(p string) bool {
	return p == protocol.SubprotocolV3 || p == protocol.SubprotocolV2 || p == protocol.Subprotocol
}

// Conn is the underlying WebSocket connection.
func (cl *Client) Conn() *ws.Conn { return cl.c }

// URL is the URL this client dialed: in a cluster, the node it is on, which is where a
// resume after a drop goes (DialJoin with the resume token).
func (cl *Client) URL() string { return cl.url }

// Redirects is how many redirects DialJoin followed to reach this connection (0 for Dial).
func (cl *Client) Redirects() int { return cl.redirects }

// Events delivers reliable events, errors and departure notices, and the client's own
// KindBaselineMiss notices. If nobody reads it, events beyond 1024 are dropped rather than
// stalling the connection.
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
	b, err := protocol.Marshal(v)
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
// play), or the seat a resume token names. On a node of a cluster whose seat is on another
// node, it returns a *RedirectError saying where: DialJoin follows it.
func (cl *Client) Join(ctx context.Context, opts protocol.JoinOptions) (Joined, error) {
	r, err := cl.call(ctx, func(req uint64) []any { return []any{protocol.KindJoin, req, opts} })
	if err != nil {
		return Joined{}, err
	}
	if r.redirect != nil {
		return Joined{}, r.redirect
	}
	if r.kind != protocol.KindJoined {
		var msg string
		_ = msgpack.Unmarshal(r.payload, &msg)
		return Joined{}, &protocol.Error{Code: r.code, Message: msg}
	}
	return r.joined, nil
}

// Leave gives up the seat.
func (cl *Client) Leave() error { return cl.send(protocol.KindLeave) }

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
		return seq, cl.send(protocol.KindInput, seq, v, a, viewWire(view))
	case ack != 0:
		return seq, cl.send(protocol.KindInput, seq, v, ack)
	}
	return seq, cl.send(protocol.KindInput, seq, v)
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
		_ = cl.send(protocol.KindAck, ack) // a failed write ends the connection: the read loop sees it
	}
}

// Request asks the room something and decodes the answer into out (which may be nil).
func (cl *Client) Request(ctx context.Context, name string, payload, out any) error {
	r, err := cl.call(ctx, func(req uint64) []any { return []any{protocol.KindRequest, req, name, payload} })
	if err != nil {
		return err
	}
	if r.code != protocol.CodeOK {
		var msg string
		_ = msgpack.Unmarshal(r.payload, &msg)
		return &protocol.Error{Code: r.code, Message: msg}
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
	if err := cl.send(protocol.KindPing, float64(start.UnixNano())/1e6); err != nil {
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

var errProtocol = errors.New("gameclient: malformed server message")

func (cl *Client) readLoop() {
	defer close(cl.done)
	defer cl.ackTimer.Stop()
	var r protocol.Reader
	for {
		_, data, err := cl.c.ReadMessage()
		if err != nil {
			cl.err = err
			return
		}
		r.Reset(data)
		if err := cl.dispatch(&r); err != nil {
			cl.err = err
			cl.c.Close(ws.StatusProtocolError, "malformed server message")
			return
		}
	}
}

// malformed wraps errProtocol with what was wrong (and the scanner's error, if any).
func malformed(what string, r *protocol.Reader) error {
	if err := r.Err(); err != nil {
		return fmt.Errorf("%w: %s: %w", errProtocol, what, err)
	}
	return fmt.Errorf("%w: %s", errProtocol, what)
}

// u32 reads an unsigned integer that must fit 32 bits (a tick, a seq, a player id).
func u32(r *protocol.Reader) uint32 {
	v := r.Uint()
	if v > math.MaxUint32 {
		r.Fail(protocol.ErrRange)
		return 0
	}
	return uint32(v)
}

// dispatch handles one server message, read with the protocol's scanner. The message's
// bytes belong to the connection until the next ReadMessage, so whatever outlives this call
// (event payloads, strings) is copied.
func (cl *Client) dispatch(r *protocol.Reader) error {
	n := r.ArrayLen()
	kind := int(r.Uint())
	if r.Err() != nil || n < 1 || kind > 0xff {
		return malformed("not [kind, ...]", r)
	}
	switch kind {
	case protocol.KindSnapshot:
		// v1: [18, body]; v2: [18, last_seq, tick, offset, changed[, added[, removed]]].
		v2 := n >= 5 && n <= 7
		var seq uint32
		var body []byte
		hasSeq := v2 && !r.IsNil()
		if hasSeq {
			seq = u32(r)
		}
		if v2 {
			body = r.Rest()
		} else {
			body = r.Raw()
		}
		head, headOK := snapshotHeader(body, v2)
		if r.Err() != nil || !headOK {
			return malformed("snapshot", r)
		}
		cl.mu.Lock()
		known, haveKnown := cl.known.At(head.baseline)
		if hasSeq && haveKnown {
			// The input acknowledgement the v2 snapshot carries, as the difference from
			// the seq known at its baseline: inputs up to known+seq were applied before
			// its tick, as [19, seq, tick] says. It holds even if the snapshot itself
			// cannot be applied (but for a lost baseline, which it counts from).
			if seq += known; seq < known {
				cl.mu.Unlock()
				return malformed("snapshot: last_seq beyond 2^32", r)
			}
			cl.inputAck, cl.ackTick = seq, head.tick
			known = seq
		}
		var tick state.Tick
		var err error
		switch {
		case cl.v3 && v2: // a snapshot's layout is v2's on v3 too
			tick, err = cl.mirror.ApplyV3(body) // the mirror keeps its own copy
		case v2:
			tick, err = cl.mirror.ApplyV2(body)
		default:
			tick, err = cl.mirror.Apply(body)
		}
		if errors.Is(err, state.ErrUnknownBaseline) {
			cl.mu.Unlock()
			return cl.onBaselineMiss(head)
		}
		if err != nil {
			cl.mu.Unlock()
			return fmt.Errorf("gameclient: apply snapshot: %w", err)
		}
		cl.stats.Snapshots++
		cl.known.Add(uint32(tick), known)
		if !cl.resetAt.IsZero() && head.baseline == 0 {
			cl.resetAt = time.Time{} // the full snapshot asked for (or one the server chose)
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
			return cl.send(protocol.KindAck, uint32(tick))
		}
		if !cl.ackArmed {
			cl.ackArmed = true
			cl.ackTimer.Reset(cl.ackDelay)
		}
		cl.mu.Unlock()
	case protocol.KindInputAck:
		seq, tick := u32(r), u32(r)
		if r.Err() != nil {
			return malformed("input ack", r)
		}
		cl.mu.Lock()
		cl.inputAck, cl.ackTick = seq, tick
		cl.mu.Unlock()
	case protocol.KindJoined:
		// [17, req, room, player, token, tick, tick_rate, snapshot_rate, code]; the code
		// came later, and elements after it are a newer server's.
		if n < 8 {
			return malformed("joined has fewer than 8 elements", r)
		}
		req := r.Uint()
		j := Joined{Room: string(r.Str()), Player: u32(r), Token: string(r.Str()), Tick: u32(r)}
		tickRate, snapRate := r.Uint(), r.Uint()
		if n > 8 {
			j.Code = string(r.Str())
		}
		var events []string // the names v2 events are sent by index of
		if n > 10 {
			r.Skip() // schema
			for range r.ArrayLen() {
				events = append(events, string(r.Str()))
			}
		}
		if r.Err() != nil || tickRate > math.MaxInt32 || snapRate > math.MaxInt32 {
			return malformed("joined", r)
		}
		j.TickRate, j.SnapshotRate = int(tickRate), int(snapRate)
		// A (re)join starts from a full snapshot, which follows this message; a tick of the
		// room left behind is not acknowledged in the new one.
		cl.mu.Lock()
		cl.mirror = state.NewMirror(128)
		cl.known = protocol.SeqHistory{}
		cl.evNames = events
		cl.tick, cl.unacked = 0, 0
		cl.resetAt, cl.reacked = time.Time{}, 0
		cl.snapRate = j.SnapshotRate
		cl.mu.Unlock()
		cl.reply(req, response{kind: kind, joined: j})
	case protocol.KindResponse:
		req, code := r.Uint(), readCode(r)
		var payload msgpack.RawMessage
		if n > 3 {
			payload = bytes.Clone(r.Raw())
		}
		if r.Err() != nil {
			return malformed("response", r)
		}
		cl.reply(req, response{kind: kind, code: code, payload: payload})
	case protocol.KindPong:
		cl.reply(0, response{kind: kind})
	case protocol.KindMatched:
		// [25, ticket, room, reservation, ttl_ms] or [..., ttl_ms, url] in a cluster.
		ev := Event{Kind: kind, Ticket: string(r.Str()), Room: string(r.Str()), Reservation: string(r.Str())}
		if n > 4 {
			ev.TTL = readTTL(r)
		}
		if n > 5 {
			ev.URL = optStr(r)
		}
		if r.Err() != nil {
			return malformed("matched", r)
		}
		cl.emit(ev)
	case protocol.KindRedirect:
		// [27, req, url, reservation, ttl_ms, room]: the answer to a join.
		if n < 6 {
			return malformed("redirect has fewer than 6 elements", r)
		}
		req := r.Uint()
		rd := &RedirectError{URL: string(r.Str()), Reservation: string(r.Str()), TTL: readTTL(r), Room: string(r.Str())}
		if r.Err() != nil || rd.URL == "" {
			return malformed("redirect", r)
		}
		cl.reply(req, response{kind: kind, redirect: rd})
	case protocol.KindMoved:
		// [28, url, reservation, ttl_ms, room]: the room's node drains; a seat waits at url.
		if n < 5 {
			return malformed("moved has fewer than 5 elements", r)
		}
		ev := Event{Kind: kind, URL: string(r.Str()), Reservation: string(r.Str()), TTL: readTTL(r), Room: string(r.Str())}
		if r.Err() != nil || ev.URL == "" {
			return malformed("moved", r)
		}
		cl.emit(ev)
	case protocol.KindRoom:
		ev := Event{Kind: kind, Code: readCode(r)}
		if n > 2 {
			ev.Payload = bytes.Clone(r.Raw())
		}
		if r.Err() != nil {
			return malformed("lobby change", r)
		}
		cl.emit(ev)
	case protocol.KindEvent:
		ev := Event{Kind: kind}
		if r.IsUint() {
			// v2: the index of a name the join answer listed (state.Schema.Events).
			i := r.Uint()
			cl.mu.Lock()
			names := cl.evNames
			cl.mu.Unlock()
			if i >= uint64(len(names)) {
				return malformed(fmt.Sprintf("event %d of %d names", i, len(names)), r)
			}
			ev.Name = names[i]
		} else {
			ev.Name = string(r.Str())
		}
		if n > 2 {
			ev.Payload = bytes.Clone(r.Raw())
		}
		if r.Err() != nil {
			return malformed("event", r)
		}
		cl.emit(ev)
	case protocol.KindError, protocol.KindLeft:
		ev := Event{Kind: kind, Code: readCode(r)}
		if n > 2 {
			ev.Message = string(r.Str())
		}
		if n > 3 && kind == protocol.KindError {
			ev.Ticket = string(r.Str()) // the matchmaking ticket that ended unmatched
		}
		if r.Err() != nil {
			return malformed("error or left", r)
		}
		cl.emit(ev)
	default:
		// Unknown kinds are ignored: a newer server may send more.
	}
	return nil
}

// readCode reads a protocol code, an unsigned 16-bit integer.
func readCode(r *protocol.Reader) protocol.Code {
	v := r.Uint()
	if v > math.MaxUint16 {
		r.Fail(protocol.ErrRange)
		return 0
	}
	return protocol.Code(v)
}

// readTTL reads a reservation's time to live, unsigned milliseconds.
func readTTL(r *protocol.Reader) time.Duration {
	v := r.Uint()
	if v > math.MaxInt64/uint64(time.Millisecond) {
		r.Fail(protocol.ErrRange)
		return 0
	}
	return time.Duration(v) * time.Millisecond
}

// optStr reads a string that may be nil (an absent optional value).
func optStr(r *protocol.Reader) string {
	if r.IsNil() {
		return ""
	}
	return string(r.Str())
}

// emit delivers ev on Events, or drops it if nobody has read the last 1024.
func (cl *Client) emit(ev Event) {
	select {
	case cl.events <- ev:
	default:
	}
}

// onBaselineMiss handles a snapshot whose delta names a baseline the mirror does not hold
// (PROTOCOL.md, "Recovering a lost baseline"). The snapshot is dropped: guessing a state
// would diverge silently. If the baseline is at or below the latest tick applied, the
// server is encoding against an acknowledgement older than our latest one (ours is on its
// way, or the mirror let that old state go): acknowledging the latest tick again makes the
// next delta one we can apply. If it is above, the server believes we hold a state we never
// applied, and no acknowledgement of ours can fix that: [4, 0] makes it forget them and send
// a full snapshot. It is sent once, then again only if no full snapshot came within
// resetIntervals snapshot intervals and a round trip. Both are counted in Stats and reported
// on Events as KindBaselineMiss; the connection stays open.
func (cl *Client) onBaselineMiss(head snapHead) error {
	tick, baseline := head.tick, head.baseline
	now := time.Now()
	cl.mu.Lock()
	cl.stats.BaselineMisses++
	latest := cl.tick
	var ack uint32
	reset, send := false, false
	switch {
	case baseline <= latest:
		ack = latest
		if latest > cl.reacked {
			cl.reacked, send = latest, true
			if cl.unacked == latest {
				cl.unacked = 0 // it goes now; the timer finds nothing
			}
		}
	case cl.resetAt.IsZero() || now.Sub(cl.resetAt) >= cl.resetWait():
		cl.resetAt, cl.reacked = now, 0
		cl.stats.BaselineResets++
		reset, send = true, true
	default:
		reset = true // asked already: the full snapshot is on its way
	}
	cl.mu.Unlock()

	ev := Event{Kind: KindBaselineMiss, Tick: tick, Baseline: baseline, Reset: reset}
	switch {
	case !reset && send:
		ev.Message = fmt.Sprintf("snapshot %d is a delta against tick %d, not held: acknowledged tick %d again", tick, baseline, ack)
	case !reset:
		ev.Message = fmt.Sprintf("snapshot %d is a delta against tick %d, not held: tick %d already acknowledged again", tick, baseline, ack)
	case send:
		ev.Message = fmt.Sprintf("snapshot %d is a delta against tick %d, newer than tick %d applied: asked for a full snapshot", tick, baseline, latest)
	default:
		ev.Message = fmt.Sprintf("snapshot %d is a delta against tick %d, newer than tick %d applied: waiting for the full snapshot asked for", tick, baseline, latest)
	}
	cl.emit(ev)
	if !send {
		return nil
	}
	return cl.send(protocol.KindAck, ack) // ack is 0 for a reset: [4, 0]
}

// resetWait is how long after [4, 0] the client waits for the full snapshot before it may
// ask again: resetIntervals snapshot intervals (at 30 Hz if the rate is unknown) plus the
// last measured round trip. The caller holds cl.mu.
func (cl *Client) resetWait() time.Duration {
	rate := cl.snapRate
	if rate <= 0 {
		rate = 30
	}
	return resetIntervals*time.Second/time.Duration(rate) + cl.rtt
}

// snapHead is a snapshot's tick and baseline (0 for a full snapshot).
type snapHead struct{ tick, baseline uint32 }

// snapshotHeader reads the tick and the baseline of a snapshot: a v1 body, [tick, baseline,
// ...], or v2 values, tick, offset, ... (the baseline offset ticks back, none if 0; the
// offset may be a pair, whose second names a second baseline that the mirror checks).
func snapshotHeader(body []byte, v2 bool) (snapHead, bool) {
	r := protocol.NewReader(body)
	if !v2 && r.ArrayLen() < 2 {
		return snapHead{}, false
	}
	h := snapHead{tick: u32(&r)}
	pair := v2 && r.IsPair()
	h.baseline = u32(&r)
	if pair {
		r.Int() // offset2: negative in an exact v3 snapshot; the mirror checks it
	}
	if v2 && h.baseline != 0 {
		if h.baseline >= h.tick {
			return snapHead{}, false
		}
		h.baseline = h.tick - h.baseline
	}
	return h, r.Err() == nil
}

// Stats returns the client's counts of snapshots applied and of baselines missed.
func (cl *Client) Stats() Stats {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.stats
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
func (cl *Client) Match(ctx context.Context, opts protocol.MatchOptions) (string, error) {
	r, err := cl.call(ctx, func(req uint64) []any { return []any{protocol.KindMatch, req, opts} })
	if err != nil {
		return "", err
	}
	var s string
	_ = msgpack.Unmarshal(r.payload, &s)
	if r.code != protocol.CodeOK {
		return "", &protocol.Error{Code: r.code, Message: s}
	}
	return s, nil
}

// CancelMatch withdraws a ticket.
func (cl *Client) CancelMatch(ctx context.Context, ticket string) error {
	r, err := cl.call(ctx, func(req uint64) []any { return []any{protocol.KindCancel, req, ticket} })
	if err != nil {
		return err
	}
	if r.code != protocol.CodeOK {
		var s string
		_ = msgpack.Unmarshal(r.payload, &s)
		return &protocol.Error{Code: r.code, Message: s}
	}
	return nil
}

// FollowLobby subscribes to a game's room listing: it returns the rooms now listed, and
// changes arrive on Events as KindRoom. An empty game stops following.
func (cl *Client) FollowLobby(ctx context.Context, game string) (msgpack.RawMessage, error) {
	r, err := cl.call(ctx, func(req uint64) []any { return []any{protocol.KindLobby, req, game} })
	if err != nil {
		return nil, err
	}
	if r.code != protocol.CodeOK {
		return nil, &protocol.Error{Code: r.code}
	}
	return r.payload, nil
}
