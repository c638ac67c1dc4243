// Package uring is a minimal io_uring (io_uring_setup(2), io_uring_enter(2), the ring
// layout of <linux/io_uring.h>): enough to hand the kernel a batch of sends in one system
// call and reap their completions. net/ws's Batch sends a room's snapshots through it;
// bench/floor measures what that saves. It has no dependency beyond the syscall package:
// the sends are all it does.
package uring

import (
	"sync/atomic"
	"syscall"
	"unsafe"
)

const (
	sysSetup = 425 // io_uring_setup: the same number on every architecture
	sysEnter = 426 // io_uring_enter

	offSQRing      = 0
	offCQRing      = 0x8000000
	offSQEs        = 0x10000000
	featSingleMmap = 1 << 0 // IORING_FEAT_SINGLE_MMAP
	opSend         = 26     // IORING_OP_SEND
	opRecv         = 27     // IORING_OP_RECV
	enterGetEvents = 1 << 0 // IORING_ENTER_GETEVENTS

	// MsgDontWait makes a send on a full socket complete at once with -EAGAIN.
	MsgDontWait = 0x40
	// MsgNoSignal makes a send to a reset peer fail with EPIPE instead of raising SIGPIPE.
	MsgNoSignal = 0x4000
)

// Supported reports whether this package can work on this system at all; New still fails
// where the kernel refuses io_uring.
const Supported = true

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

// sqe is struct io_uring_sqe (64 bytes).
type sqe struct {
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

// cqe is struct io_uring_cqe (16 bytes).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// Ring is one io_uring instance. It is not safe for concurrent use: one goroutine at a
// time queues, submits and reaps.
type Ring struct {
	fd                     int
	sqMem, cqMem, sqeMem   []byte
	sqHead, sqTail, sqMask *uint32
	sqArray                []uint32
	sqes                   []sqe
	cqHead, cqTail         *uint32
	cqMask                 uint32
	cqes                   []cqe
	queued                 uint32 // sends queued since the last Submit
}

// New sets up a ring for up to entries sends per Submit.
func New(entries uint32) (*Ring, error) {
	var p params
	fd, _, errno := syscall.Syscall(sysSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, errno
	}
	r := &Ring{fd: int(fd)}
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(cqe{})))
	mmap := func(off int64, size int) ([]byte, error) {
		return syscall.Mmap(r.fd, off, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	}
	var err error
	if p.features&featSingleMmap != 0 {
		r.sqMem, err = mmap(offSQRing, max(sqSize, cqSize))
		r.cqMem = r.sqMem
	} else if r.sqMem, err = mmap(offSQRing, sqSize); err == nil {
		r.cqMem, err = mmap(offCQRing, cqSize)
	}
	if err == nil {
		r.sqeMem, err = mmap(offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})))
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	u32 := func(mem []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	r.sqHead, r.sqTail, r.sqMask = u32(r.sqMem, p.sqOff.head), u32(r.sqMem, p.sqOff.tail), u32(r.sqMem, p.sqOff.ringMask)
	r.sqArray = unsafe.Slice(u32(r.sqMem, p.sqOff.array), p.sqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.cqHead, r.cqTail = u32(r.cqMem, p.cqOff.head), u32(r.cqMem, p.cqOff.tail)
	r.cqMask = *u32(r.cqMem, p.cqOff.ringMask)
	r.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&r.cqMem[p.cqOff.cqes])), p.cqEntries)
	return r, nil
}

// Entries is how many sends one Submit may carry.
func (r *Ring) Entries() int { return len(r.sqes) }

// Close releases the ring.
func (r *Ring) Close() {
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

// Send queues a send(2) of p on fd with flags, reported to Submit's done as id. p must stay
// alive and unchanged, and fd open, until Submit returns. At most Entries sends between
// Submits.
func (r *Ring) Send(id uint64, fd int, p []byte, flags uint32) { r.queue(opSend, id, fd, p, flags) }

// Recv queues a recv(2) into p on fd with flags, reported to Submit's done as id (the
// bytes received, 0 at the peer's end, or -errno; with MsgDontWait, -EAGAIN when nothing
// waits). The same rules as Send's hold for p and fd. bench/floor measures what reading
// many sockets in one system call saves.
func (r *Ring) Recv(id uint64, fd int, p []byte, flags uint32) { r.queue(opRecv, id, fd, p, flags) }

func (r *Ring) queue(op uint8, id uint64, fd int, p []byte, flags uint32) {
	tail := atomic.LoadUint32(r.sqTail) + r.queued
	i := tail & *r.sqMask
	r.sqes[i] = sqe{
		opcode:   op,
		fd:       int32(fd),
		addr:     uint64(uintptr(unsafe.Pointer(unsafe.SliceData(p)))),
		len:      uint32(len(p)),
		opFlags:  flags,
		userData: id,
	}
	r.sqArray[i] = i
	r.queued++
}

// Submit hands the queued sends to the kernel, in one io_uring_enter(2) unless a signal
// interrupts it, waits for all of their completions and calls done for each with its id
// and result (bytes sent, or -errno). An error says the ring itself failed: the sends
// without a completion then may or may not have been made, and the ring must not be used
// again.
func (r *Ring) Submit(done func(id uint64, res int32)) error {
	want := int(r.queued)
	if want == 0 {
		return nil
	}
	atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqTail)+r.queued)
	r.queued = 0
	for got := 0; got < want; {
		toSubmit := atomic.LoadUint32(r.sqTail) - atomic.LoadUint32(r.sqHead)
		_, _, errno := syscall.Syscall6(sysEnter, uintptr(r.fd), uintptr(toSubmit), uintptr(want-got), enterGetEvents, 0, 0)
		head, tail := atomic.LoadUint32(r.cqHead), atomic.LoadUint32(r.cqTail)
		for ; head != tail; head++ {
			c := r.cqes[head&r.cqMask]
			done(c.userData, c.res)
			got++
		}
		atomic.StoreUint32(r.cqHead, head)
		switch errno {
		case 0, syscall.EINTR, syscall.EAGAIN, syscall.EBUSY:
		default:
			return errno
		}
	}
	return nil
}
