package main

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/state"
)

// wireCell and wireBoard are the crossword's square and board entities as it replicates
// them (README.md of examples/crossword).
type wireCell struct {
	letter string
	by     uint32
}

func (c wireCell) AppendFields(f *state.Fields) {
	f.String(c.letter)
	f.Uint(uint64(c.by))
}

type wireBoard struct {
	pz      *crossword.Puzzle
	players int
}

func (b wireBoard) AppendFields(f *state.Fields) {
	mask := []byte(b.pz.Solution)
	for i, c := range mask {
		if c != '#' {
			mask[i] = '.'
		}
	}
	f.String(b.pz.ID)
	f.String(b.pz.Title)
	f.String(b.pz.Author)
	f.Int(int64(b.pz.Width))
	f.Int(int64(b.pz.Height))
	f.String(string(mask))
	_ = f.Value([]any{[]any{0, 1, 0, 0, 5, "clue"}})
	_ = f.Value([]any{})
	f.Uint(0)
	f.Int(int64(b.players))
}

// TestCrosswordBotSeesEveryLetterOnce fills two puzzles square by square on a server-side
// ring, sending each tick as a delta against a lagging baseline (so a square is listed in
// several bodies): the bot's grid must follow the server's, and each letter must be
// observed exactly once.
func TestCrosswordBotSeesEveryLetterOnce(t *testing.T) {
	for _, withMirror := range []bool{false, true} {
		for _, v2 := range []bool{false, true} {
			name := map[bool]string{false: "no mirror", true: "mirror"}[withMirror] + map[bool]string{false: ", v1", true: ", v2"}[v2]
			t.Run(name, func(t *testing.T) { testCrosswordBot(t, withMirror, v2) })
		}
	}
}

// encodeSnap encodes the delta from base to s for the wire v2 says, and applies it to m.
func encodeSnap(t *testing.T, m *state.Mirror, base, s *state.Snapshot, v2 bool) snapMsg {
	t.Helper()
	msg := snapMsg{v2: v2}
	var err error
	if v2 {
		msg.b, _ = state.AppendDeltaV2(nil, base, nil, s, nil)
		if m != nil {
			_, err = m.ApplyV2(msg.b)
		}
	} else {
		msg.b = state.AppendDelta(nil, base, s, nil)
		if m != nil {
			_, err = m.Apply(msg.b)
		}
	}
	if err != nil {
		t.Fatalf("tick %d: mirror: %v", s.Tick(), err)
	}
	return msg
}

func testCrosswordBot(t *testing.T, withMirror, v2 bool) {
	r := &runner{}
	r.measureStart.Store(1)
	d, err := newCrosswordDriver(r)
	if err != nil {
		t.Fatal(err)
	}
	b := &bot{r: r, player: 7}
	if withMirror {
		b.mirror = state.NewMirror(64)
	}
	b.firstSnap.Store(1)
	cb := d.newBehavior(b).(*crosswordBot)

	rng := rand.New(rand.NewPCG(5, 6))
	ring := state.NewRing(64)
	builder := ring.Builder()
	var applied []uint32
	tick, misses := uint32(0), 0
	for round, pi := range []int{1, 0, 4} { // 7x7, then 5x5, then 4x3: shapes change
		pz := d.list[pi]
		fill := make([]byte, len(pz.Solution))
		order := rng.Perm(len(pz.Solution))
		for step := 0; step <= len(order); step++ {
			if step > 0 {
				sq := order[step-1]
				if pz.Solution[sq] == '#' {
					continue
				}
				fill[sq] = pz.Solution[sq]
				cb.letters.send(letterKey(pi, sq, 7), int64(10+round)) // sent after the bot's first snapshot
			}
			tick++
			builder.Begin(state.Tick(tick))
			builder.Room(wireBoard{pz, int(tick)})
			for sq, c := range pz.Solution {
				if c == '#' {
					continue
				}
				cell := wireCell{}
				if fill[sq] != 0 {
					cell = wireCell{string(fill[sq]), 7}
				}
				builder.Add(state.ID(sq+1), crossword.KindCell, cell)
			}
			builder.Add(crossword.CursorBase+7, crossword.KindCursor, wireCell{"cursor", 1})
			ring.Push(builder.Finish())
			var baseline uint32
			if len(applied) > 0 {
				k := rng.IntN(min(len(applied), 5))
				if rng.IntN(15) == 0 {
					k = min(len(applied)-1, gridHistory+3) // older than the bot's history
				}
				baseline = applied[len(applied)-1-k]
			}
			body := encodeSnap(t, b.mirror, ring.Get(state.Tick(baseline)), ring.Latest(), v2)
			err := cb.snapshot(body, int64(100+tick))
			if errors.Is(err, errBaselineMiss) && b.mirror == nil {
				misses++
				// The server sends the same state again against a tick the bot holds.
				body = encodeSnap(t, nil, ring.Get(state.Tick(applied[len(applied)-1])), ring.Latest(), v2)
				err = cb.snapshot(body, int64(100+tick))
			}
			if err != nil {
				t.Fatalf("tick %d: %v", tick, err)
			}
			applied = append(applied, tick)

			want := make([]bool, len(fill))
			for i, c := range fill {
				want[i] = c != 0
			}
			g := cb.gs.latest()
			got := make([]bool, len(fill))
			for i := range got {
				got[i] = i < len(g.letters) && g.letters[i] != 0
			}
			if g.id != pz.ID || g.puzzle != pi || !slices.Equal(got, want) {
				t.Fatalf("tick %d: bot sees puzzle %q (%d) filled %v, want %q %v", tick, g.id, g.puzzle, got, pz.ID, want)
			}
			empty := 0
			for i := range len(g.mask) {
				if g.empty(i) {
					empty++
				}
			}
			if empty != pz.White()-countTrue(want) {
				t.Fatalf("tick %d: %d empty squares, want %d", tick, empty, pz.White()-countTrue(want))
			}
		}
	}
	if b.mirror == nil && misses == 0 || b.mirror != nil && cb.gs.stale == 0 {
		t.Errorf("no delta against a baseline older than the history (misses %d, rebuilt %d)", misses, cb.gs.stale)
	}
	placed := cb.letters.finish()
	total := d.list[1].White() + d.list[0].White() + d.list[4].White()
	if len(placed) != total || cb.got.Load() != int64(total) {
		t.Fatalf("%d letters placed, %d seen by the bot; want %d", len(placed), cb.got.Load(), total)
	}
	for _, l := range placed {
		if l.got.Load() != 1 {
			t.Fatalf("a letter was observed %d times", l.got.Load())
		}
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func TestRoundsSplitAPuzzlesVisits(t *testing.T) {
	visits := func(vs ...visit) *crosswordBot { return &crosswordBot{visits: vs} }
	rs := newRounds([]*crosswordBot{
		visits(visit{0, 10, 50}, visit{1, 60, 90}, visit{0, 300, 320}),
		visits(visit{0, 45, 58}),   // overlaps the first round of puzzle 0
		visits(visit{0, 65, 66}),   // within the slack of it (a stalled bot's last look)
		visits(visit{1, 95, 120}),  // puzzle 1's round, after a gap of 5 ticks
		visits(visit{0, 200, 210}), // a later round of puzzle 0
		visits(visit{1, 60, 61}, visit{2, 121, 130}),
	}, 10)
	tests := []struct {
		puzzle int
		tick   uint32
		same   uint32 // a tick of the same round, 0 for "no round holds tick"
	}{
		{0, 10, 66}, {0, 58, 12}, {0, 200, 210}, {0, 310, 300}, {1, 60, 120}, {2, 125, 121},
		{0, 100, 0}, {0, 250, 0}, {3, 10, 0},
	}
	for _, tt := range tests {
		id := rs.of(tt.puzzle, tt.tick)
		if tt.same == 0 {
			if id != -1 {
				t.Errorf("puzzle %d tick %d: round %d, want none", tt.puzzle, tt.tick, id)
			}
			continue
		}
		if id < 0 || rs.of(tt.puzzle, tt.same) != id {
			t.Errorf("puzzle %d: ticks %d and %d in rounds %d and %d, want one", tt.puzzle, tt.tick, tt.same, id, rs.of(tt.puzzle, tt.same))
		}
	}
	if a, b, c := rs.of(0, 20), rs.of(0, 205), rs.of(0, 310); a == b || b == c || a == c {
		t.Errorf("puzzle 0's three rounds have ids %d, %d, %d: want three", a, b, c)
	}
}

func TestFinalGridsFindADivergentPlayer(t *testing.T) {
	g := func(tick uint32, id string, letters string, by ...uint32) *grid {
		return &grid{tick: tick, id: id, letters: []byte(letters), by: by}
	}
	tests := []struct {
		name  string
		grids []*grid
		want  int
	}{
		{"all equal", []*grid{g(10, "a", "AB", 1, 2), g(11, "a", "AB", 1, 2)}, 0},
		{"shorter but equal", []*grid{g(10, "a", "A\x00", 1, 0), g(11, "a", "A", 1)}, 0},
		{"a letter missing", []*grid{g(10, "a", "A\x00", 1, 0), g(11, "a", "AB", 1, 2)}, 1},
		{"placed by another", []*grid{g(12, "a", "AB", 1, 3), g(11, "a", "AB", 1, 2), g(10, "a", "AB", 1, 2)}, 2},
		{"another puzzle", []*grid{g(10, "a", "AB", 1, 2), g(30, "b", "", 0)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bots []*crosswordBot
			for _, gr := range tt.grids {
				cb := &crosswordBot{}
				cb.gs.ring[0], cb.gs.n = *gr, 1
				bots = append(bots, cb)
			}
			if got, n := finalGrids(bots); got != tt.want || n != len(tt.grids) {
				t.Errorf("%d of %d differ, want %d of %d", got, n, tt.want, len(tt.grids))
			}
		})
	}
}
