package ws

import (
	"errors"
	"net/http"
	"os"
	"sync/atomic"
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

// Serve answers the WebSocket opening handshake of r (RFC 6455 §4.2) and then reads the
// connection for the Handler that open returns: the HTTP handler that calls Serve returns at
// once, and the library owns the read loop. It is the only way to accept a connection, so
// that no server can keep a goroutine per idle connection by mistake.
//
// The handshake works inside any net/http server and through middleware that wraps the
// ResponseWriter. Refusals get the status RFC 6455 §4.2.2 implies, with a plain-text reason,
// and Serve returns a *HandshakeError without calling open: 405 for a method other than
// GET, 400 for a malformed request, 426 with "Sec-WebSocket-Version: 13" for another
// protocol version, 403 for a refused Origin, 431 for oversized headers.
//
// open runs once the handshake succeeded, on the caller's goroutine and before any message is
// read, so the application can register the connection first; it may also end the connection
// (Close or CloseNow), and its Handler then gets only OnClose. A nil Handler drops the
// connection. Everything else on a served connection (writes, Close, SetPulled and Pull) is
// as usual; ReadMessage returns an error, since the Handler receives the messages.
//
// What it saves: a ReadMessage loop inside the HTTP handler keeps net/http's goroutine, with
// its deep stack, and net/http's per-connection state for the life of the connection:
// bench/idlemem measured the gameserver's /echo at 18.4 KiB of RSS per idle connection that
// way, 8.0 with a goroutine of the library's per connection, and through Serve's poller 3.6
// right after a GC and 2.3 once the runtime returned the freed heap, with every connection
// idle past a keepalive ping. On Linux, over a socket (pollSupported), a served connection
// silent for about 100 ms (parkAfter) waits in one epoll set shared by all served
// connections, with no goroutine, until its next bytes; one in use keeps its read goroutine,
// which costs less CPU per message than a hand-off from the poller. Otherwise, and over TLS,
// it keeps one goroutine blocked in its read (see poll_linux.go).
func Serve(w http.ResponseWriter, r *http.Request, opts *AcceptOptions, open func(*Conn) Handler) (*Conn, error) {
	c, err := accept(w, r, opts)
	if err != nil {
		return nil, err
	}
	c.sv.served = true
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
	// pulled is set while a clock reads the connection (SetPulled, Pull): parked, it waits
	// with no watch in the poller.
	pulled atomic.Bool
	// blocking is set when no poller can watch the connection (TLS, a net.Pipe, no epoll):
	// its goroutine then stays, blocked in the read, for the connection's life.
	blocking bool
	// parkNow asks ReadMessage to park at once (see parkAt). The small fields sit together:
	// a Conn is every idle connection's memory, and the padding of apart booleans would
	// take it past its size class (TestConnFitsItsSizeClass).
	parkNow bool
	// lowat is set while the socket's SO_RCVLOWAT is pullLowat, from a pulled connection's
	// park until the next goroutine that reads it for itself lowers it (restoreLowat).
	// Only the connection's owner (the goroutine that set it running) touches it.
	lowat bool
	// served is set by Serve before open sees the connection: ReadMessage then refuses.
	served bool
	id     uint64 // key in the poller's table; 0 while the connection is not in it
	// suspect is the time of the last read when the keepalive found the connection idle
	// with unread bytes (rescueStranded); only the keepalive check touches it.
	suspect int64
	// parkAt is when the read deadline set by armPark passes (monotonic ns), 0 when none
	// is set; lastMsg is when the last message was handled. Only the reading goroutine
	// touches them, and parkNow.
	parkAt  int64
	lastMsg int64
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
	// open may have handed the connection to code that closes it on another goroutine, and
	// Close drains the reader for the peer's close frame: look at the read buffer only while
	// holding the reader. Held by Close, the loop waits for Close's outcome (errConcurrentRead).
	if c.sv.blocking || c.ncClosed.Load() || !c.r.active.CompareAndSwap(false, true) {
		go c.sv.loop()
		return
	}
	unread := c.r.buffered() > 0
	c.r.active.Store(false)
	if unread || !c.park() {
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

// parkAfter is how long a served connection's goroutine waits for the next message before
// it hands the connection to the poller and exits. A connection in use (a shooter's inputs,
// 30 to 60 a second) keeps its goroutine and reads as any blocking reader does, without the
// poller: handing every message from the poller's thread to a new goroutine cost a fifth
// more CPU per player in bench/colyseus. One that falls silent costs no goroutine after
// between parkAfter/2 and parkAfter (the read deadline that measures it is renewed at most
// twice per parkAfter, not per message). Measured (bench/idlemem, 5,000 /echo connections
// each used once): with a second here the goroutines of a burst of messages all lived at
// once and their stacks stayed resident, 7.5 KiB of RSS per idle connection; with 100 ms,
// 3.6 to 4.2. Slower traffic, such as a crossword player's ten acknowledgements a second,
// goes through the poller message by message; that costs more CPU per message, but little
// in all.
const parkAfter = 100 * time.Millisecond

// serveLoop reads and dispatches messages until the connection has been silent for about
// parkAfter, then parks it in the poller and exits.
func (c *Conn) serveLoop() {
	c.restoreLowat()
	for {
		typ, p, err := c.readNext()
		if err == errPark {
			if c.park() {
				return
			}
			c.restoreLowat()
			continue
		}
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
			continue // never parks: no clock to read
		}
		// A connection whose messages come further apart than parkAfter (a puzzle's
		// acknowledgements, a few a second) would keep a goroutine most of the time
		// waiting out parkAfter after each: it parks at once instead. One in use stays.
		// A pulled connection goes back to its puller as soon as the socket is drained.
		now := monoNow()
		c.sv.parkNow = now-c.sv.lastMsg > int64(parkAfter) || c.sv.pulled.Load()
		c.sv.lastMsg = now
	}
}

// restoreLowat gives the socket back its usual SO_RCVLOWAT of one byte before a goroutine of
// the connection's reads it for itself, and may wait for it to be readable.
func (c *Conn) restoreLowat() {
	if c.sv.lowat {
		c.sv.lowat = false
		setRcvLowat(c, 1)
	}
}

// errPark is ReadMessage's answer, on a served connection's own goroutine, when no message
// began before the park deadline.
var errPark = errors.New("ws: idle; parking")

// armPark sets the read deadline that ends the wait for the next message of a served
// connection that the poller can take, unless the one set is still at least parkAfter/2
// away. Only the connection's reading goroutine calls it (ReadMessage, before its wait).
func (c *Conn) armPark() {
	if c.sv.parkAt-monoNow() < int64(parkAfter/2) {
		c.extendPark()
	}
}

// extendPark moves the park deadline to parkAfter from now.
func (c *Conn) extendPark() {
	c.sv.parkAt = monoNow() + int64(parkAfter)
	_ = c.nc.SetReadDeadline(time.Now().Add(parkAfter))
}

// parkTimeout reports whether err is the park deadline passing. No one else sets a read
// deadline while the served goroutine reads: Close sets its own only once it holds the
// reader, and parkable is false then.
func (r *reader) parkTimeout(err error) bool {
	return err != nil && r.parkable && errors.Is(err, os.ErrDeadlineExceeded)
}

// park hands an idle connection back to the poller, armed for its next bytes. It reports
// false when the goroutine must go on reading itself: bytes were announced since its last
// read, the connection closed, or the poller could not take it.
//
// The state is idle before pending and the close are checked, and the poller and
// closeNetConn set theirs before they try to wake it, so one of the two sees the other.
func (c *Conn) park() bool {
	pulled := c.sv.pulled.Load()
	if !pulled && (pollArm(c) != nil || pollBroken()) {
		c.sv.blocking = true // no poller for this one: its goroutine stays
		c.sv.pulled.Store(false)
		c.sv.parkAt = 0
		_ = c.nc.SetReadDeadline(time.Time{})
		return false
	}
	if pulled && c.sv.parkAt != 0 {
		// Pull reads through the runtime's RawConn too, which fails at once past a read
		// deadline: the park deadline must not outlive the goroutine that set it.
		c.sv.parkAt = 0
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	if pulled && !c.sv.lowat {
		// Its puller reads it at every tick: no event per arrival (pullLowat).
		c.sv.lowat = true
		setRcvLowat(c, pullLowat)
		if c.r.active.Load() {
			// Close took the reader since our last read and drains to the peer's close
			// frame, which must wake it: it lowered the mark before it read, and we may
			// have raised it after. (Otherwise Close lowers it after this.)
			setRcvLowat(c, 1)
		}
	}
	c.sv.state.Store(serveIdle)
	// SetPulled(false) after pulled was read finds the connection running and leaves it to
	// us: unwatched, it would wait for a Pull that never comes.
	if !c.sv.pending.Load() && !c.ncClosed.Load() && c.sv.pulled.Load() == pulled {
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
