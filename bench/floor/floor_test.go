// Package floor measures what the kernel alone charges for moving one small message over
// loopback on this machine: the floor under any game server's cost per message (issue 14,
// "Know the floor"). A server that sends a 60-byte snapshot pays at least one write(2), and
// its client at least one read(2); everything a server spends above that per message is its
// own (framing, encoding, the game, the scheduler's wake-ups).
//
//	go test -run x -bench . -benchtime 2s ./bench/floor
//
// Three figures per message size, each as wall time per op and as the process's CPU time per
// message (cpu-ns/msg: both ends, user and kernel; the figure to compare with a server's CPU
// per message sent):
//
//   - Write: the sender's write(2) alone, straight on the socket's fd (no Go netpoller), with
//     a reader draining the other end. On loopback the kernel delivers the segment to the
//     receiving socket inside the sender's write, so this is most of the kernel's work.
//   - WriteRead: one write(2) and one read(2) of the same message, in one goroutine (the
//     message is in the receive queue when the read runs): the syscall pair, no wake-up.
//   - PingPong: half of a round trip between two goroutines through net.Conn: a write, a
//     wake-up of the reader through the netpoller and its read. This is what a message costs
//     when its receiver is asleep, as a game client mostly is.
//
// Two more weigh candidates of issue 14 (item 5) against each other before anyone builds
// them: BenchmarkBroadcast (uring_linux_test.go), a write(2) per socket against one
// io_uring_enter(2) for all, and BenchmarkReceive (receive_linux_test.go), a goroutine per
// socket against one epoll loop reading inline.
package floor

import (
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
)

var sizes = []int{64, 256, 1024}

// pair returns the two ends of a TCP connection on 127.0.0.1, with TCP_NODELAY (as every
// WebSocket server sets it).
func pair(b *testing.B) (client, server *net.TCPConn) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		b.Fatal("accept failed")
	}
	b.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// rawFD returns the socket's file descriptor, to call write(2) and read(2) on it directly.
// The socket is non-blocking (Go's netpoller set it so): callers must handle EAGAIN.
func rawFD(b *testing.B, c *net.TCPConn) int {
	b.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	var fd int
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		b.Fatal(err)
	}
	return fd
}

// eachSize runs one benchmark per message size on a fresh connection pair: setup starts
// what the other end does and returns one iteration, which moves msgs messages; the CPU the
// process spent is reported per message, and with msgs above 1 the wall time too.
func eachSize(b *testing.B, msgs int, setup func(b *testing.B, n int, client, server *net.TCPConn) func()) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			client, server := pair(b)
			op := setup(b, n, client, server)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime(b)
			for range b.N {
				op()
			}
			b.StopTimer()
			if msgs > 1 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(msgs*b.N), "ns/msg")
			}
			reportCPU(b, cpu, msgs*b.N)
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	eachSize(b, 1, func(b *testing.B, n int, client, server *net.TCPConn) func() {
		go io.Copy(io.Discard, client) //nolint:errcheck // ends with the connection
		fd, msg := rawFD(b, server), make([]byte, n)
		return func() { writeAll(b, fd, msg) }
	})
}

func BenchmarkWriteRead(b *testing.B) {
	eachSize(b, 1, func(b *testing.B, n int, client, server *net.TCPConn) func() {
		wfd, rfd := rawFD(b, server), rawFD(b, client)
		msg, buf := make([]byte, n), make([]byte, n)
		return func() {
			if _, err := syscall.Write(wfd, msg); err != nil {
				b.Fatal(err)
			}
			for got := 0; got < n; {
				m, err := syscall.Read(rfd, buf[got:])
				if err == syscall.EAGAIN {
					runtimeYield()
					continue
				}
				if err != nil || m == 0 {
					b.Fatal(err, m)
				}
				got += m
			}
		}
	})
}

// BenchmarkPingPong: a round trip is two messages, so the figures are per message (half).
func BenchmarkPingPong(b *testing.B) {
	eachSize(b, 2, func(b *testing.B, n int, client, server *net.TCPConn) func() {
		go func() { // echo
			buf := make([]byte, n)
			for {
				if _, err := io.ReadFull(client, buf); err != nil {
					return
				}
				if _, err := client.Write(buf); err != nil {
					return
				}
			}
		}()
		msg := make([]byte, n)
		return func() {
			if _, err := server.Write(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(server, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// writeAll writes msg with write(2). When the reader fell behind and the socket's buffer is
// full, it waits for it as a server would (rare; the readers drain in big reads).
func writeAll(b *testing.B, fd int, msg []byte) {
	for {
		_, err := syscall.Write(fd, msg)
		if err == nil {
			return
		}
		if err != syscall.EAGAIN {
			b.Fatal(err)
		}
		runtimeYield()
	}
}
