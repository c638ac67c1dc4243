package ws

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// echoServer starts a loopback server whose handler accepts with opts and echoes.
func echoServer(t testing.TB, opts *AcceptOptions) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := accept(w, r, opts)
		if err != nil {
			return
		}
		for {
			typ, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, p); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t testing.TB, url string, opts *DialOptions) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func payload(n int, compressible bool) []byte {
	p := make([]byte, n)
	for i := range p {
		if compressible {
			p[i] = "rallypoint snapshot "[i%20]
		} else {
			p[i] = byte(i*131 + i>>8*17 + i>>3)
		}
	}
	return p
}

var compressionModes = []struct {
	name   string
	server CompressionOptions
	client CompressionOptions
}{
	{"no-deflate", CompressionOptions{Mode: CompressionDisabled}, CompressionOptions{Mode: CompressionDisabled}},
	{"deflate-no-takeover", CompressionOptions{}, CompressionOptions{}},
	{"deflate-takeover-both", CompressionOptions{Mode: CompressionContextTakeover, PeerContextTakeover: true},
		CompressionOptions{Mode: CompressionContextTakeover, PeerContextTakeover: true}},
	{"deflate-all-sizes", CompressionOptions{Threshold: -1}, CompressionOptions{Threshold: -1}},
}

func TestEchoRoundTripsEveryMode(t *testing.T) {
	for _, m := range compressionModes {
		t.Run(m.name, func(t *testing.T) {
			lim := Limits{MaxMessageSize: 8 << 20, MaxFrameSize: 8 << 20}
			url := echoServer(t, &AcceptOptions{Compression: m.server, Limits: lim})
			c := dial(t, url, &DialOptions{Compression: m.client, Limits: lim})
			if want := m.client.Mode != CompressionDisabled; c.Compressed() != want {
				t.Fatalf("Compressed()=%v, want %v (extensions %q)", c.Compressed(), want, c.Extensions())
			}
			for _, n := range []int{0, 1, 125, 126, 1000, 65535, 65536, 300 << 10, 4 << 20} {
				for _, comp := range []bool{true, false} {
					for _, typ := range []MessageType{MessageBinary, MessageText} {
						p := payload(n, comp)
						if typ == MessageText {
							p = bytes.Repeat([]byte("é"), n/2)
						}
						if err := c.WriteMessage(typ, p); err != nil {
							t.Fatal(err)
						}
						gt, got, err := c.ReadMessage()
						if err != nil {
							t.Fatalf("n=%d: %v", n, err)
						}
						if gt != typ || !bytes.Equal(got, p) {
							t.Fatalf("n=%d %v: echo mismatch (type %v, len %d)", n, typ, gt, len(got))
						}
					}
				}
			}
			if err := c.Close(StatusNormalClosure, "bye"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWritesAreSafeFromManyGoroutines(t *testing.T) {
	// Writes never block, so a burst larger than the queue would be a slow consumer: size
	// the queue for the burst.
	lim := Limits{MaxQueuedMessages: 4096, MaxMessagesPerSecond: -1}
	url := echoServer(t, &AcceptOptions{Limits: lim})
	c := dial(t, url, &DialOptions{Limits: lim})
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				msg := []byte{byte(w), byte(i)}
				msg = append(msg, payload(200+i, true)...)
				if err := c.WriteMessage(MessageBinary, msg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]int, writers)
	for range writers * each {
		_, p, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		w, i := int(p[0]), int(p[1])
		if i != next[w]%256 {
			t.Fatalf("writer %d: got message %d, want %d: per-writer order lost", w, i, next[w])
		}
		next[w]++
	}
	wg.Wait()
}

func TestCloseHandshakeCarriesCodeAndReason(t *testing.T) {
	got := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := accept(w, r, nil)
		if err != nil {
			return
		}
		_, _, err = c.ReadMessage()
		got <- err
	}))
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err := c.Close(4001, "game over"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "game over" || ce.Local {
			t.Fatalf("server saw %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server never saw the close")
	}
}

func TestCloseRejectsCodesThatMayNotBeSent(t *testing.T) {
	c := &Conn{}
	for _, code := range []StatusCode{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000} {
		if code == StatusNoStatusRcvd {
			continue // means "no code": allowed with an empty reason
		}
		if err := c.Close(code, ""); err == nil {
			t.Errorf("Close(%d) accepted", code)
		}
	}
	if err := c.Close(StatusNormalClosure, strings.Repeat("x", 124)); err == nil {
		t.Error("Close accepted a 124-byte reason")
	}
}

// rawServer accepts one connection and gives the test its net.Conn side after the handshake.
func acceptPair(t testing.TB, opts *AcceptOptions, dopts *DialOptions) (*Conn, *Conn) {
	t.Helper()
	ch := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := accept(w, r, opts)
		if err != nil {
			t.Error(err)
			return
		}
		ch <- c
	}))
	t.Cleanup(srv.Close)
	cl := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"), dopts)
	sc := <-ch
	t.Cleanup(func() { sc.CloseNow() })
	return sc, cl
}

func TestSlowConsumerIsDroppedWith1008(t *testing.T) {
	m := new(Metrics)
	sc, cl := acceptPair(t, &AcceptOptions{Metrics: m, Limits: Limits{MaxQueuedMessages: 8, MaxQueuedBytes: 1 << 20}}, nil)
	_ = cl // the client never reads
	msg := payload(64<<10, false)
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		err = sc.WriteMessage(MessageBinary, msg)
	}
	if !errors.Is(err, ErrSlowConsumer) && !errors.Is(err, ErrClosed) {
		t.Fatalf("writes to a peer that never reads: last error %v", err)
	}
	if m.SlowConsumers.Load() != 1 {
		t.Fatalf("SlowConsumers = %d", m.SlowConsumers.Load())
	}
	_, _, err = sc.ReadMessage()
	if CloseStatus(err) != StatusPolicyViolation {
		t.Fatalf("server reader ended with %v, want 1008", err)
	}
}

func TestLatestWinsReplacesUnsentMessage(t *testing.T) {
	m := new(Metrics)
	sc, cl := acceptPair(t, &AcceptOptions{Metrics: m, Compression: CompressionOptions{Mode: CompressionDisabled}}, nil)
	// Fill the socket so that later writes must wait.
	big := payload(256<<10, false)
	for m.LatestReplaced.Load() == 0 {
		for range 4 {
			if err := sc.WriteMessage(MessageBinary, big); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 50 {
			pm, _ := NewPreparedMessage(MessageBinary, []byte{byte(i)})
			if err := sc.WriteLatest(pm); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The client now drains: among the small messages the last one written must arrive and
	// at least one must have been skipped.
	var small []byte
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		_ = cl.NetConn().SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		_, p, err := cl.ReadMessage()
		if err != nil {
			break
		}
		if len(p) == 1 {
			small = append(small, p[0])
		}
	}
	if len(small) == 0 || small[len(small)-1] != 49 {
		t.Fatalf("latest-wins messages seen: %v (want the last to be 49)", small)
	}
}

// TestIdleConnectionsHoldLittleMemory opens many connections, lets each server side block in
// ReadMessage after a message, and bounds the heap and stack they hold together (client and
// server sides, in this one process). An idle connection borrows no read buffer and keeps no
// compressor, so the bound is a few KiB; a 4 KiB read buffer per side would break it.
func TestIdleConnectionsHoldLittleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 400 connections")
	}
	const n = 400
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := accept(w, r, nil)
		if err != nil {
			return
		}
		go func() {
			defer wg.Done()
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	measure := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse + ms.StackInuse
	}
	c0 := dial(t, url, nil) // warm up pools and the HTTP server
	c0.WriteMessage(MessageBinary, payload(3000, true))
	wg.Add(1)
	before := measure()
	conns := make([]*Conn, n)
	wg.Add(n)
	for i := range conns {
		conns[i] = dial(t, url, nil)
		conns[i].WriteMessage(MessageBinary, payload(3000, true))
	}
	time.Sleep(200 * time.Millisecond)
	after := measure()
	perPair := float64(after-before) / n / 1024
	t.Logf("idle connection pair (client + server + reader goroutine): %.1f KiB", perPair)
	if perPair > 16 {
		t.Fatalf("an idle connection pair holds %.1f KiB; idle connections must not keep buffers", perPair)
	}
	for _, c := range conns {
		c.CloseNow()
	}
	c0.CloseNow()
	wg.Wait()
}

func TestPongTimeoutDropsSilentPeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// A "peer" that completes the handshake and then never says anything again.
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		buf := make([]byte, 4096)
		n, _ := nc.Read(buf)
		req := string(buf[:n])
		i := strings.Index(req, "Sec-WebSocket-Key: ")
		key := req[i+19 : i+19+24]
		nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n"))
		time.Sleep(3 * time.Second)
	}()
	m := new(Metrics)
	c := dial(t, "ws://"+ln.Addr().String(), &DialOptions{
		Compression: CompressionOptions{Mode: CompressionDisabled},
		Limits:      Limits{PingInterval: 100 * time.Millisecond, PongTimeout: 100 * time.Millisecond},
		Metrics:     m,
	})
	start := time.Now()
	_, _, err = c.ReadMessage()
	var ce *CloseError
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "pong") {
		t.Fatalf("got %v, want a pong timeout", err)
	}
	if n, w := m.PeersSilent.Load(), m.WriteFailures.Load(); n != 1 || w != 0 {
		t.Fatalf("PeersSilent %d, WriteFailures %d: want 1 and 0", n, w)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("pong timeout took %v", d)
	}
}

func TestBroadcastReachesEveryConnection(t *testing.T) {
	// More connections than one Broadcast worker serves, so the parallel path runs.
	const n = 2*broadcastChunk + 10
	srvConns := make(chan *Conn, n)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := accept(w, r, nil)
		if err == nil {
			srvConns <- c
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	clients := make([]*Conn, n)
	conns := make([]*Conn, n)
	for i := range clients {
		clients[i] = dial(t, url, nil)
		conns[i] = <-srvConns
	}
	pm, _ := NewPreparedMessage(MessageBinary, payload(512, true))
	if failed := Broadcast(pm, conns); failed != 0 {
		t.Fatalf("%d writes failed", failed)
	}
	for i, c := range clients {
		_, p, err := c.ReadMessage()
		if err != nil || !bytes.Equal(p, pm.Data()) {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	conns[0].CloseNow()
	if failed := Broadcast(pm, conns[:1]); failed != 1 {
		t.Fatalf("broadcast to a closed connection: %d failures, want 1", failed)
	}
}

// TestPreparedMessagesInterleaveWithContextTakeover checks that a connection which keeps its
// compression window can mix shared prepared frames (compressed without context) with its own
// messages: the peer's inflater must decode every one of them.
func TestPreparedMessagesInterleaveWithContextTakeover(t *testing.T) {
	takeover := CompressionOptions{Mode: CompressionContextTakeover, PeerContextTakeover: true, Threshold: -1}
	sc, cl := acceptPair(t, &AcceptOptions{Compression: takeover}, &DialOptions{Compression: takeover})
	if !sc.ourTakeover {
		t.Fatalf("server did not agree to context takeover: %q", sc.Extensions())
	}
	pm, _ := NewPreparedMessage(MessageBinary, payload(2000, true))
	var want [][]byte
	for i := range 20 {
		own := append(payload(300+i, true), byte(i))
		if err := sc.WriteMessage(MessageBinary, own); err != nil {
			t.Fatal(err)
		}
		want = append(want, own)
		if i%3 == 0 {
			if err := sc.WritePrepared(pm); err != nil {
				t.Fatal(err)
			}
			want = append(want, pm.Data())
		}
	}
	for i, w := range want {
		_, got, err := cl.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got, w) {
			t.Fatalf("message %d differs", i)
		}
	}
}

func TestWriteLatestWithKeepsTheLeadWithItsMessage(t *testing.T) {
	sc, cl := acceptPair(t, &AcceptOptions{Compression: CompressionOptions{Mode: CompressionDisabled}}, nil)
	big := payload(256<<10, false)
	for i := range 200 {
		if i%50 == 0 {
			for range 4 {
				if err := sc.WriteMessage(MessageBinary, big); err != nil {
					t.Fatal(err)
				}
			}
		}
		pm, _ := NewPreparedMessage(MessageBinary, []byte{'s', byte(i)})
		if err := sc.WriteLatestWith(pm, []byte{'a', byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var last byte
	for {
		_ = cl.NetConn().SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		_, p, err := cl.ReadMessage()
		if err != nil {
			break
		}
		if len(p) != 2 {
			continue
		}
		if p[0] != 'a' {
			t.Fatalf("got %q where a lead was due", p)
		}
		lead := p[1] // p is the connection's until the next ReadMessage
		_, q, err := cl.ReadMessage()
		if err != nil || len(q) != 2 || q[0] != 's' || q[1] != lead {
			t.Fatalf("lead %d followed by %q, %v", lead, q, err)
		}
		last = lead
	}
	if last != 199 {
		t.Fatalf("last unit %d, want 199", last)
	}
}

// TestWritesWorkLongAfterABacklog: a backlog is drained by a blocking write bounded by
// WriteTimeout; that deadline must not outlive it, or every direct write after it passes
// fails with a timeout (a regression the load generator found: connections died 10 s after
// two goroutines first wrote at once).
func TestWritesWorkLongAfterABacklog(t *testing.T) {
	// Long enough for the client to read the backlog under -race on a loaded machine (at
	// 100 ms the drain timed out there about one run in three and dropped the connection).
	const timeout = 500 * time.Millisecond
	m := new(Metrics)
	sc, cl := acceptPair(t, &AcceptOptions{Metrics: m, Limits: Limits{WriteTimeout: timeout},
		Compression: CompressionOptions{Mode: CompressionDisabled}}, nil)
	// More than the socket buffers hold while the client is not reading: the rest queues
	// and the writer goroutine drains it with a deadline.
	big := payload(1<<20, false)
	for range 4 {
		if err := sc.WriteMessage(MessageBinary, big); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		if _, p, err := cl.ReadMessage(); err != nil || len(p) != len(big) {
			t.Fatalf("backlogged message: %d bytes, %v", len(p), err)
		}
	}
	time.Sleep(3 * timeout) // well past the drain's deadline
	for i := range 3 {
		if err := sc.WriteMessage(MessageBinary, []byte{byte(i)}); err != nil {
			t.Fatalf("direct write %d after the backlog: %v", i, err)
		}
		_ = cl.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, p, err := cl.ReadMessage(); err != nil || len(p) != 1 || p[0] != byte(i) {
			t.Fatalf("message %d after the backlog: %v %v", i, p, err)
		}
	}
}

// TestWriteTimeoutCountsAWriteFailure: a peer that reads nothing while a backlog waits is
// dropped after WriteTimeout, and Metrics.WriteFailures says why.
func TestWriteTimeoutCountsAWriteFailure(t *testing.T) {
	const timeout = 100 * time.Millisecond
	m := new(Metrics)
	sc, _ := acceptPair(t, &AcceptOptions{Metrics: m, Limits: Limits{WriteTimeout: timeout, MaxQueuedBytes: 16 << 20},
		Compression: CompressionOptions{Mode: CompressionDisabled}}, nil)
	big := payload(1<<20, false)
	for i := range 8 { // 8 MiB: past the socket buffers, which can hold 4 MiB and more between them
		err := sc.WriteMessage(MessageBinary, big)
		if errors.Is(err, ErrClosed) && i > 0 {
			// The backlog's deadline passed while the later writes were still being made
			// (under -race a 1 MiB write can take tens of ms): the drop this test waits
			// for has happened.
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for end := time.Now().Add(5 * time.Second); m.WriteFailures.Load() == 0 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if n, s := m.WriteFailures.Load(), m.PeersSilent.Load(); n != 1 || s != 0 {
		t.Fatalf("WriteFailures %d, PeersSilent %d: want 1 and 0", n, s)
	}
}

// TestFlushWaitsUntilTheQueueIsWritten: Flush returns once a backlog the peer was not
// reading has gone to the socket, at once when there is none, and with the connection's
// error when the peer never reads.
func TestFlushWaitsUntilTheQueueIsWritten(t *testing.T) {
	sc, cl := acceptPair(t, &AcceptOptions{Compression: CompressionOptions{Mode: CompressionDisabled}}, nil)
	if err := sc.Flush(); err != nil {
		t.Fatalf("Flush with nothing queued: %v", err)
	}
	big := payload(1<<20, false)
	for range 4 {
		if err := sc.WriteMessage(MessageBinary, big); err != nil {
			t.Fatal(err)
		}
	}
	var reading atomic.Bool
	go func() {
		time.Sleep(100 * time.Millisecond)
		reading.Store(true)
		for range 4 {
			if _, _, err := cl.ReadMessage(); err != nil {
				return
			}
		}
	}()
	if err := sc.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if !reading.Load() {
		t.Fatal("Flush returned before the peer read anything, with 4 MiB queued")
	}

	// A peer that never reads, with a small receive buffer: loopback's autotuned buffers
	// (tcp_rmem up to 32 MiB here) and the sender's sometimes took all 4 MiB queued, so
	// Flush rightly returned nil.
	const timeout = 100 * time.Millisecond
	small := &DialOptions{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := new(net.Dialer).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(64 << 10)
		}
		return c, err
	}}
	// And more than the sender's buffer (tcp_wmem grows to 4 MiB) takes.
	sc2, _ := acceptPair(t, &AcceptOptions{Limits: Limits{WriteTimeout: timeout, MaxQueuedBytes: 32 << 20},
		Compression: CompressionOptions{Mode: CompressionDisabled}}, small)
	for range 24 {
		if err := sc2.WriteMessage(MessageBinary, big); err != nil {
			break // the write timed out already: the connection is closed, as Flush must say
		}
	}
	if err := sc2.Flush(); err == nil {
		t.Fatal("Flush to a peer that never reads returned nil")
	}
}
