package state

import (
	"math"
	"math/rand/v2"
)

// scene is the workload of the builder and delta benchmarks: the replicated state of a 2D
// arena shooter (the example game) at 30 snapshots a second, 64 entities in all.
//
//   - 32 players of 10 fields: x, y, aim angle, vx, vy (float32), hp, score (int), name
//     (string), team (uint), alive (bool). Every player moves at 150-300 px/s in a
//     2000x2000 arena, so x and y change at every snapshot by a few pixels; the aim angle
//     wobbles at every snapshot (mouse); the velocity changes on about one snapshot in ten
//     (new input); hp drops on about one in forty (hit) and comes back on respawn; the score
//     rises on about one in sixty; name, team and alive never change but on respawn.
//   - 32 projectiles of 5 fields: x, y, vx, vy (float32), owner (uint). They fly at 900 px/s
//     in a straight line for 20 to 40 snapshots, then the oldest are replaced by new ones
//     with fresh ids: about one despawn and one spawn per snapshot.
//
// A quantized scene writes the same state as a game that sizes its fields for the client
// would: positions as integers in 1/8 px, velocities in px/s, the aim angle in 256ths of a
// turn.
type scene struct {
	tick      Tick
	rng       *rand.Rand
	players   []player
	shots     []shot
	nextID    ID
	quantized bool
}

type player struct {
	quantized           bool
	id                  ID
	x, y, angle, vx, vy float32
	hp, score           int64
	name                string
	team                uint64
	alive               bool
}

func (p *player) AppendFields(f *Fields) {
	if p.quantized {
		f.Int(eighths(p.x))
		f.Int(eighths(p.y))
		f.Uint(uint64(int64(math.Round(float64(p.angle)*256/(2*math.Pi))) & 0xff))
		f.Int(int64(math.Round(float64(p.vx))))
		f.Int(int64(math.Round(float64(p.vy))))
	} else {
		f.Float32(p.x)
		f.Float32(p.y)
		f.Float32(p.angle)
		f.Float32(p.vx)
		f.Float32(p.vy)
	}
	f.Int(p.hp)
	f.Int(p.score)
	f.String(p.name)
	f.Uint(p.team)
	f.Bool(p.alive)
}

// eighths quantizes a coordinate to 1/8 px.
func eighths(v float32) int64 { return int64(math.Round(float64(v) * 8)) }

type shot struct {
	quantized      bool
	id             ID
	x, y, vx, vy   float32
	owner          uint64
	ticksRemaining int
}

func (s *shot) AppendFields(f *Fields) {
	if s.quantized {
		f.Int(eighths(s.x))
		f.Int(eighths(s.y))
		f.Int(int64(math.Round(float64(s.vx))))
		f.Int(int64(math.Round(float64(s.vy))))
	} else {
		f.Float32(s.x)
		f.Float32(s.y)
		f.Float32(s.vx)
		f.Float32(s.vy)
	}
	f.Uint(s.owner)
}

const (
	kindPlayer = 1
	kindShot   = 2
	arenaSize  = 2000
	snapDT     = 1.0 / 30
)

var names = []string{"ada", "bishop", "cyd", "dagny", "ezri", "fury", "gwen", "hux", "io", "jyn", "kaz", "lux"}

func newScene(seed uint64) *scene { return newSceneQ(seed, false) }

func newSceneQ(seed uint64, quantized bool) *scene {
	sc := &scene{rng: rand.New(rand.NewPCG(seed, 7)), nextID: 1000, quantized: quantized}
	for i := range 32 {
		p := player{quantized: quantized, id: ID(i + 1), hp: 100, name: names[i%len(names)] + "_" + string(rune('a'+i%26)), team: uint64(i % 2), alive: true}
		p.x, p.y = sc.rng.Float32()*arenaSize, sc.rng.Float32()*arenaSize
		p.angle = sc.rng.Float32() * 2 * math.Pi
		sc.steer(&p)
		sc.players = append(sc.players, p)
	}
	for range 32 {
		sc.shots = append(sc.shots, sc.fire())
	}
	return sc
}

func (sc *scene) steer(p *player) {
	speed := 150 + sc.rng.Float64()*150
	dir := sc.rng.Float64() * 2 * math.Pi
	p.vx, p.vy = float32(speed*math.Cos(dir)), float32(speed*math.Sin(dir))
}

func (sc *scene) fire() shot {
	p := &sc.players[sc.rng.IntN(len(sc.players))]
	sc.nextID++
	return shot{
		quantized: sc.quantized, id: sc.nextID, x: p.x, y: p.y,
		vx: float32(900 * math.Cos(float64(p.angle))), vy: float32(900 * math.Sin(float64(p.angle))),
		owner: uint64(p.id), ticksRemaining: 20 + sc.rng.IntN(21),
	}
}

// step advances the scene by one snapshot interval.
func (sc *scene) step() {
	sc.tick++
	for i := range sc.players {
		p := &sc.players[i]
		p.x += p.vx * snapDT
		p.y += p.vy * snapDT
		if p.x < 0 || p.x > arenaSize {
			p.vx = -p.vx
		}
		if p.y < 0 || p.y > arenaSize {
			p.vy = -p.vy
		}
		p.angle += float32(sc.rng.NormFloat64() * 0.05)
		if sc.rng.IntN(10) == 0 {
			sc.steer(p)
		}
		if sc.rng.IntN(40) == 0 {
			p.hp -= int64(10 + sc.rng.IntN(16))
			if p.hp <= 0 { // respawn
				p.hp = 100
				p.x, p.y = sc.rng.Float32()*arenaSize, sc.rng.Float32()*arenaSize
			}
		}
		if sc.rng.IntN(60) == 0 {
			p.score++
		}
	}
	for i := range sc.shots {
		s := &sc.shots[i]
		s.x += s.vx * snapDT
		s.y += s.vy * snapDT
		if s.ticksRemaining--; s.ticksRemaining <= 0 {
			*s = sc.fire()
		}
	}
}

// build writes the scene's snapshot with b.
func (sc *scene) build(b *Builder) *Snapshot {
	b.Begin(sc.tick)
	for i := range sc.players {
		b.Add(sc.players[i].id, kindPlayer, &sc.players[i])
	}
	for i := range sc.shots {
		b.Add(sc.shots[i].id, kindShot, &sc.shots[i])
	}
	return b.Finish()
}
