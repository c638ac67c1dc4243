package netsim

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is the kind of a blackout.
type Mode int

const (
	// Silent holds everything: nothing is delivered in either direction while it lasts, data
	// read meanwhile waits (in order, each chunk no earlier than its own delay says) and goes
	// through when it ends, as TCP retransmissions do when a Wi-Fi link comes back.
	// Connections accepted meanwhile are dialled at once but carry nothing until the end.
	// Neither side gets an error, which is what makes a silent outage hard to notice: only
	// the application's own timeouts and pings can tell.
	Silent Mode = iota
	// Reset resets every open connection on both sides at once (the peers see ECONNRESET),
	// and resets the connections accepted while it lasts: a NAT rebinding, a server behind a
	// load balancer that went away. Queued data is dropped.
	Reset
)

// String returns "silent" or "reset".
func (m Mode) String() string {
	switch m {
	case Silent:
		return "silent"
	case Reset:
		return "reset"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// outage is the blackout in force. A new one replaces it and closes its over channel, which
// wakes the writers waiting on it.
type outage struct {
	mode  Mode
	until time.Time // zero for no blackout
	over  chan struct{}
}

// gate holds the current outage; reading it takes no lock, since every chunk's delivery
// looks at it.
type gate struct {
	mu  sync.Mutex // serializes replacements
	cur atomic.Pointer[outage]
}

func (g *gate) init() { g.cur.Store(&outage{over: make(chan struct{})}) }

// set replaces the outage in force.
func (g *gate) set(mode Mode, until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.cur.Load()
	g.cur.Store(&outage{mode: mode, until: until, over: make(chan struct{})})
	close(old.over)
}

// silentUntil returns the end of the silent blackout in force at now (zero if there is
// none) and a channel closed when the outage changes.
func (g *gate) silentUntil(now time.Time) (time.Time, <-chan struct{}) {
	o := g.cur.Load()
	if o.mode == Silent && now.Before(o.until) {
		return o.until, o.over
	}
	return time.Time{}, o.over
}

// resetting reports whether a Reset blackout is in force at now.
func (g *gate) resetting(now time.Time) bool {
	o := g.cur.Load()
	return o.mode == Reset && now.Before(o.until)
}
