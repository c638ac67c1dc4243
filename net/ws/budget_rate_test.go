package ws

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/internal/bpool"
)

// TestServerWideInflateRateBoundsManyConnections: four connections sending bombs, each
// within its own inflate rate (off here), together inflate no faster than their budget's
// InflateRate after its burst; every message arrives and nobody is closed.
func TestServerWideInflateRateBoundsManyConnections(t *testing.T) {
	const (
		msgSize = 512 << 10
		rate    = 4 << 20
		burst   = 1 << 20
		conns   = 4
		each    = 6
	)
	m := new(Metrics)
	budget := NewMemoryBudget(BudgetOptions{InflateRate: rate, InflateBurst: burst})
	lim := Limits{MaxMessageSize: msgSize, MaxFrameSize: msgSize, MaxInflateRate: -1, MemoryBudget: budget, PingInterval: -1}
	url := sinkServer(t, &AcceptOptions{Limits: lim, Metrics: m}, 0)
	bomb := clientFrame(0xC2, deflated(make([]byte, msgSize)))
	var wire []byte
	for range each {
		wire = append(wire, bomb...)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		a := attack(t, url, true)
		wg.Go(func() { _, _ = a.Write(wire) })
	}
	wg.Wait()
	deadline := time.Now().Add(hangDetector)
	for m.MessagesIn.Load() < conns*each {
		if time.Now().After(deadline) || m.ProtocolErrors.Load() != 0 {
			t.Fatalf("%d of %d messages read, %d protocol errors", m.MessagesIn.Load(), conns*each, m.ProtocolErrors.Load())
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	inflated := float64(m.PayloadIn.Load())
	// The burst, then the rate; each connection may have up to half a message inflated
	// before it is charged, and its last charge is paid by waiting after it.
	allowed := burst + rate*elapsed.Seconds() + conns*msgSize
	t.Logf("%d KiB inflated by %d connections in %v (%.1f MiB/s; budget rate %d MiB/s); %d pauses",
		int(inflated)>>10, conns, elapsed.Round(time.Millisecond), inflated/elapsed.Seconds()/(1<<20), rate>>20, m.InflateThrottled.Load())
	if inflated > allowed {
		t.Fatalf("inflated %.0f bytes, the budget's rate allows %.0f in %v", inflated, allowed, elapsed)
	}
	if m.InflateThrottled.Load() == 0 || m.BudgetRefused.Load() != 0 {
		t.Fatalf("%d pauses and %d refusals: want pauses and no refusal", m.InflateThrottled.Load(), m.BudgetRefused.Load())
	}
}

// TestServerWideInflateRateRefusesALongQueue: when so many connections wait for the
// budget's inflate rate that one would wait longer than a message's worth of its own rate,
// it is closed with 1013 instead. The first connection's message, within the burst, goes
// through; then seven at once ask for seven times what the burst and the horizon allow, so
// some are refused (under the race detector's slow inflater, possibly all seven: each is
// charged as it inflates, and they interleave).
func TestServerWideInflateRateRefusesALongQueue(t *testing.T) {
	const (
		msgSize = 1 << 20
		rate    = 1 << 20 // 1 MiB/s for all, and a 1 s horizon (msgSize at 8 MiB/s is less)
		conns   = 8
	)
	m := new(Metrics)
	budget := NewMemoryBudget(BudgetOptions{InflateRate: rate, InflateBurst: msgSize})
	lim := Limits{MaxMessageSize: msgSize, MaxFrameSize: msgSize, MemoryBudget: budget, PingInterval: -1}
	url := sinkServer(t, &AcceptOptions{Limits: lim, Metrics: m}, 0)
	bomb := clientFrame(0xC2, deflated(make([]byte, msgSize-1)))
	attackers := make([]*attacker, conns)
	for i := range attackers {
		attackers[i] = attack(t, url, true)
	}
	if _, err := attackers[0].Write(bomb); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(hangDetector); m.MessagesIn.Load() < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first message, within the burst, was never read")
		}
	}
	for _, a := range attackers[1:] {
		if _, err := a.Write(bomb); err != nil {
			t.Fatal(err)
		}
	}
	refused := 0
	for _, a := range attackers[1:] {
		_ = a.SetReadDeadline(time.Now().Add(2 * time.Second))
		op, p, err := a.next()
		if err == nil && op == opClose && len(p) >= 2 && StatusCode(uint16(p[0])<<8|uint16(p[1])) == StatusTryAgainLater {
			refused++
		}
	}
	t.Logf("%d of %d connections refused; %d messages read; %d refusals counted", refused, conns, m.MessagesIn.Load(), m.BudgetRefused.Load())
	if refused == 0 {
		t.Fatalf("none of the %d connections after the first was refused with 1013", conns-1)
	}
	// The ones not refused pause for the rate (up to the horizon at each charge) and then
	// get their messages through.
	for deadline := time.Now().Add(hangDetector); m.BudgetRefused.Load()+m.MessagesIn.Load() < conns; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages read and %d refused of %d", m.MessagesIn.Load(), m.BudgetRefused.Load(), conns)
		}
	}
	if m.BudgetRefused.Load() < int64(refused) {
		t.Fatalf("BudgetRefused %d, %d closes with 1013 seen", m.BudgetRefused.Load(), refused)
	}
}

// TestInflateChargeIsCappedAtTheHorizon: the server-wide rate's debt never runs more than
// the horizon past the burst, so after an attack that hit the cap everyone waits at most
// the horizon, not the attack's whole debt.
func TestInflateChargeIsCappedAtTheHorizon(t *testing.T) {
	b := NewMemoryBudget(BudgetOptions{InflateRate: 1 << 20, InflateBurst: 1 << 20})
	const horizon = time.Second
	now := int64(1e12)
	tests := []struct {
		n      int
		wait   time.Duration
		refuse bool
	}{
		{1 << 20, 0, false}, // the burst
		{512 << 10, 500 * time.Millisecond, false},
		{512 << 10, time.Second, false},      // exactly the horizon
		{100 << 20, 101 * time.Second, true}, // 101 s owed past the burst: refused, and capped
		{1, horizon + time.Microsecond, true},
	}
	for i, tc := range tests {
		wait, refuse := b.chargeInflate(tc.n, now, horizon)
		if refuse != tc.refuse || (wait-tc.wait).Abs() > 10*time.Microsecond {
			t.Fatalf("charge %d of %d bytes: wait %v, refuse %v; want %v, %v", i, tc.n, wait, refuse, tc.wait, tc.refuse)
		}
	}
	// Two seconds later the debt is paid down to the burst: no wait.
	if wait, refuse := b.chargeInflate(1, now+int64(2*time.Second), horizon); wait != 0 || refuse {
		t.Fatalf("after the horizon: wait %v, refuse %v; want none", wait, refuse)
	}
}

// TestLargeMessagesPaceTheCollector: large message buffers left to the garbage collector
// force a collection once a quarter of the budget's limit has been dropped.
func TestLargeMessagesPaceTheCollector(t *testing.T) {
	const msgSize = 1 << 20
	budget := NewMemoryBudget(BudgetOptions{Limit: 8 << 20, ReturnToOSAfter: -1})
	m := new(Metrics)
	lim := Limits{MaxMessageSize: msgSize, MaxFrameSize: msgSize, MemoryBudget: budget, PingInterval: -1}
	url := sinkServer(t, &AcceptOptions{Limits: lim, Metrics: m}, 0)
	a := attack(t, url, true)
	bomb := clientFrame(0xC2, deflated(make([]byte, msgSize-1)))
	const n = 16 // 16 MiB of buffers and more (they grow by doubling): 8 quarters of the limit
	for range n {
		if _, err := a.Write(bomb); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(hangDetector)
	for m.MessagesIn.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages read", m.MessagesIn.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	if c := budget.Collections(); c < 4 {
		t.Fatalf("%d collections forced after %d MiB of large buffers dropped, want at least 4", c, m.LargeBuffersFreed.Load()>>20)
	}
}

// TestCompressingALargeMessageAllocatesWhatItProduces: a 15 MiB message of zeros
// compresses to kilobytes; its output buffer grows from a small guess instead of being
// sized for half the input.
func TestCompressingALargeMessageAllocatesWhatItProduces(t *testing.T) {
	p := make([]byte, 15<<20)
	cw := getCompressor(15, 1)
	defer cw.free()
	warm, _ := cw.compressInto(p, true) // warm the compressor
	bpool.Put(warm)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	buf, ok := cw.compressInto(p, true)
	runtime.ReadMemStats(&after)
	if !ok || len(*buf) > 64<<10 {
		t.Fatalf("15 MiB of zeros compressed to %d bytes (ok %v)", len(*buf), ok)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("compressing 15 MiB of zeros allocated %d KiB", n>>10)
	}
}
