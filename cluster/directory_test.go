package cluster_test

import (
	"slices"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/cluster"
	"github.com/rallypoint/rallypoint/match"
)

func roomIDs(rs []cluster.Room) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func TestDirectoryListsEveryRoomOfTheCluster(t *testing.T) {
	s := startNATS(t)
	a := join(t, s, "a", nil)
	b := join(t, s, "b", nil)
	c := join(t, s, "c", nil)
	ctx := ctxT(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rooms := []struct {
		on *cluster.Node
		e  match.Entry
	}{
		{a, match.Entry{ID: "a1", Game: "shooter", Players: 7, MaxPlayers: 8, Created: t0, Metadata: map[string]string{"map": "dust"}}},
		{a, match.Entry{ID: "a2", Game: "crossword", Players: 500, MaxPlayers: 5000, Created: t0.Add(time.Second)}},
		{b, match.Entry{ID: "b1", Game: "shooter", Players: 2, MaxPlayers: 8, Created: t0.Add(2 * time.Second)}},
		{b, match.Entry{ID: "b2", Game: "shooter", Players: 8, MaxPlayers: 8, Created: t0.Add(3 * time.Second)}},
		{b, match.Entry{ID: "b3", Game: "shooter", Players: 1, MaxPlayers: 8, Private: true, Created: t0.Add(4 * time.Second)}},
		{a, match.Entry{ID: "a3", Game: "shooter", Players: 0, MaxPlayers: 8, Locked: true, Created: t0.Add(5 * time.Second)}},
	}
	feed, cancel := c.Subscribe("shooter")
	defer cancel()
	for _, r := range rooms {
		if err := r.on.PublishRoom(ctx, r.e); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, testTimeout, "c lists every public room", func() bool { return len(c.Rooms(match.Filter{IncludeLocked: true})) == 5 })

	for _, tc := range []struct {
		name string
		f    match.Filter
		want []string
	}{
		{"all public, oldest first", match.Filter{}, []string{"a1", "a2", "b1", "b2"}},
		{"locked too", match.Filter{IncludeLocked: true}, []string{"a1", "a2", "b1", "b2", "a3"}},
		{"one game", match.Filter{Game: "shooter"}, []string{"a1", "b1", "b2"}},
		{"joinable", match.Filter{Game: "shooter", MinFreeSeats: 1}, []string{"a1", "b1"}},
		{"most free seats", match.Filter{Game: "shooter", SortBy: match.SortFree}, []string{"b1", "a1", "b2"}},
		{"most players, limited", match.Filter{SortBy: match.SortPlayers, Limit: 2}, []string{"a2", "b2"}},
		{"metadata", match.Filter{Metadata: map[string]string{"map": "dust"}}, []string{"a1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := roomIDs(c.Rooms(tc.f)); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	for _, r := range c.Rooms(match.Filter{}) {
		wantNode := r.ID[:1]
		if r.Node != wantNode || r.URL != "ws://"+wantNode+".example:8080/ws" {
			t.Errorf("room %s: node %q url %q", r.ID, r.Node, r.URL)
		}
	}
	// A private room is never listed, but found by id (a join by code lands there).
	if r, ok := c.Room("b3"); !ok || r.Node != "b" || !r.Private {
		t.Errorf("private room by id: %+v %v", r, ok)
	}

	// Changes travel: players join a1, b1 ends.
	a1 := rooms[0].e
	a1.Players = 8
	if err := a.PublishRoom(ctx, a1); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveRoom(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testTimeout, "c sees a1 full and b1 gone", func() bool {
		r, ok := c.Room("a1")
		_, b1 := c.Room("b1")
		return ok && r.Players == 8 && !b1
	})
	if got := roomIDs(c.Rooms(match.Filter{Game: "shooter", MinFreeSeats: 1})); len(got) != 0 {
		t.Errorf("joinable shooter rooms after the changes: %v", got)
	}

	// The lobby feed of c followed rooms of a and b.
	seen := map[string][]match.ChangeKind{}
	timeout := time.After(testTimeout)
	for len(seen["b1"]) < 2 || len(seen["a1"]) < 2 {
		select {
		case ch := <-feed:
			seen[ch.Entry.ID] = append(seen[ch.Entry.ID], ch.Kind)
		case <-timeout:
			t.Fatalf("feed so far: %v", seen)
		}
	}
	if !slices.Equal(seen["a1"], []match.ChangeKind{match.Added, match.Updated}) || !slices.Equal(seen["b1"], []match.ChangeKind{match.Added, match.Removed}) {
		t.Errorf("feed: %v", seen)
	}
	if _, ok := seen["b3"]; ok {
		t.Error("the feed showed a private room")
	}
}

func TestPublishRoomRejectsBadIDs(t *testing.T) {
	s := startNATS(t)
	a := join(t, s, "a", nil)
	for _, id := range []string{"", "a.b", "a b", "a*", "a>"} {
		if err := a.PublishRoom(ctxT(t), match.Entry{ID: id}); err == nil {
			t.Errorf("room id %q accepted", id)
		}
	}
}
