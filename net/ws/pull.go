package ws

import "syscall"

// Pulled connections: a served connection whose messages a clock reads.
//
// A game room ticks anyway (60 times a second, say) and applies a player's inputs only at
// its next tick. Reading each input the moment it arrives costs a wake-up per input: the
// runtime's poller wakes a thread, which schedules the connection's goroutine, which reads,
// hands the input over and sleeps again. A pulled connection has no goroutine and no watch in
// the library's poller; the room's tick reads what arrived since the last tick (Pull), on
// its own goroutine, without blocking, one read(2) per connection per tick whether one input
// came or three. bench/floor's BenchmarkReceivePaced measured that at 10 to 13 µs of CPU per
// input against 13 to 19 for a goroutine per socket (160 sockets, 60 inputs a second each).
//
// What it costs: a message waits for the next Pull (the game would have waited for its tick
// anyway, but a ping is answered up to a tick later). The socket stays in the runtime's
// netpoller (for writes, deadlines and Close), whose edge-triggered event for each arrival
// woke an idle thread for nothing: while the connection waits for its puller, its
// SO_RCVLOWAT is pullLowat, and the kernel raises no event for an input (poll_linux.go).
//
// Pull never blocks and never waits for the peer: whatever could (a message that has not
// arrived whole, a compressed message over the inflate rate, a read error and the close
// handshake that follows it, a message the Handler's Inline refuses) is handed to a
// goroutine of the connection's, which reads on as Serve's own loop does and parks the
// connection again, unwatched, once the socket is drained. Close and CloseNow work as on
// any served connection. A connection the poller cannot take (TLS, not Linux) is never
// pulled: SetPulled does nothing to it and Pull returns 0.

// Inliner is implemented by a Handler that needs to keep some messages off the puller's
// goroutine (a request that may wait on another service, say). Pull calls Inline before
// OnMessage; when it returns false, that message and the ones after it go to a goroutine of
// the connection's, in order, and the connection is pulled again once it falls quiet.
type Inliner interface {
	Inline(c *Conn, typ MessageType, p []byte) bool
}

// SetPulled makes a served connection pulled (on) or served again as usual (off). While
// pulled, its messages are read only by Pull, or by the connection's own goroutine when
// Pull hands it one; a connection left pulled that nobody pulls is read only when the
// keepalive finds bytes stranded in it (Metrics.PollRescues). It may be called from any
// goroutine, and from Serve's open before the connection is served.
func (c *Conn) SetPulled(on bool) {
	if c.raw == nil || c.r.rawFn == nil || !pollSupported {
		return // no poller for it: its goroutine reads as it always did
	}
	c.sv.pulled.Store(on)
	if !on {
		// An idle pulled connection has no watch: start its goroutine, which arms one when
		// it parks.
		c.wake()
	}
}

// Pull reads, without blocking, up to max messages that have arrived whole on a pulled
// connection, and hands each to its Handler's OnMessage on the caller's goroutine. It
// returns how many it handed over. It does nothing on a connection that is not pulled, or
// whose goroutine is reading (after a hand-off, or while the connection closes).
//
// OnMessage then runs on the caller's goroutine, as part of its clock: it must not block,
// and must not call Close on its connection, which would wait up to Limits.CloseTimeout for
// a peer's close frame that only Pull's own reading could take (go c.Close does). The
// caller must not hold locks that OnMessage takes.
func (c *Conn) Pull(max int) int {
	if !c.sv.pulled.Load() || !c.sv.state.CompareAndSwap(serveIdle, serveRunning) {
		return 0
	}
	r := &c.r
	if !r.active.CompareAndSwap(false, true) {
		// Close holds the reader, draining to the peer's close frame: the goroutine waits
		// for it and reports the end (serveLoop's errConcurrentRead).
		go c.sv.loop()
		return 0
	}
	n, read := 0, false
	for n < max {
		r.dropMsg()
		if !r.wholeMessageBuffered() {
			if read {
				break // the rest waits for the next Pull: a second read(2) finds nothing, mostly
			}
			read = true
			if r.err != nil || !r.pullRead() {
				r.active.Store(false)
				go c.sv.loop()
				return n
			}
			if !r.wholeMessageBuffered() {
				break // nothing has arrived
			}
		}
		if r.inflateWait() > 0 {
			r.active.Store(false)
			go c.sv.loop()
			return n
		}
		r.noWait = true
		typ, p, err := r.readMessage()
		r.noWait = false
		if err != nil {
			r.release()
			r.active.Store(false)
			go c.pullFailed(err)
			return n
		}
		if in, ok := c.sv.h.(Inliner); ok && !in.Inline(c, typ, p) {
			r.active.Store(false)
			go c.pullHandOff(typ, p)
			return n
		}
		c.sv.h.OnMessage(c, typ, p)
		n++
	}
	if n > 0 {
		c.metrics.PulledMessages.Add(int64(n))
	}
	r.dropEmptyBuf()
	r.active.Store(false)
	c.sv.state.Store(serveIdle)
	// As in park: a close or SetPulled(false) that came meanwhile found the connection
	// running and left it to us.
	if (c.ncClosed.Load() || !c.sv.pulled.Load()) && c.sv.state.CompareAndSwap(serveIdle, serveRunning) {
		go c.sv.loop()
	}
	return n
}

// pullRead reads once, without waiting, what the socket holds. It reports false when the
// connection's goroutine must take over: part of a message is there and the rest is not, or
// the read failed or found the end of the stream (the goroutine's own read reports it).
func (r *reader) pullRead() bool {
	r.compact()
	if r.buf != nil && len(*r.buf) == cap(*r.buf) {
		return false // a message larger than the read buffer: read it the usual way
	}
	r.rawDst = nil
	r.noWait = true
	k, err := r.sysRead()
	r.noWait = false
	if k > 0 {
		r.noteRead(k)
	}
	if err != syscall.EAGAIN && (err != nil || k == 0) {
		return false
	}
	return r.buffered() == 0 || r.wholeMessageBuffered()
}

// wholeMessageBuffered reports whether readMessage can return without reading the socket:
// the read buffer holds a whole data message with the control frames before it, a close
// frame, or a header readMessage rejects at once.
func (r *reader) wholeMessageBuffered() bool {
	if r.buf == nil {
		return false
	}
	b := (*r.buf)[r.pos:]
	var h header
	for {
		k, err := parseHeader(b, &h)
		if err != nil {
			return true
		}
		if k == 0 || int64(len(b)-k) < h.length {
			return false
		}
		b = b[k+int(h.length):]
		if h.op == opClose || (!h.op.isControl() && h.fin) {
			return true
		}
	}
}

// pullFailed ends a pulled connection whose read failed inside Pull, on a goroutine of its
// own: the close handshake it owes the peer may wait up to Limits.CloseTimeout.
func (c *Conn) pullFailed(err error) {
	c.restoreLowat() // the close handshake may read the peer's close frame
	r := &c.r
	if !r.active.CompareAndSwap(false, true) {
		// A Close took the reader meanwhile: its outcome is the connection's, which the
		// loop waits for and reports.
		c.sv.loop()
		return
	}
	r.err = c.readFailed(err)
	r.active.Store(false)
	c.sv.state.Store(serveDone)
	pollRemove(c)
	c.sv.h.OnClose(c, r.err)
}

// pullHandOff delivers a message the Handler's Inline kept off the puller's goroutine, then
// reads on as Serve's loop does. p stays valid until the loop's first read, as a message
// returned by ReadMessage does.
func (c *Conn) pullHandOff(typ MessageType, p []byte) {
	c.sv.h.OnMessage(c, typ, p)
	c.sv.loop()
}
