//go:build linux

// The end-to-end test: the real server, in process, and the example games' pages played in
// headless Debian Chromium by testdata/e2e/driver.mjs (playwright-core from testdata/peers).
// The driver reports what the pages showed as JSON lines; this file asserts on them.
//
// Linux only: it finds and kills what is left of Chromium through /proc and process groups.
//
//	go test -run TestBrowser ./cmd/gameserver                           # screenshots in $TMPDIR/rallypoint-e2e
//	RP_E2E_OUT=/tmp/shots go test -run TestBrowser ./cmd/gameserver     # elsewhere
//	RP_UPDATE_SCREENSHOTS=1 go test -run TestBrowser ./cmd/gameserver   # also docs/screenshots/*.png

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/internal/peertest"
)

const (
	// e2eTimeout bounds the whole browser run; the driver gets a little less, so that it
	// reports its own timeout (with what it saw) before the test gives up on it.
	e2eTimeout = 60 * time.Second

	// maxLetterLatency is how soon a letter typed on one page must show on another.
	maxLetterLatency = 1000 // ms

	// settleTolerance is how close the prediction and the server's position must be once
	// every input is acknowledged. Positions are rounded to 0.01 by Step on both sides.
	settleTolerance = 0.01
)

// TestBrowserPlaysTheExampleGames opens the crossword and the shooter pages in Chromium
// against the in-process server: two crossword players see each other's letters within a
// second, the shooter predicts the local player's movement and ends where the server says,
// bots move, every page's socket negotiated permessage-deflate, and the screenshots of the
// pages are not blank.
func TestBrowserPlaysTheExampleGames(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	out := screenshotDir(t, "crossword.png", "shooter.png")
	docs := ""
	if os.Getenv("RP_UPDATE_SCREENSHOTS") == "1" {
		docs = filepath.Join(peertest.RepoRoot(t), "docs", "screenshots")
	}
	cells, park := crosswordPlan(t, docs != "")
	run := runDriver(t, driverRun{timeout: e2eTimeout, out: out, docs: docs, cells: cells, park: park})

	t.Run("crossword", func(t *testing.T) { checkCrossword(t, run, cells) })
	t.Run("shooter", func(t *testing.T) { checkShooter(t, run) })
	t.Run("screenshots", func(t *testing.T) {
		checkScreenshots(t, run, screenshotPaths(out, docs, "crossword.png", "shooter.png"))
	})
}

// driverRun is what one run of testdata/e2e/driver.mjs plays.
type driverRun struct {
	timeout   time.Duration // for the whole run; the driver gets 5 s less, to report its own timeout
	out, docs string        // where it saves its screenshots; docs: also the documentation's ("" none)
	cells     []placement   // crossword letters to type
	park      []placement   // squares the crossword pages' cursors rest on for the picture
	scenarios string        // driver.mjs --scenarios; "" for its default (crossword,shooter)
	url       string        // the server to play; "" for one started in process for the run
	// during, if set, runs beside the driver (given the running driver, to await its events)
	// and is waited for before the run's lines are returned.
	during func(ctx context.Context, driver *peertest.Process)
}

// runDriver serves the gameserver in process and plays its pages in headless Chromium with
// driver.mjs, returning what the driver printed. It fails the test when the driver could
// not run the browser at all; the scenario results say the rest.
func runDriver(t *testing.T, r driverRun) e2eRun {
	t.Helper()
	chromium := peertest.Chromium(t)
	node := peertest.Node(t)
	script, err := filepath.Abs(filepath.Join("testdata", "e2e", "driver.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	cellsJSON, err := json.Marshal(r.cells)
	if err != nil {
		t.Fatal(err)
	}
	parkJSON, err := json.Marshal(r.park)
	if err != nil {
		t.Fatal(err)
	}

	url := r.url
	if url == "" {
		addr, stop := startServer(t)
		defer func() {
			if err := stop(); err != nil {
				t.Errorf("server shutdown: %v", err)
			}
		}()
		url = "http://" + addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()

	// Registered before the driver starts, so it runs after peertest has stopped the driver:
	// whatever is left of Chromium (its own process group) goes too.
	var driver *peertest.Process
	t.Cleanup(func() {
		if driver != nil {
			killBrowser(t, driver.Lines())
		}
	})
	args := []string{
		script, "--url", url, "--out", r.out, "--docs", r.docs, "--cells", string(cellsJSON), "--park", string(parkJSON),
		"--chromium", chromium, "--peers", peertest.PeersDir(t), "--timeout", strconv.Itoa(int(r.timeout/time.Second) - 5),
	}
	if r.scenarios != "" {
		args = append(args, "--scenarios", r.scenarios)
	}
	driver = peertest.Start(ctx, t, node, args...)
	beside := make(chan struct{})
	go func() {
		defer close(beside)
		if r.during != nil {
			r.during(ctx, driver)
		}
	}()
	lines, runErr := driver.Wait(ctx)
	<-beside
	run := e2eRun{lines: lines}
	if b, ok := run.event("browser"); ok {
		t.Logf("Chromium %s", b.Str("version"))
	}
	if l, ok := run.event("fatal"); ok {
		t.Fatalf("driver could not run the browser: %s\n%s", l.Str("error"), run.diagnostics(""))
	}
	if runErr != nil {
		t.Logf("driver: %v", runErr) // the scenario results say what went wrong
	}
	return run
}

// screenshotPaths are the files a run must have saved: each name in out, and in docs when set.
func screenshotPaths(out, docs string, names ...string) []string {
	var paths []string
	for _, dir := range []string{out, docs} {
		if dir == "" {
			continue
		}
		for _, n := range names {
			paths = append(paths, filepath.Join(dir, n))
		}
	}
	return paths
}

// screenshotDir is where the driver saves the screenshots it takes in every run; the named
// ones left by an earlier run are removed.
func screenshotDir(t *testing.T, names ...string) string {
	dir := os.Getenv("RP_E2E_OUT")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "rallypoint-e2e")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A failed run must not leave the last run's pictures looking like its own.
	for _, name := range names {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// placement is a square of the crossword, with the correct letter when the driver is to type
// it there (the server places only correct letters).
type placement struct {
	Row    int    `json:"row"`
	Col    int    `json:"col"`
	Letter string `json:"letter,omitempty"`
}

// crosswordPlan picks correct letters from the first puzzle, the one a new server's
// crossword room plays. The first two are typed by two different pages. The documentation
// run adds the rest of the first across and the first down word, so that the picture shows
// finished words by several players, and returns empty squares below the top row for the
// pages' cursors to rest on.
func crosswordPlan(t *testing.T, docs bool) (cells, park []placement) {
	t.Helper()
	ps, err := crossword.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	seen := map[int]bool{}
	add := func(row, col int) {
		i := row*p.Width + col
		if !seen[i] && !p.Black(row, col) {
			seen[i] = true
			cells = append(cells, placement{Row: row, Col: col, Letter: string(p.Solution[i])})
		}
	}
	for _, c := range p.Clues {
		if len(cells) == 2 {
			break
		}
		add(c.Row, c.Col)
	}
	if len(cells) < 2 {
		t.Fatalf("puzzle %s has fewer than two words", p.ID)
	}
	if !docs {
		return cells, nil
	}
	word := func(c crossword.Clue) {
		for i := range c.Len {
			if c.Dir == crossword.Across {
				add(c.Row, c.Col+i)
			} else {
				add(c.Row+i, c.Col)
			}
		}
	}
	// Down first: with the pages typing in turn, two different players finish the two words.
	for _, c := range p.Clues {
		if c.Dir == crossword.Down {
			word(c)
			break
		}
	}
	word(p.Clues[0])
	var empty []placement
	for i := p.Width; i < len(p.Solution); i++ {
		if !seen[i] && p.Solution[i] != '#' {
			empty = append(empty, placement{Row: i / p.Width, Col: i % p.Width})
		}
	}
	for k := range 3 {
		if len(empty) > 0 {
			park = append(park, empty[k*len(empty)/3])
		}
	}
	return cells, park
}

// e2eRun is what the driver printed.
type e2eRun struct{ lines []peertest.Line }

func (r e2eRun) event(name string) (peertest.Line, bool) {
	for _, l := range r.lines {
		if l.Str("event") == name {
			return l, true
		}
	}
	return peertest.Line{}, false
}

// result decodes the scenario's result line into v, failing the test when there is none or
// the scenario stopped with an error.
func (r e2eRun) result(t *testing.T, scenario string, v any) {
	t.Helper()
	l, ok := r.event(scenario)
	if !ok {
		t.Fatalf("the driver reported no %s result (it stopped early or timed out)\n%s", scenario, r.diagnostics(scenario))
	}
	if e := l.Str("error"); e != "" {
		t.Fatalf("%s scenario failed: %s\n%s", scenario, e, r.diagnostics(scenario))
	}
	if err := l.Decode(v); err != nil {
		t.Fatalf("decode %s result %s: %v", scenario, l.Raw, err)
	}
}

// diagnostics lists what the pages whose name starts with prefix said that may explain a
// failure: console errors and warnings, uncaught errors, failed requests, HTTP errors and
// WebSocket trouble, plus a driver timeout.
func (r e2eRun) diagnostics(prefix string) string {
	var b strings.Builder
	for _, l := range r.lines {
		page := l.Str("page")
		if !strings.HasPrefix(page, prefix) && page != "" {
			continue
		}
		switch l.Str("event") {
		case "console":
			// "Failed to load resource" repeats an "http" or "requestfailed" line, which has the URL.
			if typ := l.Str("type"); (typ == "error" || typ == "warning") && !strings.HasPrefix(l.Str("text"), "Failed to load resource") {
				fmt.Fprintf(&b, "  %s console.%s: %s (%s)\n", page, typ, l.Str("text"), l.Str("at"))
			}
		case "pageerror":
			fmt.Fprintf(&b, "  %s uncaught: %s\n", page, l.Str("error"))
		case "requestfailed":
			fmt.Fprintf(&b, "  %s request failed: %s: %s\n", page, l.Str("url"), l.Str("failure"))
		case "http":
			fmt.Fprintf(&b, "  %s HTTP %d: %s\n", page, l.Int("status"), l.Str("url"))
		case "websocket":
			if s := l.Str("state"); s != "open" {
				fmt.Fprintf(&b, "  %s WebSocket %s %s %s\n", page, s, l.Str("url"), l.Str("error"))
			}
		case "timeout", "stopped":
			fmt.Fprintf(&b, "  driver: %s\n", l.Raw)
		}
	}
	if b.Len() == 0 {
		return "  (the pages logged no errors)"
	}
	return "page diagnostics:\n" + b.String()
}

// hookProblems fails the test when a page does not honour its window.rp contract.
func hookProblems(t *testing.T, run e2eRun, scenario string, problems []string) {
	t.Helper()
	if len(problems) > 0 {
		t.Fatalf("the %s page does not honour the window.rp debug-hook contract:\n  %s\n%s",
			scenario, strings.Join(problems, "\n  "), run.diagnostics(scenario))
	}
}

type joinedInfo struct {
	Room   string `json:"room"`
	Player int    `json:"player"`
}

type crosswordResult struct {
	Hooks []string `json:"hooks"`
	Pages []struct {
		Name       string          `json:"name"`
		Extensions string          `json:"extensions"`
		Joined     *joinedInfo     `json:"joined"`
		Players    json.RawMessage `json:"players"`
	} `json:"pages"`
	Placements []struct {
		Row       int      `json:"row"`
		Col       int      `json:"col"`
		Letter    string   `json:"letter"`
		From      string   `json:"from"`
		To        string   `json:"to"`
		Before    string   `json:"before"`
		Seen      bool     `json:"seen"`
		Last      string   `json:"last"`
		Own       string   `json:"own"`
		ElapsedMs *float64 `json:"elapsedMs"`
	} `json:"placements"`
	Consistent []string `json:"consistent"`
	// Reload is page A reloaded after the placements: its player before and after, and
	// what it shows at the placed squares.
	Reload struct {
		Before     any    `json:"before"`
		After      any    `json:"after"`
		Consistent string `json:"consistent"`
	} `json:"reload"`
}

func checkCrossword(t *testing.T, run e2eRun, cells []placement) {
	var r crosswordResult
	run.result(t, "crossword", &r)
	hookProblems(t, run, "crossword", r.Hooks)
	diag := run.diagnostics("crossword")

	players := map[int]bool{}
	for _, p := range r.Pages {
		if !strings.Contains(p.Extensions, "permessage-deflate") {
			t.Errorf("%s: rp.extensions() = %q, want permessage-deflate", p.Name, p.Extensions)
		}
		if p.Joined == nil {
			t.Fatalf("%s: rp.client.joined is not set after rp.ready\n%s", p.Name, diag)
		}
		if p.Joined.Room != r.Pages[0].Joined.Room {
			t.Errorf("%s joined room %q, %s room %q: the pages must play the same crossword",
				p.Name, p.Joined.Room, r.Pages[0].Name, r.Pages[0].Joined.Room)
		}
		if players[p.Joined.Player] {
			t.Errorf("%s is player %d like another page: each page must be its own player", p.Name, p.Joined.Player)
		}
		players[p.Joined.Player] = true
	}

	if len(r.Placements) != len(cells) {
		t.Fatalf("driver made %d placements, want %d\n%s", len(r.Placements), len(cells), diag)
	}
	for _, p := range r.Placements {
		at := fmt.Sprintf("%s typed %q at row %d col %d", p.From, p.Letter, p.Row, p.Col)
		switch {
		case p.Before != "":
			t.Errorf("%s: before that, %s's rp.letterAt(%d, %d) was already %q, want \"\" (an empty square)",
				at, p.To, p.Row, p.Col, p.Before)
		case p.ElapsedMs == nil:
			t.Errorf("%s: the page saw no keydown for the key press\n%s", at, diag)
		case !p.Seen:
			t.Errorf("%s: %s never showed it (rp.letterAt = %q)\n%s", at, p.To, p.Last, diag)
		case *p.ElapsedMs >= maxLetterLatency:
			t.Errorf("%s: %s showed it after %.0f ms, want < %d ms", at, p.To, *p.ElapsedMs, maxLetterLatency)
		default:
			t.Logf("%s: %s showed it %.0f ms after the keydown", at, p.To, *p.ElapsedMs)
		}
		if p.Own != p.Letter {
			t.Errorf("%s: the typing page's rp.letterAt(%d, %d) = %q, want %q", at, p.Row, p.Col, p.Own, p.Letter)
		}
	}
	var want strings.Builder
	for _, c := range cells {
		want.WriteString(c.Letter)
	}
	for i, got := range r.Consistent {
		if got != want.String() {
			t.Errorf("%s shows %q at the placed squares, want %q", r.Pages[i].Name, got, want.String())
		}
	}
	if rl := r.Reload; rl.Before == nil || fmt.Sprint(rl.Before) != fmt.Sprint(rl.After) {
		t.Errorf("reloading %s made it player %v, was %v: the seat saved in sessionStorage must be resumed", r.Pages[0].Name, rl.After, rl.Before)
	} else if rl.Consistent != want.String() {
		t.Errorf("after its reload %s shows %q at the placed squares, want %q", r.Pages[0].Name, rl.Consistent, want.String())
	}
}

type point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

func (p point) dist(q point) float64 { return math.Hypot(p.X-q.X, p.Y-q.Y) }

func (p point) String() string { return fmt.Sprintf("(%.2f, %.2f)", p.X, p.Y) }

type shooterStats struct {
	PredictedSteps  float64 `json:"predictedSteps"`
	Reconciliations float64 `json:"reconciliations"`
	Mispredictions  float64 `json:"mispredictions"`
}

// positions is one sample of the page's predicted and authoritative positions.
type positions struct {
	Local   point `json:"local"`
	Server  point `json:"server"`
	Pending int   `json:"pending"`
}

type walkResult struct {
	Start             positions    `json:"start"`
	Stats0            shooterStats `json:"stats0"`
	Stats1            shooterStats `json:"stats1"`
	FirstLocalMoveMs  float64      `json:"firstLocalMoveMs"`
	FirstServerMoveMs float64      `json:"firstServerMoveMs"`
	AheadSamples      int          `json:"aheadSamples"`
	HoldSamples       int          `json:"holdSamples"`
	SettleSamples     int          `json:"settleSamples"`
	MaxLead           float64      `json:"maxLead"`
	MinPending        int          `json:"minPending"`
	MaxPending        int          `json:"maxPending"`
	Died              bool         `json:"died"`
	Settled           *struct {
		positions
		AfterReleaseMs float64 `json:"afterReleaseMs"`
	} `json:"settled"`
	Last positions `json:"last"`
}

type shooterResult struct {
	Hooks      []string    `json:"hooks"`
	Extensions string      `json:"extensions"`
	Joined     *joinedInfo `json:"joined"`
	Focused    string      `json:"focused"`
	Frames     struct {
		Start int `json:"start"`
		End   int `json:"end"`
		Ms    int `json:"ms"`
	} `json:"frames"`
	Walks []walkResult `json:"walks"`
	Bot   struct {
		OK       bool            `json:"ok"`
		ID       float64         `json:"id"`
		From     point           `json:"from"`
		To       point           `json:"to"`
		Distance float64         `json:"distance"`
		Ms       float64         `json:"ms"`
		Bots     int             `json:"bots"`
		Others   json.RawMessage `json:"others"`
	} `json:"bot"`
}

func checkShooter(t *testing.T, run e2eRun) {
	var r shooterResult
	run.result(t, "shooter", &r)
	hookProblems(t, run, "shooter", r.Hooks)
	diag := run.diagnostics("shooter")

	if !strings.Contains(r.Extensions, "permessage-deflate") {
		t.Errorf("rp.extensions() = %q, want permessage-deflate", r.Extensions)
	}
	if r.Frames.End < r.Frames.Start+30 {
		t.Errorf("rp.frames went from %d to %d in %d ms: the page is not drawing\n%s", r.Frames.Start, r.Frames.End, r.Frames.Ms, diag)
	}

	if len(r.Walks) == 0 {
		t.Fatalf("no walk reported\n%s", diag)
	}
	w := r.Walks[len(r.Walks)-1]
	if w.Died {
		t.Fatalf("the player was killed during each of %d walks; cannot check prediction\n%s", len(r.Walks), diag)
	}
	t.Logf("walk %d: %d hold samples, local moved at %.0f ms, server at %.0f ms, max lead %.2f; stats %+v -> %+v",
		len(r.Walks), w.HoldSamples, w.FirstLocalMoveMs, w.FirstServerMoveMs, w.MaxLead, w.Stats0, w.Stats1)
	if w.Stats1.PredictedSteps <= w.Stats0.PredictedSteps {
		t.Errorf("rp.stats.predictedSteps stayed at %v while D and S were held: no client-side prediction", w.Stats0.PredictedSteps)
	}
	if moved := w.Last.Local.dist(w.Start.Local); w.FirstLocalMoveMs < 0 || moved < 1 {
		t.Fatalf("holding D then S did not move rp.local(): from %v to %v (focused element %q)\n%s",
			w.Start.Local, w.Last.Local, r.Focused, diag)
	}
	// Step is bit-exact in Go and JavaScript and nothing else moves a live player, so every
	// reconciliation of the walk must agree with what the page had predicted.
	if n := w.Stats1.Mispredictions - w.Stats0.Mispredictions; n != 0 {
		t.Errorf("%v of %v reconciliations during the walk disagreed with the prediction: the page's Step is not the server's",
			n, w.Stats1.Reconciliations-w.Stats0.Reconciliations)
	}
	if w.FirstServerMoveMs >= 0 && w.FirstServerMoveMs < w.FirstLocalMoveMs {
		t.Errorf("rp.server() moved at %.0f ms, before rp.local() at %.0f ms: the local player is not predicted",
			w.FirstServerMoveMs, w.FirstLocalMoveMs)
	}
	if w.AheadSamples == 0 {
		t.Errorf("in %d samples while keys were held rp.local() never led rp.server(): the local player is not predicted",
			w.HoldSamples)
	}
	if w.Settled == nil {
		t.Fatalf("after the keys were released, no sample in %d had pending() = 0 and rp.local() = rp.server() within %v "+
			"(pending seen %d..%d; last: local %v, server %v, pending %d)\n%s",
			w.SettleSamples, settleTolerance, w.MinPending, w.MaxPending, w.Last.Local, w.Last.Server, w.Last.Pending, diag)
	}
	s := w.Settled
	if s.Pending != 0 || math.Abs(s.Local.X-s.Server.X) > settleTolerance || math.Abs(s.Local.Y-s.Server.Y) > settleTolerance {
		t.Fatalf("settle sample: local %v, server %v with %d pending, want equal with none pending", s.Local, s.Server, s.Pending)
	}
	t.Logf("settled %.0f ms after release at local %v = server %v", s.AfterReleaseMs, s.Local, s.Server)
	if s.Server.dist(w.Start.Server) < 1 {
		t.Errorf("the server's position stayed at %v while the prediction walked to %v", w.Start.Server, s.Local)
	}

	if !r.Bot.OK {
		t.Errorf("no bot moved (bots seen alive: %d; rp.others(): %s)\n%s", r.Bot.Bots, r.Bot.Others, diag)
	} else {
		t.Logf("bot %.0f moved %.1f units from %v to %v in %.0f ms", r.Bot.ID, r.Bot.Distance, r.Bot.From, r.Bot.To, r.Bot.Ms)
	}
}

// Screenshots must show a page, not a blank or a single color: at least this many distinct
// colors, and at most this share of the pixels in the most common one (the background).
const (
	minScreenshotColors   = 64
	maxBackgroundFraction = 0.97
)

// checkScreenshots checks every screenshot the driver reported, and that it reported each of
// paths.
func checkScreenshots(t *testing.T, run e2eRun, paths []string) {
	want := map[string]bool{}
	for _, p := range paths {
		want[p] = true
	}
	for _, l := range run.lines {
		if l.Str("event") != "screenshot" {
			continue
		}
		path := l.Str("path")
		delete(want, path)
		f, err := os.Open(path)
		if err != nil {
			t.Errorf("%s: %v", l.Str("page"), err)
			continue
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		colors, bg := colorStats(img)
		b := img.Bounds()
		t.Logf("%s: %dx%d, %d colors, background %.1f%%", path, b.Dx(), b.Dy(), colors, 100*bg)
		if err := notBlank(colors, bg); err != nil {
			t.Errorf("%s (%s): %v\n%s", path, l.Str("page"), err, run.diagnostics(l.Str("page")))
		}
	}
	for path := range want {
		t.Errorf("no screenshot %s", path)
	}
}

// notBlank judges a screenshot by colorStats.
func notBlank(colors int, background float64) error {
	if colors < minScreenshotColors {
		return fmt.Errorf("only %d distinct colors (want at least %d): the page looks blank", colors, minScreenshotColors)
	}
	if background > maxBackgroundFraction {
		return fmt.Errorf("%.1f%% of the pixels are one color (want at most %.0f%%): the page looks empty",
			100*background, 100*maxBackgroundFraction)
	}
	return nil
}

// colorStats counts the distinct colors of img and the share of its pixels that have the
// most common one.
func colorStats(img image.Image) (colors int, background float64) {
	counts := map[uint32]int{}
	b := img.Bounds()
	switch m := img.(type) {
	case *image.RGBA: // what png.Decode gives for Chromium's screenshots; At would be slow
		countPix(counts, m.Pix, m.Stride, b.Dx(), b.Dy())
	case *image.NRGBA:
		countPix(counts, m.Pix, m.Stride, b.Dx(), b.Dy())
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				counts[uint32(c.R)<<24|uint32(c.G)<<16|uint32(c.B)<<8|uint32(c.A)]++
			}
		}
	}
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	total := b.Dx() * b.Dy()
	if total == 0 {
		return 0, 1
	}
	return len(counts), float64(most) / float64(total)
}

func countPix(counts map[uint32]int, pix []byte, stride, w, h int) {
	for y := range h {
		row := pix[y*stride : y*stride+4*w]
		for i := 0; i < len(row); i += 4 {
			counts[uint32(row[i])<<24|uint32(row[i+1])<<16|uint32(row[i+2])<<8|uint32(row[i+3])]++
		}
	}
}

func TestScreenshotCheckRejectsBlankPages(t *testing.T) {
	const w, h = 320, 200
	fill := func(c color.NRGBA) *image.NRGBA {
		m := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				m.SetNRGBA(x, y, c)
			}
		}
		return m
	}
	white := color.NRGBA{255, 255, 255, 255}
	// A loading message: a few hundred pixels of anti-aliased text on white.
	loading := fill(white)
	for i := range 400 {
		v := uint8(i % 200)
		loading.SetNRGBA(10+i%100, 10+i/100, color.NRGBA{v, v, v, 255})
	}
	// A page: a grid of squares in many shades over a background.
	page := fill(color.NRGBA{11, 14, 20, 255})
	for y := range h {
		for x := range w {
			if (x/20+y/20)%3 == 0 {
				page.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
			}
		}
	}
	rgba := image.NewRGBA(page.Bounds())
	for y := range h {
		for x := range w {
			rgba.Set(x, y, page.At(x, y))
		}
	}
	paletted := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{white})
	tests := []struct {
		name string
		img  image.Image
		ok   bool
	}{
		{"white", fill(white), false},
		{"one color", fill(color.NRGBA{30, 60, 90, 255}), false},
		{"transparent", image.NewNRGBA(image.Rect(0, 0, w, h)), false},
		{"paletted one color", paletted, false},
		{"loading text", loading, false},
		{"page", page, true},
		{"page as RGBA", rgba, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := notBlank(colorStats(tc.img))
			if (err == nil) != tc.ok {
				t.Errorf("notBlank = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// killBrowser kills Chromium's process group when the driver left it behind (the driver was
// killed before it could close the browser). The pid comes from the driver's "browser" line;
// it is checked to still be a Chromium leading its own group, so that a recycled pid is
// never killed.
func killBrowser(t *testing.T, lines []peertest.Line) {
	var pid int
	for _, l := range lines {
		if l.Str("event") == "browser" {
			pid = l.Int("pid")
		}
	}
	if pid <= 0 {
		return
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return // gone: the driver closed it
	}
	open, end := strings.IndexByte(string(stat), '('), strings.LastIndexByte(string(stat), ')')
	if open < 0 || end < open {
		return
	}
	comm := string(stat[open+1 : end])
	fields := strings.Fields(string(stat[end+1:])) // state, ppid, pgrp, ...
	if len(fields) < 3 || !strings.Contains(strings.ToLower(comm), "chrom") || fields[2] != strconv.Itoa(pid) {
		return
	}
	t.Logf("killing Chromium's process group %d, left behind by the driver", pid)
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		t.Logf("kill Chromium: %v", err)
	}
}
