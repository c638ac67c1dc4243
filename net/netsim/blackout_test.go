package netsim

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestSilentBlackoutHoldsEverything: during a silent blackout nothing reaches the server or
// the client, a connection opened meanwhile is accepted, and when it ends everything is
// delivered, with no error on either side.
func TestSilentBlackoutHoldsEverything(t *testing.T) {
	t.Parallel()
	const blackout = 400 * time.Millisecond
	target, arrivals := stampServer(t, 10)
	px := startProxy(t, target, Symmetric(5*time.Millisecond, 0))
	c := dial(t, px)
	writeRecord(t, c, 0)
	collect(t, arrivals, 1, 5*time.Second) // the path works

	begun := since()
	px.Blackout(blackout, Silent)
	writeRecord(t, c, 1)
	late := dial(t, px) // accepted during the blackout
	writeRecord(t, late, 2)
	time.Sleep(blackout / 2)
	writeRecord(t, c, 3)

	got := collect(t, arrivals, 3, 5*time.Second)
	for _, a := range got {
		if a.received < begun+blackout {
			t.Errorf("record %d arrived %v into a %v blackout", a.seq, a.received-begun, blackout)
		}
		if a.received > begun+blackout+time.Second {
			t.Errorf("record %d arrived %v after the blackout ended", a.seq, a.received-begun-blackout)
		}
	}
	if s := px.Stats(); s.Resets != 0 || s.Open != 2 {
		t.Errorf("stats %v: want 2 open connections, no resets", s)
	}
}

// TestSilentBlackoutHoldsReplies: an echo's answer to a message sent before the blackout
// does not come back during it, and does after; the client's read gets no error meanwhile.
func TestSilentBlackoutHoldsReplies(t *testing.T) {
	t.Parallel()
	const blackout = 300 * time.Millisecond
	px := startProxy(t, startServer(t, echo), Symmetric(20*time.Millisecond, 0))
	c := dial(t, px)
	start := time.Now()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	px.Blackout(blackout, Silent) // the request is on its way
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [4]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatalf("read across a silent blackout: %v", err)
	}
	if took := time.Since(start); took < blackout {
		t.Errorf("the answer came after %v, inside the %v blackout", took, blackout)
	}
}

// TestHealEndsBlackout: Heal delivers what was held at once.
func TestHealEndsBlackout(t *testing.T) {
	t.Parallel()
	target, arrivals := stampServer(t, 1)
	px := startProxy(t, target, Profile{})
	c := dial(t, px)
	px.Blackout(time.Hour, Silent)
	writeRecord(t, c, 0)
	select {
	case a := <-arrivals:
		t.Fatalf("record arrived during the blackout: %+v", a)
	case <-time.After(150 * time.Millisecond):
	}
	healed := since()
	px.Heal()
	a := collect(t, arrivals, 1, 5*time.Second)[0]
	if a.received < healed {
		t.Errorf("record arrived before Heal")
	}
}

// TestResetBlackoutResetsBothSides: both peers of an open connection see a reset at once, a
// connection made during the blackout is reset too, and one made after it works.
func TestResetBlackoutResetsBothSides(t *testing.T) {
	t.Parallel()
	const blackout = 300 * time.Millisecond
	serverErr := make(chan error, 4)
	target := startServer(t, func(c *net.TCPConn) {
		defer c.Close()
		buf := make([]byte, 1024)
		for {
			n, err := c.Read(buf)
			if err != nil {
				serverErr <- err
				return
			}
			if _, err := c.Write(buf[:n]); err != nil {
				serverErr <- err
				return
			}
		}
	})
	px := startProxy(t, target, Symmetric(5*time.Millisecond, 0))
	c := dial(t, px)
	roundTrip(t, c) // connected through to the server

	start := time.Now()
	px.Blackout(blackout, Reset)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("client read after a reset blackout: %v; want ECONNRESET", err)
	}
	select {
	case err := <-serverErr:
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("server read after a reset blackout: %v; want ECONNRESET", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("the server saw no error")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the resets took %v", took)
	}

	expectReset(t, px, "connection made during a reset blackout")

	time.Sleep(time.Until(start.Add(blackout)))
	after := dial(t, px)
	roundTrip(t, after)
	if s := px.Stats(); s.Resets != 2 || s.Conns != 3 {
		t.Errorf("stats %v: want 3 connections, 2 reset", s)
	}
}

// expectReset dials the proxy and expects the connection to be reset: the dial itself may
// see it, if the proxy's reset beats the end of the kernel's handshake, or the first read.
func expectReset(t *testing.T, px *Proxy, what string) {
	t.Helper()
	c, err := net.Dial("tcp", px.Addr().String())
	if err != nil {
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s: dial %v; want a reset", what, err)
		}
		return
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("%s: read %v; want a reset", what, err)
	}
}
