//go:build linux

package uring

import (
	"bytes"
	"syscall"
	"testing"
)

// socketPair returns the two ends of a connected Unix stream socket pair, non-blocking.
func socketPair(t *testing.T) (a, b int) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fds[0]); syscall.Close(fds[1]) })
	return fds[0], fds[1]
}

func newRing(t *testing.T, entries uint32) *Ring {
	t.Helper()
	r, err := New(entries)
	if err != nil {
		t.Skipf("io_uring refused here: %v", err)
	}
	t.Cleanup(r.Close)
	if r.Entries() < int(entries) {
		t.Fatalf("a ring of %d entries for %d asked", r.Entries(), entries)
	}
	return r
}

// TestSendsArriveAndComplete: sends to several sockets in one Submit each arrive whole, and
// each completion names its send and the bytes it took; the ring is reused for a second
// round.
func TestSendsArriveAndComplete(t *testing.T) {
	r := newRing(t, 8)
	var ends [4][2]int
	for i := range ends {
		ends[i][0], ends[i][1] = socketPair(t)
	}
	for round := range 2 {
		msgs := make([][]byte, len(ends))
		for i := range ends {
			msgs[i] = bytes.Repeat([]byte{byte('a' + i + round)}, 10+i)
			r.Send(uint64(i), ends[i][0], msgs[i], MsgDontWait|MsgNoSignal)
		}
		seen := map[uint64]int32{}
		if err := r.Submit(func(id uint64, res int32) { seen[id] = res }); err != nil {
			t.Fatal(err)
		}
		for i := range ends {
			if got := seen[uint64(i)]; got != int32(len(msgs[i])) {
				t.Errorf("round %d, send %d: completion %d, want %d", round, i, got, len(msgs[i]))
			}
			buf := make([]byte, 64)
			n, err := syscall.Read(ends[i][1], buf)
			if err != nil || !bytes.Equal(buf[:n], msgs[i]) {
				t.Errorf("round %d, socket %d read %q, %v; want %q", round, i, buf[:n], err, msgs[i])
			}
		}
	}
}

// TestFullSocketCompletesWithEAGAIN: with MsgDontWait, a send to a socket whose buffer is
// full completes at once with -EAGAIN (or takes part of the message), never waits.
func TestFullSocketCompletesWithEAGAIN(t *testing.T) {
	r := newRing(t, 2)
	a, _ := socketPair(t)
	chunk := make([]byte, 64<<10)
	for { // fill a's send buffer and the peer's receive buffer
		if _, err := syscall.Write(a, chunk); err == syscall.EAGAIN {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	var res int32 = 1
	r.Send(7, a, chunk, MsgDontWait|MsgNoSignal)
	if err := r.Submit(func(id uint64, got int32) {
		if id != 7 {
			t.Errorf("completion for send %d, want 7", id)
		}
		res = got
	}); err != nil {
		t.Fatal(err)
	}
	if res != -int32(syscall.EAGAIN) && (res < 0 || res >= int32(len(chunk))) {
		t.Errorf("a send to a full socket completed with %d, want -EAGAIN or part of it", res)
	}
}

// TestSubmitWithNothingQueued returns at once.
func TestSubmitWithNothingQueued(t *testing.T) {
	r := newRing(t, 2)
	if err := r.Submit(func(uint64, int32) { t.Error("a completion for no send") }); err != nil {
		t.Fatal(err)
	}
}
