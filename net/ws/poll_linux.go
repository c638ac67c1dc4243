package ws

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// The poller watches every served connection for readability in one epoll set, so an idle
// connection holds no goroutine (a goroutine parked in a read keeps a stack of 2 to 8 KiB:
// most of what an idle connection cost). It is what nbio and gnet do, kept small: the
// connection's bytes are still read by a goroutine of its own, started when they arrive,
// through the same runtime-polled socket as everything else; the poller only says when.
//
// The watch is edge-triggered and set once: each arrival of bytes is announced, and a
// connection's read goroutine that is running when one comes learns of it through a flag
// (serving.pending) that it checks before parking. So nothing is re-armed per message, and
// a goroutine that read less than it had room for parks without the extra read that finds
// the socket empty (EAGAIN), which the runtime's own poller needs; a message costs one read
// and a share of the epoll_wait of everything that arrived together.
//
// The poller's goroutine waits in epoll_wait itself, holding an OS thread (one per process,
// not per connection). A first version registered the epoll descriptor with the runtime's
// own poller instead (an epoll set is pollable), so that goroutine parked like any network
// read; in the gameserver's browser blackout test it left connections idle with hundreds of
// unread bytes and no event for seconds (seen three times in one run, by a scan of the
// table with FIONREAD), while waiting in epoll_wait directly showed none in the same test.
// The keepalive still looks for such a connection (rescueStranded) and counts it.
//
// Off for now, for what the thread costs: in bench/colyseus/run.sh (160 shooter bots, two
// rounds of 20 s) the gameserver spent 2.19 to 2.34 ms of CPU per player-second through this
// poller against 1.80 with a read goroutine per connection, in runs minutes apart; every
// batch of events comes back from a blocking system call and hands its work to another
// goroutine. The nested version was at parity. What it saves is memory: 3.7 instead of 7.7
// KiB of RSS per idle /echo connection (bench/idlemem). The way to have both is to park
// only connections that have been idle for a while; until then a served connection keeps
// its read goroutine. Set this to true to measure the poller.
const pollSupported = false

// pollEvents: readable, or the peer half-closed, edge-triggered; errors and hang-ups are
// always reported.
const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | 1<<31 // EPOLLET (negative in package syscall)

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

// pollAdd puts c in the epoll set, once. An edge-triggered watch added while bytes are
// already there reports them at once.
func pollAdd(c *Conn) error {
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
	p.mu.Lock()
	p.next++
	id := p.next
	p.conns[id] = c
	p.mu.Unlock()
	c.sv.id = id
	ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	var cerr error
	// Control holds the descriptor open for the call: a connection closing under us fails
	// here rather than adding a reused descriptor number.
	if err := c.raw.Control(func(fd uintptr) {
		cerr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	}); err != nil {
		cerr = err
	}
	if cerr != nil {
		pollRemove(c)
		c.sv.id = 0
	}
	return cerr
}

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
