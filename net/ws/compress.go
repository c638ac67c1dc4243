package ws

import (
	"bytes"
	"errors"
	"io"
	"math"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"

	"github.com/rallypoint/rallypoint/internal/bpool"
)

// CompressionMode chooses how this endpoint compresses the messages it sends under
// permessage-deflate (RFC 7692). Inbound compression is decided by the peer; see
// CompressionOptions.PeerContextTakeover for what that costs us.
type CompressionMode int

const (
	// CompressionNoContextTakeover compresses each message on its own (RFC 7692 §7.1.1):
	// no memory is kept between messages, a compressor is borrowed from a pool only for the
	// moment of compressing, and a broadcast frame is byte-identical for every recipient, so
	// it is compressed once (PreparedMessage). The ratio is lower for streams of small,
	// similar messages. The default.
	CompressionNoContextTakeover CompressionMode = iota
	// CompressionContextTakeover keeps the compression window between messages: better
	// ratios for small similar messages, at the cost of a compressor held by every
	// connection for its lifetime (hundreds of KiB with the flate implementation we use)
	// and of compressing each message per connection. Prepared messages still go out
	// compressed once; the connection's window restarts after each.
	CompressionContextTakeover
	// CompressionDisabled neither offers nor accepts permessage-deflate.
	CompressionDisabled
)

// CompressionOptions configures permessage-deflate. The zero value is the default: offered
// or accepted, no context takeover in either direction.
type CompressionOptions struct {
	Mode CompressionMode
	// PeerContextTakeover lets the peer keep its compression window between messages. Each
	// such connection then holds a 32 KiB inflate window and an inflater for its lifetime.
	// Off by default: we ask for client_no_context_takeover (server) or
	// server_no_context_takeover (client), and inflate with pooled inflaters.
	PeerContextTakeover bool
	// Threshold is the payload size below which messages go uncompressed (RFC 7692 lets
	// each message choose). 0 means 128 bytes; negative compresses every message.
	Threshold int
	// Level is the flate level, 1 (fastest) to 9. 0 means 1: game traffic is small and
	// frequent, and level 1 gets most of the ratio for a fraction of the CPU.
	Level int
}

func (o CompressionOptions) config() deflateConfig {
	return deflateConfig{
		ourNoContextTakeover:  o.Mode != CompressionContextTakeover,
		peerNoContextTakeover: !o.PeerContextTakeover,
	}
}

func (o CompressionOptions) threshold() int {
	switch {
	case o.Threshold == 0:
		return 128
	case o.Threshold < 0:
		return 0
	}
	return o.Threshold
}

func (o CompressionOptions) level() int {
	if o.Level < 1 || o.Level > 9 {
		return 1
	}
	return o.Level
}

// useDeflate configures the connection from the agreed parameters.
func (c *Conn) useDeflate(p deflateParams, o CompressionOptions) {
	c.deflate = true
	c.extensions = p.String()
	c.threshold = int32(min(o.threshold(), math.MaxInt32))
	c.level = int8(o.level())
	c.ourWindowBits = 15
	if c.server {
		c.ourTakeover = !p.serverNoContextTakeover
		c.peerTakeover = !p.clientNoContextTakeover
		if p.serverMaxWindowBits > 0 {
			c.ourWindowBits = int8(p.serverMaxWindowBits)
		}
	} else {
		c.ourTakeover = !p.clientNoContextTakeover
		c.peerTakeover = !p.serverNoContextTakeover
		if p.clientMaxWindowBits > 0 {
			c.ourWindowBits = int8(p.clientMaxWindowBits)
		}
	}
	if c.peerTakeover {
		c.r.inflate = &inflater{takeover: true}
	}
}

// compressor is a flate writer that appends its output to a borrowed buffer.
type compressor struct {
	fw  *flate.Writer
	out *[]byte
	key int
}

func (cw *compressor) Write(p []byte) (int, error) {
	cw.out = bpool.Grow(cw.out, len(p))
	*cw.out = append(*cw.out, p...)
	return len(p), nil
}

// compressors pools writers by window size (8..15 bits) and level (1..9). A window below
// 15 bits is what a peer's max_window_bits asked for (RFC 7692 §7.1.2).
var compressors [16 * 10]sync.Pool

func getCompressor(windowBits, level int) *compressor {
	key := windowBits*10 + level
	if v := compressors[key].Get(); v != nil {
		return v.(*compressor)
	}
	cw := &compressor{key: key}
	var err error
	if windowBits < 15 {
		cw.fw, err = flate.NewWriterWindow(cw, 1<<windowBits)
	} else {
		cw.fw, err = flate.NewWriter(cw, level)
	}
	if err != nil {
		panic("ws: flate writer: " + err.Error()) // only for invalid constants
	}
	return cw
}

func (cw *compressor) free() { compressors[cw.key].Put(cw) }

// yieldEvery is how many bytes a large message is inflated or compressed in before its
// goroutine yields (runtime.Gosched). Go's scheduler has no priorities and preempts a busy
// goroutine only every 10 ms or more: a few connections inflating 15 MiB bombs at once
// (about 100 ms of CPU each) held a game room's tick 160 ms behind them in the run queue.
// Yielding every 256 KiB (a millisecond or two) lets a room's tick or a player's read run
// between the chunks; a game's messages, far smaller, never yield. It costs one Gosched
// per 256 KiB.
const yieldEvery = 256 << 10

// deflateTail is the empty stored block a sync flush ends with; RFC 7692 §7.2.1 removes it
// from every compressed message and §7.2.2 puts it back before inflating.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// compressInto compresses p into a new frame buffer, leaving room for the header in front.
// fresh restarts the window (no context takeover). It returns the buffer and the payload's
// offset; ok is false when compression did not make the payload smaller.
func (cw *compressor) compressInto(p []byte, fresh bool) (buf *[]byte, ok bool) {
	// Half the input is a fair guess for what a game sends; a large message starts smaller
	// and the buffer grows as output comes (a 15 MiB message of zeros compresses to 15 KiB,
	// and sizing for half of it allocated 7.5 MiB per message for nothing).
	buf = bpool.Get(maxHeaderSize + min(len(p)/2, 256<<10) + 64)
	*buf = (*buf)[:maxHeaderSize]
	cw.out = buf
	if fresh {
		cw.fw.Reset(cw)
	}
	for len(p) > yieldEvery {
		_, _ = cw.fw.Write(p[:yieldEvery])
		p = p[yieldEvery:]
		runtime.Gosched()
	}
	_, _ = cw.fw.Write(p)
	_ = cw.fw.Flush()
	buf = cw.out
	cw.out = nil
	b := *buf
	if !bytes.HasSuffix(b, deflateTail) {
		panic("ws: flate flush did not end with a sync marker")
	}
	b = b[:len(b)-len(deflateTail)]
	*buf = b
	return buf, len(b)-maxHeaderSize < len(p)
}

// frameAround writes the header in front of a payload that starts at maxHeaderSize.
func (c *Conn) frameAround(buf *[]byte, op opcode, rsv1 bool) outFrame {
	b := *buf
	n := len(b) - maxHeaderSize
	masked := !c.server
	start := maxHeaderSize - headerSize(n, masked)
	var key uint32
	if masked {
		key = maskKey()
	}
	appendHeader(b[start:start], true, rsv1, op, n, masked, key)
	if masked {
		maskBytes(key, 0, b[maxHeaderSize:])
	}
	return outFrame{b: b[start:], pool: buf}
}

// compressOnce compresses p on its own with a pooled compressor. ok is false when the
// message is better sent as it is.
func (c *Conn) compressOnce(op opcode, p []byte) (outFrame, bool) {
	cw := getCompressor(int(c.ourWindowBits), int(c.level))
	buf, ok := cw.compressInto(p, true)
	cw.free()
	if !ok {
		bpool.Put(buf)
		return outFrame{}, false
	}
	return c.frameAround(buf, op, true), true
}

// compressTakeoverLocked compresses p with the connection's own window. It runs with c.w.mu
// held so that messages enter the window in the order they are sent.
func (c *Conn) compressTakeoverLocked(op opcode, p []byte) outFrame {
	if c.w.comp == nil {
		c.w.comp = getCompressor(int(c.ourWindowBits), int(c.level))
		c.w.compReset = true
	}
	buf, _ := c.w.comp.compressInto(p, c.w.compReset)
	c.w.compReset = false
	return c.frameAround(buf, op, true)
}

// inflater decompresses received messages. A peer that keeps its compression context
// (takeover) needs one of its own for the connection's life, holding the last 32 KiB of
// output as the window the next message may refer to (RFC 7692 §7.2.2); any other borrows
// one from inflaters for the length of a message, so that an idle connection holds a
// pointer instead of the 88 bytes (issue 14, item 6). The flate reader stays in the
// inflater it was made for, reading from its src.
type inflater struct {
	takeover bool
	fr       io.ReadCloser
	dict     []byte
	src      bytes.Reader
}

var inflaters = sync.Pool{New: func() any { return new(inflater) }}

const maxWindow = 1 << 15

// inflateEnd is appended after a message: the sync-flush tail RFC 7692 §7.2.2 restores,
// then an empty final stored block so the inflater reports a clean io.EOF.
var inflateEnd = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

var errInflate = errors.New("invalid compressed data")

// releaseInflate gives a borrowed inflater back once a message is inflated (or failed).
func (r *reader) releaseInflate() {
	z := r.inflate
	if z == nil || z.takeover {
		return
	}
	r.inflate = nil
	z.src.Reset(nil)
	inflaters.Put(z)
}

// inflateMessage inflates r.zbuf into r.msg, stopping at the message size limit and, for text,
// at the first byte that cannot be UTF-8.
func (r *reader) inflateMessage(text bool) error {
	if err := r.grow(&r.zbuf, len(inflateEnd)); err != nil {
		return err
	}
	*r.zbuf = append(*r.zbuf, inflateEnd...)
	z := r.inflate
	if z == nil {
		z = inflaters.Get().(*inflater)
		r.inflate = z
	}
	z.src.Reset(*r.zbuf)
	if z.fr == nil {
		z.fr = flate.NewReader(&z.src)
	} else {
		_ = z.fr.(flate.Resetter).Reset(&z.src, z.dict)
	}
	limit := int(r.c.lim.MaxMessageSize)
	r.inflCharged = 0
	for {
		m := *r.msg
		if len(m) == cap(m) {
			if err := r.chargeShared(len(m)); err != nil {
				r.releaseInflate()
				return err
			}
			grow := len(m)
			if grow < 4096 {
				grow = 4096
			}
			if len(m)+grow > limit+1 {
				grow = limit + 1 - len(m)
			}
			if err := r.grow(&r.msg, grow); err != nil {
				r.releaseInflate()
				return err
			}
			m = *r.msg
		}
		// Read at most yieldEvery at a time, and let other goroutines run between (see
		// yieldEvery).
		end := cap(m)
		if len(m) >= yieldEvery {
			end = min(end, len(m)+yieldEvery)
			runtime.Gosched()
		}
		n, err := z.fr.Read(m[len(m):end])
		if n > 0 {
			chunk := m[len(m) : len(m)+n]
			*r.msg = m[:len(m)+n]
			if len(*r.msg) > limit {
				r.releaseInflate()
				return protoErr(StatusMessageTooBig, "inflated message exceeds the size limit")
			}
			if text && !r.utf8.write(chunk) {
				r.releaseInflate()
				return protoErr(StatusInvalidFramePayloadData, "invalid UTF-8 in text message")
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			z.fr = nil // its state is unknown; never reuse it
			r.releaseInflate()
			return protoErr(StatusInvalidFramePayloadData, errInflate.Error())
		}
	}
	if z.takeover {
		z.remember(*r.msg)
	} else {
		r.releaseInflate()
	}
	r.chargeInflate(len(*r.msg))
	return r.chargeShared(len(*r.msg))
}

// remember keeps the last 32 KiB of what the peer sent, the window its next message may use.
func (z *inflater) remember(out []byte) {
	if z.dict == nil {
		z.dict = make([]byte, 0, maxWindow)
	}
	if len(out) >= maxWindow {
		z.dict = append(z.dict[:0], out[len(out)-maxWindow:]...)
		return
	}
	if keep := maxWindow - len(out); len(z.dict) > keep {
		n := copy(z.dict, z.dict[len(z.dict)-keep:])
		z.dict = z.dict[:n]
	}
	z.dict = append(z.dict, out...)
}
