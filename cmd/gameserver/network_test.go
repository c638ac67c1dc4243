//go:build linux

// The games over bad networks: the real server in process, a net/netsim proxy in front of it
// for each simulated path, and the example pages played in headless Chromium through the
// proxies by testdata/e2e/network.mjs. The driver measures; this file asserts, against the
// goals of a player on café Wi-Fi:
//
//   - shooter, at 0, 100 ± 20 and 200 ± 40 ms RTT: hitscan shots aimed at a bot's drawn
//     centre hit (99%, 98% at 200 ms), shots aimed clearly beside it never do, under 0.5% of
//     frames lack a fresh snapshot and none is held still over 100 ms, the prediction is
//     never corrected, and a key press reaches the screen in about a frame;
//   - crossword: a letter typed on one page shows on another within a second;
//   - a 5 s and a 30 s silent blackout: the same player resumes and play continues within
//     1 s of the link's return; a letter typed during the outage is delivered. A 45 s one
//     outlasts the seat: the pages join a new game by themselves, the letter still goes.
//
// RP_NETWORK_FULL=1 measures longer (the closing figures: 200+ shots a path) and adds 1% loss
// paths, whose figures are logged, not asserted; RP_NETWORK_SECONDS sets the shooter's time
// on each path (45 s by default, which gives some fifteen shots on target, the arena's walls
// hiding the bots much of the time: enough to catch a broken lag compensation, not to
// measure 99%). RP_NETWORK_CPU_HOG=1 keeps both cores busy
// with other work meanwhile. RP_NETWORK_ONLY=shooter,letters,blackout runs only those.
//
//	go test -run TestBrowserOverBadNetworks -v ./cmd/gameserver
//	RP_NETWORK_FULL=1 go test -run TestBrowserOverBadNetworks -v -timeout 30m ./cmd/gameserver

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/internal/peertest"
	"github.com/rallypoint/rallypoint/net/netsim"
)

// netPath is a simulated network path, with the goals asserted on it.
type netPath struct {
	name    string
	profile netsim.Profile
	hitGoal float64 // share of on-target shots that must hit; 0: logged, not asserted
	smooth  bool    // assert the frame goals (< 0.5% stale, no hold over 100 ms)
}

func paths(full bool) []netPath {
	ms := time.Millisecond
	ps := []netPath{
		{"0ms", netsim.Profile{}, 0.99, true},
		{"100±20ms", netsim.Symmetric(50*ms, 20*ms), 0.99, true},
		{"200±40ms", netsim.Symmetric(100*ms, 40*ms), 0.98, false},
	}
	if full {
		lossy := func(p netsim.Profile) netsim.Profile { p.Up.Loss, p.Down.Loss = 0.01, 0.01; return p }
		ps = append(ps,
			netPath{"100±20ms+1%loss", lossy(netsim.Symmetric(50*ms, 20*ms)), 0, false},
			netPath{"200±40ms+1%loss", lossy(netsim.Symmetric(100*ms, 40*ms)), 0, false},
		)
	}
	return ps
}

func TestBrowserOverBadNetworks(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	chromium := peertest.Chromium(t)
	node := peertest.Node(t)
	script, err := filepath.Abs(filepath.Join("testdata", "e2e", "network.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	full := os.Getenv("RP_NETWORK_FULL") == "1"
	if os.Getenv("RP_NETWORK_CPU_HOG") == "1" {
		stopHog := cpuHog(runtime.NumCPU())
		defer stopHog()
		t.Log("a CPU hog keeps every core busy meanwhile")
	}
	measure := 45
	if full {
		measure = 400 // about 200 shots on target a path
	}
	if s, err := strconv.Atoi(os.Getenv("RP_NETWORK_SECONDS")); err == nil && s > 0 {
		measure = s
	}
	// The server's debug log says why each connection ended; a failure prints it.
	var serverLog lockedBuffer
	addr, stop := startServerLogging(t, slog.New(slog.NewTextHandler(&serverLog, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	}()

	proxies := map[string]*netsim.Proxy{}
	proxy := func(name string, p netsim.Profile) string {
		px, err := netsim.Listen("127.0.0.1:0", addr, p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { px.Close() })
		proxies[name] = px
		return "http://" + px.Addr().String()
	}
	control := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		px := proxies[r.URL.Query().Get("proxy")]
		ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
		if px == nil || err != nil || r.URL.Path != "/blackout" {
			http.Error(w, "GET /blackout?proxy=NAME&ms=N", http.StatusBadRequest)
			return
		}
		start := time.Now()
		px.Blackout(time.Duration(ms)*time.Millisecond, netsim.Silent)
		_ = json.NewEncoder(w).Encode(map[string]int64{"startMs": start.UnixMilli(), "endMs": start.UnixMilli() + int64(ms)})
	}))
	defer control.Close()

	cells := crosswordCells(t)
	type shooterEntry struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	}
	type lettersEntry struct {
		Name  string      `json:"name"`
		URL   string      `json:"url"`
		Cells []placement `json:"cells"`
	}
	type blackoutEntry struct {
		Name     string    `json:"name"`
		Game     string    `json:"game"`
		Proxy    string    `json:"proxy"`
		URL      string    `json:"url"`
		WatchURL string    `json:"watchUrl"`
		Seconds  int       `json:"seconds"`
		Phase    int       `json:"phase"`    // blackouts of a phase run at once
		Cell     placement `json:"cell"`     // typed once the page shows the link stalled
		LostCell placement `json:"lostCell"` // typed at the blackout's start, into the dead link
	}
	var plan struct {
		MeasureSeconds int             `json:"measureSeconds"`
		Shooter        []shooterEntry  `json:"shooter"`
		Letters        []lettersEntry  `json:"letters"`
		Blackouts      []blackoutEntry `json:"blackouts"`
	}
	plan.MeasureSeconds = measure
	// RP_NETWORK_ONLY=shooter,letters,blackout runs only those parts (while working on one).
	only := func(part string) bool {
		o := os.Getenv("RP_NETWORK_ONLY")
		return o == "" || slices.Contains(strings.Split(o, ","), part)
	}
	ps := paths(full)
	if only := os.Getenv("RP_NETWORK_PATHS"); only != "" { // e.g. "200±40ms": those paths alone
		ps = slices.DeleteFunc(ps, func(p netPath) bool { return !slices.Contains(strings.Split(only, ","), p.name) })
	}
	for _, p := range ps {
		url := proxy(p.name, p.profile)
		if only("shooter") {
			plan.Shooter = append(plan.Shooter, shooterEntry{p.name, url})
		}
		if only("letters") {
			plan.Letters = append(plan.Letters, lettersEntry{p.name, url, cells[:3]})
		}
		cells = cells[3:]
	}
	// 5 s and 30 s: the seat is resumed. 45 s outlasts the seat (noticed within 8 s, then
	// held 30 s): the shooter page is put in a new arena by the SDK (autoRejoin), the
	// crossword page joins again by itself, and the letter typed offline still goes.
	bad := netsim.Symmetric(50*time.Millisecond, 20*time.Millisecond)
	for _, b := range []struct{ secs, phase int }{{5, 1}, {30, 2}, {45, 2}} {
		if !only("blackout") {
			break
		}
		for _, game := range []string{"shooter", "crossword"} {
			name := fmt.Sprintf("%s-%ds", game, b.secs)
			plan.Blackouts = append(plan.Blackouts, blackoutEntry{
				Name: name, Game: game, Proxy: name, URL: proxy(name, bad), WatchURL: "http://" + addr,
				Seconds: b.secs, Phase: b.phase, Cell: cells[0], LostCell: cells[1],
			})
			cells = cells[2:]
		}
	}
	planJSON, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}

	driverTimeout := len(ps)*(measure*3/2+40) + len(ps)*20 + 120 // a shooter run may go on half as long again for shots
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(driverTimeout+30)*time.Second)
	defer cancel()
	var driver *peertest.Process
	t.Cleanup(func() {
		if driver != nil {
			killBrowser(t, driver.Lines())
		}
	})
	driver = peertest.Start(ctx, t, node, script, "--plan", string(planJSON), "--control", control.URL,
		"--chromium", chromium, "--peers", peertest.PeersDir(t), "--timeout", strconv.Itoa(driverTimeout))
	lines, runErr := driver.Wait(ctx)
	run := e2eRun{lines: lines}
	if l, ok := run.event("fatal"); ok {
		t.Fatalf("driver could not run the browser: %s\n%s", l.Str("error"), run.diagnostics(""))
	}
	if runErr != nil {
		t.Logf("driver: %v", runErr) // the results below say what went wrong
	}
	for name, px := range proxies {
		t.Logf("proxy %s: %s", name, px.Stats())
	}
	// Why the server dropped anyone: a page the server stopped reading (a wake-up lost by
	// net/ws's poller) would show as a silent peer; the keepalive rescues and counts it.
	silent := metricAt(t, addr, "rallypoint_ws_peers_silent_total")
	rescued := metricAt(t, addr, "rallypoint_ws_poll_rescues_total")
	t.Logf("server: %v peers dropped as silent, %v connections rescued from the poller; %v write failures, %v slow consumers, %v frame floods, %v budget refusals",
		silent, rescued, metricAt(t, addr, "rallypoint_ws_write_failures_total"), metricAt(t, addr, "rallypoint_slow_consumers_total"),
		metricAt(t, addr, "rallypoint_ws_frame_floods_total"), metricAt(t, addr, "rallypoint_ws_budget_refused_total"))
	if rescued > 0 {
		t.Errorf("the server left %v connections unread in its poller until the keepalive woke them", rescued)
	}

	var table []string
	for _, p := range ps {
		if only("shooter") {
			t.Run("shooter/"+p.name, func(t *testing.T) { checkShooterOverPath(t, run, p, &table) })
		}
		if only("letters") {
			t.Run("letters/"+p.name, func(t *testing.T) { checkLettersOverPath(t, run, p) })
		}
	}
	for _, b := range plan.Blackouts {
		t.Run("blackout/"+b.Name, func(t *testing.T) { checkBlackout(t, run, b.Name, b.Game, b.Seconds > seatHeld, &table) })
	}
	t.Logf("figures:\n%s", strings.Join(table, "\n"))
	if t.Failed() {
		t.Logf("the server's log (debug), for whose each drop was:\n%s", serverLog.String())
	}
}

// crosswordCells lists the squares of the first puzzle (the one a new server's crossword
// room plays) with their correct letters, each once. The test types fewer than there are,
// so the puzzle is never solved under it (the next would start).
func crosswordCells(t *testing.T) []placement {
	t.Helper()
	ps, err := crossword.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	var out []placement
	for i := range len(p.Solution) {
		if p.Solution[i] != '#' {
			out = append(out, placement{Row: i / p.Width, Col: i % p.Width, Letter: string(p.Solution[i])})
		}
	}
	if len(out) < 21 { // 3 per path, 2 per crossword blackout
		t.Fatalf("puzzle %s has %d usable squares", p.ID, len(out))
	}
	return out
}

type shooterNet struct {
	On, Hits, Off, FalseHits, Voided, Unfired, Unmatched int
	Misses                                               []json.RawMessage
	Autopilot, Trouble                                   json.RawMessage
	Minutes                                              float64
	Frames, Stale, Held, Rebases                         int
	LongestHoldMs, DelayMs, RttMs                        float64
	PredictedSteps, Mispredictions, Reconciliations      int
	KeyToScreen                                          []*float64
}

// checkShooterOverPath asserts the shooter's goals on path p and adds its figures to table.
func checkShooterOverPath(t *testing.T, run e2eRun, p netPath, table *[]string) {
	var r shooterNet
	run.result(t, "shooter:"+p.name, &r)
	diag := run.diagnostics("shooter:" + p.name)
	var keys []float64
	for _, k := range r.KeyToScreen {
		if k != nil {
			keys = append(keys, *k)
		}
	}
	slices.Sort(keys)
	keyMedian := math.NaN()
	if len(keys) > 0 {
		keyMedian = keys[len(keys)/2]
	}
	hitRate := float64(r.Hits) / float64(max(1, r.On))
	stale := float64(r.Stale) / float64(max(1, r.Frames))
	perMinute := float64(r.Mispredictions) / max(r.Minutes, 1e-9)
	line := fmt.Sprintf("shooter %-16s hits %d/%d (%.1f%%), false hits %d/%d, voided %d, unfired %d | stale frames %.2f%% of %d, held %d, longest hold %.0f ms, rebases %d, delay %.0f ms | corrections %.1f/min (%d steps) | key to screen median %.0f ms of %d | rtt %.0f ms",
		p.name, r.Hits, r.On, 100*hitRate, r.FalseHits, r.Off, r.Voided, r.Unfired, 100*stale, r.Frames, r.Held, r.LongestHoldMs, r.Rebases, r.DelayMs,
		perMinute, r.PredictedSteps, keyMedian, len(keys), r.RttMs)
	t.Log(line)
	*table = append(*table, line)
	t.Logf("autopilot: %s; link trouble: %s", r.Autopilot, r.Trouble)
	for _, m := range r.Misses {
		t.Logf("miss: %s", m)
	}
	if r.FalseHits > 0 {
		t.Errorf("%d of %d shots aimed clearly beside a bot hit someone", r.FalseHits, r.Off)
	}
	if r.PredictedSteps < 100 {
		t.Fatalf("the page predicted %d steps: it hardly played\n%s", r.PredictedSteps, diag)
	}
	if perMinute > 1 {
		t.Errorf("%d corrections of the prediction (%.1f a minute), want none: Step is bit-exact", r.Mispredictions, perMinute)
	}
	if len(keys) < 4 || keyMedian > 50 {
		t.Errorf("key to screen: %v ms, want a median under 50 ms (about a frame or two)", keys)
	}
	if p.hitGoal > 0 {
		if r.On < 5 {
			t.Fatalf("only %d shots on target were judged: too few to say\n%s", r.On, diag)
		}
		// The goal, with room for the sample's size: at most one more miss than the goal's share.
		if allowed := int(math.Floor(float64(r.On)*(1-p.hitGoal))) + 1; r.On-r.Hits > allowed {
			t.Errorf("%d of %d shots aimed at a bot's drawn centre missed (%.1f%% hit), want at most %d (goal %.0f%%)",
				r.On-r.Hits, r.On, 100*hitRate, allowed, 100*p.hitGoal)
		}
	}
	if p.smooth {
		// What the page can be judged on is what reached it. A snapshot gap longer than the
		// path's jitter is the server's (a starved process: CI runs two packages' tests at
		// once on 2 cores) and must stay under a second. The SDK's share of the stale frames
		// must stay under 0.5%. A run of stale frames ends when the late snapshot arrives; the
		// part of the run explained by its lateness beyond both the path's jitter and the 99th
		// percentile of the 256 arrivals before it (plus the buffer's 4 ms margin) is excused:
		// no delay learnt from the path and the recent past covers a spike like that. That
		// percentile is taken as the render clock can follow it, growing by at most 10% of
		// real time (the SDK's slew, which keeps the picture from jumping): in a CI run one
		// 189 ms spike raised it, and 14 stale frames after it, ended by arrivals 90-184 ms
		// late, were not excused, though a smooth clock may not yet have followed. The rest
		// (a delay too short for the path or for what the machine has been doing, a clock
		// estimate run ahead, a render clock slower than its slew) is the SDK's. Beside a CPU
		// hog, an SDK that ignored lateness (quantile 0: a delay of one interval) measured
		// 76.1% and 81.3% stale frames on these two paths, 5.5 and 4.8 frames of them excused;
		// the SDK measured 0.18% and 0.15%, all excused. A hold must end within 100 ms plus two
		// snapshot intervals of the flow's return. Time the server's tick clock lost (ticks
		// skipped by a starved server) is the server's in both bounds.
		var trouble struct {
			MaxGapMs float64   `json:"maxGapMs"`
			GapsMs   []float64 `json:"gapsMs"`
			Late     []struct {
				N      int     `json:"n"`
				OverMs float64 `json:"overMs"`
				LateMs float64 `json:"lateMs"`
				RefMs  float64 `json:"refMs"`
			} `json:"late"`
			ClockLostMs float64 `json:"clockLostMs"`
		}
		_ = json.Unmarshal(r.Trouble, &trouble)
		const frameMs, intervalMs, extrapolationMs, marginMs = 1000.0 / 60, 1000.0 / 30, 100.0, 4.0
		if trouble.MaxGapMs > 1000 {
			t.Errorf("the page went %.0f ms without a snapshot on a path that loses nothing, want under a second", trouble.MaxGapMs)
		}
		allowance := float64(2*p.profile.Down.Jitter)/float64(time.Millisecond) + marginMs
		ended, excused := 0, 0.0
		for _, l := range trouble.Late {
			ended += l.N
			if l.OverMs > 0 {
				excused += float64(l.N) * min(1, max(0, (l.LateMs-max(allowance, l.RefMs+marginMs))/l.OverMs))
			}
		}
		// A starved server skips ticks rather than run them late, so its tick clock falls
		// behind: the page must then hold or step back, and the time lost is the server's.
		lost := trouble.ClockLostMs
		t.Logf("stale frames: %d of %d ended by a late arrival, %.1f of them excused (lateness past the path's %.0f ms of jitter and margin, and past the recent 99th percentile); the server's tick clock lost %.0f ms",
			ended, r.Stale, excused, allowance, lost)
		if allowed := 0.005*float64(r.Frames) + max(excused, lost/frameMs); float64(r.Stale) > allowed {
			t.Errorf("%d of %d frames (%.2f%%) had no fresh snapshot to interpolate to, want at most %.0f (0.5%%, and %.1f that arrivals later than the path's jitter and the recent past explain, or the %.0f ms the server's clock lost, whichever is more)",
				r.Stale, r.Frames, 100*stale, allowed, excused, lost)
		}
		if allowed := max(100, trouble.MaxGapMs-extrapolationMs+2*intervalMs) + lost; r.LongestHoldMs > allowed {
			t.Errorf("the others froze for %.0f ms at once, want no freeze over %.0f ms (100 ms, or the longest gap in arrivals, %.0f ms, less the 100 ms extrapolated, and two intervals; and the %.0f ms the server's tick clock lost)",
				r.LongestHoldMs, allowed, trouble.MaxGapMs, lost)
		}
	}
}

type letterPlacement struct {
	Seen      bool     `json:"seen"`
	ElapsedMs *float64 `json:"elapsedMs"`
	Letter    string   `json:"letter"`
	Last      string   `json:"last"`
}

func checkLettersOverPath(t *testing.T, run e2eRun, p netPath) {
	var r struct{ Placements []letterPlacement }
	run.result(t, "letters:"+p.name, &r)
	if len(r.Placements) == 0 {
		t.Fatalf("no letters typed\n%s", run.diagnostics("letters:"+p.name))
	}
	var ms []string
	for _, pl := range r.Placements {
		switch {
		case !pl.Seen || pl.ElapsedMs == nil:
			t.Errorf("letter %q never showed on the other page (it shows %q)", pl.Letter, pl.Last)
		case *pl.ElapsedMs >= maxLetterLatency:
			t.Errorf("letter %q showed on the other page after %.0f ms, want under %d", pl.Letter, *pl.ElapsedMs, maxLetterLatency)
		default:
			ms = append(ms, fmt.Sprintf("%.0f", *pl.ElapsedMs))
		}
	}
	t.Logf("crossword %-16s letter page A → page B: %s ms", p.name, strings.Join(ms, ", "))
}

// seatHeld is how long after the start of a silent outage the server still holds the seat,
// at the least: the engine's default grace period (30 s) from the drop, which it notices
// within PeerTimeout (8 s) of the last word.
const seatHeld = 30

type blackoutResult struct {
	Seconds         int      `json:"seconds"`
	Me              int      `json:"me"`
	NoticedMs       *float64 `json:"noticedMs"`
	NoticedReason   string   `json:"noticedReason"`
	StalledMs       *float64 `json:"stalledMs"`
	FirstSnapshotMs *float64 `json:"firstSnapshotMs"`
	ContinueMs      *float64 `json:"continueMs"`
	DeadMs          float64  `json:"deadAfterReturnMs"` // shooter: waiting to respawn after the return, not counted in ContinueMs
	SamePlayer      bool     `json:"samePlayer"`
	Resumed         *struct {
		Player  int     `json:"player"`
		Resumed bool    `json:"resumed"`
		Ms      float64 `json:"ms"`
	} `json:"resumed"`
	Left          []json.RawMessage `json:"left"`
	States        []json.RawMessage `json:"states"`
	PendingDuring []struct {
		Letter string `json:"letter"`
		Sent   bool   `json:"sent"`
	} `json:"pendingDuring"`
	LostPending []struct {
		Letter string `json:"letter"`
		Sent   bool   `json:"sent"`
	} `json:"lostPending"`
	LetterSeenMs     *float64 `json:"letterSeenMs"`
	LostLetterSeenMs *float64 `json:"lostLetterSeenMs"`
	Refused          int      `json:"refused"`
	Rejoined         *struct {
		Player int     `json:"player"`
		Ms     float64 `json:"ms"`
	} `json:"rejoined"`
	Joins []json.RawMessage `json:"joins"`
}

// checkBlackout asserts the way back from blackout name and adds its figures to table. A
// blackout that outlasts the seat (lost) must end in a new seat, joined by itself.
func checkBlackout(t *testing.T, run e2eRun, name, game string, lost bool, table *[]string) {
	var r blackoutResult
	run.result(t, "blackout:"+name, &r)
	f := func(v *float64) string {
		if v == nil {
			return "never"
		}
		return fmt.Sprintf("%.0f ms", *v)
	}
	back := "no join"
	switch {
	case r.SamePlayer:
		back = fmt.Sprintf("the same player resumed %.0f ms after the return", r.Resumed.Ms)
	case r.Rejoined != nil:
		back = fmt.Sprintf("the seat was gone; joined again as player %d %.0f ms after the return", r.Rejoined.Player, r.Rejoined.Ms)
	}
	line := fmt.Sprintf("blackout %-14s noticed after %s (%s); %s; play continues %s after the return",
		name, f(r.NoticedMs), r.NoticedReason, back, f(r.ContinueMs))
	if r.DeadMs > 0 {
		line += fmt.Sprintf(" (not counting %.0f ms dead, waiting to respawn)", r.DeadMs)
	}
	if game == "crossword" {
		lost := "held"
		if len(r.LostPending) == 1 && r.LostPending[0].Sent {
			lost = "sent into the dead link"
		}
		line += fmt.Sprintf("; the letter typed during it delivered %s after the return, the one typed at its start (%s) %s",
			f(r.LetterSeenMs), lost, f(r.LostLetterSeenMs))
	}
	t.Log(line)
	*table = append(*table, line)
	diag := func() string {
		return fmt.Sprintf("joins %s, states %s\n%s", r.Joins, r.States, run.diagnostics("blackout:"+name))
	}
	switch {
	case !lost && !r.SamePlayer:
		t.Errorf("after a %d s blackout the page is not the same player resumed: %s", r.Seconds, diag())
	case lost && r.Rejoined == nil:
		t.Errorf("after a %d s blackout, longer than the seat is held, the page did not join again: %s", r.Seconds, diag())
	}
	// About 3 s (3.0-3.3 s on a quiet machine); the margin is for a CI machine that runs the
	// race detector over every package at once, where the page's timers fire late (4.1 s seen).
	if r.NoticedMs == nil || *r.NoticedMs > 5000 {
		t.Errorf("the page noticed the silent link after %s, want about 3 s (states %s)", f(r.NoticedMs), r.States)
	}
	// Resuming takes a round trip or two after the return; joining anew takes one more (the
	// refused resume, then the join). Under the race detector, as CI runs every package at
	// once on two cores, the server's answer to a resume has taken 840 ms from the socket's
	// open (the page opened it 364 ms after the return): half a second more there.
	limit := 1000.0
	if lost {
		limit = 1500
	}
	if raceEnabled {
		limit += 500
	}
	if r.ContinueMs == nil || *r.ContinueMs > limit {
		t.Errorf("play continued %s after the link's return, want within %.0f ms: %s", f(r.ContinueMs), limit, diag())
	}
	if game == "crossword" {
		if len(r.PendingDuring) != 1 || r.PendingDuring[0].Sent {
			t.Errorf("during the outage the typed letter should wait, unsent: pending %+v", r.PendingDuring)
		}
		if r.LetterSeenMs == nil || *r.LetterSeenMs > limit+500 {
			t.Errorf("the letter typed during the outage showed on the other page %s after the return, want within %.0f ms", f(r.LetterSeenMs), limit+500)
		}
		// Sent or held, the letter typed as the link died is not lost.
		if r.LostLetterSeenMs == nil || *r.LostLetterSeenMs > limit+500 {
			t.Errorf("the letter typed as the link died (pending then: %+v) showed on the other page %s after the return, want within %.0f ms",
				r.LostPending, f(r.LostLetterSeenMs), limit+500)
		}
		if r.Refused != 0 {
			t.Errorf("%d letters were refused", r.Refused)
		}
	}
}

// cpuHog keeps n goroutines spinning until the returned function is called: the machine
// something else keeps busy.
func cpuHog(n int) func() {
	var stop atomic.Bool
	for range n {
		go func() {
			x := 1.0
			for !stop.Load() {
				for i := 0; i < 1e5; i++ {
					x = math.Sqrt(x + float64(i))
				}
			}
		}()
	}
	return func() { stop.Store(true) }
}
