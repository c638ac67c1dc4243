package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/examples/shooter"
)

// TestShooterBotsBatchTheirInputs runs shooter bots with -input-batch against the engine:
// they send one message for every N inputs ([10, ...], as the SDK's inputRate does), the
// engine takes every batch as well formed and applies the inputs (its acknowledgements keep
// up), and nothing else changes.
func TestShooterBotsBatchTheirInputs(t *testing.T) {
	for _, batch := range []int{2, 4} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			var e *engine.Engine
			url := startServer(t, func(eng *engine.Engine) error { e = eng; return shooter.Register(eng) })
			cfg := testConfig(url, "shooter")
			cfg.Players = 8
			cfg.Duration = 2 * time.Second
			cfg.Concurrency = 1
			cfg.InputBatch = batch
			var out strings.Builder
			res, err := run(context.Background(), cfg, &out, &strings.Builder{})
			if err != nil {
				t.Fatal(err)
			}
			if v := parseSummary(t, out.String()); v["errors"] != 0 {
				t.Fatalf("errors: %v\n%s", v, out.String())
			}
			if n := e.Metrics().Malformed.Load(); n != 0 {
				t.Fatalf("the engine refused %d messages as malformed", n)
			}
			// Messages: a batch per N inputs, plus the pings and the ticks acknowledged alone
			// while a batch filled (at most one a snapshot).
			perInput := res.messagesOutPerS / res.inputsPerS
			if res.inputsPerS < 30*float64(cfg.Players) /* 60 a second when the machine keeps up */ || perInput > 1/float64(batch)+0.3 {
				t.Fatalf("%.0f messages/s for %.0f inputs/s with batches of %d", res.messagesOutPerS, res.inputsPerS, batch)
			}
		})
	}
}

func TestInputBatchFlagBounds(t *testing.T) {
	for _, tc := range []struct {
		batch int
		ok    bool
	}{{0, false}, {1, true}, {8, true}, {9, false}} {
		cfg := defaults
		cfg.URL, cfg.Game, cfg.InputBatch = "ws://127.0.0.1:1/play", "shooter", tc.batch
		if err := cfg.normalize(); (err == nil) != tc.ok {
			t.Errorf("-input-batch %d: %v", tc.batch, err)
		}
	}
}
