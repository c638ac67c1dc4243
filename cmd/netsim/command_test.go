package main

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/net/netsim"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want command
	}{
		{"", command{op: opNone}},
		{"   ", command{op: opNone}},
		{"blackout 5s", command{op: opBlackout, dur: 5 * time.Second}},
		{"  BLACKOUT   1m30s  ", command{op: opBlackout, dur: 90 * time.Second}},
		{"reset 500ms", command{op: opReset, dur: 500 * time.Millisecond}},
		{"heal", command{op: opHeal}},
		{"delay 100ms", command{op: opDelay, dur: 100 * time.Millisecond}},
		{"delay 0", command{op: opDelay}},
		{"jitter 40ms", command{op: opJitter, dur: 40 * time.Millisecond}},
		{"dist normal", command{op: opDist, dist: netsim.Normal}},
		{"dist Uniform", command{op: opDist, dist: netsim.Uniform}},
		{"loss 0.02", command{op: opLoss, loss: 0.02}},
		{"loss 2%", command{op: opLoss, loss: 0.02}},
		{"loss 0", command{op: opLoss}},
		{"loss 1", command{op: opLoss, loss: 1}},
		{"loss 100%", command{op: opLoss, loss: 1}},
		{"bandwidth 256kbit", command{op: opBandwidth, bw: 32000}},
		{"bandwidth 1mbit", command{op: opBandwidth, bw: 125000}},
		{"bandwidth 10kB", command{op: opBandwidth, bw: 10000}},
		{"bandwidth 1MB", command{op: opBandwidth, bw: 1000000}},
		{"bandwidth 5000", command{op: opBandwidth, bw: 5000}},
		{"bandwidth unlimited", command{op: opBandwidth}},
		{"stats", command{op: opStats}},
		{"help", command{op: opHelp}},
	}
	for _, tt := range tests {
		got, err := parseCommand(tt.line)
		if err != nil || got != tt.want {
			t.Errorf("parseCommand(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
}

func TestParseCommandRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want error
	}{
		{"blackout", errArgumentCount},
		{"blackout 5s 6s", errArgumentCount},
		{"heal now", errArgumentCount},
		{"stats please", errArgumentCount},
		{"blackout 0s", errBadDuration},
		{"blackout -1s", errBadDuration},
		{"reset 5", errBadDuration},
		{"delay -5ms", errBadDuration},
		{"delay fast", errBadDuration},
		{"jitter 1e3", errBadDuration},
		{"dist pareto", errBadDist},
		{"loss 1.5", errBadLoss},
		{"loss 101%", errBadLoss},
		{"loss -0.1", errBadLoss},
		{"loss NaN", errBadLoss},
		{"loss inf", errBadLoss},
		{"loss 1e-2", errBadLoss},
		{"loss .5", errBadLoss},
		{"loss %", errBadLoss},
		{"bandwidth 10kb", netsim.ErrBadBandwidth},
		{"bandwidth fast", netsim.ErrBadBandwidth},
		{"bandwidth -1", netsim.ErrBadBandwidth},
		{"blackout5s", errUnknownCommand},
		{"quit", errUnknownCommand},
	}
	for _, tt := range tests {
		if got, err := parseCommand(tt.line); !errors.Is(err, tt.want) {
			t.Errorf("parseCommand(%q) = %+v, %v; want %v", tt.line, got, err, tt.want)
		}
	}
}

// FuzzParseCommand: no line panics; an error is one of the parser's; an accepted command
// carries values in range.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"", "blackout 5s", "reset 500ms", "heal", "delay 100ms", "jitter 40ms", "dist normal",
		"loss 0.02", "loss 2%", "bandwidth 256kbit", "bandwidth unlimited", "stats", "help",
		"loss 1.5", "blackout -1s", "bandwidth 10kb", "quit", "DELAY\t1h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := parseCommand(line)
		if err != nil {
			for _, known := range []error{errUnknownCommand, errArgumentCount, errBadDuration, errBadLoss, errBadDist, netsim.ErrBadBandwidth} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("parseCommand(%q): unexpected error %v", line, err)
		}
		switch {
		case c.dur < 0, c.loss < 0, c.loss > 1, c.bw < 0:
			t.Fatalf("parseCommand(%q) = %+v: out of range", line, c)
		case (c.op == opBlackout || c.op == opReset) && c.dur <= 0:
			t.Fatalf("parseCommand(%q) = %+v: a blackout must last", line, c)
		}
	})
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	cfg, err := parseFlags([]string{"-listen", "127.0.0.1:9", "-target", "h:1", "-delay", "50ms", "-jitter", "20ms",
		"-dist", "normal", "-loss", "1%", "-bandwidth", "1mbit", "-seed", "5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := netsim.Link{Delay: 50 * time.Millisecond, Jitter: 20 * time.Millisecond, Dist: netsim.Normal, Loss: 0.01, Bandwidth: 125000}
	if cfg.listen != "127.0.0.1:9" || cfg.target != "h:1" || cfg.profile.Up != want || cfg.profile.Down != want || cfg.profile.Seed != 5 {
		t.Errorf("parsed %+v", cfg)
	}
	for _, bad := range [][]string{
		{"-bandwidth", "10kb"}, {"-dist", "pareto"}, {"-loss", "2"}, {"-delay", "soon"}, {"extra"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}
