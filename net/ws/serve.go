package ws

import (
	"errors"
	"net/http"
	"sync/atomic"
)

// Handler receives the messages of a connection whose read loop the library runs (Serve).
//
// The calls for one connection come one at a time, in order, on a goroutine that exists only
// while that connection has bytes to read: OnMessage for each data message, then OnClose
// once. A handler may block (to apply backpressure, say), which holds only its own
// connection's reading; it must not wait for its own connection's next message.
type Handler interface {
	// OnMessage is called with each data message. p belongs to the connection and is valid
	// only until OnMessage returns: copy what you keep.
	OnMessage(c *Conn, typ MessageType, p []byte)
	// OnClose is called exactly once, when reading ended, with the error ReadMessage would
	// have returned (a *CloseError saying who closed and why). The transport is closed by
	// then, or is being closed by a Close still in progress on another goroutine.
	OnClose(c *Conn, err error)
}

// Serve accepts the WebSocket handshake of r like Accept, and then reads the connection for
// the Handler that open returns: the HTTP handler that calls Serve returns at once, and the
// connection holds no goroutine while it is idle.
//
// open runs once the handshake succeeded, on the caller's goroutine and before any message is
// read, so the application can register the connection first; it may also end the connection
// (Close or CloseNow), and its Handler then gets only OnClose. A nil Handler drops the
// connection. Serve returns the connection, or Accept's error when the handshake was refused
// (the HTTP response has been written then, and open is not called). The application must
// not call ReadMessage on a served connection; everything else (writes, Close) is as usual.
//
// This is the server path to prefer over Accept followed by a ReadMessage loop inside the
// HTTP handler, which keeps net/http's goroutine, with its deep stack, and net/http's
// per-connection state for the life of the connection: bench/idlemem measured the
// gameserver's /echo at 18.4 KiB of RSS per idle connection that way, 8.0 with a goroutine
// of the library's per connection, and 4.1 through Serve's poller. On Linux, over a socket,
// an idle connection waits in one epoll set shared by all served connections; elsewhere,
// and over TLS, it keeps one goroutine blocked in its read (see poll_linux.go).
func Serve(w http.ResponseWriter, r *http.Request, opts *AcceptOptions, open func(*Conn) Handler) (*Conn, error) {
	c, err := Accept(w, r, opts)
	if err != nil {
		return nil, err
	}
	h := open(c)
	if h == nil {
		_ = c.CloseNow()
		return c, nil
	}
	c.serve(h)
	return c, nil
}

// The states of a served connection. Exactly one party moves it out of serveIdle (the
// poller on readability, or closeNetConn), and that party starts the read goroutine.
const (
	serveOff     int32 = iota // not served: the application reads with ReadMessage
	serveIdle                 // waiting for readability in the poller; no goroutine
	serveRunning              // a goroutine is reading and dispatching
	serveDone                 // OnClose was called
)

// serving is a served connection's part of Conn.
type serving struct {
	h     Handler
	state atomic.Int32
	id    uint64 // key in the poller's table; 0 while the connection is not in it
	// blocking is set when no poller can watch the connection (TLS, a net.Pipe, no epoll):
	// its goroutine then stays, blocked in the read, for the connection's life.
	blocking bool
	// loop is c.serveLoop, made once: a go statement on a method value made each time
	// would allocate at every wake-up.
	loop func()

	// The poller's re-arming call, built once, and its result (poll_linux.go).
	ev       pollEvent
	ctlMod   func(fd uintptr)
	ctlErrno atomic.Uintptr
}

// serve starts the library-owned read loop for h. Bytes the client sent behind its handshake
// (already in the read buffer) and a connection that open closed are read at once.
func (c *Conn) serve(h Handler) {
	c.sv.h = h
	c.sv.loop = c.serveLoop
	c.sv.blocking = c.raw == nil || !pollSupported
	c.sv.state.Store(serveRunning)
	if c.sv.blocking || c.ncClosed.Load() {
		go c.sv.loop()
		return
	}
	if n, ok := c.r.settleIdle(); !ok || n > 0 || !c.park() {
		go c.sv.loop()
	}
}

// wake starts the read goroutine of an idle served connection: bytes arrived, or the
// connection was closed and OnClose is due. It does nothing when someone else woke it first
// or it is not idle.
func (c *Conn) wake() {
	if c.sv.state.CompareAndSwap(serveIdle, serveRunning) {
		go c.sv.loop()
	}
}

// serveLoop reads and dispatches messages while bytes are there, then parks the connection
// in the poller and exits.
func (c *Conn) serveLoop() {
	for {
		typ, p, err := c.ReadMessage()
		if errors.Is(err, errConcurrentRead) {
			// Close, called from another goroutine while OnMessage ran or the connection was
			// idle, is reading the peer's close frame itself. Its outcome is ours once it
			// let go of the transport.
			<-c.endedChan()
			continue
		}
		if err != nil {
			c.sv.state.Store(serveDone)
			pollRemove(c)
			c.sv.h.OnClose(c, err)
			return
		}
		c.sv.h.OnMessage(c, typ, p)
		if c.sv.blocking {
			continue
		}
		if n, ok := c.r.settleIdle(); !ok || n > 0 {
			continue // more bytes to read, or Close took the reader: ReadMessage says which
		}
		if c.park() {
			return
		}
	}
}

// park hands an idle connection back to the poller. It reports false when the goroutine
// must go on reading itself: the connection closed, or the poller could not take it back.
//
// The state is idle before the poller is re-armed, so an event that fires at once finds it
// idle and wakes it; and closeNetConn marks the connection closed before it tries to wake
// it, so one of the two (it, or this check) sees the other.
func (c *Conn) park() bool {
	c.sv.state.Store(serveIdle)
	if err := pollArm(c); err == nil && !c.ncClosed.Load() {
		return true
	}
	// Whoever moves it out of idle reads on; if that is not us, we are done.
	return !c.sv.state.CompareAndSwap(serveIdle, serveRunning)
}

// settleIdle gives the last message's buffer back once the handler is done with it, so that
// an idle served connection holds none, and reports how many unread bytes the read buffer
// holds. ok is false when someone else holds the reader (a Close draining it, or closeNetConn
// releasing it): nothing was touched then.
func (r *reader) settleIdle() (buffered int, ok bool) {
	if !r.active.CompareAndSwap(false, true) {
		return 0, false
	}
	if r.msg != nil {
		r.putBuf(r.msg)
		r.msg = nil
		r.settle()
	}
	n := r.buffered()
	r.active.Store(false)
	return n, true
}
