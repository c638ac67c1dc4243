package main

import (
	"os"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	cases := []struct {
		name, stat string
		want       int64
		ok         bool
	}{
		{"plain", "1234 (node) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 11 0 5 0", 325, true},
		{"name with spaces and parentheses", "99 (a (b) c) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 0", 10, true},
		{"truncated", "99 (x) R 1 1", 0, false},
		{"no name", "99 x R", 0, false},
	}
	for _, c := range cases {
		got, err := parseProcStat(c.stat)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("%s: got %d, %v; want %d, ok %v", c.name, got, err, c.want, c.ok)
		}
	}
}

func TestProcTicksOfThisProcess(t *testing.T) {
	if _, err := procTicks(os.Getpid()); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
}

func TestCPUTicksAndOtherLoad(t *testing.T) {
	a, err := parseCPUTicks("cpu  100 0 50 800 10 5 5 0 0 0\ncpu0 60 0 30 400 5 3 2 0 0 0\ncpu1 40 0 20 400 5 2 3 0 0 0\nintr 1\n")
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseCPUTicks("cpu  200 0 100 900 10 5 5 0 0 0\ncpu0 150 0 40 410 5 3 2 0 0 0\ncpu1 50 0 60 490 5 2 3 0 0 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.cores) != 2 || a.cores[1].busy != 60 || a.cores[1].total != 470 {
		t.Fatalf("cores %+v", a.cores)
	}
	// Core 0: 100 busy of 110 ticks, 80 of them the server's: 20 ticks, 18.2%, other load.
	if got := otherPct(a.cores[0], b.cores[0], 80); got < 18.1 || got > 18.2 {
		t.Errorf("core 0 other %.2f%%, want 18.18", got)
	}
	// More of ours than the core was busy (sampling skew) is 0, never negative.
	if got := otherPct(a.cores[1], b.cores[1], 200); got != 0 {
		t.Errorf("other %.2f%%, want 0", got)
	}
	if _, err := parseCPUTicks("intr 1\n"); err == nil {
		t.Error("a /proc/stat without a cpu line was accepted")
	}
}
