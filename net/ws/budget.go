package ws

import (
	"runtime"
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

	garbage   atomic.Int64 // bytes of large buffers dropped since the last collection it forced
	collect   atomic.Bool  // a forced collection runs
	collects  atomic.Int64 // collections forced
	dropped   atomic.Int64 // bytes of large buffers dropped since memory was last returned
	lastDrop  atomic.Int64 // monoNow of the last drop
	returnArm atomic.Bool  // a return is scheduled
	returns   atomic.Int64 // times memory was returned to the OS

	// Inflation of large messages, server-wide (BudgetOptions.InflateRate), as a virtual
	// clock: inflTAT is when the bytes charged so far would have been inflated at the rate
	// (monoNow nanoseconds); a charge that pushes it more than the burst past now waits.
	inflRate  float64
	inflBurst int64 // nanoseconds of inflation at inflRate that may go without waiting
	inflTAT   atomic.Int64
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
	// InflateRate is how many bytes per second all connections sharing the budget may
	// inflate together, counting only messages above their connection's allowance (so a
	// game's inputs never wait for what others send). Each connection's own
	// Limits.MaxInflateRate (8 MiB/s) bounds one client; this bounds many, each within its
	// own rate, which together would keep cores busy inflating and, on an echo service,
	// compressing again. A connection whose large message overdraws it pauses its reading
	// as the per-connection limit does: it is slowed, never closed. Default 64 MiB/s (about
	// a fifth of one core at deflate's inflation speed); negative turns it off.
	InflateRate float64
	// InflateBurst is how many bytes may be inflated at once beyond InflateRate. Default
	// Limit.
	InflateBurst int64
}

// NewMemoryBudget returns a budget configured by o.
func NewMemoryBudget(o BudgetOptions) *MemoryBudget {
	if o.Limit <= 0 {
		o.Limit = 256 << 20
	}
	if o.ReturnToOSAfter == 0 {
		o.ReturnToOSAfter = 32 << 20
	}
	if o.InflateRate == 0 {
		o.InflateRate = 64 << 20
	}
	if o.InflateBurst <= 0 {
		o.InflateBurst = o.Limit
	}
	b := &MemoryBudget{limit: o.Limit, returnAfter: o.ReturnToOSAfter, quiet: time.Second, inflRate: o.InflateRate}
	if o.InflateRate > 0 {
		b.inflBurst = int64(float64(o.InflateBurst) / o.InflateRate * 1e9)
	}
	return b
}

// chargeInflate spends n inflated bytes of the server-wide rate at now. It returns how long
// the caller must wait to stay within the rate, or refuse when that would be longer than
// horizon: many connections are queued for the rate, and this one had better be turned
// away (1013) than kept waiting so long that its peer's pongs go unread. It is GCRA, the
// leaky bucket as a virtual clock: one atomic value, no timer and no lock. The debt is
// capped at the horizon, so that an attack that ran into it does not keep everyone waiting
// long after it ended.
func (b *MemoryBudget) chargeInflate(n int, now int64, horizon time.Duration) (wait time.Duration, refuse bool) {
	if b.inflRate <= 0 || n <= 0 {
		return 0, false
	}
	cost := int64(float64(n) / b.inflRate * 1e9)
	for {
		tat := b.inflTAT.Load()
		next := max(tat, now) + cost
		wait = time.Duration(next - b.inflBurst - now)
		refuse = wait > horizon
		if refuse {
			next = now + b.inflBurst + int64(horizon)
		}
		if b.inflTAT.CompareAndSwap(tat, next) {
			return max(wait, 0), refuse
		}
	}
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

// Collections is how many garbage collections the budget forced to keep the garbage of
// large messages below a quarter of its limit.
func (b *MemoryBudget) Collections() int64 { return b.collects.Load() }

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
	if b.garbage.Add(int64(n)) >= b.limit/4 && b.collect.CompareAndSwap(false, true) {
		// Pace the collector by the garbage large messages make. Left to GOGC, it runs
		// when the heap doubles from what was live at the last collection, and with a
		// budget's worth of messages live that let a burst of 15 MiB bombs on /echo
		// (each inflated in doubling buffers: 32 MiB of garbage per message) reach 650 MiB
		// for a 128 MiB budget. A collection per quarter of the budget dropped bounds the
		// garbage to about that; it costs a mark of the live heap (milliseconds for a game
		// server) per quarter budget of large messages read, and only large messages
		// (above Limits.MessageAllowance, which a game's never are) make any.
		b.garbage.Store(0)
		b.collects.Add(1)
		go func() {
			runtime.GC()
			b.collect.Store(false)
		}()
	}
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
	wait := c.lim.MemoryWait
	if r.noWait {
		wait = 0 // Pull's caller (a room's tick) must not wait for other connections
	}
	if wait > 0 {
		done, _ = c.waitChans()
	}
	ok, waited := c.lim.MemoryBudget.reserve(n, wait, done)
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

// chargeShared charges the server-wide inflate rate (BudgetOptions.InflateRate) for a
// message above the allowance, as it inflates: inflated is how much of it is inflated so
// far. It runs each time the message's buffer grows, so no more than half a message is
// inflated before it is paid for, and a connection over the rate pauses in the middle of
// its message (holding its buffer, which the memory budget counts) or, when the wait would
// be too long, is refused with 1013.
func (r *reader) chargeShared(inflated int) error {
	n := inflated - r.inflCharged
	if inflated <= r.c.lim.MessageAllowance || n <= 0 {
		return nil
	}
	r.inflCharged = inflated
	wait, refuse := r.c.lim.MemoryBudget.chargeInflate(n, monoNow(), r.maxSharedInflateWait())
	if refuse {
		r.c.metrics.BudgetRefused.Add(1)
		return protoErr(StatusTryAgainLater, "server busy: inflate rate exhausted")
	}
	if wait > 0 {
		r.pause(wait)
	}
	return nil
}

// maxSharedInflateWait is the longest a connection waits for the server-wide inflate rate:
// as long as its own rate can make it wait for one message, at least a second.
func (r *reader) maxSharedInflateWait() time.Duration {
	l := r.c.lim
	if l.MaxInflateRate <= 0 {
		return 2 * time.Second
	}
	return max(time.Second, time.Duration(float64(l.MaxMessageSize)/l.MaxInflateRate*1e9))
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
