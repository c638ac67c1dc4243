package ws

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a Handler that echoes and records what it was called with.
type recorder struct {
	mu     sync.Mutex
	msgs   []string
	closes []error
	closed chan struct{}
}

func newRecorder() *recorder { return &recorder{closed: make(chan struct{})} }

func (h *recorder) OnMessage(c *Conn, typ MessageType, p []byte) {
	h.mu.Lock()
	h.msgs = append(h.msgs, string(p))
	h.mu.Unlock()
	_ = c.WriteMessage(typ, p)
}

func (h *recorder) OnClose(_ *Conn, err error) {
	h.mu.Lock()
	h.closes = append(h.closes, err)
	n := len(h.closes)
	h.mu.Unlock()
	if n == 1 {
		close(h.closed)
	}
}

// servedServer serves every connection with the handler open returns.
func servedServer(t *testing.T, opts *AcceptOptions, open func(*Conn) Handler) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = Serve(w, r, opts, open)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func waitClosed(t *testing.T, h *recorder) error {
	t.Helper()
	select {
	case <-h.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("OnClose was not called")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.closes) != 1 {
		t.Fatalf("OnClose called %d times", len(h.closes))
	}
	return h.closes[0]
}

// TestServeDeliversMessagesInOrderAndClosesOnce: messages in order, each echoed, across idle
// periods in which the connection waits in the poller; the peer's close ends it with its code.
func TestServeDeliversMessagesInOrderAndClosesOnce(t *testing.T) {
	h := newRecorder()
	url := servedServer(t, nil, func(*Conn) Handler { return h })
	c := dial(t, url, nil)
	want := []string{"a", "bb", strings.Repeat("c", 5000), "d"}
	for _, m := range want {
		if err := c.WriteMessage(MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
		_, p, err := c.ReadMessage()
		if err != nil || string(p) != m {
			t.Fatalf("echo of %d bytes: got %d bytes, %v", len(m), len(p), err)
		}
	}
	if err := c.Close(StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	err := waitClosed(t, h)
	if CloseStatus(err) != StatusNormalClosure {
		t.Fatalf("OnClose got %v, want the peer's 1000", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if strings.Join(h.msgs, "|") != strings.Join(want, "|") {
		t.Fatalf("messages %q, want %q", h.msgs, want)
	}
}

// TestServeRefusesReadMessage: the Handler is a served connection's only reader. A
// ReadMessage from the application (in open, or later, while the connection is idle or busy)
// returns an error at once and takes no message away from the Handler.
func TestServeRefusesReadMessage(t *testing.T) {
	h := newRecorder()
	served := make(chan *Conn, 1)
	url := servedServer(t, nil, func(c *Conn) Handler {
		if _, _, err := c.ReadMessage(); !errors.Is(err, errServed) {
			t.Errorf("ReadMessage in open: %v, want errServed", err)
		}
		served <- c
		return h
	})
	c := dial(t, url, nil)
	s := <-served
	for i, m := range []string{"a", "b", "c"} {
		if _, _, err := s.ReadMessage(); !errors.Is(err, errServed) {
			t.Fatalf("ReadMessage before message %d: %v, want errServed", i, err)
		}
		if err := c.WriteMessage(MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
		if _, p, err := c.ReadMessage(); err != nil || string(p) != m {
			t.Fatalf("echo of %q: %q, %v", m, p, err)
		}
	}
	_ = c.Close(StatusNormalClosure, "")
	if err := waitClosed(t, h); CloseStatus(err) != StatusNormalClosure {
		t.Fatalf("OnClose got %v, want the peer's 1000", err)
	}
	if _, _, err := s.ReadMessage(); !errors.Is(err, errServed) {
		t.Fatalf("ReadMessage after the close: %v, want errServed", err)
	}
}

// TestServeReportsLocalEndsOfAnIdleConnection: an idle connection (no read goroutine) ended
// by this side still gets its OnClose, with the handshake done when it is a Close.
func TestServeReportsLocalEndsOfAnIdleConnection(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(c *Conn)
		code StatusCode
	}{
		{"Close", func(c *Conn) { _ = c.Close(StatusGoingAway, "shutting down") }, StatusGoingAway},
		{"CloseNow", func(c *Conn) { _ = c.CloseNow() }, StatusAbnormalClosure},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newRecorder()
			conns := make(chan *Conn, 1)
			url := servedServer(t, nil, func(c *Conn) Handler { conns <- c; return h })
			client := dial(t, url, nil)
			sc := <-conns
			if err := client.WriteMessage(MessageBinary, []byte("x")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := client.ReadMessage(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { _, _, err := client.ReadMessage(); done <- err }()
			tt.end(sc)
			if got := CloseStatus(waitClosed(t, h)); got != tt.code {
				t.Fatalf("OnClose code %d, want %d", got, tt.code)
			}
			err := <-done
			if tt.code != StatusAbnormalClosure && CloseStatus(err) != tt.code {
				t.Fatalf("client saw %v, want close %d", err, tt.code)
			}
		})
	}
}

// TestServeOpenMayEndTheConnection: a nil handler drops the connection; one that closes in
// open gets only OnClose.
func TestServeOpenMayEndTheConnection(t *testing.T) {
	h := newRecorder()
	url := servedServer(t, nil, func(c *Conn) Handler {
		_ = c.CloseNow()
		return h
	})
	c := dial(t, url, nil)
	if err := waitClosed(t, h); CloseStatus(err) != StatusAbnormalClosure {
		t.Fatalf("OnClose got %v", err)
	}
	if _, _, err := c.ReadMessage(); err == nil {
		t.Fatal("client read a message from a dropped connection")
	}
	url = servedServer(t, nil, func(*Conn) Handler { return nil })
	c = dial(t, url, nil)
	if _, _, err := c.ReadMessage(); err == nil {
		t.Fatal("client read a message from a connection refused by open")
	}
}

// TestServeRefusalWritesTheHTTPError: a refused handshake is Accept's, and open never runs.
func TestServeRefusalWritesTheHTTPError(t *testing.T) {
	rec := httptest.NewRecorder()
	called := false
	_, err := Serve(rec, handshakeRequest(func(r *http.Request) { r.Method = http.MethodPost }), nil,
		func(*Conn) Handler { called = true; return nil })
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusMethodNotAllowed || rec.Code != http.StatusMethodNotAllowed || called {
		t.Fatalf("err %v, status %d, open called %v", err, rec.Code, called)
	}
}

// blocker is a Handler whose OnMessage waits until it is let go, to end a connection from
// another goroutine while a message is being handled.
type blocker struct {
	*recorder
	in, out chan struct{}
}

func (h *blocker) OnMessage(c *Conn, typ MessageType, p []byte) {
	h.in <- struct{}{}
	<-h.out
	h.recorder.OnMessage(c, typ, p)
}

// closer closes its connection inside OnMessage, on the read goroutine.
type closer struct{ *recorder }

func (h closer) OnMessage(c *Conn, _ MessageType, _ []byte) { _ = c.Close(StatusGoingAway, "bye") }

// TestServeCloseWhileHandling: Close called from another goroutine while OnMessage runs reads
// the peer's answer itself; the read loop, back from OnMessage, must not fail with a
// concurrent read but report the handshake's outcome. Close called inside OnMessage (on the
// read goroutine) completes the handshake without waiting out CloseTimeout.
func TestServeCloseWhileHandling(t *testing.T) {
	for _, inside := range []bool{false, true} {
		name := map[bool]string{false: "from another goroutine", true: "inside OnMessage"}[inside]
		t.Run(name, func(t *testing.T) {
			rec := newRecorder()
			blk := &blocker{recorder: rec, in: make(chan struct{}), out: make(chan struct{})}
			conns := make(chan *Conn, 1)
			url := servedServer(t, &AcceptOptions{Limits: Limits{CloseTimeout: 20 * time.Second}},
				func(c *Conn) Handler {
					conns <- c
					if inside {
						return closer{rec}
					}
					return blk
				})
			client := dial(t, url, nil)
			sc := <-conns
			peer := make(chan error, 1)
			read := func() {
				for {
					if _, _, err := client.ReadMessage(); err != nil {
						peer <- err
						return
					}
				}
			}
			start := time.Now()
			if err := client.WriteMessage(MessageBinary, []byte("x")); err != nil {
				t.Fatal(err)
			}
			if inside {
				go read()
			} else {
				<-blk.in
				closed := make(chan struct{})
				go func() { _ = sc.Close(StatusGoingAway, "bye"); close(closed) }()
				// The client does not read yet, so Close is still waiting for its answer
				// when OnMessage returns and the read loop finds the reader taken.
				time.Sleep(50 * time.Millisecond)
				close(blk.out)
				time.Sleep(50 * time.Millisecond)
				go read()
				defer func() { <-closed }()
			}
			if got := CloseStatus(waitClosed(t, rec)); got != StatusGoingAway {
				t.Fatalf("OnClose got %v, want the 1001 handshake", rec.closes)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("closing took %v: it waited out CloseTimeout", d)
			}
			if err := <-peer; CloseStatus(err) != StatusGoingAway {
				t.Fatalf("client saw %v, want 1001", err)
			}
		})
	}
}

// settledGoroutines counts the goroutines once served connections have had time to park:
// net/http's handler goroutines finish just after the handshake, and a served connection's
// goroutine parks it after up to parkAfter of silence.
func settledGoroutines() int {
	time.Sleep(parkAfter + parkAfter/4)
	var g int
	for range 50 {
		runtime.GC()
		g = runtime.NumGoroutine()
		time.Sleep(20 * time.Millisecond)
		if runtime.NumGoroutine() == g {
			break
		}
	}
	return g
}

// TestServedIdleConnectionsHoldNoGoroutine: on Linux, served connections silent for
// parkAfter wait in the poller, so the goroutine count does not grow with them.
func TestServedIdleConnectionsHoldNoGoroutine(t *testing.T) {
	if !pollSupported {
		t.Skip("no poller on this system: a served connection keeps a goroutine")
	}
	const n = 50
	var wg sync.WaitGroup
	wg.Add(n)
	url := servedServer(t, nil, func(*Conn) Handler { wg.Done(); return newRecorder() })
	warm := dial(t, url, nil)
	_ = warm.WriteMessage(MessageBinary, []byte("warm"))
	_, _, _ = warm.ReadMessage()
	wg.Add(1)
	before := settledGoroutines()
	clients := make([]*Conn, n)
	for i := range clients {
		clients[i] = dial(t, url, nil)
		// Each client reads in a goroutine of its own (in this process): count them out.
		_ = clients[i].WriteMessage(MessageBinary, []byte("hello"))
		if _, _, err := clients[i].ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	after := settledGoroutines()
	// The clients hold no goroutine either (they are not reading), so anything beyond a few
	// is a goroutine per served connection.
	if extra := after - before; extra > n/10 {
		t.Fatalf("%d idle served connections added %d goroutines", n, extra)
	}
}

// TestServedConnectionsParkAgainAfterAControlFrame: an idle served connection woken by a
// control frame alone (the pong answering the keepalive's ping, or a ping of the peer's)
// goes back to the poller; it used to keep its goroutine until its next data message.
func TestServedConnectionsParkAgainAfterAControlFrame(t *testing.T) {
	if !pollSupported {
		t.Skip("no poller on this system: a served connection keeps a goroutine")
	}
	const n = 40
	url := servedServer(t, nil, func(*Conn) Handler { return newRecorder() })
	// clients[0] only warms the server up (pools, the poller); the n others get the frames.
	clients := make([]*Conn, n+1)
	for i := range clients {
		clients[i] = dial(t, url, nil)
		_ = clients[i].WriteMessage(MessageBinary, []byte("hello"))
		if _, _, err := clients[i].ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	before := settledGoroutines()
	for round := range 2 {
		for i, c := range clients[1:] {
			var err error
			switch (i + round) % 3 {
			case 0:
				err = c.sendControl(opPong, nil) // unsolicited: a heartbeat (RFC 6455 §5.5.3)
			case 1:
				err = c.Ping([]byte("are you there"))
			default:
				err = c.sendControl(opPong, nil)
				if err == nil {
					err = c.Ping(nil)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		after := settledGoroutines()
		if extra := after - before; extra > n/10 {
			t.Fatalf("round %d: control frames to %d idle served connections left %d goroutines", round, n, extra)
		}
	}
	// Still served: a message after the control frames is echoed.
	for _, c := range clients[1:] {
		if err := c.WriteMessage(MessageText, []byte("still here")); err != nil {
			t.Fatal(err)
		}
		for {
			_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			typ, p, err := c.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if typ == MessageText {
				if string(p) != "still here" {
					t.Fatalf("echo %q", p)
				}
				break
			}
		}
	}
}

// TestServedRoundTripAllocatesNothing: a message to a served connection in use, its read,
// handling and echo, with the renewal of the park deadline, allocate nothing in steady state
// (the client is a raw socket that allocates nothing either).
func TestServedRoundTripAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own account")
	}
	nc, br := rawServed(t)
	// A masked binary "ping" with a zero key (RFC 6455 §5.3 asks for a mask, not for what
	// it is); the echo comes back unmasked.
	req := []byte{0x82, 0x84, 0, 0, 0, 0, 'p', 'i', 'n', 'g'}
	want := []byte{0x82, 0x04, 'p', 'i', 'n', 'g'}
	got := make([]byte, len(want))
	roundTrip := func() {
		if _, err := nc.Write(req); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(br, got); err != nil || string(got) != string(want) {
			t.Fatalf("echo %x, %v", got, err)
		}
	}
	for range 20 {
		roundTrip()
	}
	if n := testing.AllocsPerRun(200, roundTrip); n >= 0.5 {
		t.Fatalf("a served round trip allocates %.2f times", n)
	}
}

// rawServed opens a WebSocket connection to a served echo server through a raw socket.
func rawServed(t *testing.T) (net.Conn, *bufio.Reader) {
	t.Helper()
	return rawServedBy(t, func(*Conn) Handler { return echoHandler{} })
}

// rawServedBy opens a WebSocket connection through a raw socket to a server whose
// connections open returns the Handler of.
func rawServedBy(t *testing.T, open func(*Conn) Handler) (net.Conn, *bufio.Reader) {
	t.Helper()
	url := servedServer(t, nil, open)
	host := strings.TrimPrefix(url, "ws://")
	nc, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_, _ = fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return nc, br
}

// TestServeParksAfterSilenceAndWakes: messages separated by more than parkAfter each find
// the connection parked (its goroutine gone) and are echoed; a frame whose second half
// comes more than parkAfter after its first is read whole, not cut off by the park
// deadline; a connection in use is not parked.
func TestServeParksAfterSilenceAndWakes(t *testing.T) {
	nc, br := rawServed(t)
	echo := func(payload string, pause time.Duration) {
		t.Helper()
		// Masked with a zero key (RFC 6455 §5.3 asks for a mask, not for what it is).
		f := append([]byte{0x82, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
		half := len(f) / 2
		if _, err := nc.Write(f[:half]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(pause)
		if _, err := nc.Write(f[half:]); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 2+len(payload))
		_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(br, got); err != nil || string(got[2:]) != payload {
			t.Fatalf("echo of %q: %q, %v", payload, got, err)
		}
	}
	for i := range 3 {
		time.Sleep(parkAfter + parkAfter/2) // parked by now
		echo(fmt.Sprintf("after silence %d", i), 0)
	}
	echo("a frame cut in two by a long pause", parkAfter+parkAfter/2)
	for i := range 20 {
		echo(fmt.Sprintf("in use %d", i), parkAfter/10)
	}
}

// echoHandler writes each message back.
type echoHandler struct{}

func (echoHandler) OnMessage(c *Conn, typ MessageType, p []byte) { _ = c.WriteMessage(typ, p) }
func (echoHandler) OnClose(*Conn, error)                         {}

// TestServeBurstsNeverStrand: messages that arrive while the read goroutine is handling the
// previous one, or parking, are announced by the poller's edge while it runs; the pending
// flag must carry every such announcement, or a message would sit in the socket until the
// next one. Many connections send bursts with and without pauses; every echo must come.
func TestServeBurstsNeverStrand(t *testing.T) {
	url := servedServer(t, nil, func(*Conn) Handler { return echoHandler{} })
	const conns, msgs = 16, 300
	errs := make(chan error, conns)
	for i := range conns {
		go func() {
			c, _, err := Dial(context.Background(), url, nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.CloseNow()
			got := make(chan error, 1)
			go func() {
				for j := range msgs {
					_, p, err := c.ReadMessage()
					if err == nil && string(p) != strconv.Itoa(j) {
						err = fmt.Errorf("echo %q, want %d", p, j)
					}
					if err != nil {
						got <- err
						return
					}
				}
				got <- nil
			}()
			for j := range msgs {
				if err := c.WriteMessage(MessageText, []byte(strconv.Itoa(j))); err != nil {
					errs <- err
					return
				}
				switch (i + j) % 7 {
				case 0:
					time.Sleep(time.Duration(j%3) * 100 * time.Microsecond)
				case 1:
					runtime.Gosched()
				}
			}
			select {
			case err := <-got:
				errs <- err
			case <-time.After(20 * time.Second):
				errs <- fmt.Errorf("connection %d: echoes stopped coming (a stranded message)", i)
			}
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeRacesACloseFromOpen: open hands the connection to code that may close it at once
// on another goroutine (an engine's shutdown closes every registered connection), so Close's
// drain of the peer's close frame can run while Serve is still deciding whether to park. The
// reader belongs to one of them at a time (the race detector watches), and OnClose comes once
// with the close code the client echoed.
func TestServeRacesACloseFromOpen(t *testing.T) {
	hs := make(chan *recorder, 1)
	url := servedServer(t, nil, func(c *Conn) Handler {
		h := newRecorder()
		hs <- h
		go func() { _ = c.Close(StatusGoingAway, "shutting down") }()
		time.Sleep(time.Millisecond) // lets the Close begin its drain
		return h
	})
	for i := range 50 {
		c := dial(t, url, nil)
		h := <-hs
		if _, _, err := c.ReadMessage(); CloseStatus(err) != StatusGoingAway {
			t.Fatalf("connection %d: the client read %v, want the server's 1001", i, err)
		}
		if err := waitClosed(t, h); CloseStatus(err) != StatusGoingAway {
			t.Fatalf("connection %d: OnClose got %v, want 1001", i, err)
		}
	}
}
