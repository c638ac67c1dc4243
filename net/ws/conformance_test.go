package ws_test

// Conformance suite for the WebSocket server, modelled on the Autobahn TestSuite
// (fuzzingclient, strict behaviour): sections 1-7, 9, 10, 12 and 13 of its case list,
// rebuilt from RFC 6455 and RFC 7692, plus the opening handshake of RFC 6455 §4.2.
//
// Each case is a table row named "<Autobahn case>/<rule>" that drives the server through the
// raw client of rawclient_test.go. Strict means:
//
//   - echoes are byte-exact, and the server's own framing is checked on every frame
//     (unmasked, RSV bits, opcodes, control frame size, continuation order, UTF-8);
//   - a protocol violation gets a close frame with the named code, then the server closes
//     the TCP connection (RFC 6455 §7.1.7, §7.1.1);
//   - fail-fast cases stop sending at the first bad fragment and require the close before
//     the rest of the message is sent (Autobahn marks a late close NON-STRICT);
//   - every ping gets a pong with the same payload, and nothing answers a frame that follows
//     a close.
//
// Rows whose number has an "x" (1.x.1, 7.x.2, ...) are not in Autobahn; they check rules
// from the same RFC section that Autobahn's client cannot exercise (unmasked frames, limits,
// RFC 7692 example payloads, fragment-by-fragment UTF-8 failure).
//
// Autobahn sends 1000 messages per case in sections 12 and 13; this suite sends up to a
// byte budget per case (at least two messages while they fit the 32 KiB window, so context
// takeover is exercised) to keep the whole run near half a minute under -race.

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rallypoint/rallypoint/net/ws"
)

// --- servers under test ---

// echoLimits are the limits of the echo handler: large messages up to 64 MiB, and a minute
// for a write or a pong. The cases are about frames; the liveness limits have tests of their
// own, and under the race detector on a busy CI machine a 16 MiB echo has taken past the
// default 10 s write timeout (the connection dropped: 9.1.6 saw EOF).
var echoLimits = ws.Limits{MaxMessageSize: 64 << 20, MaxFrameSize: 64 << 20, WriteTimeout: time.Minute, PongTimeout: time.Minute}

var (
	// compressionDefault is the zero CompressionOptions: no context takeover either way.
	compressionDefault = ws.CompressionOptions{}
	// compressionTakeover keeps both windows and compresses every message, however small.
	compressionTakeover = ws.CompressionOptions{Mode: ws.CompressionContextTakeover, PeerContextTakeover: true, Threshold: -1}
	// compressionOff never negotiates permessage-deflate.
	compressionOff = ws.CompressionOptions{Mode: ws.CompressionDisabled}
)

// startEchoServer runs the echo handler of the conformance contract through ws.Serve, the
// only server path, on a loopback httptest server.
func startEchoServer(t *testing.T, opts ws.AcceptOptions) string {
	t.Helper()
	h := func(w http.ResponseWriter, r *http.Request) {
		o := opts
		_, _ = ws.Serve(w, r, &o, func(*ws.Conn) ws.Handler { return servedEcho{} })
	}
	srv := httptest.NewServer(http.HandlerFunc(h))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// servedEcho writes each message back from OnMessage, before the message's bytes are
// released.
type servedEcho struct{}

func (servedEcho) OnMessage(c *ws.Conn, typ ws.MessageType, p []byte) {
	if c.WriteMessage(typ, p) != nil {
		_ = c.CloseNow()
	}
}

func (servedEcho) OnClose(*ws.Conn, error) {}

// start runs cfg's echo server.
func (cfg serverConfig) start(t *testing.T) string { return startEchoServer(t, cfg.opts) }

func echoOptions(c ws.CompressionOptions) ws.AcceptOptions {
	return ws.AcceptOptions{Limits: echoLimits, Compression: c}
}

// serverConfig is one server configuration the protocol sections run against.
type serverConfig struct {
	name string
	opts ws.AcceptOptions
}

// plainConfigs serve sections 1-7 and 10, where the client offers no extension: the result
// must not depend on whether the server could have compressed.
var plainConfigs = []serverConfig{
	{"compression-default", echoOptions(compressionDefault)},
	{"compression-disabled", echoOptions(compressionOff)},
}

// deflateConfigs serve sections 12 and 13.
var deflateConfigs = []serverConfig{
	{"compression-default", echoOptions(compressionDefault)},
	{"compression-takeover", echoOptions(compressionTakeover)},
}

// --- case tables ---

// step is one action or expectation of a case.
type step func(rc *rawConn)

type wsCase struct {
	name  string
	steps []step
}

func row(name string, steps ...step) wsCase { return wsCase{name, steps} }

// caseWorkers is how many cases of one group run at once. The cases spend most of their
// time waiting for the server, so running more of them than -test.parallel (GOMAXPROCS by
// default) allows keeps the CPUs busy. Groups themselves use t.Parallel.
const caseWorkers = 8

// runCases runs each case as a subtest on its own connection to addr, offering the extension
// offer (empty for none), with up to workers cases at a time. t.Run may be called from
// several goroutines; the subtests do not call t.Parallel, so -test.parallel does not
// serialize them behind the groups.
func runCases(t *testing.T, addr, offer string, workers int, cases []wsCase) {
	t.Helper()
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
	}
	next := make(chan wsCase)
	var wg sync.WaitGroup
	for range min(workers, len(cases)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tc := range next {
				t.Run(tc.name, func(t *testing.T) {
					rc := dialWS(t, addr, offer)
					cur := 0
					defer func() {
						if cur < len(tc.steps) {
							t.Logf("stopped at step %d of %d", cur+1, len(tc.steps))
						}
					}()
					for ; cur < len(tc.steps); cur++ {
						tc.steps[cur](rc)
					}
					rc.release()
				})
			}
		}()
	}
	for _, tc := range cases {
		next <- tc
	}
	close(next)
	wg.Wait()
}

// dialWS opens a connection and requires a 101.
func dialWS(t *testing.T, addr, offer string) *rawConn {
	t.Helper()
	req := newUpgradeReq(addr)
	if offer != "" {
		req.set("Sec-WebSocket-Extensions", offer)
	}
	rc, resp := handshake(t, addr, req)
	if rc == nil {
		body, _ := readBody(resp)
		t.Fatalf("handshake refused: %s %q", resp.Status, body)
	}
	return rc
}

func readBody(resp *http.Response) (string, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(resp.Body)
	return strings.TrimSpace(b.String()), err
}

// --- steps ---

// send writes all frames in one TCP write.
func send(fs ...frame) step {
	return func(rc *rawConn) {
		rc.t.Helper()
		if err := rc.write(encodeAll(fs)); err != nil {
			rc.t.Fatalf("sending %d frames: %v", len(fs), err)
		}
	}
}

// sendFramewise writes one frame per TCP write, with a pause between them (Autobahn's
// "frame-wise chops").
func sendFramewise(fs ...frame) step {
	return func(rc *rawConn) {
		rc.t.Helper()
		for i, f := range fs {
			if i > 0 {
				time.Sleep(chopDelay)
			}
			if err := rc.write(f.encode()); err != nil {
				rc.t.Fatalf("sending frame %d: %v", i+1, err)
			}
		}
	}
}

// sendOctetwise writes the frames one byte per TCP write (Autobahn's "octet-wise chops").
func sendOctetwise(fs ...frame) step { return sendChopped(1, fs...) }

// sendChopped writes the frames in pieces of chop bytes. Like a real peer (RFC 6455
// §5.5.1: no data after a Close), it stops once the server's Close frame has arrived: a
// server that fails the connection at the first bad frame answers within milliseconds, and
// octet-wise sending of the rest, slow under -race, would otherwise outlast the server's
// wait for the closing handshake and end on a reset. The next step judges the close.
func sendChopped(chop int, fs ...frame) step {
	return func(rc *rawConn) {
		rc.t.Helper()
		b := encodeAll(fs)
		for len(b) > 0 {
			n := min(chop, len(b))
			if err := rc.write(b[:n]); err != nil {
				rc.t.Fatalf("sending in %d-byte chops: %v", chop, err)
			}
			b = b[n:]
			if len(b) > 0 {
				if rc.closeArrived() {
					return
				}
				time.Sleep(chopDelay)
			}
		}
	}
}

// closeArrived reports, without waiting, whether the next frame from the server is a Close.
// What the reader holds is looked at first; with nothing there it asks the kernel (peekByte:
// a read whose deadline has already passed never reaches the socket in Go, so a deadline of
// a nanosecond saw nothing, and octet-wise sending under a busy -race run outlasted the
// server's closing-handshake wait and ended on a broken pipe).
func (rc *rawConn) closeArrived() bool {
	if rc.br.Buffered() > 0 {
		h, err := rc.br.Peek(1)
		return err == nil && h[0]&0x0f == opClose
	}
	b, ok := peekByte(rc.dc.Conn)
	return ok && b&0x0f == opClose
}

// sendRaw writes bytes as they are.
func sendRaw(b []byte) step {
	return func(rc *rawConn) {
		rc.t.Helper()
		if err := rc.write(b); err != nil {
			rc.t.Fatalf("sending %d raw bytes: %v", len(b), err)
		}
	}
}

func encodeAll(fs []frame) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f.encode()...)
	}
	return b
}

func expectText(s string) step { return expectData(opText, []byte(s)) }

func expectBinary(b []byte) step { return expectData(opBinary, b) }

func expectData(op byte, p []byte) step {
	return func(rc *rawConn) {
		rc.t.Helper()
		rc.expectMessage(op, p)
	}
}

func expectPong(p []byte) step {
	return func(rc *rawConn) {
		rc.t.Helper()
		rc.expectPong(p)
	}
}

// syncPing proves the server is alive and has processed everything sent so far without
// objecting: a ping that must come back as a pong.
func syncPing() step {
	return func(rc *rawConn) {
		rc.t.Helper()
		p := []byte("sync")
		if err := rc.write(pingFrame(p).encode()); err != nil {
			rc.t.Fatalf("sending sync ping: %v", err)
		}
		rc.expectPong(p)
	}
}

// fail expects the server to fail the connection with one of codes.
func fail(codes ...int) step {
	return func(rc *rawConn) {
		rc.t.Helper()
		rc.expectFail(codes...)
	}
}

// failFast is fail with a short timeout: the client has stopped at the first bad fragment
// and waits for the close without sending the rest of the message. A server that waits for
// more input before failing is what Autobahn reports as NON-STRICT.
func failFast(codes ...int) step {
	return func(rc *rawConn) {
		rc.t.Helper()
		rc.setReadTimeout(failFastTimeout)
		e := rc.expectClose("NON-STRICT unless the server fails at the first bad fragment, without waiting for the rest of the message", codes...)
		rc.setReadTimeout(ioTimeout)
		_ = rc.write(closeFrame(e.code, "").encode())
		rc.expectTCPClose()
	}
}

// expectQuiet checks that the server sends nothing (and does not close) for d.
func expectQuiet(d time.Duration) step {
	return func(rc *rawConn) {
		rc.t.Helper()
		rc.setReadTimeout(d)
		_, err := rc.br.Peek(1)
		rc.setReadTimeout(ioTimeout)
		if err == nil {
			e, err := rc.next()
			rc.t.Fatalf("server sent %v (err %v) before the message was complete", e, err)
		}
		if !isTimeout(err) {
			rc.t.Fatalf("connection ended before the message was complete: %v", err)
		}
	}
}

// closeNormal runs the client-initiated close handshake with code 1000.
func closeNormal() step {
	return func(rc *rawConn) {
		rc.t.Helper()
		rc.closeNormally()
	}
}

// closeAndExpect sends a close frame f and expects the answer to carry one of codes, then
// the TCP close.
func closeAndExpect(f frame, codes ...int) step {
	return func(rc *rawConn) {
		rc.t.Helper()
		if err := rc.write(f.encode()); err != nil {
			rc.t.Fatalf("sending close: %v", err)
		}
		e := rc.expectClose("answer to the client's close frame", codes...)
		if isFailureCode(e.code) {
			_ = rc.write(closeFrame(e.code, "").encode())
		}
		rc.expectTCPClose()
	}
}

func isFailureCode(c uint16) bool { return c == 1002 || c == 1007 }

func pause(d time.Duration) step { return func(*rawConn) { time.Sleep(d) } }

// outMsg is a message for the bulk steps.
type outMsg struct {
	op       byte
	payload  []byte
	frag     int  // payload bytes per frame (after compression); 0 = one frame
	chop     int  // bytes per TCP write; 0 = large writes
	compress bool // deflate it when permessage-deflate was negotiated
}

// messageBytes frames one message (RFC 6455 §5.4; RFC 7692 §6: RSV1 on the first frame).
func (rc *rawConn) messageBytes(m outMsg) []byte {
	p, rsv := m.payload, byte(0)
	if m.compress && rc.pmd != nil {
		p, rsv = rc.compress(p), 4
	}
	frag := m.frag
	if frag <= 0 || frag > len(p) {
		frag = max(len(p), 1)
	}
	var out []byte
	op := m.op
	for first := true; first || len(p) > 0; first = false {
		n := min(frag, len(p))
		f := frame{op: op, payload: p[:n], fin: n == len(p)}
		if first {
			f.rsv = rsv
		}
		out = append(out, f.encode()...)
		p, op = p[n:], opCont
	}
	return out
}

// sendMsgs writes msgs; it runs on its own goroutine and must not touch rc.t.
func (rc *rawConn) sendMsgs(msgs []outMsg) error {
	for i, m := range msgs {
		rc.sent.Store(int64(i))
		b := rc.messageBytes(m)
		var err error
		if m.chop > 0 {
			err = rc.writeChoppedNoDelay(b, m.chop)
		} else {
			err = rc.writeLarge(b)
		}
		if err != nil {
			return fmt.Errorf("sending message %d of %d: %w", i+1, len(msgs), err)
		}
	}
	rc.sent.Store(int64(len(msgs)))
	return nil
}

// writeLarge writes b in 256 KiB pieces so that progress keeps the read side's timeout at bay.
func (rc *rawConn) writeLarge(b []byte) error {
	for len(b) > 0 {
		n := min(len(b), 256<<10)
		if err := rc.write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func (rc *rawConn) writeChoppedNoDelay(b []byte, chop int) error {
	for len(b) > 0 {
		n := min(len(b), chop)
		if err := rc.write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// echoAll sends the messages gen returns from a second goroutine and checks every echo,
// in order, on the test goroutine. Reading while writing keeps the server's outbound queue
// drained, as a real peer would.
func echoAll(gen func() []outMsg) step {
	return func(rc *rawConn) {
		rc.t.Helper()
		msgs := gen()
		errc := make(chan error, 1)
		go func() { errc <- rc.sendMsgs(msgs) }()
		for i, m := range msgs {
			e, err := rc.next()
			if err != nil {
				rc.t.Fatalf("waiting for echo %d of %d (%d-byte %s): %v (client had sent %d messages completely, its last write %v ago)",
					i+1, len(msgs), len(m.payload), opName(m.op), err, rc.sent.Load(), time.Since(time.Unix(0, rc.dc.lastWrite.Load())).Round(time.Millisecond))
			}
			if e.op != m.op {
				rc.t.Fatalf("echo %d of %d: want %d-byte %s message, got %v", i+1, len(msgs), len(m.payload), opName(m.op), e)
			}
			if !bytes.Equal(e.payload, m.payload) {
				rc.t.Fatalf("echo %d of %d differs: %s", i+1, len(msgs), diffBytes(e.payload, m.payload))
			}
		}
		if err := <-errc; err != nil {
			rc.t.Fatal(err)
		}
	}
}

// --- payloads ---

var wordsEN = []string{"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "rally", "point",
	"game", "server", "κόσμε", "naïve", "café", "日本語", "🎮", "Ωmega", "£", "→"}

var wordsDE = []string{"Habe", "nun", "ach", "Philosophie", "Juristerei", "und", "Medizin", "leider",
	"auch", "Theologie", "durchaus", "studiert", "mit", "heißem", "Bemühn", "Da", "steh", "ich", "armer",
	"Tor", "bin", "so", "klug", "als", "wie", "zuvor", "Größe", "Übermut", "Ärger", "Öl", "süß"}

func newRand(seed uint64, n int) *rand.Rand { return rand.New(rand.NewPCG(seed, uint64(n))) }

// fillText builds exactly n bytes of valid UTF-8 from pieces, padding with spaces.
func fillText(n int, r *rand.Rand, piece func(r *rand.Rand) string) []byte {
	b := make([]byte, 0, n)
	for {
		s := piece(r)
		if len(b)+len(s) > n {
			break
		}
		b = append(b, s...)
	}
	for len(b) < n {
		b = append(b, ' ')
	}
	return b
}

// textPayload is n bytes of valid UTF-8 mixing 1- to 4-byte code points. Large payloads
// repeat a block of an odd length, so fragment boundaries never line up with the repetition.
func textPayload(n int) []byte {
	words := func(r *rand.Rand) string { return wordsEN[r.IntN(len(wordsEN))] + " " }
	if n <= 1<<16 {
		return fillText(n, newRand(1, n), words)
	}
	block := fillText(65519, newRand(1, 65519), words)
	b := make([]byte, 0, n)
	for len(b)+len(block) <= n {
		b = append(b, block...)
	}
	return append(b, fillText(n-len(b), newRand(1, n), words)...)
}

// binaryPayload is n pseudo-random bytes.
func binaryPayload(n int) []byte {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(n))
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(seed).Read(b)
	return b
}

// The section 12 corpora stand in for Autobahn's files: JSON, a bitmap, German prose, HTML,
// and a PDF (incompressible binary).
type corpus struct {
	name string
	op   byte
	gen  func(n int) []byte
}

var corpora = []corpus{
	{"JSON text", opText, func(n int) []byte {
		return fillText(n, newRand(121, n), func(r *rand.Rand) string {
			return fmt.Sprintf(`{"id":%d,"name":%q,"pos":{"x":%.2f,"y":%.2f},"tags":[%q,%q]},`,
				r.IntN(100000), wordsEN[r.IntN(len(wordsEN))], r.Float64()*100, r.Float64()*-50,
				wordsDE[r.IntN(len(wordsDE))], wordsEN[r.IntN(len(wordsEN))])
		})
	}},
	{"bitmap binary", opBinary, func(n int) []byte {
		r := newRand(122, n)
		b := make([]byte, 0, n)
		for len(b) < n {
			v := byte(0)
			if r.IntN(2) == 1 {
				v = 0xFF
			}
			for k := 1 + r.IntN(64); k > 0 && len(b) < n; k-- {
				b = append(b, v)
			}
		}
		return b
	}},
	{"German prose text", opText, func(n int) []byte {
		return fillText(n, newRand(123, n), func(r *rand.Rand) string { return wordsDE[r.IntN(len(wordsDE))] + " " })
	}},
	{"HTML text", opText, func(n int) []byte {
		return fillText(n, newRand(124, n), func(r *rand.Rand) string {
			return fmt.Sprintf("<div class=\"row r%d\"><span>%s</span> <a href=\"/p/%d\">%s</a></div>\n",
				r.IntN(10), wordsEN[r.IntN(len(wordsEN))], r.IntN(1000), wordsDE[r.IntN(len(wordsDE))])
		})
	}},
	{"random binary", opBinary, func(n int) []byte { return binaryPayload(n) }},
}

// --- section 1: framing ---

func framingCases() []wsCase {
	var cs []wsCase
	sizes := []int{0, 125, 126, 127, 128, 65535, 65536}
	for i, n := range sizes {
		p := textPayload(n)
		cs = append(cs, row(fmt.Sprintf("1.1.%d/text message of %d bytes echoed", i+1, n),
			send(txtFrame(string(p))), expectText(string(p)), closeNormal()))
	}
	p := textPayload(65536)
	cs = append(cs, row("1.1.8/text message of 65536 bytes sent in 997-byte chops echoed",
		sendChopped(997, txtFrame(string(p))), expectText(string(p)), closeNormal()))
	for i, n := range sizes {
		b := binaryPayload(n)
		cs = append(cs, row(fmt.Sprintf("1.2.%d/binary message of %d bytes echoed", i+1, n),
			send(binFrame(b)), expectBinary(b), closeNormal()))
	}
	b := binaryPayload(65536)
	cs = append(cs, row("1.2.8/binary message of 65536 bytes sent in 997-byte chops echoed",
		sendChopped(997, binFrame(b)), expectBinary(b), closeNormal()))

	unmasked := txtFrame("Hello, world!")
	unmasked.unmasked = true
	cs = append(cs,
		row("1.x.1/unmasked client frame → 1002 (RFC 6455 §5.1)", send(unmasked), fail(1002)),
		row("1.x.2/64-bit length with the most significant bit set → 1002 (RFC 6455 §5.2)",
			sendRaw(msbLengthHeader()), fail(1002, 1009)),
		row("1.x.3/masked frames with every key byte pattern echoed",
			send(txtFrame("a"), txtFrame("ab"), txtFrame("abc"), txtFrame("abcd"), txtFrame("abcde")),
			expectText("a"), expectText("ab"), expectText("abc"), expectText("abcd"), expectText("abcde"), closeNormal()),
	)
	return cs
}

// msbLengthHeader is a masked binary frame header whose 64-bit length has bit 63 set.
func msbLengthHeader() []byte {
	return []byte{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}
}

// --- section 2: pings and pongs ---

func pingCases() []wsCase {
	binPing := []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}
	p125 := bytes.Repeat([]byte{0xfe}, 125)
	p126 := bytes.Repeat([]byte{0xfe}, 126)
	var tenPings []frame
	var tenPongs []step
	for i := range 10 {
		p := []byte(fmt.Sprintf("payload-%d", i))
		tenPings = append(tenPings, pingFrame(p))
		tenPongs = append(tenPongs, expectPong(p))
	}
	return []wsCase{
		row("2.1/ping without payload answered by pong without payload", send(pingFrame(nil)), expectPong(nil), closeNormal()),
		row("2.2/ping with text payload answered by pong with the same payload",
			send(pingFrame([]byte("Hello, world!"))), expectPong([]byte("Hello, world!")), closeNormal()),
		row("2.3/ping with binary payload answered by pong with the same payload",
			send(pingFrame(binPing)), expectPong(binPing), closeNormal()),
		row("2.4/ping with 125-byte payload answered", send(pingFrame(p125)), expectPong(p125), closeNormal()),
		row("2.5/ping with 126-byte payload → 1002 (RFC 6455 §5.5)", send(pingFrame(p126)), fail(1002)),
		row("2.6/ping with 125-byte payload sent octet-wise answered",
			sendOctetwise(pingFrame(p125)), expectPong(p125), closeNormal()),
		row("2.7/unsolicited pong without payload ignored", send(pongFrame(nil)), closeNormal()),
		row("2.8/unsolicited pong with payload ignored", send(pongFrame([]byte("unsolicited pong payload"))), closeNormal()),
		row("2.9/unsolicited pong then ping: only the ping is answered",
			send(pongFrame([]byte("unsolicited pong payload")), pingFrame([]byte("ping payload"))),
			expectPong([]byte("ping payload")), closeNormal()),
		row("2.10/ten pings answered by ten pongs in order",
			slices.Concat([]step{send(tenPings...)}, tenPongs, []step{closeNormal()})...),
		row("2.11/ten pings sent octet-wise answered by ten pongs in order",
			slices.Concat([]step{sendOctetwise(tenPings...)}, tenPongs, []step{closeNormal()})...),
	}
}

// --- section 3: reserved bits ---

func reservedBitCases() []wsCase {
	hello := "Hello, world!"
	return []wsCase{
		row("3.1/text with RSV=1 → 1002 (RFC 6455 §5.2)", send(txtFrame(hello).withRSV(1)), fail(1002)),
		row("3.2/text, text with RSV=2, ping → echo then 1002, no pong",
			send(txtFrame(hello), txtFrame(hello).withRSV(2), pingFrame([]byte(hello))), expectText(hello), fail(1002)),
		row("3.3/text, text with RSV=3, ping, frame-wise → echo then 1002, no pong",
			sendFramewise(txtFrame(hello), txtFrame(hello).withRSV(3), pingFrame([]byte(hello))), expectText(hello), fail(1002)),
		row("3.4/text, text with RSV=4, ping, octet-wise → echo then 1002, no pong",
			sendOctetwise(txtFrame(hello), txtFrame(hello).withRSV(4), pingFrame([]byte(hello))), expectText(hello), fail(1002)),
		row("3.5/binary with RSV=5 → 1002", send(binFrame([]byte{0, 1, 2, 0xff}).withRSV(5)), fail(1002)),
		row("3.6/ping with RSV=6 → 1002", send(pingFrame([]byte(hello)).withRSV(6)), fail(1002)),
		row("3.7/close with RSV=7 → 1002", send(closeFrame(1000, "").withRSV(7)), fail(1002)),
	}
}

// --- section 4: opcodes ---

func opcodeCases() []wsCase {
	hello := "Hello, world!"
	var cs []wsCase
	for i, op := range []byte{3, 4, 5, 6, 7} {
		cs = append(cs, opcodeCase(fmt.Sprintf("4.1.%d", i+1), op, i, hello))
	}
	for i, op := range []byte{11, 12, 13, 14, 15} {
		cs = append(cs, opcodeCase(fmt.Sprintf("4.2.%d", i+1), op, i, hello))
	}
	return cs
}

// opcodeCase follows Autobahn: the first two cases send the reserved opcode alone (the
// second with a payload), the others after a valid message and before a ping.
func opcodeCase(id string, op byte, i int, hello string) wsCase {
	kind := "non-control"
	if op >= 8 {
		kind = "control"
	}
	bad := frame{fin: true, op: op}
	if i != 0 && i != 2 {
		bad.payload = []byte(hello)
	}
	if i < 2 {
		return row(fmt.Sprintf("%s/reserved %s opcode %d → 1002 (RFC 6455 §5.2)", id, kind, op), send(bad), fail(1002))
	}
	return row(fmt.Sprintf("%s/text, reserved %s opcode %d, ping → echo then 1002, no pong", id, kind, op),
		send(txtFrame(hello), bad, pingFrame([]byte(hello))), expectText(hello), fail(1002))
}

// --- section 5: fragmentation ---

func fragmentationCases() []wsCase {
	f1, f2 := txtFrame("fragment1").noFin(), contFrame(true, "fragment2")
	pingMid := pingFrame([]byte("pongme 2!"))
	noStart := contFrame(true, "non-continuation payload")
	noStartNoFin := contFrame(false, "non-continuation payload")
	textAfter := []frame{txtFrame("Hello, world!").noFin(), contFrame(true, "Hello, world!")}
	twice := func(fs ...frame) []frame { return append(append([]frame(nil), fs...), fs...) }
	return []wsCase{
		row("5.1/ping in 2 fragments → 1002 (RFC 6455 §5.5)",
			send(pingFrame([]byte("fragment1")).noFin(), contFrame(true, "fragment2")), fail(1002)),
		row("5.2/pong in 2 fragments → 1002 (RFC 6455 §5.5)",
			send(pongFrame([]byte("fragment1")).noFin(), contFrame(true, "fragment2")), fail(1002)),
		row("5.3/text in 2 fragments echoed", send(f1, f2), expectText("fragment1fragment2"), closeNormal()),
		row("5.4/text in 2 fragments, octet-wise, echoed", sendOctetwise(f1, f2), expectText("fragment1fragment2"), closeNormal()),
		row("5.5/text in 2 fragments, frame-wise, echoed", sendFramewise(f1, f2), expectText("fragment1fragment2"), closeNormal()),
		row("5.6/ping between fragments answered, then text echoed",
			send(f1, pingMid, f2), expectPong(pingMid.payload), expectText("fragment1fragment2"), closeNormal()),
		row("5.7/ping between fragments, octet-wise",
			sendOctetwise(f1, pingMid, f2), expectPong(pingMid.payload), expectText("fragment1fragment2"), closeNormal()),
		row("5.8/ping between fragments, frame-wise",
			sendFramewise(f1, pingMid, f2), expectPong(pingMid.payload), expectText("fragment1fragment2"), closeNormal()),
		row("5.9/continuation without start → 1002 (RFC 6455 §5.4)", send(append([]frame{noStart}, textAfter...)...), fail(1002)),
		row("5.10/continuation without start, octet-wise → 1002", sendOctetwise(append([]frame{noStart}, textAfter...)...), fail(1002)),
		row("5.11/continuation without start, frame-wise → 1002", sendFramewise(append([]frame{noStart}, textAfter...)...), fail(1002)),
		row("5.12/unfinished continuation without start → 1002", send(append([]frame{noStartNoFin}, textAfter...)...), fail(1002)),
		row("5.13/unfinished continuation without start, octet-wise → 1002", sendOctetwise(append([]frame{noStartNoFin}, textAfter...)...), fail(1002)),
		row("5.14/unfinished continuation without start, frame-wise → 1002", sendFramewise(append([]frame{noStartNoFin}, textAfter...)...), fail(1002)),
		row("5.15/message, then continuation without start → echo then 1002",
			send(f1, f2, contFrame(false, "fragment3"), txtFrame("fragment4")), expectText("fragment1fragment2"), fail(1002)),
		row("5.16/continuation-first sequences (twice) → 1002",
			send(twice(contFrame(false, "fragment1"), txtFrame("fragment2").noFin(), contFrame(true, "fragment3"))...), fail(1002)),
		row("5.17/finished continuation-first sequences (twice) → 1002",
			send(twice(contFrame(true, "fragment1"), txtFrame("fragment2").noFin(), contFrame(true, "fragment3"))...), fail(1002)),
		row("5.18/text fragment followed by a new text message → 1002 (RFC 6455 §5.4)",
			send(f1, txtFrame("fragment2")), fail(1002)),
		row("5.19/text in 5 fragments with 2 pings between, paused → pongs then echo",
			send(f1, contFrame(false, "fragment2"), pingFrame([]byte("pongme 1!"))),
			expectPong([]byte("pongme 1!")),
			pause(50*time.Millisecond),
			send(contFrame(false, "fragment3"), contFrame(false, "fragment4"), pingFrame([]byte("pongme 2!"))),
			expectPong([]byte("pongme 2!")),
			pause(50*time.Millisecond),
			send(contFrame(true, "fragment5")),
			expectText("fragment1fragment2fragment3fragment4fragment5"), closeNormal()),
		row("5.20/text in 5 fragments with 2 pings between, frame-wise, paused → pongs then echo",
			sendFramewise(f1, contFrame(false, "fragment2"), pingFrame([]byte("pongme 1!"))),
			expectPong([]byte("pongme 1!")),
			pause(50*time.Millisecond),
			sendFramewise(contFrame(false, "fragment3"), contFrame(false, "fragment4"), pingFrame([]byte("pongme 2!"))),
			expectPong([]byte("pongme 2!")),
			pause(50*time.Millisecond),
			sendFramewise(contFrame(true, "fragment5")),
			expectText("fragment1fragment2fragment3fragment4fragment5"), closeNormal()),
		row("5.x.1/control frame with 126-byte payload announced by 16-bit length → 1002",
			send(pongFrame(bytes.Repeat([]byte("p"), 126))), fail(1002)),
	}
}

// --- section 6: UTF-8 handling ---

type utf8Vec struct {
	id   string
	desc string
	b    []byte
}

func hexb(s string) []byte {
	var b []byte
	for _, f := range strings.Fields(s) {
		var v byte
		fmt.Sscanf(f, "%x", &v)
		b = append(b, v)
	}
	return b
}

// utf8Vectors are Autobahn's sections 6.5-6.23 (Markus Kuhn's UTF-8 decoder stress test).
func utf8Vectors() []utf8Vec {
	var vs []utf8Vec
	group := func(sec int, desc string, items ...[]byte) {
		for i, b := range items {
			vs = append(vs, utf8Vec{fmt.Sprintf("6.%d.%d", sec, i+1), desc, b})
		}
	}
	kosme := hexb("ce ba e1 bd b9 cf 83 ce bc ce b5")
	group(5, "valid UTF-8", []byte("hello$world"), []byte("hello¢world"), []byte("hello€world"), []byte("hello𤭢world"), kosme)
	var prefixes [][]byte
	for i := 1; i <= len(kosme); i++ {
		prefixes = append(prefixes, kosme[:i])
	}
	group(6, "prefix of κόσμε", prefixes...)
	group(7, "first sequence of each length", hexb("00"), hexb("c2 80"), hexb("e0 a0 80"), hexb("f0 90 80 80"))
	group(8, "first 5- or 6-byte sequence", hexb("f8 88 80 80 80"), hexb("fc 84 80 80 80 80"))
	group(9, "last sequence of each length", hexb("7f"), hexb("df bf"), hexb("ef bf bf"), hexb("f4 8f bf bf"))
	group(10, "last 4-, 5- or 6-byte sequence beyond U+10FFFF", hexb("f7 bf bf bf"), hexb("fb bf bf bf bf"), hexb("fd bf bf bf bf bf"))
	group(11, "boundary condition", hexb("ed 9f bf"), hexb("ee 80 80"), hexb("ef bf bd"), hexb("f4 8f bf bf"), hexb("f4 90 80 80"))
	var all []byte
	for c := 0x80; c <= 0xbf; c++ {
		all = append(all, byte(c))
	}
	group(12, "unexpected continuation bytes", hexb("80"), hexb("bf"), hexb("80 bf"), hexb("80 bf 80"),
		hexb("80 bf 80 bf"), hexb("80 bf 80 bf 80"), hexb("80 bf 80 bf 80 bf"), all)
	lonely := func(lo, hi int) []byte {
		var b []byte
		for c := lo; c <= hi; c++ {
			b = append(b, byte(c), ' ')
		}
		return b
	}
	group(13, "lonely start bytes followed by spaces", lonely(0xc0, 0xdf), lonely(0xe0, 0xef), lonely(0xf0, 0xf7), lonely(0xf8, 0xfb), lonely(0xfc, 0xfd))
	missing := [][]byte{hexb("c0"), hexb("e0 80"), hexb("f0 80 80"), hexb("f8 80 80 80"), hexb("fc 80 80 80 80"),
		hexb("df"), hexb("ef bf"), hexb("f7 bf bf"), hexb("fb bf bf bf"), hexb("fd bf bf bf bf")}
	group(14, "sequence with its last continuation byte missing", missing...)
	group(15, "concatenated incomplete sequences", bytes.Join(missing, nil))
	group(16, "impossible bytes", hexb("fe"), hexb("ff"), hexb("fe fe ff ff"))
	group(17, "overlong '/'", hexb("c0 af"), hexb("e0 80 af"), hexb("f0 80 80 af"), hexb("f8 80 80 80 af"), hexb("fc 80 80 80 80 af"))
	group(18, "maximum overlong sequence", hexb("c1 bf"), hexb("e0 9f bf"), hexb("f0 8f bf bf"), hexb("f8 87 bf bf bf"), hexb("fc 83 bf bf bf bf"))
	group(19, "overlong NUL", hexb("c0 80"), hexb("e0 80 80"), hexb("f0 80 80 80"), hexb("f8 80 80 80 80"), hexb("fc 80 80 80 80 80"))
	group(20, "single UTF-16 surrogate", hexb("ed a0 80"), hexb("ed ad bf"), hexb("ed ae 80"), hexb("ed af bf"),
		hexb("ed b0 80"), hexb("ed be 80"), hexb("ed bf bf"))
	group(21, "paired UTF-16 surrogates", hexb("ed a0 80 ed b0 80"), hexb("ed a0 80 ed bf bf"), hexb("ed ad bf ed b0 80"),
		hexb("ed ad bf ed bf bf"), hexb("ed ae 80 ed b0 80"), hexb("ed ae 80 ed bf bf"), hexb("ed af bf ed b0 80"), hexb("ed af bf ed bf bf"))
	var nonchars [][]byte
	for plane := rune(0); plane <= 16; plane++ {
		nonchars = append(nonchars, utf8.AppendRune(nil, plane<<16|0xfffe), utf8.AppendRune(nil, plane<<16|0xffff))
	}
	group(22, "noncharacter (valid UTF-8)", nonchars...)
	var specials [][]byte
	for r := rune(0xfff9); r <= 0xffff; r++ {
		specials = append(specials, utf8.AppendRune(nil, r))
	}
	group(23, "Unicode special (valid UTF-8)", specials...)
	return vs
}

func utf8Cases() []wsCase {
	hello := "Hello-µ@ßöäüàá-UTF-8!!"
	kosme := string(hexb("ce ba e1 bd b9 cf 83 ce bc ce b5"))
	invalid := kosme + string(hexb("ed a0 80")) + "edited"
	perRune := func(s string) []frame {
		var fs []frame
		for i, r := range []rune(s) {
			op := opCont
			if i == 0 {
				op = opText
			}
			fs = append(fs, frame{op: op, payload: utf8.AppendRune(nil, r)})
		}
		fs[len(fs)-1].fin = true
		return fs
	}
	perByte := func(s string) []frame {
		var fs []frame
		for i := 0; i < len(s); i++ {
			op := opCont
			if i == 0 {
				op = opText
			}
			fs = append(fs, frame{op: op, payload: []byte{s[i]}, fin: i == len(s)-1})
		}
		return fs
	}
	// 6.3.2: one byte per frame up to the byte that makes the sequence invalid (the a0 after
	// ed), then the close must come before anything else is sent.
	bad := perByte(invalid)
	firstBad := len(kosme) + 1
	// 6.4.3 and 6.4.4 send one frame in three writes; the third is never sent.
	one := txtFrame(kosme + string(hexb("f4 90 80 80")) + "edited").encode()
	h := len(one) - len(kosme) - 4 - len("edited")
	chopped := [][]byte{one[:h+len(kosme)], one[h+len(kosme) : h+len(kosme)+4], one[:h+len(kosme)+1], one[h+len(kosme)+1 : h+len(kosme)+2]}
	cs := []wsCase{
		row("6.1.1/empty text message echoed", send(txtFrame("")), expectText(""), closeNormal()),
		row("6.1.2/text in 3 empty fragments echoed empty",
			send(txtFrame("").noFin(), contFrame(false, ""), contFrame(true, "")), expectText(""), closeNormal()),
		row("6.1.3/text in 3 fragments, first and last empty, echoed",
			send(txtFrame("").noFin(), contFrame(false, "middle frame payload"), contFrame(true, "")),
			expectText("middle frame payload"), closeNormal()),
		row("6.2.1/valid UTF-8 in one frame echoed", send(txtFrame(hello)), expectText(hello), closeNormal()),
		row("6.2.2/valid UTF-8 fragmented on code points echoed", send(perRune(hello)...), expectText(hello), closeNormal()),
		row("6.2.3/valid UTF-8 in 1-byte fragments echoed", send(perByte(hello)...), expectText(hello), closeNormal()),
		row("6.2.4/κόσμε in 1-byte fragments echoed", send(perByte(kosme)...), expectText(kosme), closeNormal()),
		row("6.3.1/invalid UTF-8 (surrogate) in one frame → 1007 (RFC 6455 §8.1)", send(txtFrame(invalid)), fail(1007)),
		row("6.3.2/invalid UTF-8 in 1-byte fragments → 1007 at the first bad fragment",
			send(bad[:firstBad]...), syncPing(), send(bad[firstBad]), failFast(1007)),
		// 6.4: fail fast. PART1 is valid, PART2 makes the text invalid, PART3 is never sent.
		row("6.4.1/invalid code point U+110000 in the 2nd of 3 fragments → 1007 before the 3rd",
			send(txtFrame(kosme).noFin()), syncPing(),
			send(frame{op: opCont, payload: hexb("f4 90 80 80")}), failFast(1007)),
		row("6.4.2/invalid sequence completed in the 2nd of 3 fragments → 1007 before the 3rd",
			send(frame{op: opText, payload: append([]byte(kosme), 0xf4)}), syncPing(),
			send(frame{op: opCont, payload: hexb("90 80 80")}), failFast(1007)),
		row("6.4.3/invalid code point in the 2nd of 3 chops of one frame → 1007 before the 3rd",
			sendRaw(chopped[0]), expectQuiet(100*time.Millisecond), sendRaw(chopped[1]), failFast(1007)),
		row("6.4.4/invalid sequence in the 2nd of 3 chops of one frame → 1007 before the 3rd",
			sendRaw(chopped[2]), expectQuiet(100*time.Millisecond), sendRaw(chopped[3]), failFast(1007)),
	}
	for _, v := range utf8Vectors() {
		s := string(v.b)
		hex := fmt.Sprintf("% x", v.b)
		if len(v.b) > 12 {
			hex = fmt.Sprintf("% x … (%d bytes)", v.b[:8], len(v.b))
		}
		if utf8.Valid(v.b) {
			cs = append(cs, row(fmt.Sprintf("%s/%s %s echoed", v.id, v.desc, hex), send(txtFrame(s)), expectText(s), closeNormal()))
			continue
		}
		cs = append(cs, row(fmt.Sprintf("%s/%s %s → 1007", v.id, v.desc, hex), send(txtFrame(s)), fail(1007)))
		// The same bytes as the first fragment of a longer text message: a sequence that is
		// already impossible must fail there; one that is merely incomplete must not, and
		// fails when the message ends.
		if utf8PrefixOK(v.b) {
			cs = append(cs, row(fmt.Sprintf("%s.x/%s %s incomplete in a first fragment, accepted until the message ends → 1007", v.id, v.desc, hex),
				send(txtFrame(s).noFin()), syncPing(), send(contFrame(true, "")), fail(1007)))
		} else {
			cs = append(cs, row(fmt.Sprintf("%s.x/%s %s in a first fragment → 1007 before the message ends", v.id, v.desc, hex),
				send(txtFrame(s).noFin()), failFast(1007)))
		}
	}
	return cs
}

// --- section 7: close handling ---

func closeCases() []wsCase {
	hello := "Hello World!"
	big := textPayload(256 << 10)
	cs := []wsCase{
		row("7.1.1/message then close: echo, then close 1000 and TCP close", send(txtFrame(hello)), expectText(hello), closeNormal()),
		row("7.1.2/close sent twice: one close answer, then TCP close",
			send(closeFrame(1000, ""), closeFrame(1000, "")), expectCloseThenTCP(1000)),
		row("7.1.3/ping after close not answered (RFC 6455 §5.5.1)",
			send(closeFrame(1000, ""), pingFrame([]byte(hello))), expectCloseThenTCP(1000)),
		row("7.1.4/text after close not echoed",
			send(closeFrame(1000, ""), txtFrame(hello)), expectCloseThenTCP(1000)),
		row("7.1.5/fragment, close, final fragment: nothing echoed",
			send(txtFrame("fragment1").noFin(), closeFrame(1000, ""), contFrame(true, "fragment2")), expectCloseThenTCP(1000)),
		row("7.1.6/256 KiB message, close, ping: echo, close, no pong",
			send(txtFrame(string(big)), closeFrame(1000, ""), pingFrame([]byte(hello))), optionalEcho(opText, big), expectCloseThenTCP(1000)),
		row("7.3.1/close without payload answered (no code or 1000)", closeAndExpect(frame{fin: true, op: opClose}, noCode, 1000)),
		row("7.3.2/close with 1-byte payload → 1002 (RFC 6455 §5.5.1)",
			closeAndExpect(frame{fin: true, op: opClose, payload: []byte{0x03}}, 1002)),
		row("7.3.3/close 1000 without reason answered 1000", closeAndExpect(closeFrame(1000, ""), 1000)),
		row("7.3.4/close 1000 with reason answered 1000", closeAndExpect(closeFrame(1000, hello), 1000)),
		row("7.3.5/close 1000 with 123-byte reason answered 1000", closeAndExpect(closeFrame(1000, strings.Repeat("*", 123)), 1000)),
		row("7.3.6/close 1000 with 124-byte reason (126-byte payload) → 1002 (RFC 6455 §5.5)",
			closeAndExpect(closeFrame(1000, strings.Repeat("*", 124)), 1002)),
		row("7.5.1/close reason not UTF-8 → 1007 (RFC 6455 §5.5.1, §8.1)",
			closeAndExpect(closeFrame(1000, string(hexb("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64"))), 1007, 1002)),
	}
	for i, code := range []uint16{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		cs = append(cs, row(fmt.Sprintf("7.7.%d/valid close code %d answered (1000 or echoed)", i+1, code),
			closeAndExpect(closeFrame(code, ""), 1000, int(code))))
	}
	for i, code := range []uint16{1012, 1013, 1014} {
		cs = append(cs, row(fmt.Sprintf("7.x.%d/IANA close code %d answered (1000 or echoed)", i+1, code),
			closeAndExpect(closeFrame(code, ""), 1000, int(code))))
	}
	for i, code := range []uint16{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999} {
		cs = append(cs, row(fmt.Sprintf("7.9.%d/invalid close code %d → 1002 (RFC 6455 §7.4)", i+1, code),
			closeAndExpect(closeFrame(code, ""), 1002)))
	}
	cs = append(cs, row("7.x.4/close code 1015 (never on the wire) → 1002 (RFC 6455 §7.4.1)", closeAndExpect(closeFrame(1015, ""), 1002)))
	for i, code := range []uint16{5000, 65535} {
		cs = append(cs, row(fmt.Sprintf("7.13.%d/undefined close code %d → 1002 (RFC 6455 §7.4.2)", i+1, code),
			closeAndExpect(closeFrame(code, ""), 1002)))
	}
	return cs
}

// expectCloseThenTCP expects the server's close with one of codes and the TCP close with
// nothing in between; the client does not answer (its close went first).
func expectCloseThenTCP(codes ...int) step {
	return func(rc *rawConn) {
		rc.t.Helper()
		rc.expectClose("answer to the client's close", codes...)
		rc.expectTCPClose()
	}
}

// optionalEcho accepts the echo of p if it comes before the close (Autobahn 7.1.6: the
// server may drop it once the close has arrived) and requires it to be exact.
func optionalEcho(op byte, p []byte) step {
	return func(rc *rawConn) {
		rc.t.Helper()
		b, err := rc.br.Peek(1)
		if err != nil || b[0]&0x0F == opClose {
			return
		}
		rc.expectMessage(op, p)
	}
}

// --- section 9: limits and performance ---

func limitCases() []wsCase {
	var cs []wsCase
	one := func(op byte, n, frag, chop int) func() []outMsg {
		return func() []outMsg {
			p := binaryPayload(n)
			if op == opText {
				p = textPayload(n)
			}
			return []outMsg{{op: op, payload: p, frag: frag, chop: chop}}
		}
	}
	sizes := []int{64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20}
	for i, n := range sizes {
		cs = append(cs, row(fmt.Sprintf("9.1.%d/text message of %s echoed", i+1, sizeName(n)), echoAll(one(opText, n, 0, 0)), closeNormal()))
	}
	for i, n := range sizes {
		cs = append(cs, row(fmt.Sprintf("9.2.%d/binary message of %s echoed", i+1, sizeName(n)), echoAll(one(opBinary, n, 0, 0)), closeNormal()))
	}
	frags := []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20}
	for i, f := range frags {
		cs = append(cs, row(fmt.Sprintf("9.3.%d/text message of 4 MiB in %s fragments echoed", i+1, sizeName(f)), echoAll(one(opText, 4<<20, f, 0)), closeNormal()))
	}
	for i, f := range frags {
		cs = append(cs, row(fmt.Sprintf("9.4.%d/binary message of 4 MiB in %s fragments echoed", i+1, sizeName(f)), echoAll(one(opBinary, 4<<20, f, 0)), closeNormal()))
	}
	chops := []int{64, 128, 256, 512, 1024, 2048}
	for i, c := range chops {
		cs = append(cs, row(fmt.Sprintf("9.5.%d/text message of 1 MiB written in %d-byte chops echoed", i+1, c), echoAll(one(opText, 1<<20, 0, c)), closeNormal()))
	}
	for i, c := range chops {
		cs = append(cs, row(fmt.Sprintf("9.6.%d/binary message of 1 MiB written in %d-byte chops echoed", i+1, c), echoAll(one(opBinary, 1<<20, 0, c)), closeNormal()))
	}
	many := func(op byte, n int) func() []outMsg {
		return func() []outMsg {
			p := binaryPayload(n)
			if op == opText {
				p = textPayload(n)
			}
			msgs := make([]outMsg, 1000)
			for i := range msgs {
				msgs[i] = outMsg{op: op, payload: p}
			}
			return msgs
		}
	}
	for i, n := range []int{0, 16, 64, 256, 1024, 4096} {
		cs = append(cs, row(fmt.Sprintf("9.7.%d/1000 text messages of %d bytes echoed", i+1, n), echoAll(many(opText, n)), closeNormal()))
	}
	for i, n := range []int{0, 16, 64, 256, 1024, 4096} {
		cs = append(cs, row(fmt.Sprintf("9.8.%d/1000 binary messages of %d bytes echoed", i+1, n), echoAll(many(opBinary, n)), closeNormal()))
	}
	cs = append(cs, row("9.x.1/frame announcing MaxFrameSize+1 → 1009 before its payload is sent",
		sendRaw(frame{fin: true, op: opBinary, setLen: true, length: echoLimits.MaxFrameSize + 1}.encode()), failFast(1009)))
	return cs
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// smallLimits is a server configuration whose limits are cheap to reach, and whose close
// handshake gives up after a second.
var smallLimits = ws.AcceptOptions{Limits: ws.Limits{MaxFrameSize: 1 << 10, MaxMessageSize: 4 << 10, CloseTimeout: time.Second}}

func smallLimitCases() []wsCase {
	b1000 := bytes.Repeat([]byte("x"), 1000)
	exact := bytes.Repeat([]byte("y"), 1024)
	var over []frame
	for i := range 5 {
		f := binFrame(b1000).noFin()
		if i > 0 {
			f.op = opCont
		}
		over = append(over, f)
	}
	var fit []frame
	for i := range 4 {
		f := binFrame(exact).noFin()
		if i > 0 {
			f.op = opCont
		}
		fit = append(fit, f)
	}
	fit[3].fin = true
	return []wsCase{
		row("9.x.2/frame announcing 1025 bytes over a 1 KiB MaxFrameSize → 1009 before its payload",
			sendRaw(frame{fin: true, op: opBinary, setLen: true, length: 1025}.encode()), failFast(1009)),
		row("9.x.3/frame of exactly MaxFrameSize echoed", send(binFrame(exact)), expectBinary(exact), closeNormal()),
		row("9.x.4/fragments crossing a 4 KiB MaxMessageSize → 1009 at the crossing fragment",
			send(over[:4]...), syncPing(), send(over[4]), failFast(1009)),
		row("9.x.5/message of exactly MaxMessageSize in 4 fragments echoed",
			send(fit...), expectBinary(bytes.Repeat(exact, 4)), closeNormal()),
		row("7.x.5/failing server closes TCP though the client never answers its close (RFC 6455 §7.1.7)",
			send(txtFrame("x").withRSV(2)), expectCloseThenTCP(1002)),
	}
}

// smallLimitDeflateCases run with permessage-deflate negotiated on the small-limits server.
func smallLimitDeflateCases() []wsCase {
	bomb := rawDeflate(bytes.Repeat([]byte{0}, 256<<10), flate.BestCompression)
	exact := bytes.Repeat([]byte("z"), 4<<10)
	return []wsCase{
		row("9.x.6/compressed message inflating past MaxMessageSize → 1009 (decompression bomb)",
			requirePMD(), send(frame{fin: true, rsv: 4, op: opBinary, payload: bomb}), fail(1009)),
		row("9.x.7/compressed message inflating to exactly MaxMessageSize echoed",
			requirePMD(), send(frame{fin: true, rsv: 4, op: opBinary, payload: rawDeflate(exact, flate.BestSpeed)}),
			expectBinary(exact), closeNormal()),
	}
}

// rawDeflate compresses p on its own with a sync flush and strips 00 00 ff ff (RFC 7692 §7.2.1).
func rawDeflate(p []byte, level int) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, level)
	w.Write(p)
	w.Flush()
	return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// requirePMD fails the case unless permessage-deflate was negotiated.
func requirePMD() step {
	return func(rc *rawConn) {
		rc.t.Helper()
		if rc.pmd == nil {
			rc.t.Fatalf("server declined permessage-deflate (response headers %v)", rc.resp.Header)
		}
	}
}

// --- section 10: autofragmentation ---

func autofragCases() []wsCase {
	p := textPayload(65536)
	return []wsCase{
		row("10.1.1/text message of 64 KiB in 1300-byte fragments echoed",
			echoAll(func() []outMsg { return []outMsg{{op: opText, payload: p, frag: 1300}} }), closeNormal()),
	}
}

// --- sections 12 and 13: permessage-deflate ---

// pmdSizes is Autobahn's size and autofragmentation table for sections 12 and 13.
var pmdSizes = []struct{ size, frag int }{
	{16, 0}, {64, 0}, {256, 0}, {1024, 0}, {4096, 0}, {8192, 0}, {16384, 0}, {32768, 0}, {65536, 0}, {131072, 0},
	{256, 256}, {1024, 256}, {4096, 256}, {8192, 256}, {16384, 256}, {32768, 256}, {65536, 256}, {131072, 256},
}

// pmdCount is how many messages a case sends: a byte budget, at most most, and at least two
// while a message fits in the 32 KiB window, so that the next one can refer back into it.
func pmdCount(size, budget, most int) int {
	least := 1
	if size <= 32<<10 {
		least = 2
	}
	return min(max(budget/size, least), most)
}

// defaultOffer is Autobahn's default client offer without client_no_context_takeover, so
// that the server's inflater has to keep the client's window when it allows that.
const defaultOffer = "permessage-deflate; client_max_window_bits"

func deflateCorpusCases() []wsCase {
	var cs []wsCase
	for ci, c := range corpora {
		for si, s := range pmdSizes {
			frag := "no fragmentation"
			if s.frag > 0 {
				frag = fmt.Sprintf("%d-byte fragments", s.frag)
			}
			n := pmdCount(s.size, 64<<10, 40)
			steps := []step{requirePMD(), echoAll(sameMessages(c, s.size, s.frag, n))}
			if c.name != "random binary" && s.size >= 256 {
				steps = append(steps, serverCompressed())
			}
			cs = append(cs, row(fmt.Sprintf("12.%d.%d/%d compressed %s messages of %d bytes, %s, echoed", ci+1, si+1, n, c.name, s.size, frag),
				append(steps, closeNormal())...))
		}
	}
	return cs
}

// sameMessages returns n messages cut from one corpus stream, so that consecutive messages
// differ yet share vocabulary (context takeover pays off, and a server that claims
// server_no_context_takeover but refers back into an earlier message is caught).
func sameMessages(c corpus, size, frag, n int) func() []outMsg {
	return func() []outMsg {
		stream := c.gen(size * n)
		msgs := make([]outMsg, n)
		for i := range msgs {
			p := stream[i*size : (i+1)*size]
			if c.op == opText {
				p = fixUTF8Cut(p)
			}
			msgs[i] = outMsg{op: c.op, payload: p, frag: frag, compress: true}
		}
		return msgs
	}
}

// fixUTF8Cut replaces bytes of code points cut at either end of p with spaces.
func fixUTF8Cut(p []byte) []byte {
	p = bytes.Clone(p)
	for i := 0; i < len(p) && i < 3 && !utf8.RuneStart(p[i]); i++ {
		p[i] = ' '
	}
	for i := len(p) - 1; i >= 0 && i >= len(p)-4; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				for j := i; j < len(p); j++ {
					p[j] = ' '
				}
			}
			break
		}
	}
	return p
}

// offers13 are Autobahn's section 13 client offers: (client_no_context_takeover is always
// offered) x (server_no_context_takeover, server_max_window_bits).
var offers13 = []struct {
	desc  string
	offer string
}{
	{"default offer", "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
	{"offer server_no_context_takeover", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover"},
	{"offer server_max_window_bits=8", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=8"},
	{"offer server_max_window_bits=15", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=15"},
	{"offer server_no_context_takeover, server_max_window_bits=8", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=8"},
	{"offer server_no_context_takeover, server_max_window_bits=15", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=15"},
	{"three offers", "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=8, " +
		"permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover, " +
		"permessage-deflate; client_no_context_takeover; client_max_window_bits"},
}

// offers13x add offers Autobahn lacks: the client keeps its context, or asks the server to
// limit the client's window.
var offers13x = []struct {
	desc  string
	offer string
}{
	{"client keeps its context", "permessage-deflate"},
	{"client_max_window_bits=9 hint", "permessage-deflate; client_max_window_bits=9"},
	{"server_max_window_bits=9 without client_no_context_takeover", "permessage-deflate; server_max_window_bits=9; client_max_window_bits"},
}

// deflateOfferCases returns section 13 for one offer.
func deflateOfferCases(sec string, desc string) []wsCase {
	var cs []wsCase
	for si, s := range pmdSizes {
		frag := "no fragmentation"
		if s.frag > 0 {
			frag = fmt.Sprintf("%d-byte fragments", s.frag)
		}
		n := pmdCount(s.size, 32<<10, 20)
		steps := []step{requirePMD(), echoAll(sameMessages(corpora[0], s.size, s.frag, n))}
		if s.size >= 256 {
			steps = append(steps, serverCompressed())
		}
		cs = append(cs, row(fmt.Sprintf("%s.%d/%s: %d messages of %d bytes, %s, echoed", sec, si+1, desc, n, s.size, frag),
			append(steps, closeNormal())...))
	}
	return cs
}

// deflateRuleCases are RFC 7692 rules and its §7.2.3 example payloads, on a connection that
// negotiated the default offer.
func deflateRuleCases(takeover bool) []wsCase {
	hello := []byte("Hello")
	cases := []wsCase{
		row("12.x.1/RFC 7692 §7.2.3.1 example: 'Hello' compressed echoed",
			requirePMD(), send(frame{fin: true, rsv: 4, op: opText, payload: hexb("f2 48 cd c9 c9 07 00")}), expectText("Hello"), closeNormal()),
		row("12.x.2/RFC 7692 §7.2.3.3 example: 'Hello' in a stored block echoed",
			requirePMD(), send(frame{fin: true, rsv: 4, op: opText, payload: hexb("00 05 00 fa ff 48 65 6c 6c 6f 00")}), expectText("Hello"), closeNormal()),
		row("12.x.3/RFC 7692 §7.2.3.4 example: 'Hello' with BFINAL set echoed",
			requirePMD(), send(frame{fin: true, rsv: 4, op: opText, payload: hexb("f3 48 cd c9 c9 07 00 00")}), expectText("Hello"), closeNormal()),
		row("12.x.4/RFC 7692 §7.2.3.5 example: 'Hello' in two DEFLATE blocks echoed",
			requirePMD(), send(frame{fin: true, rsv: 4, op: opText, payload: hexb("f2 48 05 00 00 00 ff ff ca c9 c9 07 00")}), expectText("Hello"), closeNormal()),
		row("12.x.5/RFC 7692 §7.2.3.6 example: empty message as a single 00 byte echoed",
			requirePMD(), send(frame{fin: true, rsv: 4, op: opBinary, payload: []byte{0}}), expectBinary(nil), closeNormal()),
		row("12.x.6/RFC 7692 §7.2.3.1 example fragmented (RSV1 on the first frame only) echoed",
			requirePMD(), send(frame{rsv: 4, op: opText, payload: hexb("f2 48")}, frame{op: opCont, payload: hexb("cd c9")}, frame{fin: true, op: opCont, payload: hexb("c9 07 00")}),
			expectText("Hello"), closeNormal()),
		row("12.x.7/uncompressed message on a compressed connection echoed (RFC 7692 §6)",
			requirePMD(), send(txtFrame("not compressed")), expectText("not compressed"), closeNormal()),
		row("12.x.8/RSV1 on a continuation frame → 1002 (RFC 7692 §6.1)",
			requirePMD(), send(frame{rsv: 4, op: opText, payload: hexb("f2 48")}, frame{fin: true, rsv: 4, op: opCont, payload: hexb("cd c9 c9 07 00")}), fail(1002)),
		row("12.x.9/RSV1 on a ping → 1002 (RFC 7692 §6.1)",
			requirePMD(), send(pingFrame(hexb("f2 48 cd c9 c9 07 00")).withRSV(4)), fail(1002)),
		row("12.x.10/RSV2 on a compressed message → 1002 (RFC 6455 §5.2)",
			requirePMD(), send(frame{fin: true, rsv: 6, op: opText, payload: hexb("f2 48 cd c9 c9 07 00")}), fail(1002)),
		row("12.x.11/DEFLATE block of reserved type 3 → 1007 or 1002 (RFC 7692 §7.2.2)",
			requirePMD(), send(frame{fin: true, rsv: 4, op: opBinary, payload: []byte{0x07, 0x00}}), fail(1007, 1002)),
		row("12.x.12/compressed text inflating to invalid UTF-8 → 1007 (RFC 6455 §8.1)",
			requirePMD(), send(frame{fin: true, rsv: 4, op: opText, payload: rawDeflate([]byte("κόσμε\xed\xa0\x80edited"), flate.BestSpeed)}), fail(1007)),
		row("12.x.13/compressed message one byte per fragment echoed",
			requirePMD(), echoAll(func() []outMsg {
				return []outMsg{{op: opText, payload: []byte("Hello, compressed fragments! Hello, compressed fragments!"), frag: 1, compress: true}}
			}), closeNormal()),
		row("12.x.14/compressed empty text message echoed",
			requirePMD(), echoAll(func() []outMsg { return []outMsg{{op: opText, payload: []byte{}, compress: true}} }), closeNormal()),
	}
	if takeover {
		cases = append(cases, row("12.x.15/RFC 7692 §7.2.3.2 example: second 'Hello' refers back into the first (context takeover) echoed",
			requirePMD(), requireClientTakeover(),
			send(frame{fin: true, rsv: 4, op: opText, payload: hexb("f2 48 cd c9 c9 07 00")}),
			expectData(opText, hello),
			send(frame{fin: true, rsv: 4, op: opText, payload: hexb("f2 00 11 00 00")}),
			expectData(opText, hello), closeNormal()))
	}
	return cases
}

// serverCompressed checks that the server compressed at least one of its echoes. Sending
// uncompressed messages is always allowed (RFC 7692 §6), but a server that negotiates and then
// never compresses would pass sections 12 and 13 without exercising them; every compressing
// configuration here compresses compressible messages of 256 bytes and more.
func serverCompressed() step {
	return func(rc *rawConn) {
		rc.t.Helper()
		if rc.compressedIn == 0 {
			rc.t.Fatalf("server compressed none of its echoes (negotiated %q)", rc.resp.Header.Get("Sec-WebSocket-Extensions"))
		}
	}
}

func requireClientTakeover() step {
	return func(rc *rawConn) {
		rc.t.Helper()
		if rc.pmd.clientNoTakeover {
			rc.t.Fatalf("server demanded client_no_context_takeover though PeerContextTakeover is set (%q)", rc.resp.Header.Get("Sec-WebSocket-Extensions"))
		}
	}
}

// --- opening handshake (RFC 6455 §4.2) ---

type hsCase struct {
	name   string
	server string // key into the handshake servers
	mutate func(r *upgradeReq)
	status int
	check  func(t *testing.T, resp *http.Response, rc *rawConn)
}

// wantHeader checks an exact response header value ("" = absent).
func wantHeader(name, want string) func(*testing.T, *http.Response, *rawConn) {
	return func(t *testing.T, resp *http.Response, _ *rawConn) {
		t.Helper()
		got := strings.Join(resp.Header.Values(name), ", ")
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func handshakeCases(addrOf func(string) string) []hsCase {
	offer := func(v string) func(*upgradeReq) {
		return func(r *upgradeReq) { r.set("Sec-WebSocket-Extensions", v) }
	}
	protos := func(vs ...string) func(*upgradeReq) {
		return func(r *upgradeReq) {
			for _, v := range vs {
				r.add("Sec-WebSocket-Protocol", v)
			}
		}
	}
	version426 := func(t *testing.T, resp *http.Response, _ *rawConn) {
		t.Helper()
		if got := resp.Header.Get("Sec-WebSocket-Version"); got != "13" {
			t.Errorf("426 response has Sec-WebSocket-Version %q, want 13 (RFC 6455 §4.4)", got)
		}
	}
	echoWorks := func(t *testing.T, _ *http.Response, rc *rawConn) {
		t.Helper()
		send(txtFrame("after handshake"))(rc)
		rc.expectMessage(opText, []byte("after handshake"))
		rc.closeNormally()
	}
	pmdDefault := "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	return []hsCase{
		{"4.2.2/valid request → 101 with Sec-WebSocket-Accept, Upgrade, Connection", "default", nil, 101, echoWorks},
		{"4.2.1/missing Sec-WebSocket-Key → 400", "default", func(r *upgradeReq) { r.del("Sec-WebSocket-Key") }, 400, nil},
		{"4.2.1/Sec-WebSocket-Key not base64 → 400", "default", func(r *upgradeReq) { r.set("Sec-WebSocket-Key", "not base64 at all!!!!!==") }, 400, nil},
		{"4.2.1/Sec-WebSocket-Key of 15 bytes → 400", "default", func(r *upgradeReq) { r.set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(make([]byte, 15))) }, 400, nil},
		{"4.2.1/Sec-WebSocket-Key of 17 bytes → 400", "default", func(r *upgradeReq) { r.set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(make([]byte, 17))) }, 400, nil},
		{"11.3.1/Sec-WebSocket-Key twice → 400", "default", func(r *upgradeReq) { r.add("Sec-WebSocket-Key", newKey()) }, 400, nil},
		{"4.2.2/Sec-WebSocket-Version 8 → 426 with Sec-WebSocket-Version: 13", "default", func(r *upgradeReq) { r.set("Sec-WebSocket-Version", "8") }, 426, version426},
		{"4.2.2/Sec-WebSocket-Version 14 → 426 with Sec-WebSocket-Version: 13", "default", func(r *upgradeReq) { r.set("Sec-WebSocket-Version", "14") }, 426, version426},
		{"4.2.1/missing Sec-WebSocket-Version → 400", "default", func(r *upgradeReq) { r.del("Sec-WebSocket-Version") }, 400, nil},
		{"4.2.1/POST → 405 with Allow: GET (RFC 9110 §15.5.6)", "default", func(r *upgradeReq) { r.method = "POST"; r.add("Content-Length", "0") }, 405, wantHeader("Allow", "GET")},
		{"4.2.1/missing Upgrade → 400", "default", func(r *upgradeReq) { r.del("Upgrade") }, 400, nil},
		{"4.2.1/Upgrade: h2c → 400", "default", func(r *upgradeReq) { r.set("Upgrade", "h2c") }, 400, nil},
		{"4.2.1/missing Connection → 400", "default", func(r *upgradeReq) { r.del("Connection") }, 400, nil},
		{"4.2.1/Connection: keep-alive without Upgrade → 400", "default", func(r *upgradeReq) { r.set("Connection", "keep-alive") }, 400, nil},
		{"4.2.1/Upgrade and Connection compared case-insensitively, Connection as a token list → 101", "default", func(r *upgradeReq) {
			r.set("Upgrade", "WebSocket")
			r.set("Connection", "keep-alive, UPGRADE")
		}, 101, echoWorks},
		{"4.1/HTTP 1.0 request → 400", "default", func(r *upgradeReq) { r.proto = "HTTP/1.0" }, 400, nil},
		{"10.2/cross-origin Origin → 403", "default", func(r *upgradeReq) { r.set("Origin", "http://evil.example") }, 403, nil},
		{"10.2/Origin with the same host but another port → 403 (RFC 6454 origin)", "default", func(r *upgradeReq) { r.set("Origin", "http://127.0.0.1:1") }, 403, nil},
		{"10.2/Origin null → 403", "default", func(r *upgradeReq) { r.set("Origin", "null") }, 403, nil},
		{"10.2/same-host Origin → 101", "default", func(r *upgradeReq) { r.set("Origin", "http://"+addrOf("default")) }, 101, echoWorks},
		{"10.2/no Origin (not a browser) → 101", "default", func(r *upgradeReq) { r.del("Origin") }, 101, nil},
		{"4.2.2/subprotocol: server preference wins among offered", "proto", protos("chat.v1, chat.v2"), 101, wantHeader("Sec-WebSocket-Protocol", "chat.v2")},
		{"4.2.2/subprotocol: the only offered one we speak", "proto", protos("other, chat.v1"), 101, wantHeader("Sec-WebSocket-Protocol", "chat.v1")},
		{"4.2.2/subprotocol: offers over two header lines combined", "proto", protos("other", "chat.v1"), 101, wantHeader("Sec-WebSocket-Protocol", "chat.v1")},
		{"4.2.2/subprotocol: none in common → 101 without Sec-WebSocket-Protocol", "proto", protos("other"), 101, wantHeader("Sec-WebSocket-Protocol", "")},
		{"4.2.2/subprotocol: none offered → no Sec-WebSocket-Protocol", "proto", nil, 101, wantHeader("Sec-WebSocket-Protocol", "")},
		{"4.2.2/subprotocol: server without subprotocols selects none", "default", protos("chat.v1"), 101, wantHeader("Sec-WebSocket-Protocol", "")},
		{"6585-5/request headers over MaxHeaderBytes → 431", "default", func(r *upgradeReq) { r.add("X-Filler", strings.Repeat("a", 9000)) }, 431, nil},
		{"4.2.2/frame pipelined behind the request in the same TCP write is not lost", "default", func(r *upgradeReq) {
			r.after = encodeAll([]frame{txtFrame("pipelined"), pingFrame([]byte("pipelined ping"))})
		}, 101, func(t *testing.T, _ *http.Response, rc *rawConn) {
			rc.expectMessage(opText, []byte("pipelined"))
			rc.expectPong([]byte("pipelined ping"))
			rc.closeNormally()
		}},
		// Extension negotiation (RFC 7692 §7.1): exact response text.
		{"7692-7.1/default server answers a bare offer with both no_context_takeover", "default", offer("permessage-deflate"), 101, wantHeader("Sec-WebSocket-Extensions", pmdDefault)},
		{"7692-7.1/default server answers Autobahn's default offer", "default", offer("permessage-deflate; client_no_context_takeover; client_max_window_bits"), 101, wantHeader("Sec-WebSocket-Extensions", pmdDefault)},
		{"7692-7.1.2.1/server_max_window_bits=10 echoed", "default", offer("permessage-deflate; server_max_window_bits=10"), 101, wantHeader("Sec-WebSocket-Extensions", pmdDefault+"; server_max_window_bits=10")},
		{"7692-7.1/takeover server answers a bare offer bare", "takeover", offer("permessage-deflate"), 101, wantHeader("Sec-WebSocket-Extensions", "permessage-deflate")},
		{"7692-7.1.1.1/takeover server honours server_no_context_takeover", "takeover", offer("permessage-deflate; server_no_context_takeover"), 101, wantHeader("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover")},
		{"7692-7.1.1.2/takeover server echoes client_no_context_takeover", "takeover", offer("permessage-deflate; client_no_context_takeover"), 101, wantHeader("Sec-WebSocket-Extensions", "permessage-deflate; client_no_context_takeover")},
		{"7692-7.1.2.2/client_max_window_bits without value not answered with one", "takeover", offer("permessage-deflate; client_max_window_bits"), 101, wantHeader("Sec-WebSocket-Extensions", "permessage-deflate")},
		{"7692-7.1/compression disabled: offer declined", "disabled", offer("permessage-deflate; client_max_window_bits"), 101, wantHeader("Sec-WebSocket-Extensions", "")},
		{"9.1/unknown extension declined", "default", offer("x-webkit-deflate-frame"), 101, wantHeader("Sec-WebSocket-Extensions", "")},
		{"7692-7/unknown parameter: offer declined", "default", offer("permessage-deflate; foo=1"), 101, wantHeader("Sec-WebSocket-Extensions", "")},
		{"7692-7/repeated parameter: offer declined", "default", offer("permessage-deflate; server_no_context_takeover; server_no_context_takeover"), 101, wantHeader("Sec-WebSocket-Extensions", "")},
		{"7692-7.1.1.1/server_no_context_takeover with a value: offer declined", "default", offer("permessage-deflate; server_no_context_takeover=1"), 101, wantHeader("Sec-WebSocket-Extensions", "")},
		{"7692-7.1.2.1/server_max_window_bits=7: offer declined", "default", offer("permessage-deflate; server_max_window_bits=7"), 101, wantHeader("Sec-WebSocket-Extensions", "")},
		{"7692-7.1.2.1/server_max_window_bits without value: offer declined", "default", offer("permessage-deflate; server_max_window_bits"), 101, wantHeader("Sec-WebSocket-Extensions", "")},
		{"7692-7.1.2.2/client_max_window_bits=16: offer declined", "default", offer("permessage-deflate; client_max_window_bits=16"), 101, wantHeader("Sec-WebSocket-Extensions", "")},
		{"7692-7.1.2.1/server_max_window_bits=08 (leading zero): offer declined", "default", offer("permessage-deflate; server_max_window_bits=08"), 101, wantHeader("Sec-WebSocket-Extensions", "")},
		{"7692-5/invalid first offer, valid second: second accepted", "default", offer("permessage-deflate; server_max_window_bits=16, permessage-deflate"), 101, wantHeader("Sec-WebSocket-Extensions", pmdDefault)},
		{"7692-5/unknown extension first, permessage-deflate second: accepted alone", "takeover", offer("x-unknown; a=b, permessage-deflate"), 101, wantHeader("Sec-WebSocket-Extensions", "permessage-deflate")},
		{"7692-7.1/offer split over two header lines: first acceptable one taken", "takeover", func(r *upgradeReq) {
			r.add("Sec-WebSocket-Extensions", "permessage-deflate; bogus")
			r.add("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover")
		}, 101, wantHeader("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover")},
		{"7692-7/quoted parameter value accepted", "takeover", offer(`permessage-deflate; server_max_window_bits="12"`), 101, wantHeader("Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=12")},
	}
}

// --- the tests ---

// TestConformanceHandshake covers the server's opening handshake (RFC 6455 §4.2.1, §4.2.2,
// §10.2; RFC 7692 §7.1 negotiation responses).
func TestConformanceHandshake(t *testing.T) {
	t.Parallel()
	addrs := map[string]string{
		"default":  startEchoServer(t, echoOptions(compressionDefault)),
		"takeover": startEchoServer(t, echoOptions(compressionTakeover)),
		"disabled": startEchoServer(t, echoOptions(compressionOff)),
		"proto":    startEchoServer(t, ws.AcceptOptions{Limits: echoLimits, Subprotocols: []string{"chat.v2", "chat.v1"}}),
	}
	for _, tc := range handshakeCases(func(k string) string { return addrs[k] }) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := addrs[tc.server]
			req := newUpgradeReq(addr)
			if tc.mutate != nil {
				tc.mutate(req)
			}
			rc, resp := handshake(t, addr, req)
			if resp.StatusCode != tc.status {
				body, _ := readBody(resp)
				t.Fatalf("status %s (%q), want %d", resp.Status, body, tc.status)
			}
			if tc.check != nil {
				tc.check(t, resp, rc)
			}
		})
	}
}

// TestConformanceProtocol runs Autobahn sections 1-7 and 10 against each plain server
// configuration, with no extension offered.
func TestConformanceProtocol(t *testing.T) {
	t.Parallel()
	sections := []struct {
		name  string
		cases func() []wsCase
	}{
		{"1-framing", framingCases},
		{"2-pings", pingCases},
		{"3-reserved-bits", reservedBitCases},
		{"4-opcodes", opcodeCases},
		{"5-fragmentation", fragmentationCases},
		{"6-utf8", utf8Cases},
		{"7-close", closeCases},
		{"10-autofragmentation", autofragCases},
	}
	for _, cfg := range plainConfigs {
		addr := cfg.start(t)
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			for _, sec := range sections {
				t.Run(sec.name, func(t *testing.T) {
					t.Parallel()
					runCases(t, addr, "", caseWorkers, sec.cases())
				})
			}
		})
	}
}

// TestConformanceLimits runs Autobahn section 9 (large and many messages) against the echo
// handler's limits, and the limit rules (1009) against a server with small limits.
func TestConformanceLimits(t *testing.T) {
	t.Parallel()
	addr := startEchoServer(t, echoOptions(compressionOff))
	small := startEchoServer(t, smallLimits)
	t.Run("9-limits", func(t *testing.T) {
		t.Parallel()
		runCases(t, addr, "", 4, limitCases())
	})
	t.Run("9-small-limits", func(t *testing.T) {
		t.Parallel()
		runCases(t, small, "", caseWorkers, smallLimitCases())
	})
	t.Run("9-small-limits-deflate", func(t *testing.T) {
		t.Parallel()
		runCases(t, small, defaultOffer, caseWorkers, smallLimitDeflateCases())
	})
}

// TestConformanceDeflate runs Autobahn section 12 (compressed messages of various kinds and
// sizes), the RFC 7692 rules and examples, and section 13 (offers with various parameters)
// against each compressing server configuration.
func TestConformanceDeflate(t *testing.T) {
	t.Parallel()
	for _, cfg := range deflateConfigs {
		addr := cfg.start(t)
		takeover := cfg.opts.Compression.PeerContextTakeover
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			t.Run("12-corpora", func(t *testing.T) {
				t.Parallel()
				runCases(t, addr, defaultOffer, caseWorkers, deflateCorpusCases())
			})
			t.Run("12-rules", func(t *testing.T) {
				t.Parallel()
				runCases(t, addr, defaultOffer, caseWorkers, deflateRuleCases(takeover))
			})
			for i, o := range offers13 {
				t.Run(fmt.Sprintf("13.%d", i+1), func(t *testing.T) {
					t.Parallel()
					runCases(t, addr, o.offer, caseWorkers, deflateOfferCases(fmt.Sprintf("13.%d", i+1), o.desc))
				})
			}
			for i, o := range offers13x {
				t.Run(fmt.Sprintf("13.x.%d", i+1), func(t *testing.T) {
					t.Parallel()
					runCases(t, addr, o.offer, caseWorkers, deflateOfferCases(fmt.Sprintf("13.x.%d", i+1), o.desc))
				})
			}
		})
	}
	t.Run("compression-disabled", func(t *testing.T) {
		t.Parallel()
		addr := startEchoServer(t, echoOptions(compressionOff))
		runCases(t, addr, defaultOffer, caseWorkers, []wsCase{
			row("12.x.16/offer declined: plain messages echoed", requireNoPMD(), send(txtFrame("plain")), expectText("plain"), closeNormal()),
			row("12.x.17/offer declined: RSV1 → 1002 (RFC 6455 §5.2)", requireNoPMD(),
				send(frame{fin: true, rsv: 4, op: opText, payload: hexb("f2 48 cd c9 c9 07 00")}), fail(1002)),
		})
	})
}

func requireNoPMD() step {
	return func(rc *rawConn) {
		rc.t.Helper()
		if rc.pmd != nil {
			rc.t.Fatalf("server with compression disabled accepted permessage-deflate")
		}
	}
}

// TestConformanceInflateChecker checks the test's own window-checking DEFLATE decoder
// against compress/flate, so that a section 13 failure it reports is the server's.
func TestConformanceInflateChecker(t *testing.T) {
	t.Parallel()
	hist := textPayload(40 << 10)
	for _, n := range []int{0, 1, 100, 5000, 70000} {
		p := textPayload(n)
		for _, level := range []int{flate.HuffmanOnly, flate.BestSpeed, flate.BestCompression} {
			var b bytes.Buffer
			w, _ := flate.NewWriterDict(&b, level, hist[len(hist)-32<<10:])
			w.Write(p)
			w.Flush()
			in := append(bytes.Clone(b.Bytes()), 0x01, 0x00, 0x00, 0xff, 0xff)
			got, err := inflateChecked(in, hist[len(hist)-32<<10:], 1<<15)
			if err != nil || !bytes.Equal(got, p) {
				t.Fatalf("level %d, %d bytes: err %v, %s", level, n, err, diffBytes(got, p))
			}
		}
	}
	// References 1000 bytes back must be refused with a 512-byte window.
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(bytes.Repeat(binaryPayload(1000), 3))
	w.Flush()
	if got, err := inflateChecked(b.Bytes(), nil, 1<<15); err != nil || len(got) != 3000 {
		t.Fatalf("inflateChecked with a 32 KiB window: %d bytes, %v", len(got), err)
	}
	if _, err := inflateChecked(b.Bytes(), nil, 512); err == nil {
		t.Fatal("inflateChecked accepted a back-reference beyond the window")
	}
	// The RFC 7692 §7.2.3 examples decode as the RFC says.
	for _, ex := range []string{"f2 48 cd c9 c9 07 00", "00 05 00 fa ff 48 65 6c 6c 6f 00", "f3 48 cd c9 c9 07 00 00", "f2 48 05 00 00 00 ff ff ca c9 c9 07 00"} {
		got, err := inflateChecked(append(hexb(ex), 0, 0, 0xff, 0xff), nil, 1<<15)
		if err != nil || string(got) != "Hello" {
			t.Fatalf("RFC 7692 example %s: %q, %v", ex, got, err)
		}
	}
}
