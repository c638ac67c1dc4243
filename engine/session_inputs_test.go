package engine

import (
	"testing"

	"github.com/rallypoint/rallypoint/state"
)

// A batch [10, first_seq, [input, ...], ack_tick, [view, ...]] reaches the game as the same
// inputs sent one by one would: in order, with seqs first_seq, first_seq+1..., each with its
// view. A batch of the wrong shape queues nothing; an input that does not fit the game's type
// is refused with the rest of the batch, after the ones before it.
func TestInputBatchIsAppliedAsItsInputsOneByOne(t *testing.T) {
	rc, p, s := sessionAtTick100(t)
	in := func(dx float32) arenaInput { return arenaInput{DX: dx} }
	type got struct {
		seq  uint32
		dx   float32
		view state.View
	}
	tests := []struct {
		name      string
		msg       []any
		want      []got // what the game gets at the next tick
		malformed bool
		ack       uint32 // the player's acknowledged tick afterwards (0: unchanged)
	}{
		{"one", []any{KindInputs, 1, []any{in(1)}}, []got{{1, 1, state.View{}}}, false, 0},
		{"three", []any{KindInputs, 2, []any{in(1), in(-1), in(0)}},
			[]got{{2, 1, state.View{}}, {3, -1, state.View{}}, {4, 0, state.View{}}}, false, 0},
		{"with an ack", []any{KindInputs, 5, []any{in(1), in(1)}, 98}, []got{{5, 1, state.View{}}, {6, 1, state.View{}}}, false, 98},
		{"with views", []any{KindInputs, 7, []any{in(1), in(-1)}, nil, []any{[]int{96, 2, 500}, nil}},
			[]got{{7, 1, state.View{From: 96, To: 98, T: 0.5}}, {8, -1, state.View{}}}, false, 0},
		{"nil views", []any{KindInputs, 9, []any{in(1)}, nil, nil}, []got{{9, 1, state.View{}}}, false, 0},
		{"eight", []any{KindInputs, 10, []any{in(1), in(1), in(1), in(1), in(1), in(1), in(1), in(1)}},
			[]got{{10, 1, state.View{}}, {11, 1, state.View{}}, {12, 1, state.View{}}, {13, 1, state.View{}},
				{14, 1, state.View{}}, {15, 1, state.View{}}, {16, 1, state.View{}}, {17, 1, state.View{}}}, false, 0},
		{"nine", []any{KindInputs, 18, []any{in(1), in(1), in(1), in(1), in(1), in(1), in(1), in(1), in(1)}}, nil, true, 0},
		{"empty", []any{KindInputs, 18, []any{}}, nil, true, 0},
		{"not an array", []any{KindInputs, 18, in(1)}, nil, true, 0},
		{"seq 0", []any{KindInputs, 0, []any{in(1)}}, nil, true, 0},
		{"seqs past 2^32", []any{KindInputs, uint64(1<<32 - 1), []any{in(1), in(1)}}, nil, true, 0},
		{"views of another length", []any{KindInputs, 18, []any{in(1), in(1)}, nil, []any{nil}}, nil, true, 0},
		{"a bad view", []any{KindInputs, 18, []any{in(1)}, nil, []any{[]int{90, 2}}}, nil, true, 0},
		{"a bad ack", []any{KindInputs, 18, []any{in(1)}, "x"}, nil, true, 0},
		{"six elements", []any{KindInputs, 18, []any{in(1)}, nil, nil, 1}, nil, true, 0},
		{"the second does not fit", []any{KindInputs, 18, []any{in(1), "nope", in(1)}}, []got{{18, 1, state.View{}}}, true, 0},
	}
	r := rc.sim.(*Room[arenaInput])
	g := r.game.(*arena)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			malformed := rc.e.metrics.Malformed.Load()
			s.handle(b)
			if m := rc.e.metrics.Malformed.Load() != malformed; m != tt.malformed {
				t.Fatalf("counted as malformed: %v, want %v", m, tt.malformed)
			}
			if tt.ack != 0 && p.ackTick.Load() != tt.ack {
				t.Fatalf("acknowledged tick %d, want %d", p.ackTick.Load(), tt.ack)
			}
			var seen []got
			g.onUpdate = func(inputs []Input[arenaInput]) {
				for _, in := range inputs {
					seen = append(seen, got{in.Seq, in.Value.DX, in.View})
				}
			}
			defer func() { g.onUpdate = nil }()
			// Judged at tick 101 every time (odd ticks take no snapshot).
			defer func() { rc.tick--; rc.publicTick.Store(rc.tick) }()
			rc.step(false)
			if len(seen) != len(tt.want) {
				t.Fatalf("the game got %+v, want %+v", seen, tt.want)
			}
			for i := range seen {
				if seen[i] != tt.want[i] {
					t.Fatalf("the game got %+v, want %+v", seen, tt.want)
				}
			}
		})
	}
}
