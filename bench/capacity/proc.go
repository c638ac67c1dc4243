package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procTicks is a process's CPU time, utime + stime in clock ticks (proc(5), fields 14 and
// 15 of /proc/PID/stat), all its threads together.
func procTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStat(string(b))
}

// parseProcStat reads utime + stime from the text of /proc/PID/stat. The command name
// (field 2) is in parentheses and may hold spaces and parentheses, so fields are counted
// from the last ')'.
func parseProcStat(s string) (int64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat: no command name")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the name, want 13 or more", len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64) // field 14 is the 12th after field 2
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("proc stat: bad utime/stime %q %q", f[11], f[12])
	}
	return u + st, nil
}

// coreTicks is one line of /proc/stat: busy (user + nice + system + steal) and total
// time, in clock ticks. irq and softirq count in total but not in busy, as in
// bench/colyseus/measure.mjs and bench/wsbench: on loopback they are mostly the benchmark's
// own packets, which the kernel charges to no process.
type coreTicks struct{ busy, total int64 }

// cpuTicks is /proc/stat's "cpu" line (all cores) and its per-core lines, "cpu0" first.
type cpuTicks struct {
	all   coreTicks
	cores []coreTicks
}

func readCPUTicks() (cpuTicks, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTicks{}, err
	}
	return parseCPUTicks(string(b))
}

func parseCPUTicks(s string) (cpuTicks, error) {
	var t cpuTicks
	seen := false
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		var v [8]int64
		for i := range v {
			n, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil {
				return cpuTicks{}, fmt.Errorf("/proc/stat %s: %w", f[0], err)
			}
			v[i] = n
		}
		user, nice, system, idle, iowait, irq, softirq, steal := v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
		c := coreTicks{busy: user + nice + system + steal}
		c.total = c.busy + idle + iowait + irq + softirq
		if f[0] == "cpu" {
			t.all, seen = c, true
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil {
			continue
		}
		for len(t.cores) <= n {
			t.cores = append(t.cores, coreTicks{})
		}
		t.cores[n] = c
	}
	if !seen {
		return cpuTicks{}, fmt.Errorf("/proc/stat has no cpu line")
	}
	return t, nil
}

// otherPct is the share of a core's (or all cores') time between a and b that went to
// processes other than those whose ticks are ours, in percent, never below 0.
func otherPct(a, b coreTicks, ours int64) float64 {
	total := b.total - a.total
	if total <= 0 {
		return 0
	}
	return max(0, 100*float64(b.busy-a.busy-ours)/float64(total))
}
