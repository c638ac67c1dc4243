package main

// The attackers' tools for the hostile-client suite: a raw WebSocket client that writes
// whatever bytes an attack needs (net/ws's own Dial refuses to break the rules), and a
// protocol client that sends raw msgpack messages and reads every answer.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/net/ws"
)

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
	rsv1     = 0x40
	rsv2     = 0x20
)

// rawConn is a WebSocket connection spoken byte by byte.
type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

// handshake is a WebSocket opening handshake that an attack may bend.
type handshake struct {
	method, path string
	host         string      // Host header; "" is the server's address
	header       http.Header // added to (or, with an empty value, removing) the usual ones
}

// rawDial opens a TCP connection to addr and sends the handshake. It returns the
// connection and the server's response; the caller checks the status.
func rawDial(addr string, hs handshake) (*rawConn, *http.Response, error) {
	c, err := net.DialTimeout("tcp", addr, settle)
	if err != nil {
		return nil, nil, err
	}
	rc := &rawConn{c: c, br: bufio.NewReaderSize(c, 64<<10)}
	if hs.method == "" {
		hs.method = "GET"
	}
	if hs.host == "" {
		hs.host = addr
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	h := http.Header{
		"Upgrade":               {"websocket"},
		"Connection":            {"Upgrade"},
		"Sec-Websocket-Key":     {base64.StdEncoding.EncodeToString(key)},
		"Sec-Websocket-Version": {"13"},
	}
	if hs.path == "/play" {
		h.Set("Sec-WebSocket-Protocol", engine.Subprotocol)
	}
	for k, v := range hs.header {
		if len(v) == 1 && v[0] == "" {
			h.Del(k)
			continue
		}
		h[http.CanonicalHeaderKey(k)] = v
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", hs.method, hs.path, hs.host)
	_ = h.Write(&b)
	b.WriteString("\r\n")
	_ = c.SetDeadline(time.Now().Add(settle))
	if _, err := c.Write(b.Bytes()); err != nil {
		c.Close()
		return nil, nil, err
	}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	_ = c.SetDeadline(time.Time{})
	return rc, resp, nil
}

// upgrade opens a WebSocket connection that the server accepted, or fails the test.
func upgrade(addr string, hs handshake) (*rawConn, error) {
	rc, resp, err := rawDial(addr, hs)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		rc.c.Close()
		return nil, fmt.Errorf("handshake refused: %s", resp.Status)
	}
	return rc, nil
}

// deflateHeader asks for permessage-deflate with no context taken over in either
// direction, so that every compressed message stands alone (RFC 7692 §7.1.1).
var deflateHeader = http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate; client_no_context_takeover; server_no_context_takeover"}}

// frame encodes one frame as a client sends it, masked unless unmasked is set. flags holds
// FIN (0x80) and the RSV bits; op the opcode.
func frame(flags, op byte, payload []byte, unmasked bool) []byte {
	b := make([]byte, 0, 14+len(payload))
	b = append(b, flags|op)
	mask := byte(0x80)
	if unmasked {
		mask = 0
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, mask|byte(n))
	case n <= 0xffff:
		b = append(b, mask|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, mask|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if unmasked {
		return append(b, payload...)
	}
	key := [4]byte{0x5a, 0x17, 0xc3, 0x9e}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

const fin = 0x80

// closePayload is a close frame's body: a code and a reason.
func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// send writes bytes, within the hang detector's time.
func (rc *rawConn) send(p []byte) error {
	_ = rc.c.SetWriteDeadline(time.Now().Add(settle))
	_, err := rc.c.Write(p)
	return err
}

// readFrame reads one server frame (server frames are never masked). Payloads above
// limit are read and dropped.
func (rc *rawConn) readFrame(limit int) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(rc.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(rc.br, l[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(rc.br, l[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	if h[1]&0x80 != 0 {
		return 0, nil, errors.New("server sent a masked frame")
	}
	if n > uint64(limit) {
		_, err := io.CopyN(io.Discard, rc.br, int64(n))
		return h[0] & 0x0f, nil, err
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(rc.br, payload)
	return h[0] & 0x0f, payload, err
}

// closeResult is how a connection ended, as the attacker saw it.
type closeResult struct {
	code   int    // the close frame's code; 1006 for none (the TCP connection just ended)
	reason string // the close frame's reason, or what ended the connection
	frames int    // data frames read before the close
}

func (r closeResult) String() string { return fmt.Sprintf("%d %q", r.code, r.reason) }

// awaitClose reads until the server's close frame or the end of the connection, for at
// most wait (a hang detector: a result with code 0 means the server never closed).
func (rc *rawConn) awaitClose(wait time.Duration) closeResult {
	_ = rc.c.SetReadDeadline(time.Now().Add(wait))
	var res closeResult
	for {
		op, p, err := rc.readFrame(1 << 20)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return closeResult{code: 0, reason: "still open after " + wait.String(), frames: res.frames}
			}
			return closeResult{code: 1006, reason: err.Error(), frames: res.frames}
		}
		switch op {
		case opClose:
			res.code = 1005
			if len(p) >= 2 {
				res.code = int(binary.BigEndian.Uint16(p))
				res.reason = string(p[2:])
			}
			// Answer, as RFC 6455 §5.5.1 asks, then let the server end the TCP connection.
			_ = rc.send(frame(fin, opClose, p[:min(2, len(p))], false))
			return res
		case opText, opBinary, opCont:
			res.frames++
		}
	}
}

// closed reports whether the server has ended the TCP connection within wait, reading and
// dropping whatever it sends until then.
func (rc *rawConn) closed(wait time.Duration) bool {
	_ = rc.c.SetReadDeadline(time.Now().Add(wait))
	_, err := io.Copy(io.Discard, rc.br)
	var ne net.Error
	return err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

func (rc *rawConn) Close() error { return rc.c.Close() }

// bombs holds decompression bombs by inflated size, built once: a megabyte of zeros
// deflates to about a kilobyte. They are built from 64 KiB of zeros at a time, under a
// lock: the suite measures the memory of its own process, and 24 attackers each building
// a 15 MiB bomb at once held 270 MiB of zeros, which the server's figures got the blame for.
var (
	bombsMu sync.Mutex
	bombs   = map[int][]byte{}
)

func bomb(size int) []byte {
	bombsMu.Lock()
	defer bombsMu.Unlock()
	if b, ok := bombs[size]; ok {
		return b
	}
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestCompression)
	zeros := make([]byte, 64<<10)
	for n := size; n > 0; n -= len(zeros) {
		_, _ = w.Write(zeros[:min(n, len(zeros))])
	}
	_ = w.Flush()
	b := bytes.TrimSuffix(out.Bytes(), []byte{0, 0, 0xff, 0xff})
	bombs[size] = b
	return b
}

// wire is a protocol client for attacks: it sends any bytes as a binary message on a real
// net/ws connection to /play and hands every message the server sends to a channel.
type wire struct {
	c    *ws.Conn
	in   chan []any
	done chan struct{}
	err  error
}

func dialWire(ctx context.Context, hs *hostileServer, from string) (*wire, error) {
	o := ws.DialOptions{Subprotocols: []string{engine.Subprotocol}}
	if from != "" {
		o.Header = http.Header{"X-Forwarded-For": {from}}
	}
	c, _, err := ws.Dial(ctx, hs.url("/play"), &o)
	if err != nil {
		return nil, err
	}
	w := &wire{c: c, in: make(chan []any, 4096), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				w.err = err
				return
			}
			var m []any
			if msgpack.Unmarshal(p, &m) != nil || len(m) == 0 {
				continue
			}
			select {
			case w.in <- m:
			default: // an attack that does not read its answers loses them
			}
		}
	}()
	return w, nil
}

// sendRaw sends p as one binary message.
func (w *wire) sendRaw(p []byte) error { return w.c.WriteMessage(ws.MessageBinary, p) }

// send encodes a message as the server would and sends it.
func (w *wire) send(v ...any) error {
	b, err := engine.Marshal(v)
	if err != nil {
		return err
	}
	return w.sendRaw(b)
}

// next returns the next message of one of kinds, dropping others (snapshots, acks), or an
// error if none comes within the hang detector or the connection ends.
func (w *wire) next(kinds ...int) ([]any, error) {
	timeout := time.After(settle)
	for {
		select {
		case m := <-w.in:
			k := asInt(m[0])
			for _, want := range kinds {
				if k == want {
					return m, nil
				}
			}
		case <-w.done:
			return nil, fmt.Errorf("connection ended: %w", w.err)
		case <-timeout:
			return nil, fmt.Errorf("no message of kinds %v within %v", kinds, settle)
		}
	}
}

// alive proves the connection still works: a protocol ping gets its pong.
func (w *wire) alive() error {
	if err := w.send(engine.KindPing, 1.5); err != nil {
		return err
	}
	_, err := w.next(engine.KindPong)
	return err
}

// join joins with opts and returns the answer: [17, ...] or [21, req, code, message].
func (w *wire) join(req int, opts engine.JoinOptions) ([]any, error) {
	if err := w.send(engine.KindJoin, req, opts); err != nil {
		return nil, err
	}
	return w.next(engine.KindJoined, engine.KindResponse)
}

func (w *wire) Close() {
	_ = w.c.CloseNow()
	<-w.done
}

// asInt reads a msgpack integer decoded into any.
func asInt(v any) int {
	switch n := v.(type) {
	case int8:
		return int(n)
	case int16:
		return int(n)
	case int32:
		return int(n)
	case int64:
		return int(n)
	case uint8:
		return int(n)
	case uint16:
		return int(n)
	case uint32:
		return int(n)
	case uint64:
		return int(n)
	}
	return -1
}

// refusal is the code and message of an answer [21, req, code, message] or error
// [22, code, message]; ok is false for anything else.
func refusal(m []any) (code int, msg string, ok bool) {
	switch {
	case len(m) >= 4 && asInt(m[0]) == engine.KindResponse:
		s, _ := m[3].(string)
		return asInt(m[2]), s, true
	case len(m) >= 3 && asInt(m[0]) == engine.KindError:
		s, _ := m[2].(string)
		return asInt(m[1]), s, true
	}
	return 0, "", false
}

// errorCode expects an error message [22, code, ...] and returns its code and message.
func (w *wire) errorCode() (int, string, error) {
	m, err := w.next(engine.KindError)
	if err != nil {
		return 0, "", err
	}
	code, msg, _ := refusal(m)
	return code, msg, nil
}

// contains reports whether s contains every one of subs, case-insensitively.
func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(strings.ToLower(s), strings.ToLower(sub)) {
			return false
		}
	}
	return true
}
