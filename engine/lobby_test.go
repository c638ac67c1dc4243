package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/match"
)

func TestPrivateRoomIsJoinedByCodeCaseInsensitively(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	host := te.dial(t)
	j, err := host.Join(ctx5(t), engine.JoinOptions{Game: "tally", Create: true, Private: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Code) < 4 {
		t.Fatalf("private room got code %q", j.Code)
	}
	// Private rooms are not listed and quick play never picks them.
	if rooms := te.e.Directory().List(match.Filter{Game: "tally"}); len(rooms) != 0 {
		t.Fatalf("private room listed: %+v", rooms)
	}
	qp, err := te.dial(t).Join(ctx5(t), engine.JoinOptions{Game: "tally"})
	if err != nil || qp.Room == j.Room {
		t.Fatalf("quick play joined the private room: %v %v", qp, err)
	}
	guest := te.dial(t)
	jg, err := guest.Join(ctx5(t), engine.JoinOptions{Code: strings.ToLower(j.Code)})
	if err != nil || jg.Room != j.Room {
		t.Fatalf("join by lower-case code: %v %v", jg, err)
	}
}

func TestGuessingCodesIsRateLimited(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	c := te.dial(t)
	var last error
	for range 10 {
		_, last = c.Join(ctx5(t), engine.JoinOptions{Code: "ZZZZZZ"})
	}
	var e *engine.Error
	if !asError(last, &e) || e.Code != engine.CodeTooManyGuesses {
		t.Fatalf("10 wrong guesses: last answer %v", last)
	}
}

func enableMatchmaking(t *testing.T, te *testEngine, q match.QueueConfig, ttl time.Duration) {
	t.Helper()
	q.Mode = "tally"
	if err := te.e.EnableMatchmaking(engine.MatchmakingOptions{Queues: []match.QueueConfig{q}, Interval: 20 * time.Millisecond, ReservationTTL: ttl}); err != nil {
		t.Fatal(err)
	}
}

func TestMatchmakingSeatsMatchedPlayersTogether(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{MaxPlayers: 4}, engine.Options{})
	enableMatchmaking(t, te, match.QueueConfig{MinPlayers: 2, MaxPlayers: 2}, 0)
	a, b := te.dial(t), te.dial(t)
	if _, err := a.Match(ctx5(t), engine.MatchOptions{Game: "tally"}); err != nil {
		t.Fatal(err)
	}
	// The same player cannot queue twice.
	if _, err := a.Match(ctx5(t), engine.MatchOptions{Game: "tally"}); err == nil {
		t.Fatal("a second ticket for the same player was accepted")
	}
	if _, err := b.Match(ctx5(t), engine.MatchOptions{Game: "tally"}); err != nil {
		t.Fatal(err)
	}
	ma, mb := waitEvent(t, a, engine.KindMatched), waitEvent(t, b, engine.KindMatched)
	if ma.Room == "" || ma.Room != mb.Room || ma.Reservation == mb.Reservation {
		t.Fatalf("matches: %+v / %+v", ma, mb)
	}
	// A stranger cannot take b's seat with b's token.
	if _, err := te.dial(t).Join(ctx5(t), engine.JoinOptions{Reservation: mb.Reservation}); err == nil {
		t.Fatal("another connection claimed b's reservation")
	}
	ja, err := a.Join(ctx5(t), engine.JoinOptions{Reservation: ma.Reservation})
	if err != nil {
		t.Fatal(err)
	}
	jb, err := b.Join(ctx5(t), engine.JoinOptions{Reservation: mb.Reservation})
	if err != nil || ja.Room != jb.Room {
		t.Fatalf("joined %v / %v: %v", ja.Room, jb.Room, err)
	}
}

func TestUnclaimedReservationExpiresAndFreesTheSeat(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{MaxPlayers: 2}, engine.Options{})
	enableMatchmaking(t, te, match.QueueConfig{MinPlayers: 2, MaxPlayers: 2}, 300*time.Millisecond)
	a, b := te.dial(t), te.dial(t)
	a.Match(ctx5(t), engine.MatchOptions{Game: "tally"})
	b.Match(ctx5(t), engine.MatchOptions{Game: "tally"})
	ma := waitEvent(t, a, engine.KindMatched)
	waitEvent(t, b, engine.KindMatched)
	if _, err := a.Join(ctx5(t), engine.JoinOptions{Reservation: ma.Reservation}); err != nil {
		t.Fatal(err)
	}
	// b never claims: while reserved the room is full to outsiders, then the seat comes back.
	if _, err := te.dial(t).Join(ctx5(t), engine.JoinOptions{Room: ma.Room}); err == nil {
		t.Fatal("an outsider took a reserved seat")
	}
	waitFor(t, "the seat to be released", func() bool {
		en, ok := te.e.Directory().Get(ma.Room)
		return ok && en.FreeSeats() == 1
	})
	if _, err := te.dial(t).Join(ctx5(t), engine.JoinOptions{Room: ma.Room}); err != nil {
		t.Fatalf("the released seat cannot be taken: %v", err)
	}
	// And b may queue again.
	if _, err := b.Match(ctx5(t), engine.MatchOptions{Game: "tally"}); err != nil {
		t.Fatalf("b cannot queue after its reservation expired: %v", err)
	}
}

func TestBackfillFillsOpenRoomsFirst(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{MaxPlayers: 4}, engine.Options{})
	enableMatchmaking(t, te, match.QueueConfig{MinPlayers: 2, MaxPlayers: 4, Backfill: true}, 0)
	j, err := te.dial(t).Join(ctx5(t), engine.JoinOptions{Game: "tally"})
	if err != nil {
		t.Fatal(err)
	}
	c := te.dial(t)
	if _, err := c.Match(ctx5(t), engine.MatchOptions{Game: "tally"}); err != nil {
		t.Fatal(err)
	}
	if m := waitEvent(t, c, engine.KindMatched); m.Room != j.Room {
		t.Fatalf("matched into %s, not the open room %s", m.Room, j.Room)
	}
}

func TestLobbyFeedAndListing(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	watcher := te.dial(t)
	if _, err := watcher.FollowLobby(ctx5(t), "tally"); err != nil {
		t.Fatal(err)
	}
	j, err := te.dial(t).Join(ctx5(t), engine.JoinOptions{Game: "tally"})
	if err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, watcher, engine.KindRoom)
	var room struct {
		ID string `msgpack:"id"`
	}
	if msgpack.Unmarshal(ev.Payload, &room); room.ID != j.Room {
		t.Fatalf("feed event %+v for room %q, want %q", ev, room.ID, j.Room)
	}
	srv := httptest.NewServer(te.e.RoomsHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "?game=tally&free=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Rooms []struct {
			ID      string `json:"id"`
			Players int    `json:"players"`
		} `json:"rooms"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Rooms) != 1 || body.Rooms[0].ID != j.Room || body.Rooms[0].Players != 1 {
		t.Fatalf("listing: %+v %v", body, err)
	}
}

func TestPartyIsMatchedWhole(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{MaxPlayers: 4}, engine.Options{})
	enableMatchmaking(t, te, match.QueueConfig{MinPlayers: 3, MaxPlayers: 3}, 0)
	a, b, solo := te.dial(t), te.dial(t), te.dial(t)
	party := engine.MatchOptions{Game: "tally", Party: "p-8f3a", PartySize: 2}
	if tk, err := a.Match(ctx5(t), party); err != nil || tk != "" {
		t.Fatalf("first member: ticket %q, %v (want pending)", tk, err)
	}
	if _, err := solo.Match(ctx5(t), engine.MatchOptions{Game: "tally"}); err != nil {
		t.Fatal(err)
	}
	if tk, err := b.Match(ctx5(t), party); err != nil || tk == "" {
		t.Fatalf("last member: ticket %q, %v", tk, err)
	}
	ma, mb, ms := waitEvent(t, a, engine.KindMatched), waitEvent(t, b, engine.KindMatched), waitEvent(t, solo, engine.KindMatched)
	if ma.Room != mb.Room || mb.Room != ms.Room || ma.Ticket != mb.Ticket || ma.Ticket == ms.Ticket {
		t.Fatalf("party split or merged wrongly: %+v %+v %+v", ma, mb, ms)
	}
}

// TestConcurrentQuickPlaysFillRoomsWithoutRefusals: joins that arrive together used to pick
// the same last free seat, and all but one were refused "room full" (found by cmd/loadgen
// and bench/colyseus). Seats handed out count as taken until answered, so 40 simultaneous
// quick plays for rooms of 8 all get a seat and fill exactly 5 rooms.
func TestConcurrentQuickPlaysFillRoomsWithoutRefusals(t *testing.T) {
	const players, seats = 40, 8
	te := startEngine(t, engine.RoomConfig{MaxPlayers: seats}, engine.Options{})
	conns := make([]*gameclient.Client, players)
	for i := range conns {
		conns[i] = te.dial(t)
	}
	var wg sync.WaitGroup
	rooms := make([]string, players)
	errs := make([]error, players)
	for i, c := range conns {
		wg.Go(func() {
			j, err := c.Join(ctx5(t), engine.JoinOptions{Game: "tally"})
			rooms[i], errs[i] = j.Room, err
		})
	}
	wg.Wait()
	perRoom := map[string]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
		perRoom[rooms[i]]++
	}
	if len(perRoom) != players/seats {
		t.Fatalf("%d players in %d rooms (%v), want %d full rooms", players, len(perRoom), perRoom, players/seats)
	}
}

// A private room's code (or a reservation) is the only way in: its room id, which shows in
// logs and URLs and is not rate-limited like code guesses, is refused with CodePrivate. A
// public room is still joined by id, and the private room's own players resume by token.
func TestPrivateRoomIsNotJoinedByItsID(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{Grace: 5 * time.Second}, engine.Options{})
	host := te.dial(t)
	priv, err := host.Join(ctx5(t), engine.JoinOptions{Game: "tally", Create: true, Private: true})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := te.dial(t).Join(ctx5(t), engine.JoinOptions{Game: "tally", Create: true})
	if err != nil {
		t.Fatal(err)
	}
	host.Conn().CloseNow() // the host's seat is held; it comes back by token
	waitFor(t, "the host dropped", func() bool { return te.log.has("drop") })
	tests := []struct {
		name     string
		opts     engine.JoinOptions
		wantCode engine.Code
		wantRoom string
	}{
		{"private room by id", engine.JoinOptions{Room: priv.Room}, engine.CodePrivate, ""},
		{"private room by id, with its game", engine.JoinOptions{Room: priv.Room, Game: "tally"}, engine.CodePrivate, ""},
		{"private room by code", engine.JoinOptions{Code: priv.Code}, engine.CodeOK, priv.Room},
		{"private room by a wrong code", engine.JoinOptions{Code: "XXXXXX"}, engine.CodeNotFound, ""},
		{"private room by resume token", engine.JoinOptions{Token: priv.Token}, engine.CodeOK, priv.Room},
		{"public room by id", engine.JoinOptions{Room: pub.Room}, engine.CodeOK, pub.Room},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := te.dial(t).Join(ctx5(t), tt.opts)
			var e *engine.Error
			switch {
			case tt.wantCode == engine.CodeOK && (err != nil || j.Room != tt.wantRoom):
				t.Fatalf("joined %q, %v; want room %q", j.Room, err, tt.wantRoom)
			case tt.wantCode != engine.CodeOK && (!asError(err, &e) || e.Code != tt.wantCode):
				t.Fatalf("joined %q, %v; want code %d", j.Room, err, tt.wantCode)
			}
		})
	}
}

// TestCreatingRoomsIsBudgetedPerClient: one address creating rooms as fast as it can gets
// code 18 once its burst is spent, keeps its connection, and may still play (issue 11: one
// address created 10,450 rooms in 47 s).
func TestCreatingRoomsIsBudgetedPerClient(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{ClientRoomBurst: 3, ClientRoomEvery: time.Hour})
	for i := range 5 {
		c := te.dial(t)
		_, err := c.Join(ctx5(t), engine.JoinOptions{Game: "tally", Create: true})
		var e *engine.Error
		switch {
		case i < 3 && err != nil:
			t.Fatalf("room %d of a burst of 3: %v", i+1, err)
		case i >= 3 && (!asError(err, &e) || e.Code != engine.CodeTooManyRooms || !strings.Contains(e.Message, "wait")):
			t.Fatalf("room %d beyond a burst of 3: %v, want code 18 with the wait", i+1, err)
		case i >= 3:
			// Refused, not closed: the same connection joins an existing room.
			if _, err := c.Join(ctx5(t), engine.JoinOptions{Game: "tally"}); err != nil {
				t.Fatalf("quick play after a refused create: %v", err)
			}
		}
	}
	m := te.e.Metrics()
	if m.RoomsCreated.Load() != 3 || m.RoomsRefusedClient.Load() != 2 {
		t.Fatalf("RoomsCreated %d, RoomsRefusedClient %d; want 3 and 2", m.RoomsCreated.Load(), m.RoomsRefusedClient.Load())
	}
}

// TestCreatingRoomsIsBudgetedServerWide: quick play that must create rooms draws on the
// server's rate, not on the client's budget.
func TestCreatingRoomsIsBudgetedServerWide(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{MaxPlayers: 1}, engine.Options{RoomBurst: 2, RoomEvery: time.Hour})
	for i := range 3 {
		_, err := te.dial(t).Join(ctx5(t), engine.JoinOptions{Game: "tally"})
		var e *engine.Error
		switch {
		case i < 2 && err != nil:
			t.Fatalf("player %d: %v", i+1, err)
		case i == 2 && (!asError(err, &e) || e.Code != engine.CodeTooManyRooms):
			t.Fatalf("third one-seat room with a server burst of 2: %v, want code 18", err)
		}
	}
	if n := te.e.Metrics().RoomsRefusedRate.Load(); n != 1 {
		t.Fatalf("RoomsRefusedRate = %d, want 1", n)
	}
}

// TestRoomsListingIsPaged: /rooms answers one bounded page however many rooms run, with
// totals for every room (issue 11: /rooms took 629 ms with 5,538 rooms).
func TestRoomsListingIsPaged(t *testing.T) {
	const n = engine.MaxRoomsPage + 100
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	for range n {
		if _, err := te.e.CreateRoom("tally", engine.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(te.e.RoomsHandler())
	defer srv.Close()
	tests := []struct {
		query string
		want  int
	}{
		{"", engine.DefaultRoomsPage},
		{"?limit=7", 7},
		{"?limit=-1", engine.DefaultRoomsPage},
		{"?limit=1000000", engine.MaxRoomsPage},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Rooms []struct{ ID string }          `json:"rooms"`
			Games map[string]struct{ Rooms int } `json:"games"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || len(body.Rooms) != tt.want || body.Games["tally"].Rooms != n {
			t.Fatalf("GET /rooms%s: %d rooms listed, totals %+v, %v; want %d listed of %d", tt.query, len(body.Rooms), body.Games, err, tt.want, n)
		}
	}
}

// TestMatchmakingRefusesQueuesLargerThanTheRoom: a queue that could match more players than
// the game's rooms seat used to be accepted; 4 players matched into a 2-seat room, and the 2
// refused "room full" could not queue again (issue 12). EnableMatchmaking now refuses it.
func TestMatchmakingRefusesQueuesLargerThanTheRoom(t *testing.T) {
	tests := []struct {
		name    string
		queue   match.QueueConfig
		wantErr string // "" for accepted
	}{
		{"as large as the room", match.QueueConfig{Mode: "tally", MinPlayers: 2, MaxPlayers: 2}, ""},
		{"smaller than the room", match.QueueConfig{Mode: "tally", MinPlayers: 1, MaxPlayers: 1}, ""},
		{"larger than the room", match.QueueConfig{Mode: "tally", MinPlayers: 2, MaxPlayers: 4}, `MaxPlayers 4 exceeds the 2 seats of a "tally" room`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := startEngine(t, engine.RoomConfig{MaxPlayers: 2}, engine.Options{})
			err := te.e.EnableMatchmaking(engine.MatchmakingOptions{Queues: []match.QueueConfig{tt.queue}})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("EnableMatchmaking answered %v, want an error saying %q", err, tt.wantErr)
			case tt.wantErr != "" && te.e.Matchmaker() != nil:
				t.Fatal("a refused configuration left a matchmaker running")
			}
		})
	}
}

// TestPlayerRefusedAfterAMatchMayQueueAgain: a matched player whose join is refused (here by
// the game; a full or locked room, or one that ended, alike) is released: the seat it
// claimed goes back, and it may queue again rather than being told it "holds a seat".
func TestPlayerRefusedAfterAMatchMayQueueAgain(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{MaxPlayers: 4}, engine.Options{})
	enableMatchmaking(t, te, match.QueueConfig{MinPlayers: 2, MaxPlayers: 2}, 0)
	a, b := te.dial(t), te.dial(t)
	for _, c := range []*gameclient.Client{a, b} {
		if _, err := c.Match(ctx5(t), engine.MatchOptions{Game: "tally"}); err != nil {
			t.Fatal(err)
		}
	}
	ma := waitEvent(t, a, engine.KindMatched)
	waitEvent(t, b, engine.KindMatched)
	meta, _ := msgpack.Marshal("mallory") // tally refuses mallories
	_, err := a.Join(ctx5(t), engine.JoinOptions{Reservation: ma.Reservation, Meta: meta})
	var e *engine.Error
	if !asError(err, &e) || e.Code != engine.CodeRefused {
		t.Fatalf("the refused join answered %v", err)
	}
	if pending, claimed := te.e.Reservations().Count(ma.Room); pending != 1 || claimed != 0 {
		t.Fatalf("seats of the room after the refusal: %d reserved (b's), %d claimed; want 1 and 0", pending, claimed)
	}
	if _, err := a.Match(ctx5(t), engine.MatchOptions{Game: "tally"}); err != nil {
		t.Fatalf("the refused player cannot queue again: %v", err)
	}
}

// TestCountsSayConnectedPlayersAndHeldSeatsApart: a player whose link dropped keeps their
// seat for the grace period, but is no longer a player in the room's counts: the listing
// (RoomInfo, the directory, /rooms, the lobby feed) reports connected players and the held
// seats separately, and the seat is still not free (issue 12: the page header and /rooms
// counted players who had left).
func TestCountsSayConnectedPlayersAndHeldSeatsApart(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{MaxPlayers: 2, Grace: 5 * time.Second}, engine.Options{})
	srv := httptest.NewServer(te.e.RoomsHandler())
	defer srv.Close()
	watcher := te.dial(t)
	if _, err := watcher.FollowLobby(ctx5(t), "tally"); err != nil {
		t.Fatal(err)
	}
	a, b := te.dial(t), te.dial(t)
	ja, err := a.Join(ctx5(t), engine.JoinOptions{Game: "tally"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(ctx5(t), engine.JoinOptions{Room: ja.Room}); err != nil {
		t.Fatal(err)
	}
	type counts struct{ players, held int }
	check := func(want counts) {
		t.Helper()
		waitFor(t, fmt.Sprintf("the room's info to say %+v", want), func() bool {
			info, _ := te.e.Room(ja.Room)
			return (counts{info.Players, info.Held}) == want
		})
		en, _ := te.e.Directory().Get(ja.Room)
		if got := (counts{en.Players, en.Held}); got != want || en.FreeSeats() != 2-want.players-want.held {
			t.Errorf("directory entry %+v, free %d; want %+v", got, en.FreeSeats(), want)
		}
		resp, err := http.Get(srv.URL + "?game=tally")
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Rooms []struct{ Players, Held int }          `json:"rooms"`
			Games map[string]struct{ Players, Held int } `json:"games"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || len(body.Rooms) != 1 || (counts{body.Rooms[0].Players, body.Rooms[0].Held}) != want ||
			(counts{body.Games["tally"].Players, body.Games["tally"].Held}) != want {
			t.Errorf("/rooms: %+v, %v; want %+v", body, err, want)
		}
		// The feed's latest change for the room says the same.
		var last struct{ Players, Held int }
		for {
			select {
			case ev := <-watcher.Events():
				if ev.Kind == engine.KindRoom {
					var room struct {
						Players int `msgpack:"players"`
						Held    int `msgpack:"held"`
					}
					if err := msgpack.Unmarshal(ev.Payload, &room); err != nil {
						t.Fatal(err)
					}
					last.Players, last.Held = room.Players, room.Held
				}
				continue
			case <-time.After(100 * time.Millisecond):
			}
			break
		}
		if (counts{last.Players, last.Held}) != want {
			t.Errorf("lobby feed's last change: %+v; want %+v", last, want)
		}
		if got := te.e.Metrics().PlayersAway.Load(); got != int64(want.held) {
			t.Errorf("Metrics.PlayersAway = %d, want %d", got, want.held)
		}
	}
	check(counts{2, 0})
	a.Conn().CloseNow()
	waitFor(t, "a's drop", func() bool { return te.log.has("drop") })
	check(counts{1, 1})
	// The held seat is taken: the room is full to a newcomer.
	if _, err := te.dial(t).Join(ctx5(t), engine.JoinOptions{Room: ja.Room}); err == nil {
		t.Error("a newcomer took the seat held for a dropped player")
	}
	if _, err := te.dial(t).Join(ctx5(t), engine.JoinOptions{Token: ja.Token}); err != nil {
		t.Fatal(err)
	}
	check(counts{2, 0})
	b.Leave()
	check(counts{1, 0})
}

// countingMatchmaker is a match.Matchmaker of the test's own: it wraps another (match.Local,
// a cluster's) and counts what the engine asks of it, to show the engine talks to the
// interface only. spoilFirst, when set, spoils the first match it delivers the way a failure
// to seat it comes about: a room that cannot be made (its mode names no game), or, in a
// cluster, a backfilled room that left the directory.
type countingMatchmaker struct {
	match.Matchmaker
	opts              match.Options
	enqueued, matches atomic.Int32
	spoilFirst        func(*match.Match)
	refuseAfter       int32 // when above 0, tickets beyond this many are refused
}

func (c *countingMatchmaker) Enqueue(t match.Ticket) error {
	if n := c.enqueued.Add(1); c.refuseAfter > 0 && n > c.refuseAfter {
		return errors.New("the queue is closed")
	}
	return c.Matchmaker.Enqueue(t)
}

func (c *countingMatchmaker) Run(ctx context.Context, every time.Duration, onMatch func(match.Match)) error {
	return c.Matchmaker.Run(ctx, every, func(m match.Match) {
		if c.matches.Add(1) == 1 && c.spoilFirst != nil {
			c.spoilFirst(&m)
		}
		onMatch(m)
	})
}

// The engine serves matchmaking through whatever match.Matchmaker MatchmakingOptions.New
// makes (a cluster's, in issue 13), handing it the queues, the open rooms and the seat table.
func TestMatchmakingUsesTheMatchmakerGiven(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{MaxPlayers: 2}, engine.Options{})
	var mm *countingMatchmaker
	err := te.e.EnableMatchmaking(engine.MatchmakingOptions{
		Queues:   []match.QueueConfig{{Mode: "tally", MinPlayers: 2, MaxPlayers: 2}},
		Interval: 20 * time.Millisecond,
		New: func(o match.Options) (match.Matchmaker, error) {
			local, err := match.NewLocal(o)
			if err != nil {
				return nil, err
			}
			mm = &countingMatchmaker{Matchmaker: local, opts: o}
			return mm, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if te.e.Matchmaker() != match.Matchmaker(mm) {
		t.Fatalf("Engine.Matchmaker() is %T, not the one New made", te.e.Matchmaker())
	}
	if len(mm.opts.Queues) != 1 || mm.opts.OpenRooms == nil || mm.opts.Seated == nil {
		t.Fatalf("New got options %+v: want the queue, the open rooms and the seat table", mm.opts)
	}
	if err := te.e.EnableMatchmaking(engine.MatchmakingOptions{}); err == nil {
		t.Fatal("matchmaking was enabled twice")
	}
	a, b := te.dial(t), te.dial(t)
	for _, c := range []*gameclient.Client{a, b} {
		if _, err := c.Match(ctx5(t), engine.MatchOptions{Game: "tally"}); err != nil {
			t.Fatal(err)
		}
	}
	ma, mb := waitEvent(t, a, engine.KindMatched), waitEvent(t, b, engine.KindMatched)
	if ma.Room == "" || ma.Room != mb.Room {
		t.Fatalf("matches: %+v / %+v", ma, mb)
	}
	if got, want := mm.enqueued.Load(), int32(2); got != want {
		t.Errorf("the matchmaker saw %d tickets, want %d", got, want)
	}
	if got := mm.matches.Load(); got != 1 {
		t.Errorf("the matchmaker made %d matches, want 1", got)
	}
}

// A match the engine cannot seat puts its tickets back in the queue, with the same ids: the
// players, who were told nothing of it, are matched at the next pass and get their seats.
// Releasing them alone (as before) left them waiting for a 0x19 that never came.
func TestMatchmakingRequeuesAMatchThatCannotBeSeated(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{MaxPlayers: 2}, engine.Options{})
	var mm *countingMatchmaker
	err := te.e.EnableMatchmaking(engine.MatchmakingOptions{
		Queues:   []match.QueueConfig{{Mode: "tally", MinPlayers: 2, MaxPlayers: 2}},
		Interval: 20 * time.Millisecond,
		New: func(o match.Options) (match.Matchmaker, error) {
			local, err := match.NewLocal(o)
			mm = &countingMatchmaker{Matchmaker: local, opts: o, spoilFirst: func(m *match.Match) { m.Mode = "no-such-game" }}
			return mm, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b := te.dial(t), te.dial(t)
	tickets := map[string]bool{}
	for _, c := range []*gameclient.Client{a, b} {
		tk, err := c.Match(ctx5(t), engine.MatchOptions{Game: "tally"})
		if err != nil {
			t.Fatal(err)
		}
		tickets[tk] = true
	}
	ma, mb := waitEvent(t, a, engine.KindMatched), waitEvent(t, b, engine.KindMatched)
	if !tickets[ma.Ticket] || !tickets[mb.Ticket] || ma.Ticket == mb.Ticket {
		t.Fatalf("matched tickets %q and %q, want the two queued (%v)", ma.Ticket, mb.Ticket, tickets)
	}
	if ma.Room == "" || ma.Room != mb.Room {
		t.Fatalf("matches: %+v / %+v", ma, mb)
	}
	for _, p := range []struct {
		c  *gameclient.Client
		ev gameclient.Event
	}{{a, ma}, {b, mb}} {
		if _, err := p.c.Join(ctx5(t), engine.JoinOptions{Reservation: p.ev.Reservation}); err != nil {
			t.Fatalf("joining the matched room: %v", err)
		}
	}
	if got := mm.matches.Load(); got != 2 {
		t.Errorf("the matchmaker made %d matches, want 2 (the spoilt one, then the seated one)", got)
	}
	if got := mm.enqueued.Load(); got != 4 {
		t.Errorf("the matchmaker saw %d tickets, want 4 (2 queued by the players, 2 put back)", got)
	}
}

// TestMatchmakingEndsATicketItCannotQueueAgain: a match that cannot be seated, whose tickets
// the matchmaker then refuses to take back, ends each ticket with [22, 5, message, ticket],
// so that a client waiting on it (the SDK's findMatch) stops waiting.
func TestMatchmakingEndsATicketItCannotQueueAgain(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{MaxPlayers: 2}, engine.Options{})
	err := te.e.EnableMatchmaking(engine.MatchmakingOptions{
		Queues:   []match.QueueConfig{{Mode: "tally", MinPlayers: 2, MaxPlayers: 2}},
		Interval: 20 * time.Millisecond,
		New: func(o match.Options) (match.Matchmaker, error) {
			local, err := match.NewLocal(o)
			return &countingMatchmaker{Matchmaker: local, opts: o, refuseAfter: 2,
				spoilFirst: func(m *match.Match) { m.Mode = "no-such-game" }}, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*gameclient.Client{te.dial(t), te.dial(t)} {
		tk, err := c.Match(ctx5(t), engine.MatchOptions{Game: "tally"})
		if err != nil {
			t.Fatal(err)
		}
		defer func(c *gameclient.Client, tk string) {
			ev := waitEvent(t, c, engine.KindError)
			if ev.Code != engine.CodeNotFound || ev.Ticket != tk || !strings.Contains(ev.Message, "ended unmatched") {
				t.Errorf("ticket %s: %+v, want code %d naming the ticket", tk, ev, engine.CodeNotFound)
			}
		}(c, tk)
	}
}
