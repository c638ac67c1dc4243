package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/protocol"
)

// A run has four phases: the ramp starts the bots at cfg.Ramp a second; the measured phase
// lasts cfg.Warmup + cfg.Duration; the settle phase lets what was sent arrive (the
// crossword's bots stop typing, so that every letter of the measured phase can reach every
// player); then every bot leaves and closes. Rates and latencies are those of the measured
// phase's last cfg.Duration (the window: inWindow); errors are counted over the whole run.
// The warm-up is in the measured phase, not the ramp, for the progress lines: bench/capacity
// times its samples by them, from the first line that says measure, for loadgen and for
// bench/colyseus's driver.mjs alike.
const (
	phaseRamp int32 = iota
	phaseMeasure
	phaseSettle
	phaseDone
)

// runner is one load test.
type runner struct {
	cfg  config
	game gameDriver
	t0   time.Time

	bots    []*bot       // cfg.Players slots, filled in order by the ramp
	started atomic.Int64 // bots[:started] are set; a bot that failed to join has up == false
	sched   *scheduler

	// netDial, when set, dials the simulated network path instead of the server (netpath.go).
	netDial func(ctx context.Context, network, addr string) (net.Conn, error)

	wsm        ws.Metrics // every bot's connection counts into it
	rtt        hist       // µs, pongs received in the measured phase
	errs       errorLog
	joinErrors atomic.Int64
	closes     atomic.Int64 // connections that ended (or left the room) without our asking

	chaos   chaosStats     // chaos.go
	chaosWG sync.WaitGroup // the resumes under way
	rejoin  rejoinStats    // rejoin.go

	// endNodes is where the bots play at the end (nodes), taken before they leave.
	endRedirects int64
	endNodes     map[string]int

	phase                    atomic.Int32
	measureStart, measureEnd atomic.Int64 // mono times
}

// gameDriver is what differs between the games: the bots' behavior and the game's part of
// the report.
type gameDriver interface {
	name() string
	// period is the scheduler's step: how often each bot's step runs.
	period() time.Duration
	newBehavior(b *bot) behavior
	// settle is how long the settle phase lasts.
	settle() time.Duration
	// sweep runs once a second, to bound the memory of what the driver tracks.
	sweep(now int64)
	// report adds the game's rows and its errors to the result.
	report(res *result)
}

// startedBots returns the bots the ramp has created so far.
func (r *runner) startedBots() []*bot { return r.bots[:r.started.Load()] }

// mono is the time since the run started, in ns, from the monotonic clock.
func (r *runner) mono() int64 { return int64(time.Since(r.t0)) }

// inWindow reports whether t lies in the measured phase (so far).
func (r *runner) inWindow(t int64) bool {
	start := r.measureStart.Load()
	if start == 0 || t < start {
		return false
	}
	end := r.measureEnd.Load()
	return end == 0 || t <= end
}

// recordRTT records one round trip measured by a pong, if it came in the window.
func (r *runner) recordRTT(d int64) {
	if r.inWindow(r.mono()) {
		r.rtt.Record(d / 1e3)
	}
}

// meta is the join meta of bot i: {"name": "prefix-i"}, as the pages send a typed name.
func (r *runner) meta(i int) msgpack.RawMessage {
	b := protocol.AppendMap(nil, 1)
	b = protocol.AppendStr(b, "name")
	return protocol.AppendStr(b, fmt.Sprintf("%s-%d", r.cfg.NamePrefix, i+1))
}

// run performs one load test and writes the report to out: the table, then the summary
// line, last. Progress goes to progress once a second. Cancelling ctx ends the ramp or the
// measured phase early; the report covers what was measured.
func run(ctx context.Context, cfg config, out, progress io.Writer) (*result, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	r := &runner{cfg: cfg, t0: time.Now(), bots: make([]*bot, cfg.Players)}
	switch cfg.Game {
	case "crossword":
		d, err := newCrosswordDriver(r)
		if err != nil {
			return nil, err
		}
		r.game = d
	case "shooter":
		r.game = newShooterDriver(r)
	}
	px, err := r.startNetPath(progress)
	if err != nil {
		return nil, err
	}
	if px != nil {
		defer func() {
			px.Close()
			fmt.Fprintf(progress, "loadgen: netsim %v\n", px.Stats())
		}()
	}
	r.sched = newScheduler(min(cfg.Players, 4*runtime.GOMAXPROCS(0)), r.game.period(), r.mono)
	defer r.sched.stop()

	rep := newReporter(r, progress)
	rep.start()
	var scrape *scraper
	if cfg.MetricsURL != "" {
		scrape = &scraper{url: cfg.MetricsURL}
	}

	if cfg.Rejoin {
		r.startRejoins()
		defer r.stopRejoins() // an early return: no episode outlives the run
	}
	r.ramp(ctx)

	r.phase.Store(phaseMeasure)
	if cfg.Warmup > 0 {
		select {
		case <-time.After(cfg.Warmup):
		case <-ctx.Done():
		}
	}
	r.measureStart.Store(r.mono())
	startSnap := rep.snapshot()
	scrape.begin(ctx)
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
	}
	r.measureEnd.Store(r.mono())
	endSnap := rep.snapshot()
	r.phase.Store(phaseSettle)
	scrape.end(ctx)
	r.awaitChaos(ctx)   // stalled bots read again, dropped ones resume: then the usual settle
	r.awaitRejoins(ctx) // bots whose node died or drained are back, or lost

	select {
	case <-time.After(r.game.settle()):
	case <-ctx.Done():
	}
	r.phase.Store(phaseDone)
	r.sched.stop()
	r.chaosWG.Wait() // no resume is under way when the bots shut down
	r.stopRejoins()  // nor a rejoin: those still away are lost
	rep.stop()
	// Where each bot plays, before it leaves: the node of its latest join.
	r.endRedirects, r.endNodes = r.nodes()
	r.shutdown()

	res := r.result(startSnap, endSnap, scrape)
	r.game.report(res)
	res.write(out)
	return res, nil
}

// ramp starts the bots at cfg.Ramp a second, with at most cfg.Concurrency dialing or
// joining at once, and returns when each has joined or failed.
func (r *runner) ramp(ctx context.Context) {
	cfg := &r.cfg
	interval := time.Duration(float64(time.Second) / cfg.Ramp)
	sem := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	next := time.Now()
	for i := range cfg.Players {
		if d := time.Until(next); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		next = next.Add(interval)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		b := &bot{r: r, idx: i, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)))}
		r.bots[i] = b
		r.started.Store(int64(i + 1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := b.start(ctx); err != nil {
				r.joinErrors.Add(1)
				r.errs.add("join", err)
				return
			}
			r.sched.add(b)
		}()
	}
	wg.Wait()
}

// shutdown makes every seated bot leave and close, a few hundred at a time.
func (r *runner) shutdown() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, b := range r.startedBots() {
		if b.c == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			b.shutdown()
		}()
	}
	wg.Wait()
}

// errorLog keeps the first few messages of each category of error (join, close,
// protocol) for the report; the counts are the runner's and the bots'.
type errorLog struct {
	mu    sync.Mutex
	kept  map[string]int
	first []string
}

const keepErrors = 3 // per category

func (l *errorLog) add(category string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kept == nil {
		l.kept = map[string]int{}
	}
	if l.kept[category] < keepErrors {
		l.kept[category]++
		l.first = append(l.first, category+": "+err.Error())
	}
}

func (l *errorLog) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.first...)
}
