package match

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

type releaseLog []string

func (l *releaseLog) add(r Reservation, why ReleaseReason) {
	*l = append(*l, fmt.Sprintf("%s/%s %v", r.Room, r.Player, why))
}

func newReservations(ttl time.Duration) (*Reservations, *FakeClock, *releaseLog) {
	c := NewFakeClock(t0)
	log := new(releaseLog)
	return NewReservations(ReservationOptions{TTL: ttl, Clock: c, OnRelease: log.add}), c, log
}

func TestReserveGivesUniqueTokensAndDefaultTTL(t *testing.T) {
	r, _, _ := newReservations(0)
	rs, err := r.Reserve("R", []string{"a", "b", "c"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]bool{}
	for _, x := range rs {
		if x.Room != "R" || !x.Expires.Equal(t0.Add(DefaultReservationTTL)) || len(x.Token) < 20 || tokens[x.Token] || x.Claimed {
			t.Fatalf("reservation %+v", x)
		}
		tokens[x.Token] = true
	}
	if DefaultReservationTTL != 15*time.Second {
		t.Errorf("default TTL %v", DefaultReservationTTL)
	}
	if p, c := r.Count("R"); p != 3 || c != 0 {
		t.Errorf("Count = %d, %d", p, c)
	}
}

// TestReserveRefusesPlayerHoldingASeat: a player holds at most one seat, and a refused
// reservation reserves nothing.
func TestReserveRefusesPlayerHoldingASeat(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(r *Reservations)
		players []string
		want    error
	}{
		{"reserved elsewhere", func(r *Reservations) { r.Reserve("A", []string{"x"}, 0) }, []string{"y", "x"}, ErrSeatHeld},
		{"seated elsewhere", func(r *Reservations) {
			rs, _ := r.Reserve("A", []string{"x"}, 0)
			r.Claim(rs[0].Token, "x")
		}, []string{"x"}, ErrSeatHeld},
		{"reserved in the same room", func(r *Reservations) { r.Reserve("B", []string{"x"}, 0) }, []string{"x"}, ErrSeatHeld},
		{"named twice", nil, []string{"x", "x"}, nil},
		{"released before", func(r *Reservations) {
			r.Reserve("A", []string{"x"}, 0)
			r.Release("x")
		}, []string{"x", "y"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _, _ := newReservations(0)
			if tc.setup != nil {
				tc.setup(r)
			}
			_, err := r.Reserve("B", tc.players, 0)
			if tc.name == "named twice" {
				if err == nil {
					t.Fatal("accepted a player named twice")
				}
			} else if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Reserve = %v, want %v", err, tc.want)
			}
			if err != nil && r.Holds("y") {
				t.Fatal("a refused reservation reserved a seat")
			}
		})
	}
}

func TestClaimTakesTheSeatOnce(t *testing.T) {
	r, c, log := newReservations(10 * time.Second)
	rs, _ := r.Reserve("R", []string{"a", "b"}, 0)
	a, b := rs[0], rs[1]
	for _, tc := range []struct {
		name, token, player string
		wantRoom            string
		want                error
	}{
		{"unknown token", "nope", "a", "", ErrUnknownToken},
		{"wrong player does not spend the token", a.Token, "b", "", ErrWrongPlayer},
		{"the right player", a.Token, "a", "R", nil},
		{"twice", a.Token, "a", "", ErrAlreadyClaimed},
		{"the other seat, just in time", b.Token, "b", "R", nil},
	} {
		if tc.name == "the other seat, just in time" {
			c.Advance(10*time.Second - time.Nanosecond)
		}
		room, err := r.Claim(tc.token, tc.player)
		if room != tc.wantRoom || !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: Claim = %q, %v; want %q, %v", tc.name, room, err, tc.wantRoom, tc.want)
		}
	}
	c.Advance(time.Hour)
	if n := r.Expire(c.Now()); n != 0 || len(*log) != 0 {
		t.Errorf("claimed seats expired: %d %v", n, *log)
	}
	if p, cl := r.Count("R"); p != 0 || cl != 2 {
		t.Errorf("Count = %d, %d", p, cl)
	}
}

// TestExpireReleasesUnclaimedSeats: an unused seat is released and the room told; claimed
// seats stay.
func TestExpireReleasesUnclaimedSeats(t *testing.T) {
	r, c, log := newReservations(15 * time.Second)
	rs, _ := r.Reserve("R", []string{"a", "b", "c"}, 0)
	r.Reserve("S", []string{"d"}, 30*time.Second)
	if _, err := r.Claim(rs[1].Token, "b"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		advance time.Duration
		want    []string
	}{
		{14 * time.Second, nil},
		{time.Second, []string{"R/a expired", "R/c expired"}},
		{14 * time.Second, []string{"R/a expired", "R/c expired"}},
		{time.Second, []string{"R/a expired", "R/c expired", "S/d expired"}},
	} {
		r.Expire(c.Advance(tc.advance))
		got := slices.Clone(*log)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Fatalf("after +%v released %v, want %v", c.Now().Sub(t0), got, tc.want)
		}
	}
	for _, p := range []string{"a", "c", "d"} {
		if r.Holds(p) {
			t.Errorf("%s still holds a seat", p)
		}
	}
	if !r.Holds("b") {
		t.Error("the claimed seat was released")
	}
	if _, err := r.Claim(rs[0].Token, "a"); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("Claim of an expired, released token = %v", err)
	}
}

func TestClaimAfterExpiryReleasesTheSeat(t *testing.T) {
	r, c, log := newReservations(time.Second)
	rs, _ := r.Reserve("R", []string{"a"}, 0)
	c.Advance(time.Second)
	if _, err := r.Claim(rs[0].Token, "a"); !errors.Is(err, ErrReservationExpired) {
		t.Fatalf("Claim = %v", err)
	}
	if !slices.Equal(*log, []string{"R/a expired"}) || r.Holds("a") {
		t.Fatalf("released %v, holds %v", *log, r.Holds("a"))
	}
	if n := r.Expire(c.Now()); n != 0 {
		t.Fatalf("released twice")
	}
}

func TestReleaseFreesSeatsAndTellsTheRoom(t *testing.T) {
	r, _, log := newReservations(0)
	rs, _ := r.Reserve("R", []string{"a", "b", "c"}, 0)
	r.Claim(rs[0].Token, "a")
	r.Reserve("S", []string{"d"}, 0)
	if !r.Release("a") || r.Release("a") || r.Release("nobody") {
		t.Fatal("Release reported wrongly")
	}
	if n := r.ReleaseRoom("R"); n != 2 {
		t.Fatalf("ReleaseRoom = %d", n)
	}
	want := []string{"R/a left", "R/b room ended", "R/c room ended"}
	if !slices.Equal(*log, want) {
		t.Fatalf("released %v, want %v", *log, want)
	}
	if p, c := r.Count("R"); p+c != 0 || !r.Holds("d") {
		t.Fatalf("room R has %d+%d seats; d holds %v", p, c, r.Holds("d"))
	}
	if _, err := r.Reserve("T", []string{"a", "b"}, 0); err != nil {
		t.Fatalf("released players cannot be seated again: %v", err)
	}
}

// TestOnReleaseMayCallBack: the callback runs without the table's lock.
func TestOnReleaseMayCallBack(t *testing.T) {
	c := NewFakeClock(t0)
	var r *Reservations
	r = NewReservations(ReservationOptions{Clock: c, OnRelease: func(x Reservation, _ ReleaseReason) {
		if r.Holds(x.Player) {
			t.Error("released player still holds the seat in the callback")
		}
	}})
	r.Reserve("R", []string{"a", "b"}, time.Second)
	r.Release("a")
	r.Expire(c.Advance(time.Second))
}

// TestClaimTransferMovesOnlyTransferableSeats: a seat reserved for another node's session
// is claimed by whoever brings its token, once, and is then the claimer's; a seat of this
// process's own player still needs that player.
func TestClaimTransferMovesOnlyTransferableSeats(t *testing.T) {
	r, _, _ := newReservations(10 * time.Second)
	rs, _ := r.Reserve("R", []string{"b.remote", "local"}, 0)
	remote, local := rs[0], rs[1]
	fromB := func(p string) bool { return len(p) > 2 && p[:2] == "b." }
	for _, tc := range []struct {
		name, token, player string
		wantRoom            string
		want                error
	}{
		{"another node's seat, by its token", remote.Token, "a.new", "R", nil},
		{"twice", remote.Token, "a.other", "", ErrWrongPlayer}, // it is a.new's now
		{"a local player's seat is not transferable", local.Token, "a.thief", "", ErrWrongPlayer},
		{"its own player", local.Token, "local", "R", nil},
	} {
		room, err := r.ClaimTransfer(tc.token, tc.player, fromB)
		if room != tc.wantRoom || !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: ClaimTransfer = %q, %v; want %q, %v", tc.name, room, err, tc.wantRoom, tc.want)
		}
	}
	if s, ok := r.Seat("a.new"); !ok || !s.Claimed || s.Room != "R" {
		t.Errorf("the transferred seat is not a.new's: %+v %v", s, ok)
	}
	if _, ok := r.Seat("b.remote"); ok {
		t.Errorf("the reserved id still holds a seat")
	}
	if !r.Release("a.new") {
		t.Errorf("the transferred seat cannot be released by its new player")
	}
}
