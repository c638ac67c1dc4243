package shooter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/examples/shooter"
	"github.com/rallypoint/rallypoint/internal/peertest"
)

// pageFiles are the files the page is made of, with the Content-Type each must have:
// browsers refuse a module script with a non-JavaScript type.
var pageFiles = []struct {
	path  string
	ctype string
	has   string // a string the file must contain
}{
	{"/", "text/html; charset=utf-8", `src="./shooter.js"`},
	{"/index.html", "text/html; charset=utf-8", `<canvas id="arena"`},
	{"/shooter.js", "text/javascript; charset=utf-8", `from "/client/rallypoint.js"`},
	{"/sim.js", "text/javascript; charset=utf-8", "export function step("},
	{"/render.js", "text/javascript; charset=utf-8", "export class Renderer"},
	{"/input.js", "text/javascript; charset=utf-8", "export class Controls"},
	{"/touch.js", "text/javascript; charset=utf-8", "export class TouchControls"},
}

func get(t *testing.T, h http.Handler, method, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return res, string(body)
}

func TestWebServesPageFilesWithTheirTypes(t *testing.T) {
	h := shooter.Web()
	for _, f := range pageFiles {
		t.Run(f.path, func(t *testing.T) {
			res, body := get(t, h, http.MethodGet, f.path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != f.ctype {
				t.Errorf("Content-Type %q, want %q", got, f.ctype)
			}
			if !strings.Contains(body, f.has) {
				t.Errorf("body does not contain %q", f.has)
			}
			if res.Header.Get("ETag") == "" || res.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("ETag %q, Cache-Control %q: want a validator and no-cache",
					res.Header.Get("ETag"), res.Header.Get("Cache-Control"))
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
		})
	}
}

func TestWebRevalidatesWithETag(t *testing.T) {
	h := shooter.Web()
	res, _ := get(t, h, http.MethodGet, "/shooter.js", nil)
	etag := res.Header.Get("ETag")
	res, body := get(t, h, http.MethodGet, "/shooter.js", map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("If-None-Match %s: status %d with %d bytes, want 304 and no body", etag, res.StatusCode, len(body))
	}
	res, _ = get(t, h, http.MethodGet, "/sim.js", nil)
	if res.Header.Get("ETag") == etag {
		t.Fatal("shooter.js and sim.js have the same ETag")
	}
}

func TestWebRejectsOtherPathsAndMethods(t *testing.T) {
	h := shooter.Web()
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/nope.js", http.StatusNotFound},
		{http.MethodGet, "/web/index.html", http.StatusNotFound},
		{http.MethodGet, "/../web.go", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodPut, "/shooter.js", http.StatusMethodNotAllowed},
		{http.MethodHead, "/shooter.js", http.StatusOK},
	} {
		res, _ := get(t, h, c.method, c.path, nil)
		if res.StatusCode != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, res.StatusCode, c.status)
		}
	}
}

// TestWebMountedUnderPrefix serves the page as the server does, and checks that every
// relative module import of every script names a file that is served next to it.
func TestWebMountedUnderPrefix(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/shooter/", http.StripPrefix("/shooter/", shooter.Web()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	fetch := func(path string) (int, string) {
		res, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return res.StatusCode, string(b)
	}
	status, index := fetch("/shooter") // ServeMux redirects to /shooter/
	if status != http.StatusOK || !strings.Contains(index, "<canvas") {
		t.Fatalf("GET /shooter: status %d, body %.80q", status, index)
	}
	imports := regexp.MustCompile(`(?:from|src=)\s*"\./([a-z]+\.js)"`)
	seen := map[string]bool{}
	queue := []string{"index.html"}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		status, body := fetch("/shooter/" + name)
		if status != http.StatusOK {
			t.Fatalf("GET /shooter/%s: status %d", name, status)
		}
		for _, m := range imports.FindAllStringSubmatch(body, -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				queue = append(queue, m[1])
			}
		}
	}
	for _, want := range []string{"shooter.js", "sim.js", "input.js", "render.js", "touch.js"} {
		if !seen[want] {
			t.Errorf("%s is not imported by the page", want)
		}
	}
}

// TestWebScriptsParse parses every script of the page as an ES module with Node, so that a
// syntax error fails here rather than in a browser. The source goes through stdin with
// --input-type=module: `node --check file.js` exits 0 on Node 20 even for a module with a
// syntax error. A deliberately broken module shows the check can fail.
func TestWebScriptsParse(t *testing.T) {
	node := peertest.Node(t)
	files, err := filepath.Glob(filepath.Join("web", "*.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no web/*.js: %v", err)
	}
	check := func(src []byte) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, "--input-type=module", "--check")
		cmd.Stdin = bytes.NewReader(src)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	if check([]byte(`import { step } from "./sim.js"; const = ;`)) == nil {
		t.Fatal("node accepted a module with a syntax error: the check cannot fail")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := check(src); err != nil {
			t.Errorf("%s does not parse as a module: %v", f, err)
		}
	}
}

// stepRun is one start position and the keys held at each step from it.
type stepRun struct {
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	Keys []int   `json:"keys"` // uint8 values; []uint8 would marshal as base64
}

// randomRuns makes input sequences from each spawn point and from beside a few walls:
// keys (any of the 16 combinations, opposite keys included, sometimes with bits the game
// ignores) held for runs of 1 to 120 steps, long enough to cross the arena into walls and
// the border.
func randomRuns(seed uint64, steps int) []stepRun {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var starts [][2]float64
	for _, s := range shooter.Spawns {
		starts = append(starts, [2]float64{s.X, s.Y})
	}
	for i, w := range shooter.Walls {
		if i >= 4 {
			break
		}
		// Just left of the wall's middle (maybe inside another wall: Step copes with any start).
		r := float64(shooter.Radius)
		starts = append(starts, [2]float64{max(w.X-r-3, r), w.Y + w.H/2})
	}
	runs := make([]stepRun, 0, len(starts))
	for _, st := range starts {
		r := stepRun{X: st[0], Y: st[1], Keys: make([]int, 0, steps)}
		for len(r.Keys) < steps {
			k := rng.IntN(16)
			if rng.IntN(10) == 0 {
				k |= rng.IntN(16) << 4 // bits no key sets: both sides must ignore them
			}
			for n := 1 + rng.IntN(120); n > 0 && len(r.Keys) < steps; n-- {
				r.Keys = append(r.Keys, k)
			}
		}
		runs = append(runs, r)
	}
	return runs
}

// simScript replays runs (JSON file argv[3]) through sim.js (argv[2]) and writes to the
// file argv[4] one array per run: the position after each step, [x1, y1, x2, y2, ...].
// JSON.stringify writes the shortest decimal that reads back as the same double, so Go
// parses exactly the numbers JavaScript computed.
const simScript = `
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const { step } = await import(pathToFileURL(process.argv[2]).href);
const { walls, runs } = JSON.parse(readFileSync(process.argv[3], "utf8"));
const out = runs.map((r) => {
  let x = r.x, y = r.y;
  const xy = [];
  for (const k of r.keys) {
    [x, y] = step(x, y, k, walls);
    xy.push(x, y);
  }
  return xy;
});
writeFileSync(process.argv[4], JSON.stringify(out));
console.log(JSON.stringify({ runs: out.length }));
`

// TestSimMatchesStepBitForBit replays thousands of steps from several starts through Go's
// Step and the page's sim.js: client prediction is only free of corrections if the two
// compute the very same float64 at every step, walls and arena border included.
func TestSimMatchesStepBitForBit(t *testing.T) {
	node := peertest.Node(t)
	const steps = 4000
	runs := randomRuns(1, steps)
	if len(runs) < 4 {
		t.Fatalf("only %d start positions", len(runs))
	}

	// Go's side, and proof that the sequences do run into walls.
	want := make([][]float64, len(runs))
	wallStops := 0
	for i, r := range runs {
		x, y := r.X, r.Y
		for _, k := range r.Keys {
			nx, ny := shooter.Step(x, y, uint8(k))
			if blockedByWall(x, y, nx, ny, uint8(k)) {
				wallStops++
			}
			x, y = nx, ny
			want[i] = append(want[i], x, y)
		}
	}
	if wallStops < 50 {
		t.Fatalf("only %d steps stopped at a wall: the sequences do not test collisions", wallStops)
	}

	// The walls as the page gets them: the "map" request's answer.
	in, err := json.Marshal(map[string]any{"walls": shooter.Map().Walls, "runs": runs})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	inPath := filepath.Join(dir, "runs.json")
	if err := os.WriteFile(inPath, in, 0o600); err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(dir, "positions.json")
	runNode(t, node, simScript, simPath(t), inPath, outPath)
	raw, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]float64
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("Node's positions: %v", err)
	}
	if len(got) != len(runs) {
		t.Fatalf("Node replayed %d runs, want %d", len(got), len(runs))
	}
	for i, r := range runs {
		g := got[i]
		if len(g) != len(want[i]) {
			t.Fatalf("run %d: Node gave %d numbers, want %d", i, len(g), len(want[i]))
		}
		for s := 0; s < steps; s++ {
			gx, gy, wx, wy := g[2*s], g[2*s+1], want[i][2*s], want[i][2*s+1]
			if math.Float64bits(gx) != math.Float64bits(wx) || math.Float64bits(gy) != math.Float64bits(wy) {
				px, py := r.X, r.Y
				if s > 0 {
					px, py = want[i][2*s-2], want[i][2*s-1]
				}
				t.Fatalf("run %d step %d: from (%v, %v) with keys %d, Go Step gives (%v, %v), sim.js (%v, %v)",
					i, s, px, py, r.Keys[s], wx, wy, gx, gy)
			}
		}
	}
	t.Logf("%d runs × %d steps identical in Go and JavaScript; %d steps stopped at walls", len(runs), steps, wallStops)
}

// blockedByWall reports whether a step from (x, y) to (nx, ny) with keys k came up short
// of its full length on an axis that it moved on, away from the arena border: a wall
// stopped it.
func blockedByWall(x, y, nx, ny float64, k uint8) bool {
	full := float64(shooter.Speed) / 60 * 0.7 // shorter than even a diagonal step's axis part
	short := func(from, to float64, moving bool, lo, hi float64) bool {
		return moving && math.Abs(to-from) < full && to > lo && to < hi
	}
	r := float64(shooter.Radius)
	return short(x, nx, (k&4 != 0) != (k&8 != 0), r, float64(shooter.Width)-r) ||
		short(y, ny, (k&1 != 0) != (k&2 != 0), r, float64(shooter.Height)-r)
}

// simConstants prints sim.js's exported numbers as one JSON object.
const simConstants = `
import { pathToFileURL } from "node:url";
const sim = await import(pathToFileURL(process.argv[2]).href);
const out = {};
for (const [k, v] of Object.entries(sim)) if (typeof v === "number") out[k] = v;
console.log(JSON.stringify(out));
`

// TestSimConstantsMatchGo checks the numbers the page hard-codes in sim.js (arena, speed,
// key and fire bits, cooldowns, health, respawn time) against the game's Go constants.
func TestSimConstantsMatchGo(t *testing.T) {
	node := peertest.Node(t)
	lines := runNode(t, node, simConstants, simPath(t))
	if len(lines) != 1 {
		t.Fatalf("Node printed %d lines, want 1", len(lines))
	}
	var got map[string]float64
	if err := lines[0].Decode(&got); err != nil {
		t.Fatalf("Node printed %q: %v", lines[0].Raw, err)
	}
	want := map[string]float64{
		"WIDTH":            shooter.Width,
		"HEIGHT":           shooter.Height,
		"RADIUS":           shooter.Radius,
		"SPEED":            shooter.Speed,
		"TICK_RATE":        shooter.TickRate,
		"GRID":             shooter.Grid,
		"AIM_DIRECTIONS":   shooter.AimDirections,
		"UP":               float64(shooter.KeyUp),
		"DOWN":             float64(shooter.KeyDown),
		"LEFT":             float64(shooter.KeyLeft),
		"RIGHT":            float64(shooter.KeyRight),
		"FIRE_BLASTER":     float64(shooter.FireBlaster),
		"FIRE_ROCKET":      float64(shooter.FireRocket),
		"BLASTER_COOLDOWN": shooter.BlasterCooldown,
		"ROCKET_COOLDOWN":  shooter.RocketCooldown,
		"MAX_HEALTH":       shooter.MaxHealth,
		"RESPAWN_STEPS":    shooter.RespawnTicks,
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("sim.js exports no %s", k)
		} else if g != w {
			t.Errorf("sim.js %s = %v, Go says %v", k, g, w)
		}
	}
}

// simPath is the absolute path of the page's sim.js.
func simPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("web", "sim.js"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runNode runs an ES module script (given as text) with args and returns what it printed.
func runNode(t *testing.T, node, script string, args ...string) []peertest.Line {
	t.Helper()
	path := filepath.Join(t.TempDir(), "script.mjs")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lines, err := peertest.Run(ctx, t, node, append([]string{path}, args...)...)
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	return lines
}
