//go:build linux

package floor

import (
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
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
					r, err := newRing(uint32(sockets))
					if err != nil {
						b.Skipf("io_uring unavailable: %v", err)
					}
					b.Cleanup(r.close)
					send = func() {
						for i, fd := range fds {
							r.prepSend(i, fd, msg)
						}
						for _, c := range r.submitAndWait(b, len(fds)) {
							if c.res == -int32(syscall.EAGAIN) { // the socket is full: as a server would, write the rest
								writeAll(b, fds[c.userData], msg)
							} else if c.res != int32(len(msg)) {
								b.Fatalf("send to socket %d: %d", c.userData, c.res)
							}
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

// writeAll writes msg with write(2), yielding while the socket is full.
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

// threadCPU is the calling thread's user and system CPU time so far.
func threadCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A minimal io_uring (io_uring_setup(2), io_uring_enter(2); the ring layout of
// <linux/io_uring.h>), enough to submit sends and reap their completions. Measurement only.
const (
	sysIOUringSetup = 425 // the same number on every architecture
	sysIOUringEnter = 426

	ioringOffSQRing  = 0
	ioringOffCQRing  = 0x8000000
	ioringOffSQEs    = 0x10000000
	ioringFeatSingle = 1 << 0 // IORING_FEAT_SINGLE_MMAP
	ioringOpSend     = 26     // IORING_OP_SEND
	ioringEnterGet   = 1 << 0 // IORING_ENTER_GETEVENTS
	msgDontWait      = 0x40   // MSG_DONTWAIT: a full socket completes with -EAGAIN instead of waiting
)

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

// uringSQE is struct io_uring_sqe (64 bytes).
type uringSQE struct {
	opcode, flags uint8
	ioprio        uint16
	fd            int32
	off, addr     uint64
	len, opFlags  uint32
	userData      uint64
	bufIndex      uint16
	personality   uint16
	spliceFDIn    int32
	addr3, pad    uint64
}

// uringCQE is struct io_uring_cqe (16 bytes).
type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

type ring struct {
	fd             int
	sqMem, cqMem   []byte
	sqeMem         []byte
	sqTail, sqMask *uint32
	sqArray        []uint32
	sqes           []uringSQE
	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []uringCQE
	queued         uint32
	done           []uringCQE
}

func newRing(entries uint32) (*ring, error) {
	var p uringParams
	fd, _, errno := syscall.Syscall(sysIOUringSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, errno
	}
	r := &ring{fd: int(fd)}
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(uringCQE{})))
	mmap := func(off int64, size int) ([]byte, error) {
		return syscall.Mmap(r.fd, off, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	}
	var err error
	if p.features&ioringFeatSingle != 0 {
		r.sqMem, err = mmap(ioringOffSQRing, max(sqSize, cqSize))
		r.cqMem = r.sqMem
	} else {
		if r.sqMem, err = mmap(ioringOffSQRing, sqSize); err == nil {
			r.cqMem, err = mmap(ioringOffCQRing, cqSize)
		}
	}
	if err == nil {
		r.sqeMem, err = mmap(ioringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})))
	}
	if err != nil {
		r.close()
		return nil, err
	}
	u32 := func(mem []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	r.sqTail, r.sqMask = u32(r.sqMem, p.sqOff.tail), u32(r.sqMem, p.sqOff.ringMask)
	r.sqArray = unsafe.Slice(u32(r.sqMem, p.sqOff.array), p.sqEntries)
	r.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.cqHead, r.cqTail = u32(r.cqMem, p.cqOff.head), u32(r.cqMem, p.cqOff.tail)
	r.cqMask = *u32(r.cqMem, p.cqOff.ringMask)
	r.cqes = unsafe.Slice((*uringCQE)(unsafe.Pointer(&r.cqMem[p.cqOff.cqes])), p.cqEntries)
	return r, nil
}

// prepSend queues a send of msg on fd; msg must stay alive until submitAndWait returns.
func (r *ring) prepSend(id, fd int, msg []byte) {
	tail := atomic.LoadUint32(r.sqTail) + r.queued
	i := tail & *r.sqMask
	r.sqes[i] = uringSQE{opcode: ioringOpSend, fd: int32(fd), addr: uint64(uintptr(unsafe.Pointer(&msg[0]))), len: uint32(len(msg)), opFlags: msgDontWait, userData: uint64(id)}
	r.sqArray[i] = i
	r.queued++
}

// submitAndWait submits what prepSend queued, in one io_uring_enter(2), waits for n
// completions and returns them (valid until the next call).
func (r *ring) submitAndWait(b *testing.B, n int) []uringCQE {
	atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqTail)+r.queued)
	submit := r.queued
	r.queued = 0
	r.done = r.done[:0]
	for len(r.done) < n {
		_, _, errno := syscall.Syscall6(sysIOUringEnter, uintptr(r.fd), uintptr(submit), uintptr(n-len(r.done)), ioringEnterGet, 0, 0)
		if errno != 0 && errno != syscall.EINTR {
			b.Fatalf("io_uring_enter: %v", errno)
		}
		submit = 0
		head, tail := atomic.LoadUint32(r.cqHead), atomic.LoadUint32(r.cqTail)
		for ; head != tail; head++ {
			r.done = append(r.done, r.cqes[head&r.cqMask])
		}
		atomic.StoreUint32(r.cqHead, head)
	}
	return r.done
}

func (r *ring) close() {
	if r.sqeMem != nil {
		_ = syscall.Munmap(r.sqeMem)
	}
	if r.cqMem != nil && (r.sqMem == nil || &r.cqMem[0] != &r.sqMem[0]) { // one mapping with IORING_FEAT_SINGLE_MMAP
		_ = syscall.Munmap(r.cqMem)
	}
	if r.sqMem != nil {
		_ = syscall.Munmap(r.sqMem)
	}
	_ = syscall.Close(r.fd)
}
