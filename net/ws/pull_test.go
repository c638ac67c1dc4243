package ws

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pullRecorder records each message with whether it came through Pull on the puller's
// goroutine (the test's) or on a goroutine of the connection's.
type pullRecorder struct {
	*recorder
	puller atomic.Uint64 // goroutine id of the caller of Pull
	refuse string        // Inline refuses messages with this prefix, when set
	mu     sync.Mutex
	via    []string // "pull" or "own" per message
	got    chan struct{}
}

func newPullRecorder() *pullRecorder {
	h := &pullRecorder{recorder: newRecorder(), got: make(chan struct{}, 64)}
	h.puller.Store(goid())
	return h
}

func (h *pullRecorder) OnMessage(c *Conn, typ MessageType, p []byte) {
	via := "own"
	if goid() == h.puller.Load() {
		via = "pull"
	}
	h.mu.Lock()
	h.via = append(h.via, string(p)+"@"+via)
	h.mu.Unlock()
	h.recorder.OnMessage(c, typ, p)
	h.got <- struct{}{}
}

func (h *pullRecorder) Inline(_ *Conn, _ MessageType, p []byte) bool {
	return h.refuse == "" || !bytes.HasPrefix(p, []byte(h.refuse))
}

func (h *pullRecorder) delivered() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.via, " ")
}

// goid is the calling goroutine's id, from its stack header.
func goid() uint64 {
	var b [64]byte
	s := strings.TrimPrefix(string(b[:runtime.Stack(b[:], false)]), "goroutine ")
	id, _ := strconv.ParseUint(s[:strings.IndexByte(s, ' ')], 10, 64)
	return id
}

// pulledPair serves one connection with h, pulled, and returns both ends once the server's
// side waits for its puller (idle, no goroutine).
func pulledPair(t *testing.T, h Handler, opts *AcceptOptions) (server, client *Conn) {
	t.Helper()
	if !pollSupported {
		t.Skip("pulled connections need net/ws's poller (Linux)")
	}
	conns := make(chan *Conn, 1)
	url := servedServer(t, opts, func(c *Conn) Handler { c.SetPulled(true); conns <- c; return h })
	client = dial(t, url, nil)
	server = <-conns
	waitIdle(t, server)
	return server, client
}

// waitIdle waits until c's goroutine has parked it: only Pull reads it then.
func waitIdle(t *testing.T, c *Conn) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); c.sv.state.Load() != serveIdle; {
		if time.Now().After(deadline) {
			t.Fatalf("the connection never parked (state %d)", c.sv.state.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// waitUnread waits until c's socket holds n unread bytes.
func waitUnread(t *testing.T, c *Conn, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); unreadBytes(c) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d unread bytes, want %d", unreadBytes(c), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitGot(t *testing.T, h *pullRecorder, n int) {
	t.Helper()
	for range n {
		select {
		case <-h.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("messages delivered: %q; want %d more", h.delivered(), n)
		}
	}
}

// maskedFrame is a client frame with mask key 0 (the payload goes as is).
func maskedFrame(op opcode, payload string) []byte {
	return append([]byte{0x80 | byte(op), 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
}

// TestPullDeliversOnlyWhatItIsAskedFor: a pulled connection's messages wait in its socket
// until Pull; Pull hands over at most max of them, in order, on the caller's goroutine, and
// one read takes all that arrived.
func TestPullDeliversOnlyWhatItIsAskedFor(t *testing.T) {
	h := newPullRecorder()
	sc, cc := pulledPair(t, h, nil)
	for _, m := range []string{"a", "bb", "ccc"} {
		if err := cc.WriteMessage(MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	waitUnread(t, sc, 3*6+6)
	if got := h.delivered(); got != "" {
		t.Fatalf("delivered before any Pull: %q", got)
	}
	if n := sc.Pull(2); n != 2 {
		t.Fatalf("Pull(2) = %d", n)
	}
	if n := sc.Pull(10); n != 1 {
		t.Fatalf("the second Pull = %d, want the one left", n)
	}
	if n := sc.Pull(10); n != 0 {
		t.Fatalf("a Pull with nothing there = %d", n)
	}
	if got, want := h.delivered(), "a@pull bb@pull ccc@pull"; got != want {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	for _, m := range []string{"a", "bb", "ccc"} { // the handler's echoes: writes work as usual
		if _, p, err := cc.ReadMessage(); err != nil || string(p) != m {
			t.Fatalf("echo %q, %v; want %q", p, err, m)
		}
	}
}

// TestPullHandsOffWhatItCannotFinish: whatever would make Pull wait goes to a goroutine of
// the connection's, in order, and the connection is pulled again afterwards; a close or a
// failure reaches OnClose without Pull waiting for the peer.
func TestPullHandsOffWhatItCannotFinish(t *testing.T) {
	tests := []struct {
		name   string
		refuse string
		// send puts the case on the wire; it returns how many bytes the server's socket
		// then holds and what finishes it after the first Pull (nil: nothing).
		send func(t *testing.T, cc *Conn) (int, func())
		want string // the messages delivered, with how
		code StatusCode
	}{
		{
			name: "a frame split in two",
			send: func(t *testing.T, cc *Conn) (int, func()) {
				f := maskedFrame(opText, "split")
				write(t, cc.nc, f[:4])
				return 4, func() { write(t, cc.nc, f[4:]) }
			},
			want: "split@own",
		},
		{
			name:   "a message Inline refuses, and the ones after it",
			refuse: "x",
			send: func(t *testing.T, cc *Conn) (int, func()) {
				write(t, cc.nc, append(append(maskedFrame(opText, "a"), maskedFrame(opText, "xb")...), maskedFrame(opText, "c")...))
				return 7 + 8 + 7, nil
			},
			want: "a@pull xb@own c@own",
		},
		{
			name: "the peer's close",
			send: func(t *testing.T, cc *Conn) (int, func()) {
				write(t, cc.nc, maskedFrame(opClose, "\x03\xe9bye"))
				return 11, nil
			},
			code: StatusGoingAway,
		},
		{
			name: "a protocol error, the peer reading nothing",
			send: func(t *testing.T, cc *Conn) (int, func()) {
				write(t, cc.nc, []byte{0x81, 0x01, 'u'}) // unmasked client frame
				return 3, nil
			},
			code: StatusProtocolError,
		},
		{
			name: "the end of the stream",
			send: func(t *testing.T, cc *Conn) (int, func()) {
				_ = cc.nc.Close()
				return 0, nil
			},
			code: StatusAbnormalClosure,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newPullRecorder()
			h.refuse = tt.refuse
			// The failing side waits this long for the peer's close: Pull must not.
			sc, cc := pulledPair(t, h, &AcceptOptions{Limits: Limits{CloseTimeout: 30 * time.Second}})
			n, rest := tt.send(t, cc)
			waitUnread(t, sc, n)
			if n == 0 {
				time.Sleep(20 * time.Millisecond) // the FIN: FIONREAD cannot show it
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				h.puller.Store(goid())
				sc.Pull(10)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Pull blocked")
			}
			if rest != nil {
				rest()
			}
			if tt.code != 0 {
				if tt.code == StatusProtocolError {
					_ = cc.nc.Close() // let the server finish its close after Pull returned
				}
				if err := waitClosed(t, h.recorder); CloseStatus(err) != tt.code {
					t.Fatalf("OnClose got %v, want %d", err, tt.code)
				}
				return
			}
			waitGot(t, h, strings.Count(tt.want, "@"))
			if got := h.delivered(); got != tt.want {
				t.Fatalf("delivered %q, want %q", got, tt.want)
			}
			// Pulled again: the next message waits for a Pull.
			waitIdle(t, sc)
			if err := cc.WriteMessage(MessageText, []byte("next")); err != nil {
				t.Fatal(err)
			}
			waitUnread(t, sc, 10)
			h.puller.Store(goid())
			if n := sc.Pull(10); n != 1 {
				t.Fatalf("Pull after the hand-off = %d (delivered %q)", n, h.delivered())
			}
		})
	}
}

// TestSetPulledOffReadsAsUsual: a connection no longer pulled gets its messages without Pull,
// including one that waited in its socket while it was pulled.
func TestSetPulledOffReadsAsUsual(t *testing.T) {
	h := newPullRecorder()
	sc, cc := pulledPair(t, h, nil)
	if err := cc.WriteMessage(MessageText, []byte("waiting")); err != nil {
		t.Fatal(err)
	}
	waitUnread(t, sc, 13)
	sc.SetPulled(false)
	if err := cc.WriteMessage(MessageText, []byte("later")); err != nil {
		t.Fatal(err)
	}
	waitGot(t, h, 2)
	if got, want := h.delivered(), "waiting@own later@own"; got != want {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	if n := sc.Pull(10); n != 0 {
		t.Fatalf("Pull on a connection not pulled = %d", n)
	}
}

func write(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// noReadConn fails every Read: a reader that reaches for the transport says so.
type noReadConn struct{ net.Conn }

var errReadCalled = errors.New("read from the transport")

func (noReadConn) Read([]byte) (int, error)         { return 0, errReadCalled }
func (noReadConn) Write(p []byte) (int, error)      { return len(p), nil }
func (noReadConn) Close() error                     { return nil }
func (noReadConn) SetReadDeadline(time.Time) error  { return nil }
func (noReadConn) SetWriteDeadline(time.Time) error { return nil }
func (noReadConn) SetDeadline(time.Time) error      { return nil }

// FuzzWholeMessageBuffered checks the promise Pull relies on: when wholeMessageBuffered says
// the read buffer holds a whole message, readMessage returns (a message or an error) without
// reading the transport, whatever the bytes.
func FuzzWholeMessageBuffered(f *testing.F) {
	f.Add(maskedFrame(opText, "a"))
	f.Add(append(maskedFrame(opPing, "p"), maskedFrame(opBinary, "b")...))
	f.Add(append([]byte{0x01, 0x81, 0, 0, 0, 0, 'x'}, maskedFrame(opContinuation, "y")...))
	f.Add(maskedFrame(opClose, "\x03\xe8"))
	f.Add([]byte{0x81, 0xfe, 0x00, 0x7e, 0, 0, 0, 0})
	f.Add([]byte{0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := newConn(noReadConn{}, true, Limits{PingInterval: -1, IdleTimeout: -1}, new(Metrics))
		defer c.CloseNow()
		buf := append(make([]byte, 0, len(b)), b...)
		c.r.buf = &buf
		if !c.r.wholeMessageBuffered() {
			return
		}
		if _, _, err := c.r.readMessage(); errors.Is(err, errReadCalled) {
			t.Fatalf("readMessage read the transport after wholeMessageBuffered on % x", b)
		}
	})
}

// countHandler counts messages and allocates nothing.
type countHandler struct{ n int }

func (h *countHandler) OnMessage(*Conn, MessageType, []byte) { h.n++ }
func (h *countHandler) OnClose(*Conn, error)                 {}

// TestPullAllocatesNothing: a room's tick pulls every player's connection, 60 times a
// second; reading and handing over a message that arrived whole costs no allocation (the
// read buffer and the message buffer come from pools).
func TestPullAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops buffers on purpose")
	}
	h := new(countHandler)
	sc, cc := pulledPair(t, h, nil)
	// A collection empties sync.Pools, and the next pull refills one: that is the pool's
	// doing, not the pull's, so none runs while the allocations are counted.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	const rounds = 50
	frame := maskedFrame(opBinary, "an input of 24 bytes....")
	var ms runtime.MemStats
	allocs := uint64(0)
	for i := range rounds {
		write(t, cc.nc, frame)
		waitUnread(t, sc, len(frame))
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		n := sc.Pull(4)
		runtime.ReadMemStats(&ms)
		if i >= 5 { // the pools fill in the first rounds
			allocs += ms.Mallocs - before
		}
		if n != 1 {
			t.Fatalf("round %d: Pull = %d", i, n)
		}
	}
	// A pooled buffer put back on one P and wanted on another is sometimes missed and made
	// anew (a few in 10,000 pulls in 200 runs of this test): tolerated, as AllocsPerRun's
	// rounding tolerates it elsewhere. An allocation per pull, or every few, fails.
	if allocs > (rounds-5)/10 {
		t.Fatalf("%d allocations in %d pulls of one message each", allocs, rounds-5)
	}
}
