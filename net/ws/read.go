package ws

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"

	"github.com/rallypoint/rallypoint/internal/bpool"
)

// readBufSize is the size of the buffer a connection borrows while bytes are arriving.
const readBufSize = 4 << 10

// directReadMin is the payload size from which frame payloads are read straight into the
// message buffer instead of through the read buffer.
const directReadMin = 2 << 10

// reader is the receiving half. Only the goroutine inside ReadMessage (or the one closing the
// connection on its behalf) touches it, which active guarantees.
type reader struct {
	c      *Conn
	active atomic.Bool
	utf8   utf8Validator // beside active: 4 bytes each, one word together

	buf *[]byte // borrowed read buffer; nil while idle
	pos int     // unread bytes are (*buf)[pos:]

	msg  *[]byte // the message last returned; released at the next read
	zbuf *[]byte // compressed message being gathered

	// token bucket for Limits.MaxMessagesPerSecond
	tokens   float64
	tokensAt int64
	// token bucket for Limits.MaxFramesPerSecond
	frameTokens float64
	framesAt    int64
	// token bucket for Limits.MaxInflateRate, in bytes; negative is debt
	inflTokens float64
	inflAt     int64
	// bytes of the message being inflated charged to the budget's InflateRate
	inflCharged int

	held int64 // bytes of r.msg and r.zbuf reserved from Limits.MemoryBudget

	inflate *inflater // nil between messages unless the peer keeps its context

	err error // sticky: once reading failed, it keeps failing the same way

	// sysRead state: the callback given to syscall.RawConn.Read is built once.
	rawFn  func(fd uintptr) bool
	rawDst []byte
	rawN   int
	rawErr error
	// parkable is set while the goroutine of a served connection that the poller can take
	// is inside ReadMessage (not while a Close drains the reader): its read deadline is
	// then the park deadline (armPark). shallow is set while it waits for the first byte of
	// a message: a wait there past the park deadline goes to the poller (errPark).
	parkable bool
	shallow  bool
	// noWait is set while Pull reads: a read finding no bytes returns EAGAIN instead of
	// waiting, and a message past MessageAllowance is refused (1013) when MemoryBudget has
	// no room, instead of waiting MemoryWait for it.
	noWait bool
}

func (r *reader) init(c *Conn) {
	r.c = c
	now := monoNow()
	r.tokens = float64(c.lim.MessageBurst)
	r.tokensAt = now
	r.frameTokens = float64(c.lim.FrameBurst)
	r.framesAt = now
	r.inflTokens = float64(c.lim.InflateBurst)
	r.inflAt = now
	if c.raw != nil && sysIOSupported {
		r.rawFn = r.rawRead
	}
}

// errProtocol carries the close code a reading error maps to.
type errProtocol struct {
	code   StatusCode
	reason string
}

func (e *errProtocol) Error() string { return fmt.Sprintf("ws: %s (%d)", e.reason, uint16(e.code)) }

func protoErr(code StatusCode, reason string) error { return &errProtocol{code, reason} }

var (
	errConcurrentRead = errors.New("ws: concurrent ReadMessage calls")
	errServed         = errors.New("ws: ReadMessage on a served connection: its Handler receives the messages")
)

// ReadMessage returns the next data message. The returned bytes belong to the connection and
// stay valid until the next call to ReadMessage: copy them to keep them. Pings are answered
// and pongs noted on the way. When the connection ends, the error is a *CloseError with the
// code the peer sent (the close handshake is completed for you), the code this side sent when
// the peer broke a rule or a limit, or StatusAbnormalClosure when the transport died.
//
// One goroutine at a time may call ReadMessage. It is for clients (Dial) and connections
// made with NewConn; on a connection from Serve it returns an error.
func (c *Conn) ReadMessage() (MessageType, []byte, error) {
	if c.sv.served {
		return 0, nil, errServed
	}
	return c.readNext()
}

// readNext is ReadMessage for the connection's reader, whoever runs it (the application's
// loop, or Serve's).
func (c *Conn) readNext() (MessageType, []byte, error) {
	r := &c.r
	if !r.active.CompareAndSwap(false, true) {
		return 0, nil, errConcurrentRead
	}
	defer r.done()
	r.parkable = c.sv.state.Load() == serveRunning && !c.sv.blocking
	r.dropMsg()
	if r.err != nil {
		return 0, nil, r.err
	}
	if d := r.inflateWait(); d > 0 {
		r.pause(d)
	}
	// Wait for the next bytes here, at the shallowest point: an idle connection spends its
	// life blocked in this call, and a shallow stack lets its goroutine keep the minimum
	// stack size (measured: 4.2 instead of 6.6 KiB per idle connection).
	if r.buffered() == 0 {
		err := r.waitNext()
		if err == errPark {
			return 0, nil, errPark // r.fill kept no buffer: nothing was there
		}
		if err != nil {
			r.err = c.readFailed(err)
			r.release()
			return 0, nil, r.err
		}
	}
	typ, p, err := r.readMessage()
	if err == errPark {
		r.dropMsg() // parked between messages, after a control frame: nothing begun
		return 0, nil, errPark
	}
	if err != nil {
		// Give the message memory back first: failing the connection may wait up to
		// CloseTimeout for a peer that does not answer.
		r.release()
		r.err = c.readFailed(err)
		return 0, nil, r.err
	}
	return typ, p, nil
}

// waitNext waits for the bytes of the next message, with nothing buffered. A served
// connection the poller can take does not wait past its park deadline (errPark), nor at all
// when its messages come further apart than parkAfter: it parks.
func (r *reader) waitNext() error {
	if r.parkable {
		if r.c.sv.parkNow {
			r.c.sv.parkNow = false
			r.dropEmptyBuf()
			return errPark
		}
		r.c.armPark()
	}
	r.shallow = true
	err := r.fill()
	r.shallow = false
	return err
}

// dropMsg gives back the buffer of the message the last read returned: the application is
// done with it once it asks for the next one.
func (r *reader) dropMsg() {
	if r.msg != nil {
		r.putBuf(r.msg)
		r.msg = nil
		r.settle()
	}
}

// done ends a ReadMessage call: the reader is free for the next holder.
func (r *reader) done() {
	r.parkable = false
	r.active.Store(false)
}

// release returns borrowed buffers once reading is over. r.msg is never the application's
// here: a failed read leaves in it only the message it could not finish.
func (r *reader) release() {
	if r.buf != nil {
		bpool.Put(r.buf)
		r.buf = nil
	}
	if r.zbuf != nil {
		r.putBuf(r.zbuf)
		r.zbuf = nil
	}
	if r.msg != nil {
		r.putBuf(r.msg)
		r.msg = nil
	}
	r.settle()
	r.releaseInflate()
}

// abandon releases what the reader holds when the connection closes while no read is in
// progress. The last message returned may still be in the application's hands, so its
// buffer is left to the garbage collector instead of a pool; its reservation is returned.
func (r *reader) abandon() {
	r.msg = nil
	r.release()
}

// buffered is the number of unread bytes in the read buffer.
func (r *reader) buffered() int {
	if r.buf == nil {
		return 0
	}
	return len(*r.buf) - r.pos
}

// fill reads more bytes into the read buffer, keeping the unread ones. While the connection
// is idle it holds no buffer: on sockets it waits for readability first and borrows the
// buffer only when bytes are there.
func (r *reader) fill() error {
	r.compact()
	var n int
	var err error
	if r.rawFn != nil {
		r.rawDst = nil
		for {
			n, err = r.sysRead()
			if !r.parkTimeout(err) {
				break
			}
			if r.shallow {
				r.dropEmptyBuf()
				return errPark
			}
			// Silent past the park deadline in the middle of a message: not idle, only slow.
			r.c.extendPark()
		}
	} else {
		if r.buf == nil {
			r.buf = bpool.Get(readBufSize)
		}
		b := *r.buf
		n, err = r.c.nc.Read(b[len(b):cap(b)])
		*r.buf = b[:len(b)+n]
	}
	if n > 0 {
		r.noteRead(n)
		return nil
	}
	if r.buf != nil && len(*r.buf) == 0 {
		bpool.Put(r.buf)
		r.buf = nil
	}
	if err == nil {
		err = io.EOF
	}
	return err
}

// compact moves the unread bytes to the front of the read buffer, making room behind them.
func (r *reader) compact() {
	if r.buf != nil && r.pos > 0 {
		n := copy(*r.buf, (*r.buf)[r.pos:])
		*r.buf = (*r.buf)[:n]
		r.pos = 0
	}
}

// noteRead records n bytes read from the transport: the keepalive's clock and the metrics.
func (r *reader) noteRead(n int) {
	r.c.lastRead.Store(monoNow())
	r.c.metrics.BytesIn.Add(int64(n))
}

// readDirect reads exactly len(p) bytes from the transport into p, after the read buffer
// has been drained. onChunk sees each piece as it lands, so text can be validated before the
// rest of a frame arrives (fail fast).
func (r *reader) readDirect(p []byte, onChunk func([]byte) error) error {
	for len(p) > 0 {
		var n int
		var err error
		if r.rawFn != nil {
			r.rawDst = p
			n, err = r.sysRead()
			if r.parkTimeout(err) {
				r.c.extendPark() // a large frame arriving slowly: not idle
				continue
			}
		} else {
			n, err = r.c.nc.Read(p)
		}
		if n > 0 {
			r.noteRead(n)
			if e := onChunk(p[:n]); e != nil {
				return e
			}
			p = p[n:]
			continue
		}
		if err == nil {
			err = io.EOF
		}
		return err
	}
	return nil
}

// readHeader returns the next frame header, reading as much as needed.
func (r *reader) readHeader(h *header) error {
	for {
		if r.buf != nil {
			n, err := parseHeader((*r.buf)[r.pos:], h)
			if err != nil {
				return protoErr(StatusProtocolError, err.Error())
			}
			if n > 0 {
				r.pos += n
				return nil
			}
		}
		if err := r.fill(); err != nil {
			return err
		}
	}
}

// payloadStep is the least a message buffer grows by while a frame's payload arrives. The
// buffer grows as bytes come, not by the length a header announces, so a peer that announces
// a large frame and sends it slowly holds only what it sent.
const payloadStep = 32 << 10

// readPayload appends a frame payload of length n to *dst, unmasking it and handing every
// newly arrived piece to check (which may be nil) before waiting for more.
func (r *reader) readPayload(dst **[]byte, n int64, key uint32, check func([]byte) error) error {
	pos := 0
	remaining := int(n)
	for remaining > 0 {
		b := **dst
		if len(b) == cap(b) {
			if err := r.grow(dst, min(remaining, max(len(b), payloadStep))); err != nil {
				return err
			}
			b = **dst
		}
		room := min(cap(b)-len(b), remaining)
		start := len(b)
		if r.buffered() == 0 {
			if room >= directReadMin {
				b = b[:start+room]
				**dst = b
				err := r.readDirect(b[start:], func(chunk []byte) error {
					pos = maskBytes(key, pos, chunk)
					if check != nil {
						return check(chunk)
					}
					return nil
				})
				if err != nil {
					return err
				}
				remaining -= room
				continue
			}
			if err := r.fill(); err != nil {
				return err
			}
		}
		avail := (*r.buf)[r.pos:]
		if len(avail) > room {
			avail = avail[:room]
		}
		b = append(b, avail...)
		**dst = b
		r.pos += len(avail)
		remaining -= len(avail)
		chunk := b[start:]
		pos = maskBytes(key, pos, chunk)
		if check != nil {
			if err := check(chunk); err != nil {
				return err
			}
		}
	}
	r.dropEmptyBuf()
	return nil
}

// dropEmptyBuf gives the read buffer back when everything in it has been consumed, so that
// a connection between bursts holds none.
func (r *reader) dropEmptyBuf() {
	if r.buf != nil && r.pos == len(*r.buf) {
		bpool.Put(r.buf)
		r.buf = nil
		r.pos = 0
	}
}

// readControl reads a control frame's payload into dst, which has room for the largest.
// The caller's buffer is on its stack, not in the reader: 125 bytes less in every idle
// connection, and control handles the payload before it returns (a pong's frame copies it).
func (r *reader) readControl(h *header, dst []byte) ([]byte, error) {
	p := dst[:0]
	for int64(len(p)) < h.length {
		if r.buffered() == 0 {
			if err := r.fill(); err != nil {
				return nil, err
			}
		}
		avail := (*r.buf)[r.pos:]
		want := int(h.length) - len(p)
		if len(avail) > want {
			avail = avail[:want]
		}
		p = append(p, avail...)
		r.pos += len(avail)
	}
	maskBytes(h.maskKey, 0, p)
	r.dropEmptyBuf()
	return p, nil
}

// takeToken spends one message from the rate limit's bucket, which refills at
// MaxMessagesPerSecond up to MessageBurst messages.
func (r *reader) takeToken() bool {
	rate := r.c.lim.MaxMessagesPerSecond
	if rate < 0 {
		return true
	}
	now := r.c.lastRead.Load()
	if now > r.tokensAt {
		r.tokens = min(float64(r.c.lim.MessageBurst), r.tokens+float64(now-r.tokensAt)*rate/1e9)
		r.tokensAt = now
	}
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}

// takeFrame spends h's cost from the frame rate limit's bucket, which refills at
// MaxFramesPerSecond up to FrameBurst frames. A control frame costs one; a data frame one
// less a framePayloadCredit-th per payload byte (see Limits.MaxFramesPerSecond).
func (r *reader) takeFrame(h *header) bool {
	rate := r.c.lim.MaxFramesPerSecond
	if rate < 0 {
		return true
	}
	cost := 1.0
	if !h.op.isControl() {
		if h.length >= framePayloadCredit {
			return true
		}
		cost -= float64(h.length) / framePayloadCredit
	}
	now := r.c.lastRead.Load()
	if now > r.framesAt {
		r.frameTokens = min(float64(r.c.lim.FrameBurst), r.frameTokens+float64(now-r.framesAt)*rate/1e9)
		r.framesAt = now
	}
	if r.frameTokens < cost {
		return false
	}
	r.frameTokens -= cost
	return true
}

// readMessage reads frames until a whole data message is in r.msg, handling the control
// frames interleaved with its fragments (RFC 6455 §5.4, §5.5).
func (r *reader) readMessage() (MessageType, []byte, error) {
	c := r.c
	var (
		h          header
		msgOp      opcode
		compressed bool
		total      int64
	)
	r.msg = bpool.Get(0)
	if err := r.cover(0); err != nil {
		return 0, nil, err
	}
	checkText := func(p []byte) error {
		if !r.utf8.write(p) {
			return protoErr(StatusInvalidFramePayloadData, "invalid UTF-8 in text message")
		}
		return nil
	}
	for {
		if msgOp == 0 && r.parkable && r.buffered() == 0 {
			// Back at a message boundary after a control frame, with nothing more to read:
			// a keepalive's ping answered by an idle peer, or its own ping. The wait for
			// the next message is as shallow as ReadMessage's, and parks as that one does;
			// otherwise every pong would leave the idle connection its goroutine, waiting
			// past each park deadline for a data message that may be minutes away.
			if err := r.waitNext(); err != nil {
				return 0, nil, err
			}
		}
		if err := r.readHeader(&h); err != nil {
			return 0, nil, err
		}
		switch {
		case h.rsv23:
			return 0, nil, protoErr(StatusProtocolError, "reserved bit RSV2 or RSV3 set (RFC 6455 §5.2)")
		case !h.op.known():
			return 0, nil, protoErr(StatusProtocolError, fmt.Sprintf("reserved opcode %#x (RFC 6455 §5.2)", byte(h.op)))
		case c.server && !h.masked:
			return 0, nil, protoErr(StatusProtocolError, "unmasked client frame (RFC 6455 §5.1)")
		case !c.server && h.masked:
			return 0, nil, protoErr(StatusProtocolError, "masked server frame (RFC 6455 §5.1)")
		case h.rsv1 && (!c.deflate || h.op == opContinuation || h.op.isControl()):
			return 0, nil, protoErr(StatusProtocolError, "RSV1 set outside the first frame of a compressed message (RFC 7692 §6)")
		}
		if !r.takeFrame(&h) {
			c.metrics.FrameFloods.Add(1)
			return 0, nil, protoErr(StatusPolicyViolation, "frame rate limit exceeded")
		}
		if h.op.isControl() {
			if !h.fin {
				return 0, nil, protoErr(StatusProtocolError, "fragmented control frame (RFC 6455 §5.5)")
			}
			if h.length > maxControlPayload {
				return 0, nil, protoErr(StatusProtocolError, "control frame payload over 125 bytes (RFC 6455 §5.5)")
			}
			var ctl [maxControlPayload]byte
			p, err := r.readControl(&h, ctl[:])
			if err != nil {
				return 0, nil, err
			}
			if err := r.control(h.op, p); err != nil {
				return 0, nil, err
			}
			continue
		}
		if h.op == opContinuation {
			if msgOp == 0 {
				return 0, nil, protoErr(StatusProtocolError, "continuation frame with no message to continue (RFC 6455 §5.4)")
			}
		} else {
			if msgOp != 0 {
				return 0, nil, protoErr(StatusProtocolError, "new data frame inside a fragmented message (RFC 6455 §5.4)")
			}
			msgOp = h.op
			compressed = h.rsv1
			if !r.takeToken() {
				return 0, nil, protoErr(StatusPolicyViolation, "message rate limit exceeded")
			}
			r.utf8.reset()
		}
		if h.length > c.lim.MaxFrameSize {
			return 0, nil, protoErr(StatusMessageTooBig, fmt.Sprintf("frame of %d bytes exceeds the %d byte limit", h.length, c.lim.MaxFrameSize))
		}
		total += h.length
		if total > c.lim.MaxMessageSize {
			return 0, nil, protoErr(StatusMessageTooBig, fmt.Sprintf("message exceeds the %d byte limit", c.lim.MaxMessageSize))
		}
		if compressed {
			if r.zbuf == nil {
				r.zbuf = bpool.Get(int(min(h.length+int64(len(inflateEnd)), readBufSize)))
				if err := r.cover(0); err != nil {
					return 0, nil, err
				}
			}
			if err := r.readPayload(&r.zbuf, h.length, h.maskKey, nil); err != nil {
				return 0, nil, err
			}
		} else {
			var check func([]byte) error
			if msgOp == opText {
				check = checkText
			}
			if err := r.readPayload(&r.msg, h.length, h.maskKey, check); err != nil {
				return 0, nil, err
			}
		}
		if h.fin {
			break
		}
	}
	if compressed {
		err := r.inflateMessage(msgOp == opText)
		r.putBuf(r.zbuf)
		r.zbuf = nil
		r.settle()
		if err != nil {
			return 0, nil, err
		}
	}
	if msgOp == opText && !r.utf8.done() {
		return 0, nil, protoErr(StatusInvalidFramePayloadData, "text message ends inside a UTF-8 sequence")
	}
	c.lastData.Store(c.lastRead.Load())
	c.metrics.MessagesIn.Add(1)
	c.metrics.PayloadIn.Add(int64(len(*r.msg)))
	return MessageType(msgOp), *r.msg, nil
}

// control handles a ping, pong or close frame (RFC 6455 §5.5).
func (r *reader) control(op opcode, p []byte) error {
	c := r.c
	switch op {
	case opPing:
		// §5.5.2: answer with a pong carrying the same application data, as soon as practical;
		// §5.5.3: a pong still waiting to go out may be replaced by this one.
		return c.w.sendPong(c.frame(opPong, false, p))
	case opPong:
		// §5.5.3: a pong may be unsolicited; any frame already proved the peer alive.
		c.pingSent.Store(0)
		return nil
	}
	code, reason, bad := parseClosePayload(p)
	if bad != 0 {
		if bad == StatusProtocolError {
			return protoErr(bad, "invalid close frame (RFC 6455 §5.5.1, §7.4)")
		}
		return protoErr(bad, "close reason is not UTF-8 (RFC 6455 §5.5.1)")
	}
	return &peerClose{code: code, reason: reason}
}

// peerClose is how readMessage reports a valid close frame from the peer.
type peerClose struct {
	code   StatusCode
	reason string
}

func (e *peerClose) Error() string { return "ws: peer sent close" }

// readFailed turns a reading error into the connection's final CloseError, completing the
// close handshake or failing the connection as RFC 6455 §7 asks.
func (c *Conn) readFailed(err error) error {
	var pc *peerClose
	var pe *errProtocol
	switch {
	case errors.As(err, &pc):
		ce := &CloseError{Code: pc.code, Reason: pc.reason}
		c.markRecvd()
		// §5.5.1: reply with a close frame echoing the code, unless ours already went out.
		c.sendClose(pc.code, pc.reason, false)
		c.finishClose()
		return ce
	case errors.As(err, &pe):
		c.metrics.ProtocolErrors.Add(1)
		ce := c.setFailure(pe.code, truncateReason(pe.reason), true)
		c.failConn(ce.Code, ce.Reason, true)
		return ce
	}
	// The transport failed or was closed under us.
	c.markRecvd()
	c.closeNetConn()
	if ce := c.failure.Load(); ce != nil {
		return ce
	}
	var ne net.Error
	reason := "connection ended without a close frame"
	if errors.As(err, &ne) && ne.Timeout() {
		reason = "read timeout"
	} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		reason = err.Error()
	}
	return c.setFailure(StatusAbnormalClosure, truncateReason(reason), false)
}
