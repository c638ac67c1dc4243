package engine

import (
	"sync/atomic"
	"testing"
	"time"
)

// fakeTimer is a pacerTimer driven by the test: each arm is reported on armed, and wait
// returns when the test sends on fire.
type fakeTimer struct {
	armed chan time.Duration
	fire  chan error
}

func (t *fakeTimer) arm(d time.Duration) error { t.armed <- d; return nil }
func (t *fakeTimer) wait() error               { return <-t.fire }

// testNow is a fake clock the test sets while the pacer's goroutine reads it.
type testNow struct{ atomic.Int64 }

func (n *testNow) set(d time.Duration) { n.Store(int64(d)) }

func newTestPacer(now *testNow) (*pacer, *fakeTimer) {
	ft := &fakeTimer{armed: make(chan time.Duration, 8), fire: make(chan error)}
	return &pacer{
		groups: map[pacerGroup]int{},
		timer:  ft,
		wake:   make(chan struct{}, 1),
		now:    func() time.Duration { return time.Duration(now.Load()) },
	}, ft
}

func nextArm(t *testing.T, ft *fakeTimer) time.Duration {
	t.Helper()
	select {
	case d := <-ft.armed:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("the pacer set no timer")
		return 0
	}
}

// TestPacerSetsTheTimerForTheNextInstant follows a pacer through joins, expiries and
// leaves, on a fake clock: it sets its timer pacerMargin past the next instant of any
// awake group, sets it earlier at once when a group joins with a sooner instant, and stops
// setting it when no group is awake, until one joins again.
func TestPacerSetsTheTimerForTheNextInstant(t *testing.T) {
	const ms = time.Millisecond
	var now testNow
	now.set(1 * ms)
	p, ft := newTestPacer(&now)
	a := pacerGroup{dt: 10 * ms, phase: 7 * ms}
	b := pacerGroup{dt: 10 * ms, phase: 4 * ms}
	c := pacerGroup{dt: 25 * ms, phase: 2 * ms}

	p.join(a)
	if d := nextArm(t, ft); d != 6*ms+pacerMargin {
		t.Fatalf("first setting %v, want 6ms+margin", d)
	}
	p.join(a) // a second room of a: nothing to set
	p.join(b) // sooner: set at once, by join
	if d := nextArm(t, ft); d != 3*ms+pacerMargin {
		t.Fatalf("after b joined: %v, want 3ms+margin", d)
	}

	steps := []struct {
		now  time.Duration // when the timer fires
		want time.Duration // the next setting
	}{
		{4*ms + pacerMargin, 3 * ms},  // b's instant passed: a's at 7 ms
		{7*ms + pacerMargin, 7 * ms},  // a's passed: b's at 14 ms
		{14*ms + pacerMargin, 3 * ms}, // then a's at 17 ms
	}
	for _, s := range steps {
		now.set(s.now)
		ft.fire <- nil
		if d := nextArm(t, ft); d != s.want {
			t.Fatalf("fired at %v: set %v, want %v", s.now, d, s.want)
		}
	}

	p.leave(b)
	p.leave(a)
	p.join(c) // a still has a room: c's instant at 27 ms comes after a's at 17 ms
	now.set(17*ms + pacerMargin)
	ft.fire <- nil
	if d := nextArm(t, ft); d != 10*ms {
		t.Fatalf("with a and c: set %v, want 10ms (c at 27 ms)", d)
	}
	p.leave(a)
	p.leave(c)
	now.set(27*ms + pacerMargin)
	ft.fire <- nil
	select {
	case d := <-ft.armed:
		t.Fatalf("no group awake, yet the timer was set for %v", d)
	case <-time.After(50 * time.Millisecond):
	}
	now.set(30 * ms)
	p.join(b)
	if d := nextArm(t, ft); d != 4*ms+pacerMargin {
		t.Fatalf("after b joined an idle pacer: %v, want 4ms+margin", d)
	}
}

// TestPacerStopsWhenItsTimerFails: rooms then keep the runtime's timing, and joins and
// leaves do nothing.
func TestPacerStopsWhenItsTimerFails(t *testing.T) {
	var now testNow
	p, ft := newTestPacer(&now)
	g := pacerGroup{dt: 10 * time.Millisecond, phase: time.Millisecond}
	p.join(g)
	nextArm(t, ft)
	ft.fire <- errTestTimer
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		stopped := p.timer == nil
		p.mu.Unlock()
		if stopped {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pacer did not stop")
		}
		time.Sleep(time.Millisecond)
	}
	p.join(g)
	p.leave(g)
	if len(p.groups) != 0 {
		t.Errorf("a stopped pacer counts groups: %v", p.groups)
	}
}

var errTestTimer = errorString("timer failed")

type errorString string

func (e errorString) Error() string { return string(e) }

// TestGroupOfPutsARoomOnItsInstants: a room's group is its schedule's instants on the
// pacer's clock, whatever its own clock's origin.
func TestGroupOfPutsARoomOnItsInstants(t *testing.T) {
	dt := time.Second / 60
	for _, shift := range []time.Duration{0, 3 * time.Millisecond, -5 * time.Millisecond, 2*dt + time.Microsecond} {
		c := realClock{origin: pacerOrigin.Add(shift)}
		t0 := 4 * time.Millisecond
		g := groupOf(c, t0, dt)
		// tick k of the room is at shift + t0 + k·dt on the pacer's clock
		for k := range 3 {
			at := shift + t0 + time.Duration(k)*dt
			if got := untilOffset(at, g.dt, g.phase); got != 0 {
				t.Errorf("shift %v, tick %d at %v: %v from the group's instant, want 0", shift, k, at, got)
			}
		}
		if g.phase < 0 || g.phase >= dt {
			t.Errorf("shift %v: phase %v outside [0, dt)", shift, g.phase)
		}
	}
}
