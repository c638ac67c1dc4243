package ws

import (
	"io"
	"testing"
	"time"
)

// TestParkedRoundTripAllocatesNothing: a message to a connection parked in the poller (its
// messages come further apart than parkAfter, as a puzzle player's acknowledgements and
// pings do) wakes it; the message is read, handled and echoed, and the connection parks
// again, its watch re-armed (pollArm). None of it allocates in steady state: the re-arm's
// epoll_ctl callback once allocated a closure at every message.
func TestParkedRoundTripAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own account")
	}
	conns := make(chan *Conn, 1)
	nc, br := rawServedBy(t, func(c *Conn) Handler {
		conns <- c
		return echoHandler{}
	})
	c := <-conns
	// A masked binary "ping" with a zero key; the echo comes back unmasked.
	req := []byte{0x82, 0x84, 0, 0, 0, 0, 'p', 'i', 'n', 'g'}
	got := make([]byte, 6)
	parkedTrips := 0
	roundTrip := func() {
		// Past parkAfter of silence the connection parks at once after its next message.
		deadline := time.Now().Add(5 * time.Second)
		for c.sv.state.Load() != serveIdle || c.sv.id == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the connection did not park in the poller")
			}
			time.Sleep(time.Millisecond)
		}
		parkedTrips++
		if _, err := nc.Write(req); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(br, got); err != nil || string(got[2:]) != "ping" {
			t.Fatalf("echo %x, %v", got, err)
		}
		time.Sleep(parkAfter + 10*time.Millisecond)
	}
	for range 3 {
		roundTrip()
	}
	if n := testing.AllocsPerRun(10, roundTrip); n >= 0.5 {
		t.Fatalf("a round trip through the poller allocates %.2f times", n)
	}
	if parkedTrips != 14 { // 3 + AllocsPerRun's warm-up run + 10
		t.Fatalf("%d of 14 round trips found the connection parked", parkedTrips)
	}
}
