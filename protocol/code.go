package protocol

// Code is a result or error code, carried by KindResponse, KindError and KindLeft
// (PROTOCOL.md, "Codes"). The names are the same in the TypeScript SDK without the prefix
// (CodeRefused is Code.Refused there).
//
// 14 is reserved: it was "timed out", for a seat whose grace period ended, which no server
// sent (the player is gone by then; a late resume gets CodeNotFound). It must not be given
// a new meaning, so that an old client never misreads it.
type Code uint16

// Codes, in PROTOCOL.md's order.
const (
	CodeOK             Code = 0
	CodeMalformed      Code = 1  // the message could not be decoded
	CodeUnknownKind    Code = 2  // the message kind is not one this server knows
	CodeNotJoined      Code = 3  // the message needs a joined room
	CodeRefused        Code = 4  // the game refused the join; the message says why
	CodeNotFound       Code = 5  // no such game, room, join code or resume token
	CodeFull           Code = 6  // the room has no free seat
	CodeLocked         Code = 7  // the room accepts no new players
	CodeRateLimited    Code = 8  // too many requests waiting for an answer (the connection stays); a sustained message flood is closed with 1008 instead
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

// String is the code's short description, as error messages show it.
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

// Error is an error with a protocol code: what a server answers with in KindResponse,
// KindError or KindLeft, and what a client returns when it gets such an answer. Test for it
// with errors.As. The engine's Refuse and Reject make one for game code.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }
