package ws

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bound what one peer can make this side spend. Every field has a default that is used
// when the field is zero, so Limits{} is a sensible configuration; a negative value turns a
// limit off where the field says so. A peer that crosses a limit gets the close code or HTTP
// status named on the field, and no other connection notices.
type Limits struct {
	// HandshakeTimeout bounds the opening handshake: writing the 101 response on the server,
	// the whole exchange on the client. Default 10s.
	HandshakeTimeout time.Duration
	// MaxHeaderBytes bounds the request headers (server: 431) or response headers (client).
	// Default 8 KiB.
	MaxHeaderBytes int
	// MaxFrameSize bounds one frame's payload; a larger frame gets 1009 before it is read.
	// Default 1 MiB.
	MaxFrameSize int64
	// MaxMessageSize bounds a whole message after inflation; a larger one gets 1009. Inflation
	// stops at the limit, so a decompression bomb costs no more than this. Default 1 MiB.
	MaxMessageSize int64
	// MaxMessagesPerSecond is the sustained rate of data messages a peer may send, judged by
	// a token bucket of MessageBurst messages; a peer that empties the bucket gets 1008.
	// Default 1000; negative turns it off.
	MaxMessagesPerSecond float64
	// MessageBurst is how many messages beyond the sustained rate a peer may send at once:
	// the backlog that a stalled network path, a paused tab or this side's own descheduled
	// reader releases in one go, which is no attack. Default ten seconds' worth of
	// MaxMessagesPerSecond, so that only a flood sustained for seconds is closed; it costs
	// nothing to hold (a counter), and what the burst costs to process is bounded by the
	// rate times ten seconds.
	MessageBurst int
	// PingInterval is how often this side pings a peer it has heard nothing from. Default 20s;
	// negative turns keepalive off.
	PingInterval time.Duration
	// PongTimeout is how long a peer has to answer a ping (any frame counts) before the
	// connection is dropped. Default 10s.
	PongTimeout time.Duration
	// IdleTimeout closes with 1001 a connection that has carried no data message, in either
	// direction, for this long. Default 5m; negative turns it off.
	IdleTimeout time.Duration
	// WriteTimeout bounds one blocking write to the socket; a peer that does not drain its
	// receive window in time is dropped. Default 10s.
	WriteTimeout time.Duration
	// CloseTimeout bounds the closing handshake (RFC 6455 §7.1.1). Default 5s.
	CloseTimeout time.Duration
	// MaxQueuedMessages and MaxQueuedBytes bound the ordered outbound queue. A peer that lets
	// it fill is a slow consumer: it gets 1008 and Metrics.SlowConsumers counts it.
	// Defaults 1024 messages and 4 MiB.
	MaxQueuedMessages int
	MaxQueuedBytes    int

	// MaxFramesPerSecond is the sustained rate of frames a peer may send, judged by a token
	// bucket of FrameBurst frames; a peer that empties the bucket gets 1008 "frame rate limit
	// exceeded". MaxMessagesPerSecond counts messages, so without this a peer could send
	// endless empty continuation frames or pings, each costing a header parse (and, for a
	// ping, a pong) and none starting a message. Every frame is counted, but not every frame
	// costs the same: a control frame costs one token, and a data frame costs one token less
	// a 64th for each payload byte, so a fragment of 64 bytes or more costs nothing. Such a
	// fragment is paid for by its payload, which MaxMessageSize and MaxMessagesPerSecond
	// already bound, so a legitimate message cut into many fragments (4 MiB in 64-byte
	// fragments is 65,536 frames) is never judged a flood, while a flood of empty or
	// one-byte frames is, after FrameBurst. The alternative of exempting every fragment that
	// carries payload would leave one-byte fragments free: six bytes of header for one of
	// payload. Default twice MaxMessagesPerSecond (every small message is a frame too), at
	// least 2000; negative turns it off.
	MaxFramesPerSecond float64
	// FrameBurst is how many frames beyond the sustained rate a peer may send at once.
	// Default ten seconds' worth of MaxFramesPerSecond, for the same reason as MessageBurst.
	FrameBurst int

	// MemoryBudget bounds what inbound messages hold across all connections that share it
	// (see MemoryBudget). Default DefaultMemoryBudget, shared by the whole process.
	MemoryBudget *MemoryBudget
	// MessageAllowance is how many bytes of message buffers a connection may hold without
	// reserving them from MemoryBudget: small messages never wait for, and are never refused
	// by, the budget. Default 64 KiB; negative accounts every byte.
	MessageAllowance int
	// MemoryWait is how long a read waits for MemoryBudget to have room for a message that
	// needs it, before the peer gets 1013 Try Again Later (registered in the IANA WebSocket
	// Close Code Number Registry of RFC 6455 §11.7: "the server is overloaded", which is the
	// truth, and tells a client to reconnect later rather than that it broke a rule, which
	// 1008 would). Waiting lets an honest large message through a brief peak of other large
	// messages, and while it waits the connection reads nothing, so its peer is held back by
	// TCP flow control; the cost is the memory it already holds, kept for at most this long.
	// Refusing at once instead would close honest clients for a peak that lasts
	// milliseconds. Default 1s; negative refuses at once.
	MemoryWait time.Duration
	// MaxInflateRate is how many bytes per second of compressed messages a connection may
	// inflate, judged by a token bucket of InflateBurst bytes. Inflation is the one place
	// where a few bytes from the peer buy much work here (1 KiB of deflate can inflate to
	// 1 MiB; an echo service then compresses it again). When a message overdraws the bucket
	// it is still delivered whole, and reading then pauses until the bucket is refilled, so
	// the connection's sustained inflation is held to the rate and the peer is slowed by TCP
	// flow control, never closed: a burst after a stall is no attack. While paused the
	// connection holds no message buffer. A pause lasts at most MaxMessageSize divided by
	// the rate (2 s for 16 MiB at the default); keep it below PingInterval+PongTimeout.
	// Default 8 MiB/s; negative turns it off.
	MaxInflateRate float64
	// InflateBurst is how many inflated bytes a connection may produce at once beyond the
	// sustained rate. Default ten seconds' worth of MaxInflateRate, and at least twice
	// MaxMessageSize.
	InflateBurst int64
}

// framePayloadCredit is the payload size from which a data frame costs nothing against
// MaxFramesPerSecond; smaller frames cost in proportion to the payload they lack.
const framePayloadCredit = 64

// withDefaults returns l with every zero field replaced by its default.
func (l Limits) withDefaults() Limits {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&l.HandshakeTimeout, 10*time.Second)
	def(&l.PingInterval, 20*time.Second)
	def(&l.PongTimeout, 10*time.Second)
	def(&l.IdleTimeout, 5*time.Minute)
	def(&l.WriteTimeout, 10*time.Second)
	def(&l.CloseTimeout, 5*time.Second)
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = 8 << 10
	}
	if l.MaxFrameSize == 0 {
		l.MaxFrameSize = 1 << 20
	}
	if l.MaxMessageSize == 0 {
		l.MaxMessageSize = 1 << 20
	}
	if l.MaxMessagesPerSecond == 0 {
		l.MaxMessagesPerSecond = 1000
	}
	if l.MessageBurst == 0 {
		l.MessageBurst = int(math.Ceil(10 * max(1, l.MaxMessagesPerSecond)))
	}
	if l.MaxFramesPerSecond == 0 {
		l.MaxFramesPerSecond = max(2000, 2*l.MaxMessagesPerSecond)
	}
	if l.FrameBurst == 0 {
		l.FrameBurst = int(math.Ceil(10 * max(1, l.MaxFramesPerSecond)))
	}
	if l.MemoryBudget == nil {
		l.MemoryBudget = DefaultMemoryBudget
	}
	if l.MessageAllowance == 0 {
		l.MessageAllowance = 64 << 10
	} else if l.MessageAllowance < 0 {
		l.MessageAllowance = 0
	}
	if l.MemoryWait == 0 {
		l.MemoryWait = time.Second
	}
	if l.MaxInflateRate == 0 {
		l.MaxInflateRate = 8 << 20
	}
	if l.InflateBurst == 0 {
		l.InflateBurst = max(int64(math.Ceil(10*max(1, l.MaxInflateRate))), 2*l.MaxMessageSize)
	}
	if l.MaxQueuedMessages == 0 {
		l.MaxQueuedMessages = 1024
	}
	if l.MaxQueuedBytes == 0 {
		l.MaxQueuedBytes = 4 << 20
	}
	return l
}

// interned holds the defaulted Limits connections point to. A server's connections nearly
// always share one set, and a copy in each was 160 bytes of every idle connection. Past
// maxInterned distinct sets (an application making up limits per connection) a connection
// gets its own copy instead, so the table cannot grow without bound.
var (
	interned    sync.Map // Limits → *Limits
	internedN   atomic.Int32
	maxInterned int32 = 64
)

// internLimits returns a shared pointer to l's value; the Limits it points to are never
// written.
func internLimits(l Limits) *Limits {
	if p, ok := interned.Load(l); ok {
		return p.(*Limits)
	}
	if internedN.Load() >= maxInterned {
		return &l
	}
	p, loaded := interned.LoadOrStore(l, &l)
	if !loaded {
		internedN.Add(1)
	}
	return p.(*Limits)
}
