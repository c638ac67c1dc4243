package main

import (
	"math"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/state"
)

// The field and how runners move on it, in world units and ticks.
const (
	Width, Height = 800, 500
	Radius        = 14       // a runner is a disc; two touch when their centres are 2·Radius apart
	Speed         = 6        // units per tick: 180 a second at TickRate
	TickRate      = 30       // ticks a second; a snapshot every tick
	NoTagBacks    = TickRate // ticks during which whoever was just tagged cannot tag back
)

// KindRunner is the kind of every entity this game replicates: a runner.
const KindRunner uint8 = 1

// Input is what a page sends when its keys or finger change: the direction to run in, each
// of DX and DY -1, 0 or 1. The engine decodes it (and refuses what does not fit an int8)
// before Update sees it.
type Input struct {
	DX int8 `msgpack:"dx"`
	DY int8 `msgpack:"dy"`
}

// runner is one player on the field.
type runner struct {
	id      state.ID
	name    string
	x, y    float64
	dx, dy  int8
	it      bool
	immune  int // ticks left during which this runner cannot be tagged
	itTicks int // ticks spent as "it": the lower, the better
}

// AppendFields writes a runner as the page reads it: [x, y, it, name, seconds as it].
// Positions go as whole units: the delta then resends only what moved by a unit or more.
func (r *runner) AppendFields(f *state.Fields) {
	f.Int(int64(math.Round(r.x)))
	f.Int(int64(math.Round(r.y)))
	f.Bool(r.it)
	f.String(r.name)
	f.Uint(uint64(r.itTicks / TickRate))
}

// Tag is one room's game: runners on a field, one of them "it", who passes it on by
// touching another.
type Tag struct {
	engine.Hooks[Input] // no-op Start, Drop, Rejoin, View, Request and Terminate
	runners             map[*engine.Player]*runner
}

// New makes the game of one room; Register calls it for each new room.
func New() engine.Game[Input] {
	return &Tag{runners: make(map[*engine.Player]*runner)}
}

// Join seats a player at a spot of their own; the first one in is "it".
func (g *Tag) Join(r *engine.Room[Input], p *engine.Player) error {
	n := len(g.runners)
	g.runners[p] = &runner{
		id:   state.ID(p.ID),
		name: p.Name(16),
		x:    float64(100 + (n*173)%(Width-200)),
		y:    float64(100 + (n*97)%(Height-200)),
		it:   n == 0,
	}
	return nil
}

// Leave forgets the runner; if they were "it", someone else is.
func (g *Tag) Leave(r *engine.Room[Input], p *engine.Player, _ engine.LeaveReason) {
	gone := g.runners[p]
	delete(g.runners, p)
	if gone == nil || !gone.it {
		return
	}
	for _, q := range r.Players() {
		if next := g.runners[q]; next != nil {
			next.it = true
			return
		}
	}
}

// Update applies the inputs, moves everyone one step and passes "it" on a touch.
func (g *Tag) Update(r *engine.Room[Input], inputs []engine.Input[Input]) {
	for _, in := range inputs {
		if me := g.runners[in.Player]; me != nil {
			me.dx, me.dy = clamp(in.Value.DX), clamp(in.Value.DY)
		}
	}
	var it *runner
	for _, me := range g.runners {
		step(me)
		if me.it {
			it = me
		}
	}
	if it == nil {
		return
	}
	it.itTicks++
	for p, other := range g.runners {
		if other == it || other.immune > 0 || !touching(it, other) {
			continue
		}
		it.it, other.it = false, true
		it.immune = NoTagBacks
		r.Broadcast("tagged", map[string]any{"by": it.name, "it": other.name, "id": uint32(p.ID)})
		break
	}
}

// Snapshot adds every runner under its player id.
func (g *Tag) Snapshot(r *engine.Room[Input], b *state.Builder) {
	for _, me := range g.runners {
		b.Add(me.id, KindRunner, me)
	}
}

// step moves a runner one tick in its direction (diagonals as fast as straight runs) and
// keeps it on the field.
func step(me *runner) {
	if me.immune > 0 {
		me.immune--
	}
	dx, dy := float64(me.dx), float64(me.dy)
	if dx != 0 && dy != 0 {
		dx, dy = dx/math.Sqrt2, dy/math.Sqrt2
	}
	me.x = math.Min(Width-Radius, math.Max(Radius, me.x+dx*Speed))
	me.y = math.Min(Height-Radius, math.Max(Radius, me.y+dy*Speed))
}

func touching(a, b *runner) bool {
	return math.Hypot(a.x-b.x, a.y-b.y) <= 2*Radius
}

// clamp keeps a direction to -1, 0 or 1 whatever a client sent.
func clamp(v int8) int8 { return max(-1, min(1, v)) }
