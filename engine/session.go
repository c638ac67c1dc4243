package engine

import (
	"bytes"
	"errors"
	"io"
	"math"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/rallypoint/rallypoint/internal/msgcheck"
	"github.com/rallypoint/rallypoint/match"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/protocol"
	"github.com/rallypoint/rallypoint/state"
)

// session serves one connection: it decodes client messages on the connection's goroutine
// and hands them to the player's room. A malformed message gets KindError and is otherwise
// ignored; it never reaches the room.
type session struct {
	e      *Engine
	c      *ws.Conn
	id     string // identifies the connection's player to the matchmaker and reservations
	key    string // the client, for per-client limits (Engine.ClientKey)
	player *Player
	ticket string // the matchmaking ticket waiting for this connection, if any
	feed   func() // cancels the lobby feed, if following one

	// br and dec read the message being handled, borrowed from decoders for its length
	// and nil between messages.
	br      *bytes.Reader
	dec     *msgpack.Decoder
	scratch any // the room's decoding space for this connection's inputs
}

// decoders lends msgpack decoders to sessions for the length of one message, each with the
// bytes.Reader it reads. A decoder is a few hundred bytes and keeps the buffer it grew for
// the longest string it read (a join's options): held by every session, that was about 0.7
// KiB of each idle player's memory (bench/idlemem's heap profile); lent, there are only as
// many as messages being handled at once. The reader lent with it takes 32 bytes more off
// every session (144 to 112, a smaller size class).
var decoders = sync.Pool{New: func() any { return &lentDecoder{dec: msgpack.NewDecoder(nil)} }}

type lentDecoder struct {
	dec *msgpack.Decoder
	br  bytes.Reader
	out []byte // an answer written while handling (a pong), copied by WriteMessage
}

// open registers the session; net/ws then calls OnMessage for each message and OnClose once
// (ws.Serve).
func (s *session) open() {
	s.id = s.e.newID()
	l := s.e.lobby
	l.mu.Lock()
	l.sessions[s.id] = s
	l.mu.Unlock()
}

// OnMessage handles one client message on the connection's read goroutine.
func (s *session) OnMessage(_ *ws.Conn, _ ws.MessageType, data []byte) { s.handle(data) }

// Inline tells net/ws which messages a room that reads at its tick (RoomConfig.ReadAtTick)
// may handle on its own goroutine: its players' inputs, acknowledgements, pings, requests and
// leaving, which only queue work for the room or answer at once. A join, matchmaking or the
// lobby may wait for another room, the matchmaker or the cluster (a join into this very
// room would wait for the tick that reads it), and go to the connection's goroutine; so does
// a message not encoded as [kind, ...] with a fixarray, which handle then judges there.
func (s *session) Inline(_ *ws.Conn, _ ws.MessageType, p []byte) bool {
	if len(p) >= 2 && p[0]&0xf0 == 0x90 {
		switch p[1] {
		case KindInput, KindInputs, KindAck, KindPing, KindRequest, KindLeave:
			return true
		}
	}
	return false
}

// OnClose drops the player (the seat's grace period starts) and undoes what open and the
// session's requests registered. It logs, at debug level, why the connection ended (the
// peer's close, a silent peer, a limit, a read error): an operator chasing one player's
// drop, or a test a page's reconnect, can tell whose it was.
func (s *session) OnClose(c *ws.Conn, err error) {
	if p := s.player; p != nil {
		p.room.enqueue(command{kind: cmdDrop, player: p, conn: c})
		s.e.log.Debug("connection ended", "room", p.room.id, "player", p.ID, "remote", c.RemoteAddr(), "err", err)
	} else {
		s.e.log.Debug("connection ended", "remote", c.RemoteAddr(), "err", err)
	}
	l := s.e.lobby
	l.mu.Lock()
	delete(l.sessions, s.id)
	l.mu.Unlock()
	if t := s.getTicket(); t != "" && l.mm != nil {
		_ = l.mm.Cancel(t)
	}
	if l.mm != nil && s.e.cl != nil {
		// The id dies with the connection and can never queue again; a match of it took
		// a seat on another node, whose release there names the seat's new id, not this
		// one, so the matchmaker would hold it forever.
		l.mm.Release(s.id)
	}
	l.leaveParty(s.id)
	if s.feed != nil {
		s.feed()
	}
	s.e.sessionEnded(s.key)
}

// handle processes one message. Nothing a client sends ends its connection here: a
// malformed message is answered (KindError) and dropped; floods are the connection's
// limits' business (net/ws, 1008).
func (s *session) handle(data []byte) {
	// Lengths are checked before the decoder sees them: it grows its reusable buffer for
	// whatever a string header claims, so a few 6-byte lies could hold gigabytes.
	if err := msgcheck.Valid(data, msgcheck.MaxDepth); err != nil {
		s.malformed("not one well-formed msgpack value: " + err.Error())
		return
	}
	l := decoders.Get().(*lentDecoder)
	l.br.Reset(data)
	s.br, s.dec = &l.br, l.dec
	defer func() {
		l.dec.Reset(nil) // let go of data's reader
		l.br.Reset(nil)
		s.br, s.dec = nil, nil
		decoders.Put(l)
	}()
	s.dec.Reset(s.br)
	n, err := s.dec.DecodeArrayLen()
	if err != nil || n < 1 {
		s.malformed("a message is a msgpack array [kind, ...]")
		return
	}
	kind, err := decodeUint(s.dec, math.MaxUint8)
	if err != nil {
		s.malformed("the first element of a message is its kind, an unsigned integer")
		return
	}
	switch kind {
	case KindInput:
		if n < 3 || n > 5 {
			s.malformed("input is [3, seq, input], [3, seq, input, ack_tick] or [3, seq, input, ack_tick, view]")
			return
		}
		seq, err := decodeUint(s.dec, math.MaxUint32)
		if err != nil {
			s.malformed("input sequence must be an unsigned 32-bit integer")
			return
		}
		var (
			ack  uint32
			view state.View
		)
		if n > 3 {
			// The acknowledgement and the view are checked before the input is queued: a
			// malformed message never reaches the room, not even in part.
			if ack, view, err = s.peekInputTail(n); err != nil {
				s.malformed(err.Error())
				return
			}
		}
		p := s.player
		if p == nil {
			s.fail(CodeNotJoined, "join a room before sending input")
			return
		}
		at := s.br.Size() - int64(s.br.Len()) // where the input starts (the decoder does not buffer a bytes.Reader)
		if err := p.room.sim.pushInput(p, uint32(seq), view, data[at:], s.dec, &s.scratch); err != nil {
			if errors.Is(err, errInputDropped) {
				// Silently: the input acknowledgement tells the client what was applied, and
				// its reconciliation corrects the prediction.
				s.e.metrics.InputsDropped.Add(1)
				s.ack(p, ack)
				return
			}
			e := asError(err, CodeMalformed)
			if e.Code == CodeMalformed {
				s.malformed(e.Message)
				return
			}
			s.fail(e.Code, e.Message)
			return
		}
		s.ack(p, ack)
	case KindInputs:
		s.inputs(n, data)
	case KindAck:
		if n != 2 {
			s.malformed("ack is [4, tick]")
			return
		}
		tick, err := decodeTick(s.dec)
		if err != nil {
			s.malformed("ack is [4, tick]")
			return
		}
		if p := s.player; p != nil {
			if tick == 0 {
				s.resetBaseline(p)
			} else {
				s.ack(p, tick)
			}
		}
	case KindPing:
		if n != 2 {
			s.malformed("ping is [6, client_time]")
			return
		}
		// client_time goes back as the client wrote it, its bytes copied: decoded into an
		// interface and encoded again, it cost every ping (one a second from each SDK
		// client) seven allocations.
		at := s.br.Size() - int64(s.br.Len())
		if err := s.dec.Skip(); err != nil {
			s.malformed("ping time must be a number")
			return
		}
		t := data[at : s.br.Size()-int64(s.br.Len())]
		var tick uint32
		if p := s.player; p != nil {
			tick = p.room.publicTick.Load()
		}
		l.out = append(protocol.AppendUint(protocol.AppendArray(l.out[:0], 4), KindPong), t...)
		l.out = protocol.AppendFloat64(l.out, float64(time.Now().UnixNano())/1e6)
		l.out = appendUint32(l.out, tick)
		_ = s.c.WriteMessage(ws.MessageBinary, l.out)
		if cap(l.out) > 64 {
			l.out = nil // a client_time far longer than a number's 9 bytes stays out of the pool
		}
	case KindJoin:
		s.join(n)
	case KindMatch:
		s.match(n)
	case KindCancel:
		s.cancel(n)
	case KindLobby:
		s.follow(n)
	case KindLeave:
		if p := s.player; p != nil {
			p.room.enqueue(command{kind: cmdLeave, player: p, why: LeftByChoice})
			s.player = nil
		}
	case KindRequest:
		if n != 4 {
			s.malformed("request is [5, req, name, payload]")
			return
		}
		req, err1 := decodeUint(s.dec, math.MaxUint64)
		name, err2 := s.dec.DecodeString()
		payload, err3 := s.dec.DecodeRaw()
		if err1 != nil || err2 != nil || err3 != nil {
			s.malformed("request is [5, req, name, payload]")
			return
		}
		p := s.player
		if p == nil {
			_ = s.e.writeMsg(s.c, KindResponse, req, uint64(CodeNotJoined), "join a room first")
			return
		}
		if p.requests.Add(1) > int32(p.room.cfg.MaxPendingRequests) {
			p.requests.Add(-1)
			s.e.metrics.RequestsRefused.Add(1)
			_ = s.e.writeMsg(s.c, KindResponse, req, uint64(CodeRateLimited), "too many requests waiting for an answer; wait for one")
			return
		}
		if !p.room.enqueue(command{kind: cmdRequest, player: p, req: req, name: name, payload: payload}) {
			p.requests.Add(-1)
			_ = s.e.writeMsg(s.c, KindResponse, req, uint64(CodeRoomEnded), "the room has ended")
		}
	default:
		s.fail(CodeUnknownKind, "unknown message kind")
	}
}

// ack records that the client applied the snapshot of tick (from [4, tick] or an input's
// fourth element), so that the room sends its next delta against it. A tick at or below the
// one already acknowledged changes nothing (0 means none), nor does a tick the room has not
// reached: the client cannot have seen it, and taking it would leave every later, genuine
// acknowledgement looking stale. The room still checks that the acknowledged snapshot is in
// its history and was sent through the player's current view before using it as a baseline.
//
// Only the connection that holds the seat acknowledges: after a resume, the connection it
// replaced may still deliver a few messages, and its ticks were sent on the old connection:
// taking one would make the new connection's next delta go against a state its client never
// had (nor would it prove that the new one has its resume token: see sessions).
func (s *session) ack(p *Player, tick uint32) {
	if p.conn.Load() != s.c {
		return
	}
	if tick > p.ackTick.Load() && tick <= p.room.publicTick.Load() {
		p.ackTick.Store(tick)
	}
}

// resetBaseline handles [4, 0]: the client could not apply a delta because it does not hold
// its baseline (its state diverged, or it dropped old states), so the next snapshot is full
// and later acknowledgements start over. Without it such a client would get deltas against
// the same unknown tick forever, each refused, its state frozen.
func (s *session) resetBaseline(p *Player) {
	if p.conn.Load() != s.c {
		return
	}
	s.e.metrics.BaselineResets.Add(1)
	p.ackTick.Store(0)
}

// peekInputTail reads what follows the input in [3, seq, input, ack_tick, view] (n elements)
// and leaves the decoder at the input again, for the room to decode it. The message is well
// formed (handle checked it), so skipping the input cannot be led astray; it costs one more
// walk over a few bytes, against the wake-up and read of the separate [4, tick] it replaces.
func (s *session) peekInputTail(n int) (ack uint32, view state.View, err error) {
	input := s.br.Size() - int64(s.br.Len())
	if err := s.dec.Skip(); err != nil {
		return 0, view, err
	}
	if ack, err = decodeTick(s.dec); err != nil {
		return 0, view, errAck
	}
	if n == 5 {
		if view, err = decodeView(s.dec); err != nil {
			return 0, view, err
		}
	}
	if _, err := s.br.Seek(input, io.SeekStart); err != nil {
		return 0, view, err
	}
	s.dec.Reset(s.br)
	return ack, view, nil
}

// decodeView reads an input's view, [from_tick, span, t_milli] or nil: the client drew the
// snapshots of ticks from_tick and from_tick+span blended by t_milli/1000 (above 1000 when it
// extrapolated). See state.View.
func decodeView(dec *msgpack.Decoder) (state.View, error) {
	c, err := dec.PeekCode()
	if err != nil {
		return state.View{}, errView
	}
	if c == msgpcode.Nil {
		return state.View{}, dec.Skip()
	}
	if n, err := dec.DecodeArrayLen(); err != nil || n != 3 {
		return state.View{}, errView
	}
	var v [3]uint32
	for i := range v {
		if v[i], err = decodeTick(dec); err != nil {
			return state.View{}, errView
		}
	}
	from, span, milli := v[0], v[1], v[2]
	if from == 0 || span > math.MaxUint16 || milli > math.MaxUint16 || from > math.MaxUint32-span {
		return state.View{}, errView
	}
	return state.View{From: state.Tick(from), To: state.Tick(from + span), T: float64(milli) / 1000}, nil
}

// decodeTick reads an acknowledged snapshot tick: an unsigned integer of any width up to
// 32 bits, or nil for none (0). Anything else, a negative number or a float included, is an
// error; the decoder's own DecodeUint32 would wrap -1 into tick 4294967295.
func decodeTick(dec *msgpack.Decoder) (uint32, error) {
	c, err := dec.PeekCode()
	if err != nil {
		return 0, err
	}
	if c == msgpcode.Nil {
		return 0, dec.Skip()
	}
	v, err := decodeUint(dec, math.MaxUint32)
	if err != nil {
		return 0, errBadTick
	}
	return uint32(v), nil
}

// decodeUint reads an unsigned integer no larger than max, in any msgpack integer encoding
// (PROTOCOL.md: "integers of any width"), so a non-negative value sent as int64 is taken.
// Everything else is an error, never a wrapped value: the decoder's own DecodeUint32 and
// DecodeUint64 convert -1 into 4294967295 and 2^64-1 and truncate 2^32 to 0, which let a
// client pick a sequence number no honest client can reach (and an input ignored without a
// word). A sequence number, a tick or a request id out of its range is a malformed message.
func decodeUint(dec *msgpack.Decoder, max uint64) (uint64, error) {
	c, err := dec.PeekCode()
	if err != nil {
		return 0, err
	}
	var v uint64
	switch {
	case msgpcode.IsFixedNum(c) && int8(c) >= 0, c == msgpcode.Uint8, c == msgpcode.Uint16,
		c == msgpcode.Uint32, c == msgpcode.Uint64:
		if v, err = dec.DecodeUint64(); err != nil {
			return 0, err
		}
	case c == msgpcode.Int8, c == msgpcode.Int16, c == msgpcode.Int32, c == msgpcode.Int64:
		i, err := dec.DecodeInt64()
		if err != nil {
			return 0, err
		}
		if i < 0 {
			return 0, errNotUnsigned
		}
		v = uint64(i)
	default:
		return 0, errNotUnsigned
	}
	if v > max {
		return 0, errNotUnsigned
	}
	return v, nil
}

var (
	errNotUnsigned = errors.New("engine: not an unsigned integer in range")
	errBadTick     = errors.New("engine: a snapshot tick is an unsigned 32-bit integer")
	errView        = errors.New("an input's view is [from_tick, span, t_milli], unsigned integers, or nil")
	errAck         = errors.New("an input's acknowledgement is a snapshot tick, an unsigned integer, or nil")
)

func (s *session) malformed(msg string) {
	s.e.metrics.Malformed.Add(1)
	s.fail(CodeMalformed, msg)
}

func (s *session) fail(code Code, msg string) {
	_ = s.e.writeMsg(s.c, KindError, uint64(code), msg)
}

func (s *session) join(n int) {
	if n != 3 {
		s.malformed("join is [1, req, options]")
		return
	}
	req, err := decodeUint(s.dec, math.MaxUint64)
	if err != nil {
		s.malformed("join request id must be an unsigned integer")
		return
	}
	var opts JoinOptions
	if err := s.dec.Decode(&opts); err != nil {
		s.malformed("join options must be a map: " + err.Error())
		return
	}
	respond := func(code Code, msg string) {
		_ = s.e.writeMsg(s.c, KindResponse, req, uint64(code), msg)
	}
	if s.player != nil {
		respond(CodeAlreadyJoined, "this connection is already in a room; leave first")
		return
	}
	if s.e.closing.Load() {
		respond(CodeShutdown, "server shutting down")
		return
	}
	var rc *roomCore
	cmd := command{kind: cmdJoin, conn: s.c, req: req, payload: opts.Meta, reply: make(chan joinResult, 1), session: s.id}
	switch {
	case opts.Reservation != "":
		room, err := s.claim(opts.Reservation)
		if err != nil {
			respond(CodeNotFound, err.Error())
			return
		}
		// A claimed seat no longer expires: if the room does not seat the player after all
		// (it ended, filled, or the game refused), the seat is released here, or the player
		// would hold it, unable to queue again, until the room ended.
		respond = func(code Code, msg string) {
			s.e.lobby.res.Release(s.id)
			_ = s.e.writeMsg(s.c, KindResponse, req, uint64(code), msg)
		}
		if rc = s.e.room(room); rc == nil {
			respond(CodeRoomEnded, "the room has ended")
			return
		}
		cmd.claimed = true
		cmd.origin = s.id // the id the seat was reserved for: this session's, or another node's
		if r, ok := s.e.lobby.res.Seat(s.id); ok && r.Origin != "" {
			cmd.origin = r.Origin
		}
		s.putTicket("")
	case opts.Code != "":
		room, err := s.e.lobby.codes.Lookup(opts.Code, s.key)
		if errors.Is(err, match.ErrTooManyGuesses) {
			respond(CodeTooManyGuesses, err.Error())
			return
		}
		if err != nil {
			if s.e.cl == nil || !s.remoteCode(req, opts.Code, respond) {
				respond(CodeNotFound, "no room has that code")
			}
			return
		}
		if rc = s.e.room(room); rc == nil {
			respond(CodeNotFound, "no room has that code")
			return
		}
	case opts.Token != "":
		p := s.e.sessions.get(opts.Token)
		if p == nil {
			if s.e.cl == nil || !s.remoteResume(req, opts.Token, respond) {
				respond(CodeNotFound, "unknown or expired resume token")
			}
			return
		}
		rc, cmd.kind, cmd.player, cmd.token = p.room, cmdRejoin, p, opts.Token
	case opts.Room != "":
		s.e.mu.Lock()
		rc = s.e.rooms[opts.Room]
		s.e.mu.Unlock()
		if rc == nil {
			if s.e.cl == nil || !s.remoteRoom(req, opts.Room, respond) {
				respond(CodeNotFound, "no room "+opts.Room)
			}
			return
		}
		if rc.private { // set at creation, never changed
			// The code is the key of a private room: its id is no secret, and the code's
			// guesses are rate-limited where ids are not.
			respond(CodePrivate, "room "+opts.Room+" is private: join it with its code")
			return
		}
	case opts.Game == "":
		respond(CodeNotFound, "join needs a game, a room or a resume token")
		return
	case opts.Create:
		if s.e.cl != nil && s.remoteCreate(req, opts.Game, opts.Private, respond) {
			return
		}
		var err error
		by := creator{rated: true, key: s.key}
		if rc, err = s.e.createRoom(opts.Game, CreateOptions{Private: opts.Private}, by); err != nil {
			respond(createErrCode(err), err.Error())
			return
		}
	case s.e.cl != nil:
		s.clusterQuickJoin(cmd, opts.Game, respond)
		return
	default:
		s.quickJoin(cmd, opts.Game, respond)
		return
	}
	if !rc.enqueue(cmd) {
		respond(CodeRoomEnded, "the room has ended")
		return
	}
	select {
	case res := <-cmd.reply:
		if res.err != nil {
			respond(res.err.Code, res.err.Message)
			return
		}
		s.player = res.player
	case <-rc.finished:
		respond(CodeRoomEnded, "the room has ended")
	}
}

// quickJoin seats the player in the fullest room of game with a free seat. A room that
// refuses anyway (it filled through a code or a reservation, the game locked it, it ended)
// is passed over and the next one tried, a few times, before the refusal is reported.
func (s *session) quickJoin(cmd command, game string, respond func(Code, string)) {
	s.quickJoinOr(cmd, game, respond, true)
}

// quickJoinOr is quickJoin that makes a room only if create is set; without, it reports
// false, having answered nothing, when this node has no room with a free seat.
func (s *session) quickJoinOr(cmd command, game string, respond func(Code, string), create bool) bool {
	const attempts = 4
	var skip []string
	cmd.quick = true
	for i := 1; ; i++ {
		rc, err := s.e.quickPlayOr(game, skip, create)
		if errors.Is(err, errNoOpenRoom) {
			return false
		}
		if err != nil {
			respond(createErrCode(err), err.Error())
			return true
		}
		cmd.reply = make(chan joinResult, 1)
		code, msg, answered := CodeOK, "", false
		if !rc.enqueue(cmd) {
			code, msg = CodeRoomEnded, "the room has ended"
		} else {
			select {
			case res := <-cmd.reply:
				answered = true
				if res.err != nil {
					code, msg = res.err.Code, res.err.Message
				} else {
					s.player = res.player
				}
			case <-rc.finished:
				select {
				case <-cmd.reply:
					answered = true
				default:
				}
				code, msg = CodeRoomEnded, "the room has ended"
			}
		}
		if !answered { // a room that answers releases quick play's count itself (handleJoin)
			s.e.doneJoining(rc)
		}
		if code == CodeOK {
			return true
		}
		if i == attempts || (code != CodeFull && code != CodeLocked && code != CodeRoomEnded) {
			respond(code, msg)
			return true
		}
		skip = append(skip, rc.id)
	}
}

func createErrCode(err error) Code {
	switch {
	case errors.Is(err, ErrTooManyRooms):
		return CodeFull
	case errors.Is(err, ErrShuttingDown):
		return CodeShutdown
	case errors.Is(err, ErrClientRoomBudget), errors.Is(err, ErrRoomRate):
		return CodeTooManyRooms
	}
	return CodeNotFound
}

// match queues this connection's player: [7, req, options] → [21, req, 0, ticket], later
// [25, ticket, room, reservation, ttl_ms].
func (s *session) match(n int) {
	if n != 3 {
		s.malformed("match is [7, req, options]")
		return
	}
	req, err := decodeUint(s.dec, math.MaxUint64)
	if err != nil {
		s.malformed("match request id must be an unsigned integer")
		return
	}
	var opts MatchOptions
	if err := s.dec.Decode(&opts); err != nil {
		s.malformed("match options must be a map: " + err.Error())
		return
	}
	respond := func(code Code, payload any) {
		_ = s.e.writeMsg(s.c, KindResponse, req, uint64(code), payload)
	}
	mm := s.e.lobby.mm
	switch {
	case mm == nil:
		respond(CodeNotFound, "this server has no matchmaking")
		return
	case s.player != nil:
		respond(CodeAlreadyJoined, "leave the room before queueing")
		return
	}
	if s.getTicket() != "" {
		respond(CodeBusy, "this connection already has a ticket")
		return
	}
	t := match.NewTicket(opts.Game, s.id)
	t.Strings, t.Numbers = opts.Strings, opts.Numbers
	if opts.Party != "" {
		members, done, err := s.e.lobby.gather(s, opts)
		if err != nil {
			respond(CodeBadRequest, err.Error())
			return
		}
		if !done {
			respond(CodeOK, "") // waiting for the rest of the party; 0x19 follows
			return
		}
		t.Players = members
	}
	if err := mm.Enqueue(t); err != nil {
		code := CodeBadRequest
		if errors.Is(err, match.ErrPlayerBusy) {
			code = CodeBusy
		}
		respond(code, err.Error())
		return
	}
	s.e.lobby.setTicket(t.Players, t.ID)
	respond(CodeOK, t.ID)
}

// cancel withdraws a waiting ticket: [8, req, ticket].
func (s *session) cancel(n int) {
	if n != 3 {
		s.malformed("cancel is [8, req, ticket]")
		return
	}
	req, err1 := decodeUint(s.dec, math.MaxUint64)
	id, err2 := s.dec.DecodeString()
	if err1 != nil || err2 != nil {
		s.malformed("cancel is [8, req, ticket]")
		return
	}
	code, msg := CodeOK, ""
	if mm := s.e.lobby.mm; mm == nil || id != s.getTicket() {
		code, msg = CodeNotFound, "no such ticket on this connection"
	} else if err := mm.Cancel(id); err != nil {
		code, msg = CodeNotFound, err.Error()
	} else {
		s.putTicket("")
	}
	_ = s.e.writeMsg(s.c, KindResponse, req, uint64(code), msg)
}

// follow subscribes the connection to the room listing of a game: [9, req, game] answers
// with the current public rooms, then [26, change, room] for every change. [9, req, ""]
// stops. A connection that does not keep up is unsubscribed (the directory drops it).
func (s *session) follow(n int) {
	if n != 3 {
		s.malformed("lobby is [9, req, game]")
		return
	}
	req, err1 := decodeUint(s.dec, math.MaxUint64)
	game, err2 := s.dec.DecodeString()
	if err1 != nil || err2 != nil {
		s.malformed("lobby is [9, req, game]")
		return
	}
	if s.feed != nil {
		s.feed()
		s.feed = nil
	}
	if game == "" {
		_ = s.e.writeMsg(s.c, KindResponse, req, uint64(CodeOK), nil)
		return
	}
	changes, cancel := s.e.lobby.dir.Subscribe(game)
	list := s.e.lobby.dir.List
	where := func(string) (node, url string) { return "", "" }
	if cl := s.e.cl; cl != nil { // the whole cluster's rooms, each with its node
		changes, cancel = cl.node.Subscribe(game)
		list = func(f match.Filter) []match.Entry {
			var out []match.Entry
			for _, r := range cl.node.Rooms(f) {
				out = append(out, r.Entry)
			}
			return out
		}
		where = func(id string) (string, string) {
			r, _ := cl.node.Room(id)
			return r.Node, r.URL
		}
	}
	s.feed = cancel
	feedJSON := func(en match.Entry) roomJSON {
		j := toJSON(en)
		j.Node, j.URL = where(en.ID)
		return j
	}
	rooms := []roomJSON{}
	for _, en := range list(match.Filter{Game: game}) {
		rooms = append(rooms, feedJSON(en))
	}
	_ = s.e.writeMsg(s.c, KindResponse, req, uint64(CodeOK), rooms)
	c := s.c
	go func() {
		for ch := range changes {
			if s.e.writeMsg(c, KindRoom, uint64(ch.Kind), feedJSON(ch.Entry)) != nil {
				cancel()
				return
			}
		}
	}()
}

func (s *session) getTicket() string {
	s.e.lobby.mu.Lock()
	defer s.e.lobby.mu.Unlock()
	return s.ticket
}

func (s *session) putTicket(t string) {
	s.e.lobby.mu.Lock()
	s.ticket = t
	s.e.lobby.mu.Unlock()
}
