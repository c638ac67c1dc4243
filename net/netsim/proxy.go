package netsim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards every TCP connection accepted on its address to a target over a simulated
// path. Its methods are safe for concurrent use while traffic flows.
//
// A connection's life follows TCP's: a FIN from one side reaches the other (CloseWrite) once
// the data before it has been delivered, and the connection closes when both directions have
// ended. A reset from one side, or a failed write to it, resets the other at once, dropping
// what was in flight. A target that cannot be dialled (10 s at most) resets the client, as a
// refused connection would look to it.
type Proxy struct {
	ln     net.Listener
	target string
	prof   atomic.Pointer[Profile] // Seed filled in
	gate   gate

	ctx    context.Context // cancelled by Close: ends dials in progress
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine of the proxy

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
	nextID uint64

	accepted, open, up, down, lost, resets atomic.Int64
}

// Listen starts a proxy on listenAddr ("127.0.0.1:0" picks a port; Addr tells which) that
// dials target (host:port) for every connection it accepts and forwards between the two over
// the path p.
func Listen(listenAddr, target string, p Profile) (*Proxy, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return nil, fmt.Errorf("netsim: %w", err)
	}
	px := &Proxy{ln: ln, target: target, conns: map[*conn]struct{}{}}
	px.ctx, px.cancel = context.WithCancel(context.Background())
	px.gate.init()
	px.storeProfile(p)
	px.wg.Add(1)
	go px.serve()
	return px, nil
}

// Addr is the address the proxy listens on.
func (px *Proxy) Addr() net.Addr { return px.ln.Addr() }

// SetProfile changes the path. It takes effect for every chunk read from now on, on every
// connection; chunks already read keep the delivery time they were given. A profile out of
// range is refused with an error wrapping ErrInvalidProfile and the path is left as it was.
func (px *Proxy) SetProfile(p Profile) error {
	if err := p.validate(); err != nil {
		return err
	}
	px.storeProfile(p)
	return nil
}

func (px *Proxy) storeProfile(p Profile) {
	if p.Seed == 0 {
		p.Seed = rand.Uint64() | 1
	}
	px.prof.Store(&p)
}

// Blackout takes the link out for d, in mode m (see Silent and Reset), and returns at once.
// A blackout replaces one in force; d <= 0 ends it, as Heal does.
func (px *Proxy) Blackout(d time.Duration, m Mode) {
	if d <= 0 {
		px.Heal()
		return
	}
	if m != Reset {
		m = Silent // the zero Mode, and what an unknown one means
	}
	px.gate.set(m, time.Now().Add(d))
	if m == Reset {
		px.mu.Lock()
		victims := make([]*conn, 0, len(px.conns))
		for c := range px.conns {
			victims = append(victims, c)
		}
		px.mu.Unlock()
		for _, c := range victims {
			if c.abort(true) {
				px.resets.Add(1)
			}
		}
	}
}

// Heal ends a blackout now: held data goes through at once (each chunk still no earlier than
// its own delay), new connections are no longer reset.
func (px *Proxy) Heal() { px.gate.set(Silent, time.Time{}) }

// Close stops accepting, closes every connection (without forwarding what is queued), and
// returns once every goroutine of the proxy has ended. It returns the listener's close error
// the first time and nil after.
func (px *Proxy) Close() error {
	px.mu.Lock()
	if px.closed {
		px.mu.Unlock()
		return nil
	}
	px.closed = true
	all := make([]*conn, 0, len(px.conns))
	for c := range px.conns {
		all = append(all, c)
	}
	px.mu.Unlock()
	px.cancel()
	err := px.ln.Close()
	for _, c := range all {
		c.abort(false)
	}
	px.wg.Wait()
	return err
}

// serve accepts connections until the listener is closed.
func (px *Proxy) serve() {
	defer px.wg.Done()
	var backoff time.Duration
	for {
		nc, err := px.ln.Accept()
		if err != nil {
			if px.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, as net/http does, then try again.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
			case <-px.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		px.accepted.Add(1)
		c, ok := px.add(nc.(*net.TCPConn))
		if !ok {
			return
		}
		if c != nil {
			go c.run()
		}
	}
}

// add registers a new connection and counts its goroutine. During a Reset blackout it
// resets the connection instead and returns nil; once the proxy is closed it closes it and
// returns false. The check is under px.mu, as Blackout's list of victims is, so that a
// connection accepted as a Reset blackout begins is either in the list or reset here.
func (px *Proxy) add(tc *net.TCPConn) (*conn, bool) {
	px.mu.Lock()
	defer px.mu.Unlock()
	if px.closed {
		tc.Close()
		return nil, false
	}
	if px.gate.resetting(time.Now()) {
		resetClose(tc)
		px.resets.Add(1)
		return nil, true
	}
	id := px.nextID
	px.nextID++
	c := newConn(px, id, tc)
	px.conns[c] = struct{}{}
	px.open.Add(1)
	px.wg.Add(1)
	return c, true
}

// remove forgets a connection that has closed.
func (px *Proxy) remove(c *conn) {
	px.mu.Lock()
	defer px.mu.Unlock()
	if _, ok := px.conns[c]; ok {
		delete(px.conns, c)
		px.open.Add(-1)
	}
}

// link returns the current link of one direction.
func (px *Proxy) link(up bool) Link {
	p := px.prof.Load()
	if up {
		return p.Up
	}
	return p.Down
}

// resetClose closes c so that its peer sees a reset (RST) rather than a FIN.
func resetClose(c *net.TCPConn) {
	_ = c.SetLinger(0)
	_ = c.Close()
}
