package match

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 is the fake clocks' start: a readable instant far from the zero time.
var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// duel is a 1v1 mode with ratings and regions, used by many tests.
func duel() QueueConfig {
	return QueueConfig{
		Mode: "duel", MinPlayers: 2, MaxPlayers: 2,
		RatingKey: "rating", Window: WindowCurve{Initial: 50, PerSecond: 10, Max: 500},
		RegionKey: "region", RegionRelaxAfter: 30 * time.Second,
	}
}

func newLocal(t testing.TB, opts Options, queues ...QueueConfig) (*Local, *FakeClock) {
	t.Helper()
	clock := NewFakeClock(t0)
	opts.Queues = queues
	if opts.Clock == nil {
		opts.Clock = clock
	}
	l, err := NewLocal(opts)
	if err != nil {
		t.Fatal(err)
	}
	return l, clock
}

// tk makes a ticket: players is a comma-separated list.
func tk(mode, id string, rating float64, region, players string) Ticket {
	return Ticket{
		ID: id, Mode: mode, Players: strings.Split(players, ","),
		Numbers: map[string]float64{"rating": rating},
		Strings: map[string]string{"region": region},
	}
}

func mustEnqueue(t testing.TB, l *Local, ts ...Ticket) {
	t.Helper()
	for _, tc := range ts {
		if err := l.Enqueue(tc); err != nil {
			t.Fatalf("Enqueue(%s): %v", tc.ID, err)
		}
	}
}

// ids lists each match as its sorted ticket ids joined by "+", prefixed by "room:" for
// backfill, in sorted order: a compact form to compare with expectations.
func ids(ms []Match) []string {
	var out []string
	for _, m := range ms {
		var ts []string
		for _, t := range m.Tickets {
			ts = append(ts, t.ID)
		}
		slices.Sort(ts)
		s := strings.Join(ts, "+")
		if m.Room != "" {
			s = m.Room + ":" + s
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
