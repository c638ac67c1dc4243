package engine

import (
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/state"
)

// An input's fifth element is the view the client drew, [from_tick, span, t_milli]: it
// reaches the game as Input.View, limited to RoomConfig.MaxRewind before the tick that
// applies it. A malformed view makes the whole input malformed: it is not queued.
func TestInputViewReachesTheGameWithinTheRewindLimit(t *testing.T) {
	rc, _, s := sessionAtTick100(t)
	rc.cfg.MaxRewind = 500 * time.Millisecond // 30 ticks
	in := arenaInput{DX: 1}
	tests := []struct {
		name string
		msg  []any
		want state.View // after the room's clamp at tick 101 (latest state 100, 30 ticks back)
		ok   bool
	}{
		{"no view", []any{KindInput, 1, in}, state.View{}, true},
		{"ack, no view", []any{KindInput, 2, in, 90}, state.View{}, true},
		{"nil view", []any{KindInput, 3, in, nil, nil}, state.View{}, true},
		{"a view", []any{KindInput, 4, in, nil, []int{90, 2, 250}}, state.View{From: 90, To: 92, T: 0.25}, true},
		{"with an ack", []any{KindInput, 5, in, 98, []int{96, 2, 1000}}, state.View{From: 96, To: 98, T: 1}, true},
		{"extrapolated", []any{KindInput, 6, in, nil, []int{96, 2, 1800}}, state.View{From: 96, To: 98, T: 1.8}, true},
		{"one snapshot", []any{KindInput, 7, in, nil, []int{99, 0, 0}}, state.View{From: 99, To: 99}, true},
		{"older than the limit", []any{KindInput, 8, in, nil, []int{20, 2, 500}}, state.View{From: 70, To: 70}, true},
		{"in the future", []any{KindInput, 9, in, nil, []int{200, 2, 500}}, state.View{From: 100, To: 100}, true},
		{"not an array", []any{KindInput, 10, in, nil, 90}, state.View{}, false},
		{"two elements", []any{KindInput, 11, in, nil, []int{90, 2}}, state.View{}, false},
		{"negative", []any{KindInput, 12, in, nil, []int{90, -2, 250}}, state.View{}, false},
		{"a float blend", []any{KindInput, 13, in, nil, []any{90, 2, 0.25}}, state.View{}, false},
		{"tick 0", []any{KindInput, 14, in, nil, []int{0, 2, 250}}, state.View{}, false},
		{"a span too long", []any{KindInput, 15, in, nil, []int{90, 70000, 250}}, state.View{}, false},
		{"six elements", []any{KindInput, 16, in, nil, []int{90, 2, 250}, 1}, state.View{}, false},
	}
	r := rc.sim.(*Room[arenaInput])
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			malformed := rc.e.metrics.Malformed.Load()
			s.handle(b)
			if queued := len(r.pending) == 1; queued != tt.ok {
				t.Fatalf("queued %v, want %v", queued, tt.ok)
			}
			if !tt.ok {
				if rc.e.metrics.Malformed.Load() != malformed+1 {
					t.Fatal("a malformed view was not counted as malformed")
				}
				return
			}
			// Back to tick 100 afterwards, so that every case is judged at tick 101. Odd
			// ticks take no snapshot (30 of 60 Hz), so nothing else saw this one.
			defer func() { rc.tick--; rc.publicTick.Store(rc.tick) }()
			var seen []Input[arenaInput]
			g := r.game.(*arena)
			g.onUpdate = func(inputs []Input[arenaInput]) { seen = append(seen, inputs...) }
			defer func() { g.onUpdate = nil }()
			rc.step(false)
			if len(seen) != 1 || seen[0].View != tt.want || seen[0].Value != in {
				t.Fatalf("the game got %+v, want view %+v", seen, tt.want)
			}
		})
	}
}

// sessionAtTick100 is one player's session in a 60 Hz room that has run 100 ticks, for tests
// that hand it messages and judge what the game gets at tick 101.
func sessionAtTick100(t *testing.T) (*roomCore, *Player, *session) {
	rc, players := benchRoom(t, 1, 0)
	p := players[0]
	s := &session{e: rc.e, c: p.conn.Load(), player: p}
	for rc.tick < 100 {
		rc.step(false)
	}
	rc.publicTick.Store(rc.tick)
	return rc, p, s
}
