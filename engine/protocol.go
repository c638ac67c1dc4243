package engine

import (
	"bytes"

	"github.com/vmihailenco/msgpack/v5"
)

// Wire protocol rallypoint.v1 (see PROTOCOL.md). Every message is one WebSocket binary
// message holding a msgpack array whose first element is the message kind.

// Subprotocol is the WebSocket subprotocol name; its suffix is the protocol version.
const Subprotocol = "rallypoint.v1"

// Message kinds sent by clients.
const (
	KindJoin    = 0x01 // [1, req, {game, room, code, create, token, meta}]
	KindLeave   = 0x02 // [2]
	KindInput   = 0x03 // [3, seq, input], [3, seq, input, ack_tick] or [3, seq, input, ack_tick, view]: the tick acknowledges as KindAck does; view is [from_tick, span, t_milli], what the client drew (Input.View)
	KindAck     = 0x04 // [4, tick]: for a client that sends no input before its next snapshot
	KindRequest = 0x05 // [5, req, name, payload]
	KindPing    = 0x06 // [6, client_time]
	KindMatch   = 0x07 // [7, req, {game, strings, numbers}]
	KindCancel  = 0x08 // [8, req, ticket]
	KindLobby   = 0x09 // [9, req, game]: follow the room listing of game ("" stops)
)

// Message kinds sent by the server.
const (
	KindJoined   = 0x11 // [17, req, room, player, token, tick, tick_rate, snapshot_rate]
	KindSnapshot = 0x12 // [18, body] body: state.AppendDelta's [tick, baseline, added, removed, changed]
	KindInputAck = 0x13 // [19, last_seq, tick]
	KindEvent    = 0x14 // [20, name, payload]
	KindResponse = 0x15 // [21, req, code, payload_or_message]
	KindError    = 0x16 // [22, code, message]
	KindPong     = 0x17 // [23, client_time, server_time_ms, tick]
	KindLeft     = 0x18 // [24, code, message]
	KindMatched  = 0x19 // [25, ticket, room, reservation, ttl_ms]
	KindRoom     = 0x1A // [26, change, room]: a lobby feed change (0 added, 1 updated, 2 removed)
)

// Code is an error code carried by KindError, KindResponse and KindLeft. 14 is reserved: it
// was "timed out", for a seat whose grace period ended, which no server sent (the player is
// gone by then; a late resume gets CodeNotFound).
type Code uint16

const (
	CodeOK             Code = 0
	CodeMalformed      Code = 1  // the message could not be decoded
	CodeUnknownKind    Code = 2  // the message kind is not one this server knows
	CodeNotJoined      Code = 3  // the message needs a joined room
	CodeRefused        Code = 4  // the game refused the join; the message says why
	CodeNotFound       Code = 5  // no such game, room, join code or resume token
	CodeFull           Code = 6  // the room has no free seat
	CodeLocked         Code = 7  // the room accepts no new players
	CodeRateLimited    Code = 8  // too many requests waiting (RoomConfig.MaxPendingRequests; the connection stays); a sustained message flood is closed with 1008 instead
	CodeRoomEnded      Code = 9  // the room ended (the game ended it or the server is stopping)
	CodeInternal       Code = 10 // the game failed; the room ended
	CodeAlreadyJoined  Code = 11 // a connection is in one room at a time
	CodeBadRequest     Code = 12 // the game rejected a request
	CodeShutdown       Code = 13 // the server is shutting down
	CodeBusy           Code = 15 // already queued, matched or seated
	CodeTooManyGuesses Code = 16 // too many wrong join codes; wait a minute
	CodePrivate        Code = 17 // the room is private: join it with its code (or a reservation)
	CodeTooManyRooms   Code = 18 // rooms created too fast (by this client or by all); the message says how long to wait
)

func (c Code) String() string {
	switch c {
	case CodeOK:
		return "ok"
	case CodeMalformed:
		return "malformed message"
	case CodeUnknownKind:
		return "unknown message kind"
	case CodeNotJoined:
		return "not joined"
	case CodeRefused:
		return "join refused"
	case CodeNotFound:
		return "not found"
	case CodeFull:
		return "room full"
	case CodeLocked:
		return "room locked"
	case CodeRateLimited:
		return "rate limited"
	case CodeRoomEnded:
		return "room ended"
	case CodeInternal:
		return "internal error"
	case CodeAlreadyJoined:
		return "already joined"
	case CodeBadRequest:
		return "bad request"
	case CodeShutdown:
		return "server shutting down"
	case CodeBusy:
		return "busy"
	case CodeTooManyGuesses:
		return "too many guesses"
	case CodePrivate:
		return "private room"
	case CodeTooManyRooms:
		return "too many rooms"
	}
	return "unknown"
}

// Error is an error with a protocol code. Games return it (via Refuse or Reject) to choose
// the code and message a client sees.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }

// Refuse makes the error a Game.Join returns to refuse a player with a reason they see.
func Refuse(reason string) error { return &Error{Code: CodeRefused, Message: reason} }

// Reject makes the error a Game.Request returns for a request it will not serve.
func Reject(reason string) error { return &Error{Code: CodeBadRequest, Message: reason} }

// JoinOptions is the map a client sends with KindJoin.
type JoinOptions struct {
	Game   string `msgpack:"game,omitempty"`
	Room   string `msgpack:"room,omitempty"`
	Code   string `msgpack:"code,omitempty"`
	Create bool   `msgpack:"create,omitempty"`
	Token  string `msgpack:"token,omitempty"`
	// Reservation is a seat reservation token from KindMatched (or from a Go server).
	Reservation string `msgpack:"reservation,omitempty"`
	// Private, with Create, makes a private room: unlisted, joined by its code (or a seat
	// reservation) only; a join by its room id is refused with CodePrivate.
	Private bool               `msgpack:"private,omitempty"`
	Meta    msgpack.RawMessage `msgpack:"meta,omitempty"`
}

// Marshal encodes a protocol message (or any value) the way the server does: msgpack with
// integers in their shortest form. The Go client uses it too.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.GetEncoder()
	defer msgpack.PutEncoder(enc)
	enc.Reset(&buf)
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
