package ws_test

// Interoperability tests: our net/ws against WebSocket implementations we did not write.
//
//   - Python websockets (Debian's python3-websockets) and Node's ws package, each as the
//     CLIENT of our Accept-based echo server and as the SERVER of our Dial client, with and
//     without permessage-deflate (RFC 7692): text and binary messages around the payload
//     length encodings of RFC 6455 §5.2, fragmented messages (§5.4, text split inside
//     UTF-8 sequences, control frames between fragments), 1 MiB and 4 MiB messages, and
//     close codes in both directions (§5.5.1, §7.4).
//   - Chromium, driven by playwright-core: a page served by our server echoes binary and
//     text data over /echo; the browser must have negotiated permessage-deflate.
//
// The peers are scripts in testdata/peers (see internal/peertest). A peer that is not
// installed skips its test, or fails it when CI=true. Every test runs under a hard
// deadline: peers are killed and our connections dropped when it passes.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rallypoint/rallypoint/internal/peertest"
	"github.com/rallypoint/rallypoint/net/ws"
)

// interopTimeout is the hard deadline of one peer × compression-mode run.
const interopTimeout = 2 * time.Minute

// interopScenarioTimeout is what a peer script allows one scenario (seconds).
const interopScenarioTimeout = "60"

// interopSubprotocol is the subprotocol our server and the peer servers select.
const interopSubprotocol = "rallypoint.v1"

// interopLimits lets 4 MiB messages through and keeps rate limits out of the way.
func interopLimits() ws.Limits {
	return ws.Limits{
		MaxFrameSize:         16 << 20,
		MaxMessageSize:       16 << 20,
		MaxQueuedBytes:       64 << 20,
		MaxMessagesPerSecond: -1,
	}
}

// interopPeer is one implementation we did not write.
type interopPeer struct {
	name   string
	find   func(t testing.TB) string // executable; skips (or fails in CI) when missing
	client string                    // script, run as the client of our server
	server string                    // script, run as the server of our client
}

var interopPeers = []interopPeer{
	{name: "python-websockets", find: peertest.Python, client: "python_client.py", server: "python_server.py"},
	{name: "node-ws", find: peertest.Node, client: "node_client.mjs", server: "node_server.mjs"},
}

// interopMode is one permessage-deflate configuration of the two ends.
type interopMode struct {
	name        string
	peerDeflate bool                  // peer client offers / peer server accepts permessage-deflate
	ours        ws.CompressionOptions // our end
	want        bool                  // permessage-deflate must be negotiated
}

// compressAll makes even one-byte messages compressed, so every frame shape is covered.
const compressAll = -1

// Modes with a peer as client of our server.
var interopServerModes = []interopMode{
	{name: "plain", peerDeflate: false, ours: ws.CompressionOptions{}, want: false},
	{name: "deflate", peerDeflate: true, ours: ws.CompressionOptions{Threshold: compressAll}, want: true},
	{name: "deflate-takeover", peerDeflate: true, ours: ws.CompressionOptions{
		Mode: ws.CompressionContextTakeover, PeerContextTakeover: true, Threshold: compressAll}, want: true},
	{name: "deflate-declined", peerDeflate: true, ours: ws.CompressionOptions{Mode: ws.CompressionDisabled}, want: false},
}

// Modes with a peer as server of our client.
var interopClientModes = []interopMode{
	{name: "plain", peerDeflate: true, ours: ws.CompressionOptions{Mode: ws.CompressionDisabled}, want: false},
	{name: "deflate", peerDeflate: true, ours: ws.CompressionOptions{Threshold: compressAll}, want: true},
	{name: "deflate-takeover", peerDeflate: true, ours: ws.CompressionOptions{
		Mode: ws.CompressionContextTakeover, PeerContextTakeover: true, Threshold: compressAll}, want: true},
	{name: "deflate-declined", peerDeflate: false, ours: ws.CompressionOptions{Threshold: compressAll}, want: false},
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// ---------------------------------------------------------------------------------------
// Our echo server.

// interopEnd is what our server saw of one connection, recorded under its ?tag=.
type interopEnd struct {
	AcceptErr   error
	Compressed  bool
	Extensions  string
	Subprotocol string
	Messages    int
	ReadErr     error // what OnClose got: *ws.CloseError when the peer closed
	WriteErr    error
	CloseErr    error // what our Close returned (/close)
}

// interopServer is an httptest server written against our public API:
//
//	/echo?tag=T                    echo every message with its type
//	/close?tag=T&code=C&reason=R   close with C/R right after the opening handshake
//	/browser.html                  the page in testdata/peers, for Chromium
type interopServer struct {
	opts ws.AcceptOptions
	page []byte
	srv  *httptest.Server

	mu      sync.Mutex
	ends    map[string]interopEnd
	conns   map[*ws.Conn]bool
	changed chan struct{}
	wg      sync.WaitGroup
}

func newInteropServer(t *testing.T, opts ws.AcceptOptions, page []byte) *interopServer {
	t.Helper()
	s := &interopServer{
		opts:    opts,
		page:    page,
		ends:    map[string]interopEnd{},
		conns:   map[*ws.Conn]bool{},
		changed: make(chan struct{}),
	}
	s.srv = httptest.NewServer(s)
	t.Cleanup(func() {
		s.srv.Close()
		s.mu.Lock()
		for c := range s.conns {
			_ = c.CloseNow()
		}
		s.mu.Unlock()
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("echo handlers still running 10s after CloseNow")
		}
	})
	return s
}

func (s *interopServer) addr() string { return s.srv.Listener.Addr().String() }

func (s *interopServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/browser.html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(s.page)
	case "/echo", "/close":
		s.serveWS(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *interopServer) serveWS(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tag := q.Get("tag")
	opts := s.opts
	_, err := ws.Serve(w, r, &opts, func(c *ws.Conn) ws.Handler {
		h := &interopEcho{s: s, tag: tag, end: interopEnd{Compressed: c.Compressed(), Extensions: c.Extensions(), Subprotocol: c.Subprotocol()}}
		s.wg.Add(1)
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		if r.URL.Path == "/close" {
			code, _ := strconv.Atoi(q.Get("code"))
			h.closed = true
			h.end.CloseErr = c.Close(ws.StatusCode(code), q.Get("reason"))
		}
		return h
	})
	if err != nil {
		s.record(tag, interopEnd{AcceptErr: err})
	}
}

// interopEcho echoes a served connection's messages and records how it ended.
type interopEcho struct {
	s      *interopServer
	tag    string
	closed bool       // /close: our Close ended it, and its outcome is what is recorded
	end    interopEnd // touched only by open and the Handler's calls, one at a time
}

func (h *interopEcho) OnMessage(c *ws.Conn, typ ws.MessageType, p []byte) {
	h.end.Messages++
	if err := c.WriteMessage(typ, p); err != nil && h.end.WriteErr == nil {
		h.end.WriteErr = err
		_ = c.CloseNow()
	}
}

func (h *interopEcho) OnClose(c *ws.Conn, err error) {
	if !h.closed {
		h.end.ReadErr = err
	}
	h.s.mu.Lock()
	delete(h.s.conns, c)
	h.s.mu.Unlock()
	h.s.record(h.tag, h.end)
	h.s.wg.Done()
}

func (s *interopServer) record(tag string, e interopEnd) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ends[tag] = e
	close(s.changed)
	s.changed = make(chan struct{})
}

// awaitEnd waits until the connection tagged tag has ended on our side.
func (s *interopServer) awaitEnd(ctx context.Context, tag string) (interopEnd, error) {
	for {
		s.mu.Lock()
		e, ok := s.ends[tag]
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return e, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return interopEnd{}, fmt.Errorf("connection %q did not end on our server: %w", tag, ctx.Err())
		}
	}
}

// checkCloseErr checks that err is a *ws.CloseError carrying code and reason.
func checkCloseErr(t *testing.T, what string, err error, code ws.StatusCode, reason string) {
	t.Helper()
	var ce *ws.CloseError
	if !errors.As(err, &ce) {
		t.Errorf("%s: error %v (%T), want *ws.CloseError{%d %q}", what, err, err, code, reason)
		return
	}
	if ce.Code != code || ce.Reason != reason {
		t.Errorf("%s: close %d %q, want %d %q", what, ce.Code, ce.Reason, code, reason)
	}
}

func checkNegotiated(t *testing.T, who, extensions string, want bool) {
	t.Helper()
	if got := strings.Contains(extensions, "permessage-deflate"); got != want {
		t.Errorf("%s: Sec-WebSocket-Extensions %q, want permessage-deflate negotiated=%v", who, extensions, want)
	}
}

// checkWire checks, from our side's Metrics, that compression was really used in both
// directions when negotiated — wire bytes at most maxRatio of the payload, which the
// compressible part of the scenarios guarantees —, that nothing was compressed when it was
// not, and that no connection failed on our side.
func checkWire(t *testing.T, m *ws.Metrics, compressed bool, maxRatio float64) {
	t.Helper()
	in, out := m.BytesIn.Load(), m.BytesOut.Load()
	pin, pout := m.PayloadIn.Load(), m.PayloadOut.Load()
	t.Logf("our side: wire in %d / payload in %d, wire out %d / payload out %d", in, pin, out, pout)
	if pin == 0 || pout == 0 {
		t.Errorf("metrics counted no payload (in %d, out %d)", pin, pout)
	} else if compressed && (float64(in) > maxRatio*float64(pin) || float64(out) > maxRatio*float64(pout)) {
		t.Errorf("permessage-deflate negotiated but the wire carried about as much as the payload: "+
			"in %d/%d, out %d/%d, want at most %.2f (is one side not compressing?)", in, pin, out, pout, maxRatio)
	} else if !compressed && (in < pin || out < pout) {
		t.Errorf("no permessage-deflate, yet fewer wire bytes than payload: in %d/%d, out %d/%d", in, pin, out, pout)
	}
	if n := m.ProtocolErrors.Load(); n != 0 {
		t.Errorf("Metrics.ProtocolErrors = %d, want 0", n)
	}
	if n := m.SlowConsumers.Load(); n != 0 {
		t.Errorf("Metrics.SlowConsumers = %d, want 0", n)
	}
}

// ---------------------------------------------------------------------------------------
// Peers as clients of our server.

// interopClientScenarios are the scenarios every peer client script runs (see the scripts).
var interopClientScenarios = []string{
	"text", "binary", "fragmented-text", "fragmented-binary", "fragmented-ping", "large",
	"ping", "subprotocol", "close-peer", "close-server",
}

// TestInteropPeerClientsAgainstOurServer runs the Python websockets and Node ws clients
// against our Accept: echoes of text and binary messages at every payload length encoding
// (RFC 6455 §5.2), fragmented messages with continuation frames, text fragments split
// inside UTF-8 sequences and pings between fragments (§5.4), 1 MiB and 4 MiB messages, a
// ping, subprotocol selection (§4.2.2), the peer closing with 4000 and us closing with
// 1001 (§5.5.1, §7.4) — each with permessage-deflate off, on, with context takeover, and
// offered by the peer but declined by us (RFC 7692).
func TestInteropPeerClientsAgainstOurServer(t *testing.T) {
	for _, peer := range interopPeers {
		t.Run(peer.name, func(t *testing.T) {
			exe := peer.find(t)
			for _, mode := range interopServerModes {
				t.Run(mode.name, func(t *testing.T) {
					runPeerClient(t, peer, exe, mode)
				})
			}
		})
	}
}

func runPeerClient(t *testing.T, peer interopPeer, exe string, mode interopMode) {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	metrics := new(ws.Metrics)
	srv := newInteropServer(t, ws.AcceptOptions{
		Subprotocols: []string{interopSubprotocol},
		Compression:  mode.ours,
		Limits:       interopLimits(),
		Metrics:      metrics,
	}, nil)

	lines, runErr := peertest.Run(ctx, t, exe, peer.client,
		"--url", "ws://"+srv.addr(),
		"--deflate", onOff(mode.peerDeflate),
		"--scenarios", strings.Join(interopClientScenarios, ","),
		"--timeout", interopScenarioTimeout)

	results := map[string]peertest.Line{}
	var done peertest.Line
	for _, l := range lines {
		if s := l.Str("scenario"); s != "" {
			results[s] = l
		} else if l.Str("event") == "done" {
			done = l
		}
	}
	if done.Fields == nil {
		t.Errorf("%s did not finish (%v); it printed %d lines", peer.client, runErr, len(lines))
	} else if runErr != nil && done.Int("failed") == 0 {
		t.Errorf("%s: %v", peer.client, runErr)
	}

	for _, name := range interopClientScenarios {
		t.Run(name, func(t *testing.T) {
			l, ok := results[name]
			if !ok {
				t.Fatalf("%s printed no result for scenario %s", peer.client, name)
			}
			// A failed scenario line carries only the error; the peer's view of the
			// connection is checked when it passed.
			peerOK := l.Bool("ok")
			if !peerOK {
				t.Errorf("%s %s failed on the peer: %s", peer.name, name, l.Str("error"))
			} else {
				checkNegotiated(t, peer.name+" (peer's view)", l.Str("extensions"), mode.want)
			}

			endCtx, endCancel := context.WithTimeout(ctx, 10*time.Second)
			defer endCancel()
			end, err := srv.awaitEnd(endCtx, name)
			if err != nil {
				t.Fatal(err)
			}
			if end.AcceptErr != nil {
				t.Fatalf("Accept: %v", end.AcceptErr)
			}
			if end.Compressed != mode.want {
				t.Errorf("our Conn.Compressed() = %v (extensions %q), want %v", end.Compressed, end.Extensions, mode.want)
			}
			checkNegotiated(t, "our Conn.Extensions()", end.Extensions, mode.want)
			if end.WriteErr != nil {
				t.Errorf("our echo write: %v", end.WriteErr)
			}
			switch name {
			case "close-peer":
				checkCloseErr(t, "our ReadMessage after the peer's close", end.ReadErr, 4000, "peer-bye")
				if peerOK && l.Int("code") != 4000 {
					t.Logf("note: our reply to the peer's 4000 carried %d %q", l.Int("code"), l.Str("reason"))
				}
			case "close-server":
				if end.CloseErr != nil {
					t.Errorf("our Close(1001): %v", end.CloseErr)
				}
				if peerOK && (l.Int("code") != 1001 || l.Str("reason") != "server-going-away") {
					t.Errorf("peer saw close %d %q, want 1001 %q", l.Int("code"), l.Str("reason"), "server-going-away")
				}
			case "subprotocol":
				if end.Subprotocol != interopSubprotocol || (peerOK && l.Str("protocol") != interopSubprotocol) {
					t.Errorf("subprotocol: ours %q, peer's %q, want %q", end.Subprotocol, l.Str("protocol"), interopSubprotocol)
				}
				fallthrough
			default:
				if peerOK {
					checkCloseErr(t, "our ReadMessage at the end", end.ReadErr, ws.StatusNormalClosure, "done")
				} else {
					t.Logf("our side of the failed connection: ReadMessage returned %v after %d echoes", end.ReadErr, end.Messages)
				}
			}
			if want := l.Int("messages"); peerOK && end.Messages != want {
				t.Errorf("our server echoed %d messages, the peer sent %d", end.Messages, want)
			}
		})
	}
	checkWire(t, metrics, mode.want, 0.6)
}

// ---------------------------------------------------------------------------------------
// Peers as servers of our client.

// TestInteropOurClientAgainstPeerServers runs our Dial against the Python websockets and
// Node ws servers: echoes of text and binary messages at every payload length encoding
// (RFC 6455 §5.2), echoes the peer sends back fragmented (§5.4; text split inside UTF-8
// sequences by Node, a ping between fragments), 1 MiB and 4 MiB messages, subprotocol
// selection (§4.1), the peer closing with 4000 and us closing with 1001 (§5.5.1, §7.4) —
// each with permessage-deflate off, on, with context takeover, and offered by us but not
// supported by the peer (RFC 7692).
func TestInteropOurClientAgainstPeerServers(t *testing.T) {
	for _, peer := range interopPeers {
		t.Run(peer.name, func(t *testing.T) {
			exe := peer.find(t)
			for _, mode := range interopClientModes {
				t.Run(mode.name, func(t *testing.T) {
					runOurClient(t, peer, exe, mode)
				})
			}
		})
	}
}

// peerServer is a running peer server script.
type peerServer struct {
	proc    *peertest.Process
	base    string // ws://127.0.0.1:port
	mode    interopMode
	metrics *ws.Metrics
}

// dial connects our client to path (which carries ?tag=tag) and checks the negotiation on
// both ends. The connection is dropped when ctx ends or the test finishes.
func (ps *peerServer) dial(ctx context.Context, t *testing.T, tag, path string, subprotocols ...string) *ws.Conn {
	t.Helper()
	c, resp, err := ws.Dial(ctx, ps.base+path, &ws.DialOptions{
		Subprotocols: subprotocols,
		Compression:  ps.mode.ours,
		Limits:       interopLimits(),
		Metrics:      ps.metrics,
	})
	if err != nil {
		status := ""
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("Dial %s: %v (response %q)", path, err, status)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.CloseNow() })
	t.Cleanup(func() { stop(); _ = c.CloseNow() })

	if c.Compressed() != ps.mode.want {
		t.Errorf("our Conn.Compressed() = %v (extensions %q), want %v", c.Compressed(), c.Extensions(), ps.mode.want)
	}
	checkNegotiated(t, "our Conn.Extensions()", c.Extensions(), ps.mode.want)
	open, err := ps.proc.AwaitEvent(ctx, "open", "tag", tag)
	if err != nil {
		t.Fatalf("peer did not report the connection: %v", err)
	}
	checkNegotiated(t, "peer's response", open.Str("extensions"), ps.mode.want)
	if open.Str("extensions") != c.Extensions() {
		t.Errorf("extensions: peer answered %q, our Conn.Extensions() = %q", open.Str("extensions"), c.Extensions())
	}
	return c
}

// awaitPeerClosed returns the code and reason the peer server received for tag.
func (ps *peerServer) awaitPeerClosed(ctx context.Context, t *testing.T, tag string) (int, string) {
	t.Helper()
	l, err := ps.proc.AwaitEvent(ctx, "closed", "tag", tag)
	if err != nil {
		t.Fatalf("peer did not report the close of %q: %v", tag, err)
	}
	return l.Int("code"), l.Str("reason")
}

// closeNormally closes c with 1000 and checks the peer received it.
func (ps *peerServer) closeNormally(ctx context.Context, t *testing.T, c *ws.Conn, tag string) {
	t.Helper()
	if err := c.Close(ws.StatusNormalClosure, "done"); err != nil {
		t.Errorf("our Close(1000): %v", err)
	}
	if code, reason := ps.awaitPeerClosed(ctx, t, tag); code != 1000 || reason != "done" {
		t.Errorf("peer received close %d %q, want 1000 %q", code, reason, "done")
	}
}

func runOurClient(t *testing.T, peer interopPeer, exe string, mode interopMode) {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	proc := peertest.Start(ctx, t, exe, peer.server, "--port", "0", "--deflate", onOff(mode.peerDeflate))
	l, err := proc.AwaitEvent(ctx, "listening")
	if err != nil {
		t.Fatalf("%s did not start: %v", peer.server, err)
	}
	ps := &peerServer{proc: proc, base: fmt.Sprintf("ws://127.0.0.1:%d", l.Int("port")), mode: mode, metrics: new(ws.Metrics)}
	t.Logf("%s %s listening at %s", l.Str("peer"), l.Str("version"), ps.base)

	echoCases := func(t *testing.T, tag, path string, cases []interopMsg) {
		c := ps.dial(ctx, t, tag, path)
		for _, m := range cases {
			echoOnce(t, c, m)
		}
		ps.closeNormally(ctx, t, c, tag)
	}

	t.Run("text", func(t *testing.T) {
		echoCases(t, "text", "/echo?tag=text", interopTextMessages())
	})
	t.Run("binary", func(t *testing.T) {
		echoCases(t, "binary", "/echo?tag=binary", interopBinaryMessages())
	})
	t.Run("fragmented-echo", func(t *testing.T) {
		echoCases(t, "fragmented-echo", "/echo?tag=fragmented-echo&fragment=5", []interopMsg{
			textMsg("text 1000 bytes in 5", interopText(1000)),
			textMsg("text 70000 bytes in 5", interopText(70000)),
			textMsg("text one 4-byte rune", "🎮"),
			binMsg("binary random 1000 in 5", interopRandom(1000, 1)),
			binMsg("binary compressible 300000 in 5", interopCompressible(300000)),
		})
	})
	t.Run("fragmented-echo-ping", func(t *testing.T) {
		echoCases(t, "fragmented-echo-ping", "/echo?tag=fragmented-echo-ping&fragment=3&ping=1", []interopMsg{
			textMsg("text 5000 bytes in 3 with a ping", interopText(5000)),
			binMsg("binary 5000 bytes in 3 with a ping", interopRandom(5000, 2)),
		})
	})
	t.Run("large", func(t *testing.T) {
		echoCases(t, "large", "/echo?tag=large", interopLargeMessages())
	})
	t.Run("large-fragmented", func(t *testing.T) {
		echoCases(t, "large-fragmented", "/echo?tag=large-fragmented&fragment=7", []interopMsg{
			binMsg("binary random 4 MiB in 7", interopRandom(4<<20, 3)),
			textMsg("text 1 MiB in 7", interopText(1<<20)),
		})
	})
	t.Run("subprotocol", func(t *testing.T) {
		c := ps.dial(ctx, t, "subprotocol", "/echo?tag=subprotocol", "chat.other", interopSubprotocol)
		if got := c.Subprotocol(); got != interopSubprotocol {
			t.Errorf("Subprotocol() = %q, want %q", got, interopSubprotocol)
		}
		open, _ := proc.AwaitEvent(ctx, "open", "tag", "subprotocol")
		if got := open.Str("protocol"); got != interopSubprotocol {
			t.Errorf("peer selected %q, want %q", got, interopSubprotocol)
		}
		echoOnce(t, c, textMsg("hi", "hi"))
		ps.closeNormally(ctx, t, c, "subprotocol")
	})
	t.Run("close-peer", func(t *testing.T) {
		// The peer closes with 4000 right after the handshake; ReadMessage must report it
		// and our reply must reach the peer as a close frame (not a dropped connection).
		c := ps.dial(ctx, t, "close-peer", "/close?tag=close-peer&code=4000&reason=peer-bye")
		typ, data, err := c.ReadMessage()
		if err == nil {
			t.Fatalf("ReadMessage returned a %v message of %d bytes, want the peer's close", typ, len(data))
		}
		checkCloseErr(t, "ReadMessage", err, 4000, "peer-bye")
		if got := ws.CloseStatus(err); got != 4000 {
			t.Errorf("CloseStatus = %d, want 4000", got)
		}
		code, reason := ps.awaitPeerClosed(ctx, t, "close-peer")
		if code == 1005 || code == 1006 {
			t.Errorf("peer got no close frame back from us (it reports %d %q)", code, reason)
		} else if code != 4000 {
			t.Logf("note: our reply to 4000 carried %d %q", code, reason)
		}
	})
	t.Run("close-ours", func(t *testing.T) {
		c := ps.dial(ctx, t, "close-ours", "/echo?tag=close-ours")
		echoOnce(t, c, textMsg("before close", "bye soon"))
		if err := c.Close(ws.StatusGoingAway, "client-going-away"); err != nil {
			t.Errorf("Close(1001): %v", err)
		}
		if code, reason := ps.awaitPeerClosed(ctx, t, "close-ours"); code != 1001 || reason != "client-going-away" {
			t.Errorf("peer received close %d %q, want 1001 %q", code, reason, "client-going-away")
		}
		if _, _, err := c.ReadMessage(); err == nil {
			t.Errorf("ReadMessage after Close returned no error")
		}
	})
	checkWire(t, ps.metrics, mode.want, 0.6)
}

// ---------------------------------------------------------------------------------------
// Chromium.

// TestInteropChromiumEchoesBinaryWithDeflate opens a page served by our server in headless
// Chromium; the page echoes binary messages from 1 byte to 1 MiB plus a text message over
// /echo, and checks both close directions. The browser must negotiate permessage-deflate
// (RFC 7692) and the subprotocol with our Accept, and every echo must be exact.
func TestInteropChromiumEchoesBinaryWithDeflate(t *testing.T) {
	chromium := peertest.Chromium(t)
	node := peertest.Node(t)
	page, err := os.ReadFile(filepath.Join(peertest.PeersDir(t), "browser.html"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	metrics := new(ws.Metrics)
	srv := newInteropServer(t, ws.AcceptOptions{
		Subprotocols: []string{interopSubprotocol},
		Compression:  ws.CompressionOptions{Threshold: compressAll},
		Limits:       interopLimits(),
		Metrics:      metrics,
	}, page)

	sizes := []int{1, 125, 126, 65535, 65536, 1 << 20}
	sizeStrs := make([]string, len(sizes))
	for i, n := range sizes {
		sizeStrs[i] = strconv.Itoa(n)
	}
	url := "http://" + srv.addr() + "/browser.html?sizes=" + strings.Join(sizeStrs, ",")
	lines, runErr := peertest.Run(ctx, t, node, "browser_driver.mjs",
		"--url", url, "--chromium", chromium, "--timeout", interopScenarioTimeout)

	var res struct {
		Event   string `json:"event"`
		Browser string `json:"browser"`
		Error   string `json:"error"`
		Result  *struct {
			OK           bool   `json:"ok"`
			Error        string `json:"error"`
			UserAgent    string `json:"userAgent"`
			Extensions   string `json:"extensions"`
			Protocol     string `json:"protocol"`
			BinaryEchoes []struct {
				Label string
				Bytes int
			}
			TextEchoes []struct {
				Label string
				Bytes int
			}
			NormalClose *browserClose `json:"normalClose"`
			ServerClose *browserClose `json:"serverClose"`
			PageClose   *browserClose `json:"pageClose"`
		} `json:"result"`
	}
	found := false
	for _, l := range lines {
		if l.Str("event") == "result" {
			if err := l.Decode(&res); err != nil {
				t.Fatalf("decode %s: %v", l.Raw, err)
			}
			found = true
		}
	}
	if !found {
		t.Fatalf("browser driver reported no result (%v)", runErr)
	}
	if res.Error != "" || res.Result == nil {
		t.Fatalf("browser driver: %s (%v)", res.Error, runErr)
	}
	r := res.Result
	t.Logf("Chromium %s: extensions %q, protocol %q", res.Browser, r.Extensions, r.Protocol)
	if !r.OK {
		t.Errorf("page failed: %s", r.Error)
	}
	if !strings.Contains(r.Extensions, "permessage-deflate") {
		t.Errorf("ws.extensions = %q, want permessage-deflate", r.Extensions)
	}
	if r.Protocol != interopSubprotocol {
		t.Errorf("ws.protocol = %q, want %q", r.Protocol, interopSubprotocol)
	}
	if got, want := len(r.BinaryEchoes), len(sizes)+1; got != want {
		t.Errorf("%d exact binary echoes, want %d: %+v", got, want, r.BinaryEchoes)
	}
	if len(r.TextEchoes) != 1 {
		t.Errorf("%d exact text echoes, want 1", len(r.TextEchoes))
	}
	if c := r.NormalClose; c == nil || c.Code != 1000 || !c.WasClean {
		t.Errorf("page's close 1000: browser saw %+v, want a clean 1000", c)
	}
	if c := r.ServerClose; c == nil || c.Code != 1001 || c.Reason != "server-going-away" || !c.WasClean {
		t.Errorf("our Close(1001): browser saw %+v, want a clean 1001 %q", c, "server-going-away")
	}
	if c := r.PageClose; c == nil || c.Code != 4000 || !c.WasClean {
		t.Errorf("page's close 4000: browser saw %+v, want a clean close", c)
	}

	endCtx, endCancel := context.WithTimeout(ctx, 10*time.Second)
	defer endCancel()
	for _, want := range []struct {
		tag    string
		code   ws.StatusCode
		reason string
	}{
		{"browser-echo", ws.StatusNormalClosure, "done"},
		{"browser-close-peer", 4000, "browser-bye"},
	} {
		end, err := srv.awaitEnd(endCtx, want.tag)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if end.AcceptErr != nil {
			t.Errorf("%s: Accept: %v", want.tag, end.AcceptErr)
			continue
		}
		if !end.Compressed {
			t.Errorf("%s: our Conn.Compressed() = false (extensions %q)", want.tag, end.Extensions)
		}
		checkCloseErr(t, want.tag+": our ReadMessage at the end", end.ReadErr, want.code, want.reason)
	}
	if end, err := srv.awaitEnd(endCtx, "browser-close-server"); err != nil {
		t.Errorf("%v", err)
	} else if end.CloseErr != nil {
		t.Errorf("our Close(1001) with Chromium: %v", end.CloseErr)
	}
	checkWire(t, metrics, true, 0.85) // 1 MiB of the page's data is random
}

type browserClose struct {
	Code     int    `json:"code"`
	Reason   string `json:"reason"`
	WasClean bool   `json:"wasClean"`
}

// ---------------------------------------------------------------------------------------
// Messages.

type interopMsg struct {
	label string
	typ   ws.MessageType
	data  []byte
}

func textMsg(label, s string) interopMsg { return interopMsg{label, ws.MessageText, []byte(s)} }
func binMsg(label string, b []byte) interopMsg {
	return interopMsg{label, ws.MessageBinary, b}
}

// interopSizes straddle the 7-bit, 16-bit and 64-bit payload length encodings (§5.2).
var interopSizes = []int{0, 1, 125, 126, 127, 65535, 65536, 65537}

func interopTextMessages() []interopMsg {
	var out []interopMsg
	for _, n := range interopSizes {
		out = append(out, textMsg(fmt.Sprintf("text %d bytes", n), interopText(n)))
	}
	return append(out, textMsg("text ascii", "hello, rallypoint"))
}

func interopBinaryMessages() []interopMsg {
	var out []interopMsg
	for _, n := range interopSizes {
		out = append(out, binMsg(fmt.Sprintf("binary %d bytes", n), interopRandom(n, uint64(n))))
	}
	return append(out, binMsg("binary compressible 100000", interopCompressible(100000)))
}

func interopLargeMessages() []interopMsg {
	var out []interopMsg
	for _, n := range []int{1 << 20, 4 << 20} {
		out = append(out,
			binMsg(fmt.Sprintf("binary random %d", n), interopRandom(n, uint64(n)+7)),
			binMsg(fmt.Sprintf("binary compressible %d", n), interopCompressible(n)))
	}
	return append(out, textMsg("text 1 MiB", interopText(1<<20)))
}

// interopText returns valid UTF-8 of exactly n bytes mixing 1- to 4-byte runes.
func interopText(n int) string {
	runes := []rune{'a', 'é', '✓', '🎮'}
	var b strings.Builder
	b.Grow(n)
	for i := 0; b.Len() < n; i++ {
		r := runes[i%len(runes)]
		if b.Len()+utf8.RuneLen(r) > n {
			b.WriteString(strings.Repeat("z", n-b.Len()))
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// interopRandom returns n incompressible bytes, the same for the same seed.
func interopRandom(n int, seed uint64) []byte {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// interopCompressible returns n bytes of repetitive game-state-like JSON.
func interopCompressible(n int) []byte {
	pattern := []byte(`{"player":7,"x":12.5,"y":-3.25,"hp":100,"state":"running"}` + "\n")
	b := bytes.Repeat(pattern, n/len(pattern)+1)
	return b[:n]
}

// echoOnce sends m and checks the next message is an exact echo.
func echoOnce(t *testing.T, c *ws.Conn, m interopMsg) {
	t.Helper()
	if err := c.WriteMessage(m.typ, m.data); err != nil {
		t.Fatalf("%s: WriteMessage: %v", m.label, err)
	}
	typ, got, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("%s: ReadMessage: %v", m.label, err)
	}
	if typ != m.typ {
		t.Errorf("%s: echo is %v, want %v", m.label, typ, m.typ)
	}
	if !bytes.Equal(got, m.data) {
		t.Errorf("%s: echo differs: %s", m.label, firstDifference(got, m.data))
	}
}

func firstDifference(got, want []byte) string {
	n := min(len(got), len(want))
	i := 0
	for i < n && got[i] == want[i] {
		i++
	}
	lo, hi := max(0, i-8), i+8
	return fmt.Sprintf("got %d bytes, want %d; first difference at offset %d: got % x, want % x",
		len(got), len(want), i, got[lo:min(hi, len(got))], want[lo:min(hi, len(want))])
}
