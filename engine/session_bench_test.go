package engine

import (
	"testing"
)

// BenchmarkSessionInput stands for the per-input path of a connection's goroutine: decode
// the envelope, check the game's input against its type and decode it, queue it for the
// tick. It must not allocate. "unchecked" leaves the type check out, to show its cost.
func BenchmarkSessionInput(b *testing.B) {
	for _, checked := range []bool{true, false} {
		b.Run(map[bool]string{true: "checked", false: "unchecked"}[checked], func(b *testing.B) {
			rc, players := benchRoom(b, 1, 0)
			if !checked {
				rc.sim.(*Room[arenaInput]).schema = nil
			}
			s := &session{e: rc.e, c: players[0].conn.Load(), player: players[0]}
			msg, _ := Marshal([]any{KindInput, 1, arenaInput{DX: 1, DY: -1}})
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s.handle(msg)
				if i%8 == 7 { // a tick takes the batch
					rc.sim.update()
				}
			}
		})
	}
}
