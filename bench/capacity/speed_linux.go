package main

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// onCore runs fn on a thread pinned to core and times it; false when the core cannot be
// pinned to. The thread is locked and never unlocked, so the runtime retires it with its
// goroutine instead of reusing a thread whose affinity was changed.
func onCore(core int, fn func()) (time.Duration, bool) {
	if core < 0 || core >= 64 {
		return 0, false
	}
	type result struct {
		d  time.Duration
		ok bool
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		mask := uint64(1) << core
		if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask))); errno != 0 {
			done <- result{}
			return
		}
		t := time.Now()
		fn()
		done <- result{time.Since(t), true}
	}()
	r := <-done
	return r.d, r.ok
}
