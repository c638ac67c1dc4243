// Command loadgen is Rallypoint's load generator: it starts N bot players against a running
// gameserver, each joining by quick play over its own WebSocket connection as a browser
// does, and playing the crossword (moving the cursor, typing letters) or the shooter
// (running, aiming, firing). It prints progress once a second on stderr and, at the end, a
// table and one summary line on stdout, the last line:
//
//	players=N duration_s=D rtt_p50_ms=X rtt_p99_ms=Y snapshots_per_s=Z bytes_in_per_player_s=B errors=E
//
// Usage:
//
//	go run ./cmd/loadgen -url ws://127.0.0.1:8080 -game crossword -players 1000 -duration 20s
//	go run ./cmd/loadgen -url ws://127.0.0.1:8080 -game shooter -players 4000 -duration 60s
//	go run ./cmd/loadgen -url ws://127.0.0.1:8080 -game shooter -players 8 -net-delay 50ms -net-jitter 20ms
//
// The -net-* flags put a simulated network path (net/netsim) between the bots and the
// server. -chaos-every makes the bots stall, drop and resume, and pause at random
// (chaos.go). -rejoin makes a bot whose node dies or drains come back as the browser SDK
// does, for a cluster under load with a node killed (rejoin.go, bench/cluster/run.sh).
//
// README.md in this folder describes every flag and number. The exit status is 1 when the
// run counted errors, 2 for bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/rallypoint/rallypoint/net/netsim"
)

func main() {
	cfg := defaults
	flag.StringVar(&cfg.URL, "url", cfg.URL, "the gameserver: ws://HOST:PORT (the game endpoint /play is added) or the full endpoint URL")
	flag.StringVar(&cfg.Game, "game", cfg.Game, "crossword or shooter")
	flag.IntVar(&cfg.Players, "players", cfg.Players, "bot players to start")
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long to measure, once every bot has tried to join (and after -warmup)")
	flag.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "play this long before measuring; the progress lines already say measure (as bench/colyseus's driver.mjs -warmup), the report covers the -duration after it")
	flag.Float64Var(&cfg.Ramp, "ramp", cfg.Ramp, "connections started per second")
	flag.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "handshakes and joins in flight at most")
	flag.DurationVar(&cfg.JoinTimeout, "join-timeout", cfg.JoinTimeout, "time for one bot to connect and be seated")
	flag.StringVar(&cfg.NamePrefix, "name-prefix", cfg.NamePrefix, "bots are named PREFIX-1, PREFIX-2, ...")
	flag.StringVar(&cfg.Origin, "origin", cfg.Origin, `Origin header: "auto" sends the server's own page origin, as a browser on it would; "" sends none`)
	flag.BoolVar(&cfg.Compress, "compress", cfg.Compress, "offer permessage-deflate, as browsers do")
	flag.BoolVar(&cfg.Mirror, "mirror", cfg.Mirror, "apply every snapshot to a full state.Mirror as the browser SDK does; false keeps only what the bots play with, for the largest runs")
	flag.IntVar(&cfg.MirrorRing, "mirror-ring", cfg.MirrorRing, "snapshot states each bot's mirror keeps (memory: one state each); 0: a second of snapshots and two more")
	flag.DurationVar(&cfg.AckEvery, "ack-every", cfg.AckEvery, "a bot whose inputs carry no acknowledgements (the crossword's) acknowledges the latest snapshot at most this often, as the crossword page's ackDelay does; 0 acknowledges every snapshot")
	flag.DurationVar(&cfg.PingEvery, "ping-every", cfg.PingEvery, "each bot pings this often (the browser SDK's default), to measure RTT")
	flag.Float64Var(&cfg.InputHz, "input-hz", cfg.InputHz, "shooter: inputs per second per bot; a browser sends one per 1/60 s step")
	flag.IntVar(&cfg.InputBatch, "input-batch", cfg.InputBatch, "shooter: inputs per message: each bot holds its inputs until it has this many and sends them as one [10, ...], as the SDK does with inputRate = input-hz / input-batch (1: each at once)")
	flag.DurationVar(&cfg.TypeEvery, "type-every", cfg.TypeEvery, "crossword: mean time between a bot's actions (a letter or a cursor move), jittered by ±50%")
	flag.Uint64Var(&cfg.Seed, "seed", 0, "seed of the bots' random choices; 0 picks one")
	flag.StringVar(&cfg.MetricsURL, "metrics-url", "", "the server's Prometheus endpoint (http://HOST:PORT/metrics): report its tick lateness over the measured phase")
	flag.DurationVar(&cfg.NetDelay, "net-delay", 0, "bots connect through a simulated network path (net/netsim) with this one-way delay each direction: 50ms is a round trip of about 100ms")
	flag.DurationVar(&cfg.NetJitter, "net-jitter", 0, "simulated path: one-way jitter each direction, uniform (delay ± jitter)")
	flag.Float64Var(&cfg.NetLoss, "net-loss", 0, "simulated path: probability in [0, 1] that a chunk is lost and retransmitted (it, and what follows, arrive 200ms + 2×delay late)")
	flag.Func("net-bandwidth", "simulated path: bandwidth each direction, unlimited, 256kbit, 1mbit, 10kB, 1MB or bytes/s (default unlimited)", func(s string) (err error) {
		cfg.NetBandwidth, err = netsim.ParseBandwidth(s)
		return err
	})
	flag.DurationVar(&cfg.ChaosEvery, "chaos-every", 0, "chaos: each bot, at random times this far apart on average, stalls its reads (1-8 s), drops its connection and resumes its seat (after 0.5-5 s) or pauses its play (1-5 s); 0 is off")
	flag.Func("chaos-weights", "chaos: the odds of a stall, a drop and a pause (default 2,2,1)", func(s string) (err error) {
		cfg.ChaosWeights, err = parseChaosWeights(s)
		return err
	})
	flag.BoolVar(&cfg.Rejoin, "rejoin", false, "a bot whose connection ends without our asking (EOF, reset, close 1001/1006/1012: a node died or drained) or whose node drains (0x1C) comes back as the browser SDK does: resumes its seat (through the entry -url after two failed attempts at its node), joins afresh by quick play through -url when the seat is gone, or takes the seat it was moved to; such ends are then not errors, and the summary counts affected, resumed, rejoined, moved and lost bots and the time each took to play again")
	flag.DurationVar(&cfg.RejoinWithin, "rejoin-within", cfg.RejoinWithin, "with -rejoin: a bot not playing again (its first snapshot) this long after its loss is lost, an error")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the load generator to this file")
	memprofile := flag.String("memprofile", "", "write an allocation profile of the load generator to this file at the end")
	flag.Parse()
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		cfg.ProgressTTY = true
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}

	// Ctrl-C ends the run early; the report covers what was measured.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, os.Stdout, os.Stderr)
	if err == nil && *memprofile != "" {
		err = writeHeapProfile(*memprofile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		stop()
		os.Exit(2)
	}
	if res.errors() > 0 {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// writeHeapProfile writes the allocation profile (go tool pprof -sample_index=alloc_space).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
