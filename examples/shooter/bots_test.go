package shooter

import (
	"math"
	"strings"
	"testing"

	"github.com/rallypoint/rallypoint/engine"
)

func TestBotsFillToTheCount(t *testing.T) {
	a := newArena(t, Options{Bots: 3})
	count := func(want int) {
		t.Helper()
		if len(a.g.bots) != want || len(a.g.all) != want+len(a.g.humans) {
			t.Fatalf("%d bots, %d in the arena with %d humans; want %d bots", len(a.g.bots), len(a.g.all), len(a.g.humans), want)
		}
		for _, b := range a.g.bots {
			if b.bot == nil || b.p != nil || b.id <= uint32(BotBase) || b.id >= uint32(RocketBase) || !strings.HasPrefix(b.name, "[bot] ") {
				t.Fatalf("bot %+v", *b)
			}
		}
	}
	count(3)
	if a.g.bots[0].id != uint32(BotBase)+1 || a.g.bots[0].name != "[bot] Bolt" {
		t.Fatalf("first bot %d %q", a.g.bots[0].id, a.g.bots[0].name)
	}
	ada := a.join(1, "ada", 100, 100)
	count(2)
	bob := a.join(2, "bob", 100, 100)
	a.join(3, "cy", 100, 100)
	count(0)
	a.join(4, "dee", 100, 100)
	count(0)
	a.g.Drop(nil, bob.p) // a dropped player keeps their seat: no bot for them yet
	count(0)
	a.g.Leave(nil, bob.p, engine.LeftTimeout)
	a.g.Leave(nil, ada.p, engine.LeftByChoice)
	count(1)
	if a.g.bots[0].id != uint32(BotBase)+4 {
		t.Fatalf("the new bot is %d, want a fresh id", a.g.bots[0].id)
	}
}

// Four bots alone for a minute of game time: they must travel, rarely stand still, and
// kill each other.
func TestBotsWanderAndFight(t *testing.T) {
	const ticks = 60 * TickRate
	a := newArena(t, Options{Bots: 4, Seed: 7})
	type track struct {
		still, longest int // ticks alive in the same place, now and at worst
		travelled      float64
		windows        int // one-second windows spent alive
		stuck          int // of which the bot moved less than 20 units
		lastX, lastY   float64
		winX, winY     float64
		winAlive       bool
	}
	tr := make([]track, len(a.g.bots))
	for i, b := range a.g.bots {
		tr[i] = track{lastX: b.x, lastY: b.y, winX: b.x, winY: b.y, winAlive: true}
	}
	for range ticks {
		a.step()
		for i, b := range a.g.bots {
			k := &tr[i]
			if d := math.Hypot(b.x-k.lastX, b.y-k.lastY); d < 2*stepLen {
				k.travelled += d // a respawn is not travel
			}
			if b.alive && b.x == k.lastX && b.y == k.lastY {
				k.still++
				k.longest = max(k.longest, k.still)
			} else {
				k.still = 0
			}
			k.lastX, k.lastY = b.x, b.y
			k.winAlive = k.winAlive && b.alive
			if a.tick%TickRate == 0 {
				if k.winAlive {
					k.windows++
					if math.Hypot(b.x-k.winX, b.y-k.winY) < 20 {
						k.stuck++
					}
				}
				k.winX, k.winY, k.winAlive = b.x, b.y, b.alive
			}
		}
	}
	frags := 0
	for i, b := range a.g.bots {
		k := tr[i]
		frags += b.frags
		t.Logf("%s: %.0f units, %d of %d seconds alive without moving, %d ticks at most standing still, %d frags, %d deaths",
			b.name, k.travelled, k.stuck, k.windows, k.longest, b.frags, b.deaths)
		if k.travelled < 3000 {
			t.Errorf("%s travelled only %.0f units in a minute", b.name, k.travelled)
		}
		if k.stuck*10 > k.windows {
			t.Errorf("%s stood still %d seconds of %d", b.name, k.stuck, k.windows)
		}
		if k.longest > botBlocked+2 {
			t.Errorf("%s stood still for %d ticks on end", b.name, k.longest)
		}
	}
	if frags < 5 || len(a.rec.kills) != frags {
		t.Errorf("%d frags, %d kill events in a minute of four bots", frags, len(a.rec.kills))
	}
	if len(a.rec.shots) < 50 || len(a.rec.booms) == 0 {
		t.Errorf("%d shots and %d rockets in a minute", len(a.rec.shots), len(a.rec.booms))
	}
}

// Bots shoot humans too, with an aim error: a human standing in the open is hit, though
// not every time, and dies.
func TestBotsShootHumans(t *testing.T) {
	a := newArena(t, Options{Bots: 2, Seed: 3})
	ada := a.join(1, "ada", 700, 100) // takes the newer bot's place
	if len(a.g.bots) != 1 {
		t.Fatalf("%d bots", len(a.g.bots))
	}
	bot := a.g.bots[0]
	for range 10 * TickRate {
		bot.x, bot.y = 200, 100 // it wanders off a step each tick, and is put back
		a.step()
		if !ada.alive {
			break
		}
	}
	hits := 0
	for _, s := range a.rec.shots {
		if s.By != bot.id {
			t.Fatalf("shot %+v by someone else", s)
		}
		if s.Hit == ada.id {
			hits++
		}
	}
	t.Logf("%d shots, %d hits, %d rockets, ada alive %v", len(a.rec.shots), hits, len(a.rec.booms), ada.alive)
	if ada.alive || len(a.rec.kills) != 1 || a.rec.kills[0].Killer != bot.id || hits == 0 {
		t.Fatalf("%d shots, %d hits, kills %+v", len(a.rec.shots), hits, a.rec.kills)
	}
}

// Steering along the line to the waypoint with 8 directions zigzags within a step of it.
func TestBotSteersAlongTheLine(t *testing.T) {
	cases := []struct{ from, to Point }{
		{Point{100, 100}, Point{700, 200}},
		{Point{700, 200}, Point{100, 100}},
		{Point{1200, 450}, Point{1300, 140}},
		{Point{600, 1100}, Point{1400, 1100}},
		{Point{1200, 460}, Point{1200, 60}},
	}
	for _, c := range cases {
		b := &brain{from: c.from, wp: c.to}
		me := &combatant{x: c.from.X, y: c.from.Y}
		lx, ly := c.to.X-c.from.X, c.to.Y-c.from.Y
		n := math.Hypot(lx, ly)
		limit := int(n/stepLen*1.2) + 2
		steps := 0
		for ; math.Hypot(c.to.X-me.x, c.to.Y-me.y) >= botArrive; steps++ {
			if steps > limit {
				t.Fatalf("%v to %v: not there after %d steps, at (%v, %v)", c.from, c.to, steps, me.x, me.y)
			}
			me.x, me.y = Step(me.x, me.y, b.keys(me))
			if off := math.Abs(lx*(me.y-c.from.Y)-ly*(me.x-c.from.X)) / n; off > stepLen+0.01 {
				t.Fatalf("%v to %v: %v off the line at (%v, %v)", c.from, c.to, off, me.x, me.y)
			}
		}
	}
}

// A bot pressed against a wall gives up its waypoint after botBlocked ticks.
func TestBotGivesUpAWaypointBehindAWall(t *testing.T) {
	a := newArena(t, Options{Bots: 1, Seed: 5})
	b := a.g.bots[0]
	b.x, b.y = 920, 600 // by the centre pillar's left face
	a.tick = 1000
	wp := Point{1100, 600} // straight through the pillar
	b.bot.from, b.bot.wp = Point{920, 600}, wp
	b.bot.best, b.bot.bestAt, b.bot.movedAt = 180, a.tick, a.tick
	for b.bot.wp == wp {
		if a.tick > 1000+botBlocked+3 {
			t.Fatalf("still walking into the pillar after %d ticks", a.tick-1000)
		}
		a.step()
		if b.x != 924 && b.bot.wp == wp {
			t.Fatalf("went through the pillar to %v", b.x)
		}
	}
	if a.tick < 1000+botBlocked {
		t.Fatalf("gave up after %d ticks, before botBlocked", a.tick-1000)
	}
	a.run(10)
	if b.x == 924 && b.y == 600 {
		t.Fatal("does not move on")
	}
}

// A bot that moves but gets no closer to its waypoint (sliding along a wall, say) gives it
// up after botStuck ticks.
func TestBotGivesUpAWaypointItGetsNoCloserTo(t *testing.T) {
	a := newArena(t, Options{Bots: 1, Seed: 5})
	b := a.g.bots[0]
	b.x, b.y = 600, 100
	a.tick = 1000
	wp := Point{1900, 100}
	b.bot.from, b.bot.wp = Point{600, 100}, wp
	b.bot.best, b.bot.movedAt = 1, a.tick // as if it had been much closer once
	b.bot.bestAt = a.tick - botStuck + 3
	a.run(2)
	if b.bot.wp != wp || b.x <= 600 {
		t.Fatalf("gave up early: wp %v, x %v", b.bot.wp, b.x)
	}
	a.run(2)
	if b.bot.wp == wp {
		t.Fatal("still walking to a waypoint it got no closer to for botStuck ticks")
	}
}

func TestAngleDiff(t *testing.T) {
	cases := []struct{ a, b, want float64 }{
		{0, 0, 0}, {1, 0, 1}, {0, 1, -1},
		{3, -3, 6 - 2*math.Pi}, {-3, 3, 2*math.Pi - 6},
		{7, 0, 7 - 2*math.Pi}, {-20, 0, -20 + 6*math.Pi},
	}
	for _, c := range cases {
		if got := angleDiff(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("angleDiff(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
