package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rallypoint/rallypoint/internal/promtext"
)

// server names one of the three searches.
type server string

const (
	rallypoint server = "rallypoint"           // cmd/gameserver, shooter, under cmd/loadgen
	colyseus   server = "colyseus"             // bench/colyseus/server.mjs, under driver.mjs
	crossword  server = "rallypoint-crossword" // cmd/gameserver, crossword in one room, under cmd/loadgen
)

// env is what every step needs: the programs, the pinning and the window.
type env struct {
	gameserver, loadgen string // built binaries
	colyseusDir         string // bench/colyseus, with node_modules
	work                string // logs
	serverCore          int    // taskset -c for the server
	botCore             int    // taskset -c for the load tool
	warmup, duration    int    // seconds
	clkTck              float64
	concurrency         int
	toolLimitPct        float64 // bots' CPU above this: inconclusive
}

// sample is the state of the server, the load tool and the machine at one progress line.
type sample struct {
	at     time.Time
	server int64 // CPU ticks
	tool   int64
	self   int64
	cpu    cpuTicks
	m      promtext.Scrape
	mErr   error
}

// progressLine matches both tools' progress lines: loadgen's
// "t=12s measure connected=160/160 snapshots/s=4,800 ..." and driver.mjs's
// "t=12s measure connected=160/160 patches/s=4800 ...".
var progressLine = regexp.MustCompile(`^t=\d+s (\w+) connected=(\d+)/(\d+) (?:snapshots|patches)/s=([\d,]+)`)

// progress is one parsed progress line.
type progress struct {
	phase     string
	connected int
	rate      float64 // updates a second over the last second, all bots together
}

func parseProgress(line string) (progress, bool) {
	m := progressLine.FindStringSubmatch(line)
	if m == nil {
		return progress{}, false
	}
	c, _ := strconv.Atoi(m[2])
	r, _ := strconv.ParseFloat(strings.ReplaceAll(m[4], ",", ""), 64)
	return progress{phase: m[1], connected: c, rate: r}, true
}

// runStep runs one step: a fresh server pinned to the server core, the load tool pinned to
// the bot core, the warm-up, the measured window, and the verdict.
func (e *env) runStep(ctx context.Context, who server, players int) stepResult {
	res := stepResult{server: who, players: players, minRate: math.NaN(), letterP99: math.NaN(), p99ms: math.NaN(), tickHz: math.NaN()}
	fail := func(format string, args ...any) stepResult {
		res.verdict, res.reason = verdictFail, fmt.Sprintf(format, args...)
		return res
	}
	tag := fmt.Sprintf("%s-%d-%d", who, players, time.Now().UnixNano()%1e6)
	port, err := freePort()
	if err != nil {
		return fail("no free port: %v", err)
	}
	mport, err := freePort()
	if err != nil {
		return fail("no free port: %v", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var srvArgs, toolArgs []string
	var metricsURL string
	toolSecs := e.warmup + e.duration + 2 // the window's last progress line must come inside the measure phase
	switch who {
	case rallypoint, crossword:
		srvArgs = []string{e.gameserver, "-addr", addr}
		metricsURL = "http://" + addr + "/metrics"
		game := "shooter"
		if who == crossword {
			game = "crossword"
		}
		// loadgen's report window, as driver.mjs's below, starts with ours, after the
		// warm-up, and runs to the end of its measure phase, up to 2 s past ours.
		toolArgs = []string{e.loadgen, "-url", "ws://" + addr, "-game", game, "-players", strconv.Itoa(players),
			"-warmup", fmt.Sprintf("%ds", e.warmup), "-duration", fmt.Sprintf("%ds", toolSecs-e.warmup),
			"-concurrency", strconv.Itoa(e.concurrency)}
	case colyseus:
		maddr := fmt.Sprintf("127.0.0.1:%d", mport)
		srvArgs = []string{"node", filepath.Join(e.colyseusDir, "server.mjs"), "-addr", addr, "-metrics-addr", maddr}
		metricsURL = "http://" + maddr + "/metrics"
		// The driver's own window (its per-player minimum) starts with ours, after the
		// warm-up, and runs to the end of its measure phase, up to 2 s past ours.
		toolArgs = []string{"node", filepath.Join(e.colyseusDir, "driver.mjs"), "-url", "ws://" + addr,
			"-players", strconv.Itoa(players), "-warmup", fmt.Sprintf("%ds", e.warmup),
			"-duration", fmt.Sprintf("%ds", toolSecs-e.warmup), "-concurrency", strconv.Itoa(e.concurrency)}
	}

	// taskset execs the program, so the pid is the server's (or the tool's) own; a Go
	// program pinned to one core starts with GOMAXPROCS 1 (the runtime reads its affinity).
	logPath := filepath.Join(e.work, tag+"-server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return fail("%v", err)
	}
	defer logf.Close()
	srv := exec.Command("taskset", append([]string{"-c", strconv.Itoa(e.serverCore)}, srvArgs...)...)
	srv.Stdout, srv.Stderr = logf, logf
	if who == colyseus {
		srv.Env = append(os.Environ(), "NODE_ENV=production")
	}
	if err := srv.Start(); err != nil {
		return fail("start server: %v", err)
	}
	defer stop(srv)
	if err := waitPort(addr, srv, 15*time.Second); err != nil {
		return fail("server did not start: %v (log %s)", err, logPath)
	}

	tool := exec.CommandContext(ctx, "taskset", append([]string{"-c", strconv.Itoa(e.botCore)}, toolArgs...)...)
	var stdout bytes.Buffer
	tool.Stdout = &stdout
	stderr, err := tool.StderrPipe()
	if err != nil {
		return fail("%v", err)
	}
	if err := tool.Start(); err != nil {
		return fail("start load tool: %v", err)
	}
	toolLog, _ := os.Create(filepath.Join(e.work, tag+"-tool.err"))
	defer toolLog.Close()

	var a, b *sample
	var rates []float64
	measureLines := 0
	allSeated := true
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(toolLog, line)
		p, ok := parseProgress(line)
		if !ok || p.phase != "measure" {
			continue
		}
		measureLines++
		switch {
		case measureLines == e.warmup:
			a = e.sample(srv.Process.Pid, tool.Process.Pid, metricsURL)
		case measureLines > e.warmup && b == nil:
			rates = append(rates, p.rate)
			if p.connected != players {
				allSeated = false
			}
			if measureLines == e.warmup+e.duration {
				b = e.sample(srv.Process.Pid, tool.Process.Pid, metricsURL)
			}
		}
	}
	waitErr := tool.Wait()
	summary := lastLine(stdout.String())
	os.WriteFile(filepath.Join(e.work, tag+"-tool.out"), stdout.Bytes(), 0o644)
	if a == nil || b == nil {
		return fail("the load tool's measure phase had %d progress lines, need %d (%v; see %s)", measureLines, e.warmup+e.duration, waitErr, e.work)
	}
	return e.judge(res, a, b, rates, allSeated, summary, stdout.String(), waitErr)
}

// sample reads the server, the tool and the machine now. A metrics error is kept, not
// fatal: the verdict says what is missing.
func (e *env) sample(serverPid, toolPid int, url string) *sample {
	s := &sample{at: time.Now()}
	s.server, _ = procTicks(serverPid)
	s.tool, _ = procTicks(toolPid)
	s.self, _ = procTicks(os.Getpid())
	s.cpu, _ = readCPUTicks()
	s.m, s.mErr = scrape(url)
	return s
}

func scrape(url string) (promtext.Scrape, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return promtext.Scrape{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return promtext.Scrape{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return promtext.Scrape{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return promtext.Parse(resp.Body)
}

// driverSummary is the part of driver.mjs's JSON line the verdict reads.
type driverSummary struct {
	Seated     int     `json:"seated"`
	Rooms      int     `json:"rooms"`
	MinPerPlay float64 `json:"patches_per_player_min"`
	Errors     int     `json:"errors"`
}

// letterP99 finds loadgen's "letter propagation ms  p50 X  p90 Y  p99 Z" row and
// "letters placed N" row in its table.
var (
	letterP99Row    = regexp.MustCompile(`(?m)^letter propagation ms\s+p50 [\d.]+\s+p90 [\d.]+\s+p99 ([\d.]+)`)
	lettersPlacedRe = regexp.MustCompile(`(?m)^letters placed\s+(\d+) in the measured phase`)
	summaryErrors   = regexp.MustCompile(`(?:^| )errors=(\d+)`)
	summaryMin      = regexp.MustCompile(`(?:^| )snapshots_per_player_min=([\d.]+)`)
)

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitPort waits until addr accepts a connection, or the process exits, or d passes.
func waitPort(addr string, p *exec.Cmd, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if p.Process.Signal(syscall.Signal(0)) != nil {
			return fmt.Errorf("it exited")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("nothing on %s after %s", addr, d)
}

// stop ends a server by its pid: SIGTERM, then SIGKILL after 5 s (Colyseus shuts down
// gracefully, the gameserver closes its rooms).
func stop(p *exec.Cmd) {
	if p.Process == nil {
		return
	}
	p.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.Process.Kill()
		<-done
	}
}
