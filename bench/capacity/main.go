// Command capacity finds how many players one core serves: the most shooter players that
// Rallypoint's gameserver and the Colyseus port of the shooter each keep at >= 29.5
// updates a second per player with p99 tick lateness under 5 ms, with the server pinned to
// one core and the bots to the other, and the most crossword players Rallypoint keeps in
// one room with every letter at every player within 250 ms (p99). run.sh builds the
// programs and runs it; README.md says what each figure means.
//
// Its last line is
//
//	rallypoint_players_per_core=N colyseus_players_per_core=M ratio=R
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	var e env
	flag.StringVar(&e.gameserver, "gameserver", "", "cmd/gameserver binary")
	flag.StringVar(&e.loadgen, "loadgen", "", "cmd/loadgen binary")
	flag.StringVar(&e.colyseusDir, "colyseus", "", "bench/colyseus, with its node_modules")
	flag.StringVar(&e.work, "work", os.TempDir(), "directory for the servers' and tools' logs")
	flag.IntVar(&e.serverCore, "server-core", 0, "the core the server is pinned to (taskset -c)")
	flag.IntVar(&e.botCore, "bot-core", 1, "the core the load tool is pinned to")
	flag.IntVar(&e.warmup, "warmup", 5, "seconds of play after the last join before the window")
	flag.IntVar(&e.duration, "duration", 20, "seconds in the measured window")
	flag.Float64Var(&e.clkTck, "clk-tck", 100, "clock ticks a second of /proc (getconf CLK_TCK)")
	flag.IntVar(&e.concurrency, "concurrency", 256, "joins in flight at most, both tools")
	flag.Float64Var(&e.toolLimitPct, "tool-limit", 90, "a step whose load tool used more than this % of its core is inconclusive")
	start := flag.Int("start", 100, "shooter: players of the first step")
	limit := flag.Int("max", 0, "shooter: most players to try (0: no cap)")
	cwStart := flag.Int("crossword-start", 100, "crossword: players of the first step")
	cwLimit := flag.Int("crossword-max", 0, "crossword: most players to try (0: no cap)")
	only := flag.String("servers", "rallypoint,colyseus,crossword", "which searches to run, comma-separated")
	flag.Parse()
	if e.warmup < 1 || e.duration < 2 || *start < 1 || *cwStart < 1 {
		fmt.Fprintln(os.Stderr, "capacity: -warmup must be at least 1, -duration at least 2, -start and -crossword-start at least 1")
		os.Exit(2)
	}
	if e.gameserver == "" || e.loadgen == "" || e.colyseusDir == "" {
		fmt.Fprintln(os.Stderr, "capacity: -gameserver, -loadgen and -colyseus are required (run.sh sets them)")
		os.Exit(2)
	}
	want := map[server]bool{}
	for _, s := range strings.Split(*only, ",") {
		switch server(strings.TrimSpace(s)) {
		case rallypoint, colyseus:
			want[server(strings.TrimSpace(s))] = true
		case "crossword", crossword:
			want[crossword] = true
		default:
			fmt.Fprintf(os.Stderr, "capacity: unknown server %q in -servers\n", s)
			os.Exit(2)
		}
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	var steps []stepResult
	var sp speeds
	run := func(who server, s *search) bool {
		n := s.next()
		if n == 0 || ctx.Err() != nil {
			return false
		}
		for attempt := 1; ; attempt++ {
			fmt.Fprintf(os.Stderr, "capacity: %s: %d players...\n", who, n)
			before := probeCores(e.serverCore, e.botCore)
			r := e.runStep(ctx, who, n)
			after := probeCores(e.serverCore, e.botCore)
			r.probe = slower(before, after)
			sp.note(before, after)
			retry := false
			if why, ok := disturbed(r, &sp); ok && attempt == 1 && r.verdict == verdictFail && ctx.Err() == nil {
				retry = true
				r.reason += "; not counted: " + why + ", so the step runs again"
			} else {
				s.record(n, r.verdict)
			}
			steps = append(steps, r)
			fmt.Fprintf(os.Stderr, "capacity: %s %d players: %s avg %.2f upd/s, p99 lateness %s ms, server %.0f%%, bots %.0f%%, other %.0f%%; %s\n",
				who, n, r.verdict, r.avgRate, num(r.p99ms, 2), r.srvPct, r.toolPct, r.otherAll, dash(r.reason))
			if !retry {
				return true
			}
		}
	}

	// The two shooter searches alternate step by step, A B B A A B ..., so that a change in
	// the machine's load falls on both and neither always goes first.
	rp := &search{start: *start, cap: *limit}
	cs := &search{start: *start, cap: *limit}
	for round := 0; ctx.Err() == nil; round++ {
		order := []server{rallypoint, colyseus}
		if round%2 == 1 {
			order = []server{colyseus, rallypoint}
		}
		ran := false
		for _, who := range order {
			s := rp
			if who == colyseus {
				s = cs
			}
			if want[who] && run(who, s) {
				ran = true
			}
		}
		if !ran {
			break
		}
	}
	// The crossword has no Colyseus port: its search runs alone, after.
	cw := &search{start: *cwStart, cap: *cwLimit}
	for want[crossword] && run(crossword, cw) {
	}

	fmt.Println()
	writeTable(os.Stdout, steps, &sp)
	fmt.Println()
	fmt.Printf("figures from a machine whose other load (other%%) and speed around each step (speed%%: a fixed piece of work on each core, against the run's fastest) are in the table; each step: %d s warm-up, %d s window, server on core %d, bots on core %d\n",
		e.warmup, e.duration, e.serverCore, e.botCore)
	if want[rallypoint] {
		fmt.Printf("rallypoint shooter: %s players per core\n", rp.capacity().note())
	}
	if want[colyseus] {
		fmt.Printf("colyseus shooter: %s players per core\n", cs.capacity().note())
	}
	if want[crossword] {
		fmt.Printf("rallypoint crossword (one room): %s players per core\n", cw.capacity().note())
		fmt.Printf("rallypoint_crossword_players_per_core=%s\n", cw.capacity())
	}
	if ctx.Err() != nil {
		fmt.Println("interrupted: the searches did not finish")
	}
	if want[rallypoint] && want[colyseus] {
		fmt.Println(ratioNote(rp.capacity(), cs.capacity()))
	}
	if want[rallypoint] || want[colyseus] { // a crossword-only run has no shooter figures to print as zeros
		fmt.Println(summaryLine(rp.capacity(), cs.capacity()))
	}
}
