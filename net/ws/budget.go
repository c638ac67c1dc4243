package ws

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rallypoint/rallypoint/internal/bpool"
)

// MemoryBudget bounds the memory that inbound messages hold across every connection that
// shares it: the buffers a message is reassembled in, the compressed bytes gathered before
// inflation and the inflated output. MaxMessageSize bounds one message; without a budget,
// 64 connections each sending a compressed message that inflates to just under a 16 MiB limit
// cost a gigabyte at once. With one, they cost at most the budget, and the rest wait or are
// turned away (see Limits.MemoryWait).
//
// Messages small enough to fit a connection's allowance (Limits.MessageAllowance, 64 KiB by
// default) never touch the budget: a game's inputs and chat cost one comparison, never wait
// and are never refused for what other connections do. The total that inbound messages can
// hold is therefore the budget plus open connections times the allowance; connections in all
// have their own limit in front of this package.
//
// A budget also hands memory back to the operating system: buffers above the allowance are
// never pooled (a pool would keep the memory of the last attack for the next GC cycles), and
// once large buffers worth BudgetOptions.ReturnToOSAfter have been dropped and the budget is
// nearly idle again, it forces a collection and returns freed memory (runtime/debug.FreeOSMemory)
// so that the process's RSS comes back down after a burst of large messages.
//
// A MemoryBudget is safe for concurrent use. Share one per server; DefaultMemoryBudget is the
// one connections use when Limits names none.
type MemoryBudget struct {
	limit       int64
	returnAfter int64
	quiet       time.Duration

	used    atomic.Int64 // bytes reserved now
	peak    atomic.Int64 // most bytes ever reserved at once
	waiting atomic.Int32 // reservations blocked in reserve

	mu    sync.Mutex
	freed chan struct{} // closed (and cleared) when bytes are released while someone waits

	dropped   atomic.Int64 // bytes of large buffers dropped since memory was last returned
	lastDrop  atomic.Int64 // monoNow of the last drop
	returnArm atomic.Bool  // a return is scheduled
	returns   atomic.Int64 // times memory was returned to the OS
}

// BudgetOptions configures a MemoryBudget. The zero value is the default.
type BudgetOptions struct {
	// Limit is how many bytes inbound messages above their connection's allowance may hold
	// at once across all connections that share the budget. Default 256 MiB: sixteen
	// messages at the gameserver's /echo limit of 16 MiB, or 256 at the default 1 MiB. It
	// costs nothing when unused; it is a ceiling, not a reservation.
	Limit int64
	// ReturnToOSAfter is how many bytes of large buffers must have been dropped before the
	// budget returns memory to the OS, which it does once the burst is over: no large buffer
	// dropped for a second, and the budget below one eighth of Limit. Returning costs one forced garbage collection (a few
	// milliseconds of CPU spread over the collector's workers, not a pause of that length)
	// and the page faults of growing again later; it happens at most once a second and only
	// after a burst of large messages. Default 32 MiB; negative never returns memory (the Go
	// runtime's own scavenger then returns it over minutes).
	ReturnToOSAfter int64
}

// NewMemoryBudget returns a budget configured by o.
func NewMemoryBudget(o BudgetOptions) *MemoryBudget {
	if o.Limit <= 0 {
		o.Limit = 256 << 20
	}
	if o.ReturnToOSAfter == 0 {
		o.ReturnToOSAfter = 32 << 20
	}
	return &MemoryBudget{limit: o.Limit, returnAfter: o.ReturnToOSAfter, quiet: time.Second}
}

// DefaultMemoryBudget is the process-wide budget of connections whose Limits name none, so
// that every server in a process is bounded even when nobody configured anything.
var DefaultMemoryBudget = NewMemoryBudget(BudgetOptions{})

// Limit is the most bytes the budget lets connections hold at once.
func (b *MemoryBudget) Limit() int64 { return b.limit }

// InUse is the number of bytes reserved now.
func (b *MemoryBudget) InUse() int64 { return b.used.Load() }

// Peak is the most bytes ever reserved at once.
func (b *MemoryBudget) Peak() int64 { return b.peak.Load() }

// Returns is how many times the budget returned memory to the operating system.
func (b *MemoryBudget) Returns() int64 { return b.returns.Load() }

// tryReserve takes n bytes if they fit.
func (b *MemoryBudget) tryReserve(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			for {
				p := b.peak.Load()
				if u+n <= p || b.peak.CompareAndSwap(p, u+n) {
					break
				}
			}
			return true
		}
	}
}

// reserve takes n bytes, waiting up to wait for other connections to release some. done,
// when closed, ends the wait early (the connection is going away). It reports whether the
// bytes were taken and whether it had to wait.
func (b *MemoryBudget) reserve(n int64, wait time.Duration, done <-chan struct{}) (ok, waited bool) {
	if b.tryReserve(n) {
		return true, false
	}
	if n > b.limit || wait <= 0 {
		return false, false
	}
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		b.mu.Lock()
		if b.tryReserve(n) {
			b.mu.Unlock()
			return true, true
		}
		if b.freed == nil {
			b.freed = make(chan struct{})
		}
		ch := b.freed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-t.C:
			return b.tryReserve(n), true
		case <-done:
			return false, true
		}
	}
}

// release gives n bytes back and wakes whoever waits for them.
func (b *MemoryBudget) release(n int64) {
	if n <= 0 {
		return
	}
	b.used.Add(-n)
	// A waiter counts itself before it tries to reserve, so either it sees these bytes or
	// this sees it (Go's atomics are sequentially consistent).
	if b.waiting.Load() > 0 {
		b.mu.Lock()
		if b.freed != nil {
			close(b.freed)
			b.freed = nil
		}
		b.mu.Unlock()
	}
}

// droppedLarge notes that a buffer of n bytes was left to the garbage collector rather than
// pooled, and schedules returning memory to the OS once enough has been dropped.
func (b *MemoryBudget) droppedLarge(n int) {
	if b.returnAfter < 0 {
		return
	}
	b.lastDrop.Store(monoNow())
	if b.dropped.Add(int64(n)) < b.returnAfter || !b.returnArm.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(b.quiet, b.maybeReturn)
}

// maybeReturn runs a second after enough large buffers were dropped: once the burst is over
// (no large buffer dropped for a second and the budget nearly idle), the memory they held is
// garbage and goes back to the OS; while it goes on, returning would be undone at once, so
// it looks again later.
func (b *MemoryBudget) maybeReturn() {
	if b.used.Load() > b.limit/8 || monoNow()-b.lastDrop.Load() < int64(b.quiet) {
		time.AfterFunc(b.quiet, b.maybeReturn)
		return
	}
	b.dropped.Store(0)
	debug.FreeOSMemory()
	b.returns.Add(1)
	b.returnArm.Store(false)
	// Buffers dropped while the collection ran may have crossed the threshold unnoticed.
	if b.dropped.Load() >= b.returnAfter && b.returnArm.CompareAndSwap(false, true) {
		time.AfterFunc(b.quiet, b.maybeReturn)
	}
}

// maxPooledMessage is the largest inbound message buffer that goes back to a pool after use.
// Larger ones are left to the garbage collector: a pool would keep them for the next GC
// cycles (sync.Pool drops its contents only after two), so a burst of large messages would
// leave its memory pinned. Allocating a large buffer per large message costs little next to
// reading that many bytes.
const maxPooledMessage = 64 << 10

// pooledCap is the capacity bpool.Get(n) returns for n up to maxPooledMessage.
func pooledCap(n int) int {
	c := 512
	for c < n {
		c <<= 1
	}
	return c
}

func capOf(b *[]byte) int {
	if b == nil {
		return 0
	}
	return cap(*b)
}

// bufBytes is what the reader's message buffers hold now.
func (r *reader) bufBytes() int64 { return int64(capOf(r.msg) + capOf(r.zbuf)) }

// cover makes sure the budget covers the reader's buffers plus extra bytes about to be
// allocated, waiting up to Limits.MemoryWait for room. The peer gets 1013 when there is none.
func (r *reader) cover(extra int) error {
	c := r.c
	want := r.bufBytes() + int64(extra) - int64(c.lim.MessageAllowance)
	if want <= r.held {
		return nil
	}
	n := want - r.held
	var done <-chan struct{}
	if c.lim.MemoryWait > 0 {
		done, _ = c.waitChans()
	}
	ok, waited := c.lim.MemoryBudget.reserve(n, c.lim.MemoryWait, done)
	if waited {
		c.metrics.BudgetWaits.Add(1)
	}
	if !ok {
		c.metrics.BudgetRefused.Add(1)
		return protoErr(StatusTryAgainLater, "server busy: inbound message memory budget exhausted")
	}
	r.held += n
	c.metrics.BudgetHeld.Add(n)
	return nil
}

// settle gives back to the budget what the reader's buffers no longer need.
func (r *reader) settle() {
	want := max(0, r.bufBytes()-int64(r.c.lim.MessageAllowance))
	if r.held > want {
		n := r.held - want
		r.held = want
		r.c.metrics.BudgetHeld.Add(-n)
		r.c.lim.MemoryBudget.release(n)
	}
}

// grow makes room for n more bytes in *dst (r.msg or r.zbuf), reserving the memory from the
// budget before allocating it.
func (r *reader) grow(dst **[]byte, n int) error {
	old := *dst
	l := 0
	if old != nil {
		l = len(*old)
	}
	if capOf(old)-l >= n {
		return nil
	}
	size := l + n
	if size <= maxPooledMessage {
		size = pooledCap(size)
	} else {
		// Grow geometrically, as far as a message can be, so that a message arriving in many
		// small fragments is copied a logarithmic number of times, not once per fragment.
		size = max(size, min(2*capOf(old), int(r.c.lim.MaxMessageSize)+len(inflateEnd)))
	}
	if err := r.cover(size - capOf(old)); err != nil {
		return err
	}
	var nb *[]byte
	if size <= maxPooledMessage {
		nb = bpool.Get(size)
	} else {
		b := make([]byte, 0, size)
		nb = &b
	}
	if old != nil {
		*nb = append(*nb, *old...)
		*dst = nil // before putBuf, so that settle's view stays covered
		r.putBuf(old)
	}
	*dst = nb
	return nil
}

// putBuf gives a message buffer back: to the pool when small, to the garbage collector when
// large (see maxPooledMessage). The caller settles the budget afterwards.
func (r *reader) putBuf(b *[]byte) {
	if c := cap(*b); c > maxPooledMessage {
		r.c.metrics.LargeBuffersFreed.Add(int64(c))
		r.c.lim.MemoryBudget.droppedLarge(c)
		return
	}
	bpool.Put(b)
}

// chargeInflate spends n inflated bytes from the connection's inflate bucket; the bucket may
// go into debt, which inflateWait then makes the connection wait out.
func (r *reader) chargeInflate(n int) {
	if r.c.lim.MaxInflateRate < 0 {
		return
	}
	r.refillInflate(monoNow())
	r.inflTokens -= float64(n)
}

func (r *reader) refillInflate(now int64) {
	if now > r.inflAt {
		r.inflTokens = min(float64(r.c.lim.InflateBurst), r.inflTokens+float64(now-r.inflAt)*r.c.lim.MaxInflateRate/1e9)
		r.inflAt = now
	}
}

// inflateWait is how long reading must pause before the next message so that the
// connection's inflation stays within Limits.MaxInflateRate: zero unless the bucket is in
// debt.
func (r *reader) inflateWait() time.Duration {
	if r.c.lim.MaxInflateRate < 0 || r.inflTokens >= 0 {
		return 0
	}
	r.refillInflate(monoNow())
	if r.inflTokens >= 0 {
		return 0
	}
	return time.Duration(-r.inflTokens / r.c.lim.MaxInflateRate * 1e9)
}

// pause waits d, or until the connection is closed under the reader.
func (r *reader) pause(d time.Duration) {
	c := r.c
	c.metrics.InflateThrottled.Add(1)
	start := monoNow()
	done, _ := c.waitChans()
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-done:
	}
	t.Stop()
	c.metrics.InflateThrottledNanos.Add(monoNow() - start)
}
