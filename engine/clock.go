package engine

import (
	"sync"
	"time"
)

// Clock is the room loop's time source. Rooms schedule tick k at t0 + k·dt on it, so a real
// clock must be monotonic. Tests use a FakeClock and run ticks without sleeping.
type Clock interface {
	// Now is the time since an arbitrary fixed origin.
	Now() time.Duration
	// SleepUntil returns when Now reaches t (true) or done is closed (false).
	SleepUntil(t time.Duration, done <-chan struct{}) bool
}

// realClock measures with the monotonic clock (time.Since keeps its monotonic reading).
type realClock struct{ origin time.Time }

// NewRealClock returns the monotonic wall clock.
func NewRealClock() Clock { return realClock{origin: time.Now()} }

func (c realClock) Now() time.Duration { return time.Since(c.origin) }

func (c realClock) SleepUntil(t time.Duration, done <-chan struct{}) bool {
	var timer *time.Timer
	return c.sleepWith(&timer, t, done)
}

// sleepWith is SleepUntil with a timer the caller keeps between calls (*timer, made on the
// first): a room sleeps once a tick, and a timer made each time was most of what its loop
// allocated. Since Go 1.23 a stopped or fired timer may be Reset, and its channel then
// delivers only the new expiry.
func (c realClock) sleepWith(timer **time.Timer, t time.Duration, done <-chan struct{}) bool {
	d := t - c.Now()
	if d <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	if *timer == nil {
		*timer = time.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
	select {
	case <-(*timer).C:
		return true
	case <-done:
		(*timer).Stop()
		return false
	}
}

// FakeClock is a Clock for tests: SleepUntil jumps time forward instead of waiting, and
// Advance simulates time spent (a slow tick, say).
type FakeClock struct {
	mu  sync.Mutex
	now time.Duration
}

func (c *FakeClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves time forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now += d
	c.mu.Unlock()
}

func (c *FakeClock) SleepUntil(t time.Duration, done <-chan struct{}) bool {
	select {
	case <-done:
		return false
	default:
	}
	c.mu.Lock()
	if t > c.now {
		c.now = t
	}
	c.mu.Unlock()
	return true
}
