package ws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
)

// hangDetector bounds waits that only a bug would make long; no test asserts on wall time.
const hangDetector = 60 * time.Second

// sinkServer accepts with opts, echoes messages shorter than echoBelow bytes and discards
// the others. It returns the ws:// URL.
func sinkServer(t testing.TB, opts *AcceptOptions, echoBelow int) string {
	t.Helper()
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		c, err := accept(w, r, opts)
		if err != nil {
			return
		}
		if tc, ok := c.NetConn().(*net.TCPConn); ok && r.URL.Query().Has("tinybuf") {
			_ = tc.SetWriteBuffer(4 << 10)
		}
		for {
			typ, p, err := c.ReadMessage()
			if err != nil {
				t.Logf("server side ended: %v", err)
				return
			}
			if len(p) < echoBelow {
				if err := c.WriteMessage(typ, p); err != nil {
					return
				}
			}
		}
	}))
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// attacker is a hand-made client: a TCP connection past the opening handshake on which a
// test writes whatever frames it likes, as a hostile client would.
type attacker struct {
	net.Conn
	br *bufio.Reader
}

func attack(t testing.TB, url string, deflate bool) *attacker {
	t.Helper()
	u := strings.TrimPrefix(url, "ws://")
	host, query, _ := strings.Cut(u, "?")
	nc, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	req := "GET /?" + query + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if deflate {
		req += "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n"
	}
	if _, err := io.WriteString(nc, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	if deflate && !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatal("server declined permessage-deflate")
	}
	return &attacker{Conn: nc, br: br}
}

// next reads one server frame (unmasked, RFC 6455 §5.1).
func (a *attacker) next() (op opcode, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(a.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		_, err = io.ReadFull(a.br, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		_, err = io.ReadFull(a.br, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	if err != nil {
		return 0, nil, err
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(a.br, payload)
	return opcode(h[0] & 0xf), payload, err
}

// closeFrame reads until the server's close frame and returns its code and reason; pongs
// and messages on the way are counted in others.
func (a *attacker) closeFrame() (code StatusCode, reason string, others int, err error) {
	_ = a.SetReadDeadline(time.Now().Add(hangDetector))
	for {
		op, p, err := a.next()
		if err != nil {
			return 0, "", others, fmt.Errorf("no close frame from the server: %w (after %d other frames)", err, others)
		}
		if op == opClose {
			if len(p) < 2 {
				return 0, "", others, fmt.Errorf("close frame without a code: %x", p)
			}
			return StatusCode(binary.BigEndian.Uint16(p)), string(p[2:]), others, nil
		}
		others++
	}
}

// deflated is p compressed on its own as a permessage-deflate payload (RFC 7692 §7.2.1).
func deflated(p []byte) []byte {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	fw.Write(p)
	fw.Flush()
	return bytes.TrimSuffix(b.Bytes(), deflateTail)
}

func TestMemoryBudgetReservesWaitsAndWakes(t *testing.T) {
	b := NewMemoryBudget(BudgetOptions{Limit: 100, ReturnToOSAfter: -1})
	tests := []struct {
		name string
		n    int64
		wait time.Duration
		ok   bool
	}{
		{"fits", 60, 0, true},
		{"does not fit and may not wait", 50, 0, false},
		{"larger than the whole budget never waits", 101, time.Hour, false},
		{"fits exactly what is left", 40, 0, true},
	}
	for _, tt := range tests {
		ok, waited := b.reserve(tt.n, tt.wait, nil)
		if ok != tt.ok || waited {
			t.Fatalf("%s: reserve(%d) = %v, waited %v; want %v without waiting", tt.name, tt.n, ok, waited, tt.ok)
		}
	}
	if b.InUse() != 100 || b.Peak() != 100 {
		t.Fatalf("in use %d, peak %d; want 100 and 100", b.InUse(), b.Peak())
	}
	// A reservation that has to wait is woken by a release, not by its timeout.
	got := make(chan bool, 1)
	go func() {
		ok, _ := b.reserve(30, hangDetector, nil)
		got <- ok
	}()
	for b.waiting.Load() == 0 {
		runtime.Gosched()
	}
	b.release(60)
	if !<-got {
		t.Fatal("a waiting reservation was not served by a release")
	}
	// One that times out is refused.
	if ok, waited := b.reserve(50, time.Millisecond, nil); ok || !waited {
		t.Fatalf("reserve past the limit with a short wait: ok %v waited %v", ok, waited)
	}
	// done ends a wait at once.
	done := make(chan struct{})
	close(done)
	if ok, _ := b.reserve(50, hangDetector, done); ok {
		t.Fatal("reserve succeeded after done")
	}
	b.release(70)
	if b.InUse() != 0 {
		t.Fatalf("in use %d after releasing everything", b.InUse())
	}
}

// TestDeflateBombsStayWithinTheMemoryBudget is finding 1 of issue 11 in small: sixteen
// connections each send compressed messages of a few KiB that inflate to just under the
// 4 MiB message limit. Without a budget the server holds one inflated message per connection
// at once (64 MiB); with an 8 MiB budget its heap stays near that, bombs that find no room
// get 1013, an honest connection on the same server keeps getting its echoes throughout,
// and after the bombs hang up the budget is empty and the heap's memory goes back to the OS.
func TestDeflateBombsStayWithinTheMemoryBudget(t *testing.T) {
	const (
		bombs      = 16
		perConn    = 2
		msgLimit   = 4 << 20
		budgetSize = 8 << 20
	)
	budget := NewMemoryBudget(BudgetOptions{Limit: budgetSize, ReturnToOSAfter: 1 << 20})
	m := new(Metrics)
	lim := Limits{MaxMessageSize: msgLimit, MaxFrameSize: msgLimit, MemoryBudget: budget, MaxInflateRate: -1, PingInterval: -1}
	url := sinkServer(t, &AcceptOptions{Limits: lim, Metrics: m}, 1<<10)
	bomb := clientFrame(0xC2, deflated(make([]byte, msgLimit-1<<10)))
	t.Logf("bomb: %d bytes on the wire, %d inflated", len(bomb), msgLimit-1<<10)

	debug.FreeOSMemory()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	// Sample the heap while the attack runs.
	var peak atomic.Uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	// The honest player: small messages at a player's pace (a hundred a second, well inside
	// the message rate limit of both ends), each echoed, for as long as the attack lasts.
	honest := dial(t, url, nil)
	attackDone := make(chan struct{})
	honestErr := make(chan error, 1)
	var echoes atomic.Int64
	go func() {
		msg := []byte("move 1 2")
		for {
			if err := honest.WriteMessage(MessageBinary, msg); err != nil {
				honestErr <- err
				return
			}
			if _, p, err := honest.ReadMessage(); err != nil || !bytes.Equal(p, msg) {
				honestErr <- fmt.Errorf("echo %q: %v", p, err)
				return
			}
			echoes.Add(1)
			select {
			case <-attackDone:
				honestErr <- nil
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()

	var wg sync.WaitGroup
	codes := make(chan StatusCode, bombs)
	for range bombs {
		a := attack(t, url, true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perConn {
				if _, err := a.Write(bomb); err != nil {
					break
				}
			}
			// A normal close after the bombs: the server answers it after reading them all,
			// or it has already closed with 1013.
			_, _ = a.Write(clientFrame(0x88, []byte{0x03, 0xe8}))
			code, _, _, err := a.closeFrame()
			if err != nil {
				t.Error(err)
			}
			codes <- code
			a.Close()
		}()
	}
	wg.Wait()
	close(attackDone)
	if err := <-honestErr; err != nil {
		t.Fatalf("the honest connection was hurt by the attack: %v", err)
	}
	close(stopSampling)
	<-sampled
	close(codes)
	counts := map[StatusCode]int{}
	for c := range codes {
		counts[c]++
	}
	growth := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap in use grew by %.1f MiB at most (budget %d MiB, %d bombs of %d MiB); budget peak %.1f MiB; closes %v; waits %d, refused %d; honest echoes %d",
		float64(growth)/(1<<20), budgetSize>>20, bombs*perConn, msgLimit>>20, float64(budget.Peak())/(1<<20), counts,
		m.BudgetWaits.Load(), m.BudgetRefused.Load(), echoes.Load())
	for c, n := range counts {
		if c != StatusNormalClosure && c != StatusTryAgainLater {
			t.Errorf("%d bomb connections closed with %d, want 1000 or 1013", n, c)
		}
	}
	if budget.Peak() > budgetSize || budget.Peak() < budgetSize/2 {
		t.Errorf("budget peak %d: the bombs should have filled the %d byte budget and never passed it", budget.Peak(), budgetSize)
	}
	if m.BudgetWaits.Load() == 0 {
		t.Error("no read ever waited for the budget: the bombs were never held back")
	}
	// Live memory is at most the budget; the garbage collector lets the heap run up to about
	// twice the live heap before it collects. Without the budget this is 64 MiB and more.
	if limit := int64(4 * budgetSize); growth > limit {
		t.Errorf("heap in use grew by %d MiB during the attack, want at most %d MiB", growth>>20, limit>>20)
	}
	if echoes.Load() == 0 {
		t.Error("the honest connection got no echo during the attack")
	}

	// After they hang up: nothing is held, and the memory goes back to the OS.
	honest.CloseNow()
	deadline := time.Now().Add(hangDetector)
	for budget.InUse() != 0 || m.BudgetHeld.Load() != 0 || budget.Returns() == 0 || budget.dropped.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the attack: budget in use %d, held %d, returns %d, dropped since %d", budget.InUse(), m.BudgetHeld.Load(), budget.Returns(), budget.dropped.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	retained := func(ms *runtime.MemStats) int64 { return int64(ms.HeapSys - ms.HeapReleased) }
	t.Logf("after: heap in use %+.1f MiB, heap kept from the OS %+.1f MiB against before the attack; %d MiB of large buffers freed",
		float64(int64(after.HeapInuse)-int64(base.HeapInuse))/(1<<20), float64(retained(&after)-retained(&base))/(1<<20), m.LargeBuffersFreed.Load()>>20)
	if d := int64(after.HeapInuse) - int64(base.HeapInuse); d > budgetSize {
		t.Errorf("heap in use still %d MiB above where it was before the attack", d>>20)
	}
	if d := retained(&after) - retained(&base); d > 2*budgetSize {
		t.Errorf("heap memory kept from the OS still %d MiB above where it was before the attack", d>>20)
	}
}

// TestBudgetWaitsThenRefusesWith1013 holds the budget with one connection's unfinished
// message and shows what another connection's message that needs the budget gets: it
// waits, and is served when the first message completes within MemoryWait, or gets 1013
// Try Again Later when it does not. A small message on a third connection meanwhile never
// waits: it fits the allowance.
func TestBudgetWaitsThenRefusesWith1013(t *testing.T) {
	for _, tt := range []struct {
		name     string
		wait     time.Duration
		finish   bool // the holder completes its message while the other waits
		wantCode StatusCode
	}{
		{"holder finishes within the wait: served", hangDetector, true, 0},
		{"budget stays full: 1013", 50 * time.Millisecond, false, StatusTryAgainLater},
		{"no waiting: 1013 at once", -1, false, StatusTryAgainLater},
	} {
		t.Run(tt.name, func(t *testing.T) {
			budget := NewMemoryBudget(BudgetOptions{Limit: 1 << 20, ReturnToOSAfter: -1})
			m := new(Metrics)
			lim := Limits{MaxMessageSize: 4 << 20, MaxFrameSize: 4 << 20, MemoryBudget: budget, MemoryWait: tt.wait, PingInterval: -1}
			url := sinkServer(t, &AcceptOptions{Limits: lim, Metrics: m, Compression: CompressionOptions{Mode: CompressionDisabled}}, 1<<30)

			holder := attack(t, url, false)
			part := payload(768<<10, false)
			if _, err := holder.Write(clientFrame(0x02, part)); err != nil { // first fragment, no FIN
				t.Fatal(err)
			}
			for budget.InUse() < int64(len(part))-64<<10 {
				time.Sleep(time.Millisecond)
			}

			other := attack(t, url, false)
			big := payload(512<<10, false)
			if _, err := other.Write(clientFrame(0x82, big)); err != nil {
				t.Fatal(err)
			}
			if tt.finish {
				for budget.waiting.Load() == 0 {
					time.Sleep(time.Millisecond)
				}
			}

			small := dial(t, url, &DialOptions{Compression: CompressionOptions{Mode: CompressionDisabled}})
			if err := small.WriteMessage(MessageText, []byte("hi")); err != nil {
				t.Fatal(err)
			}
			if _, p, err := small.ReadMessage(); err != nil || string(p) != "hi" {
				t.Fatalf("a small message waited for or was refused by the budget: %q %v", p, err)
			}

			if tt.finish {
				if _, err := holder.Write(clientFrame(0x80, []byte("end"))); err != nil {
					t.Fatal(err)
				}
				_ = other.SetReadDeadline(time.Now().Add(hangDetector))
				op, p, err := other.next()
				if err != nil || op != opBinary || !bytes.Equal(p, big) {
					t.Fatalf("waiting message not served: op %v, %d bytes, %v", op, len(p), err)
				}
				if m.BudgetWaits.Load() == 0 {
					t.Fatal("BudgetWaits not counted")
				}
				return
			}
			code, reason, _, err := other.closeFrame()
			if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Fatalf("message beyond a full budget closed with %d %q, want %d", code, reason, tt.wantCode)
			}
			t.Logf("peer got %d %q", code, reason)
			if m.BudgetRefused.Load() != 1 {
				t.Fatalf("BudgetRefused = %d, want 1", m.BudgetRefused.Load())
			}
			// The refused connection gave its share back; the holder still has its own.
			holder.Close()
			deadline := time.Now().Add(hangDetector)
			for budget.InUse() != 0 || m.BudgetHeld.Load() != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("budget in use %d, held %d after both connections ended", budget.InUse(), m.BudgetHeld.Load())
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// TestInflateRateThrottlesBombRoundTrips sends compressed messages that inflate a
// thousandfold: the connection is never closed, every message arrives, but the server
// inflates no faster than MaxInflateRate after the burst (finding 1's round trips).
func TestInflateRateThrottlesBombRoundTrips(t *testing.T) {
	const (
		msgSize = 512 << 10
		rate    = 2 << 20
		burst   = msgSize
		n       = 8
	)
	m := new(Metrics)
	lim := Limits{MaxMessageSize: msgSize, MaxFrameSize: msgSize, MaxInflateRate: rate, InflateBurst: burst, PingInterval: -1}
	url := sinkServer(t, &AcceptOptions{Limits: lim, Metrics: m}, 0)
	a := attack(t, url, true)
	bomb := clientFrame(0xC2, deflated(make([]byte, msgSize)))
	var wire []byte
	for range n {
		wire = append(wire, bomb...)
	}
	start := time.Now()
	if _, err := a.Write(wire); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(hangDetector)
	for m.MessagesIn.Load() < n {
		if time.Now().After(deadline) || m.ProtocolErrors.Load() != 0 {
			t.Fatalf("%d of %d messages read, %d protocol errors", m.MessagesIn.Load(), n, m.ProtocolErrors.Load())
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	inflated := float64(m.PayloadIn.Load())
	// The bucket lets through the burst, then the rate; one message may overdraw it.
	allowed := burst + rate*elapsed.Seconds() + msgSize
	t.Logf("%d KiB inflated from %d KiB in %v (%.1f MiB/s; rate %d MiB/s, burst %d KiB); %d pauses, %v paused",
		int(inflated)>>10, len(wire)>>10, elapsed.Round(time.Millisecond), inflated/elapsed.Seconds()/(1<<20), rate>>20, burst>>10,
		m.InflateThrottled.Load(), time.Duration(m.InflateThrottledNanos.Load()).Round(time.Millisecond))
	if inflated != n*msgSize {
		t.Fatalf("inflated %.0f bytes, want %d", inflated, n*msgSize)
	}
	if inflated > allowed {
		t.Fatalf("inflated %.0f bytes, the rate allows %.0f in %v", inflated, allowed, elapsed)
	}
	if m.InflateThrottled.Load() == 0 {
		t.Fatal("the connection was never paused")
	}
}

// TestFrameFloodsAreClosed sends the floods of finding 4, each on a fresh connection, against
// a small frame budget, and the legitimate traffic that must not look like one.
func TestFrameFloodsAreClosed(t *testing.T) {
	const rate, burst = 200, 200
	lim := Limits{MaxFramesPerSecond: rate, FrameBurst: burst, MaxMessageSize: 4 << 20, MaxFrameSize: 4 << 20, PingInterval: -1}
	first := clientFrame(0x02, []byte("start"))
	tests := []struct {
		name  string
		setup []byte             // sent once
		frame func(i int) []byte // sent until the server closes
		flood bool
		limit int // frames the flood may send at most (a hang detector, not a timing)
	}{
		{"empty continuation frames", first, func(int) []byte { return clientFrame(0x00, nil) }, true, 1 << 22},
		{"one-byte continuation frames", first, func(int) []byte { return clientFrame(0x00, []byte{'x'}) }, true, 1 << 22},
		{"empty pings", nil, func(int) []byte { return clientFrame(0x89, nil) }, true, 1 << 22},
		{"125-byte pings", nil, func(int) []byte { return clientFrame(0x89, bytes.Repeat([]byte{'p'}, 125)) }, true, 1 << 21},
		{"unsolicited pongs", nil, func(int) []byte { return clientFrame(0x8A, []byte("pong")) }, true, 1 << 22},
		{"empty text messages", nil, func(int) []byte { return clientFrame(0x81, nil) }, true, 1 << 22},
		// 64 KiB in 64-byte fragments is 1024 frames, five times the burst: not a flood.
		{"message in 64-byte fragments", nil, func(i int) []byte {
			switch {
			case i == 0:
				return clientFrame(0x02, make([]byte, 64))
			case i < 1023:
				return clientFrame(0x00, make([]byte, 64))
			case i == 1023:
				return clientFrame(0x80, make([]byte, 64))
			}
			return nil
		}, false, 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := new(Metrics)
			url := sinkServer(t, &AcceptOptions{Limits: lim, Metrics: m, Compression: CompressionOptions{Mode: CompressionDisabled}}, 1<<30)
			a := attack(t, url, false)
			if tt.setup != nil {
				if _, err := a.Write(tt.setup); err != nil {
					t.Fatal(err)
				}
			}
			sent := make(chan int, 1)
			var stop atomic.Bool
			go func() {
				var buf []byte
				i := 0
				for ; i < tt.limit && !stop.Load(); i++ {
					f := tt.frame(i)
					if f == nil {
						break
					}
					buf = append(buf, f...)
					if len(buf) >= 8<<10 {
						if _, err := a.Write(buf); err != nil {
							break
						}
						buf = buf[:0]
					}
				}
				if len(buf) > 0 {
					_, _ = a.Write(buf)
				}
				sent <- i
			}()
			if !tt.flood {
				_ = a.SetReadDeadline(time.Now().Add(hangDetector))
				op, p, err := a.next()
				if err != nil || op != opBinary || len(p) != 64<<10 {
					t.Fatalf("fragmented message not echoed: op %v, %d bytes, %v", op, len(p), err)
				}
				if m.FrameFloods.Load() != 0 {
					t.Fatal("counted as a flood")
				}
				return
			}
			code, reason, others, err := a.closeFrame()
			stop.Store(true)
			if err != nil {
				t.Fatal(err)
			}
			if code != StatusPolicyViolation || reason != "frame rate limit exceeded" {
				t.Fatalf("flood closed with %d %q, want 1008 \"frame rate limit exceeded\"", code, reason)
			}
			a.Close()
			t.Logf("closed after %d frames sent", <-sent)
			if m.FrameFloods.Load() != 1 {
				t.Fatalf("FrameFloods = %d, want 1", m.FrameFloods.Load())
			}
			// Pongs and echoes written before the close are bounded by the frames taken.
			if others > burst+rate*int(hangDetector/time.Second) {
				t.Fatalf("%d frames answered before the close", others)
			}
		})
	}
}

// TestPingFloodAnswersOnlyTheLatestPing floods pings at a server (frame limit off) while not
// reading, so its socket fills: the server must not queue a pong per ping (RFC 6455 §5.5.3
// lets it answer only the most recent one), must not drop the peer as a slow consumer for
// pongs it was never obliged to send, and must answer the last ping once the peer reads.
func TestPingFloodAnswersOnlyTheLatestPing(t *testing.T) {
	const pings = 20000
	m := new(Metrics)
	lim := Limits{MaxFramesPerSecond: -1, PingInterval: -1}
	url := sinkServer(t, &AcceptOptions{Limits: lim, Metrics: m}, 1<<30) + "?tinybuf"
	// The server's socket buffer is small (?tinybuf) and the attacker does not read, so the
	// server's writes back up after a few KiB. (Shrinking the attacker's receive buffer too
	// makes Linux drop the segments that carry its ACKs, which stalls the pings themselves.)
	a := attack(t, url, false)
	ping := clientFrame(0x89, bytes.Repeat([]byte{'p'}, 100))
	var buf []byte
	for range pings {
		buf = append(buf, ping...)
	}
	if _, err := a.Write(buf); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(clientFrame(0x89, []byte("last"))); err != nil {
		t.Fatal(err)
	}
	// Wait until the server has read every ping (the last one's pong is then written or
	// waiting), then read.
	deadline := time.Now().Add(hangDetector)
	for m.PongsSkipped.Load() == 0 || m.BytesIn.Load() < int64(len(buf)) {
		if time.Now().After(deadline) {
			t.Fatalf("server read %d of %d bytes, skipped %d pongs", m.BytesIn.Load(), len(buf), m.PongsSkipped.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = a.SetReadDeadline(time.Now().Add(hangDetector))
	pongs := 0
	for {
		op, p, err := a.next()
		if err != nil {
			t.Fatalf("after %d pongs: %v", pongs, err)
		}
		if op != opPong {
			t.Fatalf("frame %v while waiting for pongs", op)
		}
		pongs++
		if string(p) == "last" {
			break
		}
	}
	t.Logf("%d pings, %d pongs, %d skipped", pings+1, pongs, m.PongsSkipped.Load())
	if pongs+int(m.PongsSkipped.Load()) != pings+1 {
		t.Fatalf("%d pongs sent and %d skipped for %d pings", pongs, m.PongsSkipped.Load(), pings+1)
	}
	if m.SlowConsumers.Load() != 0 {
		t.Fatal("the pinging peer was dropped as a slow consumer")
	}
}

// TestClosedConnectionsReturnTheirBudget closes connections in the middle of a large
// message in each way a connection can end, and checks that the budget gets every byte back.
func TestClosedConnectionsReturnTheirBudget(t *testing.T) {
	for _, how := range []string{"peer vanishes", "server CloseNow while idle after a large message"} {
		t.Run(how, func(t *testing.T) {
			budget := NewMemoryBudget(BudgetOptions{Limit: 64 << 20, ReturnToOSAfter: -1})
			m := new(Metrics)
			lim := Limits{MaxMessageSize: 4 << 20, MaxFrameSize: 4 << 20, MemoryBudget: budget, PingInterval: -1}
			sc, cl := acceptPair(t, &AcceptOptions{Limits: lim, Metrics: m}, &DialOptions{Limits: lim})
			switch how {
			case "peer vanishes":
				go func() { _, _, _ = sc.ReadMessage() }()
				// Half a large message, then the transport ends.
				nc := cl.NetConn()
				if _, err := nc.Write(clientFrame(0x82, make([]byte, 1<<20))[:512<<10]); err != nil {
					t.Fatal(err)
				}
				for budget.InUse() == 0 {
					time.Sleep(time.Millisecond)
				}
				nc.Close()
			default:
				if err := cl.WriteMessage(MessageBinary, payload(1<<20, false)); err != nil {
					t.Fatal(err)
				}
				if _, p, err := sc.ReadMessage(); err != nil || len(p) != 1<<20 {
					t.Fatalf("read %d bytes: %v", len(p), err)
				}
				if budget.InUse() == 0 {
					t.Fatal("a 1 MiB message held nothing against the budget")
				}
				sc.CloseNow() // the application keeps p and never reads again
			}
			deadline := time.Now().Add(hangDetector)
			for budget.InUse() != 0 || m.BudgetHeld.Load() != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("budget in use %d, held %d after the connection ended", budget.InUse(), m.BudgetHeld.Load())
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// TestManySmallFragmentsGrowTheBufferGeometrically reads a 1 MiB message in 64-byte
// fragments and counts how often the message buffer was replaced: growing by each fragment
// would copy the message once per fragment (16,384 times, quadratic work).
func TestManySmallFragmentsGrowTheBufferGeometrically(t *testing.T) {
	m := new(Metrics)
	lim := Limits{MaxMessageSize: 4 << 20, MaxFrameSize: 4 << 20, PingInterval: -1}
	sc, cl := acceptPair(t, &AcceptOptions{Limits: lim, Metrics: m, Compression: CompressionOptions{Mode: CompressionDisabled}},
		&DialOptions{Compression: CompressionOptions{Mode: CompressionDisabled}})
	var wire []byte
	for i := range 1 << 14 {
		b0 := byte(0x00)
		if i == 0 {
			b0 = 0x02
		}
		if i == 1<<14-1 {
			b0 |= 0x80
		}
		wire = append(wire, clientFrame(b0, make([]byte, 64))...)
	}
	go cl.NetConn().Write(wire)
	_, p, err := sc.ReadMessage()
	if err != nil || len(p) != 1<<20 {
		t.Fatalf("read %d bytes: %v", len(p), err)
	}
	// Each buffer above 64 KiB that was replaced was freed: 128 KiB, 256 KiB, 512 KiB.
	if freed := m.LargeBuffersFreed.Load(); freed > 2<<20 {
		t.Fatalf("%d KiB of buffers freed while growing to 1 MiB: the buffer grew in small steps", freed>>10)
	}
}
