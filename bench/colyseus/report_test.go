package colyseus

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/internal/peertest"
)

// side is one measured window as measure.mjs writes it, reduced to what report.mjs reads.
type side struct {
	cpu, bytes, other float64
	started           int64
	connected         int // players connected at the window's end; 10 when zero
}

// window writes s as measure.mjs's JSON line for 10 players over 10 s, with the load
// tool's summary (loadgen's key=value line for Rallypoint, driver.mjs's JSON for Colyseus).
func window(t *testing.T, dir, name string, s side, rallypoint bool) string {
	t.Helper()
	connected := s.connected
	if connected == 0 {
		connected = 10
	}
	// The players received what the server wrote: bytes per player-second over 10 players
	// and 10 s (bytes_ratio is taken from the clients' count).
	perPlayer := s.bytes / 100
	summary := fmt.Sprintf(`{"errors":0,"patches_per_s":300,"bytes_in_per_player_s":%g,"rtt_p50_ms":1,"rtt_p99_ms":3}`, perPlayer)
	if rallypoint {
		summary = fmt.Sprintf("players=10 errors=0 snapshots_per_s=300 bytes_in_per_player_s=%g rtt_p50_ms=1 rtt_p99_ms=2", perPlayer)
	}
	m := map[string]any{
		"window_s": 10, "started_ms": s.started, "cpu_s": s.cpu, "bytes": s.bytes, "players": 10,
		"connected": []int{10, connected}, "rss_kb": 20480, "tool_cpu_s": 5,
		"other_cpu_pct": s.other, "loadavg": []float64{1, 1}, "exit": 0, "summary": summary,
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".json")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runReport runs report.mjs on the rounds (Rallypoint, Colyseus) and returns its stdout,
// its stderr and whether it exited 0.
func runReport(t *testing.T, rounds [][2]side) (stdout, stderr string, ok bool) {
	t.Helper()
	node := peertest.Node(t)
	if _, err := os.ReadFile("report.mjs"); err != nil { // lets go test's cache see edits to it
		t.Fatal(err)
	}
	dir := t.TempDir()
	args := []string{"report.mjs"}
	for i, r := range rounds {
		args = append(args,
			window(t, dir, fmt.Sprintf("rallypoint-%d", i+1), r[0], true),
			window(t, dir, fmt.Sprintf("colyseus-%d", i+1), r[1], false))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("node report.mjs: %v", err)
	}
	return out.String(), errOut.String(), err == nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestReportGivesRatiosOfMediansWithSpread checks the summary line and the table against
// figures worked out by hand: 10 players over 10 s, so CPU ms per player-second is
// 10 × cpu_s and bytes per player-second is bytes / 100.
func TestReportGivesRatiosOfMediansWithSpread(t *testing.T) {
	cases := []struct {
		name   string
		rounds [][2]side
		last   string
		lines  []string // lines (or parts of lines) the output must hold
	}{
		{
			name: "three rounds, alternating",
			rounds: [][2]side{
				{{cpu: 1, bytes: 1000, other: 1, started: 100}, {cpu: 2, bytes: 4000, other: 2, started: 200}},
				{{cpu: 2, bytes: 3000, other: 5, started: 400}, {cpu: 2, bytes: 4000, other: 9, started: 300}},
				{{cpu: 3, bytes: 2000, other: 3, started: 500}, {cpu: 4, bytes: 4000, other: 4, started: 600}},
			},
			// medians 20 / 20 and 20 / 40; per-round cpu 0.5, 1, 0.75 and bytes 0.25, 0.75, 0.5.
			last: "cpu_ratio=1.000 bytes_ratio=0.500 cpu_ratio_spread=0.500..1.000 bytes_ratio_spread=0.250..0.750 rounds=3 other_cpu_pct=1.0..9.0",
			lines: []string{
				"median (min..max) of 3 rounds",
				"20.000 (10.000..30.000)",
				"round 1 (Rallypoint first): cpu_ratio=0.500 bytes_ratio=0.250 other_cpu_pct=1.0/2.0",
				"round 2 (Colyseus first): cpu_ratio=1.000 bytes_ratio=0.750 other_cpu_pct=5.0/9.0",
				"round 3 (Rallypoint first)",
			},
		},
		{
			name: "two rounds: the median of an even count is the mean of the middle two",
			rounds: [][2]side{
				{{cpu: 1, bytes: 1000, started: 1}, {cpu: 4, bytes: 1000, started: 2}},
				{{cpu: 3, bytes: 3000, started: 4}, {cpu: 4, bytes: 1000, started: 3}},
			},
			last: "cpu_ratio=0.500 bytes_ratio=2.000 cpu_ratio_spread=0.250..0.750 bytes_ratio_spread=1.000..3.000 rounds=2 other_cpu_pct=0.0..0.0",
		},
		{
			name:   "one round keeps the old figures",
			rounds: [][2]side{{{cpu: 1.5, bytes: 2500, other: 12.5, started: 1}, {cpu: 3, bytes: 5000, other: 10, started: 2}}},
			last:   "cpu_ratio=0.500 bytes_ratio=0.500 cpu_ratio_spread=0.500..0.500 bytes_ratio_spread=0.500..0.500 rounds=1 other_cpu_pct=10.0..12.5",
			lines:  []string{"server CPU ms per player-s          15.000    30.000"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, ok := runReport(t, c.rounds)
			if !ok {
				t.Fatalf("report.mjs failed: %s", errOut)
			}
			if got := lastLine(out); got != c.last {
				t.Errorf("last line:\n got %s\nwant %s", got, c.last)
			}
			for _, l := range c.lines {
				if !strings.Contains(out, l) {
					t.Errorf("output lacks %q:\n%s", l, out)
				}
			}
		})
	}
}

// TestReportRefusesARoundThatLostPlayers: one bad round fails the whole report, naming
// the round, rather than leaving it out of the medians.
func TestReportRefusesARoundThatLostPlayers(t *testing.T) {
	good := [2]side{{cpu: 1, bytes: 1000}, {cpu: 1, bytes: 1000}}
	bad := [2]side{{cpu: 1, bytes: 1000}, {cpu: 1, bytes: 1000, connected: 9}}
	_, errOut, ok := runReport(t, [][2]side{good, bad, good})
	if ok {
		t.Fatal("report.mjs passed a round in which a player was missing")
	}
	if want := "Colyseus (round 2): 10 then 9 of 10 players were connected in the window"; !strings.Contains(errOut, want) {
		t.Fatalf("stderr lacks %q:\n%s", want, errOut)
	}
}
