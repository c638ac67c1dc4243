package engine

import "github.com/rallypoint/rallypoint/protocol"

// The wire protocol rallypoint.v1 is defined in package protocol (and PROTOCOL.md); the
// names below are aliases of it, so that game code reads engine.CodeRefused, engine.Error
// and engine.JoinOptions without importing a second package, and code written before the
// protocol had a package of its own still compiles.

// Subprotocol is the WebSocket subprotocol name; its suffix is the protocol version.
const Subprotocol = protocol.Subprotocol

// SubprotocolV2 is rallypoint.v2: v1 with a smaller snapshot message. The engine speaks
// both, and prefers v2.
const SubprotocolV2 = protocol.SubprotocolV2

// SubprotocolV3 is rallypoint.v3: v2 whose predicted snapshots leave out what the
// prediction gets right. The engine prefers it to v2.
const SubprotocolV3 = protocol.SubprotocolV3

// Message kinds sent by clients (see package protocol for their shapes).
const (
	KindJoin    = protocol.KindJoin
	KindLeave   = protocol.KindLeave
	KindInput   = protocol.KindInput
	KindAck     = protocol.KindAck
	KindRequest = protocol.KindRequest
	KindPing    = protocol.KindPing
	KindMatch   = protocol.KindMatch
	KindCancel  = protocol.KindCancel
	KindLobby   = protocol.KindLobby
	KindInputs  = protocol.KindInputs
)

// Message kinds sent by the server (see package protocol for their shapes).
const (
	KindJoined   = protocol.KindJoined
	KindSnapshot = protocol.KindSnapshot
	KindInputAck = protocol.KindInputAck
	KindEvent    = protocol.KindEvent
	KindResponse = protocol.KindResponse
	KindError    = protocol.KindError
	KindPong     = protocol.KindPong
	KindLeft     = protocol.KindLeft
	KindMatched  = protocol.KindMatched
	KindRoom     = protocol.KindRoom
	KindRedirect = protocol.KindRedirect
	KindMoved    = protocol.KindMoved
)

// Code is an error code carried by KindError, KindResponse and KindLeft: protocol.Code.
type Code = protocol.Code

// Codes; protocol documents each.
const (
	CodeOK             = protocol.CodeOK
	CodeMalformed      = protocol.CodeMalformed
	CodeUnknownKind    = protocol.CodeUnknownKind
	CodeNotJoined      = protocol.CodeNotJoined
	CodeRefused        = protocol.CodeRefused
	CodeNotFound       = protocol.CodeNotFound
	CodeFull           = protocol.CodeFull
	CodeLocked         = protocol.CodeLocked
	CodeRateLimited    = protocol.CodeRateLimited
	CodeRoomEnded      = protocol.CodeRoomEnded
	CodeInternal       = protocol.CodeInternal
	CodeAlreadyJoined  = protocol.CodeAlreadyJoined
	CodeBadRequest     = protocol.CodeBadRequest
	CodeShutdown       = protocol.CodeShutdown
	CodeBusy           = protocol.CodeBusy
	CodeTooManyGuesses = protocol.CodeTooManyGuesses
	CodePrivate        = protocol.CodePrivate
	CodeTooManyRooms   = protocol.CodeTooManyRooms
)

// Error is an error with a protocol code (protocol.Error). Games return it, through Refuse
// or Reject, to choose the code and message a client sees.
type Error = protocol.Error

// Refuse makes the error a Game.Join returns to refuse a player with a reason they see.
func Refuse(reason string) error { return &Error{Code: CodeRefused, Message: reason} }

// Reject makes the error a Game.Request returns for a request it will not serve.
func Reject(reason string) error { return &Error{Code: CodeBadRequest, Message: reason} }

// JoinOptions is the map a client sends with KindJoin (protocol.JoinOptions).
type JoinOptions = protocol.JoinOptions

// MatchOptions is the map a client sends with KindMatch (protocol.MatchOptions).
type MatchOptions = protocol.MatchOptions

// Marshal encodes a protocol message (or any value) the way the server does: msgpack with
// integers in their shortest form (protocol.Marshal).
func Marshal(v any) ([]byte, error) { return protocol.Marshal(v) }
