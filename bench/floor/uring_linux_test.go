//go:build linux

package floor

import (
	"fmt"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/internal/uring"
)

// BenchmarkBroadcast measures a candidate of issue 14 (item 5) before anyone builds it:
// batched sends for a broadcast. A room's tick writes one snapshot to each of its players,
// one write(2) each; io_uring can hand the kernel all of them in one io_uring_enter(2). The
// kernel's TCP work per message is the same either way (on loopback the sender's call also
// delivers the segment to the receiving socket), so what batching can save is the syscall's
// entry and exit per message and Go's bookkeeping around it, and this says how much that is.
//
// Each op sends one message to each of `sockets` connections; readers drain the other ends.
// cpu-ns/msg is the whole process (both ends), send-cpu-ns/msg the sending thread alone
// (RUSAGE_THREAD, the goroutine locked to its thread): what the room's goroutine would pay.
//
//	go test -run x -bench Broadcast -benchtime 2s ./bench/floor
func BenchmarkBroadcast(b *testing.B) {
	for _, sockets := range []int{8, 64} {
		for _, mode := range []string{"write", "uring"} {
			b.Run(fmt.Sprintf("%s/%dsockets/64B", mode, sockets), func(b *testing.B) {
				fds := make([]int, sockets)
				for i := range fds {
					client, server := pair(b)
					go io.Copy(io.Discard, client) //nolint:errcheck // ends with the connection
					fds[i] = rawFD(b, server)
				}
				msg := make([]byte, 64)
				var send func()
				switch mode {
				case "write":
					send = func() {
						for _, fd := range fds {
							writeAll(b, fd, msg)
						}
					}
				case "uring":
					r, err := uring.New(uint32(sockets))
					if err != nil {
						b.Skipf("io_uring unavailable: %v", err)
					}
					b.Cleanup(r.Close)
					send = func() {
						for i, fd := range fds {
							r.Send(uint64(i), fd, msg, uring.MsgDontWait|uring.MsgNoSignal)
						}
						err := r.Submit(func(id uint64, res int32) {
							if res == -int32(syscall.EAGAIN) { // the socket is full: as a server would, write the rest
								writeAll(b, fds[id], msg)
							} else if res != int32(len(msg)) {
								b.Fatalf("send to socket %d: %d", id, res)
							}
						})
						if err != nil {
							b.Fatal(err)
						}
					}
				}
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				b.ReportAllocs()
				b.ResetTimer()
				cpu, thread := cpuTime(b), threadCPU(b)
				for range b.N {
					send()
				}
				b.StopTimer()
				msgs := float64(sockets * b.N)
				b.ReportMetric(float64((threadCPU(b)-thread).Nanoseconds())/msgs, "send-cpu-ns/msg")
				reportCPU(b, cpu, sockets*b.N)
			})
		}
	}
}

// threadCPU is the calling thread's user and system CPU time so far.
func threadCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
