//go:build linux

package floor

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/internal/uring"
)

// BenchmarkReceivePaced measures another way to fewer wake-ups per input (issue 14, item
// 5), on the load that bench/colyseus/run.sh puts on a server: 160 players in rooms of 8,
// each sending a 24-byte input 60 times a second, the inputs spread evenly over time, so
// that on a quiet server nearly every input arrives at a receiver that is asleep.
// BenchmarkReceive found that an epoll loop saves nothing then: every input is still one
// wake-up. A game server needs an input only at its room's next tick, which wakes 60 times
// a second anyway; a room that read its players' sockets at its tick, without blocking,
// would need no wake-up per input at all. Inputs then wait for the tick, as they do already
// in the room's queue, so the game sees them at the same tick; what is lost is reacting
// between ticks (a ping answered up to 1/60 s later).
//
//   - goroutine: a goroutine per socket blocked in Read (net/ws's served connections while
//     messages come), and 20 room tickers at 60 Hz that do nothing (the ticks the rooms
//     run anyway).
//   - tick: the 20 tickers read their 8 sockets each at every tick through syscall.RawConn,
//     never parking: the sockets stay in the runtime's netpoller, whose edge-triggered
//     events still wake a sleeping thread for each input that no goroutine waits for.
//   - tick-lowat: as tick, with each socket's SO_RCVLOWAT at 1 MiB (the kernel caps it):
//     the kernel signals no arrival below it, so the netpoller hears of no input, while
//     the sockets stay in it (net/ws's pullLowat does this for pulled connections).
//   - tick-raw: the same, on sockets taken off the runtime's netpoller (duplicated, the
//     originals closed): nothing hears of an input until its room's tick reads it.
//   - tick-uring: as tick-raw, but each room's tick reads its 8 sockets in one
//     io_uring_enter(2) (a recv with MSG_DONTWAIT each), not one read(2) each.
//   - shared-tick-raw: as tick-raw, but one ticker for all 160 sockets, as if every room
//     of the same rate ticked on one shared clock: 60 wake-ups a second instead of 1,200.
//   - shared-tick-uring: as shared-tick-raw, but each tick reads all 160 sockets in one
//     io_uring_enter(2) (a recv with MSG_DONTWAIT each), not one read(2) each.
//
// One locked sender thread writes the inputs at their times, spinning between them (its CPU
// is left out: RUSAGE_THREAD). recv-cpu-us/s is the rest of the process's CPU per second
// of the run: the receiving server's share of a core, in µs per second.
//
//	go test -run x -bench ReceivePaced -benchtime 30000x -count 3 ./bench/floor
//
// Whether a room should read its players through io_uring: on 2026-12-06, three runs of
// each, recv-cpu-ns/msg was 6,495, 7,027 and 7,073 for tick-lowat (what net/ws's Pull
// does) against 5,939, 5,856 and 6,080 for tick-uring, and 6,796, 6,376 and 7,098 in a
// second set of runs. tick-raw gave 5,210, 5,098 and 5,511. At most a tenth of the
// receiving CPU, which is about 40% of a shooter server's (a profile of 160 bots), so
// about 4% of the server: an engine built on it (ws.PullMany, reads of a room's players
// in one io_uring_enter) measured 1.020 CPU ms per player-second in
// bench/colyseus/run.sh against 1.013 without, within the noise, and was not kept.
func BenchmarkReceivePaced(b *testing.B) {
	const players, perRoom, hz, size = 160, 8, 60, 24
	for _, mode := range []string{"goroutine", "tick", "tick-lowat", "tick-raw", "tick-uring", "shared-tick-raw", "shared-tick-uring"} {
		b.Run(mode, func(b *testing.B) {
			var got atomic.Int64
			wfds := make([]int, players)
			servers := make([]*net.TCPConn, players)
			for i := range wfds {
				client, server := pair(b)
				wfds[i], servers[i] = rawFD(b, client), server
			}
			group := perRoom
			switch mode {
			case "shared-tick-raw":
				mode, group = "tick-raw", players
			case "shared-tick-uring":
				mode, group = "tick-uring", players
			}
			stop := receivePaced(b, mode, servers, group, hz, size, &got)
			defer stop()
			msg := make([]byte, size)
			interval := time.Second / time.Duration(players*hz)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ResetTimer()
			cpu, thread := cpuTime(b), threadCPU(b)
			start := time.Now()
			for i := range b.N {
				for time.Since(start) < time.Duration(i)*interval {
				}
				// Player i%players sends its next input: each player every 1/60 s.
				writeAll(b, wfds[i%players], msg)
			}
			for got.Load() < int64(b.N) {
				runtime.Gosched()
			}
			b.StopTimer()
			wall := time.Since(start)
			recv := (cpuTime(b) - cpu) - (threadCPU(b) - thread)
			b.ReportMetric(float64(recv.Microseconds())/wall.Seconds(), "recv-cpu-us/s")
			b.ReportMetric(float64(recv.Nanoseconds())/float64(b.N), "recv-cpu-ns/msg")
		})
	}
}

// receivePaced starts the receiver of mode on servers, grouped into rooms of perRoom, and
// returns what stops it.
func receivePaced(b *testing.B, mode string, servers []*net.TCPConn, perRoom, hz, size int, got *atomic.Int64) (stop func()) {
	b.Helper()
	quit := make(chan struct{})
	var wg sync.WaitGroup
	var closers []func()
	if mode == "goroutine" {
		stopReaders := receiveGoroutines(servers, size, got)
		closers = append(closers, stopReaders)
	}
	for r := 0; r < len(servers); r += perRoom {
		room := servers[r:min(r+perRoom, len(servers))]
		var read func(buf []byte, partial []int)
		switch mode {
		case "goroutine":
			read = func([]byte, []int) {}
		case "tick", "tick-lowat":
			raws := make([]syscall.RawConn, len(room))
			for i, s := range room {
				rc, err := s.SyscallConn()
				if err != nil {
					b.Fatal(err)
				}
				raws[i] = rc
				if mode == "tick-lowat" {
					setLowat(b, rc, 1<<20)
				}
			}
			read = func(buf []byte, partial []int) {
				for i, rc := range raws {
					_ = rc.Read(func(fd uintptr) bool {
						partial[i] = drain(int(fd), buf, partial[i], size, got)
						return true // never park: the tick comes back
					})
				}
			}
			closers = append(closers, func() {
				for _, s := range room {
					s.Close()
				}
			})
		case "tick-raw":
			fds := offNetpoller(b, room)
			read = func(buf []byte, partial []int) {
				for i, fd := range fds {
					partial[i] = drain(fd, buf, partial[i], size, got)
				}
			}
			closers = append(closers, func() {
				for _, fd := range fds {
					syscall.Close(fd)
				}
			})
		case "tick-uring":
			ring, err := uring.New(uint32(len(room)))
			if err != nil {
				b.Skipf("no io_uring here: %v", err)
			}
			fds := offNetpoller(b, room)
			bufs := make([][]byte, len(room))
			for i := range bufs {
				bufs[i] = make([]byte, 4096)
			}
			read = func(_ []byte, partial []int) {
				for i, fd := range fds {
					ring.Recv(uint64(i), fd, bufs[i], uring.MsgDontWait)
				}
				err := ring.Submit(func(id uint64, res int32) {
					if res > 0 {
						p := partial[id] + int(res)
						got.Add(int64(p / size))
						partial[id] = p % size
					}
				})
				if err != nil {
					panic(err)
				}
			}
			closers = append(closers, func() {
				ring.Close()
				for _, fd := range fds {
					syscall.Close(fd)
				}
			})
		}
		wg.Go(func() {
			t := time.NewTicker(time.Second / time.Duration(hz))
			defer t.Stop()
			buf, partial := make([]byte, 4096), make([]int, len(room))
			for {
				select {
				case <-quit:
					return
				case <-t.C:
					read(buf, partial)
				}
			}
		})
	}
	return func() {
		close(quit)
		wg.Wait()
		for _, c := range closers {
			c()
		}
	}
}

// offNetpoller duplicates each socket's descriptor, non-blocking, and closes the original,
// which takes the socket out of the runtime's netpoller: nothing wakes for its bytes.
func offNetpoller(b *testing.B, conns []*net.TCPConn) []int {
	b.Helper()
	fds := make([]int, len(conns))
	for i, c := range conns {
		fd, err := syscall.Dup(rawFD(b, c))
		if err != nil {
			b.Fatal(err)
		}
		if err := syscall.SetNonblock(fd, true); err != nil {
			b.Fatal(err)
		}
		c.Close()
		fds[i] = fd
	}
	return fds
}

// drain reads fd until it would block, counts whole messages of size, and returns the bytes
// of an unfinished one.
func drain(fd int, buf []byte, partial, size int, got *atomic.Int64) int {
	for {
		n, err := syscall.Read(fd, buf)
		if n <= 0 || err != nil {
			return partial
		}
		partial += n
		got.Add(int64(partial / size))
		partial %= size
		if n < len(buf) {
			return partial // short: nothing more waits, and another read would find EAGAIN
		}
	}
}

// setLowat sets the socket's SO_RCVLOWAT.
func setLowat(b *testing.B, rc syscall.RawConn, n int) {
	b.Helper()
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n)
	}); err != nil || serr != nil {
		b.Fatal(err, serr)
	}
}
