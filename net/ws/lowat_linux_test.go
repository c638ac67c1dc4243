package ws

import (
	"syscall"
	"testing"
	"time"
)

// rcvLowat is the SO_RCVLOWAT of c's socket.
func rcvLowat(t *testing.T, c *Conn) int {
	t.Helper()
	var v int
	var gerr error
	if err := c.raw.Control(func(fd uintptr) {
		v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT)
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	return v
}

// TestPulledConnectionWaitsUnannounced: a pulled connection idle for its puller keeps its
// socket's receive low-water mark at pullLowat, so that an input's arrival raises no event
// in the runtime's netpoller; every way out of that state that reads for itself and may wait
// for the socket (a hand-off, SetPulled(false), a Close from another goroutine) first lowers
// it again, or the wait would last until the keepalive or the close timeout.
func TestPulledConnectionWaitsUnannounced(t *testing.T) {
	tests := []struct {
		name string
		// leave takes the connection out of the pulled, idle state while it holds the
		// high mark, and checks that it works as it should.
		leave func(t *testing.T, h *pullRecorder, sc, cc *Conn)
	}{
		{
			name: "a hand-off of a frame split in two",
			leave: func(t *testing.T, h *pullRecorder, sc, cc *Conn) {
				f := maskedFrame(opText, "split")
				write(t, cc.nc, f[:4])
				waitUnread(t, sc, 4)
				h.puller.Store(goid())
				if n := sc.Pull(10); n != 0 {
					t.Fatalf("Pull of half a frame = %d", n)
				}
				// The rest comes once the goroutine Pull started waits for it: written
				// before, its first read would take it without waiting.
				for !sc.r.active.Load() {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(50 * time.Millisecond)
				write(t, cc.nc, f[4:])
				waitGot(t, h, 1)
				if got := h.delivered(); got != "split@own" {
					t.Fatalf("delivered %q", got)
				}
			},
		},
		{
			name: "SetPulled(false)",
			leave: func(t *testing.T, h *pullRecorder, sc, cc *Conn) {
				sc.SetPulled(false)
				waitIdle(t, sc) // its goroutine read, found nothing and parked in the poller
				if err := cc.WriteMessage(MessageText, []byte("now")); err != nil {
					t.Fatal(err)
				}
				waitGot(t, h, 1)
				if got := rcvLowat(t, sc); got != 1 {
					t.Fatalf("SO_RCVLOWAT %d once no longer pulled, want 1", got)
				}
			},
		},
		{
			name: "Close from another goroutine",
			leave: func(t *testing.T, h *pullRecorder, sc, cc *Conn) {
				// The client answers the close at once (its reader is the test's).
				go func() {
					for {
						if _, _, err := cc.ReadMessage(); err != nil {
							return
						}
					}
				}()
				start := time.Now()
				if err := sc.Close(StatusGoingAway, "bye"); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Fatalf("Close took %v: the peer's close frame did not wake its read", d)
				}
				if err := waitClosed(t, h.recorder); CloseStatus(err) != StatusGoingAway {
					t.Fatalf("OnClose got %v", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newPullRecorder()
			sc, cc := pulledPair(t, h, &AcceptOptions{Limits: Limits{CloseTimeout: 30 * time.Second}})
			if got := rcvLowat(t, sc); got != pullLowat {
				t.Fatalf("SO_RCVLOWAT of an idle pulled connection = %d, want %d", got, pullLowat)
			}
			tt.leave(t, h, sc, cc)
		})
	}
}
