//go:build !race

package ws

import (
	"syscall"
	"unsafe"
)

// readFD and writeFD are read(2) and write(2) on a non-blocking socket, made without the
// runtime's system-call bookkeeping (syscall.RawSyscall, not syscall.Syscall). The
// bookkeeping is for calls that may block, so that the scheduler can hand the goroutine's P
// to another thread meanwhile; these never block. What it costs here is sysmon: when every P
// has gone idle (a quiet server between two inputs), the runtime's monitor thread sleeps
// until the next timer, and the next system call made through the bookkeeping wakes it
// (entersyscallWakeSysmon) and sends it back to polling every 20 µs for a millisecond. With
// inputs arriving one at a time, that is every input: in the gameserver at 160 shooter
// players, sysmon made 4,000 nanosleep(2) and 1,100 futex(2) calls a second, most of its
// wake-ups caused by the first read after each input's wake-up.
//
// A signal arriving meanwhile restarts the call (the runtime's handlers are SA_RESTART) or
// ends it with EINTR, which both callers retry. Under the race detector the calls go through
// the syscall package after all (rawsys_other.go): its Write and Read tell the detector that
// what one goroutine wrote before a write(2) happened before what another does after the
// read(2) that got the bytes, and tests that learn of a peer's state from its messages rely
// on that; raw calls made every such test report a race that is not one.
func readFD(fd uintptr, p []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if errno != 0 {
		return -1, errno
	}
	return int(n), nil
}

func writeFD(fd uintptr, p []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if errno != 0 {
		return -1, errno
	}
	return int(n), nil
}
