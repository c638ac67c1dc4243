package ws

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/rallypoint/rallypoint/internal/uring"
)

// Batch's sends go through internal/uring. bench/floor's BenchmarkBroadcast measured, on the
// project's 2-core machine, 5.1 µs of the sending thread's CPU per 64-byte message with a
// write(2) each and 2.4 µs with one io_uring_enter for 64 of them: the kernel's TCP work is
// the same, the system call's entry and exit and Go's bookkeeping around it are not.
//
// Each send carries MSG_DONTWAIT, so the kernel completes it at once: the bytes the socket
// took, or -EAGAIN when it is full (the rest then goes the ordinary way, through the
// writer's queue). Nothing waits on a slow peer, as with write(2) on a non-blocking socket.
// Where io_uring is refused (an old kernel, a seccomp profile that blocks it, as Docker's
// default does) every send takes the ordinary path.

// ringEntries is the most sends one io_uring_enter hands over: BenchmarkBroadcast gained
// most of batching's saving by 64. Batch holds every socket of a round locked while it
// waits (see Batch.lockFrom), one nested call each, so a round is kept this small.
const ringEntries = 64

type ring = uring.Ring

// sendAll sends each item's frame on its locked socket (items without one are skipped)
// and records in each what the kernel did: n bytes taken, or err. len(items) <= ringEntries.
// It returns false when the ring failed: the items not completed then carry the error (none
// may be repeated: whether they went is unknown), and the ring must not be used again.
func sendAll(r *ring, items []batchItem) bool {
	for i := range items {
		if it := &items[i]; it.locked {
			r.Send(uint64(i), int(it.fd), it.f.b, uring.MsgDontWait|uring.MsgNoSignal)
			it.pending = true
		}
	}
	err := r.Submit(func(id uint64, res int32) {
		it := &items[id]
		it.pending = false
		switch {
		case res >= 0:
			it.n = int(res)
			it.c.metrics.BatchedWrites.Add(1)
		case res == -int32(syscall.EAGAIN) || res == -int32(syscall.EINTR):
			it.n = 0 // the socket is full: the writer's queue takes the frame
		default:
			it.err = syscall.Errno(-res)
		}
	})
	if err == nil {
		return true
	}
	for i := range items {
		if items[i].pending {
			items[i].pending, items[i].err = false, err
		}
	}
	return false
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
	r, err := uring.New(ringEntries)
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
		r.Close()
		return
	}
	rings.free = append(rings.free, r)
}

const batchSupported = true
