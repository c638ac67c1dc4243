package engine

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// timerfd is a pacerTimer: a timerfd(2) on CLOCK_MONOTONIC (the clock the runtime's timers
// use), non-blocking, so that os.File puts it in the runtime's netpoller and a read waits
// there, ending epoll_wait when it expires.
type timerfd struct {
	f   *os.File
	fd  int
	buf [8]byte // the expiry count each read returns
}

func newPacerTimer() pacerTimer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil // a seccomp profile may refuse it: rooms keep the runtime's timing
	}
	return &timerfd{f: os.NewFile(uintptr(fd), "pacer timerfd"), fd: fd}
}

func (t *timerfd) arm(d time.Duration) error {
	d = max(d, 1) // zero would disarm it
	return unix.TimerfdSettime(t.fd, 0, &unix.ItimerSpec{Value: unix.NsecToTimespec(d.Nanoseconds())}, nil)
}

func (t *timerfd) wait() error {
	_, err := t.f.Read(t.buf[:])
	return err
}
