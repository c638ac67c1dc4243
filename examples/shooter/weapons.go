package shooter

import (
	"math"

	"github.com/rallypoint/rallypoint/state"
)

// The weapons. Times are in ticks of 1/60 s, distances in units.
const (
	// The blaster is hitscan: its shot lands the tick it is fired.
	BlasterDamage   = 25
	BlasterCooldown = 15 // 0.25 s
	BlasterRange    = 1400

	// The rocket is a projectile, not lag compensated: dodging it is the point.
	RocketSpeed    = 700 // units per second
	RocketDamage   = 60  // on a direct hit
	RocketRadius   = 6   // a hit is a player's centre within Radius+RocketRadius of the rocket
	RocketCooldown = 48  // 0.8 s
	RocketLifetime = 120 // 2 s, then it explodes where it is
)

// Weapon names in KillEvent.
const (
	WeaponBlaster = "blaster"
	WeaponRocket  = "rocket"
)

// rocketStep is how far a rocket flies in one tick.
const rocketStep = float64(RocketSpeed) / TickRate

// direction is the unit vector of an aim in milliradians.
func direction(aim int) (dx, dy float64) {
	return math.Cos(float64(aim) / 1000), math.Sin(float64(aim) / 1000)
}

// fireBlaster traces c's shot from its centre along its aim: the first of a wall and a
// live player's circle within range stops it. The other players are taken where c saw
// them, as its view drew them (see lagcomp.go); walls never move. Everyone gets the tracer.
func (g *Game) fireBlaster(c *combatant, view state.View) {
	dx, dy := direction(c.aim)
	t := min(BlasterRange, RayBorder(c.x, c.y, dx, dy))
	t, _ = WallHit(c.x, c.y, dx, dy, t)
	var victim *combatant
	for _, o := range g.all {
		if o == c || !o.alive || o.away {
			continue
		}
		ox, oy, ok := o.drawnAt(view)
		if !ok {
			continue
		}
		if ht, hit := RayCircle(c.x, c.y, dx, dy, ox, oy, Radius, t); hit {
			t, victim = ht, o
		}
	}
	g.shot = ShotEvent{By: c.id, X1: round(c.x), Y1: round(c.y), X2: round(c.x + dx*t), Y2: round(c.y + dy*t)}
	if victim != nil {
		g.shot.Hit = victim.id
	}
	_ = g.out.Broadcast("shot", &g.shot)
	if victim != nil {
		g.damage(victim, BlasterDamage, c.id, c.name, WeaponBlaster)
	}
}

func round(v float64) int { return int(math.Round(v)) }

// rocket is a rocket in flight: the entity of kind KindRocket.
type rocket struct {
	id        state.ID
	x, y      float64 // where it is now
	x0, y0    float64 // where it was launched from, on the 1/Grid grid (the shooter's centre)
	launched  uint32  // the tick it was launched in: it is at (x0, y0) at the end of it
	dx, dy    float64 // unit direction
	owner     uint32
	ownerName string // kept for the kill event if the owner has left meanwhile
	expires   uint32 // the tick it explodes at if it has hit nothing
}

// AppendFields writes the rocket entity: [x0·Grid, y0·Grid, vx, vy, owner, launched]. A
// rocket flies straight at RocketSpeed from the tick after its launch until it explodes,
// so the page draws it at (x0, y0) + (vx, vy)·(t - launched)/TickRate for any tick t, and
// the fields never change: a rocket costs the snapshots its launch and its removal, not a
// new position 30 times a second.
func (rk *rocket) AppendFields(f *state.Fields) {
	f.Uint(uint64(math.Round(rk.x0 * Grid)))
	f.Uint(uint64(math.Round(rk.y0 * Grid)))
	f.Int(int64(round(rk.dx * RocketSpeed)))
	f.Int(int64(round(rk.dy * RocketSpeed)))
	f.Uint(uint64(rk.owner))
	f.Uint(uint64(rk.launched))
}

// fireRocket launches a rocket from c's centre along its aim. It flies from the next tick.
func (g *Game) fireRocket(c *combatant) {
	g.nextRkt++
	dx, dy := direction(c.aim)
	g.rockets = append(g.rockets, rocket{
		id: RocketBase + state.ID(g.nextRkt%(1<<24)),
		x:  c.x, y: c.y, x0: c.x, y0: c.y, launched: g.tick, dx: dx, dy: dy,
		owner: c.id, ownerName: c.name,
		expires: g.tick + RocketLifetime,
	})
}

// moveRockets flies every rocket one tick. Each sweeps the segment it covers, so that it
// cannot pass through a thin wall or a player between two ticks, and explodes at the first
// of a wall, the arena's border and a live player other than its owner, or where it is when
// its life ends. Exploded rockets leave the slice in place, keeping the others' order.
func (g *Game) moveRockets() {
	n := 0
	for i := range g.rockets {
		rk := &g.rockets[i]
		if !g.flyRocket(rk) {
			g.rockets[n] = *rk
			n++
		}
	}
	clear(g.rockets[n:])
	g.rockets = g.rockets[:n]
}

// flyRocket moves rk one tick and reports whether it exploded.
func (g *Game) flyRocket(rk *rocket) bool {
	border := RayBorder(rk.x, rk.y, rk.dx, rk.dy)
	t := min(rocketStep, border)
	t, stopped := WallHit(rk.x, rk.y, rk.dx, rk.dy, t)
	stopped = stopped || border <= rocketStep
	var victim *combatant
	for _, o := range g.all {
		if o.id == rk.owner || !o.alive || o.away {
			continue
		}
		if ht, hit := RayCircle(rk.x, rk.y, rk.dx, rk.dy, o.x, o.y, Radius+RocketRadius, t); hit {
			t, victim, stopped = ht, o, true
		}
	}
	rk.x += rk.dx * t
	rk.y += rk.dy * t
	if !stopped && g.tick < rk.expires {
		return false
	}
	g.boom = BoomEvent{X: round(rk.x), Y: round(rk.y), By: rk.owner}
	if victim != nil {
		g.boom.Hit = victim.id
	}
	_ = g.out.Broadcast("boom", &g.boom)
	if victim != nil {
		g.damage(victim, RocketDamage, rk.owner, rk.ownerName, WeaponRocket)
	}
	return true
}

// damage takes health from v; at 0, v dies and waits RespawnTicks, and the killer (if still
// in the arena, and not v) scores a frag. Everyone hears of the kill.
func (g *Game) damage(v *combatant, amount int, by uint32, byName, weapon string) {
	v.health -= amount
	if v.health > 0 {
		return
	}
	v.health, v.alive = 0, false
	v.deaths++
	v.respawnAt = g.tick + RespawnTicks
	if k := g.byID(by); k != nil && k != v {
		k.frags++
	}
	g.kill = KillEvent{Killer: by, Victim: v.id, Weapon: weapon, KillerName: byName, VictimName: v.name}
	_ = g.out.Broadcast("kill", &g.kill)
}
