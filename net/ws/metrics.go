package ws

import "sync/atomic"

// Metrics counts what the connections that share it did. Counters only grow; read them with
// Load. A server usually keeps one Metrics for all its connections and exports it (the
// gameserver turns it into Prometheus series).
type Metrics struct {
	Accepted       atomic.Int64 // connections that completed the opening handshake as server
	Dialed         atomic.Int64 // connections that completed it as client
	Refused        atomic.Int64 // handshakes refused with an HTTP error
	Open           atomic.Int64 // connections currently open
	MessagesIn     atomic.Int64
	MessagesOut    atomic.Int64
	BytesIn        atomic.Int64 // wire bytes read after the handshake
	BytesOut       atomic.Int64 // wire bytes written after the handshake
	PayloadIn      atomic.Int64 // message bytes after inflation
	PayloadOut     atomic.Int64 // message bytes before compression
	SlowConsumers  atomic.Int64 // connections closed because their outbound queue filled
	LatestReplaced atomic.Int64 // latest-wins messages replaced before they were sent
	ProtocolErrors atomic.Int64 // connections failed for a protocol violation or a limit

	// FrameFloods counts connections closed with 1008 for sending frames faster than
	// Limits.MaxFramesPerSecond allows.
	FrameFloods atomic.Int64
	// PongsSkipped counts pongs not sent because a newer ping arrived before they went out:
	// only the most recent ping is answered (RFC 6455 §5.5.3).
	PongsSkipped atomic.Int64
	// BudgetHeld is a gauge: bytes these connections hold now against their MemoryBudget.
	BudgetHeld atomic.Int64
	// BudgetWaits counts reads that had to wait for their MemoryBudget to have room.
	BudgetWaits atomic.Int64
	// BudgetRefused counts connections closed with 1013 because their MemoryBudget stayed
	// full for Limits.MemoryWait, or its InflateRate had them wait too long.
	BudgetRefused atomic.Int64
	// InflateThrottled counts pauses of a connection's reading because it inflated more than
	// Limits.MaxInflateRate allows; InflateThrottledNanos is their total length.
	InflateThrottled      atomic.Int64
	InflateThrottledNanos atomic.Int64
	// PeersSilent counts connections dropped because a ping went unanswered, and nothing
	// else arrived, for Limits.PongTimeout; WriteFailures, those whose write to the socket
	// failed (the peer reset the connection, or did not read for Limits.WriteTimeout).
	// Together with SlowConsumers they say why an operator's players dropped when nobody
	// closed anything.
	PeersSilent   atomic.Int64
	WriteFailures atomic.Int64
	// LargeBuffersFreed counts bytes of inbound message buffers above the pooling size that
	// were left to the garbage collector after use instead of being kept in a pool.
	LargeBuffersFreed atomic.Int64
	// PollRescues counts served connections that the keepalive found waiting in the poller
	// with unread bytes after a PingInterval of silence, and woke: a wake-up the poller lost.
	// It should stay 0; each one cost its player up to PingInterval of unread input.
	PollRescues atomic.Int64
	// BatchedWrites counts frames a Batch handed to the kernel through io_uring, several to
	// a system call. Zero on a system that refuses io_uring (a container's seccomp profile
	// often does): every write then takes a write(2) of its own, at about twice the CPU.
	BatchedWrites atomic.Int64
	// PulledMessages counts messages read by Pull at their reader's clock (a room's tick)
	// rather than on arrival. Zero where nothing pulls, or where connections cannot be
	// pulled (TLS, no poller): their messages are then read on arrival, at more CPU each.
	PulledMessages atomic.Int64
}

// DefaultMetrics is used by connections whose options name no Metrics.
var DefaultMetrics = new(Metrics)
