package ws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
)

// memConn is a net.Conn that reads from a fixed input and discards what is written. It is
// not a syscall.Conn, so it drives the portable I/O path.
type memConn struct {
	mu  sync.Mutex
	in  io.Reader
	out bytes.Buffer
}

func (m *memConn) Read(p []byte) (int, error) { return m.in.Read(p) }
func (m *memConn) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.Write(p)
}
func (m *memConn) written() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.out.Bytes())
}
func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

var fuzzLimits = Limits{MaxFrameSize: 1 << 16, MaxMessageSize: 1 << 16, CloseTimeout: time.Millisecond, PingInterval: -1, IdleTimeout: -1,
	// Small enough that the budget, the frame bucket and the inflate bucket are reached by
	// short inputs, so fuzzing explores their paths too.
	MessageAllowance: 1 << 10, MemoryWait: -1, FrameBurst: 64, MaxFramesPerSecond: 1, InflateBurst: 1 << 16, MaxInflateRate: 1 << 30}

// readAll feeds stream to a server-side connection and reads until it fails, checking the
// invariants every input must keep.
func readAll(t *testing.T, stream []byte, deflate bool) {
	mc := &memConn{in: bytes.NewReader(stream)}
	lim := fuzzLimits
	lim.MemoryBudget = NewMemoryBudget(BudgetOptions{Limit: 48 << 10, ReturnToOSAfter: -1})
	m := new(Metrics)
	c := newConn(mc, true, lim, m)
	if deflate {
		c.useDeflate(deflateParams{serverNoContextTakeover: true}, CompressionOptions{})
	}
	for i := 0; ; i++ {
		typ, p, err := c.ReadMessage()
		if err != nil {
			if CloseStatus(err) == 0 {
				t.Fatalf("ReadMessage error is not a *CloseError: %v", err)
			}
			break
		}
		if int64(len(p)) > fuzzLimits.MaxMessageSize {
			t.Fatalf("message of %d bytes passed a %d byte limit", len(p), fuzzLimits.MaxMessageSize)
		}
		if typ != MessageText && typ != MessageBinary {
			t.Fatalf("bad type %v", typ)
		}
		if i > len(stream) {
			t.Fatal("more messages than input bytes")
		}
		if h := lim.MemoryBudget.InUse(); h > lim.MemoryBudget.Limit() || h != m.BudgetHeld.Load() {
			t.Fatalf("budget in use %d (limit %d), connection holds %d", h, lim.MemoryBudget.Limit(), m.BudgetHeld.Load())
		}
	}
	c.CloseNow()
	if h := lim.MemoryBudget.InUse(); h != 0 || m.BudgetHeld.Load() != 0 {
		t.Fatalf("the connection ended holding %d bytes of the budget (metric %d)", h, m.BudgetHeld.Load())
	}
}

// clientFrame encodes a masked frame as a client would send it.
func clientFrame(b0 byte, payload []byte) []byte {
	key := uint32(0x37fa213d)
	f := appendHeader(nil, b0&bitFIN != 0, b0&bitRSV1 != 0, opcode(b0&0xF), len(payload), true, key)
	start := len(f)
	f = append(f, payload...)
	maskBytes(key, 0, f[start:])
	return f
}

// FuzzReadFrames feeds arbitrary byte streams to the frame reader of a server connection,
// with and without permessage-deflate: it must never panic, never return a message above
// the limit, and always end with a *CloseError.
func FuzzReadFrames(f *testing.F) {
	f.Add(clientFrame(0x81, []byte("hello")), false)
	f.Add(append(clientFrame(0x01, []byte("hel")), clientFrame(0x80, []byte("lo"))...), false)
	f.Add(append(clientFrame(0x89, []byte("ping")), clientFrame(0x82, []byte{1, 2, 3})...), false)
	f.Add(clientFrame(0x88, []byte{0x03, 0xe8, 'b', 'y', 'e'}), false)
	f.Add(clientFrame(0x81, []byte{0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80}), false)
	f.Add(clientFrame(0xC1, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), true)
	f.Add([]byte{0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, false)
	f.Fuzz(func(t *testing.T, stream []byte, deflate bool) {
		readAll(t, stream, deflate)
	})
}

// FuzzInflate sends arbitrary bytes as the payload of one compressed message: the inflater
// must stop at the size limit (1009), reject corrupt data (1007), and never panic.
func FuzzInflate(f *testing.F) {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, 9)
	fw.Write(make([]byte, 1<<20)) // a small bomb: 1 MiB of zeros
	fw.Flush()
	f.Add(bytes.TrimSuffix(buf.Bytes(), deflateTail))
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, z []byte) {
		readAll(t, clientFrame(0xC2, z), true)
	})
}

// TestDecompressionBombGets1009 sends 64 MiB of zeros compressed to about 64 KiB against a
// 1 MiB limit: the reader must answer 1009 having inflated no more than the limit.
func TestDecompressionBombGets1009(t *testing.T) {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, 9)
	zeros := make([]byte, 1<<20)
	for range 64 {
		fw.Write(zeros)
	}
	fw.Flush()
	z := bytes.TrimSuffix(buf.Bytes(), deflateTail)
	// The close frame is written by the writer's goroutine (a memConn is no socket), and
	// failing the connection waits up to CloseTimeout for it before closing: 1 ms was too
	// short for a CI machine running two packages' tests at once (the frame was never
	// written once). The memConn takes it at once, so a long timeout costs nothing here.
	lim := Limits{MaxFrameSize: 1 << 20, MaxMessageSize: 1 << 20, CloseTimeout: 10 * time.Second, PingInterval: -1}
	mc := &memConn{in: bytes.NewReader(clientFrame(0xC2, z))}
	c := newConn(mc, true, lim, new(Metrics))
	c.useDeflate(deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true}, CompressionOptions{})
	_, _, err := c.ReadMessage()
	if CloseStatus(err) != StatusMessageTooBig {
		t.Fatalf("bomb of %d compressed bytes: got %v, want 1009", len(z), err)
	}
	if c.r.msg != nil && cap(*c.r.msg) > 2*int(lim.MaxMessageSize)+4096 {
		t.Fatalf("inflated into a %d byte buffer for a %d byte limit", cap(*c.r.msg), lim.MaxMessageSize)
	}
	// The close frame on the wire carries 1009.
	out := mc.written()
	if len(out) < 4 || out[0] != 0x88 || binary.BigEndian.Uint16(out[2:]) != 1009 {
		t.Fatalf("close frame sent: %x", out[:min(len(out), 16)])
	}
}

// hijackWriter is an http.ResponseWriter that can be hijacked onto a memConn, for driving
// Accept without a network.
type hijackWriter struct {
	hdr    http.Header
	status int
	body   bytes.Buffer
	conn   *memConn
}

func (h *hijackWriter) Header() http.Header         { return h.hdr }
func (h *hijackWriter) WriteHeader(s int)           { h.status = s }
func (h *hijackWriter) Write(p []byte) (int, error) { return h.body.Write(p) }
func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.conn, bufio.NewReadWriter(bufio.NewReader(h.conn), bufio.NewWriter(h.conn)), nil
}

// FuzzAccept feeds arbitrary HTTP requests to Accept: it must answer 101 with the right
// Sec-WebSocket-Accept, or one of the refusal statuses, and never panic.
func FuzzAccept(f *testing.F) {
	ok := "GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	f.Add(ok + "\r\n")
	f.Add(ok + "Origin: http://example.com\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
	f.Add(ok + "Sec-WebSocket-Protocol: rallypoint.v1, chat\r\n\r\n")
	f.Add(strings.Replace(ok, "13", "8", 1) + "\r\n")
	f.Add("POST / HTTP/1.1\r\nHost: x\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		hw := &hijackWriter{hdr: http.Header{}, conn: &memConn{in: strings.NewReader("")}}
		c, err := accept(hw, req, &AcceptOptions{Subprotocols: []string{"rallypoint.v1"}, Limits: fuzzLimits})
		if err != nil {
			switch hw.status {
			case 400, 403, 405, 426, 431:
			default:
				t.Fatalf("refused with status %d: %v", hw.status, err)
			}
			return
		}
		defer c.CloseNow()
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(hw.conn.written())), req)
		if err != nil || resp.StatusCode != 101 {
			t.Fatalf("accepted but wrote no 101: %v", err)
		}
		if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(strings.TrimSpace(req.Header.Get("Sec-WebSocket-Key"))); got != want {
			t.Fatalf("Sec-WebSocket-Accept %q, want %q", got, want)
		}
	})
}
