//go:build linux

package main

import (
	"fmt"
	"testing"
	"time"
)

// matchTimeout bounds the "Find a match" run: six pages, each a few seconds at most.
const matchTimeout = 90 * time.Second

type matchResult struct {
	Href              string      `json:"href"`
	FirstWaited       bool        `json:"firstWaited"`
	FirstStillWaiting bool        `json:"firstStillWaiting"`
	Shooter           []*pageSeat `json:"shooter"`
	Backfilled        *pageSeat   `json:"backfilled"`
	LoneWaited        bool        `json:"loneWaited"`
	Button            string      `json:"button"`
	Quick             *pageSeat   `json:"quick"`
	Crossword         []*pageSeat `json:"crossword"`
}

type pageSeat struct {
	Room   string `json:"room"`
	Player int    `json:"player"`
}

// TestBrowserFindsAMatch plays the start page's "Find a match" in headless Chromium against
// the gameserver as shipped (matchmaking on by default): two shooter players who queue one
// after the other play in the same new arena, the first having waited for the second; a
// third is seated at once in that arena (backfill); a lone crossword player's "Play now
// instead" withdraws the ticket and quick-plays the big puzzle; two crossword players who
// queue get a puzzle room of their own.
func TestBrowserFindsAMatch(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	run := runDriver(t, driverRun{timeout: matchTimeout, out: t.TempDir(), scenarios: "match"})
	var r matchResult
	run.result(t, "match", &r)
	diag := run.diagnostics("match")
	t.Logf("shooter %v + %v, backfilled %v; crossword alone %q → %v; crossword pair %v + %v", at(r.Shooter, 0), at(r.Shooter, 1), r.Backfilled, r.Button, r.Quick, at(r.Crossword, 0), at(r.Crossword, 1))
	if r.Href != "/shooter/?match=1" {
		t.Errorf("the shooter card's Find a match links to %q", r.Href)
	}
	if !r.FirstWaited || !r.FirstStillWaiting {
		t.Errorf("the first shooter player did not wait in the queue (rp.matching %v, still waiting alone %v)\n%s", r.FirstWaited, r.FirstStillWaiting, diag)
	}
	same := func(what string, s []*pageSeat) string {
		if len(s) != 2 || s[0] == nil || s[1] == nil {
			t.Fatalf("%s: seats %v\n%s", what, s, diag)
		}
		if s[0].Room == "" || s[0].Room != s[1].Room || s[0].Player == s[1].Player {
			t.Errorf("%s: matched players are in rooms %q (player %d) and %q (player %d), want one room", what, s[0].Room, s[0].Player, s[1].Room, s[1].Player)
		}
		return s[0].Room
	}
	arena := same("shooter", r.Shooter)
	if r.Backfilled == nil || r.Backfilled.Room != arena {
		t.Errorf("a third shooter player who asked for a match got %+v, want the free seat of %q", r.Backfilled, arena)
	}
	if !r.LoneWaited || r.Button != "Play now instead" {
		t.Errorf("a lone crossword player: waited %v, button %q\n%s", r.LoneWaited, r.Button, diag)
	}
	if r.Quick == nil || r.Quick.Room == "" {
		t.Fatalf("\"Play now instead\" joined nothing\n%s", diag)
	}
	puzzle := same("crossword", r.Crossword)
	if puzzle == r.Quick.Room {
		t.Errorf("the matched crossword players were put in the quick-play puzzle %q, want one of their own", puzzle)
	}
}

func (s *pageSeat) String() string {
	if s == nil {
		return "(no seat)"
	}
	return fmt.Sprintf("player %d in %s", s.Player, s.Room)
}

func at(s []*pageSeat, i int) *pageSeat {
	if i < len(s) {
		return s[i]
	}
	return nil
}
