package match

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// world drives a Local matchmaker, a Reservations table and fake rooms with a stream of
// random operations (arrivals, cancellations, passes, claims, departures, expiries, rooms
// ending) and checks every invariant after every step against a model of its own:
//
//   - no player is in two tickets, two matches, or holds two seats;
//   - every match is sound: its tickets were waiting, whole, within MinPlayers..MaxPlayers
//     (or the room's free seats, for backfill), mutually inside their rating windows and
//     region preferences at the pass's time;
//   - released seats reach the room (OnRelease) and free the player in the matchmaker;
//   - the matchmaker's counts agree with the model.
type world struct {
	tb    testing.TB
	next  func() (byte, bool)
	clock *FakeClock
	mm    *Local
	res   *Reservations
	cfgs  map[string]QueueConfig
	modes []string

	rooms   map[string]*fakeRoom
	queued  map[string]Ticket // waiting tickets, Created as stamped
	players map[string]string // "" free, "q:<ticket>" waiting, "held" matched and seated
	ids     int
	trace   []string
}

type fakeRoom struct {
	id, mode, region string
	rating           float64
	cap              int
	ended            bool
	seats            map[string]bool // reserved or claimed, as the room was told
}

const worldPlayers = 30

func newWorld(tb testing.TB, next func() (byte, bool)) *world {
	w := &world{
		tb: tb, next: next, clock: NewFakeClock(t0),
		rooms: map[string]*fakeRoom{}, queued: map[string]Ticket{}, players: map[string]string{},
	}
	d := duel()
	squad := QueueConfig{
		Mode: "squad", MinPlayers: 3, MaxPlayers: 6, Backfill: true,
		RatingKey: "rating", Window: WindowCurve{Initial: 40, PerSecond: 20, Max: 400},
		RegionKey: "region", RegionRelaxAfter: 20 * time.Second,
	}
	w.cfgs = map[string]QueueConfig{d.Mode: d, squad.Mode: squad}
	w.modes = []string{d.Mode, squad.Mode}
	w.res = NewReservations(ReservationOptions{Clock: w.clock, OnRelease: w.onRelease})
	var err error
	w.mm, err = NewLocal(Options{
		Queues: []QueueConfig{d, squad}, Clock: w.clock,
		OpenRooms: OpenRoomsFunc(w.openRooms), Seated: w.res.Holds,
	})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range worldPlayers {
		w.players[fmt.Sprintf("p%02d", i)] = ""
	}
	return w
}

func (w *world) byte() byte {
	b, _ := w.next()
	return b
}

func (w *world) fail(format string, args ...any) {
	w.tb.Helper()
	start := max(0, len(w.trace)-20)
	w.tb.Fatalf("%s\nlast operations:\n%v", fmt.Sprintf(format, args...), w.trace[start:])
}

// onRelease is the room being told, and the matchmaker releasing the player.
func (w *world) onRelease(r Reservation, why ReleaseReason) {
	room := w.rooms[r.Room]
	if room == nil || !room.seats[r.Player] {
		w.fail("released seat %+v (%v) that the room does not have", r, why)
	}
	delete(room.seats, r.Player)
	if w.players[r.Player] != "held" {
		w.fail("released %s in state %q", r.Player, w.players[r.Player])
	}
	w.players[r.Player] = ""
	w.mm.Release(r.Player)
}

func (w *world) openRooms(mode string) []OpenRoom {
	var out []OpenRoom
	for _, id := range sortedKeys(w.rooms) {
		r := w.rooms[id]
		if r.mode == mode && !r.ended && len(r.seats) < r.cap {
			out = append(out, OpenRoom{
				ID: id, FreeSeats: r.cap - len(r.seats),
				Numbers: map[string]float64{"rating": r.rating}, Strings: map[string]string{"region": r.region},
			})
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (w *world) step() {
	switch op := w.byte() % 10; op {
	case 0, 1, 2:
		w.arrive()
	case 3:
		w.cancel()
	case 4, 5:
		w.pass()
	case 6:
		w.claim()
	case 7:
		w.leave()
	case 8:
		w.clock.Advance(time.Duration(w.byte()%20) * time.Second)
		n := w.res.Expire(w.clock.Now())
		w.trace = append(w.trace, fmt.Sprintf("expire %d", n))
	case 9:
		w.endRoom()
	}
	w.check()
}

func (w *world) arrive() {
	mode := w.modes[int(w.byte())%len(w.modes)]
	cfg := w.cfgs[mode]
	size := 1 + int(w.byte())%min(cfg.MaxPlayers, 3)
	w.ids++
	t := Ticket{
		ID: fmt.Sprint("t", w.ids), Mode: mode,
		Numbers: map[string]float64{"rating": 1000 + 4*float64(w.byte())},
		Strings: map[string]string{"region": []string{"eu", "us", "asia"}[w.byte()%3]},
	}
	if b := w.byte(); b < 64 {
		t.Created = w.clock.Now().Add(-time.Duration(b) * time.Second)
	}
	want := error(nil)
	for range size {
		p := fmt.Sprintf("p%02d", int(w.byte())%worldPlayers)
		switch {
		case slices.Contains(t.Players, p):
			want = ErrInvalidTicket
		case w.players[p] != "" && want == nil:
			want = ErrPlayerBusy
		}
		t.Players = append(t.Players, p)
	}
	err := w.mm.Enqueue(t)
	w.trace = append(w.trace, fmt.Sprintf("enqueue %s %s %v: %v", t.ID, mode, t.Players, err))
	if !errors.Is(err, want) || (want == nil) != (err == nil) {
		w.fail("Enqueue(%v) = %v, want %v", t.Players, err, want)
	}
	if err != nil {
		return
	}
	if t.Created.IsZero() {
		t.Created = w.clock.Now()
	}
	w.queued[t.ID] = t
	for _, p := range t.Players {
		w.players[p] = "q:" + t.ID
	}
}

func (w *world) cancel() {
	ids := sortedKeys(w.queued)
	if len(ids) == 0 || w.byte() < 32 {
		if err := w.mm.Cancel("nope"); !errors.Is(err, ErrTicketNotFound) {
			w.fail("Cancel(unknown) = %v", err)
		}
		return
	}
	id := ids[int(w.byte())%len(ids)]
	err := w.mm.Cancel(id)
	w.trace = append(w.trace, fmt.Sprintf("cancel %s: %v", id, err))
	if err != nil {
		w.fail("Cancel(%s) = %v", id, err)
	}
	for _, p := range w.queued[id].Players {
		w.players[p] = ""
	}
	delete(w.queued, id)
}

func (w *world) pass() {
	now := w.clock.Advance(time.Duration(w.byte()%4) * time.Second)
	offered := map[string]OpenRoom{}
	for _, mode := range w.modes {
		for _, r := range w.openRooms(mode) {
			offered[r.ID] = r
		}
	}
	ms := w.mm.Pass(now)
	w.trace = append(w.trace, fmt.Sprintf("pass at +%v: %v", now.Sub(t0), ids(ms)))
	seenTicket, seenPlayer := map[string]bool{}, map[string]bool{}
	for _, m := range ms {
		cfg, ok := w.cfgs[m.Mode]
		if !ok || m.ID == "" || len(m.Tickets) == 0 {
			w.fail("bad match %+v", m)
		}
		for _, t := range m.Tickets {
			q, ok := w.queued[t.ID]
			if !ok || seenTicket[t.ID] || q.Mode != m.Mode || !slices.Equal(q.Players, t.Players) || !q.Created.Equal(t.Created) {
				w.fail("match %s has ticket %+v: waiting %v (%+v), seen %v", m.ID, t, ok, q, seenTicket[t.ID])
			}
			seenTicket[t.ID] = true
			for _, p := range t.Players {
				if seenPlayer[p] {
					w.fail("player %s in two matches of one pass", p)
				}
				seenPlayer[p] = true
			}
		}
		win := func(t Ticket) float64 { return cfg.Window.At(now.Sub(t.Created)) }
		relaxed := func(t Ticket) bool { return now.Sub(t.Created) >= cfg.RegionRelaxAfter }
		n := len(m.Players())
		if m.Room == "" {
			if n < cfg.MinPlayers || n > cfg.MaxPlayers {
				w.fail("match %v of %d players", ids([]Match{m}), n)
			}
			allRelaxed, region := true, m.Tickets[0].Strings["region"]
			sameRegion := true
			for i, a := range m.Tickets {
				allRelaxed = allRelaxed && relaxed(a)
				sameRegion = sameRegion && a.Strings["region"] == region
				for _, b := range m.Tickets[:i] {
					d := math.Abs(a.Numbers["rating"] - b.Numbers["rating"])
					if d > win(a) || d > win(b) {
						w.fail("match %v: %s and %s are %v apart, windows %v and %v", ids([]Match{m}), a.ID, b.ID, d, win(a), win(b))
					}
				}
			}
			if !sameRegion && !allRelaxed {
				w.fail("match %v mixes regions with a ticket that insists on its own", ids([]Match{m}))
			}
		} else {
			r, ok := offered[m.Room]
			if !ok || !cfg.Backfill || n > r.FreeSeats {
				w.fail("backfill %v: offered %v %+v", ids([]Match{m}), ok, r)
			}
			r.FreeSeats -= n
			offered[m.Room] = r
			for _, t := range m.Tickets {
				if d := math.Abs(t.Numbers["rating"] - r.Numbers["rating"]); d > win(t) {
					w.fail("backfill %v: %s is %v from the room, window %v", ids([]Match{m}), t.ID, d, win(t))
				}
				if t.Strings["region"] != r.Strings["region"] && !relaxed(t) {
					w.fail("backfill %v: %s insists on its region", ids([]Match{m}), t.ID)
				}
			}
		}
		// The host's side: make the room if needed and reserve the seats.
		room := m.Room
		if room == "" {
			room = "room-" + m.ID
			var sum float64
			for _, t := range m.Tickets {
				sum += t.Numbers["rating"]
			}
			w.rooms[room] = &fakeRoom{id: room, mode: m.Mode, cap: cfg.MaxPlayers, seats: map[string]bool{},
				rating: sum / float64(len(m.Tickets)), region: m.Tickets[0].Strings["region"]}
		}
		for _, t := range m.Tickets {
			delete(w.queued, t.ID)
			for _, p := range t.Players {
				w.players[p] = "held"
				w.rooms[room].seats[p] = true
			}
		}
		if _, err := w.res.Reserve(room, m.Players(), 0); err != nil {
			w.fail("Reserve for %v: %v", ids([]Match{m}), err)
		}
	}
}

// seated lists the players holding a seat or reservation, with it.
func (w *world) seated(claimed bool) []Reservation {
	var out []Reservation
	for _, p := range sortedKeys(w.players) {
		if r, ok := w.res.Seat(p); ok && r.Claimed == claimed {
			out = append(out, r)
		}
	}
	return out
}

func (w *world) claim() {
	rs := w.seated(false)
	if len(rs) == 0 {
		return
	}
	r := rs[int(w.byte())%len(rs)]
	if w.byte() < 32 {
		if _, err := w.res.Claim(r.Token, "intruder"); !errors.Is(err, ErrWrongPlayer) {
			w.fail("Claim by the wrong player = %v", err)
		}
		return
	}
	expired := !w.clock.Now().Before(r.Expires)
	room, err := w.res.Claim(r.Token, r.Player)
	w.trace = append(w.trace, fmt.Sprintf("claim %s in %s: %v", r.Player, r.Room, err))
	switch {
	case expired && !errors.Is(err, ErrReservationExpired):
		w.fail("Claim after expiry = %v", err)
	case !expired && (err != nil || room != r.Room):
		w.fail("Claim = %q, %v; want %q", room, err, r.Room)
	}
	if _, err := w.res.Claim(r.Token, r.Player); err == nil {
		w.fail("a token was claimed twice")
	}
}

func (w *world) leave() {
	rs := append(w.seated(true), w.seated(false)...)
	if len(rs) == 0 {
		return
	}
	r := rs[int(w.byte())%len(rs)]
	w.trace = append(w.trace, fmt.Sprintf("leave %s from %s", r.Player, r.Room))
	if !w.res.Release(r.Player) {
		w.fail("Release(%s) found no seat", r.Player)
	}
}

func (w *world) endRoom() {
	ids := sortedKeys(w.rooms)
	if len(ids) == 0 {
		return
	}
	r := w.rooms[ids[int(w.byte())%len(ids)]]
	w.trace = append(w.trace, fmt.Sprintf("end %s", r.id))
	r.ended = true
	if n := w.res.ReleaseRoom(r.id); len(r.seats) != 0 {
		w.fail("room %s ended with %d seats released and %d left", r.id, n, len(r.seats))
	}
	delete(w.rooms, r.id)
}

func (w *world) check() {
	w.tb.Helper()
	held, waiting := 0, map[string]QueueStats{}
	for _, p := range sortedKeys(w.players) {
		s := w.players[p]
		if s == "held" {
			held++
		}
		if w.res.Holds(p) != (s == "held") {
			w.fail("player %s: state %q, holds a seat %v", p, s, w.res.Holds(p))
		}
	}
	for id, t := range w.queued {
		if !w.mm.Queued(id) {
			w.fail("ticket %s waiting in the model, not in the matchmaker", id)
		}
		qs := waiting[t.Mode]
		qs.Tickets++
		qs.Players += len(t.Players)
		waiting[t.Mode] = qs
	}
	st := w.mm.Stats()
	for _, mode := range w.modes {
		if st.Queues[mode] != waiting[mode] {
			w.fail("queue %s: matchmaker %+v, model %+v", mode, st.Queues[mode], waiting[mode])
		}
	}
	if st.Held != held {
		w.fail("matchmaker holds %d players, model %d", st.Held, held)
	}
	for id, r := range w.rooms {
		pending, claimed := w.res.Count(id)
		if len(r.seats) > r.cap || pending+claimed != len(r.seats) {
			w.fail("room %s: %d seats of %d, table says %d+%d", id, len(r.seats), r.cap, pending, claimed)
		}
	}
}

// TestMatchmakerInvariantsUnderRandomOperations runs the world with seeded random streams.
func TestMatchmakerInvariantsUnderRandomOperations(t *testing.T) {
	seeds, steps := 200, 400
	if testing.Short() {
		seeds = 20
	}
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
		w := newWorld(t, func() (byte, bool) { return byte(r.Uint32()), true })
		for range steps {
			w.step()
		}
		if w.mm.Stats().Matches == 0 {
			t.Errorf("seed %d: no match in %d steps: the stream exercises nothing", seed, steps)
		}
	}
}

// FuzzMatchmaker runs the world on the fuzzer's bytes: go test -fuzz FuzzMatchmaker ./match
func FuzzMatchmaker(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte("arrivals and departures, passes and expiries; parties and cancellations"))
	seed := make([]byte, 512)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range seed {
		seed[i] = byte(r.Uint32())
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		i := 0
		next := func() (byte, bool) {
			if i >= len(data) {
				return 0, false
			}
			i++
			return data[i-1], true
		}
		w := newWorld(t, next)
		for i < len(data) {
			w.step()
		}
	})
}
