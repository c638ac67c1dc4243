//go:build unix

package main

import (
	"runtime"
	"sync"
	"syscall"
	"time"
)

// cpuMeter measures the share of the machine this process used since the last reading, for
// the load a cluster node announces (informative: placement goes by players).
type cpuMeter struct {
	mu   sync.Mutex
	at   time.Time
	used time.Duration
}

// share is the process's CPU time since the last call over the wall time times the cores,
// 0 to 1; 0 on the first call.
func (m *cpuMeter) share() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	prevAt, prevUsed := m.at, m.used
	m.at, m.used = now, used
	if prevAt.IsZero() || !now.After(prevAt) {
		return 0
	}
	return min(1, float64(used-prevUsed)/float64(now.Sub(prevAt))/float64(runtime.NumCPU()))
}
