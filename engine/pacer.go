package engine

import (
	"sync"
	"time"
)

// The Go runtime sleeps in epoll_wait(2) when it has nothing to run, and epoll_wait's timeout
// is in whole milliseconds: a timer due in 0.3 ms is waited for with a timeout of 1 ms, so a
// room's tick began up to a millisecond late however idle the server was. Measured on the
// project's 2-core machine (gameserver on one core, 100 shooter bots on the other): 55% of
// ticks began under 1 ms late and the rest between 1 and 2 ms; bench/capacity's p99 of tick
// lateness read 4 ms at 10% of a core, against 1.6 ms for Colyseus.
//
// The pacer ends that sleep on time. Rooms tick on phase groups (takePhase): every room of a
// group with the same tick length is due at the same instants. The pacer keeps one timer of
// the platform's (a timerfd(2) on Linux), set for the next instant any awake group is due,
// and waits on it through the runtime's own netpoller: when it expires, epoll_wait returns at
// once, and the runtime fires the rooms' timers that are due. What it costs: for each group
// instant, two system calls (the timer's read and its setting) and a walk over the awake
// groups to find the next instant; 120 shooter rooms make 15 groups and 900 instants a
// second, 0.9% of a core's samples in a profile at 900 players. A platform without such a
// timer, or a kernel that refuses one, keeps the runtime's timing.

// pacerMargin is how long after a group's instant the pacer's timer expires. The rooms set
// their own timers from their clocks a little after computing the instant, so their timers
// fall due a little after it; a wake-up before them would find nothing due, and the runtime
// would sleep again, rounded up to a millisecond.
const pacerMargin = 10 * time.Microsecond

// pacerGroup is a set of instants, phase + k·dt on the pacer's clock (pacerNow).
type pacerGroup struct {
	dt, phase time.Duration
}

// pacerTimer is the platform's precise one-shot timer, waited on through the netpoller.
type pacerTimer interface {
	// arm sets the timer to expire d from now, replacing any earlier setting.
	arm(d time.Duration) error
	// wait returns when the timer expires.
	wait() error
}

// pacer wakes the runtime at every instant of its groups. One serves the whole process:
// engines with the same tick length and group share instants only by chance, but one
// timer's expiries serve them all.
type pacer struct {
	mu      sync.Mutex
	groups  map[pacerGroup]int // awake rooms in each group
	armed   time.Duration      // the instant the timer is set for (0: not set)
	wake    chan struct{}      // the first group joined while none was awake
	timer   pacerTimer         // nil: no precise timer here; the pacer only counts
	started bool
	now     func() time.Duration
}

var (
	pacerOrigin = time.Now()
	roomPacer   = &pacer{wake: make(chan struct{}, 1), now: pacerNow}
)

func pacerNow() time.Duration { return time.Since(pacerOrigin) }

// groupOf is the pacer group of a room whose clock is c and whose ticks are due at t0 + k·dt
// on it.
func groupOf(c realClock, t0, dt time.Duration) pacerGroup {
	return pacerGroup{dt: dt, phase: ((c.origin.Sub(pacerOrigin)+t0)%dt + dt) % dt}
}

// join counts one more awake room in g, and sets the timer for g's next instant when that
// comes before the one it is set for.
func (p *pacer) join(g pacerGroup) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.groups == nil {
		p.groups = make(map[pacerGroup]int)
		p.timer = newPacerTimer()
	}
	if p.timer == nil {
		return
	}
	p.groups[g]++
	if !p.started {
		p.started = true
		go p.run()
	}
	if p.groups[g] > 1 {
		return
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	if p.armed == 0 {
		return // the loop is between settings, or waiting for a group: it sees this one
	}
	now := p.now()
	if at := now + untilOffset(now, g.dt, g.phase); at < p.armed {
		p.setLocked(now, at)
	}
}

// leave counts one room less in g.
func (p *pacer) leave(g pacerGroup) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer == nil {
		return
	}
	if p.groups[g]--; p.groups[g] <= 0 {
		delete(p.groups, g)
	}
}

// next is the first instant of any group from now on (false: no group).
func (p *pacer) nextLocked(now time.Duration) (time.Duration, bool) {
	var at time.Duration
	found := false
	for g := range p.groups {
		t := now + untilOffset(now, g.dt, g.phase)
		if !found || t < at {
			at, found = t, true
		}
	}
	return at, found
}

// setLocked sets the timer to expire pacerMargin after the instant at.
func (p *pacer) setLocked(now, at time.Duration) {
	if err := p.timer.arm(at - now + pacerMargin); err != nil {
		p.armed = 0
		return
	}
	p.armed = at
}

// run sets the timer for the next instant, waits for it, and again, while any group is
// awake; with none it waits for one. If the timer fails it stops: the rooms still wake on
// their own timers, with the runtime's timing.
func (p *pacer) run() {
	for {
		p.mu.Lock()
		now := p.now()
		at, ok := p.nextLocked(now)
		for !ok {
			p.armed = 0
			p.mu.Unlock()
			<-p.wake
			p.mu.Lock()
			now = p.now()
			at, ok = p.nextLocked(now)
		}
		p.setLocked(now, at)
		failed := p.armed == 0
		p.mu.Unlock()
		if failed || p.timer.wait() != nil {
			p.mu.Lock()
			p.timer, p.armed = nil, 0 // for good: join and leave see a nil timer
			clear(p.groups)
			p.mu.Unlock()
			return
		}
	}
}
