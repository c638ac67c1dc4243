package floor

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// runtimeYield lets the reader run when a non-blocking socket call would block.
func runtimeYield() { runtime.Gosched() }

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU the whole process spent per message since start, both ends and the
// kernel's work for them included: on a busy machine wall time per op counts the time the
// benchmark waited for a core, CPU time does not.
func reportCPU(b *testing.B, start time.Duration, msgs int) {
	b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(msgs), "cpu-ns/msg")
}
