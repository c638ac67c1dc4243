package main

import (
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/engine"
)

// square is a crossword square entity as the game sends it: [id, kind, [letter, by]].
func square(id int, letter string, by int) []any { return []any{id, 1, []any{letter, by}} }

func fullBody(tick int, added ...[]any) []any {
	a := []any{}
	for _, e := range added {
		a = append(a, e)
	}
	return []any{tick, 0, a, []any{}, []any{}}
}

// deltaBody changes square id's letter (field 0).
func deltaBody(tick, base, id int, letter string) []any {
	return []any{tick, base, []any{}, []any{}, []any{[]any{id, 1, letter}}}
}

// TestBotRecoversFromAnUnknownBaseline: a bot drops a delta whose baseline it does not
// hold; a baseline at or below its latest tick is answered by acknowledging that tick again
// (once), one above by [4, 0] (once until a full snapshot, or the timeout), and the full
// snapshot is applied. Never a protocol error or a close; the state ends as the server's.
func TestBotRecoversFromAnUnknownBaseline(t *testing.T) {
	type step struct {
		wait time.Duration
		body []any
		want []int // the ticks acknowledged in answer ([4, t]; 0 for [4, 0]), in order
	}
	tests := []struct {
		name     string
		mirror   bool
		snapRate int
		steps    []step
		tick     uint32
		letter   byte // square 1's letter at the end
		misses   int64
		resets   int64
	}{
		{
			name: "newer unknown baseline asks for a full snapshot once", mirror: true, snapRate: 1,
			steps: []step{
				{body: fullBody(10, square(1, "A", 7)), want: []int{10}},
				{body: deltaBody(14, 12, 1, "B"), want: []int{0}}, // 12 never applied
				{body: deltaBody(16, 12, 1, "C")},                 // sent before [4, 0] arrived: dropped
				{body: fullBody(18, square(1, "D", 7)), want: []int{18}},
				{body: deltaBody(20, 18, 1, "E"), want: []int{20}},
			},
			tick: 20, letter: 'E', misses: 2, resets: 1,
		},
		{
			name: "older unknown baseline acknowledges the latest tick again", mirror: true, snapRate: 1,
			steps: []step{
				{body: fullBody(10, square(1, "A", 7)), want: []int{10}},
				{body: fullBody(20, square(1, "B", 7)), want: []int{20}},
				{body: deltaBody(24, 15, 1, "C"), want: []int{20}}, // 15 never applied, below 20
				{body: deltaBody(26, 15, 1, "D")},                  // 20 acknowledged again already
				{body: deltaBody(28, 20, 1, "E"), want: []int{28}},
			},
			tick: 28, letter: 'E', misses: 2,
		},
		{
			name: "without a mirror the grids decide", mirror: false, snapRate: 1,
			steps: []step{
				{body: fullBody(10, square(1, "A", 7)), want: []int{10}},
				{body: deltaBody(14, 12, 1, "B"), want: []int{0}},
				{body: fullBody(16, square(1, "C", 7)), want: []int{16}},
				{body: deltaBody(18, 16, 1, "D"), want: []int{18}},
			},
			tick: 18, letter: 'D', misses: 1, resets: 1,
		},
		{
			name: "no full snapshot within the timeout: ask again", mirror: true, snapRate: 100, // 40 ms
			steps: []step{
				{body: fullBody(10, square(1, "A", 7)), want: []int{10}},
				{body: deltaBody(14, 12, 1, "B"), want: []int{0}},
				{wait: 100 * time.Millisecond, body: deltaBody(16, 12, 1, "C"), want: []int{0}},
				{body: fullBody(18, square(1, "D", 7)), want: []int{18}},
			},
			tick: 18, letter: 'D', misses: 2, resets: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, p := seatBotAt(t, "crossword", func(r *runner) gameDriver {
				r.cfg.Mirror = tt.mirror
				d, err := newCrosswordDriver(r)
				if err != nil {
					t.Fatal(err)
				}
				return d
			}, tt.snapRate)
			for i, st := range tt.steps {
				if st.wait > 0 {
					time.Sleep(st.wait) // at least this long: the timeout has passed
				}
				p.send(engine.KindSnapshot, st.body)
				for _, tick := range st.want {
					if m := p.read(); len(m) != 2 || m[0] != int64(engine.KindAck) || m[1] != int64(tick) {
						t.Fatalf("step %d (snapshot %v): the bot sent %v, want [4, %d]", i, st.body[:2], m, tick)
					}
				}
			}
			// The last step's answer was read: the read loop is done with it.
			if b.lastTick != tt.tick {
				t.Errorf("latest tick %d, want %d", b.lastTick, tt.tick)
			}
			if b.mirror != nil {
				e, ok := b.mirror.Entity(1)
				var letter string
				if !ok || e.Decode(0, &letter) != nil || letter != string(tt.letter) {
					t.Errorf("mirror's square 1 is %v, want %q", e.Fields, tt.letter)
				}
			}
			cb := b.beh.(*crosswordBot)
			cb.mu.Lock()
			g := cb.gs.latest()
			cb.mu.Unlock()
			if g.tick != tt.tick || len(g.letters) == 0 || g.letters[0] != tt.letter {
				t.Errorf("grid of tick %d shows %q, want %q at tick %d", g.tick, g.letters, tt.letter, tt.tick)
			}
			if m, r := b.n.baselineMisses.Load(), b.n.baselineResets.Load(); m != tt.misses || r != tt.resets {
				t.Errorf("%d misses and %d resets counted, want %d and %d", m, r, tt.misses, tt.resets)
			}
			if n := b.n.protocolErrors.Load(); n != 0 || b.lost.Load() {
				t.Errorf("%d protocol errors, lost %v: a miss is neither", n, b.lost.Load())
			}
		})
	}
}
