package match

import (
	"sync"
	"time"
)

// Clock is the time source of the tables that need one (reservations, join-code guessing,
// the room directory, the matchmaker's ticket stamps). Tests use a FakeClock so that
// nothing in this package ever sleeps or asserts on wall time.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock (time.Now, which carries a monotonic reading).
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// FakeClock is a Clock that moves only when told to. The zero value starts at the zero time;
// NewFakeClock starts at a fixed, readable instant.
type FakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewFakeClock returns a FakeClock reading start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{now: start} }

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the fake time forward by d and returns the new time.
func (c *FakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

func clockOrSystem(c Clock) Clock {
	if c == nil {
		return SystemClock{}
	}
	return c
}
