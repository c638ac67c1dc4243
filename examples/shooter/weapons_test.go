package shooter

import (
	"math"
	"testing"
)

func TestBlasterKillsInFourHitsAndCreditsTheKiller(t *testing.T) {
	a := newArena(t, Options{Spawns: []Point{{200, 100}, {700, 100}}})
	ada := a.join(1, "ada", 200, 100)
	bob := a.join(2, "bob", 700, 100)
	fire := input(ada, Input{Aim: 0, Fire: FireBlaster})
	for i := range 3 {
		a.step(fire)
		if want := MaxHealth - (i+1)*BlasterDamage; bob.health != want || !bob.alive {
			t.Fatalf("after hit %d: health %d alive %v, want %d", i+1, bob.health, bob.alive, want)
		}
		a.run(BlasterCooldown-1, fire) // held down: the cooldown holds it back
		if len(a.rec.shots) != i+1 {
			t.Fatalf("%d shots after %d cooldowns", len(a.rec.shots), i+1)
		}
	}
	a.step(fire)
	killedAt := a.tick
	want := KillEvent{Killer: 1, Victim: 2, Weapon: WeaponBlaster, KillerName: "ada", VictimName: "bob"}
	if len(a.rec.kills) != 1 || a.rec.kills[0] != want {
		t.Fatalf("kills %+v, want %+v", a.rec.kills, want)
	}
	if bob.alive || bob.health != 0 || bob.deaths != 1 || ada.frags != 1 || ada.deaths != 0 || bob.frags != 0 {
		t.Fatalf("after the kill: ada %+v, bob %+v", *ada, *bob)
	}
	for _, s := range a.rec.shots {
		if s.By != 1 || s.Hit != 2 || s.X1 != 200 || s.Y1 != 100 || s.X2 != 684 || s.Y2 != 100 {
			t.Fatalf("shot %+v", s)
		}
	}

	// Dead: bob's inputs are ignored, and ada's shots pass where he was.
	a.step(input(bob, Input{Keys: KeyLeft, Fire: FireBlaster}), fire)
	if bob.x != 700 || len(a.rec.shots) != 4 {
		t.Fatalf("a dead player moved or shot: x %v, %d shots", bob.x, len(a.rec.shots))
	}
	a.run(BlasterCooldown, fire)
	if s := a.rec.shots[len(a.rec.shots)-1]; s.Hit != 0 || s.X2 != 200+BlasterRange {
		t.Fatalf("a shot through a dead player: %+v (want it to go on to its range)", s)
	}

	// Respawn RespawnTicks after the death, at the spawn farthest from ada, at full health.
	for a.tick < killedAt+RespawnTicks-1 {
		a.step()
		if bob.alive {
			t.Fatalf("respawned at tick %d, killed at %d", a.tick, killedAt)
		}
	}
	a.step()
	if !bob.alive || bob.health != MaxHealth || bob.x != 700 || bob.y != 100 || bob.deaths != 1 {
		t.Fatalf("at tick %d, %d after the kill: %+v", a.tick, a.tick-killedAt, *bob)
	}
}

func TestSpawnIsFarthestFromLiveEnemies(t *testing.T) {
	a := newArena(t, Options{})
	a.join(1, "ada", 100, 100) // top-left corner
	bob := a.join(2, "bob", 0, 0)
	a.g.spawn(bob)
	if bob.x != 1900 || bob.y != 1100 {
		t.Fatalf("spawned at (%v, %v), want the opposite corner", bob.x, bob.y)
	}
	a.join(3, "cy", 1900, 1100)
	a.g.spawn(bob) // now the farthest from both corners
	for _, s := range Spawns {
		if s == (Point{bob.x, bob.y}) {
			d := min(math.Hypot(s.X-100, s.Y-100), math.Hypot(s.X-1900, s.Y-1100))
			for _, o := range Spawns {
				if min(math.Hypot(o.X-100, o.Y-100), math.Hypot(o.X-1900, o.Y-1100)) > d {
					t.Fatalf("spawned at %v, but %v is farther from everyone", s, o)
				}
			}
			return
		}
	}
	t.Fatalf("spawned at (%v, %v), not a spawn point", bob.x, bob.y)
}

func TestBlasterStopsAtWalls(t *testing.T) {
	a := newArena(t, Options{})
	ada := a.join(1, "ada", 800, 600)
	bob := a.join(2, "bob", 1200, 600) // behind the centre pillar
	a.step(input(ada, Input{Aim: 0, Fire: FireBlaster}))
	if len(a.rec.shots) != 1 || a.rec.shots[0].X2 != 940 || a.rec.shots[0].Y2 != 600 || a.rec.shots[0].Hit != 0 || bob.health != MaxHealth {
		t.Fatalf("shots %+v, bob's health %d", a.rec.shots, bob.health)
	}
	// Out of range: the tracer ends at BlasterRange, or at the border if that is nearer.
	a.g.humans[ada.p].x, a.g.humans[ada.p].y = 100, 100
	a.run(BlasterCooldown, input(ada, Input{Aim: 0, Fire: FireBlaster}))
	if s := a.rec.shots[1]; s.X2 != 100+BlasterRange || s.Y2 != 100 {
		t.Fatalf("shot along the open top: %+v, want it to end at range", s)
	}
	a.run(BlasterCooldown, input(ada, Input{Aim: 3142, Fire: FireBlaster})) // left, into the border
	if s := a.rec.shots[2]; s.X2 != 0 || s.Y2 != 100 {
		t.Fatalf("shot into the border: %+v", s)
	}
	a.g.humans[ada.p].x, a.g.humans[ada.p].y = 1000, 100
	a.run(BlasterCooldown, input(ada, Input{Aim: 1571, Fire: FireBlaster})) // down, into the top spine
	if s := a.rec.shots[3]; s.X2 != 1000 || s.Y2 != 120 {
		t.Fatalf("shot into the spine's end: %+v", s)
	}
}

func TestRocketFliesAndExplodesOnAWall(t *testing.T) {
	a := newArena(t, Options{})
	ada := a.join(1, "ada", 805, 600)
	a.step(input(ada, Input{Aim: 0, Fire: FireRocket}))
	if len(a.g.rockets) != 1 {
		t.Fatalf("%d rockets", len(a.g.rockets))
	}
	rk := a.g.rockets[0]
	if rk.id != RocketBase+1 || rk.x != 805 || rk.y != 600 || rk.owner != 1 {
		t.Fatalf("rocket %+v", rk)
	}
	// 135 units to the pillar at 700 units/s: the 12th tick's flight reaches it.
	for i := 1; i <= 11; i++ {
		a.step()
		if len(a.g.rockets) != 1 || math.Abs(a.g.rockets[0].x-(805+float64(i)*rocketStep)) > 1e-9 {
			t.Fatalf("tick %d: rockets %+v", i, a.g.rockets)
		}
	}
	a.step()
	if len(a.g.rockets) != 0 {
		t.Fatalf("the rocket flew through the pillar: %+v", a.g.rockets)
	}
	if want := (BoomEvent{X: 940, Y: 600, By: 1}); len(a.rec.booms) != 1 || a.rec.booms[0] != want {
		t.Fatalf("booms %+v, want %+v", a.rec.booms, want)
	}
}

func TestRocketExplodesOnTheBorderAndAtTheEndOfItsLife(t *testing.T) {
	a := newArena(t, Options{})
	ada := a.join(1, "ada", 100, 100)
	a.step(input(ada, Input{Aim: 3142, Fire: FireRocket})) // left, 100 units to the border
	a.run(9)
	if len(a.g.rockets) != 0 || len(a.rec.booms) != 1 || a.rec.booms[0].X != 0 || a.rec.booms[0].Y != 100 {
		t.Fatalf("rockets %+v, booms %+v", a.g.rockets, a.rec.booms)
	}
	a = newArena(t, Options{})
	ada = a.join(1, "ada", 40, 1100) // the bottom is open from one side to the other
	a.step(input(ada, Input{Aim: 0, Fire: FireRocket}))
	a.run(RocketLifetime - 1)
	if len(a.g.rockets) != 1 {
		t.Fatalf("the rocket died early: %+v, booms %+v", a.g.rockets, a.rec.booms)
	}
	a.step()
	b := a.rec.booms[len(a.rec.booms)-1]
	if len(a.g.rockets) != 0 || b.Hit != 0 || math.Abs(float64(b.X-(40+RocketSpeed*RocketLifetime/TickRate))) > 1 {
		t.Fatalf("after its lifetime: rockets %+v, boom %+v", a.g.rockets, b)
	}
}

func TestRocketsHitPlayersButNotTheirOwner(t *testing.T) {
	a := newArena(t, Options{})
	ada := a.join(1, "ada", 200, 100)
	bob := a.join(2, "bob", 700, 100)
	fire := input(ada, Input{Aim: 0, Fire: FireRocket})
	a.step(fire)
	for len(a.rec.booms) == 0 {
		a.step()
	}
	if b := a.rec.booms[0]; b.Hit != 2 || b.By != 1 || b.X != 700-Radius-RocketRadius || b.Y != 100 {
		t.Fatalf("boom %+v", b)
	}
	if bob.health != MaxHealth-RocketDamage || ada.health != MaxHealth {
		t.Fatalf("health: ada %d, bob %d", ada.health, bob.health)
	}
	a.run(RocketCooldown, fire)
	for len(a.rec.booms) == 1 {
		a.step()
	}
	want := KillEvent{Killer: 1, Victim: 2, Weapon: WeaponRocket, KillerName: "ada", VictimName: "bob"}
	if len(a.rec.kills) != 1 || a.rec.kills[0] != want || ada.frags != 1 {
		t.Fatalf("kills %+v, ada's frags %d", a.rec.kills, ada.frags)
	}
}

// A rocket in flight when its owner leaves still kills, with the owner's name; nobody
// scores the frag.
func TestRocketOfAPlayerWhoLeft(t *testing.T) {
	a := newArena(t, Options{})
	ada := a.join(1, "ada", 200, 100)
	bob := a.join(2, "bob", 700, 100)
	bob.health = 50
	a.step(input(ada, Input{Aim: 0, Fire: FireRocket}))
	a.g.Leave(nil, ada.p, 0)
	for len(a.rec.booms) == 0 {
		a.step()
	}
	want := KillEvent{Killer: 1, Victim: 2, Weapon: WeaponRocket, KillerName: "ada", VictimName: "bob"}
	if len(a.rec.kills) != 1 || a.rec.kills[0] != want || bob.alive || bob.frags != 0 {
		t.Fatalf("kills %+v, bob %+v", a.rec.kills, *bob)
	}
}
