package ws

import (
	"math"
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
}

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
	if l.MaxQueuedMessages == 0 {
		l.MaxQueuedMessages = 1024
	}
	if l.MaxQueuedBytes == 0 {
		l.MaxQueuedBytes = 4 << 20
	}
	return l
}
