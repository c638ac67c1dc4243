package match

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestNewLocalRejectsUnsoundQueues(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  QueueConfig
	}{
		{"no mode", QueueConfig{MinPlayers: 1, MaxPlayers: 2}},
		{"min above max", QueueConfig{Mode: "m", MinPlayers: 3, MaxPlayers: 2}},
		{"zero min", QueueConfig{Mode: "m", MinPlayers: 0, MaxPlayers: 2}},
		{"rating without window", QueueConfig{Mode: "m", MinPlayers: 2, MaxPlayers: 2, RatingKey: "r"}},
		{"negative window", QueueConfig{Mode: "m", MinPlayers: 2, MaxPlayers: 2, RatingKey: "r", Window: WindowCurve{Initial: -1, PerSecond: 1}}},
		{"negative relax", QueueConfig{Mode: "m", MinPlayers: 2, MaxPlayers: 2, RegionKey: "g", RegionRelaxAfter: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewLocal(Options{Queues: []QueueConfig{tc.cfg}}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := NewLocal(Options{Queues: []QueueConfig{duel(), duel()}}); err == nil {
		t.Fatal("accepted a mode configured twice")
	}
}

func TestEnqueueRejectsInvalidTickets(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    Ticket
		want error
	}{
		{"unknown mode", tk("chess", "a", 1000, "eu", "p1"), ErrUnknownMode},
		{"empty id", tk("duel", "", 1000, "eu", "p1"), ErrInvalidTicket},
		{"no players", Ticket{ID: "a", Mode: "duel", Numbers: map[string]float64{"rating": 1}}, ErrInvalidTicket},
		{"empty player", tk("duel", "a", 1000, "eu", ""), ErrInvalidTicket},
		{"player twice", tk("duel", "a", 1000, "eu", "p1,p1"), ErrInvalidTicket},
		{"party larger than a match", tk("duel", "a", 1000, "eu", "p1,p2,p3"), ErrInvalidTicket},
		{"missing rating", Ticket{ID: "a", Mode: "duel", Players: []string{"p1"}}, ErrInvalidTicket},
		{"NaN rating", tk("duel", "a", math.NaN(), "eu", "p1"), ErrInvalidTicket},
		{"infinite rating", tk("duel", "a", math.Inf(1), "eu", "p1"), ErrInvalidTicket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := newLocal(t, Options{}, duel())
			if err := l.Enqueue(tc.t); !errors.Is(err, tc.want) {
				t.Fatalf("Enqueue = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestEnqueueRefusesBusyPlayer: a player is in one ticket or one held match at a time.
func TestEnqueueRefusesBusyPlayer(t *testing.T) {
	seated := map[string]bool{"sitting": true}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, l *Local, c *FakeClock)
		next  Ticket
		want  error
	}{
		{"queued alone", func(t *testing.T, l *Local, c *FakeClock) {
			mustEnqueue(t, l, tk("duel", "a", 1000, "eu", "p1"))
		}, tk("duel", "b", 1000, "eu", "p1"), ErrPlayerBusy},
		{"queued in a party", func(t *testing.T, l *Local, c *FakeClock) {
			mustEnqueue(t, l, tk("duel", "a", 1000, "eu", "p1,p2"))
		}, tk("duel", "b", 1000, "eu", "p2"), ErrPlayerBusy},
		{"queued in another mode", func(t *testing.T, l *Local, c *FakeClock) {
			mustEnqueue(t, l, tk("squad", "a", 1000, "eu", "p1"))
		}, tk("duel", "b", 1000, "eu", "p1"), ErrPlayerBusy},
		{"same ticket id", func(t *testing.T, l *Local, c *FakeClock) {
			mustEnqueue(t, l, tk("duel", "a", 1000, "eu", "p1"))
		}, tk("duel", "a", 1000, "eu", "p9"), ErrDuplicateTicket},
		{"matched and not released", func(t *testing.T, l *Local, c *FakeClock) {
			mustEnqueue(t, l, tk("duel", "a", 1000, "eu", "p1"), tk("duel", "b", 1000, "eu", "p2"))
			if n := len(l.Pass(c.Now())); n != 1 {
				t.Fatalf("%d matches", n)
			}
		}, tk("duel", "c", 1000, "eu", "p1"), ErrPlayerBusy},
		{"seated elsewhere", nil, tk("duel", "a", 1000, "eu", "sitting"), ErrPlayerBusy},
		{"matched then released", func(t *testing.T, l *Local, c *FakeClock) {
			mustEnqueue(t, l, tk("duel", "a", 1000, "eu", "p1"), tk("duel", "b", 1000, "eu", "p2"))
			l.Pass(c.Now())
			l.Release("p1")
		}, tk("duel", "c", 1000, "eu", "p1"), nil},
		{"cancelled", func(t *testing.T, l *Local, c *FakeClock) {
			mustEnqueue(t, l, tk("duel", "a", 1000, "eu", "p1"))
			if err := l.Cancel("a"); err != nil {
				t.Fatal(err)
			}
		}, tk("duel", "a", 1000, "eu", "p1"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			squad := QueueConfig{Mode: "squad", MinPlayers: 2, MaxPlayers: 4}
			l, c := newLocal(t, Options{Seated: func(p string) bool { return seated[p] }}, duel(), squad)
			if tc.setup != nil {
				tc.setup(t, l, c)
			}
			if err := l.Enqueue(tc.next); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Enqueue = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCancelWithdrawsOnlyWaitingTickets(t *testing.T) {
	l, c := newLocal(t, Options{}, duel())
	mustEnqueue(t, l, tk("duel", "a", 1000, "eu", "p1"), tk("duel", "b", 1000, "eu", "p2"), tk("duel", "c", 1000, "eu", "p3"))
	if err := l.Cancel("b"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, id string
	}{{"twice", "b"}, {"unknown", "zz"}} {
		if err := l.Cancel(tc.id); !errors.Is(err, ErrTicketNotFound) {
			t.Errorf("%s: Cancel = %v, want ErrTicketNotFound", tc.name, err)
		}
	}
	got := ids(l.Pass(c.Now()))
	if len(got) != 1 || got[0] != "a+c" {
		t.Fatalf("matches %v, want [a+c]: the cancelled ticket must not be matched", got)
	}
	if err := l.Cancel("a"); !errors.Is(err, ErrTicketNotFound) {
		t.Errorf("Cancel of a matched ticket = %v, want ErrTicketNotFound", err)
	}
	s := l.Stats()
	if s.Cancelled != 1 || s.Queues["duel"].Tickets != 0 || s.Held != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestEnqueueCopiesTheTicket(t *testing.T) {
	l, c := newLocal(t, Options{}, duel())
	a := tk("duel", "a", 1000, "eu", "p1")
	mustEnqueue(t, l, a, tk("duel", "b", 1000, "eu", "p2"))
	a.Players[0] = "mallory"
	a.Numbers["rating"] = 9999
	ms := l.Pass(c.Now())
	if len(ms) != 1 {
		t.Fatalf("matches %+v", ms)
	}
	for _, tc := range ms[0].Tickets {
		if tc.Players[0] == "mallory" || tc.Numbers["rating"] != 1000 || !tc.Created.Equal(t0) {
			t.Fatalf("ticket changed after Enqueue or not stamped: %+v", tc)
		}
	}
}
