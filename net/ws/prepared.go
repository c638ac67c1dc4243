package ws

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/rallypoint/rallypoint/internal/bpool"
)

// PreparedMessage is a message encoded once and written to any number of connections: the
// way a room broadcasts. Its frames are built lazily, once per variant a recipient needs
// (uncompressed; compressed for a given window size), and then shared: writing it to a
// server-side connection copies nothing and compresses nothing.
//
// Compressed variants are compressed on their own (no context), which every permessage-deflate
// peer can inflate, including peers that agreed to context takeover: a connection that keeps
// its own compression window restarts it after a prepared message, so the two never disagree.
// Client-side connections must mask every frame with a fresh key (RFC 6455 §5.3), so for them
// only the compressed payload is shared and the frame is built per connection.
type PreparedMessage struct {
	op   opcode
	data []byte

	// refs counts the holds on the buffers: the creator's until Release, and one for each
	// frame handed to a server-side connection that has not finished with it (written,
	// replaced or dropped). At zero, the buffers and the message go back to their pools.
	// A message never released keeps the creator's hold and is left to the collector.
	refs    atomic.Int32
	dataBuf *[]byte

	mu       sync.Mutex
	plain    []byte  // unmasked frame
	plainBuf *[]byte // plain's pooled buffer
	// deflated[bits] is the unmasked compressed frame for a window of 2^bits, or nil until
	// needed; noGain[bits] records that compression did not make it smaller.
	deflated    [16][]byte
	deflatedBuf [16]*[]byte
	noGain      [16]bool
}

// preparedPool recycles released messages: a room prepares one per snapshot, 30 a second,
// and with Release they cost no allocation in steady state.
var preparedPool = sync.Pool{New: func() any { return new(PreparedMessage) }}

// NewPreparedMessage prepares data (copied) for sending as a text or binary message. Call
// Release when done writing it, so that its buffers are reused; without Release it is
// collected as any value.
func NewPreparedMessage(typ MessageType, data []byte) (*PreparedMessage, error) {
	if typ != MessageText && typ != MessageBinary {
		return nil, ErrBadMessageType
	}
	if typ == MessageText && !utf8.Valid(data) {
		return nil, ErrInvalidUTF8
	}
	pm := preparedPool.Get().(*PreparedMessage)
	pm.op = opcode(typ)
	pm.dataBuf = bpool.Get(len(data))
	pm.data = append(*pm.dataBuf, data...)
	pm.refs.Store(1)
	return pm, nil
}

// Release says the caller will not write pm again nor read its Data. Frames of pm still
// queued on connections stay valid: the buffers are reused only once the last of them is
// written or dropped. Releasing twice, or writing pm after Release, is a bug that sends one
// message's bytes in place of another's (it panics when it finds the count below zero).
func (pm *PreparedMessage) Release() { pm.unref() }

func (pm *PreparedMessage) unref() {
	n := pm.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		panic("ws: PreparedMessage released more often than held (Release twice, or a write after Release)")
	}
	bpool.Put(pm.dataBuf)
	bpool.Put(pm.plainBuf)
	for i, b := range pm.deflatedBuf {
		bpool.Put(b)
		pm.deflatedBuf[i] = nil
	}
	pm.data, pm.dataBuf, pm.plain, pm.plainBuf = nil, nil, nil, nil
	pm.deflated = [16][]byte{}
	pm.noGain = [16]bool{}
	preparedPool.Put(pm)
}

// Data returns the message payload. It must not be modified, nor read after Release.
func (pm *PreparedMessage) Data() []byte { return pm.data }

// serverFrame returns the shared frame for a connection with these settings, and whether it
// is compressed.
func (pm *PreparedMessage) serverFrame(compress bool, bits, level int) ([]byte, bool) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if compress && !pm.noGain[bits] {
		if pm.deflated[bits] == nil {
			cw := getCompressor(bits, level)
			buf, ok := cw.compressInto(pm.data, true)
			cw.free()
			if ok {
				b := *buf
				n := len(b) - maxHeaderSize
				fb := bpool.Get(headerSize(n, false) + n)
				f := appendHeader(*fb, true, true, pm.op, n, false, 0)
				pm.deflated[bits], pm.deflatedBuf[bits] = append(f, b[maxHeaderSize:]...), fb
			} else {
				pm.noGain[bits] = true
			}
			bpool.Put(buf)
		}
		if pm.deflated[bits] != nil {
			return pm.deflated[bits], true
		}
	}
	if pm.plain == nil {
		pm.plainBuf = bpool.Get(headerSize(len(pm.data), false) + len(pm.data))
		f := appendHeader(*pm.plainBuf, true, false, pm.op, len(pm.data), false, 0)
		pm.plain = append(f, pm.data...)
	}
	return pm.plain, false
}

// outFrame returns the frame for c: shared for servers, built from the shared payload for
// clients.
func (pm *PreparedMessage) outFrame(c *Conn) (f outFrame, compressed bool) {
	compress := c.compresses(pm.data)
	shared, compressed := pm.serverFrame(compress, int(c.ourWindowBits), int(c.level))
	if c.server {
		pm.refs.Add(1) // the frame's hold, let go by its release
		return outFrame{b: shared, pm: pm}, compressed
	}
	var h header
	n, _ := parseHeader(shared, &h)
	return c.frame(pm.op, compressed, shared[n:]), compressed
}

// WritePrepared sends pm in order with the connection's other messages, like WriteMessage.
func (c *Conn) WritePrepared(pm *PreparedMessage) error {
	return c.writePrepared(pm, false)
}

// WriteLatest puts pm in the connection's latest-wins slot: if the previous message written
// this way has not gone out yet, pm replaces it (Metrics.LatestReplaced counts that). It is
// for messages that supersede each other, such as snapshots: a slow peer gets the freshest
// one instead of a backlog. The slot goes out after the ordered queue.
func (c *Conn) WriteLatest(pm *PreparedMessage) error {
	return c.writePrepared(pm, true)
}

func (c *Conn) writePrepared(pm *PreparedMessage, latest bool) error {
	c.noteSent(len(pm.data))
	f, compressed := pm.outFrame(c)
	c.w.mu.Lock()
	c.w.notePrepared(compressed)
	return c.w.sendLocked(f, latest)
}

// notePrepared is told, with w.mu held, that a prepared frame is about to be sent.
func (w *writer) notePrepared(compressed bool) {
	if compressed && w.c.ourTakeover {
		// The peer's window now holds pm's data but our compressor's does not: restart ours.
		w.compReset = true
	}
}

// broadcastChunk is the number of connections one goroutine serves in Broadcast: below it,
// starting a goroutine costs more than the writes it would parallelise.
const broadcastChunk = 256

// Broadcast writes pm to every connection, like WritePrepared on each, and returns how many
// writes failed (closed connections, slow consumers). The writes go through a Batch (on
// Linux, up to 64 sends to a system call); for large audiences they are spread over up to
// GOMAXPROCS goroutines, which finish together before Broadcast returns; small audiences
// are served on the caller's goroutine. No write blocks on a slow peer.
func Broadcast(pm *PreparedMessage, conns []*Conn) (failed int) {
	workers := min(runtime.GOMAXPROCS(0), (len(conns)+broadcastChunk-1)/broadcastChunk)
	if workers <= 1 {
		return writeAll(pm, conns)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	per := (len(conns) + workers - 1) / workers
	for i := 0; i < len(conns); i += per {
		part := conns[i:min(i+per, len(conns))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := writeAll(pm, part)
			mu.Lock()
			failed += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	return failed
}

// writeAll writes pm to each connection through a Batch (see Batch), and counts the writes
// that failed.
func writeAll(pm *PreparedMessage, conns []*Conn) (failed int) {
	b := broadcastBatches.Get().(*Batch)
	for _, c := range conns {
		if b.WritePrepared(c, pm) != nil {
			failed++
		}
	}
	failed += b.Send()
	broadcastBatches.Put(b)
	return failed
}

// broadcastBatches lends Broadcast's goroutines their batches.
var broadcastBatches = sync.Pool{New: func() any { return new(Batch) }}

// WriteLatestWith is WriteLatest with a small binary message sent just before pm, in the same
// latest-wins unit and the same write: the two are replaced together. A room uses it to send
// each player's own input acknowledgement with the shared snapshot in one syscall.
func (c *Conn) WriteLatestWith(pm *PreparedMessage, lead []byte) error {
	unit, compressed := c.latestUnit(pm, lead)
	c.w.mu.Lock()
	c.w.notePrepared(compressed)
	return c.w.sendLocked(unit, true)
}

// WriteLatestSpliced is WriteLatest for one connection's variant of a shared message: the
// binary message head followed by pm.Data()[skip:], in a frame of its own, uncompressed. A
// room uses it to put a player's input acknowledgement inside the snapshot every player
// shares (PROTOCOL.md, rallypoint.v2), where a message of its own costs a frame header and
// an envelope. It copies the message; pm is not held. An uncompressed message is every
// permessage-deflate connection's right (RFC 7692 §6: RSV1 clear) and leaves the
// connection's compression window as it was, but it forgoes the compression pm's shared
// frame would have had: where SendsCompressed(pm), send pm as it is (WriteLatestWith). skip
// beyond len(pm.Data()) is a bug and panics.
func (c *Conn) WriteLatestSpliced(pm *PreparedMessage, head []byte, skip int) error {
	f := c.splicedFrame(pm, head, skip)
	c.w.mu.Lock()
	return c.w.sendLocked(f, true)
}

// splicedFrame builds, and counts, WriteLatestSpliced's frame.
func (c *Conn) splicedFrame(pm *PreparedMessage, head []byte, skip int) outFrame {
	tail := pm.data[skip:]
	c.noteSent(len(head) + len(tail))
	return c.frame2(opBinary, false, head, tail)
}

// SendsCompressed reports whether WriteLatest and WritePrepared send pm compressed on c: c
// agreed to permessage-deflate, pm reaches its compression threshold and compresses to fewer
// bytes (which it learns by compressing, once per window size, as the first such write would).
func (c *Conn) SendsCompressed(pm *PreparedMessage) bool {
	if !c.deflate || len(pm.data) < int(c.threshold) {
		return false
	}
	_, compressed := pm.serverFrame(true, int(c.ourWindowBits), int(c.level))
	return compressed
}

// latestUnit builds, and counts, WriteLatestWith's unit: lead's frame followed by pm's.
func (c *Conn) latestUnit(pm *PreparedMessage, lead []byte) (outFrame, bool) {
	c.noteSent(len(pm.data) + len(lead))
	c.metrics.MessagesOut.Add(1) // the unit is two messages; noteSent counted one
	f, compressed := pm.outFrame(c)
	unit := c.frame(opBinary, false, lead)
	unit.pool = bpool.Grow(unit.pool, len(f.b))
	*unit.pool = append(*unit.pool, f.b...)
	unit.b = *unit.pool
	f.release()
	return unit, compressed
}
