package match

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWindowCurve(t *testing.T) {
	c := WindowCurve{Initial: 50, Delay: 5 * time.Second, PerSecond: 10, Max: 200}
	for _, tc := range []struct {
		wait time.Duration
		want float64
	}{{0, 50}, {5 * time.Second, 50}, {6 * time.Second, 60}, {15 * time.Second, 150}, {time.Hour, 200}} {
		if got := c.At(tc.wait); got != tc.want {
			t.Errorf("At(%v) = %v, want %v", tc.wait, got, tc.want)
		}
	}
	if got := (WindowCurve{Initial: 1, PerSecond: 1}).At(time.Hour); got != 3601 {
		t.Errorf("uncapped At(1h) = %v", got)
	}
}

// TestRatingWindowWidensWithWait: a far-apart pair matches only once both have waited long
// enough for each to accept the other.
func TestRatingWindowWidensWithWait(t *testing.T) {
	// duel(): window 50 + 10/s. A gap of 300 needs 25 s of waiting from both tickets.
	for _, tc := range []struct {
		name         string
		gap          float64
		waitA, waitB time.Duration // how long each has waited at the pass
		match        bool
	}{
		{"close ratings match at once", 40, 0, 0, true},
		{"far ratings wait", 300, 0, 0, false},
		{"far ratings match after both widened", 300, 25 * time.Second, 25 * time.Second, true},
		{"one wide window is not enough", 300, 60 * time.Second, 0, false},
		{"just short of the window", 300, 24 * time.Second, 60 * time.Second, false},
		{"beyond the cap never matches", 600, time.Hour, time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := newLocal(t, Options{}, duel())
			now := t0.Add(time.Hour)
			a, b := tk("duel", "a", 1000, "eu", "p1"), tk("duel", "b", 1000+tc.gap, "eu", "p2")
			a.Created, b.Created = now.Add(-tc.waitA), now.Add(-tc.waitB)
			mustEnqueue(t, l, a, b)
			if got := len(l.Pass(now)) == 1; got != tc.match {
				t.Fatalf("matched = %v, want %v", got, tc.match)
			}
		})
	}
}

func TestRatingWindowIsReachedOverPasses(t *testing.T) {
	l, c := newLocal(t, Options{}, duel())
	mustEnqueue(t, l, tk("duel", "a", 1000, "eu", "p1"), tk("duel", "b", 1300, "eu", "p2"))
	for s := 0; s < 25; s++ {
		if ms := l.Pass(c.Now()); len(ms) != 0 {
			t.Fatalf("matched after %d s with a window of %v", s, duel().Window.At(time.Duration(s)*time.Second))
		}
		c.Advance(time.Second)
	}
	if ms := l.Pass(c.Now()); len(ms) != 1 {
		t.Fatalf("not matched after 25 s")
	}
}

// TestMatchesNearestRatings: with many tickets in one window, a match takes the anchor's
// nearest neighbours, so the spread inside matches stays small.
func TestMatchesNearestRatings(t *testing.T) {
	cfg := QueueConfig{Mode: "m", MinPlayers: 2, MaxPlayers: 2, RatingKey: "rating", Window: WindowCurve{Initial: 1000}}
	l, c := newLocal(t, Options{}, cfg)
	for i, r := range []float64{100, 900, 110, 905, 500, 505} {
		mustEnqueue(t, l, tk("m", fmt.Sprint("r", r), r, "", fmt.Sprint("p", i)))
	}
	got := ids(l.Pass(c.Now()))
	want := []string{"r100+r110", "r500+r505", "r900+r905"}
	if !slices.Equal(got, want) {
		t.Fatalf("matches %v, want %v", got, want)
	}
}

// TestOldestTicketsAreMatchedFirst: when there are more tickets than seats, the ones that
// waited longest get them.
func TestOldestTicketsAreMatchedFirst(t *testing.T) {
	cfg := QueueConfig{Mode: "m", MinPlayers: 2, MaxPlayers: 2}
	l, c := newLocal(t, Options{}, cfg)
	for i := range 3 {
		x := tk("m", fmt.Sprint("t", i), 0, "", fmt.Sprint("p", i))
		x.Created = t0.Add(time.Duration(3-i) * time.Second) // t2 is the oldest
		mustEnqueue(t, l, x)
	}
	if got := ids(l.Pass(c.Now().Add(time.Minute))); !slices.Equal(got, []string{"t1+t2"}) {
		t.Fatalf("matches %v, want [t1+t2]", got)
	}
}

func TestRegionPreferenceRelaxesWithWait(t *testing.T) {
	for _, tc := range []struct {
		name  string
		waits map[string]time.Duration // by ticket; region is the id's prefix
		want  []string
	}{
		{"same region matches", map[string]time.Duration{"eu1": 0, "eu2": 0}, []string{"eu1+eu2"}},
		{"regions apart wait", map[string]time.Duration{"eu1": 0, "us1": 0}, nil},
		{"one relaxed ticket is not enough", map[string]time.Duration{"eu1": time.Minute, "us1": 0}, nil},
		{"both relaxed match across regions", map[string]time.Duration{"eu1": time.Minute, "us1": 30 * time.Second}, []string{"eu1+us1"}},
		{"own region first even when relaxed", map[string]time.Duration{"eu1": time.Minute, "us1": time.Minute, "eu2": 0}, []string{"eu1+eu2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := newLocal(t, Options{}, duel())
			now := t0.Add(time.Hour)
			for id, w := range tc.waits {
				x := tk("duel", id, 1000, id[:2], "p-"+id)
				x.Created = now.Add(-w)
				mustEnqueue(t, l, x)
			}
			if got := ids(l.Pass(now)); !slices.Equal(got, tc.want) {
				t.Fatalf("matches %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPartiesStayWhole: a party is matched whole, never split, and never overfills a match.
func TestPartiesStayWhole(t *testing.T) {
	for _, tc := range []struct {
		name    string
		min     int
		parties []int // sizes, ticket i is "t<i>"
		want    []string
	}{
		{"party of four and two pairs fill eight", 8, []int{4, 2, 2}, []string{"t0+t1+t2"}},
		{"two parties of five never share eight seats", 8, []int{5, 5}, nil},
		{"a party too big for the seats left is skipped", 8, []int{5, 4, 3}, []string{"t0+t2"}},
		{"solos complete a party", 8, []int{6, 1, 1, 1}, []string{"t0+t1+t2"}},
		{"a full party is a match by itself", 8, []int{8, 1}, []string{"t0"}},
		{"below MinPlayers waits", 6, []int{2, 3}, nil},
		{"between Min and Max is a match", 6, []int{2, 3, 2}, []string{"t0+t1+t2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := QueueConfig{Mode: "m", MinPlayers: tc.min, MaxPlayers: 8}
			l, c := newLocal(t, Options{}, cfg)
			var all []Ticket
			for i, n := range tc.parties {
				var ps []string
				for j := range n {
					ps = append(ps, fmt.Sprintf("t%d-p%d", i, j))
				}
				x := Ticket{ID: fmt.Sprint("t", i), Mode: "m", Players: ps, Created: t0.Add(time.Duration(i) * time.Millisecond)}
				all = append(all, x)
				mustEnqueue(t, l, x)
			}
			ms := l.Pass(c.Now().Add(time.Second))
			if got := ids(ms); !slices.Equal(got, tc.want) {
				t.Fatalf("matches %v, want %v", got, tc.want)
			}
			for _, m := range ms {
				if n := len(m.Players()); n < tc.min || n > 8 {
					t.Errorf("match of %d players", n)
				}
				for _, x := range m.Tickets {
					var orig Ticket
					for _, o := range all {
						if o.ID == x.ID {
							orig = o
						}
					}
					if !slices.Equal(x.Players, orig.Players) {
						t.Errorf("ticket %s players %v, want %v", x.ID, x.Players, orig.Players)
					}
				}
			}
		})
	}
}

// TestBackfillFillsOpenSeatsFirst: open seats in running rooms are filled before new rooms
// are made, within the room's seats, rating and region.
func TestBackfillFillsOpenSeatsFirst(t *testing.T) {
	squad := QueueConfig{
		Mode: "squad", MinPlayers: 4, MaxPlayers: 4, Backfill: true,
		RatingKey: "rating", Window: WindowCurve{Initial: 100},
		RegionKey: "region", RegionRelaxAfter: time.Minute,
	}
	room := func(id string, free int, rating float64, region string) OpenRoom {
		return OpenRoom{ID: id, FreeSeats: free, Numbers: map[string]float64{"rating": rating}, Strings: map[string]string{"region": region}}
	}
	solo := func(id string, rating float64, region string) Ticket {
		return tk("squad", id, rating, region, "p-"+id)
	}
	for _, tc := range []struct {
		name    string
		rooms   []OpenRoom
		tickets []Ticket
		want    []string
	}{
		{"open seats before a new room",
			[]OpenRoom{room("R", 2, 1000, "eu")},
			[]Ticket{solo("a", 1000, "eu"), solo("b", 1000, "eu"), solo("c", 1000, "eu"), solo("d", 1000, "eu")},
			[]string{"R:a+b"}},
		{"the rest make a new room",
			[]OpenRoom{room("R", 1, 1000, "eu")},
			[]Ticket{solo("a", 1000, "eu"), solo("b", 1001, "eu"), solo("c", 1002, "eu"), solo("d", 1003, "eu"), solo("e", 1004, "eu")},
			[]string{"R:a", "b+c+d+e"}},
		{"never more than the free seats",
			[]OpenRoom{room("R", 3, 1000, "eu")},
			[]Ticket{tk("squad", "duo", 1000, "eu", "x,y"), tk("squad", "duo2", 1000, "eu", "z,w"), solo("a", 1000, "eu")},
			[]string{"R:a+duo"}},
		{"nearest ratings first",
			[]OpenRoom{room("R", 1, 1000, "eu")},
			[]Ticket{solo("far", 1090, "eu"), solo("near", 1010, "eu")},
			[]string{"R:near"}},
		{"outside the ticket's window",
			[]OpenRoom{room("R", 1, 1000, "eu")},
			[]Ticket{solo("a", 1200, "eu")},
			nil},
		{"another region",
			[]OpenRoom{room("R", 1, 1000, "us")},
			[]Ticket{solo("a", 1000, "eu")},
			nil},
		{"fullest room first",
			[]OpenRoom{room("big", 3, 1000, "eu"), room("small", 1, 1000, "eu")},
			[]Ticket{solo("a", 1000, "eu")},
			[]string{"small:a"}},
		{"a room without rating or region takes the oldest",
			[]OpenRoom{{ID: "R", FreeSeats: 1}},
			[]Ticket{solo("young", 1000, "eu"), solo("old", 3000, "us")},
			[]string{"R:old"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open := OpenRoomsFunc(func(mode string) []OpenRoom {
				if mode != "squad" {
					t.Errorf("OpenRooms(%q)", mode)
				}
				return tc.rooms
			})
			l, c := newLocal(t, Options{OpenRooms: open}, squad)
			for i, x := range tc.tickets {
				x.Created = t0.Add(-time.Duration(i) * time.Millisecond) // later tickets are older
				if x.ID == "young" {
					x.Created = t0
				}
				mustEnqueue(t, l, x)
			}
			if got := ids(l.Pass(c.Now())); !slices.Equal(got, tc.want) {
				t.Fatalf("matches %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBackfillOnlyWhereTheQueueAllowsIt(t *testing.T) {
	called := false
	open := OpenRoomsFunc(func(string) []OpenRoom { called = true; return []OpenRoom{{ID: "R", FreeSeats: 4}} })
	l, c := newLocal(t, Options{OpenRooms: open}, QueueConfig{Mode: "m", MinPlayers: 2, MaxPlayers: 2})
	mustEnqueue(t, l, tk("m", "a", 0, "", "p1"), tk("m", "b", 0, "", "p2"))
	if got := ids(l.Pass(c.Now())); !slices.Equal(got, []string{"a+b"}) || called {
		t.Fatalf("matches %v, OpenRooms called %v", got, called)
	}
}

// TestMatchFuncProposalsAreChecked: a game's match function decides, and the matchmaker
// keeps only what is sound.
func TestMatchFuncProposalsAreChecked(t *testing.T) {
	var pool []Ticket
	cfg := QueueConfig{Mode: "m", MinPlayers: 2, MaxPlayers: 3, Backfill: true,
		MatchFunc: func(now time.Time, p []Ticket, rooms []OpenRoom) []Proposal {
			pool = p
			return []Proposal{
				{Tickets: []int{0, 1}},            // ok
				{Tickets: []int{1, 2}},            // 1 is used already
				{Tickets: []int{2}},               // below MinPlayers
				{Tickets: []int{2, 2}},            // 2 twice
				{Tickets: []int{2, 99}},           // out of range
				{Room: "nope", Tickets: []int{2}}, // not an open room
				{Room: "R", Tickets: []int{2, 3}}, // more than its seat
				{Room: "R", Tickets: []int{3}},    // ok
				{Tickets: []int{2, 4, 5}},         // ok
				{},                                // empty
			}
		}}
	open := OpenRoomsFunc(func(string) []OpenRoom { return []OpenRoom{{ID: "R", FreeSeats: 1}} })
	l, c := newLocal(t, Options{OpenRooms: open}, cfg)
	for i := range 6 {
		x := tk("m", fmt.Sprint("t", i), 0, "", fmt.Sprint("p", i))
		x.Created = t0.Add(time.Duration(i) * time.Second)
		mustEnqueue(t, l, x)
	}
	got := ids(l.Pass(c.Now().Add(time.Minute)))
	if want := []string{"R:t3", "t0+t1", "t2+t4+t5"}; !slices.Equal(got, want) {
		t.Fatalf("matches %v, want %v", got, want)
	}
	if len(pool) != 6 || pool[0].ID != "t0" || pool[5].ID != "t5" {
		t.Errorf("pool not oldest first: %v", pool)
	}
	if s := l.Stats(); s.Rejected != 7 {
		t.Errorf("Rejected = %d, want 7", s.Rejected)
	}
}

// TestPassDoesNotHoldTheLockWhileMatching: Enqueue and Cancel called from inside a match
// function (which runs in the middle of a pass) return: with the queue locked they would
// deadlock. A ticket cancelled there dissolves its proposed match at commit.
func TestPassDoesNotHoldTheLockWhileMatching(t *testing.T) {
	var l *Local
	cfg := QueueConfig{Mode: "m", MinPlayers: 2, MaxPlayers: 2,
		MatchFunc: func(now time.Time, pool []Ticket, rooms []OpenRoom) []Proposal {
			if len(pool) < 4 {
				return nil
			}
			if err := l.Enqueue(tk("m", "late", 0, "", "p-late")); err != nil {
				t.Error(err)
			}
			if err := l.Cancel(pool[0].ID); err != nil {
				t.Error(err)
			}
			return []Proposal{{Tickets: []int{0, 1}}, {Tickets: []int{2, 3}}}
		}}
	l, c := newLocal(t, Options{}, cfg)
	for i := range 4 {
		x := tk("m", fmt.Sprint("t", i), 0, "", fmt.Sprint("p", i))
		x.Created = t0.Add(time.Duration(i) * time.Second)
		mustEnqueue(t, l, x)
	}
	if got := ids(l.Pass(c.Now())); !slices.Equal(got, []string{"t2+t3"}) {
		t.Fatalf("matches %v, want [t2+t3]", got)
	}
	s := l.Stats()
	if s.Dissolved != 1 || s.Queues["m"].Tickets != 2 || !l.Queued("t1") || !l.Queued("late") {
		t.Fatalf("stats %+v; t1 queued %v, late queued %v", s, l.Queued("t1"), l.Queued("late"))
	}
}

func TestMatchesCarryModeAndUniqueIDs(t *testing.T) {
	l, c := newLocal(t, Options{}, QueueConfig{Mode: "m", MinPlayers: 1, MaxPlayers: 1})
	for i := range 50 {
		mustEnqueue(t, l, tk("m", fmt.Sprint("t", i), 0, "", fmt.Sprint("p", i)))
	}
	seen := map[string]bool{}
	for _, m := range l.Pass(c.Now()) {
		if m.Mode != "m" || m.ID == "" || seen[m.ID] || m.Room != "" {
			t.Fatalf("match %+v", m)
		}
		seen[m.ID] = true
	}
	if len(seen) != 50 {
		t.Fatalf("%d matches", len(seen))
	}
	if s := l.Stats(); s.Matches != 50 || s.MatchedPlayers != 50 || s.Held != 50 || s.Passes != 1 {
		t.Fatalf("stats %+v", s)
	}
	l.Release(strings.Split("p0,p1,p1,unknown", ",")...)
	if s := l.Stats(); s.Held != 48 {
		t.Fatalf("Held = %d after releasing two players, want 48", s.Held)
	}
}
