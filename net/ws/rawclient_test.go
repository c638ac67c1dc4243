package ws_test

// A raw WebSocket client for the conformance suite. It shares no code with package ws: the
// opening handshake is written by hand, frames are encoded and decoded here with arbitrary
// header bits, and permessage-deflate uses compress/flate from the standard library, so a
// bug in the implementation cannot hide behind the same bug in the test client.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// Opcodes of RFC 6455 §5.2.
const (
	opCont   byte = 0x0
	opText   byte = 0x1
	opBinary byte = 0x2
	opClose  byte = 0x8
	opPing   byte = 0x9
	opPong   byte = 0xA
)

const (
	// wsGUID is the key suffix of RFC 6455 §1.3 / §4.2.2.
	wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	// ioTimeout is how long any read or write may make no progress before the case fails.
	ioTimeout = 30 * time.Second
	// failFastTimeout is how long a fail-fast case waits for the close after the first bad
	// fragment before it concludes the server is waiting for more input.
	failFastTimeout = 4 * time.Second
	// chopDelay separates the pieces of a chopped write so that they reach the server in
	// separate reads.
	chopDelay = 200 * time.Microsecond
	// maxServerFrame bounds what the client accepts from the server in one frame.
	maxServerFrame = 80 << 20
)

// deadlineConn refreshes the deadline before every Read and Write: a case fails after
// ioTimeout without progress, with a timeout error that names the operation, and never hangs.
//
// While a second goroutine is still writing (bulk cases), a read that times out is retried:
// the server may legitimately say nothing until a large message has fully arrived.
type deadlineConn struct {
	net.Conn
	readTimeout atomic.Int64 // nanoseconds
	lastWrite   atomic.Int64 // UnixNano of the last completed write
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	for {
		d := time.Duration(c.readTimeout.Load())
		_ = c.Conn.SetReadDeadline(time.Now().Add(d))
		n, err := c.Conn.Read(p)
		if n == 0 && err != nil && isTimeout(err) && time.Since(time.Unix(0, c.lastWrite.Load())) < d {
			continue
		}
		return n, err
	}
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	n, err := c.Conn.Write(p)
	c.lastWrite.Store(time.Now().UnixNano())
	return n, err
}

// frame is one frame as the client puts it on the wire (RFC 6455 §5.2). Every field may hold
// a value the RFC forbids: that is the point.
type frame struct {
	fin      bool
	rsv      byte // 3 bits, numbered as Autobahn does: 4 = RSV1, 2 = RSV2, 1 = RSV3
	op       byte // 4 bits
	payload  []byte
	unmasked bool  // send without a masking key (a client MUST mask, §5.1)
	length   int64 // with setLen, the payload length to announce instead of len(payload)
	setLen   bool
}

func txtFrame(s string) frame            { return frame{fin: true, op: opText, payload: []byte(s)} }
func binFrame(b []byte) frame            { return frame{fin: true, op: opBinary, payload: b} }
func pingFrame(b []byte) frame           { return frame{fin: true, op: opPing, payload: b} }
func pongFrame(b []byte) frame           { return frame{fin: true, op: opPong, payload: b} }
func contFrame(fin bool, s string) frame { return frame{fin: fin, op: opCont, payload: []byte(s)} }

// closeFrame builds a close frame with a 2-byte code and a reason (RFC 6455 §5.5.1).
func closeFrame(code uint16, reason string) frame {
	p := binary.BigEndian.AppendUint16(nil, code)
	return frame{fin: true, op: opClose, payload: append(p, reason...)}
}

func (f frame) noFin() frame         { f.fin = false; return f }
func (f frame) withRSV(r byte) frame { f.rsv = r; return f }

// encode serializes f with a random masking key unless f.unmasked (RFC 6455 §5.2, §5.3).
func (f frame) encode() []byte {
	b0 := f.op&0x0F | (f.rsv&7)<<4
	if f.fin {
		b0 |= 0x80
	}
	n := int64(len(f.payload))
	if f.setLen {
		n = f.length
	}
	var b1 byte
	if !f.unmasked {
		b1 = 0x80
	}
	out := make([]byte, 0, 14+len(f.payload))
	switch {
	case n >= 0 && n <= 125:
		out = append(out, b0, b1|byte(n))
	case n >= 0 && n <= 0xFFFF:
		out = append(out, b0, b1|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, b0, b1|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if f.unmasked {
		return append(out, f.payload...)
	}
	key := rand.Uint32() | 1 // never the all-zero key: it would hide a missing unmask
	out = binary.BigEndian.AppendUint32(out, key)
	start := len(out)
	out = append(out, f.payload...)
	maskInPlace(out[start:], key)
	return out
}

// maskInPlace XORs p with the big-endian key bytes (RFC 6455 §5.3). It works through
// crypto/subtle in 4 KiB pieces: a plain byte loop is slow under the race detector.
func maskInPlace(p []byte, key uint32) {
	var pat [4096]byte
	m := min(len(p)+3, len(pat)) &^ 3
	for i := 0; i < m; i += 4 {
		binary.BigEndian.PutUint32(pat[i:], key)
	}
	for len(p) > 0 {
		n := subtle.XORBytes(p, p, pat[:min(len(p), m)])
		p = p[n:]
	}
}

// rframe is a frame received from the server.
type rframe struct {
	fin     bool
	rsv     byte
	op      byte
	masked  bool
	payload []byte
}

// event is what the server sent, after reassembly: a whole data message, or a control frame.
type event struct {
	op         byte // opText, opBinary, opPing, opPong, opClose
	payload    []byte
	compressed bool
	frames     int
	// For close frames (RFC 6455 §5.5.1):
	hasCode bool
	code    uint16
	reason  string
}

func (e event) String() string {
	switch e.op {
	case opText:
		return fmt.Sprintf("text message (%d bytes, %d frames, compressed=%v)", len(e.payload), e.frames, e.compressed)
	case opBinary:
		return fmt.Sprintf("binary message (%d bytes, %d frames, compressed=%v)", len(e.payload), e.frames, e.compressed)
	case opPing:
		return fmt.Sprintf("ping %q", clip(e.payload))
	case opPong:
		return fmt.Sprintf("pong %q", clip(e.payload))
	case opClose:
		if !e.hasCode {
			return "close frame without status code"
		}
		return fmt.Sprintf("close frame %d %q", e.code, e.reason)
	}
	return fmt.Sprintf("opcode %#x", e.op)
}

func clip(p []byte) []byte {
	if len(p) > 40 {
		return append(append([]byte(nil), p[:40]...), "..."...)
	}
	return p
}

// pmdParams are the negotiated permessage-deflate parameters (RFC 7692 §7.1).
type pmdParams struct {
	serverNoTakeover bool
	clientNoTakeover bool
	serverBits       int // 0 when absent (15)
	clientBits       int // 0 when absent (15), -1 for the value-less form (offers only)
}

// rawConn is one client connection after a 101 response.
type rawConn struct {
	t    testing.TB
	dc   *deadlineConn
	br   *bufio.Reader
	resp *http.Response
	pmd  *pmdParams // nil when permessage-deflate was not negotiated

	// write side (one goroutine at a time)
	defl      *flate.Writer
	deflLevel int
	sent      atomic.Int64 // messages the bulk writer has finished
	deflBuf   bytes.Buffer

	// read side
	history      []byte // last 32 KiB the server sent compressed, for context takeover
	compressedIn int    // compressed messages received
	gotClose     bool
	serverPing   int
}

func (rc *rawConn) setReadTimeout(d time.Duration) { rc.dc.readTimeout.Store(int64(d)) }

// write puts b on the wire in one Write.
func (rc *rawConn) write(b []byte) error {
	_, err := rc.dc.Write(b)
	return err
}

// flate writers and readers are reused across connections: allocating one costs about a
// megabyte, which the race detector makes slow.
var (
	flateWriters = map[int]*sync.Pool{flate.BestSpeed: {}, flate.HuffmanOnly: {}}
	flateReaders sync.Pool
)

// release returns the connection's compressor to the pool. Only call it when no goroutine
// can still be writing (the case passed).
func (rc *rawConn) release() {
	if rc.defl != nil {
		flateWriters[rc.deflLevel].Put(rc.defl)
		rc.defl = nil
	}
}

// compress deflates one message for the client side of permessage-deflate (RFC 7692 §7.2.1):
// sync flush, then the trailing 00 00 ff ff removed. The context is kept between messages
// unless client_no_context_takeover was negotiated; a negotiated client_max_window_bits below
// 15 makes the client use Huffman-only blocks, which hold no back-references at all.
func (rc *rawConn) compress(p []byte) []byte {
	level := flate.BestSpeed
	if rc.pmd.clientBits > 0 && rc.pmd.clientBits < 15 {
		level = flate.HuffmanOnly
	}
	if rc.defl == nil {
		rc.deflLevel = level
		if w, ok := flateWriters[level].Get().(*flate.Writer); ok {
			w.Reset(&rc.deflBuf)
			rc.defl = w
		} else {
			w, err := flate.NewWriter(&rc.deflBuf, level)
			if err != nil {
				panic(err)
			}
			rc.defl = w
		}
	} else if rc.pmd.clientNoTakeover {
		rc.defl.Reset(&rc.deflBuf)
	}
	rc.deflBuf.Reset()
	if _, err := rc.defl.Write(p); err != nil {
		panic(err)
	}
	if err := rc.defl.Flush(); err != nil {
		panic(err)
	}
	out := bytes.Clone(rc.deflBuf.Bytes())
	if !bytes.HasSuffix(out, []byte{0, 0, 0xff, 0xff}) {
		panic("flate sync flush without 00 00 ff ff")
	}
	return out[:len(out)-4]
}

// inflate decompresses one server message (RFC 7692 §7.2.2). Without context takeover each
// message gets a fresh decompressor, so a back-reference into an earlier message fails as
// corrupt input. When the server agreed to a window below 15 bits the stream is also decoded
// by inflateChecked, which rejects back-references farther than the window.
func (rc *rawConn) inflate(p []byte) ([]byte, error) {
	data := append(bytes.Clone(p), 0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff)
	takeover := !rc.pmd.serverNoTakeover
	var dict []byte
	if takeover {
		dict = rc.history
	}
	r, ok := flateReaders.Get().(io.ReadCloser)
	if ok {
		_ = r.(flate.Resetter).Reset(bytes.NewReader(data), dict)
	} else {
		r = flate.NewReaderDict(bytes.NewReader(data), dict)
	}
	out, err := io.ReadAll(io.LimitReader(r, maxServerFrame))
	flateReaders.Put(r)
	if err != nil {
		return nil, fmt.Errorf("inflating the server's message (RFC 7692 §7.2.2, server_no_context_takeover=%v): %w", rc.pmd.serverNoTakeover, err)
	}
	if bits := rc.pmd.serverBits; bits > 0 && bits < 15 {
		got, err := inflateChecked(data, dict, 1<<bits)
		if err != nil {
			return nil, fmt.Errorf("server_max_window_bits=%d (RFC 7692 §7.1.2.1): %w", bits, err)
		}
		if !bytes.Equal(got, out) {
			return nil, errors.New("test bug: inflateChecked disagrees with compress/flate")
		}
	}
	if takeover {
		h := append(rc.history, out...)
		if len(h) > 32<<10 {
			h = bytes.Clone(h[len(h)-32<<10:])
		}
		rc.history = h
	}
	return out, nil
}

// readFrame reads one frame and checks what RFC 6455 requires of every server frame.
func (rc *rawConn) readFrame() (rframe, error) {
	var hdr [14]byte
	if _, err := io.ReadFull(rc.br, hdr[:2]); err != nil {
		return rframe{}, err
	}
	f := rframe{fin: hdr[0]&0x80 != 0, rsv: hdr[0] >> 4 & 7, op: hdr[0] & 0x0F, masked: hdr[1]&0x80 != 0}
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		if _, err := io.ReadFull(rc.br, hdr[2:4]); err != nil {
			return rframe{}, err
		}
		n = uint64(binary.BigEndian.Uint16(hdr[2:4]))
	case 127:
		if _, err := io.ReadFull(rc.br, hdr[2:10]); err != nil {
			return rframe{}, err
		}
		n = binary.BigEndian.Uint64(hdr[2:10])
	}
	if f.masked {
		return f, errors.New("server sent a masked frame (RFC 6455 §5.1: a server MUST NOT mask)")
	}
	switch l := hdr[1] & 0x7F; {
	case l == 126 && n < 126, l == 127 && n <= 0xFFFF:
		return f, fmt.Errorf("server encoded length %d in the %d-bit form (RFC 6455 §5.2: the minimal number of bytes MUST be used)", n, map[byte]int{126: 16, 127: 64}[l])
	case l == 127 && n>>63 != 0:
		return f, errors.New("server set the most significant bit of a 64-bit length (RFC 6455 §5.2)")
	}
	if n > maxServerFrame {
		return f, fmt.Errorf("server announced a %d-byte frame", n)
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(rc.br, f.payload); err != nil {
		return f, err
	}
	switch f.op {
	case opCont, opText, opBinary:
	case opClose, opPing, opPong:
		if !f.fin {
			return f, fmt.Errorf("server fragmented a control frame (opcode %#x; RFC 6455 §5.5)", f.op)
		}
		if n > 125 {
			return f, fmt.Errorf("server sent a control frame with %d payload bytes (RFC 6455 §5.5)", n)
		}
	default:
		return f, fmt.Errorf("server sent reserved opcode %#x (RFC 6455 §5.2)", f.op)
	}
	return f, nil
}

// next returns the server's next data message or control frame. It checks the server's
// framing: RSV bits (RFC 6455 §5.2, RFC 7692 §6), continuation order (§5.4), UTF-8 of text
// messages (§8.1) and close payloads (§5.5.1). Pings the server sends on its own are answered
// and skipped: keepalive is allowed at any time.
func (rc *rawConn) next() (event, error) {
	var msg event
	inMsg := false
	for {
		f, err := rc.readFrame()
		if err != nil {
			return event{}, err
		}
		if rc.gotClose {
			return event{}, fmt.Errorf("server sent opcode %#x after its close frame (RFC 6455 §5.5.1)", f.op)
		}
		if f.op >= opClose {
			if f.rsv != 0 {
				return event{}, fmt.Errorf("server set RSV bits %03b on a control frame (RFC 6455 §5.2, RFC 7692 §6.1)", f.rsv)
			}
			switch f.op {
			case opPing:
				rc.serverPing++
				if err := rc.write(pongFrame(f.payload).encode()); err != nil {
					return event{}, err
				}
				continue
			case opPong:
				return event{op: opPong, payload: f.payload}, nil
			}
			rc.gotClose = true
			return parseClose(f.payload)
		}
		if !inMsg {
			if f.op == opCont {
				return event{}, errors.New("server sent a continuation frame with no message in progress (RFC 6455 §5.4)")
			}
			msg = event{op: f.op}
			switch {
			case f.rsv == 4 && rc.pmd != nil:
				msg.compressed = true
			case f.rsv != 0:
				return event{}, fmt.Errorf("server set RSV bits %03b on a data frame (RFC 6455 §5.2, RFC 7692 §6)", f.rsv)
			}
			inMsg = true
		} else {
			if f.op != opCont {
				return event{}, fmt.Errorf("server started a new message (opcode %#x) inside a fragmented one (RFC 6455 §5.4)", f.op)
			}
			if f.rsv != 0 {
				return event{}, fmt.Errorf("server set RSV bits %03b on a continuation frame (RFC 6455 §5.2, RFC 7692 §6.1)", f.rsv)
			}
		}
		if msg.frames == 0 {
			msg.payload = f.payload
		} else {
			msg.payload = append(msg.payload, f.payload...)
		}
		msg.frames++
		if !f.fin {
			continue
		}
		if msg.compressed {
			rc.compressedIn++
			out, err := rc.inflate(msg.payload)
			if err != nil {
				return event{}, err
			}
			msg.payload = out
		}
		// Large text messages only ever come back as echoes, which are compared byte for byte
		// with the valid UTF-8 that was sent; validating them twice is slow under -race.
		if msg.op == opText && len(msg.payload) <= 64<<10 && !utf8.Valid(msg.payload) {
			return event{}, errors.New("server sent a text message that is not UTF-8 (RFC 6455 §8.1)")
		}
		return msg, nil
	}
}

// parseClose checks a close payload the server sent (RFC 6455 §5.5.1, §7.4).
func parseClose(p []byte) (event, error) {
	e := event{op: opClose, payload: p}
	switch {
	case len(p) == 0:
		return e, nil
	case len(p) == 1:
		return e, errors.New("server sent a 1-byte close payload (RFC 6455 §5.5.1)")
	}
	e.hasCode, e.code, e.reason = true, binary.BigEndian.Uint16(p), string(p[2:])
	if !codeValidOnWire(e.code) {
		return e, fmt.Errorf("server sent close code %d, which may not be sent (RFC 6455 §7.4)", e.code)
	}
	if !utf8.ValidString(e.reason) {
		return e, errors.New("server sent a close reason that is not UTF-8 (RFC 6455 §5.5.1)")
	}
	return e, nil
}

// codeValidOnWire: 1000-1003, 1007-1014 (RFC 6455 §7.4.1 and the IANA registry), 3000-4999.
func codeValidOnWire(c uint16) bool {
	return c >= 1000 && c <= 1003 || c >= 1007 && c <= 1014 || c >= 3000 && c <= 4999
}

// --- expectations: they run on the test goroutine and fail the case with a clear message ---

// expectMessage waits for a data message of type op with exactly want as payload.
func (rc *rawConn) expectMessage(op byte, want []byte) event {
	rc.t.Helper()
	e, err := rc.next()
	if err != nil {
		rc.t.Fatalf("waiting for the echo of a %d-byte %s message: %v", len(want), opName(op), err)
	}
	if e.op != op {
		rc.t.Fatalf("want the echo of a %d-byte %s message, got %v", len(want), opName(op), e)
	}
	if !bytes.Equal(e.payload, want) {
		rc.t.Fatalf("%s echo differs: %s", opName(op), diffBytes(e.payload, want))
	}
	return e
}

// expectPong waits for a pong carrying want (RFC 6455 §5.5.3).
func (rc *rawConn) expectPong(want []byte) {
	rc.t.Helper()
	e, err := rc.next()
	if err != nil {
		rc.t.Fatalf("waiting for a pong %q: %v", clip(want), err)
	}
	if e.op != opPong {
		rc.t.Fatalf("want pong %q, got %v", clip(want), e)
	}
	if !bytes.Equal(e.payload, want) {
		rc.t.Fatalf("pong payload differs from the ping's (RFC 6455 §5.5.3): %s", diffBytes(e.payload, want))
	}
}

// noCode in a list of acceptable close codes stands for a close frame without a code.
const noCode = -1

// expectClose waits for a close frame whose code is one of codes.
func (rc *rawConn) expectClose(what string, codes ...int) event {
	rc.t.Helper()
	e, err := rc.next()
	if err != nil {
		if isTimeout(err) {
			rc.t.Fatalf("%s: no close frame within %v: %v", what, time.Duration(rc.dc.readTimeout.Load()), err)
		}
		rc.t.Fatalf("%s: want a close frame with code %v: %v", what, codes, err)
	}
	if e.op != opClose {
		rc.t.Fatalf("%s: want a close frame with code %v, got %v", what, codes, e)
	}
	got := noCode
	if e.hasCode {
		got = int(e.code)
	}
	for _, c := range codes {
		if c == got {
			return e
		}
	}
	rc.t.Fatalf("%s: got %v, want code %v", what, e, codes)
	return e
}

// expectTCPClose waits for the server to close the TCP connection (RFC 6455 §7.1.1: the server
// closes first). Any frame in the meantime is an error.
func (rc *rawConn) expectTCPClose() {
	rc.t.Helper()
	f, err := rc.readFrame()
	if err == nil {
		rc.t.Fatalf("server sent opcode %#x after the close handshake (RFC 6455 §5.5.1)", f.op)
	}
	if isTimeout(err) {
		rc.t.Fatalf("server did not close the TCP connection within %v of the close handshake (RFC 6455 §7.1.1)", time.Duration(rc.dc.readTimeout.Load()))
	}
	if err != io.EOF && !isReset(err) {
		rc.t.Fatalf("after the close handshake: %v", err)
	}
}

// expectFail expects the server to fail the connection (RFC 6455 §7.1.7): a close frame with
// one of codes, then the TCP close. The client answers the close like a well-behaved peer.
func (rc *rawConn) expectFail(codes ...int) {
	rc.t.Helper()
	e := rc.expectClose("server must fail the connection", codes...)
	_ = rc.write(closeFrame(e.code, "").encode()) // the server may already be gone
	rc.expectTCPClose()
}

// closeNormally runs the client-initiated close handshake: the server must answer 1000.
func (rc *rawConn) closeNormally() {
	rc.t.Helper()
	if err := rc.write(closeFrame(1000, "").encode()); err != nil {
		rc.t.Fatalf("sending close: %v", err)
	}
	rc.expectClose("answer to a client close 1000 (RFC 6455 §5.5.1)", 1000)
	rc.expectTCPClose()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isReset(err error) bool {
	s := err.Error()
	return strings.Contains(s, "connection reset") || strings.Contains(s, "broken pipe")
}

func opName(op byte) string {
	switch op {
	case opText:
		return "text"
	case opBinary:
		return "binary"
	}
	return fmt.Sprintf("opcode-%#x", op)
}

// diffBytes describes how got differs from want without printing megabytes.
func diffBytes(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("got %d bytes, want %d; first difference at offset %d (got %q, want %q)",
		len(got), len(want), i, clip(got[i:]), clip(want[i:]))
}

// --- opening handshake (RFC 6455 §4.1, §4.2) ---

// upgradeReq is a hand-written opening handshake request. Headers keep their order and may
// repeat; anything may be left out or wrong.
type upgradeReq struct {
	method string
	proto  string
	path   string
	header [][2]string
	after  []byte // written in the same Write right after the request (pipelined frames)
}

// newUpgradeReq returns a valid client handshake for host (RFC 6455 §4.1).
func newUpgradeReq(host string) *upgradeReq {
	return &upgradeReq{
		method: "GET",
		proto:  "HTTP/1.1",
		path:   "/ws",
		header: [][2]string{
			{"Host", host},
			{"Upgrade", "websocket"},
			{"Connection", "Upgrade"},
			{"Sec-WebSocket-Key", newKey()},
			{"Sec-WebSocket-Version", "13"},
		},
	}
}

func newKey() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return base64.StdEncoding.EncodeToString(b[:])
}

// set replaces every header named name with one value.
func (r *upgradeReq) set(name, value string) *upgradeReq {
	r.del(name)
	r.header = append(r.header, [2]string{name, value})
	return r
}

// add appends a header line.
func (r *upgradeReq) add(name, value string) *upgradeReq {
	r.header = append(r.header, [2]string{name, value})
	return r
}

// del removes every header named name.
func (r *upgradeReq) del(name string) *upgradeReq {
	h := r.header[:0]
	for _, kv := range r.header {
		if !strings.EqualFold(kv[0], name) {
			h = append(h, kv)
		}
	}
	r.header = h
	return r
}

func (r *upgradeReq) get(name string) string {
	for _, kv := range r.header {
		if strings.EqualFold(kv[0], name) {
			return kv[1]
		}
	}
	return ""
}

func (r *upgradeReq) values(name string) []string {
	var vs []string
	for _, kv := range r.header {
		if strings.EqualFold(kv[0], name) {
			vs = append(vs, kv[1])
		}
	}
	return vs
}

func (r *upgradeReq) bytes() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s %s\r\n", r.method, r.path, r.proto)
	for _, kv := range r.header {
		fmt.Fprintf(&b, "%s: %s\r\n", kv[0], kv[1])
	}
	b.WriteString("\r\n")
	b.Write(r.after)
	return b.Bytes()
}

// acceptKey is the Sec-WebSocket-Accept value for key (RFC 6455 §4.2.2, step 5.4).
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// handshake sends req to addr and reads the response. For a 101 it checks the response
// (RFC 6455 §4.2.2 / §4.1 client checks) and returns the connection; for anything else it
// returns the response with its body read and a nil connection.
func handshake(t testing.TB, addr string, req *upgradeReq) (*rawConn, *http.Response) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	dc := &deadlineConn{Conn: nc}
	dc.readTimeout.Store(int64(ioTimeout))
	t.Cleanup(func() { _ = nc.Close() })
	if _, err := dc.Write(req.bytes()); err != nil {
		t.Fatalf("writing the handshake request: %v", err)
	}
	br := bufio.NewReaderSize(dc, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the handshake response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return nil, resp
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(req.get("Sec-WebSocket-Key")); got != want {
		t.Fatalf("Sec-WebSocket-Accept = %q, want %q (RFC 6455 §4.2.2)", got, want)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		t.Fatalf("101 response has Upgrade %q, want websocket (RFC 6455 §4.2.2)", resp.Header.Get("Upgrade"))
	}
	if !headerHasToken(resp.Header, "Connection", "upgrade") {
		t.Fatalf("101 response has Connection %q, want Upgrade (RFC 6455 §4.2.2)", resp.Header.Values("Connection"))
	}
	rc := &rawConn{t: t, dc: dc, br: br, resp: resp}
	exts := resp.Header.Values("Sec-WebSocket-Extensions")
	if len(exts) > 0 {
		offer := strings.Join(req.values("Sec-WebSocket-Extensions"), ", ")
		p, err := checkExtensionResponse(strings.Join(exts, ", "), offer)
		if err != nil {
			t.Fatalf("Sec-WebSocket-Extensions response %q to offer %q: %v", exts, offer, err)
		}
		rc.pmd = &p
	}
	if proto := resp.Header.Get("Sec-WebSocket-Protocol"); proto != "" {
		offered := false
		for _, v := range req.values("Sec-WebSocket-Protocol") {
			for _, p := range strings.Split(v, ",") {
				offered = offered || strings.TrimSpace(p) == proto
			}
		}
		if !offered {
			t.Fatalf("server selected subprotocol %q that the client did not offer (RFC 6455 §4.2.2)", proto)
		}
	}
	return rc, resp
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), token) {
				return true
			}
		}
	}
	return false
}

// --- Sec-WebSocket-Extensions (RFC 6455 §9.1, RFC 7692 §7.1) ---

type extParam struct {
	name, value string
	hasValue    bool
}

type extension struct {
	name   string
	params []extParam
}

// parseExtensions splits an extension list (RFC 6455 §9.1). Quoted values are unquoted.
func parseExtensions(s string) ([]extension, error) {
	var out []extension
	for _, item := range strings.Split(s, ",") {
		parts := strings.Split(item, ";")
		e := extension{name: strings.TrimSpace(parts[0])}
		if e.name == "" {
			return nil, fmt.Errorf("empty extension in %q", s)
		}
		for _, p := range parts[1:] {
			name, value, has := strings.Cut(p, "=")
			ep := extParam{name: strings.TrimSpace(name), value: strings.Trim(strings.TrimSpace(value), `"`), hasValue: has}
			if ep.name == "" {
				return nil, fmt.Errorf("empty parameter in %q", s)
			}
			e.params = append(e.params, ep)
		}
		out = append(out, e)
	}
	return out, nil
}

// parsePMD checks the parameters of one permessage-deflate element (RFC 7692 §7): known names,
// no duplicates, values where the RFC wants them. inOffer selects the offer rules, where
// client_max_window_bits may come without a value.
func parsePMD(e extension, inOffer bool) (pmdParams, error) {
	var p pmdParams
	seen := map[string]bool{}
	for _, ep := range e.params {
		if seen[ep.name] {
			return p, fmt.Errorf("parameter %s repeated (RFC 7692 §7)", ep.name)
		}
		seen[ep.name] = true
		switch ep.name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if ep.hasValue {
				return p, fmt.Errorf("%s takes no value (RFC 7692 §7.1.1)", ep.name)
			}
			if ep.name[0] == 's' {
				p.serverNoTakeover = true
			} else {
				p.clientNoTakeover = true
			}
		case "server_max_window_bits", "client_max_window_bits":
			bits := -1
			if ep.hasValue {
				v, err := strconv.Atoi(ep.value)
				if err != nil || v < 8 || v > 15 || ep.value != strconv.Itoa(v) {
					return p, fmt.Errorf("%s=%q is not 8..15 (RFC 7692 §7.1.2)", ep.name, ep.value)
				}
				bits = v
			} else if !inOffer || ep.name[0] == 's' {
				return p, fmt.Errorf("%s needs a value here (RFC 7692 §7.1.2)", ep.name)
			}
			if ep.name[0] == 's' {
				p.serverBits = bits
			} else {
				p.clientBits = bits
			}
		default:
			return p, fmt.Errorf("unknown parameter %q (RFC 7692 §7)", ep.name)
		}
	}
	return p, nil
}

// checkExtensionResponse validates the server's Sec-WebSocket-Extensions against the offer
// (RFC 6455 §9.1, RFC 7692 §7.1): one permessage-deflate element the client offered, whose
// parameters answer one of the offered elements.
func checkExtensionResponse(resp, offer string) (pmdParams, error) {
	if offer == "" {
		return pmdParams{}, errors.New("extension in the response but none offered (RFC 6455 §9.1)")
	}
	exts, err := parseExtensions(resp)
	if err != nil {
		return pmdParams{}, err
	}
	if len(exts) != 1 || exts[0].name != "permessage-deflate" {
		return pmdParams{}, errors.New("want exactly one permessage-deflate element (RFC 7692 §7)")
	}
	got, err := parsePMD(exts[0], false)
	if err != nil {
		return got, err
	}
	offers, err := parseExtensions(offer)
	if err != nil {
		return got, err
	}
	var reasons []string
	for _, o := range offers {
		if o.name != "permessage-deflate" {
			continue
		}
		op, err := parsePMD(o, true)
		if err != nil {
			continue // an invalid offer must be declined; the response cannot answer it
		}
		if why := pmdAnswers(op, got); why != "" {
			reasons = append(reasons, why)
			continue
		}
		return got, nil
	}
	return got, fmt.Errorf("the response answers none of the valid offers: %s", strings.Join(reasons, "; "))
}

// pmdAnswers says why resp is not an acceptable answer to offer, or "" when it is.
func pmdAnswers(offer, resp pmdParams) string {
	switch {
	case offer.serverNoTakeover && !resp.serverNoTakeover:
		return "offer has server_no_context_takeover, the response must too (RFC 7692 §7.1.1.1)"
	case offer.serverBits > 0 && (resp.serverBits == 0 || resp.serverBits > offer.serverBits):
		return fmt.Sprintf("offer has server_max_window_bits=%d, the response must carry one no larger (RFC 7692 §7.1.2.1)", offer.serverBits)
	case offer.clientBits == 0 && resp.clientBits != 0:
		return "client_max_window_bits in the response but not in the offer (RFC 7692 §7.1.2.2)"
	case offer.clientBits > 0 && resp.clientBits > offer.clientBits:
		return fmt.Sprintf("client_max_window_bits=%d exceeds the offered %d (RFC 7692 §7.1.2.2)", resp.clientBits, offer.clientBits)
	}
	return ""
}

// --- UTF-8 helpers ---

// utf8PrefixOK reports whether b is valid UTF-8 or a valid UTF-8 prefix cut inside its last
// code point, i.e. whether a receiver validating fragment by fragment could not yet object.
func utf8PrefixOK(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r != utf8.RuneError || size > 1 {
			b = b[size:]
			continue
		}
		return !utf8.FullRune(b) // an incomplete but so far valid sequence at the very end
	}
	return true
}

// --- a DEFLATE decoder that checks back-reference distances (RFC 1951) ---
//
// compress/flate cannot be told a window size, so when a server agrees to
// server_max_window_bits below 15 (RFC 7692 §7.1.2.1) the stream is decoded again here and
// every back-reference is checked against the window, as a zlib inflater configured with
// that window would.

type bitReader struct {
	in    []byte
	pos   int
	buf   uint32
	count uint
}

var errShortDeflate = errors.New("deflate stream ends early")

func (br *bitReader) bits(n uint) (int, error) {
	for br.count < n {
		if br.pos >= len(br.in) {
			return 0, errShortDeflate
		}
		br.buf |= uint32(br.in[br.pos]) << br.count
		br.pos++
		br.count += 8
	}
	v := int(br.buf & (1<<n - 1))
	br.buf >>= n
	br.count -= n
	return v, nil
}

// huffman is a canonical Huffman code: count[l] codes of length l, symbols in code order.
type huffman struct {
	count  [16]int
	symbol []int
}

func newHuffman(lengths []int) (*huffman, error) {
	h := &huffman{symbol: make([]int, 0, len(lengths))}
	for _, l := range lengths {
		h.count[l]++
	}
	left := 1
	for l := 1; l < 16; l++ {
		left = left<<1 - h.count[l]
		if left < 0 {
			return nil, errors.New("over-subscribed Huffman code")
		}
	}
	var offs [16]int
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	h.symbol = h.symbol[:len(lengths)]
	n := 0
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = sym
			offs[l]++
			n++
		}
	}
	h.symbol = h.symbol[:n]
	return h, nil
}

func (br *bitReader) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := br.bits(1)
		if err != nil {
			return 0, err
		}
		code |= b
		count := h.count[l]
		if code-count < first {
			return h.symbol[index+code-first], nil
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, errors.New("invalid Huffman code")
}

var (
	lenBase   = [...]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [...]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [...]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [...]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder   = [...]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// inflateChecked decodes in (a message with 00 00 ff ff appended) given the history hist, and
// fails on a back-reference farther than window or before the start of hist. It stops after a
// final block or after a stored block that ends the input.
func inflateChecked(in, hist []byte, window int) ([]byte, error) {
	br := &bitReader{in: in}
	out := bytes.Clone(hist)
	start := len(out)
	for {
		last, err := br.bits(1)
		if err != nil {
			return nil, err
		}
		typ, err := br.bits(2)
		if err != nil {
			return nil, err
		}
		switch typ {
		case 0:
			br.buf, br.count = 0, 0
			if br.pos+4 > len(in) {
				return nil, errShortDeflate
			}
			n := int(binary.LittleEndian.Uint16(in[br.pos:]))
			if ^uint16(n) != binary.LittleEndian.Uint16(in[br.pos+2:]) {
				return nil, errors.New("stored block LEN/NLEN mismatch")
			}
			br.pos += 4
			if br.pos+n > len(in) {
				return nil, errShortDeflate
			}
			out = append(out, in[br.pos:br.pos+n]...)
			br.pos += n
		case 1, 2:
			var lit, dist *huffman
			if typ == 1 {
				lit, dist, err = fixedHuffman()
			} else {
				lit, dist, err = br.dynamicHuffman()
			}
			if err != nil {
				return nil, err
			}
			for {
				sym, err := br.decode(lit)
				if err != nil {
					return nil, err
				}
				if sym < 256 {
					out = append(out, byte(sym))
					continue
				}
				if sym == 256 {
					break
				}
				sym -= 257
				if sym >= len(lenBase) {
					return nil, errors.New("invalid length symbol")
				}
				e, err := br.bits(lenExtra[sym])
				if err != nil {
					return nil, err
				}
				n := lenBase[sym] + e
				ds, err := br.decode(dist)
				if err != nil {
					return nil, err
				}
				if ds >= len(distBase) {
					return nil, errors.New("invalid distance symbol")
				}
				e, err = br.bits(distExtra[ds])
				if err != nil {
					return nil, err
				}
				d := distBase[ds] + e
				if d > window {
					return nil, fmt.Errorf("back-reference distance %d exceeds the %d-byte window", d, window)
				}
				if d > len(out) {
					return nil, fmt.Errorf("back-reference distance %d reaches before the available history", d)
				}
				for i := 0; i < n; i++ {
					out = append(out, out[len(out)-d])
				}
			}
		default:
			return nil, errors.New("reserved block type 3")
		}
		if last == 1 || (typ == 0 && br.pos == len(in)) {
			return out[start:], nil
		}
	}
}

func fixedHuffman() (*huffman, *huffman, error) {
	var l [288]int
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	lit, err := newHuffman(l[:])
	if err != nil {
		return nil, nil, err
	}
	var d [30]int
	for i := range d {
		d[i] = 5
	}
	dist, err := newHuffman(d[:])
	return lit, dist, err
}

func (br *bitReader) dynamicHuffman() (*huffman, *huffman, error) {
	hlit, err := br.bits(5)
	if err != nil {
		return nil, nil, err
	}
	hdist, err := br.bits(5)
	if err != nil {
		return nil, nil, err
	}
	hclen, err := br.bits(4)
	if err != nil {
		return nil, nil, err
	}
	nlit, ndist := hlit+257, hdist+1
	var cl [19]int
	for i := 0; i < hclen+4; i++ {
		if cl[clOrder[i]], err = br.bits(3); err != nil {
			return nil, nil, err
		}
	}
	clh, err := newHuffman(cl[:])
	if err != nil {
		return nil, nil, err
	}
	lengths := make([]int, 0, nlit+ndist)
	for len(lengths) < nlit+ndist {
		sym, err := br.decode(clh)
		if err != nil {
			return nil, nil, err
		}
		if sym < 16 {
			lengths = append(lengths, sym)
			continue
		}
		var rep, val int
		switch sym {
		case 16:
			if len(lengths) == 0 {
				return nil, nil, errors.New("repeat with no previous length")
			}
			val = lengths[len(lengths)-1]
			rep, err = br.bits(2)
			rep += 3
		case 17:
			rep, err = br.bits(3)
			rep += 3
		default:
			rep, err = br.bits(7)
			rep += 11
		}
		if err != nil {
			return nil, nil, err
		}
		if len(lengths)+rep > nlit+ndist {
			return nil, nil, errors.New("too many code lengths")
		}
		for range rep {
			lengths = append(lengths, val)
		}
	}
	lit, err := newHuffman(lengths[:nlit])
	if err != nil {
		return nil, nil, err
	}
	dist, err := newHuffman(lengths[nlit:])
	return lit, dist, err
}
