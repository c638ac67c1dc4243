// Package ws is Rallypoint's WebSocket layer: the opening handshake and framing of RFC 6455
// and the permessage-deflate extension of RFC 7692, server (Serve) and client (Dial). It
// knows nothing of games; it moves messages.
//
// # Reading
//
// A server does not read: Serve accepts the connection and the library runs its read loop,
// handing each message to the application's Handler (OnMessage, then OnClose once). It is
// the only server path, so that no server keeps a goroutine per idle connection by mistake
// (see Memory). A client reads with ReadMessage, one goroutine at a time. Either way the
// bytes of a message belong to the connection until the next one is read: copy what you
// keep. Pings are answered, pongs noted and the close handshake completed on the way; a
// client keeps calling ReadMessage until it returns an error, the one a server's OnClose
// gets: a *CloseError saying who closed and why. Everything the peer sends is
// checked against RFC 6455 (masking, reserved bits and opcodes, control frame rules,
// fragmentation, UTF-8 of text, close codes) and against Limits (frame and message size,
// inflated size, message rate); a violation fails the connection with the matching close code
// (1002, 1007, 1008, 1009) and the reason in the close frame.
//
// # Writing
//
// WriteMessage, WritePrepared, WriteLatest, Ping and Close are safe from any number of
// goroutines and never block on the peer. On Unix, over a connection with a file descriptor
// (a TCP or Unix socket: a syscall.Conn), a frame goes straight to the socket when nothing is
// ahead of it and the socket has room (the common case: one non-blocking syscall, no
// goroutine); otherwise it waits in an ordered queue that a goroutine, alive only while there
// is a backlog, drains with one vectored write for everything ready. The queue is bounded
// (Limits.MaxQueuedMessages, MaxQueuedBytes): a peer that does not read is closed with 1008
// and counted in Metrics.SlowConsumers instead of growing the server's memory. WriteLatest
// fills a latest-wins slot for messages that supersede each other (snapshots).
//
// # TLS
//
// A *tls.Conn has no file descriptor to write to (the bytes must be encrypted first), and
// neither has a net.Pipe; nor is the direct path built on other systems. There every frame
// takes the queue: the first write of a burst starts the flushing goroutine, which writes
// what is ready through the connection's Write and exits, so a server sending a snapshot
// to each idle player starts a short-lived goroutine per player per snapshot; the vectored
// write becomes one Write, hence one TLS record, per frame; and a read waits holding its 4
// KiB buffer, besides crypto/tls's own per-connection buffers. Everything else (limits,
// ordering, latest-wins, slow consumers, PreparedMessage sharing the compression and
// framing) is the same. For the direct path, terminate TLS in front of the server (a
// reverse proxy or a load balancer) and serve plain TCP to it.
//
// # Broadcasting
//
// A PreparedMessage is compressed and framed once and then written to any number of
// connections without copying: this is how a room sends one snapshot to its players.
// Broadcast writes one to many connections, spreading large audiences over GOMAXPROCS
// goroutines; WriteLatestWith sends a connection's own small message (an input
// acknowledgement) together with a shared one in a single write. A Batch gathers such
// latest-wins writes to many connections and, on Linux, hands those whose sockets are free
// to the kernel together through io_uring, up to 64 to a system call: bench/floor measured
// about half the sending CPU per small message of a write(2) each, and a room's tick about
// an eighth less engine CPU at 300 rooms of 8 players (BenchmarkManyRooms). Where the kernel
// refuses io_uring (Metrics.BatchedWrites stays 0) a Batch writes each frame as WriteLatest
// does. Batch.WriteMessage adds a connection's own message, in order with its others, as
// WriteMessage sends it: cmd/loadgen sends every bot's input of a step that way.
//
// # Compression
//
// permessage-deflate is negotiated by default without context takeover in either direction
// (see CompressionMode for what each choice costs). Messages under a threshold go
// uncompressed. Inflation stops at Limits.MaxMessageSize, so a decompression bomb costs no
// more memory than an honest message of the limit's size; the memory all connections'
// messages hold together is bounded by a MemoryBudget, and the work of inflating by
// Limits.MaxInflateRate per connection and by the budget's InflateRate for all of them.
// Inflating or compressing a large message yields the CPU every 256 KiB, so that a few
// connections doing it never hold a latency-sensitive goroutine (a game room's tick) for
// Go's 10 ms preemption slices in turn.
//
// # Memory
//
// An idle connection holds no read buffer, no write buffer, no compressor and no goroutine
// of its own beyond its reader's: on Unix, over a socket, it waits for readability through
// syscall.RawConn and borrows a pooled buffer only when bytes arrive (over TLS it holds one
// while waiting: see TLS), and its keepalive is an entry in one schedule shared by all
// connections (keepalive.go), not a timer of its own. Steady-state reads and writes
// allocate nothing. The library runs a server's read loop (Serve): on Linux, a served
// connection silent for about 100 ms (or whose messages come further apart than that, after
// each) then waits in one epoll set shared by all of them instead of in a goroutine of its
// own, as nbio and gnet do (poll_linux.go), while one in use keeps its goroutine.
// bench/idlemem measured the gameserver's /echo at 18.4 KiB of RSS per idle connection with
// a ReadMessage loop inside the HTTP handler, 8.0 with a goroutine per connection of the
// library's, and about 4 with the epoll set. The watch is one-shot, armed as a connection
// parks, so a connection in use costs the poller nothing; the poller holds one OS thread in
// epoll_wait (poll_linux.go says why). A served connection whose application has a clock of
// its own (a game room's tick) can go further: pulled (SetPulled), it has no watch either,
// and the clock reads it with Pull, without blocking, one read(2) for all that arrived
// since the last (pull.go); its socket's receive low-water mark keeps the kernel from
// signalling each arrival to the runtime's netpoller meanwhile (pullLowat).
//
// Message buffers up to Limits.MessageAllowance (64 KiB) are pooled and free of any budget.
// Larger ones are reserved from the connection's MemoryBudget before they are allocated
// (shared by the server, DefaultMemoryBudget unless Limits names one), grow as the bytes
// arrive rather than by what a frame header announces, and go to the garbage collector, not
// a pool, once the message is done; after a burst of them the budget returns the memory to
// the operating system. A peer that finds the budget full waits (Limits.MemoryWait) and then
// gets 1013 Try Again Later.
//
// # Floods
//
// Every frame counts against Limits.MaxFramesPerSecond, data fragments in proportion to how
// little payload they carry and control frames in full, so empty continuation frames or
// pings sent without end get 1008 while a large message in small fragments does not. A ping
// that arrives while the pong of an earlier one still waits to be written replaces it (RFC
// 6455 §5.5.3): a ping flood cannot make this side queue pongs.
//
// # Origins
//
// Serve refuses (403) a browser whose Origin is neither the request's host nor listed in
// AcceptOptions.OriginPatterns: without that check any web page could open a connection
// with the visitor's cookies (RFC 6455 §10.2).
package ws
