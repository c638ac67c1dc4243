package match

import "testing"

func TestQuickPlayPicksTheFullestOpenRoom(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rooms  []Entry
		filter Filter
		want   string // "" means "create one"
	}{
		{"fullest with a free seat", lobbyRooms, Filter{}, "b"},
		{"by metadata", lobbyRooms, Filter{Metadata: map[string]string{"region": "eu"}}, "g"},
		{"enough seats for a party", lobbyRooms, Filter{MinFreeSeats: 3}, "g"},
		{"none fits: create one", lobbyRooms, Filter{Metadata: map[string]string{"map": "port"}}, ""},
		{"locked and private rooms are never picked", []Entry{
			{ID: "l", Game: "shooter", Players: 5, MaxPlayers: 8, Locked: true},
			{ID: "p", Game: "shooter", Players: 6, MaxPlayers: 8, Private: true},
			{ID: "o", Game: "shooter", Players: 0, MaxPlayers: 8},
		}, Filter{IncludeLocked: true}, "o"},
		{"the older on a tie", []Entry{
			{ID: "z", Game: "shooter", Players: 3, MaxPlayers: 8},
			{ID: "y", Game: "shooter", Players: 3, MaxPlayers: 8},
		}, Filter{}, "z"},
		{"empty lobby", nil, Filter{}, ""},
		{"held seats count as taken", []Entry{
			{ID: "x", Game: "shooter", Players: 3, MaxPlayers: 8},
			{ID: "h", Game: "shooter", Players: 1, Held: 3, MaxPlayers: 8},
		}, Filter{}, "h"},
		{"a room whose free seats are held is full", []Entry{
			{ID: "x", Game: "shooter", Players: 3, MaxPlayers: 8},
			{ID: "h", Game: "shooter", Players: 2, Held: 6, MaxPlayers: 8},
		}, Filter{}, "x"},
		{"Accept passes over the fullest", lobbyRooms, Filter{Accept: func(e Entry) bool { return e.ID != "b" }}, "g"},
		{"Accept refuses all: create one", lobbyRooms, Filter{Accept: func(Entry) bool { return false }}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := lobby(t, tc.rooms...)
			e, ok := QuickPlay(d, "shooter", tc.filter)
			if ok != (tc.want != "") || e.ID != tc.want {
				t.Fatalf("QuickPlay = %q, %v; want %q", e.ID, ok, tc.want)
			}
		})
	}
}
