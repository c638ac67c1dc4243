//go:build unix

package ws

import (
	"syscall"

	"github.com/rallypoint/rallypoint/internal/bpool"
)

// On Unix sockets the connection talks to the descriptor through syscall.RawConn, which
// lets it wait for readability without holding a buffer (an idle connection costs no read
// buffer) and try a write without blocking (a broadcast never waits for a slow peer).
const sysIOSupported = true

// rawRead is the callback for RawConn.Read. It reads into r.rawDst, or, when that is nil,
// into the read buffer, which it borrows only once the socket has bytes for it. Returning
// false asks the runtime poller to wait for readability and call again.
func (r *reader) rawRead(fd uintptr) bool {
	dst := r.rawDst
	borrowed := false
	if dst == nil {
		if r.buf == nil {
			r.buf = bpool.Get(readBufSize)
			borrowed = true
		}
		b := *r.buf
		dst = b[len(b):cap(b)]
	}
	for {
		n, err := readFD(fd, dst)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			if borrowed {
				bpool.Put(r.buf)
				r.buf = nil
			}
			if r.noWait {
				r.rawN, r.rawErr = 0, err
				return true
			}
			return false
		}
		if n < 0 {
			n = 0
		}
		if r.rawDst == nil {
			*r.buf = (*r.buf)[:len(*r.buf)+n]
		}
		r.rawN, r.rawErr = n, nil
		if err != nil {
			r.rawErr = err
		}
		return true
	}
}

func (r *reader) sysRead() (int, error) {
	// Bytes that arrive after this read are announced to a served connection anew (its
	// poller is edge-triggered): what was announced before, this read takes.
	r.c.sv.pending.Store(false)
	r.rawN, r.rawErr = 0, nil
	if err := r.c.raw.Read(r.rawFn); err != nil {
		return 0, err
	}
	return r.rawN, r.rawErr
}

// rawWrite is the callback for RawConn.Write: one non-blocking write attempt. It always
// returns true, so the runtime never parks the caller waiting for writability.
func (w *writer) rawWrite(fd uintptr) bool {
	for {
		n, err := writeFD(fd, w.rawSrc)
		if err == syscall.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		w.rawN = n
		w.rawErr = nil
		if err != nil && err != syscall.EAGAIN {
			w.rawErr = err
		}
		return true
	}
}

// tryWrite writes as much of p as the socket takes right now, without blocking.
func (w *writer) tryWrite(p []byte) (int, error) {
	w.rawSrc = p
	w.rawN, w.rawErr = 0, nil
	err := w.c.raw.Write(w.rawFn)
	w.rawSrc = nil
	if err != nil {
		return 0, err
	}
	return w.rawN, w.rawErr
}
