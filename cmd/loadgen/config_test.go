package main

import (
	"math"
	"testing"
	"time"
)

func TestNormalizeURL(t *testing.T) {
	tests := []struct {
		url, origin         string
		wantURL, wantOrigin string
	}{
		{"ws://127.0.0.1:8080", "auto", "ws://127.0.0.1:8080/play", "http://127.0.0.1:8080"},
		{"ws://127.0.0.1:8080/", "auto", "ws://127.0.0.1:8080/play", "http://127.0.0.1:8080"},
		{"ws://127.0.0.1:8080/play", "auto", "ws://127.0.0.1:8080/play", "http://127.0.0.1:8080"},
		{"http://localhost:9000", "", "ws://localhost:9000/play", ""},
		{"wss://example.test/games/play", "auto", "wss://example.test/games/play", "https://example.test"},
		{"ws://h:1", "https://other.test", "ws://h:1/play", "https://other.test"},
	}
	for _, tt := range tests {
		cfg := defaults
		cfg.URL, cfg.Origin = tt.url, tt.origin
		if err := cfg.normalize(); err != nil {
			t.Errorf("%s: %v", tt.url, err)
			continue
		}
		if cfg.URL != tt.wantURL || cfg.Origin != tt.wantOrigin {
			t.Errorf("%s, %q: got %s, %q; want %s, %q", tt.url, tt.origin, cfg.URL, cfg.Origin, tt.wantURL, tt.wantOrigin)
		}
	}
}

func TestNormalizeRejectsBadConfigs(t *testing.T) {
	tests := map[string]func(c *config){
		"ftp URL":         func(c *config) { c.URL = "ftp://h/" },
		"no host":         func(c *config) { c.URL = "ws:///play" },
		"unknown game":    func(c *config) { c.Game = "chess" },
		"no players":      func(c *config) { c.Players = 0 },
		"no duration":     func(c *config) { c.Duration = 0 },
		"no ramp":         func(c *config) { c.Ramp = 0 },
		"no concurrency":  func(c *config) { c.Concurrency = 0 },
		"tiny mirror":     func(c *config) { c.MirrorRing = 1 },
		"negative mirror": func(c *config) { c.MirrorRing = -1 },
		"input rate zero": func(c *config) { c.InputHz = 0 },
		"no typing":       func(c *config) { c.TypeEvery = 0 },
		"no pings":        func(c *config) { c.PingEvery = 0 },
		"negative delay":  func(c *config) { c.NetDelay = -time.Millisecond },
		"negative jitter": func(c *config) { c.NetJitter = -time.Millisecond },
		"loss above one":  func(c *config) { c.NetLoss = 1.5 },
		"negative loss":   func(c *config) { c.NetLoss = -0.1 },
		"NaN loss":        func(c *config) { c.NetLoss = math.NaN() },
		"negative rate":   func(c *config) { c.NetBandwidth = -1 },
	}
	for name, change := range tests {
		cfg := defaults
		change(&cfg)
		if err := cfg.normalize(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMirrorRingCoversTheAckWindow(t *testing.T) {
	for _, tc := range []struct{ flag, rate, want int }{
		{0, 20, 22}, // a second of snapshots and two more
		{0, 30, 32}, // the shooter
		{0, 10, 16}, // the crossword: at least 16, for a second baseline
		{5, 30, 5},  // as asked
	} {
		if got := mirrorRing(tc.flag, tc.rate); got != tc.want {
			t.Errorf("mirrorRing(%d, %d) = %d, want %d", tc.flag, tc.rate, got, tc.want)
		}
	}
}
