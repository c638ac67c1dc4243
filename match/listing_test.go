package match

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// lobby makes a directory with a few rooms created a second apart, in this order.
func lobby(t *testing.T, entries ...Entry) (*Directory, *FakeClock) {
	t.Helper()
	c := NewFakeClock(t0)
	d := NewDirectory(DirectoryOptions{Clock: c})
	for _, e := range entries {
		d.Update(e)
		c.Advance(time.Second)
	}
	return d, c
}

func entryIDs(es []Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

var lobbyRooms = []Entry{
	{ID: "a", Game: "shooter", Players: 2, MaxPlayers: 8, Metadata: map[string]string{"map": "dust", "region": "eu"}},
	{ID: "b", Game: "shooter", Players: 7, MaxPlayers: 8, Metadata: map[string]string{"map": "dust", "region": "us"}},
	{ID: "c", Game: "shooter", Players: 8, MaxPlayers: 8, Metadata: map[string]string{"map": "port", "region": "eu"}},
	{ID: "d", Game: "shooter", Players: 1, MaxPlayers: 8, Locked: true},
	{ID: "e", Game: "shooter", Players: 0, MaxPlayers: 8, Private: true},
	{ID: "f", Game: "crossword", Players: 500, MaxPlayers: 5000},
	{ID: "g", Game: "shooter", Players: 4, MaxPlayers: 16, Metadata: map[string]string{"map": "dust", "region": "eu"}},
}

func TestListFilters(t *testing.T) {
	d, _ := lobby(t, lobbyRooms...)
	for _, tc := range []struct {
		name string
		f    Filter
		want []string
	}{
		{"everything public and unlocked", Filter{}, []string{"a", "b", "c", "f", "g"}},
		{"by game", Filter{Game: "shooter"}, []string{"a", "b", "c", "g"}},
		{"by metadata", Filter{Game: "shooter", Metadata: map[string]string{"map": "dust", "region": "eu"}}, []string{"a", "g"}},
		{"metadata key missing", Filter{Metadata: map[string]string{"mode": "ctf"}}, []string{}},
		{"free seats", Filter{Game: "shooter", MinFreeSeats: 1}, []string{"a", "b", "g"}},
		{"more free seats", Filter{Game: "shooter", MinFreeSeats: 7}, []string{"g"}},
		{"locked on request", Filter{Game: "shooter", IncludeLocked: true}, []string{"a", "b", "c", "d", "g"}},
		{"never private", Filter{Game: "shooter", IncludeLocked: true, MinFreeSeats: 8}, []string{"g"}},
		{"unknown game", Filter{Game: "chess"}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := entryIDs(d.List(tc.f)); !slices.Equal(got, tc.want) {
				t.Fatalf("List = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestListSorts(t *testing.T) {
	d, _ := lobby(t, lobbyRooms...)
	for _, tc := range []struct {
		name string
		f    Filter
		want []string
	}{
		{"created by default", Filter{Game: "shooter"}, []string{"a", "b", "c", "g"}},
		{"created", Filter{Game: "shooter", SortBy: SortCreated}, []string{"a", "b", "c", "g"}},
		{"most free seats", Filter{Game: "shooter", SortBy: SortFree}, []string{"g", "a", "b", "c"}},
		{"most players", Filter{Game: "shooter", SortBy: SortPlayers}, []string{"c", "b", "g", "a"}},
		{"limit", Filter{Game: "shooter", SortBy: SortPlayers, Limit: 2}, []string{"c", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := entryIDs(d.List(tc.f)); !slices.Equal(got, tc.want) {
				t.Fatalf("List = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUpdateKeepsCreatedAndCopiesMetadata(t *testing.T) {
	d, c := lobby(t)
	meta := map[string]string{"map": "dust"}
	d.Update(Entry{ID: "a", Game: "g", MaxPlayers: 4, Metadata: meta})
	c.Advance(time.Minute)
	d.Update(Entry{ID: "a", Game: "g", Players: 3, MaxPlayers: 4, Metadata: meta})
	meta["map"] = "changed"
	e, ok := d.Get("a")
	if !ok || !e.Created.Equal(t0) || e.Players != 3 || e.Metadata["map"] != "dust" || e.FreeSeats() != 1 {
		t.Fatalf("entry %+v", e)
	}
	if !d.Remove("a") || d.Remove("a") || d.Len() != 0 {
		t.Fatal("Remove reported wrongly")
	}
}

func TestFeedReportsChangesOfPublicRooms(t *testing.T) {
	d, _ := lobby(t)
	all, cancelAll := d.Subscribe("")
	defer cancelAll()
	shooter, cancelShooter := d.Subscribe("shooter")
	defer cancelShooter()

	d.Update(Entry{ID: "a", Game: "shooter", MaxPlayers: 8})
	d.Update(Entry{ID: "a", Game: "shooter", Players: 1, MaxPlayers: 8})
	d.Update(Entry{ID: "p", Game: "shooter", MaxPlayers: 8, Private: true}) // never fed
	d.Update(Entry{ID: "p", Game: "shooter", Players: 1, MaxPlayers: 8, Private: true})
	d.Update(Entry{ID: "x", Game: "crossword", MaxPlayers: 100})
	d.Update(Entry{ID: "a", Game: "shooter", Players: 1, MaxPlayers: 8, Private: true}) // went private
	d.Update(Entry{ID: "p", Game: "shooter", Players: 1, MaxPlayers: 8})                // went public
	d.Remove("p")
	d.Remove("x")

	drain := func(ch <-chan Change) []string {
		var out []string
		for {
			select {
			case c := <-ch:
				out = append(out, fmt.Sprintf("%v %s", c.Kind, c.Entry.ID))
			default:
				return out
			}
		}
	}
	wantShooter := []string{"added a", "updated a", "removed a", "added p", "removed p"}
	if got := drain(shooter); !slices.Equal(got, wantShooter) {
		t.Errorf("shooter feed %v, want %v", got, wantShooter)
	}
	wantAll := []string{"added a", "updated a", "added x", "removed a", "added p", "removed p", "removed x"}
	if got := drain(all); !slices.Equal(got, wantAll) {
		t.Errorf("feed %v, want %v", got, wantAll)
	}
}

// TestSlowSubscriberDoesNotBlockUpdates: a subscriber that stops reading is dropped (its
// channel closed) once its buffer is full; updates and other subscribers go on.
func TestSlowSubscriberDoesNotBlockUpdates(t *testing.T) {
	d := NewDirectory(DirectoryOptions{FeedBuffer: 4, Clock: NewFakeClock(t0)})
	slow, cancelSlow := d.Subscribe("g")
	fast, cancelFast := d.Subscribe("g")
	defer cancelFast()
	got := 0
	for i := range 100 {
		d.Update(Entry{ID: "r", Game: "g", Players: i, MaxPlayers: 1000}) // would block forever if it waited
		<-fast
		got++
	}
	n := 0
	for range slow {
		n++
	}
	if n != 4 || got != 100 || d.Dropped() != 1 {
		t.Fatalf("slow subscriber got %d before its channel closed, fast got %d, dropped %d", n, got, d.Dropped())
	}
	cancelSlow() // after the drop: harmless
	cancelSlow()
	cancelFast()
	if _, ok := <-fast; ok {
		t.Fatal("cancel did not close the channel")
	}
	d.Update(Entry{ID: "r", Game: "g"}) // no subscribers left: fine
}
