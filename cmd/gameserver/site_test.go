package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"
)

// fetch GETs u without following redirects and returns the response and its body.
func fetch(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestStartPageLinksBothGames(t *testing.T) {
	addr, stop := startServer(t)
	defer stop()
	resp, body := fetch(t, "http://"+addr+"/")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("/: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`href="/crossword/"`, `href="/shooter/"`, `href="/crossword/?match=1"`, `href="/shooter/?match=1"`, `href="/metrics"`, `fetch("/rooms?limit=1"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the start page lacks %s", want)
		}
	}
}

func TestOnlyKnownPathsAreServed(t *testing.T) {
	addr, stop := startServer(t)
	defer stop()
	cases := []struct {
		path     string
		status   int
		location string
	}{
		{"/nope", http.StatusNotFound, ""},
		{"/index.html", http.StatusNotFound, ""},
		{"/crossword/missing.js", http.StatusNotFound, ""},
		{"/shooter/missing.js", http.StatusNotFound, ""},
		{"/crossword", http.StatusMovedPermanently, "/crossword/"},
		{"/shooter", http.StatusMovedPermanently, "/shooter/"},
	}
	for _, tc := range cases {
		resp, _ := fetch(t, "http://"+addr+tc.path)
		// ServeMux redirects with 301, or 307 in newer Go: either keeps a browser on the page.
		got := resp.StatusCode
		if got == http.StatusTemporaryRedirect {
			got = http.StatusMovedPermanently
		}
		if got != tc.status || resp.Header.Get("Location") != tc.location {
			t.Errorf("%s: %d to %q, want %d to %q", tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.status, tc.location)
		}
	}
}

// What a page loads, by the type the response must have: scripts (module src and import
// specifiers) must be JavaScript, stylesheets CSS; a link only has to answer 200.
var (
	scriptSrc  = regexp.MustCompile(`<script[^>]*\ssrc="([^"]+)"`)
	stylesheet = regexp.MustCompile(`<link[^>]*\srel="stylesheet"[^>]*\shref="([^"]+)"`)
	anchor     = regexp.MustCompile(`<a[^>]*\shref="([^"]+)"`)
	// import "x"; import a, {b} from "x"; export {c} from "x": a clause has no quotes,
	// parentheses or "=", so the pattern cannot run on into code.
	jsImport = regexp.MustCompile(`(?m)^\s*(?:import\s*|(?:import|export)\s[^"';()=]*?\bfrom\s*)["']([^"']+)["']`)
)

// TestPagesLoadEverythingTheyReference starts at / and follows every link, script,
// stylesheet and module import on this host, so that a page never imports a file the
// server does not serve, or serves with a type the browser refuses for a module.
func TestPagesLoadEverythingTheyReference(t *testing.T) {
	addr, stop := startServer(t)
	defer stop()
	type ref struct {
		u    *url.URL
		want string // the Content-Type prefix, or "" for any
		from string
	}
	root, _ := url.Parse("http://" + addr + "/")
	queue := []ref{{root, "text/html", "(start)"}}
	seen := map[string]string{}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		if r.u.Host != root.Host || r.u.Scheme != "http" {
			continue // data: icons, other sites
		}
		key := r.u.Path
		if prev, ok := seen[key]; ok && (prev == r.want || r.want == "") {
			continue
		}
		seen[key] = r.want
		resp, body := fetch(t, r.u.String())
		ctype := resp.Header.Get("Content-Type")
		if resp.StatusCode != 200 || !strings.HasPrefix(ctype, r.want) {
			t.Errorf("%s (from %s): %d %q, want 200 %q", r.u.Path, r.from, resp.StatusCode, ctype, r.want)
			continue
		}
		add := func(re *regexp.Regexp, want string) {
			for _, m := range re.FindAllStringSubmatch(body, -1) {
				u, err := r.u.Parse(m[1])
				if err != nil {
					t.Errorf("%s: bad reference %q", r.u.Path, m[1])
					continue
				}
				queue = append(queue, ref{u, want, r.u.Path})
			}
		}
		switch {
		case strings.HasPrefix(ctype, "text/html"):
			add(scriptSrc, "text/javascript")
			add(stylesheet, "text/css")
			add(anchor, "")
		case strings.HasPrefix(ctype, "text/javascript") && path.Ext(r.u.Path) == ".js":
			add(jsImport, "text/javascript")
		}
	}
	for _, want := range []string{"/crossword/", "/crossword/crossword.js", "/crossword/puzzle.js", "/crossword/crossword.css",
		"/shooter/", "/shooter/shooter.js", "/client/rallypoint.js", "/metrics", "/rooms"} {
		if _, ok := seen[want]; !ok {
			t.Errorf("nothing reachable from / loads %s", want)
		}
	}
	if seen["/client/rallypoint.js"] != "text/javascript" {
		t.Errorf("no page imports /client/rallypoint.js as a module")
	}
}

// TestRoomsCountsWhatTheStartPageShows checks the fields the start page reads from /rooms
// to count each game's rooms and players.
func TestRoomsCountsWhatTheStartPageShows(t *testing.T) {
	addr, stop := startServer(t)
	defer stop()
	playCrossword(t, addr)
	resp, body := fetch(t, "http://"+addr+"/rooms")
	if resp.StatusCode != 200 {
		t.Fatalf("/rooms: %d", resp.StatusCode)
	}
	var list struct {
		Rooms []struct {
			Game    string `json:"game"`
			Players int    `json:"players"`
		} `json:"rooms"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("/rooms: %v in %s", err, body)
	}
	players := map[string]int{}
	for _, r := range list.Rooms {
		players[r.Game] += r.Players
	}
	if len(list.Rooms) != 1 || players["crossword"] != 1 {
		t.Fatalf("/rooms after one crossword player joined: %s", body)
	}
	// The start page reads the totals of /rooms?limit=1.
	_, body = fetch(t, "http://"+addr+"/rooms?limit=1")
	var totals struct {
		Games map[string]struct{ Rooms, Players int } `json:"games"`
	}
	if err := json.Unmarshal([]byte(body), &totals); err != nil {
		t.Fatalf("/rooms?limit=1: %v in %s", err, body)
	}
	if g := totals.Games["crossword"]; g.Rooms != 1 || g.Players != 1 {
		t.Fatalf("/rooms?limit=1 totals after one crossword player joined: %s", body)
	}
}
