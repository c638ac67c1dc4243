package crossword_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/internal/peertest"
	"github.com/rallypoint/rallypoint/state"
)

// get sends one request to h and returns the response and its body.
func get(t *testing.T, h http.Handler, method, target string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return res, string(body)
}

func TestWebServesThePageWithItsTypes(t *testing.T) {
	h := crossword.Web()
	cases := []struct {
		path, ctype, has string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="crossword.js">`},
		{"/index.html", "text/html; charset=utf-8", `id="grid"`},
		{"/crossword.js", "text/javascript; charset=utf-8", `from "/client/rallypoint.js"`},
		{"/puzzle.js", "text/javascript; charset=utf-8", "export class Puzzle"},
		{"/view.js", "text/javascript; charset=utf-8", "export class View"},
		{"/typing.js", "text/javascript; charset=utf-8", "export class Typing"},
		{"/crossword.css", "text/css; charset=utf-8", ".cell"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, h, http.MethodGet, tc.path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if res.Header.Get("ETag") == "" || res.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("ETag %q, Cache-Control %q: want a validator and no-cache", res.Header.Get("ETag"), res.Header.Get("Cache-Control"))
			}
			if !strings.Contains(body, tc.has) {
				t.Errorf("body lacks %q", tc.has)
			}
			head, headBody := get(t, h, http.MethodHead, tc.path, nil)
			if head.StatusCode != http.StatusOK || headBody != "" || head.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("HEAD: %d, %d bytes, %q", head.StatusCode, len(headBody), head.Header.Get("Content-Type"))
			}
		})
	}
	if res, _ := get(t, h, http.MethodGet, "/", nil); !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("the page has no Content-Security-Policy: %q", res.Header.Get("Content-Security-Policy"))
	}
}

func TestWebRevalidatesWithETag(t *testing.T) {
	h := crossword.Web()
	res, _ := get(t, h, http.MethodGet, "/crossword.js", nil)
	etag := res.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) {
		t.Fatalf("ETag %q is not a strong validator", etag)
	}
	again, body := get(t, h, http.MethodGet, "/crossword.js", map[string]string{"If-None-Match": etag})
	if again.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("If-None-Match with the current ETag: %d with %d bytes, want 304 and none", again.StatusCode, len(body))
	}
	other, _ := get(t, h, http.MethodGet, "/puzzle.js", nil)
	if other.Header.Get("ETag") == etag {
		t.Fatalf("two files share the ETag %s", etag)
	}
}

func TestWebRejectsOtherPathsAndMethods(t *testing.T) {
	h := crossword.Web()
	cases := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/missing.js", http.StatusNotFound},
		{http.MethodGet, "/web/index.html", http.StatusNotFound},
		{http.MethodGet, "/../game.go", http.StatusNotFound},
		{http.MethodGet, "/puzzles/01-take-wing.txt", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/crossword.js", http.StatusMethodNotAllowed},
	}
	for _, tc := range cases {
		res, _ := get(t, h, tc.method, tc.path, nil)
		if res.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, res.StatusCode, tc.status)
		}
	}
}

// refs finds what a page or module loads: src and href attributes in HTML, import
// specifiers in JavaScript (static imports; the page uses no dynamic ones).
var refs = map[string]*regexp.Regexp{
	".html": regexp.MustCompile(`(?:src|href)="([^"#]+)"`),
	".js":   regexp.MustCompile(`(?m)^\s*(?:import\s*|(?:import|export)\s[^"';()=]*?\bfrom\s*)["']([^"']+)["']`),
}

// TestWebLoadsOnlyWhatItServes follows the page from index.html through every module it
// imports: each relative URL must be served by Web with a type a browser accepts for it,
// and the only absolute one must be the SDK the server mounts beside it.
func TestWebLoadsOnlyWhatItServes(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("/crossword", crossword.Web()))
	defer srv.Close()
	base, _ := url.Parse(srv.URL + "/crossword/")
	seen := map[string]bool{}
	queue := []*url.URL{base}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if seen[u.Path] {
			continue
		}
		seen[u.Path] = true
		if strings.HasPrefix(u.Scheme, "data") {
			continue
		}
		if u.Path == "/client/rallypoint.js" || u.Path == "/" {
			continue // the SDK, and the start page link: the gameserver's, tested there
		}
		resp, err := http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ext := filepath.Ext(u.Path)
		if u.Path == base.Path {
			ext = ".html"
		}
		want := map[string]string{".html": "text/html", ".js": "text/javascript", ".css": "text/css"}[ext]
		if resp.StatusCode != http.StatusOK || want == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), want) {
			t.Errorf("%s: %d %q", u.Path, resp.StatusCode, resp.Header.Get("Content-Type"))
			continue
		}
		re := refs[ext]
		if re == nil {
			continue
		}
		for _, m := range re.FindAllStringSubmatch(string(body), -1) {
			ref, err := u.Parse(m[1])
			if err != nil {
				t.Errorf("%s: bad reference %q", u.Path, m[1])
				continue
			}
			if ref.Host != u.Host && ref.Scheme != "data" {
				t.Errorf("%s loads %s from another host", u.Path, m[1])
			}
			queue = append(queue, ref)
		}
	}
	for _, want := range []string{"/crossword/crossword.js", "/crossword/puzzle.js", "/crossword/view.js", "/crossword/typing.js", "/crossword/crossword.css", "/client/rallypoint.js"} {
		if !seen[want] {
			t.Errorf("the page never loads %s (loaded: %v)", want, seen)
		}
	}
}

// pageCheck is run by Node against the page's modules. It prints one JSON line per check:
//
//	parse FILE...       {"parse": file, "error": "..."}: each file compiles as an ES module
//	board FIELDS.json   what puzzle.js makes of the board entity: numbers, the words through
//	                    each square, the first square, the colors of players 0..63, and the
//	                    cursor moves asked for in the file
const pageCheck = `
import vm from "node:vm";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "parse") {
  for (const f of args) {
    let error = "";
    try {
      new vm.SourceTextModule(readFileSync(f, "utf8"), { identifier: f });
    } catch (e) {
      error = String(e);
    }
    console.log(JSON.stringify({ parse: f, error }));
  }
} else if (cmd === "board") {
  const pz = await import(pathToFileURL(args[0]).href);
  const input = JSON.parse(readFileSync(args[1], "utf8"));
  const p = new pz.Puzzle(input.values);
  const key = (c) => (c === undefined ? "" : c.key);
  const words = [];
  for (let sq = 0; sq < p.width * p.height; sq++) {
    const { row, col } = p.at(sq);
    words.push([key(p.wordAt(row, col, pz.ACROSS)), key(p.wordAt(row, col, pz.DOWN))]);
  }
  const colors = [];
  for (let id = 0; id < 64; id++) colors.push(pz.color(id));
  const moves = input.moves.map((m) => {
    const filled = new Set(m.filled.map(([r, c]) => p.index(r, c)));
    const dir = m.dir === "down" ? pz.DOWN : pz.ACROSS;
    const at = m.op === "advance" ? p.advance(m.row, m.col, dir, (sq) => filled.has(sq))
      : m.op === "back" ? p.back(m.row, m.col, dir)
      : p.step(m.row, m.col, m.dr, m.dc) ?? { row: -1, col: -1 };
    return [at.row, at.col];
  });
  console.log(JSON.stringify({ id: p.id, title: p.title, width: p.width, height: p.height, white: p.white, numbers: p.numbers, words, first: p.first(), colors, moves }));
}
`

// runPageCheck writes pageCheck to a temporary file and runs it with Node.
func runPageCheck(t *testing.T, args ...string) []peertest.Line {
	t.Helper()
	node := peertest.Node(t)
	script := filepath.Join(t.TempDir(), "check.mjs")
	if err := os.WriteFile(script, []byte(pageCheck), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lines, err := peertest.Run(ctx, t, node, append([]string{"--experimental-vm-modules", "--no-warnings", script}, args...)...)
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	return lines
}

// TestWebScriptsParse compiles every module of the page as Node would (an ES module, not
// run), so that a syntax error fails here rather than in a browser. (node --check does not
// check ES modules.)
func TestWebScriptsParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("web", "*.js"))
	if err != nil || len(files) < 3 {
		t.Fatalf("web/*.js: %v %v", files, err)
	}
	for i, f := range files {
		if files[i], err = filepath.Abs(f); err != nil {
			t.Fatal(err)
		}
	}
	lines := runPageCheck(t, append([]string{"parse"}, files...)...)
	if len(lines) != len(files) {
		t.Fatalf("%d results for %d files: %v", len(lines), len(files), lines)
	}
	for _, l := range lines {
		if l.Str("error") != "" {
			t.Errorf("%s: %s", l.Str("parse"), l.Str("error"))
		}
	}
}

// move is a cursor move the page computes (puzzle.js), with where it must land.
type move struct {
	Op       string   `json:"op"` // "advance" (after typing), "back" (Backspace), "step" (arrows)
	Row      int      `json:"row"`
	Col      int      `json:"col"`
	Dir      string   `json:"dir,omitempty"`
	DR       int      `json:"dr"`
	DC       int      `json:"dc"`
	Filled   [][2]int `json:"filled"`
	WantRow  int      `json:"-"`
	WantCol  int      `json:"-"`
	Describe string   `json:"-"`
}

// TestWebReadsTheBoardTheServerSends joins a real room and gives the board entity, as it
// came over the wire, to the page's puzzle.js: the words it finds through each square must
// be the server's, the player colors it computes the server's, and its cursor moves those
// described below (on "Take Wing": CRANE / H#N#V / EAGLE / S#E#N / TAROT).
func TestWebReadsTheBoardTheServerSends(t *testing.T) {
	s := start(t, nil)
	c, _ := s.join(t, "reader", "")
	var fields []any
	waitFor(t, "the board", func() bool {
		ok := false
		c.State(func(m *state.Mirror, _ uint32) {
			e, found := m.Entity(state.RoomID)
			if !found {
				return
			}
			fields = make([]any, len(e.Fields))
			for i, raw := range e.Fields {
				if msgpack.Unmarshal(raw, &fields[i]) != nil {
					return
				}
			}
			ok = true
		})
		return ok
	})
	p := builtin(t, fields[0].(string))
	if p.ID != "01-take-wing" {
		t.Fatalf("the first puzzle is %s; the moves below are for 01-take-wing", p.ID)
	}

	moves := []move{
		{Describe: "typing moves to the next square of the word", Op: "advance", Row: 0, Col: 0, Dir: "across", WantRow: 0, WantCol: 1},
		{Describe: "typing skips filled squares", Op: "advance", Row: 0, Col: 0, Dir: "across", Filled: [][2]int{{0, 1}, {0, 2}}, WantRow: 0, WantCol: 3},
		{Describe: "a full word: the next square anyway", Op: "advance", Row: 0, Col: 1, Dir: "across", Filled: [][2]int{{0, 2}, {0, 3}, {0, 4}}, WantRow: 0, WantCol: 2},
		{Describe: "the end of a word stays", Op: "advance", Row: 0, Col: 4, Dir: "across", WantRow: 0, WantCol: 4},
		{Describe: "down", Op: "advance", Row: 0, Col: 2, Dir: "down", Filled: [][2]int{{1, 2}}, WantRow: 2, WantCol: 2},
		{Describe: "backspace goes back", Op: "back", Row: 2, Col: 3, Dir: "across", WantRow: 2, WantCol: 2},
		{Describe: "backspace jumps black squares", Op: "back", Row: 2, Col: 1, Dir: "down", WantRow: 0, WantCol: 1},
		{Describe: "backspace at the edge stays", Op: "back", Row: 0, Col: 0, Dir: "across", WantRow: 0, WantCol: 0},
		{Describe: "an arrow jumps black squares", Op: "step", Row: 1, Col: 0, DC: 1, WantRow: 1, WantCol: 2},
		{Describe: "an arrow at the edge goes nowhere", Op: "step", Row: 4, Col: 4, DR: 1, WantRow: -1, WantCol: -1},
	}
	for i := range moves {
		if moves[i].Filled == nil {
			moves[i].Filled = [][2]int{}
		}
	}
	// The page reads the room state by the names of the schema the server sends.
	values := map[string]any{}
	for i, f := range crossword.Schema.Room {
		values[f.Name] = fields[i]
	}
	input, err := json.Marshal(map[string]any{"values": values, "moves": moves})
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "board.json")
	if err := os.WriteFile(in, input, 0o644); err != nil {
		t.Fatal(err)
	}
	module, err := filepath.Abs(filepath.Join("web", "puzzle.js"))
	if err != nil {
		t.Fatal(err)
	}
	lines := runPageCheck(t, "board", module, in)
	if len(lines) != 1 {
		t.Fatalf("node printed %v", lines)
	}
	var got struct {
		ID, Title     string
		Width, Height int
		White         int
		Numbers       []int
		Words         [][2]string
		First         struct{ Row, Col int }
		Colors        []string
		Moves         [][2]int
	}
	if err := lines[0].Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.ID != p.ID || got.Title != p.Title || got.Width != p.Width || got.Height != p.Height || got.White != p.White() {
		t.Fatalf("puzzle.js read %s %q %dx%d with %d white squares, want %s %q %dx%d with %d",
			got.ID, got.Title, got.Width, got.Height, got.White, p.ID, p.Title, p.Width, p.Height, p.White())
	}
	if got.First.Row != 0 || got.First.Col != 0 {
		t.Errorf("first square %+v, want 0,0", got.First)
	}
	for sq := range p.Width * p.Height {
		for d, dir := range []crossword.Direction{crossword.Across, crossword.Down} {
			want := ""
			if k := p.WordAt(sq, dir); k >= 0 {
				want = fmt.Sprintf("%d%c", p.Clues[k].Number, "AD"[d])
				if p.Clues[k].Row*p.Width+p.Clues[k].Col == sq && got.Numbers[sq] != p.Clues[k].Number {
					t.Errorf("square %d is numbered %d, want %d", sq, got.Numbers[sq], p.Clues[k].Number)
				}
			}
			if got.Words[sq][d] != want {
				t.Errorf("square %d, %s: word %q, want %q", sq, dir, got.Words[sq][d], want)
			}
		}
	}
	for id, c := range got.Colors {
		if want := crossword.Color(uint32(id)); c != want {
			t.Errorf("color(%d) = %s, want %s as the server's", id, c, want)
		}
	}
	for i, m := range moves {
		if got.Moves[i] != [2]int{m.WantRow, m.WantCol} {
			t.Errorf("%s: %s from %d,%d %s: at %v, want %d,%d", m.Describe, m.Op, m.Row, m.Col, m.Dir, got.Moves[i], m.WantRow, m.WantCol)
		}
	}
}
