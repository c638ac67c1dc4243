package ws

import (
	"crypto/rand"
	"encoding/binary"
	"net"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rallypoint/rallypoint/internal/bpool"
)

// outFrame is a whole frame waiting to be written. pool is non-nil when the bytes were
// borrowed for this connection alone; pm is non-nil when they are a prepared message's
// shared frame, which this frame holds until its release.
type outFrame struct {
	b     []byte
	pool  *[]byte
	pm    *PreparedMessage
	close bool // our close frame: nothing follows it
}

// release lets go of f's bytes: written, replaced or dropped, they are no longer needed.
func (f *outFrame) release() {
	if f.pool != nil {
		bpool.Put(f.pool)
	}
	if f.pm != nil {
		f.pm.unref()
	}
	*f = outFrame{}
}

// writer is the sending half. Frames are written in order, each whole; what is ready when the
// socket frees up goes out in one writev (net.Buffers).
type writer struct {
	c  *Conn
	mu sync.Mutex

	queue       []outFrame // ordered, bounded by Limits.MaxQueuedMessages and MaxQueuedBytes
	queuedBytes int

	headStarted bool // queue[0] is partly on the wire and must be finished
	hasLatest   bool
	hasPong     bool
	busy        bool // someone is writing to the socket; only they may
	closed      bool // our close frame is queued or the transport is gone: no more frames
	dead        bool // the transport is gone
	compReset   bool // a shared compressed frame went out: the next message starts fresh

	latest outFrame // latest-wins slot, written after the queue

	// pong is the answer to the most recent ping, waiting while someone else writes. A newer
	// ping's pong replaces it (RFC 6455 §5.5.3), so a ping flood cannot queue pongs. The slot
	// is made the first time a pong has to wait, and kept: most connections never need it,
	// and inline it would cost each of them 48 bytes.
	pong *outFrame

	idle chan struct{} // made by Flush while busy; closed when busy ends (stopLocked)

	comp *compressor // per connection, only with our context takeover

	rawFn  func(fd uintptr) bool
	rawSrc []byte
	rawN   int
	rawErr error
}

// flushBufs is what only a flusher uses, while a backlog lasts: the array the queue moves
// to when the flusher takes a batch, and the vector for writev. Pooled rather than kept by
// each writer: 72 bytes of slice headers on every connection, and the arrays behind them on
// every connection that ever had a backlog, for what a few are doing at any moment.
type flushBufs struct {
	spare []outFrame
	nb    net.Buffers
	back  [][]byte
}

var flushPool = sync.Pool{New: func() any { return new(flushBufs) }}

func (w *writer) init(c *Conn) {
	w.c = c
	if c.raw != nil && sysIOSupported {
		w.rawFn = w.rawWrite
	}
}

// send hands f to the socket or queues it. It never blocks on the peer.
func (w *writer) send(f outFrame, latest bool) error {
	w.mu.Lock()
	return w.sendLocked(f, latest)
}

// sendLocked is send with w.mu held; it unlocks.
func (w *writer) sendLocked(f outFrame, latest bool) error {
	c := w.c
	if w.closed {
		w.mu.Unlock()
		f.release()
		return ErrClosed
	}
	if f.close {
		w.closed = true
		w.slotsToQueueLocked()
	}
	if !w.busy && !w.pending() && w.rawFn != nil {
		// Fast path: nothing ahead of us, so try the socket directly.
		w.busy = true
		w.mu.Unlock()
		n, err := w.tryWrite(f.b)
		return w.wroteDirect(f, n, err)
	}
	if latest {
		if w.hasLatest {
			w.latest.release()
			c.metrics.LatestReplaced.Add(1)
		}
		w.latest, w.hasLatest = f, true
	} else {
		if !f.close && (len(w.queue) >= c.lim.MaxQueuedMessages || w.queuedBytes+len(f.b) > c.lim.MaxQueuedBytes) {
			w.mu.Unlock()
			f.release()
			c.slowConsumer()
			return ErrSlowConsumer
		}
		w.queue = append(w.queue, f)
		w.queuedBytes += len(f.b)
	}
	if !w.busy {
		w.busy = true
		w.mu.Unlock()
		go w.flush()
		return nil
	}
	w.mu.Unlock()
	return nil
}

// wroteDirect finishes a write of f straight to the socket, made by whoever set w.busy with
// nothing queued (sendLocked's fast path, or a Batch): n bytes went, and err is the socket's
// failure (not EAGAIN: a full socket is n short of f). What did not go is queued ahead of
// anything that came meanwhile, for a flusher to write; w.mu is not held.
func (w *writer) wroteDirect(f outFrame, n int, err error) error {
	c := w.c
	if n > 0 {
		c.metrics.BytesOut.Add(int64(n))
	}
	if err != nil {
		f.release()
		w.failed(err)
		return err
	}
	if n == len(f.b) {
		isClose := f.close
		f.release()
		if isClose {
			c.markSent()
		}
		w.mu.Lock()
		if !w.pending() || w.dead {
			w.stopLocked()
			w.mu.Unlock()
			return nil
		}
		w.mu.Unlock()
		go w.flush()
		return nil
	}
	// The socket is full: the rest goes ahead of anything queued meanwhile.
	f.b = f.b[n:]
	w.mu.Lock()
	w.queue = append(w.queue, outFrame{})
	copy(w.queue[1:], w.queue)
	w.queue[0] = f
	w.headStarted = n > 0
	w.queuedBytes += len(f.b)
	w.mu.Unlock()
	go w.flush()
	return nil
}

// failed ends a turn at writing that the socket failed. The connection fails first, counted
// (Metrics.WriteFailures) and closed, and only then does Flush wake: a caller that closes
// the connection as soon as Flush reports the failure (the gameserver's /echo) would
// otherwise close it first, and the failure would go uncounted.
func (w *writer) failed(err error) {
	w.c.writeFailed(err) // its shutdown marks the writer dead and wakes Flush
	w.mu.Lock()
	w.dead = true
	w.stopLocked()
	w.mu.Unlock()
}

// stopLocked ends a turn at writing, and wakes Flush.
func (w *writer) stopLocked() {
	w.busy = false
	if w.idle != nil {
		close(w.idle)
		w.idle = nil
	}
}

// Flush waits until every message written before it has been handed to the socket, or the
// connection has failed (its error is returned then). WriteMessage never waits for a slow
// peer; Flush is for a caller that should: an echo, a proxy or a file transfer that must
// not read more than it can pass on, and so holds one message in memory rather than a
// queue of them. A peer that does not read fails the connection after Limits.WriteTimeout.
func (c *Conn) Flush() error {
	w := &c.w
	for {
		w.mu.Lock()
		if w.dead {
			w.mu.Unlock()
			if ce := c.failure.Load(); ce != nil {
				return ce
			}
			return ErrClosed
		}
		if !w.busy {
			w.mu.Unlock()
			return nil
		}
		if w.idle == nil {
			w.idle = make(chan struct{})
		}
		ch := w.idle
		w.mu.Unlock()
		<-ch
	}
}

// pending reports whether frames wait to be written.
func (w *writer) pending() bool { return len(w.queue) > 0 || w.hasLatest || w.hasPong }

// sendPong sends a pong, or, when a write is in progress, leaves it in the pong slot,
// replacing a pong that has not gone out yet: RFC 6455 §5.5.3 lets an endpoint answer only
// the most recently processed ping. Unless this side is behind with writing, every ping is
// still answered.
func (w *writer) sendPong(f outFrame) error {
	w.mu.Lock()
	if w.closed || !w.busy {
		return w.sendLocked(f, false)
	}
	if w.hasPong {
		w.pong.release()
		w.c.metrics.PongsSkipped.Add(1)
	}
	if w.pong == nil {
		w.pong = new(outFrame)
	}
	*w.pong, w.hasPong = f, true
	w.mu.Unlock()
	return nil
}

// flush writes queued frames until none are left. It runs on its own goroutine, which
// exists only while there is a backlog.
func (w *writer) flush() {
	c := w.c
	fb := flushPool.Get().(*flushBufs)
	defer flushPool.Put(fb)
	for {
		w.mu.Lock()
		if w.dead || !w.pending() {
			w.stopLocked()
			w.mu.Unlock()
			return
		}
		batch := w.queue
		w.queue, fb.spare = fb.spare[:0], nil
		if w.hasPong {
			batch = append(batch, *w.pong)
			*w.pong, w.hasPong = outFrame{}, false
		}
		if w.hasLatest {
			batch = append(batch, w.latest)
			w.latest, w.hasLatest = outFrame{}, false
		}
		w.queuedBytes, w.headStarted = 0, false
		w.mu.Unlock()

		nb := fb.back[:0]
		closeInBatch := false
		for i := range batch {
			nb = append(nb, batch[i].b)
			closeInBatch = closeInBatch || batch[i].close
		}
		fb.back = nb
		fb.nb = nb
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.lim.WriteTimeout))
		n, err := fb.nb.WriteTo(c.nc)
		// The deadline bounds this blocking write only. Left in place it would outlive the
		// backlog and fail every later direct write once it passed, killing a healthy
		// connection WriteTimeout after its first backlog.
		_ = c.nc.SetWriteDeadline(time.Time{})
		c.metrics.BytesOut.Add(n)
		for i := range batch {
			batch[i].release()
		}
		clear(fb.back[:cap(fb.back)])
		fb.nb = nil
		fb.spare = batch[:0] // the next turn's queue
		if err != nil {
			w.failed(err)
			return
		}
		if closeInBatch {
			c.markSent()
		}
	}
}

// shutdown drops whatever is still queued once the transport is gone.
func (w *writer) shutdown() {
	w.mu.Lock()
	w.closed, w.dead = true, true
	if w.idle != nil { // a flusher still writing ends its turn later; Flush need not wait for it
		close(w.idle)
		w.idle = nil
	}
	for i := range w.queue {
		if i == 0 && w.busy {
			continue // a flusher may be writing it; it releases its own batch
		}
		w.queue[i].release()
	}
	w.queue = w.queue[:0]
	if w.hasLatest {
		w.latest.release()
		w.hasLatest = false
	}
	if w.hasPong {
		w.pong.release()
		w.hasPong = false
	}
	if w.comp != nil {
		w.comp.free()
		w.comp = nil
	}
	w.mu.Unlock()
}

// slotsToQueueLocked moves what waits in the pong and latest-wins slots to the end of the
// queue, for the close frame to follow. A flush writes the slots after the queue, and
// nothing may follow a close frame (RFC 6455 §5.5.1): a snapshot left in the slot when a
// room ended went out after the close, and the peer, done reading, never saw it (nor the
// input acknowledgement it carried). Close sends everything written before it.
func (w *writer) slotsToQueueLocked() {
	if w.hasPong {
		w.queue = append(w.queue, *w.pong)
		w.queuedBytes += len(w.pong.b)
		*w.pong, w.hasPong = outFrame{}, false
	}
	if w.hasLatest {
		w.queue = append(w.queue, w.latest)
		w.queuedBytes += len(w.latest.b)
		w.latest, w.hasLatest = outFrame{}, false
	}
}

// dropUnsent removes queued frames that have not started, for when the connection is being
// failed and what was queued no longer matters.
func (w *writer) dropUnsentLocked() {
	keep := 0
	if w.headStarted && len(w.queue) > 0 {
		keep = 1
	}
	for i := keep; i < len(w.queue); i++ {
		w.queuedBytes -= len(w.queue[i].b)
		w.queue[i].release()
	}
	w.queue = w.queue[:keep]
	if w.hasLatest {
		w.latest.release()
		w.hasLatest = false
	}
	if w.hasPong {
		w.pong.release()
		w.hasPong = false
	}
}

func (c *Conn) writeFailed(err error) {
	if !c.ncClosed.Load() {
		c.metrics.WriteFailures.Add(1)
	}
	c.setFailure(StatusAbnormalClosure, truncateReason("write failed: "+err.Error()), true)
	c.closeNetConn()
}

// slowConsumer drops a peer whose outbound queue filled up.
func (c *Conn) slowConsumer() {
	c.metrics.SlowConsumers.Add(1)
	ce := c.setFailure(StatusPolicyViolation, "slow consumer: outbound queue full", true)
	// The close frame gets in only if the peer frees some room soon; we do not wait long
	// for a peer that stopped reading.
	c.sendClose(ce.Code, ce.Reason, true)
	go func() {
		_, sent := c.waitChans()
		t := time.NewTimer(min(c.lim.CloseTimeout, 500*time.Millisecond))
		select {
		case <-sent:
		case <-t.C:
		}
		t.Stop()
		c.closeNetConn()
	}()
}

// maskKey draws a fresh masking key from crypto/rand, as RFC 6455 §5.3 requires of clients
// ("strong source of entropy", unpredictable per frame).
func maskKey() uint32 {
	var k [4]byte
	_, _ = rand.Read(k[:])
	return binary.LittleEndian.Uint32(k[:])
}

// frame builds a whole frame around payload in a borrowed buffer, masked on the client side.
func (c *Conn) frame(op opcode, rsv1 bool, payload []byte) outFrame {
	return c.frame2(op, rsv1, payload, nil)
}

// frame2 is frame for the payload head followed by tail.
func (c *Conn) frame2(op opcode, rsv1 bool, head, tail []byte) outFrame {
	masked := !c.server
	n := len(head) + len(tail)
	buf := bpool.Get(maxHeaderSize + n)
	var key uint32
	if masked {
		key = maskKey()
	}
	b := appendHeader(*buf, true, rsv1, op, n, masked, key)
	start := len(b)
	b = append(b, head...)
	b = append(b, tail...)
	if masked {
		maskBytes(key, 0, b[start:])
	}
	*buf = b
	return outFrame{b: b, pool: buf}
}

// WriteMessage sends p as one message. It copies p, so the caller may reuse it at once. It is
// safe to call from many goroutines and returns without waiting for a slow peer: when the
// socket is full the message waits in the ordered outbound queue; when that queue is full the
// peer is dropped with 1008 and ErrSlowConsumer is returned.
func (c *Conn) WriteMessage(typ MessageType, p []byte) error {
	if err := checkMessage(typ, p); err != nil {
		return err
	}
	c.noteSent(len(p))
	op := opcode(typ)
	if c.compresses(p) {
		if c.ourTakeover {
			c.w.mu.Lock()
			f := c.compressTakeoverLocked(op, p)
			return c.w.sendLocked(f, false)
		}
		if f, ok := c.compressOnce(op, p); ok {
			return c.w.send(f, false)
		}
	}
	return c.w.send(c.frame(op, false, p), false)
}

// checkMessage refuses what no message may be: a type other than text or binary, or text
// that is not UTF-8 (RFC 6455 §5.6).
func checkMessage(typ MessageType, p []byte) error {
	if typ != MessageText && typ != MessageBinary {
		return ErrBadMessageType
	}
	if typ == MessageText && !utf8.Valid(p) {
		return ErrInvalidUTF8
	}
	return nil
}

// compresses reports whether WriteMessage would try to compress p (RFC 7692 §6.1).
func (c *Conn) compresses(p []byte) bool {
	return c.deflate && len(p) >= int(c.threshold)
}

func (c *Conn) noteSent(n int) {
	c.lastData.Store(monoNow())
	c.metrics.MessagesOut.Add(1)
	c.metrics.PayloadOut.Add(int64(n))
}

// Ping sends a ping (RFC 6455 §5.5.2). The peer's pong is noted by ReadMessage.
func (c *Conn) Ping(payload []byte) error {
	if len(payload) > maxControlPayload {
		return ErrControlTooLong
	}
	return c.sendControl(opPing, payload)
}

func (c *Conn) sendControl(op opcode, payload []byte) error {
	return c.w.send(c.frame(op, false, payload), false)
}

// sendClose queues our close frame unless one already went. With dropPending, frames that
// have not started are discarded first: the connection is being failed.
func (c *Conn) sendClose(code StatusCode, reason string, dropPending bool) bool {
	var body [maxControlPayload]byte
	p := appendClosePayload(body[:0], code, reason)
	f := c.frame(opClose, false, p)
	f.close = true
	c.w.mu.Lock()
	if c.w.closed {
		c.w.mu.Unlock()
		f.release()
		return false
	}
	if dropPending {
		c.w.dropUnsentLocked()
	}
	_ = c.w.sendLocked(f, false)
	return true
}

// Close performs the closing handshake (RFC 6455 §7.1.2): queued messages are sent, then our
// close frame; the peer's close frame is awaited (read here if no goroutine is reading) and
// the transport closed, all within Limits.CloseTimeout.
func (c *Conn) Close(code StatusCode, reason string) error {
	if err := checkClose(code, reason); err != nil {
		return err
	}
	deadline := time.Now().Add(c.lim.CloseTimeout)
	c.sendClose(code, reason, false) // false: a close frame already went; wait for the end
	recvd, sentCh := c.waitChans()
	timer := time.NewTimer(c.lim.CloseTimeout)
	defer timer.Stop()
	select {
	case <-sentCh:
	case <-timer.C:
		c.setFailure(StatusAbnormalClosure, "close handshake timed out", true)
		c.closeNetConn()
		return nil
	}
	if c.r.active.CompareAndSwap(false, true) {
		if c.raw != nil && pollSupported {
			// A pulled connection idle for its puller has a receive low-water mark that
			// would keep the peer's close frame from waking this read (pullLowat).
			setRcvLowat(c, 1)
		}
		_ = c.nc.SetReadDeadline(deadline)
		c.r.drainUntilClose()
		c.awaitPeerFIN(deadline)
		c.r.active.Store(false)
	}
	select {
	case <-recvd:
	case <-timer.C:
	}
	c.closeNetConn()
	return nil
}

// CloseNow drops the transport without a closing handshake.
func (c *Conn) CloseNow() error {
	c.setFailure(StatusAbnormalClosure, "closed locally without a handshake", true)
	c.closeNetConn()
	return nil
}

// drainUntilClose reads and discards messages until the peer's close frame or an error.
//
// It runs on Close's goroutine while the application's reader is between two ReadMessage
// calls, and so possibly still parsing the message the last one returned, which stays valid
// until the next ReadMessage (its contract). That buffer is set aside and left in r.msg for
// the next ReadMessage to release; the drain reads into buffers of its own. Releasing it
// here let the drain's next read, or any other connection's, write into a message still
// being parsed: the load generator's "malformed snapshot" at shutdown (issue 11).
func (r *reader) drainUntilClose() {
	held := r.msg
	r.msg = nil
	if r.err == nil {
		for {
			_, _, err := r.readMessage()
			if r.msg != nil { // the drain's own message, or what an error left of it
				r.putBuf(r.msg)
				r.msg = nil
				r.settle()
			}
			if err != nil {
				r.err = ErrClosed
				if pc, ok := err.(*peerClose); ok {
					r.err = &CloseError{Code: pc.code, Reason: pc.reason}
				}
				break
			}
		}
	}
	r.release()
	r.msg = held
	r.c.markRecvd()
}

// awaitPeerFIN lets the server close the TCP connection first, as RFC 6455 §7.1.1 asks: a
// client reads until the server's FIN or the deadline. The server closes at once.
func (c *Conn) awaitPeerFIN(deadline time.Time) {
	if c.server {
		return
	}
	_ = c.nc.SetReadDeadline(deadline)
	var b [64]byte
	for {
		if _, err := c.nc.Read(b[:]); err != nil {
			return
		}
	}
}

// finishClose runs on the reading goroutine after the peer's close frame: our reply goes out,
// then the transport closes (the client first waits for the server to close it).
func (c *Conn) finishClose() {
	deadline := time.Now().Add(c.lim.CloseTimeout)
	_, sent := c.waitChans()
	t := time.NewTimer(c.lim.CloseTimeout)
	select {
	case <-sent:
	case <-t.C:
	}
	t.Stop()
	c.awaitPeerFIN(deadline)
	c.closeNetConn()
}

// failConn fails the connection (RFC 6455 §7.1.7): our close frame with the code goes out
// ahead of anything not yet started, then the transport closes. When the caller owns the
// reading side, the peer's remaining bytes are drained briefly after our FIN so that the
// close frame is not lost to a TCP reset.
func (c *Conn) failConn(code StatusCode, reason string, ownsReader bool) {
	c.sendClose(code, reason, true)
	deadline := time.Now().Add(c.lim.CloseTimeout)
	_, sent := c.waitChans()
	t := time.NewTimer(c.lim.CloseTimeout)
	select {
	case <-sent:
	case <-t.C:
	}
	t.Stop()
	if ownsReader {
		if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && !c.ncClosed.Load() {
			_ = cw.CloseWrite()
			_ = c.nc.SetReadDeadline(deadline)
			var b [512]byte
			for {
				if _, err := c.nc.Read(b[:]); err != nil {
					break
				}
			}
		}
	}
	c.closeNetConn()
}
