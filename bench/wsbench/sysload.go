package main

// Outside load. The benchmark box is shared and small: a row measured while other
// processes ate the CPU says little. Each row records how much of the machine's CPU
// went to processes other than the harness and its server child during the window
// ("other CPU %"), and -wait-quiet can hold a row back until the machine is calm.

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of /proc/stat (USER_HZ, 100 on Linux).
const userHZ = 100

// machineCPU returns busy and total CPU time of all cores since boot, from /proc/stat.
func machineCPU() (busy, total time.Duration, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return 0, 0, false
	}
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, 0, false
	}
	var v [8]int64 // user nice system idle iowait irq softirq steal
	for i := range v {
		if i+1 < len(fields) {
			v[i], _ = strconv.ParseInt(fields[i+1], 10, 64)
		}
	}
	tick := time.Second / userHZ
	// irq and softirq time is left out of "busy": on loopback it is mostly this
	// benchmark's own packets, which the kernel charges to no process.
	b := v[0] + v[1] + v[2] + v[7]
	return time.Duration(b) * tick, time.Duration(b+v[3]+v[4]+v[5]+v[6]) * tick, true
}

// loadMeter measures the share of machine CPU used by other processes over a window.
type loadMeter struct {
	busy, total, self, child time.Duration
	ok                       bool
}

func startLoad(childCPU time.Duration) loadMeter {
	b, t, ok := machineCPU()
	return loadMeter{busy: b, total: t, self: cpuTime(), child: childCPU, ok: ok}
}

// otherPct is the percentage of all cores' time spent by other processes since m.
func (m loadMeter) otherPct(childCPU time.Duration) float64 {
	b, t, ok := machineCPU()
	if !ok || !m.ok || t <= m.total {
		return -1
	}
	other := (b - m.busy) - (cpuTime() - m.self) - (childCPU - m.child)
	return max(0, 100*float64(other)/float64(t-m.total))
}

// childrenCPU is the user+system CPU time of this process's children that have been waited
// for (getrusage RUSAGE_CHILDREN): every server child once its row is done.
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadavg is the 1-minute load average from /proc/loadavg ("?" when unreadable): runnable
// threads of the whole machine, this benchmark's included, a coarser view than otherPct
// that a reader knows from uptime(1).
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// waitQuiet waits, at most max, until other processes use under 25 % of the machine
// over a 500 ms sample. It reports the last sample.
func waitQuiet(max time.Duration) float64 {
	deadline := time.Now().Add(max)
	for {
		m := startLoad(0)
		time.Sleep(500 * time.Millisecond)
		pct := m.otherPct(0)
		if pct < 25 || time.Now().After(deadline) {
			return pct
		}
	}
}
