package ws

import (
	"container/heap"
	"sync"
	"time"
)

// Keepalive is a check per connection, run from one schedule that all connections share (see
// kaSchedule), not a goroutine or a timer each. Each check looks at when the peer was last
// heard from and when data last moved:
//   - heard nothing for PingInterval: send a ping (RFC 6455 §5.5.2) and check again after
//     PongTimeout;
//   - a ping is outstanding and nothing arrived within PongTimeout: the peer is gone; drop it;
//   - no data message for IdleTimeout: close with 1001.
func (c *Conn) startKeepalive() {
	if c.lim.PingInterval < 0 && c.lim.IdleTimeout < 0 {
		return
	}
	keepalives.schedule(c, c.nextKeepalive())
}

func (c *Conn) nextKeepalive() time.Duration {
	d := c.lim.PingInterval
	if d < 0 || (c.lim.IdleTimeout > 0 && c.lim.IdleTimeout < d) {
		d = c.lim.IdleTimeout
	}
	return d
}

func (c *Conn) keepalive() {
	if c.ncClosed.Load() {
		return
	}
	now := monoNow()
	if c.lim.IdleTimeout > 0 && now-c.lastData.Load() >= int64(c.lim.IdleTimeout) {
		c.setFailure(StatusGoingAway, "idle timeout", true)
		go func() { _ = c.Close(StatusGoingAway, "idle timeout") }()
		return
	}
	next := c.nextKeepalive()
	if c.lim.PingInterval > 0 {
		heard := c.lastRead.Load()
		if sent := c.pingSent.Load(); sent != 0 && heard < sent {
			if now-sent >= int64(c.lim.PongTimeout) {
				c.metrics.PeersSilent.Add(1)
				c.setFailure(StatusAbnormalClosure, "no pong within the pong timeout", true)
				c.closeNetConn()
				return
			}
			next = time.Duration(int64(c.lim.PongTimeout) - (now - sent))
		} else if now-heard >= int64(c.lim.PingInterval) {
			if d, stranded := c.rescueStranded(heard); stranded {
				next = d // not silent: its bytes wait unread
			} else {
				c.pingSent.Store(now)
				_ = c.sendControl(opPing, nil)
				next = c.lim.PongTimeout
			}
		} else {
			c.pingSent.Store(0)
			next = time.Duration(int64(c.lim.PingInterval) - (now - heard))
		}
	}
	if idle := time.Duration(int64(c.lim.IdleTimeout) - (now - c.lastData.Load())); c.lim.IdleTimeout > 0 && idle < next {
		next = idle
	}
	keepalives.schedule(c, next)
}

// kaGrain is the schedule's resolution: checks due within one grain run together, up to a
// grain late. It bounds the schedule's wake-ups at 1/kaGrain a second however many
// connections there are, at no cost to a keepalive measured in seconds.
const kaGrain = 10 * time.Millisecond

// kaSchedule is the keepalive checks of every connection: a min-heap by due time, under one
// mutex, with one runtime timer set for the earliest. A time.Timer per connection (with its
// callback's closure and its entry in the runtime's timer heap) cost about 150 bytes of
// every idle connection (bench/idlemem, /play); an entry here costs 16, and Conn holds its
// index in 4 bytes. The cost is one lock taken at each connection's open, close and check:
// with a 20-second ping interval, 10,000 connections make 500 checks a second.
type kaSchedule struct {
	mu    sync.Mutex
	heap  kaHeap
	timer *time.Timer
	armed int64   // monoNow the timer is set to fire at; 0 when it is not set
	batch []*Conn // the checks of one firing, run outside the lock; reused
}

// kaEntry is one connection's next check. The Conn's kaIdx is its index in the heap plus
// one (0: not scheduled), kept under kaSchedule.mu.
type kaEntry struct {
	due int64 // monoNow
	c   *Conn
}

var keepalives kaSchedule

// schedule sets c's next check d from now, replacing the one pending. A connection whose
// transport is closed is not scheduled: closeNetConn marks it closed before it unschedules
// it, so a check that raced with it cannot put it back.
func (s *kaSchedule) schedule(c *Conn, d time.Duration) {
	due := monoNow() + int64(max(d, time.Millisecond))
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ncClosed.Load() {
		return
	}
	if i := int(c.kaIdx) - 1; i >= 0 {
		s.heap[i].due = due
		heap.Fix(&s.heap, i)
	} else {
		// Appended and fixed rather than heap.Push, which would box the entry.
		s.heap = append(s.heap, kaEntry{due: due, c: c})
		c.kaIdx = int32(len(s.heap))
		heap.Fix(&s.heap, len(s.heap)-1)
	}
	s.arm()
}

// unschedule drops c's pending check, if any.
func (s *kaSchedule) unschedule(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := int(c.kaIdx) - 1; i >= 0 {
		heap.Remove(&s.heap, i)
	}
	// After a burst of closes, give back what the heap grew to.
	if cap(s.heap) > 1024 && len(s.heap) < cap(s.heap)/4 {
		s.heap = append(make(kaHeap, 0, cap(s.heap)/2), s.heap...)
	}
}

// arm sets the timer for the earliest check, rounded up to the grain, unless it is set for
// that moment or earlier already. A timer that fires early (its check was rescheduled
// later, or dropped) finds nothing due and arms again.
func (s *kaSchedule) arm() {
	if len(s.heap) == 0 {
		return
	}
	at := (s.heap[0].due + int64(kaGrain) - 1) / int64(kaGrain) * int64(kaGrain)
	if s.armed != 0 && s.armed <= at {
		return
	}
	s.armed = at
	d := time.Duration(at - monoNow())
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.fire)
	} else {
		s.timer.Reset(d)
	}
}

// fire runs the checks that are due, outside the lock: a check writes a ping, closes a
// connection or reschedules it, each of which takes the lock again.
func (s *kaSchedule) fire() {
	s.mu.Lock()
	s.armed = 0
	now := monoNow()
	batch := s.batch
	s.batch = nil
	for len(s.heap) > 0 && s.heap[0].due <= now {
		batch = append(batch, heap.Pop(&s.heap).(*Conn))
	}
	s.arm()
	s.mu.Unlock()
	for _, c := range batch {
		c.keepalive()
	}
	clear(batch)
	s.mu.Lock()
	if s.batch == nil || cap(batch) > cap(s.batch) {
		s.batch = batch[:0]
	}
	s.mu.Unlock()
}

// kaHeap is the schedule's min-heap by due time (container/heap). Swap keeps each Conn's
// kaIdx; Pop hands back the Conn, a pointer, so that popping allocates nothing.
type kaHeap []kaEntry

func (h kaHeap) Len() int           { return len(h) }
func (h kaHeap) Less(i, j int) bool { return h[i].due < h[j].due }

func (h kaHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].c.kaIdx = int32(i + 1)
	h[j].c.kaIdx = int32(j + 1)
}

// Push completes heap.Interface; schedule appends and fixes instead, so as not to box an
// entry at every check.
func (h *kaHeap) Push(x any) {
	e := x.(kaEntry)
	*h = append(*h, e)
	e.c.kaIdx = int32(len(*h))
}

func (h *kaHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = kaEntry{}
	*h = old[:len(old)-1]
	e.c.kaIdx = 0
	return e.c
}
