package ws

import (
	"testing"
	"time"
	"unsafe"
)

func TestLimitsDefaultsFillOnlyZeroFields(t *testing.T) {
	l := Limits{MaxMessageSize: 5, PingInterval: -1}.withDefaults()
	if l.MaxMessageSize != 5 || l.PingInterval != -1 {
		t.Fatalf("set fields changed: %+v", l)
	}
	if l.MaxFrameSize == 0 || l.HandshakeTimeout == 0 || l.MaxQueuedMessages == 0 || l.MaxMessagesPerSecond == 0 ||
		l.PongTimeout == 0 || l.IdleTimeout == 0 || l.WriteTimeout == 0 || l.CloseTimeout == 0 || l.MaxHeaderBytes == 0 || l.MaxQueuedBytes == 0 {
		t.Fatalf("a limit has no default: %+v", l)
	}
}

// flood has cl send n messages as fast as it can and returns how many sc read before it
// was closed, failing unless that was with 1008.
func flood(t *testing.T, sc, cl *Conn, n int) int {
	t.Helper()
	go func() {
		for range n {
			if cl.WriteMessage(MessageBinary, []byte("spam")) != nil {
				return
			}
		}
	}()
	read := 0
	for {
		_, _, err := sc.ReadMessage()
		if err != nil {
			if CloseStatus(err) != StatusPolicyViolation {
				t.Fatalf("flood ended with %v, want 1008", err)
			}
			return read
		}
		read++
	}
}

func TestFloodingPeerGets1008(t *testing.T) {
	sc, cl := acceptPair(t, &AcceptOptions{Limits: Limits{MaxMessagesPerSecond: 100, MessageBurst: 100}}, nil)
	n := flood(t, sc, cl, 1000)
	if n < 90 || n > 200 {
		t.Fatalf("read %d messages before the limit; the burst is 100", n)
	}
	// The client is told why.
	_, _, err := cl.ReadMessage()
	if CloseStatus(err) != StatusPolicyViolation {
		t.Fatalf("client saw %v, want 1008", err)
	}
}

// A backlog released at once after a stall (the network's, the peer's or this side's) is
// within the default burst, ten seconds' worth of the rate: the peer is not closed for it.
// A flood that goes on is, once it has spent the burst.
func TestBacklogAfterAStallIsNotAFlood(t *testing.T) {
	const rate = 50
	sc, cl := acceptPair(t, &AcceptOptions{Limits: Limits{MaxMessagesPerSecond: rate}}, nil)
	if b := sc.lim.MessageBurst; b != 10*rate {
		t.Fatalf("default burst %d, want ten seconds' worth (%d)", b, 10*rate)
	}
	// Eight seconds of a peer sending at the rate, released in one go.
	backlog := 8 * rate
	go func() {
		for range backlog {
			if cl.WriteMessage(MessageBinary, []byte("input")) != nil {
				return
			}
		}
	}()
	for i := range backlog {
		if _, _, err := sc.ReadMessage(); err != nil {
			t.Fatalf("closed after %d messages of an %d-message backlog: %v", i, backlog, err)
		}
	}
	// Now a flood: it spends what is left of the burst and is closed with 1008.
	if n := flood(t, sc, cl, 20*rate); n > 4*rate {
		t.Fatalf("a flood got %d messages past a burst with %d left", n, 2*rate)
	}
}

func TestOversizedMessageGets1009(t *testing.T) {
	sc, cl := acceptPair(t, &AcceptOptions{Limits: Limits{MaxMessageSize: 1000, MaxFrameSize: 600}}, &DialOptions{Compression: CompressionOptions{Mode: CompressionDisabled}})
	tests := []struct {
		name string
		size int
	}{
		{"frame over MaxFrameSize", 700},
	}
	for _, tt := range tests {
		if err := cl.WriteMessage(MessageBinary, make([]byte, tt.size)); err != nil {
			t.Fatal(err)
		}
		_, _, err := sc.ReadMessage()
		if CloseStatus(err) != StatusMessageTooBig {
			t.Fatalf("%s: got %v, want 1009", tt.name, err)
		}
	}
}

func TestIdleTimeoutClosesWith1001(t *testing.T) {
	sc, cl := acceptPair(t, &AcceptOptions{Limits: Limits{IdleTimeout: 150 * time.Millisecond}}, nil)
	go sc.ReadMessage()
	start := time.Now()
	_, _, err := cl.ReadMessage()
	if CloseStatus(err) != StatusGoingAway {
		t.Fatalf("idle client saw %v, want 1001", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("idle timeout after %v", d)
	}
}

func TestKeepalivePingsAnIdlePeer(t *testing.T) {
	sc, cl := acceptPair(t, &AcceptOptions{Limits: Limits{PingInterval: 50 * time.Millisecond, PongTimeout: 200 * time.Millisecond}}, nil)
	go func() {
		for {
			if _, _, err := cl.ReadMessage(); err != nil { // answers pings
				return
			}
		}
	}()
	done := make(chan error, 1)
	go func() { _, _, err := sc.ReadMessage(); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("a peer that answers pings was dropped: %v", err)
	case <-time.After(600 * time.Millisecond):
	}
	if sc.lastRead.Load() == 0 {
		t.Fatal("no pong ever arrived")
	}
}

// TestLimitsAreSharedBetweenConnections: connections with the same limits point to one
// interned copy; past the table's bound each gets its own, with its own values.
func TestLimitsAreSharedBetweenConnections(t *testing.T) {
	a := internLimits(Limits{MaxMessageSize: 12345}.withDefaults())
	b := internLimits(Limits{MaxMessageSize: 12345}.withDefaults())
	if a != b {
		t.Fatal("equal limits were not shared")
	}
	if c := internLimits(Limits{MaxMessageSize: 54321}.withDefaults()); c == a || c.MaxMessageSize != 54321 {
		t.Fatalf("distinct limits shared or wrong: %d", c.MaxMessageSize)
	}
	for i := range int(maxInterned) + 8 {
		l := Limits{MaxMessageSize: int64(100000 + i)}.withDefaults()
		if p := internLimits(l); *p != l {
			t.Fatalf("limits %d: got %+v", i, *p)
		}
	}
	if n := internedN.Load(); n > maxInterned {
		t.Fatalf("%d limits interned, bound %d", n, maxInterned)
	}
}

// TestConnFitsItsSizeClass guards the memory of an idle connection: Conn is allocated once
// per connection, in the runtime's 640-byte size class (it was 1,152 with the limits and the
// control-frame buffer inside it, 896 with the inflater inside it and booleans apart, and 768
// with the flusher's buffers and the waiting pong inside it; bench/idlemem measures the whole
// connection). The next class is 768: a field added, or a boolean moved away from the
// others, can cost 128 bytes of every connection.
func TestConnFitsItsSizeClass(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes measured on 64-bit platforms")
	}
	if n := unsafe.Sizeof(Conn{}); n > 640 {
		t.Fatalf("Conn is %d bytes, past the 640-byte size class", n)
	}
}
