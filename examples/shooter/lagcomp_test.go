package shooter

import (
	"math"
	"testing"

	"github.com/rallypoint/rallypoint/state"
)

// A target runs right along the open top of the arena while a shooter below it aims at
// where a page drew it: two snapshots some ticks ago, blended (or extrapolated past the
// newer one). The input says so with its View, and the shot hits if the server blends the
// target's recorded positions the same way. Aiming where it was drawn with another view,
// or with none, misses: the view matters, not where the aim happens to point.
func TestLagCompensationJudgesTheShotWhereThePageDrewTheTarget(t *testing.T) {
	const fireAt = 60 // the tick of the shot
	v := func(from, span int, blend float64) state.View {
		return state.View{From: state.Tick(fireAt - from), To: state.Tick(fireAt - from + span), T: blend}
	}
	cases := []struct {
		name  string
		drawn state.View // what the page drew, where the shooter aims
		sent  state.View // what the input says was drawn
		hit   bool
	}{
		{"no view, aimed at the present", state.View{}, state.View{}, true},
		{"the latest snapshot", v(1, 0, 0), v(1, 0, 0), true},
		{"halfway between two snapshots 8 and 6 ticks ago", v(8, 2, 0.5), v(8, 2, 0.5), true},
		{"a third of the way, 20 ticks ago (333 ms)", v(20, 2, 1.0/3), v(20, 2, 1.0/3), true},
		{"extrapolated 60% past the newest snapshot", v(4, 2, 1.6), v(4, 2, 1.6), true},
		{"a snapshot skipped: blended across 4 ticks", v(10, 4, 0.75), v(10, 4, 0.75), true},
		{"50 ticks ago, within the 1 s history", v(50, 2, 0.5), v(50, 2, 0.5), true},
		{"drawn long ago, sent as the present", v(8, 2, 0.5), state.View{}, false},
		{"drawn 8 ticks ago, sent as 20", v(8, 2, 0.5), v(20, 2, 0.5), false},
		{"the present drawn, an old view sent", state.View{}, v(12, 2, 0), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newArena(t, Options{})
			shooter := a.join(1, "shooter", 900, 300)
			target := a.join(2, "target", 700, 60) // runs to about (955, 60): the shot goes nearly straight up
			xs := map[state.Tick]float64{}         // the target's x at the end of each tick
			for range fireAt - 1 {
				a.step(input(target, Input{Keys: KeyRight}))
				xs[state.Tick(a.tick)] = target.x
			}
			aimX := target.x // the present
			if !c.drawn.IsZero() {
				x0, x1 := xs[c.drawn.From], xs[c.drawn.To]
				aimX = x0 + (x1-x0)*c.drawn.T
			}
			in := input(shooter, Input{Aim: aimAt(shooter.x, shooter.y, aimX, 60), Fire: FireBlaster})
			in.View = c.sent
			a.step(in, input(target, Input{Keys: KeyRight})) // the target moves after the shot
			if len(a.rec.shots) != 1 {
				t.Fatalf("%d shots", len(a.rec.shots))
			}
			s := a.rec.shots[0]
			if got := s.Hit == target.id; got != c.hit {
				t.Fatalf("shot %+v: hit %v, want %v (aimed at x %.2f, the target is at %.2f)", s, got, c.hit, aimX, target.x)
			}
			if !c.hit {
				if target.health != MaxHealth || s.Hit != 0 {
					t.Fatalf("a miss did damage: shot %+v, health %d", s, target.health)
				}
				return
			}
			// The tracer ends on the circle of the target where the shooter saw it.
			if d := math.Hypot(float64(s.X2)-aimX, float64(s.Y2)-60); target.health != MaxHealth-BlasterDamage || d < Radius-1 || d > Radius+1 {
				t.Fatalf("shot %+v, %v from the target seen at (%v, 60); health %d", s, d, aimX, target.health)
			}
		})
	}
}

// A target that was dead, or not yet in the arena, at a tick the view blends is not hit
// there; nor is one the view names from before the history began.
func TestRewindDoesNotHitWhereNobodyWas(t *testing.T) {
	a := newArena(t, Options{})
	shooter := a.join(1, "shooter", 200, 100)
	a.run(20)
	late := a.join(2, "late", 700, 100) // joins at tick 20: recorded from tick 21
	a.step()
	for _, view := range []state.View{{From: 15, To: 15}, {From: 19, To: 21, T: 0.9}} {
		in := input(shooter, Input{Aim: aimAt(200, 100, 700, 100), Fire: FireBlaster})
		in.View = view
		a.run(BlasterCooldown)
		a.step(in)
	}
	for _, s := range a.rec.shots {
		if s.Hit != 0 {
			t.Fatalf("shots %+v: a player who was not there yet was hit", a.rec.shots)
		}
	}
	if len(a.rec.shots) != 2 || late.health != MaxHealth {
		t.Fatalf("shots %+v, health %d", a.rec.shots, late.health)
	}
}

// The shot leaves from where the input's own step puts the shooter: the page aims from its
// prediction of that place, so a strafing shooter's shot goes where it was aimed.
func TestAShotLeavesFromWhereItsStepEnds(t *testing.T) {
	a := newArena(t, Options{})
	shooter := a.join(1, "shooter", 900, 300)
	target := a.join(2, "target", 900, 60)
	a.step()
	x, y := Step(shooter.x, shooter.y, KeyRight) // where this input's step goes
	a.step(input(shooter, Input{Keys: KeyRight, Aim: aimAt(x, y, target.x-Radius*0.9, target.y), Fire: FireBlaster}))
	s := a.rec.shots[0]
	if s.X1 != round(x) || s.Y1 != round(y) || s.Hit != target.id {
		t.Fatalf("shot %+v from (%v, %v): the aim from the stepped position should graze the target", s, x, y)
	}
	// The same aim from where the shooter stood before its step passes the target by: the
	// origin is what makes it a hit.
	dx, dy := direction(aimAt(x, y, target.x-Radius*0.9, target.y))
	if _, hit := RayCircle(900, 300, dx, dy, target.x, target.y, Radius, 1000); hit {
		t.Fatal("the test does not tell the two origins apart")
	}
}
