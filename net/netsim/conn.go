package netsim

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// dialTimeout bounds the proxy's dial of the target for one accepted connection.
const dialTimeout = 10 * time.Second

// conn is one proxied connection: the accepted client socket, the socket dialled to the
// target, and a pipe each way.
type conn struct {
	px       *Proxy
	client   *net.TCPConn
	up, down pipe         // client to server, server to client
	writers  atomic.Int32 // pipes still delivering; the last to forward its FIN closes the conn
	done     chan struct{}
	seed, id uint64

	mu     sync.Mutex
	server *net.TCPConn // nil until dialled; up and down are set with it
	closed bool
}

func newConn(px *Proxy, id uint64, client *net.TCPConn) *conn {
	return &conn{px: px, client: client, done: make(chan struct{}), seed: px.prof.Load().Seed, id: id}
}

// run dials the target and then runs the pipes: the up reader on this goroutine, the other
// three on their own. A failed dial resets the client, as a refused connection would look
// to it.
func (c *conn) run() {
	defer c.px.wg.Done()
	var d net.Dialer
	ctx, cancel := context.WithTimeout(c.px.ctx, dialTimeout)
	nc, err := d.DialContext(ctx, "tcp", c.px.target)
	cancel()
	if err != nil {
		c.abort(true)
		return
	}
	server := nc.(*net.TCPConn)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		resetClose(server)
		return
	}
	c.server = server
	c.up = pipe{c: c, isUp: true, src: c.client, dst: server}
	c.down = pipe{c: c, src: server, dst: c.client}
	c.up.init(rand.New(rand.NewPCG(c.seed, 2*c.id)))
	c.down.init(rand.New(rand.NewPCG(c.seed, 2*c.id+1)))
	c.writers.Store(2)
	c.mu.Unlock()

	c.px.wg.Add(3)
	go c.up.write()
	go c.down.write()
	go func() {
		defer c.px.wg.Done()
		c.down.read()
	}()
	c.up.read()
}

// finish is called by a pipe's writer once it has forwarded the FIN of its direction; when
// both have, the connection is done and both sockets close.
func (c *conn) finish() {
	if c.writers.Add(-1) == 0 {
		c.abort(false)
	}
}

// abort closes both sockets, with a reset if reset is set (the peers then see ECONNRESET
// rather than EOF), stops the pipes and forgets the connection. It reports whether this
// call closed it.
func (c *conn) abort(reset bool) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.closed = true
	close(c.done)
	server := c.server
	c.mu.Unlock()
	for _, s := range []*net.TCPConn{c.client, server} {
		if s == nil {
			continue
		}
		if reset {
			resetClose(s)
		} else {
			_ = s.Close()
		}
	}
	c.px.remove(c)
	return true
}
