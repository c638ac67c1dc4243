// Package state replicates game state from a room to its players: snapshots of the world,
// deltas against what each player acknowledged, a cache of encoded frames, and the client
// side that applies them. It knows nothing of sockets: it turns state into bytes and back.
//
// # The model
//
// Rallypoint follows the model of Quake 3's network code. At each snapshot tick the room
// records the whole replicated world as a Snapshot and keeps the last few in a Ring. Every
// player acknowledges the last tick it received. The server then sends each player the
// difference between the player's acknowledged tick (its baseline) and the current tick.
// Nothing is ever sent reliably or retransmitted: if a frame is lost, or replaced in a slow
// player's latest-wins slot, the player simply keeps acknowledging an older tick and the next
// delta is computed against that older baseline, so it carries everything the player missed.
// If the baseline has left the ring (the player is more than a ring's length behind, or just
// joined), the player gets a full snapshot. The client keeps its last few states (Mirror),
// since deltas may be encoded against any tick it acknowledged.
//
// One snapshot tick in the engine, in code:
//
//	b := ring.Builder()
//	b.Begin(tick)
//	for _, e := range world { b.Add(e.ID, e.Kind, e) }   // e implements Entity
//	ring.Push(b.Finish())
//	for _, p := range players {
//		base := ring.Get(p.Ack)                            // nil: not held, full snapshot
//		k := state.FrameKey{View: p.View, Baseline: p.Ack, Tick: tick}
//		if base == nil { k.Baseline = 0 }
//		frame, ok := cache.Get(k)
//		if !ok {
//			buf = state.AppendDelta(buf[:0], base, ring.Latest(), p.Filter)
//			frame = prepare(buf)                              // compress and frame once
//			cache.Add(k, frame)
//		}
//		p.Send(frame)
//	}
//
// Players who share a view (ViewKey) and a baseline share the frame, so a room of many
// players that keep up encodes, compresses and frames a handful of messages per tick.
//
// # What a delta contains
//
// Entities are identified by ID and have a kind (a byte the game chooses: player, projectile)
// and an ordered list of fields, each one MessagePack value written by the game's Entity
// through Fields. Fields are compared by their encoded bytes. A delta from baseline to tick
// lists:
//
//   - added: entities the client does not have, whole (id, kind, every field). An entity
//     whose kind or number of fields changed, or which has more than MaxMaskFields (64) fields
//     and changed at all, is also re-sent here, whole, replacing the client's.
//   - removed: ids of entities the client has and should drop.
//   - changed: for each entity whose fields changed, its id, a 64-bit mask of the changed
//     fields (bit i for field i) and the new values of those fields, in index order.
//
// An entity that did not change costs nothing. A full snapshot is a delta against nothing:
// baseline 0, every entity in added. Each list is in ascending id order, and no id appears in
// two lists.
//
// # The wire body
//
// AppendDelta writes one MessagePack value, the body of a snapshot message (the engine's
// protocol wraps it in its envelope):
//
//	[tick, baseline, added, removed, changed]
//	tick, baseline  uint (baseline 0: full snapshot)
//	added           [[id, kind, [field0, field1, ...]], ...]
//	removed         [id, ...]
//	changed         [[id, mask, fieldA, fieldB, ...], ...]
//
// Integers take the smallest MessagePack format that holds them. An example, from the package
// Example: units of kind 1 with two fields, x (Float32) and hp (Int). At tick 7, unit 1 is at
// x=1.5 with 100 hp and unit 2 at x=-2 with 100 hp. A client with no baseline receives:
//
//	95                  array of 5
//	07                  tick 7
//	00                  baseline 0: full snapshot
//	92                  added: 2 entities
//	  93 01 01            [id 1, kind 1,
//	  92 ca 3f c0 00 00 64  [x float32 1.5, hp 100]]
//	  93 02 01            [id 2, kind 1,
//	  92 ca c0 00 00 00 64  [x float32 -2, hp 100]]
//	90                  removed: none
//	90                  changed: none
//
// At tick 8, unit 1 moved to x=2, unit 2 is gone and unit 3, of kind 2, appeared at x=0.5 with
// 20 hp. The client acknowledged tick 7, so it receives 25 bytes:
//
//	95 08 07            [tick 8, baseline 7,
//	91 93 03 02 92 ca 3f 00 00 00 14   added: [[3, 2, [0.5, 20]]],
//	91 02               removed: [2],
//	91 93 01 01 ca 40 00 00 00         changed: [[id 1, mask 0b1, x 2.0]]]
//
// hp of unit 1 did not change, so bit 1 of its mask is clear and its value is not sent.
//
// # The v2 values
//
// AppendDeltaV2 writes the same delta in fewer bytes, for the rallypoint.v2 wire: three to
// five values in a row that the engine places inside its message, not an array of its own;
// the baseline as an offset back from the tick (one byte instead of three or five); the
// changed entries first, one after another in a single array; added and removed after them,
// each left out when it and what follows are empty (most snapshots of a game in play add and
// remove nothing); and a changed field whose baseline value and new value are both integers
// as new − baseline. The tick 8 delta above becomes
//
//	08 01               tick 8, offset 1 (baseline 7)
//	93 01 01 ca 40 00 00 00            changed: [id 1, mask 0b1, x 2.0]
//	91 93 03 02 92 ca 3f 00 00 00 14   added, as in v1
//	91 02               removed, as in v1
//
// (x is a float: sent as it is). A game that quantizes a position to an integer sends its
// movement, mostly a one-byte fixint, not its value: 33% fewer bytes in the quantized shooter
// scene (BenchmarkDeltaBytes64Moving). The rule needs no types: a value is a difference when
// it is an integer and the baseline's is one, and Mirror.ApplyV2 writes the sum in the
// smallest integer format, the bytes the server's Fields wrote. intdelta.go says how the
// encoder keeps differences within int64.
//
// AppendDeltaV2Predicted goes one order further, for state that moves steadily: against
// two baselines the client holds, an integer travels as its distance from where it was
// heading, the baseline's value carried on at the speed it had between the two; a steady
// movement is then 0 or ±1. The offset becomes a pair, [offset, offset2]. predict.go has
// the rule and its bounds; the engine uses it for rooms with RoomConfig.PredictDeltas.
//
// AppendDeltaV3, for the rallypoint.v3 wire, lays out the same values but may send an exact
// snapshot (offset2 negated), which lists only what the prediction missed: an entity or
// field left out is where it was heading (exact.go), so steady movement costs nothing at
// all, and Mirror.ApplyV3 predicts every entity that moved between the two baselines.
// Where stops and jumps would make that the larger, it sends v2's form instead. On the
// quantized scene a frame takes 324 bytes where AppendDeltaV2Predicted's takes 396
// (BenchmarkAppendDeltaPredicted64).
//
// # Names, types and ids
//
// A Schema declares each kind once, in Go: its name and its fields' names and types, in the
// order AppendFields writes them, and the fields of the room state. The engine sends it to
// clients when they join (PROTOCOL.md, "Schema"), so that they read fields by name while the
// wire keeps compact arrays, and package tsgen writes TypeScript types from it.
// Builder.CheckSchema makes Add compare each entity's number of fields with its kind's: one
// comparison per entity, none per field, so it stays on in production.
//
// Ids 1 to MaxGameID are the game's. The engine numbers players 1, 2, 3... in each room and
// never reuses an id in a room, so a player's character commonly takes the player's id and
// other entities high bases (the shooter's bots from 1<<24, its rockets from 1<<25). Ids
// above MaxGameID are reserved: RoomID is the room state, which Builder.Room adds (kind
// RoomKind, 0) for what belongs to the whole room (a match clock, a scoreboard, the puzzle
// being solved), and which every player sees whatever their Filter.
//
// # Rules for game code
//
// An Entity writes the same fields in the same order at every tick; a field is known by its
// index. Write values as the client should see them: a position quantized to what the client
// needs makes smaller frames than a float that changes in its last bits. Keep fields that
// change every tick (positions) separate from those that rarely change (name, score): only
// the changed ones are sent. The typed Fields methods do not allocate; Fields.Value encodes
// any value with reflection and may.
//
// A Filter restricts what a player sees (interest management). Players with the same
// ViewKey must have equal filters. A delta only removes entities that its baseline shows
// through the filter, so when a player's view changes, encode with AppendDeltaBetween (the old
// and the new filter) or send a full snapshot.
//
// # Memory and concurrency
//
// A Ring recycles the memory of the snapshots that leave it into the next ones its Builder
// makes: after warm-up, building a snapshot and encoding a delta allocate nothing. The price
// is that a *Snapshot must not be kept after it has left the ring. Ring and Builder belong to
// one goroutine (the room's); a Snapshot is immutable and may be read concurrently while it is
// in the ring; FrameCache is safe for concurrent use. A Mirror keeps its states in a Ring of
// its own, so that applying a body does not allocate either; it belongs to one goroutine,
// checks every byte and never panics, so it may be fed untrusted input.
package state
