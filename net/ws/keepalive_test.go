package ws

import (
	"container/heap"
	"math/rand/v2"
	"net"
	"sort"
	"testing"
	"time"
)

// TestKeepaliveScheduleKeepsOrder drives the shared keepalive schedule through schedules,
// reschedules and removals, and checks after each step that it is a heap by due time whose
// connections know their places, and at the end that it gives the checks back in due order.
// Dues are hours away, so its timer never fires on these connections (which have no limits).
func TestKeepaliveScheduleKeepsOrder(t *testing.T) {
	var s kaSchedule
	defer func() {
		if s.timer != nil {
			s.timer.Stop()
		}
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	conns := make([]*Conn, 300)
	for i := range conns {
		conns[i] = new(Conn)
	}
	due := map[*Conn]time.Duration{}
	check := func(step string) {
		t.Helper()
		if len(s.heap) != len(due) {
			t.Fatalf("%s: %d scheduled, want %d", step, len(s.heap), len(due))
		}
		for i, e := range s.heap {
			if int(e.c.kaIdx) != i+1 {
				t.Fatalf("%s: entry %d says it is at %d", step, i, e.c.kaIdx-1)
			}
			if p := (i - 1) / 2; i > 0 && s.heap[p].due > e.due {
				t.Fatalf("%s: entry %d is due before its parent %d", step, i, p)
			}
		}
		for _, c := range conns {
			if _, ok := due[c]; !ok && c.kaIdx != 0 {
				t.Fatalf("%s: an unscheduled connection holds place %d", step, c.kaIdx-1)
			}
		}
	}
	for step := range 3000 {
		c := conns[rng.IntN(len(conns))]
		switch op := rng.IntN(4); {
		case op < 3:
			d := time.Hour + time.Duration(rng.IntN(1e6))*time.Millisecond
			s.schedule(c, d)
			due[c] = d
		default:
			s.unschedule(c)
			delete(due, c)
		}
		if step%97 == 0 {
			check("step")
		}
	}
	check("end")
	var got []int64
	for len(s.heap) > 0 {
		got = append(got, s.heap[0].due)
		heap.Pop(&s.heap)
	}
	if !sort.SliceIsSorted(got, func(i, j int) bool { return got[i] < got[j] }) {
		t.Fatal("the schedule gave its checks back out of order")
	}
	if s.armed == 0 {
		t.Fatal("the schedule's timer was never armed")
	}
}

// TestKeepaliveScheduleDropsClosedConnections: a connection closed before its check is
// scheduled (a check racing with closeNetConn) is not put back, and closing one takes its
// check out, so the schedule holds no closed connection until its due time.
func TestKeepaliveScheduleDropsClosedConnections(t *testing.T) {
	var s kaSchedule
	defer func() {
		if s.timer != nil {
			s.timer.Stop()
		}
	}()
	a, b := new(Conn), new(Conn)
	s.schedule(a, time.Hour)
	s.schedule(b, 2*time.Hour)
	b.ncClosed.Store(true)
	s.unschedule(b)
	s.schedule(b, time.Hour) // the racing check
	if len(s.heap) != 1 || s.heap[0].c != a || b.kaIdx != 0 {
		t.Fatalf("schedule holds %d checks (b at %d), want only a's", len(s.heap), b.kaIdx)
	}
}

// TestKeepaliveScheduleRunsDueChecks: through real connections and the package's one
// schedule, a silent peer is dropped after PingInterval and PongTimeout with a 1006, and
// leaves the schedule.
func TestKeepaliveScheduleRunsDueChecks(t *testing.T) {
	lim := Limits{PingInterval: 50 * time.Millisecond, PongTimeout: 50 * time.Millisecond}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String()) // never answers: no pong goes back
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	silent := newConn(nc, true, lim, new(Metrics))
	start := time.Now()
	select {
	case <-silent.endedChan():
	case <-time.After(5 * time.Second):
		t.Fatal("a silent peer was not dropped within 5 s")
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("dropped after %v, before PingInterval+PongTimeout", d)
	}
	if ce := silent.failure.Load(); ce == nil || ce.Code != StatusAbnormalClosure {
		t.Fatalf("ended with %v, want a 1006 for the missing pong", ce)
	}
	keepalives.mu.Lock()
	idx := silent.kaIdx
	keepalives.mu.Unlock()
	if idx != 0 {
		t.Fatal("a dropped connection is still in the keepalive schedule")
	}
}
