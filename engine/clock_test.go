package engine

import (
	"testing"
	"time"
)

// TestRealClockReusesItsTimer: a room's tick loop sleeps once a tick through one timer kept
// for the room's life. A sleep cut short by done leaves no expiry behind to end the next
// sleep early, and sleeping allocates nothing once the timer exists.
func TestRealClockReusesItsTimer(t *testing.T) {
	c := NewRealClock().(realClock)
	var timer *time.Timer
	never := make(chan struct{})
	for i := range 3 {
		due := c.Now() + time.Millisecond
		if !c.sleepWith(&timer, due, never) {
			t.Fatalf("sleep %d: reported done", i)
		}
		if now := c.Now(); now < due {
			t.Fatalf("sleep %d: woke at %v, before %v", i, now, due)
		}
	}
	// A long sleep ended by done, then a short one: it must wait for its own deadline, not
	// take the first one's leftover.
	done := make(chan struct{})
	close(done)
	if c.sleepWith(&timer, c.Now()+time.Hour, done) {
		t.Fatal("a sleep whose done was closed reported its deadline")
	}
	due := c.Now() + 2*time.Millisecond
	if !c.sleepWith(&timer, due, never) || c.Now() < due {
		t.Fatal("the sleep after a stopped one woke early")
	}
	if n := testing.AllocsPerRun(20, func() { c.sleepWith(&timer, c.Now()+100*time.Microsecond, never) }); n != 0 {
		t.Fatalf("a sleep with a kept timer allocates %.1f times", n)
	}
}
