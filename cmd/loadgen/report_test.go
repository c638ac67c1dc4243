package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSummaryLine(t *testing.T) {
	tests := []struct {
		name string
		res  result
		want string
	}{
		{
			"whole seconds",
			result{players: 10000, duration: 20 * time.Second, rttP50: 0.391, rttP99: 99.845, snapshotsPerS: 100012.84, bytesInPerPlayer: 2619.5},
			"players=10000 duration_s=20 rtt_p50_ms=0.39 rtt_p99_ms=99.84 snapshots_per_s=100012.8 snapshots_per_player_min=0.00 bytes_in_per_player_s=2620 errors=0",
		},
		{
			"a fraction of a second, errors of every kind",
			result{players: 20, duration: 2500 * time.Millisecond, rttP50: 1, rttP99: 12.345, snapshotsPerS: 0, bytesInPerPlayer: 0.4,
				joinErrors: 1, closes: 2, protocolErrors: 3, gameErrors: 4},
			"players=20 duration_s=2.5 rtt_p50_ms=1.00 rtt_p99_ms=12.35 snapshots_per_s=0.0 snapshots_per_player_min=0.00 bytes_in_per_player_s=0 errors=10",
		},
		{
			"a measured phase a little short of whole",
			result{players: 1, duration: 2960 * time.Millisecond},
			"players=1 duration_s=3 rtt_p50_ms=0.00 rtt_p99_ms=0.00 snapshots_per_s=0.0 snapshots_per_player_min=0.00 bytes_in_per_player_s=0 errors=0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.res.summary(); got != tt.want {
				t.Errorf("\ngot  %s\nwant %s", got, tt.want)
			}
			if !summaryRE.MatchString(tt.res.summary()) {
				t.Errorf("%q does not have the summary line's form", tt.res.summary())
			}
		})
	}
}

func TestReportEndsWithTheSummaryLine(t *testing.T) {
	res := &result{game: "crossword", url: "ws://h/play", players: 3, seated: 3, duration: time.Second,
		rows: []row{{"letters placed", "5"}}, firstErrors: []string{"close: gone"}, closes: 1}
	var out bytes.Buffer
	res.write(&out)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if last := lines[len(lines)-1]; last != res.summary() {
		t.Errorf("last line %q, want the summary", last)
	}
	for _, want := range []string{"letters placed", "unexpected closes", "first errors", "close: gone"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table has no %q:\n%s", want, out.String())
		}
	}
}

func TestThousands(t *testing.T) {
	tests := map[int64]string{0: "0", 999: "999", 1000: "1,000", 99870: "99,870", 1234567: "1,234,567", -4200: "-4,200"}
	for n, want := range tests {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestByteSize(t *testing.T) {
	tests := map[float64]string{0: "0B", 950: "950B", 12345: "12.3kB", 4.5e6: "4.5MB", 1.2e9: "1.2GB"}
	for n, want := range tests {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%v) = %q, want %q", n, got, want)
		}
	}
}

// TestSummaryCountsRedirectsAndNodes: in a cluster the bots' redirects and where they ended,
// by host, follow the counts; a run on one node without redirects keeps the line as it was.
func TestSummaryCountsRedirectsAndNodes(t *testing.T) {
	node := func(u string) *bot {
		b := &bot{}
		b.up.Store(true)
		b.node.Store(&u)
		return b
	}
	a, b1, b2, c := node("ws://127.0.0.1:8080/play"), node("ws://127.0.0.1:8081/play"), node("ws://127.0.0.1:8081/play"), node("ws://127.0.0.1:8082/play")
	b1.redirects.Store(1)
	b2.redirects.Store(2)
	c.lost.Store(true) // not playing any more: its redirects count, its node does not
	c.redirects.Store(1)
	r := &runner{bots: []*bot{a, b1, b2, c}}
	r.started.Store(4)
	redirects, perNode := r.nodes()
	res := result{players: 4, duration: time.Second, redirects: redirects, perNode: perNode}
	want := "players=4 duration_s=1 rtt_p50_ms=0.00 rtt_p99_ms=0.00 snapshots_per_s=0.0 snapshots_per_player_min=0.00 bytes_in_per_player_s=0 errors=0 redirects=4 nodes=127.0.0.1:8080=1,127.0.0.1:8081=2"
	if got := res.summary(); got != want {
		t.Errorf("\ngot  %s\nwant %s", got, want)
	}
	var out bytes.Buffer
	res.write(&out)
	if !strings.Contains(out.String(), "127.0.0.1:8080=1 127.0.0.1:8081=2") {
		t.Errorf("the table has no players per node:\n%s", out.String())
	}

	one := &runner{bots: []*bot{a}}
	one.started.Store(1)
	redirects, perNode = one.nodes()
	res = result{players: 1, duration: time.Second, redirects: redirects, perNode: perNode}
	if got := res.summary(); !summaryRE.MatchString(got) {
		t.Errorf("one node, no redirect: %q is not the plain summary line", got)
	}
}

func TestFewestPerBot(t *testing.T) {
	for _, tc := range []struct {
		name       string
		start, end []int64
		want       float64
	}{
		{"the fewest", []int64{10, 20, 30}, []int64{40, 45, 90}, 25},
		{"a bot down at either end is left out", []int64{10, -1, 30}, []int64{40, 21, -1}, 30},
		{"a bot started in the window is left out", []int64{10}, []int64{40, 1}, 30},
		{"none up", []int64{-1}, []int64{-1}, 0},
		{"no bots", nil, nil, 0},
	} {
		if got := fewestPerBot(tc.start, tc.end); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
