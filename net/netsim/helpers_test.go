package netsim

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// epoch is the zero of the timestamps records carry; client and server share the process,
// so one monotonic clock measures both ends.
var epoch = time.Now()

func since() time.Duration { return time.Since(epoch) }

// testServer serves a handler on 127.0.0.1.
type testServer struct {
	addr  string
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

// startServerNoCleanup serves handler until close is called.
func startServerNoCleanup(t testing.TB, handler func(c *net.TCPConn)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{addr: ln.Addr().String(), ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				handler(c.(*net.TCPConn))
			}()
		}
	}()
	return s
}

// close closes the listener and every connection and waits for the handlers.
func (s *testServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// startServer serves handler for the test's life and returns its address.
func startServer(t testing.TB, handler func(c *net.TCPConn)) string {
	t.Helper()
	s := startServerNoCleanup(t, handler)
	t.Cleanup(s.close)
	return s.addr
}

// echo writes back what it reads, and forwards the FIN.
func echo(c *net.TCPConn) {
	defer c.Close()
	_, _ = io.Copy(c, c)
	_ = c.CloseWrite()
}

// startProxy starts a proxy in front of target, closed at cleanup.
func startProxy(t testing.TB, target string, p Profile) *Proxy {
	t.Helper()
	px, err := Listen("127.0.0.1:0", target, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { px.Close() })
	return px
}

func dial(t testing.TB, px *Proxy) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", px.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// A record is 16 bytes: a sequence number and the time it was written (since epoch).
const recordSize = 16

func writeRecord(t testing.TB, c net.Conn, seq uint64) {
	var b [recordSize]byte
	binary.BigEndian.PutUint64(b[:], seq)
	binary.BigEndian.PutUint64(b[8:], uint64(since()))
	if _, err := c.Write(b[:]); err != nil {
		t.Error(err)
	}
}

// arrival is a record as the server received it.
type arrival struct {
	seq      uint64
	sent     time.Duration
	received time.Duration
}

func (a arrival) oneWay() time.Duration { return a.received - a.sent }

// stampServer starts a server that reads records and sends each arrival on the returned
// channel (buffered for n).
func stampServer(t testing.TB, n int) (string, <-chan arrival) {
	ch := make(chan arrival, n)
	addr := startServer(t, func(c *net.TCPConn) {
		defer c.Close()
		var b [recordSize]byte
		for {
			if _, err := io.ReadFull(c, b[:]); err != nil {
				return
			}
			a := arrival{
				seq:      binary.BigEndian.Uint64(b[:]),
				sent:     time.Duration(binary.BigEndian.Uint64(b[8:])),
				received: since(),
			}
			select {
			case ch <- a:
			default:
			}
		}
	})
	return addr, ch
}

// collect receives n arrivals, failing the test after timeout.
func collect(t testing.TB, ch <-chan arrival, n int, timeout time.Duration) []arrival {
	t.Helper()
	out := make([]arrival, 0, n)
	deadline := time.After(timeout)
	for len(out) < n {
		select {
		case a := <-ch:
			out = append(out, a)
		case <-deadline:
			t.Fatalf("received %d records of %d within %v", len(out), n, timeout)
		}
	}
	return out
}

// roundTrip writes one byte through an echo path and returns how long the answer took.
func roundTrip(t testing.TB, c net.Conn) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := c.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// isTimeout reports whether err is a deadline's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
