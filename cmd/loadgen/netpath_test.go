package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/examples/shooter"
)

func TestServerAddr(t *testing.T) {
	tests := map[string]string{
		"ws://127.0.0.1:8080/play":   "127.0.0.1:8080",
		"ws://example.test/play":     "example.test:80",
		"wss://example.test/play":    "example.test:443",
		"wss://example.test:8443/p":  "example.test:8443",
		"ws://[::1]:9000/games/play": "[::1]:9000",
	}
	for in, want := range tests {
		if got, err := serverAddr(in); err != nil || got != want {
			t.Errorf("serverAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestNetProfileOnlyWhenAsked(t *testing.T) {
	cfg := defaults
	if _, ok := cfg.netProfile(); ok {
		t.Error("a path without any -net-* flag")
	}
	for name, set := range map[string]func(c *config){
		"delay":     func(c *config) { c.NetDelay = time.Millisecond },
		"jitter":    func(c *config) { c.NetJitter = time.Millisecond },
		"loss":      func(c *config) { c.NetLoss = 0.01 },
		"bandwidth": func(c *config) { c.NetBandwidth = 1000 },
	} {
		cfg := defaults
		set(&cfg)
		if p, ok := cfg.netProfile(); !ok || p.Up != p.Down {
			t.Errorf("-net-%s: profile %+v, %v; want the same path both ways", name, p, ok)
		}
	}
}

// TestShooterThroughSimulatedPath runs 8 shooter bots through a 2×(25 ± 5) ms path: they
// play without errors, and every round trip they measure crosses the path twice.
func TestShooterThroughSimulatedPath(t *testing.T) {
	url := startServer(t, shooter.Register)
	cfg := testConfig(url, "shooter")
	cfg.Players = 8
	cfg.Concurrency = 1
	cfg.Duration = 2 * time.Second
	cfg.NetDelay = 25 * time.Millisecond
	cfg.NetJitter = 5 * time.Millisecond
	var out, progress bytes.Buffer
	res, err := run(context.Background(), cfg, &out, &progress)
	if err != nil {
		t.Fatal(err)
	}
	v := parseSummary(t, out.String())
	t.Logf("\n%s%s", progress.String(), out.String())
	if !strings.Contains(progress.String(), "loadgen: bots connect through netsim 127.0.0.1:") {
		t.Errorf("progress does not say the bots go through the simulated path:\n%s", progress.String())
	}
	if v["players"] != 8 || v["errors"] != 0 || v["snapshots_per_s"] <= 0 || res.rttN == 0 {
		t.Errorf("summary %v: want 8 players, no errors, snapshots and round trips", v)
	}
	// Each direction takes at least 20 ms; the histogram's error is under 1%.
	if v["rtt_p50_ms"] < 0.99*40 {
		t.Errorf("rtt p50 %.2f ms through a path of at least 2×20 ms", v["rtt_p50_ms"])
	}
	if v["rtt_p50_ms"] > 1000 {
		t.Errorf("rtt p50 %.2f ms through a 2×(25 ± 5) ms path", v["rtt_p50_ms"])
	}
}
