package main

// The common raw client: every library's server is driven by this same code, so only
// the server differs between rows. It speaks just enough RFC 6455 / RFC 7692 for the
// workloads: the opening handshake (optionally offering permessage-deflate the way
// browsers do), masked client frames, unmasked server frames, ping→pong, close.

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	kflate "github.com/klauspost/compress/flate"
)

const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA

	wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

	// browserDeflateOffer is what Chrome and Firefox send (RFC 7692 §7.1).
	browserDeflateOffer = "permessage-deflate; client_max_window_bits"
)

// deflateTail terminates a sync-flushed permessage-deflate payload for a standard
// inflater: the removed 00 00 ff ff (RFC 7692 §7.2.2) plus an empty final stored block,
// so the decompressor reaches a clean EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

type wsClient struct {
	c   net.Conn
	br  *bufio.Reader
	rng uint64

	deflate  bool   // permessage-deflate negotiated
	srvNoCtx bool   // server_no_context_takeover: every server message stands alone
	ext      string // the server's Sec-WebSocket-Extensions answer

	wbuf []byte // frame being written
	mbuf []byte // message payload being assembled (compressed form, if compressed)
	obuf []byte // inflated output
	hist []byte // inflate window when the server keeps its context
	fr   io.ReadCloser
	src  bytes.Reader

	wireIn atomic.Int64 // bytes of server frames read (headers + payloads)
}

// dialWS opens a TCP connection to addr and performs the opening handshake
// (RFC 6455 §4.1). readBuf sizes the bufio.Reader kept for frame reading; 0 drops it
// after the handshake (idle clients never read).
func dialWS(addr string, offerDeflate bool, readBuf int) (*wsClient, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	cl, err := handshake(nc, addr, offerDeflate, readBuf)
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	return cl, nil
}

func handshake(nc net.Conn, addr string, offerDeflate bool, readBuf int) (*wsClient, error) {
	var keyRaw [16]byte
	binary.LittleEndian.PutUint64(keyRaw[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(keyRaw[8:], rand.Uint64())
	key := base64.StdEncoding.EncodeToString(keyRaw[:])

	var req strings.Builder
	req.WriteString("GET /ws HTTP/1.1\r\nHost: ")
	req.WriteString(addr)
	req.WriteString("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ")
	req.WriteString(key)
	req.WriteString("\r\n")
	if offerDeflate {
		req.WriteString("Sec-WebSocket-Extensions: " + browserDeflateOffer + "\r\n")
	}
	req.WriteString("\r\n")
	_ = nc.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(nc, req.String()); err != nil {
		return nil, err
	}
	size := readBuf
	if size < 1024 {
		size = 1024
	}
	br := bufio.NewReaderSize(nc, size)
	status, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if !strings.HasPrefix(status, "HTTP/1.1 101") {
		return nil, fmt.Errorf("handshake: unexpected status %q", strings.TrimSpace(status))
	}
	cl := &wsClient{c: nc, rng: rand.Uint64() | 1}
	var accept string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("handshake headers: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "sec-websocket-accept":
			accept = v
		case "sec-websocket-extensions":
			cl.ext = v
		}
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if accept != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, errors.New("handshake: bad Sec-WebSocket-Accept")
	}
	if cl.ext != "" {
		if !offerDeflate || !strings.Contains(cl.ext, "permessage-deflate") {
			return nil, fmt.Errorf("handshake: unexpected extensions %q", cl.ext)
		}
		cl.deflate = true
		cl.srvNoCtx = strings.Contains(cl.ext, "server_no_context_takeover")
	}
	_ = nc.SetDeadline(time.Time{})
	if readBuf > 0 {
		cl.br = br
	} else if br.Buffered() > 0 {
		return nil, errors.New("handshake: unexpected early frames for a non-reading client")
	}
	return cl, nil
}

func (cl *wsClient) nextMask() uint32 {
	// xorshift64: the mask only has to differ per frame for this benchmark client.
	x := cl.rng
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	cl.rng = x
	return uint32(x)
}

// writeFrame sends one final, masked frame (RFC 6455 §5.2, §5.3). rsv1 marks a payload
// that is already compressed (RFC 7692 §6).
func (cl *wsClient) writeFrame(op byte, payload []byte, rsv1 bool) error {
	b := cl.wbuf[:0]
	b0 := 0x80 | op
	if rsv1 {
		b0 |= 0x40
	}
	n := len(payload)
	switch {
	case n <= 125:
		b = append(b, b0, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, b0, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, b0, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	m := cl.nextMask()
	b = binary.LittleEndian.AppendUint32(b, m)
	start := len(b)
	b = append(b, payload...)
	maskBytes(b[start:], m)
	cl.wbuf = b
	_, err := cl.c.Write(b)
	return err
}

// maskBytes XORs p with the 4-byte key whose wire order is little-endian m.
func maskBytes(p []byte, m uint32) {
	k64 := uint64(m) | uint64(m)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		v := binary.LittleEndian.Uint64(p[i:])
		binary.LittleEndian.PutUint64(p[i:], v^k64)
	}
	for j := 0; i < len(p); i, j = i+1, j+1 {
		p[i] ^= byte(m >> (8 * (j & 3)))
	}
}

// readFrameHeader reads one unmasked server frame header.
func (cl *wsClient) readFrameHeader() (fin, rsv1 bool, op byte, n int64, err error) {
	h, err := cl.br.Peek(2)
	if err != nil {
		return
	}
	fin = h[0]&0x80 != 0
	rsv1 = h[0]&0x40 != 0
	op = h[0] & 0x0f
	if h[1]&0x80 != 0 {
		err = errors.New("masked server frame")
		return
	}
	l := int64(h[1] & 0x7f)
	hl := 2
	switch l {
	case 126:
		hl = 4
	case 127:
		hl = 10
	}
	if hl > 2 {
		if h, err = cl.br.Peek(hl); err != nil {
			return
		}
		if hl == 4 {
			l = int64(binary.BigEndian.Uint16(h[2:4]))
		} else {
			l = int64(binary.BigEndian.Uint64(h[2:10]))
		}
	}
	_, _ = cl.br.Discard(hl)
	cl.wireIn.Add(int64(hl) + l)
	return fin, rsv1, op, l, nil
}

// handleControl answers a control frame whose payload is p; it reports io.EOF on close.
func (cl *wsClient) handleControl(op byte, p []byte) error {
	switch op {
	case opPing:
		return cl.writeFrame(opPong, p, false)
	case opClose:
		code := 1005
		if len(p) >= 2 {
			code = int(binary.BigEndian.Uint16(p))
			_ = cl.writeFrame(opClose, p[:2], false)
		} else {
			_ = cl.writeFrame(opClose, nil, false)
		}
		return fmt.Errorf("%w: server closed with %d %q", io.EOF, code, p[min(2, len(p)):])
	case opPong:
		return nil
	}
	return fmt.Errorf("unexpected opcode %#x", op)
}

// readMessage returns the next data message, inflated if it was compressed. The
// returned slice is valid until the next call.
func (cl *wsClient) readMessage() (op byte, p []byte, err error) {
	cl.mbuf = cl.mbuf[:0]
	compressed := false
	first := true
	for {
		fin, rsv1, fop, n, err := cl.readFrameHeader()
		if err != nil {
			return 0, nil, err
		}
		if fop >= opClose {
			var ctl [125]byte
			if n > 125 {
				return 0, nil, errors.New("control frame too large")
			}
			if _, err := io.ReadFull(cl.br, ctl[:n]); err != nil {
				return 0, nil, err
			}
			if err := cl.handleControl(fop, ctl[:n]); err != nil {
				return 0, nil, err
			}
			continue
		}
		if first {
			op, compressed, first = fop, rsv1, false
		}
		start := len(cl.mbuf)
		cl.mbuf = growLen(cl.mbuf, start+int(n))
		if _, err := io.ReadFull(cl.br, cl.mbuf[start:]); err != nil {
			return 0, nil, err
		}
		if fin {
			break
		}
	}
	if !compressed {
		return op, cl.mbuf, nil
	}
	out, err := cl.inflate(cl.mbuf)
	return op, out, err
}

func growLen(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	nb := make([]byte, n, max(n, 2*cap(b)))
	copy(nb, b)
	return nb
}

// inflate decompresses one permessage-deflate message (RFC 7692 §7.2.2), keeping the
// 32 KiB window when the server did not promise server_no_context_takeover.
func (cl *wsClient) inflate(comp []byte) ([]byte, error) {
	cl.mbuf = append(comp, deflateTail...)
	cl.src.Reset(cl.mbuf)
	var dict []byte
	if !cl.srvNoCtx {
		dict = cl.hist
	}
	if cl.fr == nil {
		cl.fr = kflate.NewReaderDict(&cl.src, dict)
	} else if err := cl.fr.(kflate.Resetter).Reset(&cl.src, dict); err != nil {
		return nil, err
	}
	out := cl.obuf[:0]
	for {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)]
		}
		n, err := cl.fr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	cl.obuf = out
	if !cl.srvNoCtx {
		cl.hist = append(cl.hist, out...)
		if len(cl.hist) > 32768 {
			cl.hist = append(cl.hist[:0], cl.hist[len(cl.hist)-32768:]...)
		}
	}
	return out, nil
}

// countMessages reads frames until an error, discarding payloads, and calls onMsg
// after every final data frame. It never inflates (broadcast readers only count).
func (cl *wsClient) countMessages(onMsg func()) error {
	for {
		fin, _, op, n, err := cl.readFrameHeader()
		if err != nil {
			return err
		}
		if op >= opClose {
			var ctl [125]byte
			if n > 125 {
				return errors.New("control frame too large")
			}
			if _, err := io.ReadFull(cl.br, ctl[:n]); err != nil {
				return err
			}
			if err := cl.handleControl(op, ctl[:n]); err != nil {
				return err
			}
			continue
		}
		if _, err := cl.br.Discard(int(n)); err != nil {
			return err
		}
		if fin {
			onMsg()
		}
	}
}

// abort drops the TCP connection with a RST (SO_LINGER 0) so that tens of thousands
// of benchmark connections do not pile up in TIME_WAIT between runs.
func (cl *wsClient) abort() {
	if tc, ok := cl.c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = cl.c.Close()
}
