// Package cluster runs Rallypoint on several machines: gameserver nodes that find each
// other, share one room directory, place rooms by load and share private codes, all through
// NATS (github.com/nats-io/nats.go) and nothing else. It knows nothing of the engine;
// engine.EnableCluster builds on it (ARCHITECTURE.md, "Cluster"). Without it a node is alone
// and needs nothing.
//
// # What there is
//
//   - Embedded runs a NATS server with JetStream in the process: the tests use it, and so
//     does a gameserver started with -nats-listen, so that a small cluster needs no other
//     program.
//   - Connect (or Join, over a connection of the caller's) makes a Node: it announces its id,
//     public WebSocket URL, capacity (MaxRooms, MaxPlayers) and load (players, rooms, CPU,
//     from Options.Load) every Interval (1 s), and keeps a live view of the other nodes
//     (Nodes). A node that stops heartbeating is gone from every view within Timeout (3 s),
//     with no operator action; nodes join and leave at any time; SetDraining takes a node out
//     of placement at once. See Node for why liveness is a KV bucket with MaxAge rather than
//     plain heartbeats.
//   - The directory: each node publishes its rooms (PublishRoom, RemoveRoom, with the fields
//     of match.Entry), and every node lists every room of the cluster with its node and URL
//     (Rooms, Room, Totals, Subscribe), with match.Filter's filters and sorting. The rooms of
//     a gone node leave the listing as the node leaves the view.
//   - Placement: PickNode (Pick for a given view) chooses the live, non-draining node with
//     the most headroom in players, within its caps on rooms and players.
//   - Private codes: CreateCode fails if the code is held anywhere in the cluster; any node
//     ResolveCodes it.
//   - Matchmaking: NewMatchmaker makes a match.Matchmaker whose tickets live in NATS, so that
//     any node enqueues, cancels and releases; one node at a time, the holder of a lease,
//     matches them with match.Local's algorithm and calls its onMatch for every match of the
//     cluster. Commits are compare-and-set sequences that a dying leader leaves either undone
//     or recorded for the next one (matchmaker.go says how, and what it costs).
//
// Seats are not here: the room's node is the only authority over its seats, and the engine
// asks it over a NATS request (engine/cluster.go), which needs no shared record.
//
// # What NATS holds
//
// Three JetStream key-value buckets, named after Options.Prefix ("rallypoint"):
//
//	rallypoint_nodes  node id → NodeInfo (JSON)    memory, MaxAge = Timeout, limit markers
//	rallypoint_rooms  node.room → match.Entry      memory
//	rallypoint_codes  CODE → room, node            file
//
// and four of the Matchmaker's, made when it first needs them:
//
//	rallypoint_tickets  ticket id → ticket, its node, the match claiming it   file
//	rallypoint_players  player id → its waiting ticket or holding match       file
//	rallypoint_matches  match id → match, pending/committed/dissolved          file
//	rallypoint_matcher  "lease" → the matcher's node id   memory, MaxAge = LeaseTTL
//
// Nodes and rooms are soft state: their owners write them again after a NATS restart. Codes
// are hard state and live on disk. Records are JSON so that `nats kv get` shows them; the
// cost is a few dozen bytes per record against msgpack.
//
// # Failures
//
//   - A node dies: its heartbeats stop; within Timeout the server's MaxAge removes its record
//     and every node drops it (each node also expires it by its own clock). Its rooms leave
//     every listing then, and the live node with the smallest id sweeps its room records.
//     Its codes are free again.
//   - NATS goes away: a node's Synced turns false, its peers fade from its view within
//     Timeout, and code operations fail at once with ErrNotSynced. Rooms keep running. When
//     NATS is back, every node re-creates missing buckets, rebuilds its view and writes its
//     records again.
//   - A node pauses longer than Timeout (GC, a cut link) and comes back: it reappears at its
//     next heartbeat; if the janitor swept its records meanwhile it writes them again.
package cluster
