package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/examples/shooter"
)

// startServer serves an engine with the games register adds at /play, as the gameserver
// does, and returns its ws:// base URL.
func startServer(t *testing.T, register func(e *engine.Engine) error) string {
	t.Helper()
	e := engine.New(engine.Options{})
	if err := register(e); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/play", e)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
		srv.CloseClientConnections()
		srv.Close()
	})
	return "ws://" + srv.Listener.Addr().String()
}

// summaryRE is the summary line's exact form.
var summaryRE = regexp.MustCompile(`^players=(\d+) duration_s=(\d+(?:\.\d)?) rtt_p50_ms=(\d+\.\d\d) rtt_p99_ms=(\d+\.\d\d) snapshots_per_s=(\d+\.\d) snapshots_per_player_min=(\d+\.\d\d) bytes_in_per_player_s=(\d+) errors=(\d+)$`)

// parseSummary checks that the last line of out is the summary line and returns its values
// by name.
func parseSummary(t *testing.T, out string) map[string]float64 {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	m := summaryRE.FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last line is not the summary line: %q\noutput:\n%s", last, out)
	}
	names := []string{"players", "duration_s", "rtt_p50_ms", "rtt_p99_ms", "snapshots_per_s", "snapshots_per_player_min", "bytes_in_per_player_s", "errors"}
	v := map[string]float64{}
	for i, name := range names {
		f, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil {
			t.Fatal(err)
		}
		v[name] = f
	}
	return v
}

func testConfig(url, game string) config {
	cfg := defaults
	cfg.URL = url
	cfg.Game = game
	cfg.Players = 20
	cfg.Duration = 3 * time.Second
	cfg.PingEvery = 200 * time.Millisecond
	cfg.Seed = 1
	return cfg
}

// TestCrosswordLettersReachEveryPlayer runs 20 bots typing fast into crosswords that change
// every half second: every letter placed in the measured phase must reach every bot.
func TestCrosswordLettersReachEveryPlayer(t *testing.T) {
	url := startServer(t, func(e *engine.Engine) error {
		return crossword.RegisterOptions(e, crossword.Options{Pause: 5})
	})
	cfg := testConfig(url+"/play", "crossword")
	cfg.TypeEvery = 300 * time.Millisecond
	var out, progress bytes.Buffer
	res, err := run(context.Background(), cfg, &out, &progress)
	if err != nil {
		t.Fatal(err)
	}
	v := parseSummary(t, out.String())
	t.Logf("\n%s%s", progress.String(), out.String())
	if v["players"] != 20 || v["errors"] != 0 || v["snapshots_per_s"] <= 0 || v["bytes_in_per_player_s"] <= 0 {
		t.Errorf("summary %v: want 20 players, no errors, snapshots and bytes", v)
	}
	if v["rtt_p99_ms"] <= 0 || res.rttN == 0 {
		t.Errorf("no RTT measured: %v", v)
	}
	l := res.letters
	if l == nil || l.placed == 0 {
		t.Fatalf("no letters placed: %+v", l)
	}
	if l.complete != l.placed || l.missing != 0 {
		t.Errorf("letters: %d placed, %d reached every player, %d deliveries missing", l.placed, l.complete, l.missing)
	}
	if l.p99 <= 0 || l.max < l.p99 {
		t.Errorf("propagation p99 %.2f ms, max %.2f ms", l.p99, l.max)
	}
	if !strings.Contains(progress.String(), "connected=20/20") {
		t.Errorf("progress never showed every bot connected:\n%s", progress.String())
	}
}

// TestShooterBotsFight runs 20 bots in the shooter: they fill rooms of 8 and shoot.
func TestShooterBotsFight(t *testing.T) {
	url := startServer(t, shooter.Register)
	cfg := testConfig(url, "shooter")
	// One join at a time: concurrent quick plays can pick the same last seat, and the
	// engine then refuses the later ones with "room full" (see README.md).
	cfg.Concurrency = 1
	var out, progress bytes.Buffer
	res, err := run(context.Background(), cfg, &out, &progress)
	if err != nil {
		t.Fatal(err)
	}
	v := parseSummary(t, out.String())
	t.Logf("\n%s", out.String())
	if v["players"] != 20 || v["errors"] != 0 || v["snapshots_per_s"] <= 0 {
		t.Errorf("summary %v: want 20 players, no errors, snapshots", v)
	}
	f := res.fight
	if f == nil || f.rooms != 3 {
		t.Fatalf("fight %+v: want 20 bots in 3 rooms by quick play", f)
	}
	if f.shots == 0 || res.inputsPerS < 20*20 {
		t.Errorf("bots did not play: %d shots, %.0f inputs/s", f.shots, res.inputsPerS)
	}
}

// TestFailedJoinsAreErrors runs bots against a server without the game: every join is
// refused and counted.
func TestFailedJoinsAreErrors(t *testing.T) {
	url := startServer(t, shooter.Register)
	cfg := testConfig(url, "crossword")
	cfg.Players = 5
	cfg.Duration = 100 * time.Millisecond
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	v := parseSummary(t, out.String())
	if v["errors"] != 5 || res.joinErrors != 5 || res.seated != 0 {
		t.Errorf("errors %v, join errors %d, seated %d: want 5 refused joins\n%s", v["errors"], res.joinErrors, res.seated, out.String())
	}
	if !strings.Contains(out.String(), "join refused") {
		t.Errorf("the report does not say why the joins failed:\n%s", out.String())
	}
}

// TestWarmupPlaysBeforeTheWindow: with -warmup the bots play the warm-up inside the measure
// phase, as its progress lines say, and the report covers only the -duration after it.
func TestWarmupPlaysBeforeTheWindow(t *testing.T) {
	url := startServer(t, shooter.Register)
	cfg := testConfig(url, "shooter")
	cfg.Players, cfg.Concurrency = 8, 1
	cfg.Warmup, cfg.Duration = 2500*time.Millisecond, time.Second
	var out, progress bytes.Buffer
	start := time.Now()
	if _, err := run(context.Background(), cfg, &out, &progress); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	v := parseSummary(t, out.String())
	if v["duration_s"] != 1 || v["errors"] != 0 || v["players"] != 8 {
		t.Errorf("summary %v: want the 1 s window, 8 players, no errors", v)
	}
	if v["snapshots_per_s"] < 8*25 { // 30 a second per bot over the window, not spread over 3.5 s
		t.Errorf("%.1f snapshots/s for 8 bots, want about 240", v["snapshots_per_s"])
	}
	if n := strings.Count(progress.String(), " measure connected="); n < 3 || took < cfg.Warmup+cfg.Duration {
		t.Errorf("%d progress lines said measure in a run of %v, want the warm-up's and the window's (3 or more, 3.5 s or more)\n%s", n, took, progress.String())
	}
}
