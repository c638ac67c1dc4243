//go:build linux

package floor

import (
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// BenchmarkReceive measures a candidate of issue 14 (item 5) before anyone builds it:
// fewer wake-ups per input on the server. Receiving is most of a game server's cost per
// player (its players' inputs, 60 a second each), and Go offers two ways to read many
// sockets:
//
//   - goroutine: a goroutine per socket blocked in Read, woken by the runtime's netpoller;
//     per message a wake-up, a read(2) that returns it and one more that returns EAGAIN
//     before the goroutine parks again. This is what net/ws's served connections do while
//     messages come (and gorilla, coder/websocket and gws as well).
//   - epoll: one thread waiting in epoll_wait(2) on every socket (level-triggered), one
//     read(2) per ready socket, the message handled inline on that thread, as gnet and nbio
//     do: no wake-up of a goroutine, no read that finds nothing.
//
// One locked sender thread writes a 24-byte message (an input's size) to each of `burst`
// sockets in turn, then waits, spinning, until the receiver has counted all of them: burst 1
// is a message arriving at a receiver that is asleep, as on a quiet server; 16 is the batch
// the gameserver's netpoller found per wake-up with 750 shooter players on one core.
// recv-cpu-ns/msg is the process's CPU less the sender thread's (RUSAGE_THREAD), per
// message: the receiving side alone. On loopback the sender's write(2) also runs the
// receiving socket's TCP input, so that part is the sender's in both modes and the figure
// is what the two ways of reading differ in.
//
//	go test -run x -bench Receive -benchtime 2s ./bench/floor
func BenchmarkReceive(b *testing.B) {
	const sockets, size = 64, 24
	for _, burst := range []int{1, 16} {
		for _, mode := range []string{"goroutine", "epoll"} {
			b.Run(fmt.Sprintf("%s/burst%d", mode, burst), func(b *testing.B) {
				var got atomic.Int64 // messages the receiver has counted
				wfds := make([]int, sockets)
				servers := make([]*net.TCPConn, sockets)
				for i := range wfds {
					client, server := pair(b)
					wfds[i], servers[i] = rawFD(b, client), server
				}
				var stop func()
				switch mode {
				case "goroutine":
					stop = receiveGoroutines(servers, size, &got)
				case "epoll":
					stop = receiveEpoll(b, servers, size, &got)
				}
				defer stop()
				msg := make([]byte, size)
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				b.ReportAllocs()
				b.ResetTimer()
				cpu, thread := cpuTime(b), threadCPU(b)
				sent, next := int64(0), 0
				for range b.N {
					for range burst {
						writeAll(b, wfds[next], msg)
						next = (next + 1) % sockets
					}
					sent += int64(burst)
					for got.Load() < sent {
					}
				}
				b.StopTimer()
				msgs := float64(sent)
				recv := (cpuTime(b) - cpu) - (threadCPU(b) - thread)
				b.ReportMetric(float64(recv.Nanoseconds())/msgs, "recv-cpu-ns/msg")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgs, "ns/msg")
			})
		}
	}
}

// receiveGoroutines reads each socket on a goroutine of its own, through net.Conn, and
// counts whole messages; stop closes the sockets and waits for the goroutines.
func receiveGoroutines(servers []*net.TCPConn, size int, got *atomic.Int64) (stop func()) {
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Go(func() {
			buf, partial := make([]byte, 4096), 0
			for {
				n, err := s.Read(buf)
				if err != nil {
					return
				}
				partial += n
				got.Add(int64(partial / size))
				partial %= size
			}
		})
	}
	return func() {
		for _, s := range servers {
			s.Close()
		}
		wg.Wait()
	}
}

// receiveEpoll reads every socket from one locked thread in epoll_wait, one read(2) per
// ready socket, and counts whole messages. The sockets are duplicated off Go's netpoller
// (the originals are closed, which takes them out of its epoll set), so that only this loop
// hears of their bytes. stop ends the loop (an eventfd in the set) and closes the sockets.
func receiveEpoll(b *testing.B, servers []*net.TCPConn, size int, got *atomic.Int64) (stop func()) {
	b.Helper()
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		b.Fatal(err)
	}
	quit, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if errno != 0 {
		b.Fatal(errno)
	}
	add := func(fd int) {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			b.Fatal(err)
		}
	}
	add(int(quit))
	fds := make([]int, len(servers))
	for i, s := range servers {
		fd, err := syscall.Dup(rawFD(b, s))
		if err != nil {
			b.Fatal(err)
		}
		if err := syscall.SetNonblock(fd, true); err != nil {
			b.Fatal(err)
		}
		s.Close()
		fds[i] = fd
		add(fd)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		events := make([]syscall.EpollEvent, 128)
		buf := make([]byte, 4096)
		partial := make([]int, slices.Max(fds)+1) // bytes of an unfinished message, by descriptor
		for {
			n, err := syscall.EpollWait(epfd, events, -1)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return
			}
			for _, ev := range events[:n] {
				if ev.Fd == int32(quit) {
					return
				}
				m, err := syscall.Read(int(ev.Fd), buf)
				if err == syscall.EAGAIN || m <= 0 {
					continue
				}
				p := partial[ev.Fd] + m
				got.Add(int64(p / size))
				partial[ev.Fd] = p % size
			}
		}
	}()
	return func() {
		one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
		_, _ = syscall.Write(int(quit), one)
		<-done
		for _, fd := range fds {
			syscall.Close(fd)
		}
		syscall.Close(int(quit))
		syscall.Close(epfd)
	}
}
