// Command netsim runs a network simulator in front of a server: a TCP proxy that adds delay,
// jitter, loss, a bandwidth limit and blackouts to every connection it forwards, for trying a
// game over a bad network (café Wi-Fi, a phone on a train) on a machine without netem.
//
// Usage:
//
//	go run ./cmd/netsim -listen 127.0.0.1:8081 -target 127.0.0.1:8080 -delay 50ms -jitter 20ms \
//	    [-dist uniform|normal] [-loss 0.01] [-retransmit 300ms] [-bandwidth 1mbit] [-seed N]
//
// Delay and jitter are one way, each direction: -delay 50ms -jitter 20ms is a round trip of
// about 100 ± 40 ms. It prints one line saying what it does, then reads commands on stdin,
// one a line, and answers each with one line: blackout 5s (silent), reset 5s, heal, delay
// 100ms, jitter 40ms, dist normal, loss 0.02, bandwidth 256kbit, stats, help.
//
// It stops on SIGINT or SIGTERM. The end of stdin does not stop it, so that it can run in
// the background (go run ./cmd/netsim ... </dev/null &). README.md in this folder says
// what is and is not simulated.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "netsim:", err)
		stop()
		os.Exit(1)
	}
}
