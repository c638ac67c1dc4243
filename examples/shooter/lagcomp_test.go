package shooter

import (
	"math"
	"testing"
)

// A target runs right along the open top of the arena while a shooter below it aims at
// where it was some ticks ago, and says with View that this is the tick it was looking at.
// The shot hits if the server rewinds the target to that tick, which it does for up to
// MaxRewind ticks and no further.
func TestLagCompensationRewindsTheTargetToTheShootersView(t *testing.T) {
	const (
		fireAt = 40    // the tick of the shot
		noView = -1000 // View 0
	)
	cases := []struct {
		name    string
		seenAgo uint32 // the shooter aims where the target was at the end of tick fireAt-seenAgo
		view    int    // Input.View, relative to fireAt
		hit     bool
	}{
		{"no view, aimed at the present", 1, noView, true},
		{"no view, aimed where it was", 6, noView, false},
		{"the view of the tick being simulated", 1, 0, true},
		{"1 tick ago, which is the present", 1, -1, true},
		{"6 ticks ago", 6, -6, true},
		{"12 ticks ago, the limit", 12, -12, true},
		{"20 ticks ago: rewound only 12, the target is elsewhere", 20, -20, false},
		{"35 ticks ago, beyond the history", 35, -35, false},
		{"a view in the future counts as the present", 1, 5, true},
		{"a view in the future does not rewind", 6, 5, false},
		{"the view matters, not the aim: old view, present aim", 1, -12, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newArena(t, Options{})
			shooter := a.join(1, "shooter", 500, 200)
			target := a.join(2, "target", 400, 60)
			xs := map[uint32]float64{} // the target's x at the end of each tick
			for range fireAt - 1 {
				a.step(input(target, Input{Keys: KeyRight}))
				xs[a.tick] = target.x
			}
			aimX := xs[fireAt-c.seenAgo]
			view := max(0, fireAt+c.view)
			in := Input{Aim: aimAt(shooter.x, shooter.y, aimX, 60), Fire: FireBlaster, View: view}
			a.step(input(shooter, in), input(target, Input{Keys: KeyRight})) // the target moves after the shot
			if len(a.rec.shots) != 1 {
				t.Fatalf("%d shots", len(a.rec.shots))
			}
			s := a.rec.shots[0]
			if got := s.Hit == target.id; got != c.hit {
				t.Fatalf("shot %+v: hit %v, want %v (aimed at x %v, the target was at %v)", s, got, c.hit, aimX, xs[fireAt-1])
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

// A target that was dead, or not yet in the arena, at the tick rewound to is not hit
// there.
func TestRewindDoesNotHitWhereNobodyWas(t *testing.T) {
	a := newArena(t, Options{})
	shooter := a.join(1, "shooter", 200, 100)
	a.run(20)
	late := a.join(2, "late", 700, 100) // joins at tick 20: no history before
	a.step()
	a.step(input(shooter, Input{Aim: aimAt(200, 100, 700, 100), Fire: FireBlaster, View: 15}))
	if len(a.rec.shots) != 1 || a.rec.shots[0].Hit != 0 || late.health != MaxHealth {
		t.Fatalf("shots %+v: a player who was not there yet was hit", a.rec.shots)
	}
}
