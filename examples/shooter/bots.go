package shooter

import (
	"math"
)

// Server bots. A bot is a combatant whose input the server makes each tick with the same
// Input a human sends, applied by the same code: it moves with Step (one of 8 directions),
// aims in milliradians and holds the fire buttons, so it obeys every rule a human does. It
// wanders between random waypoints it can see, and shoots at the nearest enemy it can see,
// after a reaction time and with an aim error, so that a human can beat it.

// Bot tuning.
const (
	botReaction  = 14   // ticks between first seeing an enemy and the first shot
	botTurn      = 0.12 // the most a bot's aim turns in a tick, in radians
	botAimError  = 0.09 // a bot's aim is off by up to this, in radians
	botErrTicks  = 24   // ticks between redrawing the aim error
	botFireCone  = 0.25 // radians: a bot fires once its aim is this close to where it wants it
	botRocketOdd = 30   // while engaging within rocketRange, 1 chance in botRocketOdd a tick to fire a rocket
	botStuck     = 40   // ticks without getting closer to the waypoint before choosing another
	botBlocked   = 6    // ticks without moving at all (pressed against a wall) before choosing another
	botArrive    = 10   // units: a waypoint this close is reached
	botTries     = 12   // random points tried anywhere for a reachable waypoint, then as many nearby
	botMinLeg    = 150  // units: the shortest walk to a new waypoint, when one can be found
	botNear      = 300  // units: how far the nearby tries reach
	rocketRange  = 700  // units: bots fire rockets at enemies closer than this
)

// brain is a bot's state of mind.
type brain struct {
	from, wp Point   // the walk under way: from where, to where
	best     float64 // the closest it has come to wp
	bestAt   uint32  // the tick it last got closer
	movedAt  uint32  // the tick it last moved at all
	last     Point   // where it was at the end of its previous think
	target   uint32  // the enemy it is engaging, 0 for none
	seenAt   uint32  // the tick it first saw target
	aimErr   float64
	errAt    uint32  // the tick to redraw aimErr at
	aim      float64 // radians, turning smoothly towards where it wants to look
}

// fillBots adds or removes bots so that the room holds max(0, Bots - humans) of them. The
// newest bots leave first.
func (g *Game) fillBots() {
	want := max(0, g.opts.Bots-len(g.humans))
	for len(g.bots) > want {
		b := g.bots[len(g.bots)-1]
		g.bots[len(g.bots)-1] = nil
		g.bots = g.bots[:len(g.bots)-1]
		g.remove(b)
	}
	for len(g.bots) < want {
		g.nextBot++
		id := uint32(BotBase) + g.nextBot%(1<<24)
		b := &combatant{id: id, bot: &brain{}, name: botName(g.nextBot), color: Color(id)}
		g.bots = append(g.bots, b)
		g.all = append(g.all, b)
		g.spawn(b)
	}
}

// reset starts a (re)spawned bot afresh: a new walk, no target.
func (b *brain) reset(g *Game, c *combatant) {
	b.target = 0
	b.aim = float64(c.aim) / 1000
	b.newWaypoint(g, c)
}

// think writes the bot's input for this tick into in.
func (b *brain) think(g *Game, c *combatant, in *Input) {
	*in = Input{}
	if c.x != b.last.X || c.y != b.last.Y {
		b.movedAt, b.last = g.tick, Point{c.x, c.y}
	}
	d := math.Hypot(b.wp.X-c.x, b.wp.Y-c.y)
	switch {
	case d < botArrive || g.tick-b.bestAt > botStuck || g.tick-b.movedAt > botBlocked:
		b.newWaypoint(g, c)
	case d < b.best-1:
		b.best, b.bestAt = d, g.tick
	}
	in.Keys = b.keys(c)
	want := math.Atan2(b.wp.Y-c.y, b.wp.X-c.x) // look where it goes, unless it has someone to shoot
	if t, dist := b.enemy(g, c); t != nil {
		if t.id != b.target {
			b.target, b.seenAt = t.id, g.tick
		}
		if g.tick >= b.errAt {
			b.aimErr = (g.rng.Float64()*2 - 1) * botAimError
			b.errAt = g.tick + botErrTicks
		}
		want = math.Atan2(t.y-c.y, t.x-c.x) + b.aimErr
		if g.tick-b.seenAt >= botReaction && math.Abs(angleDiff(want, b.aim)) < botFireCone {
			in.Fire = FireBlaster
			if dist < rocketRange && g.rng.IntN(botRocketOdd) == 0 {
				in.Fire |= FireRocket
			}
		}
	} else {
		b.target = 0
	}
	b.aim += max(-botTurn, min(botTurn, angleDiff(want, b.aim)))
	b.aim = angleDiff(b.aim, 0) // kept within [-π, π]
	in.Aim = int(math.Round(b.aim * 1000))
}

// enemy is the nearest live enemy c can see within blaster range, and its distance.
func (b *brain) enemy(g *Game, c *combatant) (*combatant, float64) {
	var best *combatant
	bestD := float64(BlasterRange)
	for _, o := range g.all {
		if o == c || !o.alive || o.away {
			continue
		}
		d := math.Hypot(o.x-c.x, o.y-c.y)
		if d < bestD && Visible(Point{c.x, c.y}, Point{o.x, o.y}) {
			best, bestD = o, d
		}
	}
	return best, bestD
}

// keys steers along the straight line from b.from to b.wp with 8 directions: of the two
// directions either side of the line, it takes the one that brings it back towards the
// line, so that it zigzags within a step of it instead of drifting off (and into walls
// that the line clears).
func (b *brain) keys(c *combatant) uint8 {
	lx, ly := b.wp.X-b.from.X, b.wp.Y-b.from.Y
	if math.Abs(b.wp.X-c.x) < 3 && math.Abs(b.wp.Y-c.y) < 3 {
		return 0
	}
	theta := math.Atan2(ly, lx)
	lo := math.Floor(theta / (math.Pi / 4)) // the direction just clockwise of the line (y down), in eighths
	if n := math.Hypot(lx, ly); n > 0 {
		// cross > 0: c is on the side the higher direction would take it further to.
		cross := (lx*(c.y-b.from.Y) - ly*(c.x-b.from.X)) / n
		if cross <= 0 && theta/(math.Pi/4) != lo {
			lo++
		}
	}
	return eightKeys[(int(lo)%8+8)%8]
}

// eightKeys are the key bits of the 8 directions, by angle in eighths of a turn from +x
// towards +y (down).
var eightKeys = [8]uint8{
	KeyRight, KeyRight | KeyDown, KeyDown, KeyDown | KeyLeft,
	KeyLeft, KeyLeft | KeyUp, KeyUp, KeyUp | KeyRight,
}

// newWaypoint starts a walk to a random point that c's whole box can reach in a straight
// line (three parallel sight lines, the centre's and one a little beyond each side, clear
// the walls): first anywhere at least botMinLeg away, then, in a cramped spot, within
// botNear. If none of the tries qualifies, it walks to the last open point it tried: walls
// slide it along, and when it stops getting closer (botStuck) or stops moving at all
// (botBlocked) it tries again from where it is then.
func (b *brain) newWaypoint(g *Game, c *combatant) {
	here := Point{c.x, c.y}
	p := Point{Width / 2, Height / 4} // open ground, if every try lands in a wall
	for i := range 2 * botTries {
		q := Point{
			X: Radius + 8 + g.rng.Float64()*(Width-2*Radius-16),
			Y: Radius + 8 + g.rng.Float64()*(Height-2*Radius-16),
		}
		minLeg := float64(botMinLeg)
		if i >= botTries {
			q.X = here.X + (g.rng.Float64()*2-1)*botNear
			q.Y = here.Y + (g.rng.Float64()*2-1)*botNear
			minLeg = 3 * botArrive
		}
		if !fits(q, 8) {
			continue
		}
		p = q
		if math.Hypot(q.X-here.X, q.Y-here.Y) >= minLeg && reachable(here, q) {
			break
		}
	}
	b.from, b.wp = here, p
	b.best, b.bestAt = math.Hypot(p.X-here.X, p.Y-here.Y), g.tick
	b.movedAt, b.last = g.tick, here
}

// reachable reports whether a box can move in a straight line from a to b: the sight
// lines along its centre and a little beyond both its sides are clear.
func reachable(a, b Point) bool {
	dx, dy := b.X-a.X, b.Y-a.Y
	d := math.Hypot(dx, dy)
	if d == 0 {
		return true
	}
	const off = Radius + 6 // a zigzag strays up to one step from the line
	nx, ny := -dy/d*off, dx/d*off
	return Visible(a, b) &&
		Visible(Point{a.X + nx, a.Y + ny}, Point{b.X + nx, b.Y + ny}) &&
		Visible(Point{a.X - nx, a.Y - ny}, Point{b.X - nx, b.Y - ny})
}

// angleDiff is a-b turned into [-π, π].
func angleDiff(a, b float64) float64 {
	d := math.Mod(a-b, 2*math.Pi)
	switch {
	case d > math.Pi:
		d -= 2 * math.Pi
	case d < -math.Pi:
		d += 2 * math.Pi
	}
	return d
}
