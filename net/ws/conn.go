package ws

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// MessageType says how a message's payload is to be read (RFC 6455 §5.6).
type MessageType int

const (
	// MessageText is UTF-8 text; it is validated on receipt and on send.
	MessageText MessageType = MessageType(opText)
	// MessageBinary is arbitrary bytes.
	MessageBinary MessageType = MessageType(opBinary)
)

func (t MessageType) String() string {
	switch t {
	case MessageText:
		return "text"
	case MessageBinary:
		return "binary"
	}
	return "invalid"
}

var (
	// ErrClosed is returned by writes on a connection that is closing or closed.
	ErrClosed = errors.New("ws: connection closed")
	// ErrSlowConsumer is returned when the outbound queue filled and the connection was
	// dropped with 1008.
	ErrSlowConsumer = errors.New("ws: outbound queue full: peer too slow")
	// ErrInvalidUTF8 is returned by WriteMessage for a text message that is not UTF-8.
	ErrInvalidUTF8 = errors.New("ws: text message is not valid UTF-8 (RFC 6455 §5.6)")
	// ErrBadMessageType is returned for a message type other than text or binary.
	ErrBadMessageType = errors.New("ws: message type must be MessageText or MessageBinary")
	// ErrControlTooLong is returned by Ping for a payload above 125 bytes (RFC 6455 §5.5).
	ErrControlTooLong = errors.New("ws: control frame payload longer than 125 bytes")
)

// epoch anchors the monotonic timestamps kept as int64 nanoseconds.
var epoch = time.Now()

func monoNow() int64 { return int64(time.Since(epoch)) }

// Conn is one WebSocket connection, server or client side.
//
// One goroutine at a time may call ReadMessage. Writes (WriteMessage, WritePrepared,
// WriteLatest, Ping, Close) are safe from any number of goroutines and never block on a slow
// peer: frames go straight to the socket when it has room and otherwise wait in a bounded
// queue that a short-lived goroutine drains. Over TLS (no file descriptor) every frame goes
// through that queue and its goroutine: see the package doc, TLS.
type Conn struct {
	nc      net.Conn
	raw     syscall.RawConn // nil when nc is not backed by a file descriptor (TLS, net.Pipe)
	lim     *Limits         // interned: every connection with the same limits shares them
	metrics *Metrics

	subprotocol string
	extensions  string

	server bool // beside the booleans below: apart, its padding would cost 8 bytes a connection

	// permessage-deflate (RFC 7692), fixed at the handshake.
	deflate      bool
	ourTakeover  bool // we keep compression context between messages we send
	peerTakeover bool // the peer keeps its context, so we keep an inflate window
	// Narrow, so that they share a word with the booleans. A Conn fits the 640-byte size
	// class with 8 bytes to spare (TestConnFitsItsSizeClass): a field added may move every
	// connection to the 768-byte class.
	ourWindowBits int8  // window we may use to compress (server_ or client_max_window_bits)
	level         int8  // flate level
	threshold     int32 // the smallest message compressed, in bytes

	lastRead atomic.Int64 // monoNow of the last bytes read
	lastData atomic.Int64 // monoNow of the last data message in either direction
	failure  atomic.Pointer[CloseError]

	r reader
	w writer

	// kaIdx is the connection's place in the keepalive schedule plus one, 0 when none
	// (kaSchedule.mu guards it).
	kaIdx int32
	// pingSent is monoNow of the outstanding keepalive ping, 0 when none.
	pingSent atomic.Int64

	closeMu     sync.Mutex
	closeRecvd  chan struct{} // closed when the peer's close frame arrived or reading ended
	closeSent   chan struct{} // closed when our close frame was written or writing ended
	closeEnded  chan struct{} // closed once the transport was closed (closeNetConn is done)
	recvdClosed bool
	sentClosed  bool
	endedClosed bool
	ncClosed    atomic.Bool

	sv serving // the library-owned read loop, when served (Serve)
}

func newConn(nc net.Conn, server bool, lim Limits, m *Metrics) *Conn {
	if m == nil {
		m = DefaultMetrics
	}
	c := &Conn{nc: nc, server: server, lim: internLimits(lim.withDefaults()), metrics: m}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	now := monoNow()
	c.lastRead.Store(now)
	c.lastData.Store(now)
	c.r.init(c)
	c.w.init(c)
	m.Open.Add(1)
	c.startKeepalive()
	return c
}

// Subprotocol is the subprotocol the handshake agreed on, or "".
func (c *Conn) Subprotocol() string { return c.subprotocol }

// Extensions is the negotiated Sec-WebSocket-Extensions value, or "".
func (c *Conn) Extensions() string { return c.extensions }

// Compressed reports whether permessage-deflate was negotiated.
func (c *Conn) Compressed() bool { return c.deflate }

// RemoteAddr is the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// LocalAddr is this side's network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// NetConn returns the underlying connection. Reading or writing it directly corrupts the
// WebSocket stream; it is there for deadlines-free inspection such as TLS state.
func (c *Conn) NetConn() net.Conn { return c.nc }

// setFailure records the first reason the connection ended; later ones are ignored.
func (c *Conn) setFailure(code StatusCode, reason string, local bool) *CloseError {
	ce := &CloseError{Code: code, Reason: reason, Local: local}
	if c.failure.CompareAndSwap(nil, ce) {
		return ce
	}
	return c.failure.Load()
}

// closeNetConn closes the transport once and releases what the connection holds.
func (c *Conn) closeNetConn() {
	if !c.ncClosed.CompareAndSwap(false, true) {
		return
	}
	keepalives.unschedule(c)
	_ = c.nc.Close()
	c.metrics.Open.Add(-1)
	c.w.shutdown()
	// A connection closed while nobody reads (by keepalive, a failed write, CloseNow) gives
	// its message memory back to the budget now; a reader in progress does so as it fails.
	if c.r.active.CompareAndSwap(false, true) {
		c.r.abandon()
		c.r.active.Store(false)
	}
	c.markRecvd()
	c.markSent()
	// A served connection idle in the poller has no goroutine to notice: start one, whose
	// read fails and calls OnClose.
	c.wake()
	c.markEnded()
}

// markEnded notes that the transport is closed and the closing goroutine let go of it.
func (c *Conn) markEnded() {
	c.closeMu.Lock()
	if !c.endedClosed {
		c.endedClosed = true
		if c.closeEnded != nil {
			close(c.closeEnded)
		}
	}
	c.closeMu.Unlock()
}

// endedChan is closed once the transport was closed and the closing goroutine let go of it.
func (c *Conn) endedChan() <-chan struct{} {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closeEnded == nil {
		c.closeEnded = make(chan struct{})
		if c.endedClosed {
			close(c.closeEnded)
		}
	}
	return c.closeEnded
}

func (c *Conn) chans() {
	if c.closeRecvd == nil {
		c.closeRecvd = make(chan struct{})
		c.closeSent = make(chan struct{})
		if c.recvdClosed {
			close(c.closeRecvd)
		}
		if c.sentClosed {
			close(c.closeSent)
		}
	}
}

// markRecvd notes that the peer's close frame arrived (or reading can no longer get it).
func (c *Conn) markRecvd() {
	c.closeMu.Lock()
	if !c.recvdClosed {
		c.recvdClosed = true
		if c.closeRecvd != nil {
			close(c.closeRecvd)
		}
	}
	c.closeMu.Unlock()
}

// markSent notes that our close frame went out (or writing can no longer send it).
func (c *Conn) markSent() {
	c.closeMu.Lock()
	if !c.sentClosed {
		c.sentClosed = true
		if c.closeSent != nil {
			close(c.closeSent)
		}
	}
	c.closeMu.Unlock()
}

func (c *Conn) waitChans() (recvd, sent <-chan struct{}) {
	c.closeMu.Lock()
	c.chans()
	recvd, sent = c.closeRecvd, c.closeSent
	c.closeMu.Unlock()
	return
}

// NewConn wraps a connection on which the opening handshake has already been done by other
// means (a custom transport, a test harness). server says which side of RFC 6455 this end
// plays; no extension is in use.
func NewConn(nc net.Conn, server bool, subprotocol string, lim Limits, m *Metrics) *Conn {
	c := newConn(nc, server, lim, m)
	c.subprotocol = subprotocol
	return c
}
