package engine

import (
	"testing"

	"github.com/rallypoint/rallypoint/state"
)

// TestSentRingFollowsWhatIsInFlight: a player's ring of sent snapshots grows to what is in
// flight at once (a burst of unacknowledged snapshots), and shrinks back, in one step, only
// after it kept its size for shrinkAfter snapshots with at most a quarter of it in use,
// keeping every entry it holds findable; a player whose acknowledgements lag never loses an
// entry in flight.
func TestSentRingFollowsWhatIsInFlight(t *testing.T) {
	tests := []struct {
		name     string
		burst    int // snapshots sent before the first acknowledgement
		prompt   int // then, snapshots each acknowledged at once
		lag      int // acknowledgements trail the last snapshot by this many
		wantGrew int // ring size after the burst
		wantEnd  int // ring size at the end
	}{
		{"prompt player keeps the first ring", 1, 200, 0, minSent, minSent},
		{"burst of 8 shrinks back after shrinkAfter", 8, shrinkAfter + 10, 0, 8, minSent},
		{"burst of 8, too soon to shrink", 8, shrinkAfter - 10, 0, 8, 8},
		{"burst of 32 shrinks in one step", 32, shrinkAfter + 10, 0, 32, minSent},
		{"burst of 64, lag of 3, shrinks to twice what is in use", 64, shrinkAfter + 10, 3, 64, 8},
		{"lagging acknowledgements keep the room they need", 8, 3 * shrinkAfter, 3, 8, 8},
		{"lag of one fits a quarter of 8", 8, 3 * shrinkAfter, 1, 8, minSent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ring := state.NewRing(4)
			p := &Player{}
			tick := state.Tick(0)
			send := func() {
				tick++
				b := ring.Builder()
				b.Begin(tick)
				s := b.Finish()
				ring.Push(s)
				p.noteSent(ring, s, 0)
			}
			ack := func(t0 state.Tick) {
				if i := p.findSent(t0); i < 0 {
					t.Fatalf("tick %d acknowledged but not found among the sent (lo %d, n %d, len %d)", t0, p.sentLo, p.sentN, len(p.sent))
				}
				p.releaseOlder(ring, t0)
			}
			for range tt.burst {
				send()
			}
			if len(p.sent) != tt.wantGrew {
				t.Fatalf("after a burst of %d: ring of %d, want %d", tt.burst, len(p.sent), tt.wantGrew)
			}
			ack(tick)
			acked := tick
			for range tt.prompt {
				send()
				if k := tick - state.Tick(tt.lag); k > acked {
					ack(k)
					acked = k
				}
				// Every snapshot not yet acknowledged is still held.
				for k := acked; k <= tick; k++ {
					if p.findSent(k) < 0 {
						t.Fatalf("tick %d in flight was dropped (ring of %d)", k, len(p.sent))
					}
				}
			}
			if len(p.sent) != tt.wantEnd {
				t.Fatalf("at the end: ring of %d, want %d", len(p.sent), tt.wantEnd)
			}
			p.forgetSent(ring)
		})
	}
}
