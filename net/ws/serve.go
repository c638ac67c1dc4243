package ws

import (
	"errors"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"
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
// connection's reader waits at the shallowest point of a goroutine of the library's.
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
// when the poller is on (pollSupported, off for now), an idle served connection waits in
// one epoll set shared by all served connections; otherwise, and over TLS, it keeps one
// goroutine blocked in its read (see poll_linux.go).
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
// poller on bytes' arrival, closeNetConn, or the goroutine parking it that saw either), and
// that party reads on.
const (
	serveOff     int32 = iota // not served: the application reads with ReadMessage
	serveIdle                 // waiting in the poller; no goroutine
	serveRunning              // a goroutine is reading and dispatching
	serveDone                 // OnClose was called
)

// serving is a served connection's part of Conn.
type serving struct {
	h     Handler
	state atomic.Int32
	// pending is set by the poller when bytes arrived, and cleared before each read of the
	// socket (sysRead): set at parking, bytes may be there that no read took yet.
	pending atomic.Bool
	id      uint64 // key in the poller's table; 0 while the connection is not in it
	// blocking is set when no poller can watch the connection (TLS, a net.Pipe, no epoll):
	// its goroutine then stays, blocked in the read, for the connection's life.
	blocking bool
	// suspect is the time of the last read when the keepalive found the connection idle
	// with unread bytes (rescueStranded); only the keepalive's timer touches it.
	suspect int64
	// loop is c.serveLoop, made once: a go statement on a method value made each time
	// would allocate at every wake-up.
	loop func()
}

// serve starts the library-owned read loop for h. Bytes the client sent behind its handshake
// (already in the read buffer) and a connection that open closed are read at once.
func (c *Conn) serve(h Handler) {
	c.sv.h = h
	c.sv.loop = c.serveLoop
	c.sv.blocking = c.raw == nil || !pollSupported
	c.sv.state.Store(serveRunning)
	if c.sv.blocking || c.ncClosed.Load() || c.r.buffered() > 0 || !c.park() {
		go c.sv.loop()
	}
}

// wake starts the read goroutine of an idle served connection: bytes arrived, or the
// connection was closed and OnClose is due. It does nothing when the connection is not idle.
func (c *Conn) wake() {
	if c.sv.state.CompareAndSwap(serveIdle, serveRunning) {
		go c.sv.loop()
	}
}

// serveLoop reads and dispatches messages while bytes are there, then parks the connection
// in the poller and exits.
func (c *Conn) serveLoop() {
	for {
		if !c.sv.blocking {
			// Woken, or told that bytes came while running: look without waiting (the read
			// is the one ReadMessage would do; it finds nothing when an earlier read took
			// the bytes announced).
			if ready, ok := c.r.probe(); ok && !ready {
				if c.park() {
					return
				}
				continue
			}
		}
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
		// A read that returned less than it had room for left the socket empty: park
		// without reading again to find EAGAIN. Bytes that came since are pending.
		if empty, ok := c.r.settleIdle(); ok && empty && c.park() {
			return
		}
	}
}

// park hands an idle connection back to the poller (adding it the first time). It reports
// false when the goroutine must go on reading itself: bytes were announced since its last
// read, the connection closed, or the poller could not take it.
//
// The state is idle before pending and the close are checked, and the poller and
// closeNetConn set theirs before they try to wake it, so one of the two sees the other.
func (c *Conn) park() bool {
	if (c.sv.id == 0 && pollAdd(c) != nil) || pollBroken() {
		c.sv.blocking = true // no poller for this one: its goroutine stays
		return false
	}
	c.sv.state.Store(serveIdle)
	if !c.sv.pending.Load() && !c.ncClosed.Load() {
		return true
	}
	// Whoever moves it out of idle reads on; if that is not us, we are done.
	return !c.sv.state.CompareAndSwap(serveIdle, serveRunning)
}

// strandConfirm is how long a served connection must stay idle in the poller, with unread
// bytes and no read, before the keepalive counts and wakes it (rescueStranded). Bytes that
// arrived an instant before the first look wait only for the poller's wake-up, which comes
// within microseconds on a healthy machine and within tens of milliseconds on a starved one.
const strandConfirm = 250 * time.Millisecond

// rescueStranded guards against a lost wake-up. The keepalive calls it when the peer has
// been silent for PingInterval, with heard, the time of the last read. A served connection
// found idle in the poller with unread bytes in its socket is looked at again after
// strandConfirm (the result says when) instead of being pinged; if nothing was read
// meanwhile, it is counted (Metrics.PollRescues) and woken. So a peer that kept sending is
// read late rather than dropped, and the count names a fault that would otherwise pass for a
// slow peer (the ping's answer alone would have woken the connection). It costs one ioctl
// per silent connection per PingInterval, nothing per message.
func (c *Conn) rescueStranded(heard int64) (recheck time.Duration, stranded bool) {
	if !c.strandedNow() {
		c.sv.suspect = 0
		return 0, false
	}
	if c.sv.suspect != heard {
		c.sv.suspect = heard // first sighting: the poller may be about to wake it
		return strandConfirm, true
	}
	c.sv.suspect = 0
	c.sv.pending.Store(true)
	if c.sv.state.CompareAndSwap(serveIdle, serveRunning) {
		c.metrics.PollRescues.Add(1)
		go c.sv.loop()
	}
	return c.lim.PingInterval, true
}

// strandedNow reports whether c waits in the poller although its socket has bytes.
func (c *Conn) strandedNow() bool {
	return c.sv.state.Load() == serveIdle && !c.sv.blocking && !c.ncClosed.Load() && unreadBytes(c) > 0
}

// settleIdle gives the last message's buffer back once the handler is done with it, so that
// an idle served connection holds none, and reports whether the reader is drained: nothing
// left in the read buffer, and the socket found empty by the last read. ok is false when
// someone else holds the reader (a Close draining it, or closeNetConn releasing it): nothing
// was touched then.
func (r *reader) settleIdle() (empty, ok bool) {
	if !r.active.CompareAndSwap(false, true) {
		return false, false
	}
	if r.msg != nil {
		r.putBuf(r.msg)
		r.msg = nil
		r.settle()
	}
	empty = r.buffered() == 0 && r.rawShort
	r.active.Store(false)
	return empty, true
}

// probe reads what the socket has without waiting, unless bytes are buffered already or
// reading has failed. ready says ReadMessage has something to work on (bytes, or an error to
// report); ok is false when someone else holds the reader.
func (r *reader) probe() (ready, ok bool) {
	if !r.active.CompareAndSwap(false, true) {
		return false, false
	}
	defer r.active.Store(false)
	if r.err != nil || r.buffered() > 0 {
		return true, true
	}
	r.rawNoWait = true
	err := r.fill()
	r.rawNoWait = false
	// Bytes, or an error that ReadMessage's own read will meet again (end of stream, a
	// closed connection), are its to handle; only an empty socket parks.
	return !errors.Is(err, syscall.EAGAIN), true
}
