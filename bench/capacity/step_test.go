package main

import (
	"math"
	"testing"
)

func TestParseProgressOfBothTools(t *testing.T) {
	cases := []struct {
		line string
		want progress
		ok   bool
	}{
		{"t=12s measure connected=9998/10000 snapshots/s=99,870 in=24.1MB/s errors=0", progress{"measure", 9998, 99870}, true},
		{"t=3s measure connected=160/160 patches/s=4800 in=310.2kB/s errors=0", progress{"measure", 160, 4800}, true},
		{"t=1s ramp connected=10/160 snapshots/s=0 in=0B/s errors=0", progress{"ramp", 10, 0}, true},
		{"loadgen: bots connect through netsim", progress{}, false},
	}
	for _, c := range cases {
		got, ok := parseProgress(c.line)
		if ok != c.ok || got != c.want {
			t.Errorf("%q: %+v %v, want %+v %v", c.line, got, ok, c.want, c.ok)
		}
	}
}

// TestCrosswordRowsOfLoadgen pins the loadgen table rows the crossword verdict reads, in
// the form cmd/loadgen/crossword.go writes them (tabwriter-aligned).
func TestCrosswordRowsOfLoadgen(t *testing.T) {
	out := "letters placed           41 in the measured phase (52 correct sent in all, 9 wrong)\n" +
		"letter propagation ms    p50 48.10  p90 90.22  p99 97.55  max 98.00  (send to the last player's mirror)\n" +
		"players=100 duration_s=10 rtt_p50_ms=0.40 rtt_p99_ms=2.00 snapshots_per_s=1000.0 bytes_in_per_player_s=900 errors=0\n"
	if m := lettersPlacedRe.FindStringSubmatch(out); m == nil || m[1] != "41" {
		t.Errorf("letters placed: %v", m)
	}
	if m := letterP99Row.FindStringSubmatch(out); m == nil || m[1] != "97.55" {
		t.Errorf("letter p99: %v", m)
	}
	if n := summaryErrorCount(lastLine(out)); n != 0 {
		t.Errorf("errors %d, want 0", n)
	}
	if n := summaryErrorCount("players=1 rtt_p99_ms=1 errors=3 chaos_stalls=0"); n != 3 {
		t.Errorf("errors %d, want 3", n)
	}
	if n := summaryErrorCount("no summary"); n != -1 {
		t.Errorf("errors %d for a missing summary, want -1", n)
	}
}

// TestShooterMinimumOfLoadgen pins the summary field the shooter verdict reads for
// Rallypoint's fewest updates a second per player, in the form cmd/loadgen/report.go
// writes it.
func TestShooterMinimumOfLoadgen(t *testing.T) {
	cases := []struct {
		summary string
		want    float64 // -1: NaN
	}{
		{"players=750 duration_s=14 rtt_p50_ms=1.37 rtt_p99_ms=5.92 snapshots_per_s=22506.0 snapshots_per_player_min=29.95 bytes_in_per_player_s=2051 errors=0", 29.95},
		{"players=8 duration_s=14 rtt_p50_ms=1.00 rtt_p99_ms=2.00 snapshots_per_s=240.0 snapshots_per_player_min=0.00 bytes_in_per_player_s=20 errors=0", 0},
		{"players=8 duration_s=14 snapshots_per_s=240.0 errors=0", -1},
	}
	for _, c := range cases {
		got := summaryMinRate(c.summary)
		if (c.want < 0) != math.IsNaN(got) || (c.want >= 0 && got != c.want) {
			t.Errorf("%q: %v, want %v (-1: none)", c.summary, got, c.want)
		}
	}
}
