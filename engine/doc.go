// Package engine runs the rooms of multiplayer browser games: each room a fixed-tick
// simulation written as a Game, its players connected over WebSocket (the rallypoint.v3, v2 and
// v1 protocols of PROTOCOL.md), their state sent as msgpack snapshots, deltas against what
// each player acknowledged. An Engine is an http.Handler: mount it in any Go server.
//
// # A game
//
// A game is a type that implements Game[I], I being the type of its players' inputs (a
// struct with msgpack tags). Register it under a name with the RoomConfig its rooms run at
// and a factory; the engine makes one Game value per room:
//
//	e := engine.New(engine.Options{})
//	err := engine.Register(e, "tag", engine.RoomConfig{TickRate: 30, MaxPlayers: 8},
//		func() engine.Game[Move] { return &Tag{} })
//	http.Handle("/play", e)
//
// Every method of a Game runs on its room's goroutine, one at a time: game code takes no
// lock, and the Game's own fields are the room's state. Embed Hooks[I] for the optional
// hooks; Update and Snapshot are the game's own. See Example for a whole game in 40 lines,
// docs/first-game.md for a small game built step by step (examples/tag), and
// examples/crossword and examples/shooter for two real ones.
//
// # The life of a room
//
// A room is created by quick play (a client's join with only a game name, when every
// room of that game is full), by a client asking for a new or private room, by
// matchmaking, or by Engine.CreateRoom. Then:
//
//  1. Start, once, before anything else. An error ends the room.
//  2. Join, when a client asks for a seat: nil seats the player, Refuse(reason) turns the
//     client away with that reason.
//  3. Each tick (RoomConfig.TickRate a second): Update, with the inputs that arrived since
//     the previous tick, in arrival order, each checked against I first (a malformed one
//     never reaches the game). Every TickRate/SnapshotRate ticks, Snapshot describes the
//     world into a state.Builder, and View says what each player sees; the engine encodes
//     each distinct (view, baseline) once and sends every connected player a delta against
//     the snapshot it last acknowledged.
//  4. Drop, when a player's connection is lost (closed, or silent for Options.PeerTimeout):
//     the seat is held for RoomConfig.Grace. Rejoin, when the client comes back with its
//     resume token, as the same *Player. Leave, when the player left, was kicked, or the
//     grace ran out: the *Player is not to be used after it.
//  5. Request, when a client asks the game something ([5, req, name, payload]); its result
//     is the answer, Reject(reason) refuses it.
//  6. Terminate, once, when the room ends: Room.End, Engine.EndRoom, an empty room's
//     RoomConfig.EmptyTimeout, shutdown, or a panic in game code, which ends that room only
//     and is logged with its stack. The players still seated are in Room.Players.
//
// A room nobody is in sleeps: no tick runs until someone joins (RoomConfig.TickWhenEmpty
// keeps it ticking). Room also lets a game send events (Send, Broadcast, BroadcastTo),
// kick players, lock the room against new joins, and set the metadata the room listing
// shows.
//
// # Replicated state
//
// Snapshot adds entities to the builder: an id (1 to state.MaxGameID; players are numbered
// 1, 2, 3... per room), a kind the game numbers, and fields written by the entity's
// AppendFields in a fixed order (package state); b.Room adds the room state, for what
// belongs to the whole room. RoomConfig.Schema declares the kinds once, with field names
// and types: the engine sends it to every client with its join answer, so pages read
// fields by name while snapshots stay compact arrays, checks each snapshot against it (one
// comparison per entity; a mismatch is logged once per kind), and state/tsgen writes a
// page's TypeScript types from it. Clients hold a mirror of the entities (the browser SDK,
// and gameclient and state.Mirror in Go) and acknowledge each snapshot they apply; a client
// that falls behind gets fewer snapshots, never a close (RoomConfig.AckWindow). For lag
// compensation, Input.View says what the client drew when
// it made an input, and state.History keeps what each target looked like then.
//
// # Serving
//
// Engine.ServeHTTP upgrades /play connections (checking their Origin: see
// Options.Accept.OriginPatterns and Options.PublicHosts); RoomsHandler serves the room
// listing; the
// browser SDK is client.Handler. Every limit (connections per client and in all, rooms per
// client and per second, messages and frames per second, memory for inbound messages, and
// more) has a default, and what a client gets when it hits one is in PROTOCOL.md's Limits.
// Metrics has the counters an operator watches; cmd/gameserver exports them to Prometheus.
// Engine.Shutdown ends every room with close 1001.
//
// # A cluster
//
// Engine.EnableCluster joins the engine to other nodes through package cluster (NATS):
// every node lists every room, a join for a room elsewhere is redirected with a seat the
// room reserved, new rooms go to the node with the most free player seats, and
// Engine.Drain takes a node out of service for a deploy, moving its players to rooms on
// other nodes. A game that also implements Movable moves with its state, its players
// following as the same Players.
package engine
