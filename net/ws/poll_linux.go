package ws

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
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
// The epoll descriptor is itself registered with the runtime's poller (an epoll set is
// pollable), so the goroutine that drains it parks like any network read instead of holding
// an OS thread in epoll_wait.
//
// Off for now: in one of five runs of the gameserver's browser blackout test (CI=true, issue
// 14's last stop) two shooter pages had lost their connection before their blackouts began,
// which a wake-up lost between the poller and a running read goroutine would explain (the
// server's keepalive then drops a peer whose pings it never read). Until that is understood
// a served connection keeps its read goroutine (8 KiB per idle /echo connection instead of
// 4.1); set this to true to measure the poller.
const pollSupported = false

// pollEvents: readable, or the peer half-closed, edge-triggered; errors and hang-ups are
// always reported.
const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | 1<<31 // EPOLLET (negative in package syscall)

type poller struct {
	epfd int

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
	if err := syscall.SetNonblock(epfd, true); err == nil {
		f := os.NewFile(uintptr(epfd), "ws-epoll")
		// Only a file the runtime polls has deadlines: this tells whether parking works.
		if f.SetReadDeadline(time.Time{}) == nil {
			if rc, err := f.SyscallConn(); err == nil {
				go p.runPolled(f, rc)
				return p, nil
			}
		}
		// Not pollable after all: wait in epoll_wait on a thread of its own instead. The
		// file must stay reachable, or its finalizer would close the descriptor.
		_ = syscall.SetNonblock(epfd, false)
		go p.runBlocking(f)
		return p, nil
	}
	go p.runBlocking(nil)
	return p, nil
}

// runPolled drains the epoll set each time the runtime reports it readable.
func (p *poller) runPolled(f *os.File, rc syscall.RawConn) {
	evs := make([]syscall.EpollEvent, 128)
	_ = rc.Read(func(uintptr) bool {
		for {
			n, err := syscall.EpollWait(p.epfd, evs, 0)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return true
			}
			p.dispatch(evs[:n])
			if n < len(evs) {
				return false // drained: park until the set is readable again
			}
		}
	})
	_ = f // keep the file (and so the descriptor) alive
}

// runBlocking is the fallback: a goroutine blocked in epoll_wait (it holds an OS thread).
func (p *poller) runBlocking(f *os.File) {
	evs := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(p.epfd, evs, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			break
		}
		p.dispatch(evs[:n])
	}
	_ = f
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
