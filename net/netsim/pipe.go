package netsim

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Bounds of one direction of one connection.
const (
	// maxQueued is how many bytes read from one side may wait for delivery to the other. A
	// far side that stops reading stops the proxy reading the near side once it is reached,
	// so back-pressure reaches the sender, and a stuck reader costs the proxy at most this.
	maxQueued = 4 << 20
	// minBuf is the read buffer a direction starts with; it doubles each time a read fills
	// it, up to maxBuf, so game traffic costs 4 KiB a direction and a bulk transfer 32 KiB.
	minBuf = 4 << 10
	maxBuf = 32 << 10
)

// chunk is what one Read returned, with the time it is due at the far side.
type chunk struct {
	data []byte
	at   time.Time
	fin  bool // the near side's FIN: CloseWrite the far side once the data ahead is written
}

// pipe is one direction of a connection: a reader that reads chunks from src and schedules
// them, a queue, and a writer that writes each to dst when it is due. One timer per writer,
// not one goroutine or timer per chunk.
type pipe struct {
	c        *conn
	isUp     bool // client to server
	src, dst *net.TCPConn
	sh       shaper // the reader's

	more chan struct{} // cap 1: the reader queued a chunk
	room chan struct{} // cap 1: the writer delivered one

	mu     sync.Mutex
	q      []chunk // q[head:] are waiting, in order
	head   int
	queued int // bytes in q[head:]
}

func (p *pipe) init(rng *rand.Rand) {
	p.sh.rng = rng
	p.more = make(chan struct{}, 1)
	p.room = make(chan struct{}, 1)
}

// read is the reader's loop, until src ends or the connection closes.
func (p *pipe) read() {
	buf := make([]byte, minBuf)
	var wait *time.Timer
	for {
		if !p.waitRoom(&wait) {
			return
		}
		n, err := p.src.Read(buf[:readSize(p.c.px.link(p.isUp), len(buf))])
		now := time.Now()
		l := p.c.px.link(p.isUp) // the profile in force when the chunk was read
		if n > 0 {
			at, lost := p.sh.schedule(now, n, l)
			if lost {
				p.c.px.lost.Add(1)
			}
			p.push(chunk{data: bytes.Clone(buf[:n]), at: at})
			if n == len(buf) && len(buf) < maxBuf {
				buf = make([]byte, 2*len(buf))
			}
		}
		switch {
		case errors.Is(err, io.EOF):
			at, _ := p.sh.schedule(now, 0, Link{Delay: l.Delay, Jitter: l.Jitter, Dist: l.Dist})
			p.push(chunk{at: at, fin: true})
			return
		case err != nil:
			// A reset from this side, or our own close: the other side is reset too (a reset
			// discards what is in flight).
			p.c.abort(true)
			return
		}
	}
}

// waitRoom blocks while the queue is full or a limited link's backlog exceeds maxBacklog.
// It returns false once the connection is closed.
func (p *pipe) waitRoom(t **time.Timer) bool {
	for p.full() {
		select {
		case <-p.room:
		case <-p.c.done:
			return false
		}
	}
	if d := p.sh.backlog(time.Now()) - maxBacklog; d > 0 {
		if *t == nil {
			*t = time.NewTimer(d)
		} else {
			(*t).Reset(d)
		}
		select {
		case <-(*t).C:
		case <-p.c.done:
			return false
		}
	}
	return true
}

// write is the writer's loop: each chunk in order, when it is due and no silent blackout is
// in force, until the FIN is forwarded or the connection closes.
func (p *pipe) write() {
	defer p.c.px.wg.Done()
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		ch, ok := p.peek()
		if !ok {
			select {
			case <-p.more:
				continue
			case <-p.c.done:
				return
			}
		}
		if !p.waitUntil(t, ch.at) {
			return
		}
		if ch.fin {
			_ = p.dst.CloseWrite()
			p.pop()
			p.c.finish()
			return
		}
		n, err := p.dst.Write(ch.data)
		if p.isUp {
			p.c.px.up.Add(int64(n))
		} else {
			p.c.px.down.Add(int64(n))
		}
		if err != nil {
			// The far side is gone: the near side is reset, as writing to a closed socket
			// would answer.
			p.c.abort(true)
			return
		}
		p.pop()
	}
}

// waitUntil sleeps until at, and then until any silent blackout has ended, waking when the
// blackout changes. It returns false once the connection is closed.
func (p *pipe) waitUntil(t *time.Timer, at time.Time) bool {
	for {
		due := at
		until, changed := p.c.px.gate.silentUntil(time.Now())
		if until.After(due) {
			due = until
		}
		d := time.Until(due)
		if d <= 0 {
			return true
		}
		t.Reset(d)
		select {
		case <-t.C:
		case <-changed:
			t.Stop()
		case <-p.c.done:
			t.Stop()
			return false
		}
	}
}

func (p *pipe) push(ch chunk) {
	p.mu.Lock()
	p.q = append(p.q, ch)
	p.queued += len(ch.data)
	p.mu.Unlock()
	kick(p.more)
}

func (p *pipe) peek() (chunk, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.head == len(p.q) {
		return chunk{}, false
	}
	return p.q[p.head], true
}

// pop removes the head, which the writer has delivered.
func (p *pipe) pop() {
	p.mu.Lock()
	p.queued -= len(p.q[p.head].data)
	p.q[p.head] = chunk{}
	p.head++
	switch {
	case p.head == len(p.q):
		p.q, p.head = p.q[:0], 0
	case p.head >= 64 && 2*p.head >= len(p.q):
		n := copy(p.q, p.q[p.head:])
		clear(p.q[n:])
		p.q, p.head = p.q[:n], 0
	}
	p.mu.Unlock()
	kick(p.room)
}

func (p *pipe) full() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queued >= maxQueued
}

// queuedBytes is what waits in this direction (tests).
func (p *pipe) queuedBytes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queued
}

// kick signals ch without blocking; one pending signal is enough.
func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
