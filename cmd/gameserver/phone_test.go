//go:build linux

// The example games on a phone: the real server in process, and the pages played in headless
// Chromium as a phone (DevTools' mobile emulation at 390 × 844 and on its side, touch
// emulation, real touch events) by testdata/e2e/phone.mjs. No key is pressed and no mouse
// moves: what passes here is what a finger can do.
//
//	go test -run TestBrowserPlaysOnAPhone ./cmd/gameserver
//	RP_UPDATE_SCREENSHOTS=1 go test -run TestBrowserPlaysOnAPhone ./cmd/gameserver   # also docs/screenshots/*-phone.png

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/internal/peertest"
)

const (
	// phoneTimeout bounds the phone run: the shooter's fight lasts until a shot hits a bot
	// (at most 30 s, phone.mjs), the rest takes some 20 s.
	phoneTimeout = 90 * time.Second

	// A phone held upright turns the 5:3 arena a quarter round so that it spans the screen's
	// width; on its side the arena spans its height. Below these shares it is a strip again.
	minArenaWidthUpright = 0.95
	minArenaHeightOnSide = 0.80
	layoutTolerance      = 0.5 // CSS px: boxes are fractional
	minStickMove         = 1   // world units the server's position must move while the stick leans
)

// TestBrowserPlaysOnAPhone plays both example games with touches only. The shooter shows
// twin sticks and a rocket button and turns its arena to fill an upright screen; the left
// stick moves the player (the server's position of it changes), both sticks at once move
// and fire, a shot aimed with the right stick hits a bot, and the rocket button launches a
// rocket. In the crossword a tap on a square focuses the hidden input a phone's keyboard
// types into, a second tap turns, and a letter typed through that input (as an Android IME
// composes and commits it) and one tapped on the letter pad both show on a second page within
// a second. Neither page is wider than the screen, upright (390 × 844) or on its side
// (844 × 390).
func TestBrowserPlaysOnAPhone(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	names := []string{"shooter-phone.png", "crossword-phone.png"}
	out := screenshotDir(t, names...)
	docs := ""
	if os.Getenv("RP_UPDATE_SCREENSHOTS") == "1" {
		docs = filepath.Join(peertest.RepoRoot(t), "docs", "screenshots")
	}
	cells, _ := crosswordPlan(t, false)
	run := runDriver(t, driverRun{timeout: phoneTimeout, out: out, docs: docs, cells: cells, scenarios: "phone-shooter,phone-crossword"})

	t.Run("shooter", func(t *testing.T) { checkPhoneShooter(t, run) })
	t.Run("crossword", func(t *testing.T) { checkPhoneCrossword(t, run, cells) })
	t.Run("screenshots", func(t *testing.T) { checkScreenshots(t, run, screenshotPaths(out, docs, names...)) })
}

type box struct {
	Left   float64 `json:"left"`
	Right  float64 `json:"right"`
	Top    float64 `json:"top"`
	Bottom float64 `json:"bottom"`
}

func (b box) String() string {
	return fmt.Sprintf("[%.1f, %.1f] × [%.1f, %.1f]", b.Left, b.Right, b.Top, b.Bottom)
}

// within reports whether b lies inside a width × height screen.
func (b box) within(width, height float64) bool {
	return b.Left >= -layoutTolerance && b.Top >= -layoutTolerance && b.Right <= width+layoutTolerance && b.Bottom <= height+layoutTolerance
}

type arenaLayout struct {
	Width       float64 `json:"width"`
	Height      float64 `json:"height"`
	ScrollWidth float64 `json:"scrollWidth"`
	Touch       bool    `json:"touch"`
	Turned      bool    `json:"turned"`
	Arena       box     `json:"arena"`
}

type phoneShooterResult struct {
	Portrait  arenaLayout `json:"portrait"`
	Landscape arenaLayout `json:"landscape"`
	Moves     []struct {
		From       point    `json:"from"`
		To         point    `json:"to"`
		Distance   float64  `json:"distance"`
		MovedSteps int      `json:"movedSteps"`
		Held       []string `json:"held"`
		Died       bool     `json:"died"`
	} `json:"moves"`
	Fight struct {
		BothHeld       bool      `json:"bothHeld"`
		Aimed          int       `json:"aimed"`
		ClearAims      int       `json:"clearAims"`
		Shots          int       `json:"shots"`
		Hits           []float64 `json:"hits"`
		FirstHitMs     *float64  `json:"firstHitMs"`
		MovedSteps     int       `json:"movedSteps"`
		PredictedSteps int       `json:"predictedSteps"`
	} `json:"fight"`
	Rocket struct {
		Held []string `json:"held"`
		Seen bool     `json:"seen"`
		Ms   float64  `json:"ms"`
	} `json:"rocket"`
}

func checkPhoneShooter(t *testing.T, run e2eRun) {
	var r phoneShooterResult
	run.result(t, "phone-shooter", &r)
	diag := run.diagnostics("phone-shooter")

	for _, c := range []struct {
		name      string
		l         arenaLayout
		turned    bool
		share     float64 // of the screen's width (upright) or height (on its side) the arena spans
		minShare  float64
		dimension string
	}{
		{"upright", r.Portrait, true, (r.Portrait.Arena.Right - r.Portrait.Arena.Left) / r.Portrait.Width, minArenaWidthUpright, "width"},
		{"on its side", r.Landscape, false, (r.Landscape.Arena.Bottom - r.Landscape.Arena.Top) / r.Landscape.Height, minArenaHeightOnSide, "height"},
	} {
		l := c.l
		t.Logf("%s %gx%g: touch controls %v, turned %v, arena %v (%.0f%% of the %s)", c.name, l.Width, l.Height, l.Touch, l.Turned, l.Arena, 100*c.share, c.dimension)
		if !l.Touch {
			t.Errorf("%s: rp.touch().enabled is false on a touch screen: no touch controls", c.name)
		}
		if l.Turned != c.turned {
			t.Errorf("%s: rp.touch().turned = %v, want %v", c.name, l.Turned, c.turned)
		}
		if l.ScrollWidth > l.Width {
			t.Errorf("%s: the page scrolls sideways: scrollWidth %g > %g", c.name, l.ScrollWidth, l.Width)
		}
		if !l.Arena.within(l.Width, l.Height) {
			t.Errorf("%s: the arena %v does not fit the %gx%g screen", c.name, l.Arena, l.Width, l.Height)
		}
		if c.share < c.minShare {
			t.Errorf("%s: the arena spans %.0f%% of the screen's %s, want at least %.0f%%", c.name, 100*c.share, c.dimension, 100*c.minShare)
		}
	}

	if len(r.Moves) == 0 {
		t.Fatalf("no move with the stick reported\n%s", diag)
	}
	m := r.Moves[len(r.Moves)-1]
	t.Logf("move stick (attempt %d): held %v, server position %v -> %v (%.1f units), %d inputs with movement bits",
		len(r.Moves), m.Held, m.From, m.To, m.Distance, m.MovedSteps)
	switch {
	case m.Died:
		t.Errorf("the player was killed during each of %d walks with the stick\n%s", len(r.Moves), diag)
	case !slices.Contains(m.Held, "move"):
		t.Errorf("a finger on the move stick's place is not holding it: rp.touch().held = %v\n%s", m.Held, diag)
	case m.MovedSteps == 0:
		t.Errorf("no input with movement bits while the move stick leaned\n%s", diag)
	case m.Distance < minStickMove:
		t.Errorf("the server's position stayed at %v while the move stick leaned (%d inputs with movement bits sent)\n%s", m.From, m.MovedSteps, diag)
	}

	f := r.Fight
	t.Logf("both sticks: %d re-aims (%d at a bot in the open), %d shots, bot hits %v (first after %v ms), %d moving inputs of %d",
		f.Aimed, f.ClearAims, f.Shots, f.Hits, fmtMs(f.FirstHitMs), f.MovedSteps, f.PredictedSteps)
	if !f.BothHeld {
		t.Errorf("two fingers, one on each stick, were never both held (multi-touch)\n%s", diag)
	}
	if f.MovedSteps == 0 {
		t.Errorf("no input with movement bits while both sticks were held\n%s", diag)
	}
	if f.Shots == 0 {
		t.Errorf("holding the aim stick fired no shot\n%s", diag)
	} else if len(f.Hits) == 0 {
		t.Errorf("%d shots fired with the aim stick at bots (%d re-aims at one in the open) and none hit\n%s", f.Shots, f.ClearAims, diag)
	}

	if !slices.Contains(r.Rocket.Held, "rocket") {
		t.Errorf("a finger on the rocket button is not holding it: rp.touch().held = %v\n%s", r.Rocket.Held, diag)
	}
	if !r.Rocket.Seen {
		t.Errorf("holding the rocket button launched no rocket of the player's within the settle timeout\n%s", diag)
	} else {
		t.Logf("rocket button: a rocket in the snapshots after %.0f ms", r.Rocket.Ms)
	}
}

func fmtMs(ms *float64) string {
	if ms == nil {
		return "never"
	}
	return fmt.Sprintf("%.0f", *ms)
}

type pageLayout struct {
	Width       float64 `json:"width"`
	Height      float64 `json:"height"`
	ScrollWidth float64 `json:"scrollWidth"`
	Clue        string  `json:"clue"`
	ClueBox     box     `json:"clueBox"`
	BoardBox    box     `json:"boardBox"`
	PadShown    bool    `json:"padShown"`
}

type phoneCrosswordResult struct {
	TouchUI    bool       `json:"touchUI"`
	Portrait   pageLayout `json:"portrait"`
	WithPad    pageLayout `json:"withPad"`
	Landscape  pageLayout `json:"landscape"`
	Placements []struct {
		Row    int    `json:"row"`
		Col    int    `json:"col"`
		Letter string `json:"letter"`
		Via    string `json:"via"`
		Tap    struct {
			Focused string   `json:"focused"`
			Cursor  []int    `json:"cursor"`
			Clues   []string `json:"clues"`
		} `json:"tap"`
		PadShown     bool     `json:"padShown"`
		Before       string   `json:"before"`
		Typed        int      `json:"typed"`
		FocusedAfter string   `json:"focusedAfter"`
		Seen         bool     `json:"seen"`
		Last         string   `json:"last"`
		ElapsedMs    *float64 `json:"elapsedMs"`
		Own          string   `json:"own"`
	} `json:"placements"`
}

func checkPhoneCrossword(t *testing.T, run e2eRun, cells []placement) {
	var r phoneCrosswordResult
	run.result(t, "phone-crossword", &r)
	diag := run.diagnostics("phone-crossword")

	if !r.TouchUI {
		t.Errorf("the page did not switch to its touch layout (html.touch) on a touch screen")
	}
	for _, c := range []struct {
		name  string
		l     pageLayout
		fits  bool // the grid fits the screen without scrolling (on its side)
		onPad bool
	}{
		{"upright", r.Portrait, false, false},
		{"upright with the letter pad", r.WithPad, false, true},
		{"on its side", r.Landscape, true, true},
	} {
		l := c.l
		t.Logf("%s %gx%g: scrollWidth %g, clue %v %q, grid %v", c.name, l.Width, l.Height, l.ScrollWidth, l.ClueBox, l.Clue, l.BoardBox)
		if l.ScrollWidth > l.Width {
			t.Errorf("%s: the page scrolls sideways: scrollWidth %g > %g", c.name, l.ScrollWidth, l.Width)
		}
		if l.Clue == "" || !l.ClueBox.within(l.Width, l.Height) {
			t.Errorf("%s: the current clue (%q) is not on the screen: %v", c.name, l.Clue, l.ClueBox)
		}
		if c.fits && !l.BoardBox.within(l.Width, l.Height) {
			t.Errorf("%s: the grid %v does not fit the %gx%g screen", c.name, l.BoardBox, l.Width, l.Height)
		}
		if l.PadShown != c.onPad {
			t.Errorf("%s: letter pad shown %v, want %v", c.name, l.PadShown, c.onPad)
		}
	}

	ps, err := crossword.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	pz := ps[0] // what a new server's crossword room plays
	if len(r.Placements) != 2 || len(cells) < 2 {
		t.Fatalf("the driver made %d placements, want 2 (one through the phone's keyboard, one on the pad)\n%s", len(r.Placements), diag)
	}
	for i, p := range r.Placements {
		at := fmt.Sprintf("%q at row %d col %d via the %s", p.Letter, p.Row, p.Col, p.Via)
		if p.Row != cells[i].Row || p.Col != cells[i].Col || p.Letter != cells[i].Letter {
			t.Errorf("placement %d is %s, want %+v", i, at, cells[i])
		}
		if p.Tap.Focused != "keys" {
			t.Errorf("%s: after a tap on the square the focus is on %q, want the hidden input #keys (no phone keyboard would open)", at, p.Tap.Focused)
		}
		if !slices.Equal(p.Tap.Cursor, []int{p.Row, p.Col}) {
			t.Errorf("%s: a tap on the square put the cursor at %v", at, p.Tap.Cursor)
		}
		if len(p.Tap.Clues) == 3 && crosses(pz, p.Row, p.Col) {
			if p.Tap.Clues[1] == p.Tap.Clues[0] || p.Tap.Clues[2] != p.Tap.Clues[0] {
				t.Errorf("%s: taps on the square showed clues %q, want a second tap to turn and a third to turn back", at, p.Tap.Clues)
			}
		}
		switch p.Via {
		case "keyboard":
			if p.Typed < 1 {
				t.Errorf("%s: the hidden input took %d letters from the IME", at, p.Typed)
			}
		case "pad":
			if !p.PadShown {
				t.Errorf("%s: the letter pad did not show after a tap on its button", at)
			}
		}
		switch {
		case p.Before != "":
			t.Errorf("%s: the watching page showed %q there before", at, p.Before)
		case !p.Seen:
			t.Errorf("%s: the watching page never showed it (rp.letterAt = %q)\n%s", at, p.Last, diag)
		case p.ElapsedMs == nil || *p.ElapsedMs >= maxLetterLatency:
			t.Errorf("%s: the watching page showed it after %s ms, want < %d ms", at, fmtMs(p.ElapsedMs), maxLetterLatency)
		default:
			t.Logf("%s: the watching page showed it %.0f ms after it was typed", at, *p.ElapsedMs)
		}
		if p.Own != p.Letter {
			t.Errorf("%s: the phone's own rp.letterAt = %q", at, p.Own)
		}
	}
}

// crosses reports whether the square (row, col) of p is in both an across and a down word,
// where a second tap turns the cursor.
func crosses(p *crossword.Puzzle, row, col int) bool {
	i := row*p.Width + col
	return p.WordAt(i, crossword.Across) >= 0 && p.WordAt(i, crossword.Down) >= 0
}
