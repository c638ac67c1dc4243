package ws

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// The poller watches idle served connections for readability in one epoll set, so an idle
// connection holds no goroutine (a goroutine parked in a read keeps a stack of 2 to 8 KiB:
// most of what an idle connection cost). It is what nbio and gnet do, kept small: the
// connection's bytes are still read by a goroutine of its own, started when they arrive,
// through the same runtime-polled socket as everything else; the poller only says when.
//
// Only silent connections are watched. A served connection's goroutine reads as any blocking
// reader does while messages come, and parks the connection here after about 100 ms
// without one (parkAfter in serve.go). The watch is one-shot: armed as the connection parks
// (epoll_ctl, one call), it fires once when bytes come, or at once if they came already, and
// stays disarmed while the goroutine it started reads. So a connection in use costs the
// poller nothing, and a parked one cannot miss bytes that arrived while it parked. The first
// version watched every served connection, edge-triggered, and handed every message from the
// poller to a new goroutine: in bench/colyseus/run.sh (160 shooter bots) that cost 2.19 to
// 2.34 ms of server CPU per player-second against 1.80 with a goroutine per connection.
//
// The poller's goroutine waits in epoll_wait itself, holding an OS thread (one per process,
// not per connection). A version that registered the epoll descriptor with the runtime's own
// poller instead (an epoll set is pollable) left connections idle, in the gameserver's
// browser blackout test, with hundreds of unread bytes and no event for seconds (three in one
// run, found by a scan of the table with FIONREAD); waiting in epoll_wait directly showed
// none in the same test. The keepalive still looks for such a connection (rescueStranded)
// and counts it.
//
// On since stop 21. At stop 20 one of three CI-mode runs of the whole suite (CI=true
// ./.ci/run) with it on failed the browser blackout test: its shooter-30s page was already
// reconnecting when its blackout began, with no connection rescued (so no read was
// stranded). Four CI-mode runs since (two at stop 20, two at stop 21) passed that test; the
// server now logs, at debug level, why each connection ended, and the test prints that log
// on failure, so a recurrence names its cause. Off, a served connection keeps its read
// goroutine: bench/idlemem measured 7.4 instead of 3.9 KiB of RSS per idle /echo
// connection, 11.6 instead of 6.4 on /play.
const pollSupported = true

// pollEvents: readable, or the peer half-closed, once per arming; errors and hang-ups are
// always reported.
const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

type poller struct {
	epfd   int
	broken atomic.Bool // epoll_wait failed: no connection parks any more

	mu    sync.Mutex
	conns map[uint64]*Conn // the kernel holds only ids: a Go pointer there would hide from the GC
	next  uint64
}

var (
	thePoller   *poller
	pollerErr   error
	pollerStart sync.Once
)

var errNoPoller = errors.New("ws: no poller for this connection")

func getPoller() (*poller, error) {
	pollerStart.Do(func() { thePoller, pollerErr = newPoller() })
	return thePoller, pollerErr
}

func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p := &poller{epfd: epfd, conns: make(map[uint64]*Conn)}
	go p.run()
	return p, nil
}

// run drains the epoll set for the life of the process. Each batch of events costs one
// epoll_wait and, when the runtime gave the thread's P away meanwhile, a hand-back.
func (p *poller) run() {
	evs := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(p.epfd, evs, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			// Not expected on a valid descriptor. A poller that stopped would strand every
			// parked connection: each is woken instead, and keeps a read goroutine from then
			// on (pollBroken).
			p.broken.Store(true)
			p.mu.Lock()
			for _, c := range p.conns {
				c.sv.pending.Store(true)
				c.wake()
			}
			p.mu.Unlock()
			return
		}
		p.dispatch(evs[:n])
	}
}

// dispatch wakes the connections of a batch of events, under one lock for the batch.
func (p *poller) dispatch(evs []syscall.EpollEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range evs {
		id := uint64(uint32(evs[i].Fd)) | uint64(uint32(evs[i].Pad))<<32
		if c := p.conns[id]; c != nil { // nil: a connection that ended after the event was queued
			c.sv.pending.Store(true)
			c.wake()
		}
	}
}

// pollBroken reports whether the poller stopped; a connection then reads in its own
// goroutine.
func pollBroken() bool { return thePoller != nil && thePoller.broken.Load() }

// pollArm arms c's one-shot watch: it adds c to the epoll set the first time, and re-arms
// it after. Either way the kernel looks at the socket then, so bytes already there are
// reported at once.
func pollArm(c *Conn) error {
	if c.raw == nil {
		return errNoPoller
	}
	p, err := getPoller()
	if err != nil {
		return err
	}
	if p.broken.Load() {
		return errNoPoller
	}
	op := syscall.EPOLL_CTL_MOD
	if c.sv.id == 0 {
		op = syscall.EPOLL_CTL_ADD
		p.mu.Lock()
		p.next++
		c.sv.id = p.next
		p.conns[c.sv.id] = c
		p.mu.Unlock()
	}
	id := c.sv.id
	a := epollCalls.Get().(*epollCall)
	a.epfd, a.op = p.epfd, op
	a.ev = syscall.EpollEvent{Events: pollEvents, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	// Control holds the descriptor open for the call: a connection closing under us fails
	// here rather than watching a reused descriptor number.
	cerr := c.raw.Control(a.fn)
	if cerr == nil {
		cerr = a.err
	}
	a.err = nil
	epollCalls.Put(a)
	if cerr != nil && op == syscall.EPOLL_CTL_ADD {
		pollRemove(c)
		c.sv.id = 0
	}
	return cerr
}

// epollCall is one epoll_ctl(2) made through syscall.RawConn.Control, whose callback
// would otherwise be a closure over the call's arguments, allocated at every arm: one for
// each message that wakes a connection from the poller (an idle crossword player's
// acknowledgements and pings: 20,000 allocations a second for 2,000 of them). They are
// pooled instead, each with its callback bound once.
type epollCall struct {
	epfd, op int
	ev       syscall.EpollEvent
	err      error
	fn       func(fd uintptr)
}

var epollCalls = sync.Pool{New: func() any {
	a := new(epollCall)
	a.fn = a.ctl
	return a
}}

func (a *epollCall) ctl(fd uintptr) { a.err = syscall.EpollCtl(a.epfd, a.op, int(fd), &a.ev) }

// pollRemove forgets c. Its descriptor leaves the epoll set when it is closed; a stale
// event for its id finds nothing.
func pollRemove(c *Conn) {
	if c.sv.id == 0 || thePoller == nil {
		return
	}
	thePoller.mu.Lock()
	delete(thePoller.conns, c.sv.id)
	thePoller.mu.Unlock()
}

// unreadBytes is how many bytes wait in c's socket (ioctl FIONREAD), or -1 when it cannot
// tell.
func unreadBytes(c *Conn) int {
	if c.raw == nil {
		return -1
	}
	n := -1
	_ = c.raw.Control(func(fd uintptr) {
		var v int32
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&v))); errno == 0 {
			n = int(v)
		}
	})
	return n
}

// pullLowat is the SO_RCVLOWAT (socket(7)) of a pulled connection while it waits for its
// puller: the kernel signals the socket readable, to the runtime's netpoller, only once this
// many bytes wait in it (tcp_data_ready, Linux 4.18 and later), and a read that does not
// wait returns what is there however little. A pulled connection is read at its room's
// tick whether or not its socket is readable, so the event each input raised was wasted: an
// idle thread woken to find that no goroutine waits. bench/floor's BenchmarkReceivePaced
// (160 sockets, 60 inputs a second each, read at 60 Hz) measured 16 to 17 µs of receiving
// CPU per input with the events and 7.7 to 8.7 µs without them, as low as sockets taken out
// of the netpoller altogether (6 to 8 µs), while the socket stays in it for writes,
// deadlines and Close. 32 KiB is more than a tick of any honest player's input, and small
// enough that the kernel need not grow the receive buffer to honour it (it does so above
// about half of tcp_rmem's default, and clamps the window with it): a flood past it raises
// the event, which wakes nobody. What it costs: a setsockopt(2) each time a pulled
// connection parks or is handed to a goroutine, never per message.
const pullLowat = 32 << 10

// setRcvLowat sets the socket's SO_RCVLOWAT. It may be called from any goroutine. Lowering
// it wakes the netpoller at once if bytes are waiting (the kernel checks on the change), so
// a goroutine that lowers it before it reads loses no wake-up.
func setRcvLowat(c *Conn, n int) {
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n)
	})
}
