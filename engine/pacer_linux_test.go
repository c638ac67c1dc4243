package engine

import (
	"testing"
	"time"
)

// TestTimerfdExpiresAsSet: a setting replaces the one before it, and wait returns no
// sooner than the setting (only the lower bound is checked: a busy machine may be late).
func TestTimerfdExpiresAsSet(t *testing.T) {
	tm := newPacerTimer()
	if tm == nil {
		t.Skip("the kernel refuses timerfd_create here")
	}
	if err := tm.arm(time.Hour); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := tm.arm(3 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tm.wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the timer set for 3 ms did not expire: the hour's setting was not replaced")
	}
	if d := time.Since(start); d < 3*time.Millisecond {
		t.Errorf("expired after %v, set for 3 ms", d)
	}
}

// pacerHolds is how many awake rooms the process's pacer counts in g.
func pacerHolds(g pacerGroup) int {
	roomPacer.mu.Lock()
	defer roomPacer.mu.Unlock()
	return roomPacer.groups[g]
}

// TestRoomsOnTheRealClockArePaced: a ticking room on the real clock is counted in its
// pacer group, a sleeping one is not, and a room on a fake clock never joins.
func TestRoomsOnTheRealClockArePaced(t *testing.T) {
	if newPacerTimer() == nil {
		t.Skip("the kernel refuses timerfd_create here")
	}
	awake, g := tickerRoom(t, NewRealClock(), RoomConfig{TickRate: 100, EmptyTimeout: -1, TickWhenEmpty: true})
	waitUntil(t, "the room ticks", func() bool { return len(g.seen()) >= 3 })
	if !awake.paced || pacerHolds(awake.pace) < 1 {
		t.Errorf("a ticking room: paced %v, held %d times", awake.paced, pacerHolds(awake.pace))
	}

	asleep, _ := tickerRoom(t, NewRealClock(), RoomConfig{TickRate: 100, EmptyTimeout: -1})
	waitUntil(t, "the empty room sleeps", func() bool { return asleep.e.metrics.RoomsAsleep.Load() == 1 })
	if !asleep.paced || pacerHolds(asleep.pace) != 0 {
		t.Errorf("a sleeping room: paced %v, held %d times", asleep.paced, pacerHolds(asleep.pace))
	}

	fake, fg := tickerRoom(t, &FakeClock{}, RoomConfig{TickRate: 100, EmptyTimeout: -1, TickWhenEmpty: true})
	waitUntil(t, "the fake-clock room ticks", func() bool { return len(fg.seen()) >= 3 })
	if fake.paced {
		t.Error("a room on a fake clock joined the pacer")
	}
}
