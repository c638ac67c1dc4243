package protocol

// This file and code.go import nothing: the test that compares them with the TypeScript
// SDK type-checks them on their own.

// Subprotocol is the WebSocket subprotocol name; its suffix is the protocol version
// (PROTOCOL.md, "Transport").
const Subprotocol = "rallypoint.v1"

// SubprotocolV2 is rallypoint.v1 with a smaller snapshot message, [18, last_seq, tick,
// offset, changed, added, removed] whose last two are left out when empty (PROTOCOL.md,
// "The v2 snapshot"); every other message is v1's. A server speaks both and prefers v2; a
// client offers v2, then v1.
const SubprotocolV2 = "rallypoint.v2"

// SubprotocolV3 is rallypoint.v2 whose snapshots against two baselines list only the fields
// that differ from their predictions (PROTOCOL.md, "The v3 snapshot"): an entity moving
// steadily is left out where v2 sends it as an entry of zeros. Every other message, and
// every byte of a snapshot's layout, is v2's. A server speaks v3, v2 and v1 and prefers
// them in that order; a client that implements v3 offers v3, then v2, then v1.
const SubprotocolV3 = "rallypoint.v3"

// MaxInputBatch is the most inputs one KindInputs message may carry: a batch counts as one
// message against the message rate limits, so its size bounds the work one message buys.
const MaxInputBatch = 8

// Message kinds sent by clients (PROTOCOL.md, "Client to server"). Every message is one
// WebSocket binary message holding a msgpack array whose first element is its kind. They
// are untyped constants so that they compare with whatever integer a decoder returns.
const (
	KindJoin    = 0x01 // [1, req, {game, room, code, create, token, reservation, private, meta}]
	KindLeave   = 0x02 // [2]
	KindInput   = 0x03 // [3, seq, input], [3, seq, input, ack_tick] or [3, seq, input, ack_tick, view]: the tick acknowledges as KindAck does; view is [from_tick, span, t_milli], what the client drew
	KindAck     = 0x04 // [4, tick]: for a client that sends no input before its next snapshot; [4, 0] asks for a full snapshot
	KindRequest = 0x05 // [5, req, name, payload]
	KindPing    = 0x06 // [6, client_time]
	KindMatch   = 0x07 // [7, req, {game, strings, numbers, party, party_size}]
	KindCancel  = 0x08 // [8, req, ticket]
	KindLobby   = 0x09 // [9, req, game]: follow the room listing of game ("" stops)
	KindInputs  = 0x0A // [10, first_seq, [input, ...]], [..., ack_tick] or [..., ack_tick, [view, ...]]: 1 to MaxInputBatch inputs of seqs first_seq, first_seq+1...; a client that coalesces its inputs
)

// Message kinds sent by the server (PROTOCOL.md, "Server to client").
const (
	KindJoined   = 0x11 // [17, req, room, player, token, tick, tick_rate, snapshot_rate, code] or [..., code, schema] when the game declares a state.Schema
	KindSnapshot = 0x12 // [18, body] body: [tick, baseline, added, removed, changed] (PROTOCOL.md, "Snapshots")
	KindInputAck = 0x13 // [19, last_seq, tick]
	KindEvent    = 0x14 // [20, name, payload]
	KindResponse = 0x15 // [21, req, code, payload_or_message]
	KindError    = 0x16 // [22, code, message]
	KindPong     = 0x17 // [23, client_time, server_time_ms, tick]
	KindLeft     = 0x18 // [24, code, message]
	KindMatched  = 0x19 // [25, ticket, room, reservation, ttl_ms] or [..., ttl_ms, url] when the room is on another node of a cluster
	KindRoom     = 0x1A // [26, change, room]: a lobby feed change (0 added, 1 updated, 2 removed; PROTOCOL.md, "Matchmaking, private rooms and the lobby")
	KindRedirect = 0x1B // [27, req, url, reservation, ttl_ms, room]: answers a join whose seat is on another node: join there (PROTOCOL.md, "A cluster of nodes")
	KindMoved    = 0x1C // [28, url, reservation, ttl_ms, room]: your room is ending on a draining node; a seat waits for you at url
)
