package ws

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// A minimal io_uring (io_uring_setup(2), io_uring_enter(2), the ring layout of
// <linux/io_uring.h>): enough to hand the kernel a batch of sends in one system call and
// reap their completions (Batch). bench/floor's BenchmarkBroadcast measured, on the
// project's 2-core machine, 5.1 µs of the sending thread's CPU per 64-byte message with a
// write(2) each and 2.4 µs with one io_uring_enter for 64 of them: the kernel's TCP work is
// the same, the system call's entry and exit and Go's bookkeeping around it are not.
//
// Each send carries MSG_DONTWAIT, so the kernel completes it at once: the bytes the socket
// took, or -EAGAIN when it is full (the rest then goes the ordinary way, through the
// writer's queue). Nothing waits on a slow peer, as with write(2) on a non-blocking socket.
// Where io_uring is refused (an old kernel, a seccomp profile that blocks it, as Docker's
// default does) every send takes the ordinary path.

const (
	sysIOUringSetup = 425 // the same number on every architecture
	sysIOUringEnter = 426

	ioringOffSQRing      = 0
	ioringOffCQRing      = 0x8000000
	ioringOffSQEs        = 0x10000000
	ioringFeatSingleMmap = 1 << 0 // IORING_FEAT_SINGLE_MMAP
	ioringOpSend         = 26     // IORING_OP_SEND
	ioringEnterGetEvents = 1 << 0 // IORING_ENTER_GETEVENTS

	msgDontWait = 0x40   // MSG_DONTWAIT
	msgNoSignal = 0x4000 // MSG_NOSIGNAL: a reset peer is EPIPE, not a SIGPIPE

	// ringEntries is the most sends one io_uring_enter hands over: BenchmarkBroadcast gained
	// most of batching's saving by 64. Batch holds every socket of a round locked while it
	// waits (see Batch.Send), one nested call each, so a round is kept this small.
	ringEntries = 64
)

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// uringParams is struct io_uring_params.
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

// ring is one io_uring instance, used by one goroutine at a time (rings hands them out).
type ring struct {
	fd                     int
	sqMem, cqMem, sqeMem   []byte
	sqHead, sqTail, sqMask *uint32
	sqArray                []uint32
	sqes                   []uringSQE
	cqHead, cqTail         *uint32
	cqMask                 uint32
	cqes                   []uringCQE
}

func newRing() (*ring, error) {
	var p uringParams
	fd, _, errno := syscall.Syscall(sysIOUringSetup, ringEntries, uintptr(unsafe.Pointer(&p)), 0)
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
	if p.features&ioringFeatSingleMmap != 0 {
		r.sqMem, err = mmap(ioringOffSQRing, max(sqSize, cqSize))
		r.cqMem = r.sqMem
	} else if r.sqMem, err = mmap(ioringOffSQRing, sqSize); err == nil {
		r.cqMem, err = mmap(ioringOffCQRing, cqSize)
	}
	if err == nil {
		r.sqeMem, err = mmap(ioringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})))
	}
	if err != nil {
		r.close()
		return nil, err
	}
	u32 := func(mem []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	r.sqHead, r.sqTail, r.sqMask = u32(r.sqMem, p.sqOff.head), u32(r.sqMem, p.sqOff.tail), u32(r.sqMem, p.sqOff.ringMask)
	r.sqArray = unsafe.Slice(u32(r.sqMem, p.sqOff.array), p.sqEntries)
	r.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.cqHead, r.cqTail = u32(r.cqMem, p.cqOff.head), u32(r.cqMem, p.cqOff.tail)
	r.cqMask = *u32(r.cqMem, p.cqOff.ringMask)
	r.cqes = unsafe.Slice((*uringCQE)(unsafe.Pointer(&r.cqMem[p.cqOff.cqes])), p.cqEntries)
	return r, nil
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

// sendAll sends each item's frame on its locked socket (items without one are skipped)
// and records in each what the kernel did: n bytes taken, or err. len(items) <= ringEntries.
// It returns false when the ring failed: the items not completed then carry the error, and
// the ring must not be used again.
func (r *ring) sendAll(items []batchItem) bool {
	tail := atomic.LoadUint32(r.sqTail)
	mask := *r.sqMask
	want := 0
	for i := range items {
		it := &items[i]
		if !it.locked {
			continue
		}
		idx := (tail + uint32(want)) & mask
		r.sqes[idx] = uringSQE{
			opcode:   ioringOpSend,
			fd:       int32(it.fd),
			addr:     uint64(uintptr(unsafe.Pointer(unsafe.SliceData(it.f.b)))),
			len:      uint32(len(it.f.b)),
			opFlags:  msgDontWait | msgNoSignal,
			userData: uint64(i),
		}
		r.sqArray[idx] = idx
		it.pending = true
		want++
	}
	if want == 0 {
		return true
	}
	atomic.StoreUint32(r.sqTail, tail+uint32(want))
	ok := true
	for got := 0; got < want; {
		toSubmit := atomic.LoadUint32(r.sqTail) - atomic.LoadUint32(r.sqHead)
		_, _, errno := syscall.Syscall6(sysIOUringEnter, uintptr(r.fd), uintptr(toSubmit), uintptr(want-got), ioringEnterGetEvents, 0, 0)
		head, ctail := atomic.LoadUint32(r.cqHead), atomic.LoadUint32(r.cqTail)
		for ; head != ctail; head++ {
			cqe := r.cqes[head&r.cqMask]
			it := &items[cqe.userData]
			it.pending = false
			switch {
			case cqe.res >= 0:
				it.n = int(cqe.res)
				it.c.metrics.BatchedWrites.Add(1)
			case cqe.res == -int32(syscall.EAGAIN) || cqe.res == -int32(syscall.EINTR):
				it.n = 0 // the socket is full: the writer's queue takes the frame
			default:
				it.err = syscall.Errno(-cqe.res)
			}
			got++
		}
		atomic.StoreUint32(r.cqHead, head)
		switch errno {
		case 0, syscall.EINTR, syscall.EAGAIN, syscall.EBUSY:
			continue
		}
		// The ring itself failed. Whether the sends still waiting were made is unknown, so
		// none may be repeated: their connections fail instead.
		for i := range items {
			if items[i].pending {
				items[i].pending, items[i].err = false, errno
			}
		}
		ok = false
		break
	}
	return ok
}

// rings lends io_uring instances to Batch.Send. There are at most a few per core, made as
// needed; a Send that finds none free (or a process whose kernel refuses io_uring) writes
// its frames the ordinary way.
var rings struct {
	mu     sync.Mutex
	free   []*ring
	made   int
	broken atomic.Bool // io_uring_setup failed: the kernel refuses it
}

func ringsBroken() bool { return rings.broken.Load() }

func getRing() *ring {
	rings.mu.Lock()
	defer rings.mu.Unlock()
	if n := len(rings.free); n > 0 {
		r := rings.free[n-1]
		rings.free = rings.free[:n-1]
		return r
	}
	if rings.broken.Load() || rings.made >= 2*runtime.GOMAXPROCS(0)+2 {
		return nil
	}
	r, err := newRing()
	if err != nil {
		rings.broken.Store(true)
		return nil
	}
	rings.made++
	return r
}

func putRing(r *ring, ok bool) {
	rings.mu.Lock()
	defer rings.mu.Unlock()
	if !ok {
		rings.made--
		r.close()
		return
	}
	rings.free = append(rings.free, r)
}

const batchSupported = true
