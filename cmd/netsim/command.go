package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rallypoint/rallypoint/net/netsim"
)

// The commands read on stdin, one a line:
//
//	line      = [verb [argument]]                   (blank lines are ignored)
//	blackout  DURATION    silent outage: nothing delivered, nothing lost, no error (> 0)
//	reset     DURATION    reset every connection, and new ones while it lasts (> 0)
//	heal                  end a blackout now
//	delay     DURATION    one-way delay, each direction (>= 0)
//	jitter    DURATION    one-way jitter, each direction (>= 0)
//	dist      uniform | normal
//	loss      P           probability in [0, 1], or a percentage "2%"
//	bandwidth RATE        per direction, as netsim.ParseBandwidth reads it: unlimited, 256kbit, 1mbit, 10kB, 1MB, bytes/s when bare
//	stats
//	help
//
// DURATION is Go's (time.ParseDuration): 5s, 150ms, 1m30s. Verbs are case-insensitive.

// op is what a command asks for.
type op int

const (
	opNone op = iota // a blank line
	opBlackout
	opReset
	opHeal
	opDelay
	opJitter
	opDist
	opLoss
	opBandwidth
	opStats
	opHelp
)

// command is one parsed line.
type command struct {
	op   op
	dur  time.Duration       // blackout, reset, delay, jitter
	loss float64             // loss
	bw   int64               // bandwidth, bytes per second; 0 is unlimited
	dist netsim.Distribution // dist
}

// Errors of parseCommand, wrapped with the offending text.
var (
	errUnknownCommand = errors.New("unknown command")
	errArgumentCount  = errors.New("wrong number of arguments")
	errBadDuration    = errors.New("bad duration")
	errBadLoss        = errors.New("bad loss")
	errBadDist        = errors.New("bad distribution")
)

// verbs maps each verb to its op and the argument it takes ("" for none).
var verbs = map[string]struct {
	op  op
	arg string
}{
	"blackout":  {opBlackout, "DURATION"},
	"reset":     {opReset, "DURATION"},
	"heal":      {opHeal, ""},
	"delay":     {opDelay, "DURATION"},
	"jitter":    {opJitter, "DURATION"},
	"dist":      {opDist, "uniform|normal"},
	"loss":      {opLoss, "P"},
	"bandwidth": {opBandwidth, "RATE"},
	"stats":     {opStats, ""},
	"help":      {opHelp, ""},
}

// helpText is the answer to help, on one line.
const helpText = "commands: blackout DURATION (silent) | reset DURATION | heal | delay DURATION | jitter DURATION | dist uniform|normal | loss P (0.02 or 2%) | bandwidth RATE (unlimited, 256kbit, 1mbit, 10kB, 1MB) | stats | help"

// parseCommand parses one line of stdin.
func parseCommand(line string) (command, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return command{op: opNone}, nil
	}
	verb := strings.ToLower(fields[0])
	v, ok := verbs[verb]
	if !ok {
		return command{}, fmt.Errorf("%w %q (try help)", errUnknownCommand, fields[0])
	}
	args := fields[1:]
	want := 0
	if v.arg != "" {
		want = 1
	}
	if len(args) != want {
		if want == 0 {
			return command{}, fmt.Errorf("%w: %s takes none", errArgumentCount, verb)
		}
		return command{}, fmt.Errorf("%w: usage: %s %s", errArgumentCount, verb, v.arg)
	}
	c := command{op: v.op}
	var err error
	switch v.op {
	case opBlackout, opReset:
		c.dur, err = parseDuration(args[0], true)
	case opDelay, opJitter:
		c.dur, err = parseDuration(args[0], false)
	case opDist:
		c.dist, err = parseDist(args[0])
	case opLoss:
		c.loss, err = parseLoss(args[0])
	case opBandwidth:
		c.bw, err = netsim.ParseBandwidth(args[0])
	}
	if err != nil {
		return command{}, err
	}
	return c, nil
}

// parseDuration parses a Go duration that is not negative, and positive if positive is set.
func parseDuration(s string, positive bool) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%w %q: want e.g. 50ms or 5s", errBadDuration, s)
	case d < 0:
		return 0, fmt.Errorf("%w %q: negative", errBadDuration, s)
	case d == 0 && positive:
		return 0, fmt.Errorf("%w %q: must be positive", errBadDuration, s)
	}
	return d, nil
}

// parseDist parses "uniform" or "normal".
func parseDist(s string) (netsim.Distribution, error) {
	for _, d := range []netsim.Distribution{netsim.Uniform, netsim.Normal} {
		if strings.EqualFold(s, d.String()) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%w %q: want uniform or normal", errBadDist, s)
}

// parseLoss parses a probability, "0.02", or a percentage, "2%": digits with at most one
// point, in [0, 1] once a percentage is divided by 100.
func parseLoss(s string) (float64, error) {
	num, pct := strings.CutSuffix(s, "%")
	intPart, frac, dot := strings.Cut(num, ".")
	digits := func(t string) bool { return t != "" && strings.Trim(t, "0123456789") == "" }
	if !digits(intPart) || dot && !digits(frac) {
		return 0, fmt.Errorf("%w %q: want a probability (0.02) or a percentage (2%%)", errBadLoss, s)
	}
	p, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%w %q: %v", errBadLoss, s, err)
	}
	if pct {
		p /= 100
	}
	if p > 1 {
		return 0, fmt.Errorf("%w %q: above 100%%", errBadLoss, s)
	}
	return p, nil
}
