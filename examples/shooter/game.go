package shooter

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/state"
)

// MaxHealth is a player's health when they (re)spawn.
const MaxHealth = 100

// RespawnTicks is how long a dead player waits before respawning: 2 s.
const RespawnTicks = 120

// broadcaster is where events go: the room, or a recorder in the package's own tests.
type broadcaster interface {
	Broadcast(name string, payload any) error
}

// Game is one shooter room. The engine calls its methods on the room's goroutine, one at a
// time, so it keeps its state in plain fields. Everybody sees the same world (no View), so
// players who acknowledged the same snapshot share one encoded frame.
//
// The per-tick path (Update, Snapshot) allocates nothing once the slices have grown:
// combatants and rockets are reused in place, event payloads are fields of the Game passed
// by pointer, and the only maps are looked up, never built, during a tick.
type Game struct {
	engine.Hooks[Input]
	opts Options
	rng  *rand.Rand
	out  broadcaster
	tick uint32 // the tick being simulated

	all     []*combatant                  // everyone in the arena, humans and bots, in join order
	humans  map[*engine.Player]*combatant // the seated humans
	bots    []*combatant                  // the server bots, oldest first
	nextBot uint32                        // bots made so far: the next one is BotBase+nextBot+1
	rockets []rocket                      // in flight, oldest first
	nextRkt uint32                        // rockets fired so far
	botIn   Input                         // scratch for a bot's input

	// The event payloads, reused: Broadcast encodes its payload before it returns, and a
	// pointer in an interface costs no allocation where a struct value would.
	shot ShotEvent
	boom BoomEvent
	kill KillEvent
}

// combatant is a player in the arena, human or bot: the entity of kind KindPlayer.
type combatant struct {
	id     uint32         // the entity id: the engine's player id, or BotBase+n
	p      *engine.Player // nil for a bot
	bot    *brain         // nil for a human
	name   string
	color  string
	x, y   float64 // the box's centre, always on the 1/Grid grid (Step rounds)
	aim    int     // milliradians, as the last input said: shots use it whole
	health int
	alive  bool
	away   bool // a human whose connection dropped: not shown, not hit, until Rejoin
	frags  int
	deaths int

	respawnAt uint32 // while dead: the tick to respawn at
	blasterAt uint32 // the first tick the blaster may fire again
	rocketAt  uint32 // the first tick the rocket launcher may fire again
	hist      state.History[pose]
}

// AppendFields writes the player entity: [x·Grid, y·Grid, aim, health, alive, frags,
// deaths, name, color, bot]. Positions go as integers on Step's grid (3 bytes each), the
// very numbers the server has, so the page reconciles its prediction from them exactly.
// The aim goes as one of AimDirections directions (1 byte): only drawing uses it, while
// shots use the input's milliradians. The fields that change every tick come first, so
// that a moving player's changed mask stays one byte.
func (c *combatant) AppendFields(f *state.Fields) {
	f.Uint(uint64(math.Round(c.x * Grid)))
	f.Uint(uint64(math.Round(c.y * Grid)))
	f.Uint(uint64(AimDirection(c.aim)))
	f.Int(int64(c.health))
	f.Bool(c.alive)
	f.Int(int64(c.frags))
	f.Int(int64(c.deaths))
	f.String(c.name)
	f.String(c.color)
	f.Bool(c.bot != nil)
}

func newGame(o Options) *Game {
	seed := o.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &Game{
		opts:   o,
		rng:    rand.New(rand.NewPCG(seed, 0x5400_7e12)),
		humans: make(map[*engine.Player]*combatant),
	}
}

// Start fills the room with its bots, so that the first visitor finds a fight going on.
func (g *Game) Start(r *engine.Room[Input]) error {
	g.out = r
	g.fillBots()
	return nil
}

// Join seats a player at the spawn point farthest from the live enemies. Meta may carry a
// name: a string, or a map with "name".
func (g *Game) Join(_ *engine.Room[Input], p *engine.Player) error {
	c := &combatant{id: p.ID, p: p, name: p.Name(maxName), color: Color(p.ID)}
	g.humans[p] = c
	g.all = append(g.all, c)
	g.spawn(c)
	g.fillBots()
	return nil
}

// Drop takes the player out of the arena while their seat is held: they are neither shown
// nor hit, and they stay where they were for when they come back.
func (g *Game) Drop(_ *engine.Room[Input], p *engine.Player) {
	if c := g.humans[p]; c != nil {
		c.away = true
	}
}

// Rejoin puts the player back where they were (or back to waiting for their respawn).
func (g *Game) Rejoin(_ *engine.Room[Input], p *engine.Player) {
	if c := g.humans[p]; c != nil {
		c.away = false
	}
}

// Leave removes the player; their rockets in flight fly on. A bot takes the place if the
// room is below its fill-to count.
func (g *Game) Leave(_ *engine.Room[Input], p *engine.Player, _ engine.LeaveReason) {
	c := g.humans[p]
	if c == nil {
		return
	}
	delete(g.humans, p)
	g.remove(c)
	g.fillBots()
}

func (g *Game) remove(c *combatant) {
	if i := slices.Index(g.all, c); i >= 0 {
		g.all = slices.Delete(g.all, i, i+1) // zeroes the freed slot: the combatant can be collected
	}
}

// Update runs one 1/60 s tick: respawns, rockets, the humans' inputs in arrival order,
// the bots, then the position history that lag compensation rewinds into.
func (g *Game) Update(r *engine.Room[Input], inputs []engine.Input[Input]) {
	g.update(r.Tick(), inputs)
}

func (g *Game) update(tick uint32, inputs []engine.Input[Input]) {
	g.tick = tick
	for _, c := range g.all {
		if !c.alive && !c.away && tick >= c.respawnAt {
			g.spawn(c)
		}
	}
	g.moveRockets()
	for i := range inputs {
		in := &inputs[i]
		c := g.humans[in.Player]
		if c == nil || !c.alive || c.away {
			continue // a dead player's inputs are acknowledged (by the engine) and ignored
		}
		g.apply(c, &in.Value, in.View)
	}
	for _, b := range g.bots {
		if b.alive {
			b.bot.think(g, b, &g.botIn)
			g.apply(b, &g.botIn, state.View{}) // bots see the present
		}
	}
	for _, c := range g.all {
		c.record(tick)
	}
}

// apply is one input of one live combatant: one Step, the aim, and the weapons the input
// holds down if their cooldowns are over, fired from where the step left it (the page aims
// from its prediction of the same place). Cooldowns count server ticks, so that a client
// sending extra inputs in a tick does not fire faster. view is what the client drew.
func (g *Game) apply(c *combatant, in *Input, view state.View) {
	c.x, c.y = Step(c.x, c.y, in.Keys)
	c.aim = normAim(in.Aim)
	if in.Fire&FireBlaster != 0 && g.tick >= c.blasterAt {
		c.blasterAt = g.tick + BlasterCooldown
		g.fireBlaster(c, view)
	}
	if in.Fire&FireRocket != 0 && g.tick >= c.rocketAt {
		c.rocketAt = g.tick + RocketCooldown
		g.fireRocket(c)
	}
}

// AimDirection is an aim in milliradians as the snapshots carry it: one of AimDirections
// directions, numbered from +x towards +y (down), 0 to AimDirections-1, so that
// MessagePack holds it in one byte. Direction d is the angle d·2π/AimDirections.
func AimDirection(aim int) uint8 {
	d := int(math.Round(float64(aim) / 1000 / (2 * math.Pi) * AimDirections))
	return uint8((d%AimDirections + AimDirections) % AimDirections)
}

// normAim brings an aim into [-π, π] (in milliradians), where atan2 puts the page's: any
// angle aims, but the replicated integer should stay small.
func normAim(aim int) int {
	if aim >= -3142 && aim <= 3142 {
		return aim
	}
	return int(math.Round(math.Remainder(float64(aim)/1000, 2*math.Pi) * 1000))
}

// spawn (re)places c, alive and at full health, at the spawn point farthest from the live
// enemies (at random if there are none).
func (g *Game) spawn(c *combatant) {
	best, bestD := -1, -1.0
	for i, s := range g.opts.Spawns {
		d := math.Inf(1)
		for _, o := range g.all {
			if o != c && o.alive && !o.away {
				d = min(d, (o.x-s.X)*(o.x-s.X)+(o.y-s.Y)*(o.y-s.Y))
			}
		}
		if d > bestD {
			best, bestD = i, d
		}
	}
	if math.IsInf(bestD, 1) {
		best = g.rng.IntN(len(g.opts.Spawns))
	}
	s := g.opts.Spawns[best]
	c.x, c.y = s.X, s.Y
	c.health, c.alive = MaxHealth, true
	c.aim = int(math.Round(math.Atan2(Height/2-s.Y, Width/2-s.X) * 1000)) // facing the centre
	if c.bot != nil {
		c.bot.reset(g, c)
	}
}

// byID finds a combatant in the arena, nil if gone.
func (g *Game) byID(id uint32) *combatant {
	for _, c := range g.all {
		if c.id == id {
			return c
		}
	}
	return nil
}

// Snapshot replicates the players in the arena and the rockets in flight.
func (g *Game) Snapshot(_ *engine.Room[Input], b *state.Builder) {
	for _, c := range g.all {
		if !c.away {
			b.Add(state.ID(c.id), KindPlayer, c)
		}
	}
	for i := range g.rockets {
		rk := &g.rockets[i]
		b.Add(rk.id, KindRocket, rk)
	}
}

// mapInfo is the answer to "map", built once.
var mapInfo = Map()

// Request answers "map": the arena's size, the movement constants and the walls in Step's
// order, which the page needs before it can predict a single step.
func (g *Game) Request(_ *engine.Room[Input], _ *engine.Player, name string, _ msgpack.RawMessage) (any, error) {
	if name == "map" {
		return mapInfo, nil
	}
	return nil, engine.Reject("unknown request " + name + ` (the shooter answers "map")`)
}
