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

// KindRunner is the kind of the entities this game replicates: a runner.
const KindRunner uint8 = 1

// Schema declares the replicated state once, in the order AppendFields writes it: pages
// read the fields by these names (e.values.x), and web/types.d.ts is generated from it.
var Schema = &state.Schema{
	Kinds: []state.KindSpec{{Kind: KindRunner, Name: "runner", Fields: []state.Field{
		{Name: "x", Type: state.Int},
		{Name: "y", Type: state.Int},
		{Name: "name", Type: state.String},
		{Name: "seconds", Type: state.Uint}, // seconds spent as it: the lower, the better
	}}},
	// The room state: who is it, and how many tags so far.
	Room: []state.Field{
		{Name: "it", Type: state.Uint}, // the player id of whoever is it; 0 when nobody is
		{Name: "tags", Type: state.Uint},
	},
}

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

// AppendFields writes a runner as Schema declares it: x, y, name, seconds as it. Positions
// go as whole units: the delta then resends only what moved by a unit or more.
func (r *runner) AppendFields(f *state.Fields) {
	f.Int(int64(math.Round(r.x)))
	f.Int(int64(math.Round(r.y)))
	f.String(r.name)
	f.Uint(uint64(r.itTicks / TickRate))
}

// roomState is what belongs to the whole room: who is it, and the tags so far.
type roomState struct {
	it   state.ID
	tags int
}

// AppendFields writes the room state as Schema.Room declares it.
func (s *roomState) AppendFields(f *state.Fields) {
	f.Uint(uint64(s.it))
	f.Uint(uint64(s.tags))
}

// Tag is one room's game: runners on a field, one of them "it", who passes it on by
// touching another.
type Tag struct {
	engine.Hooks[Input] // no-op Start, Drop, Rejoin, View, Request and Terminate
	runners             map[*engine.Player]*runner
	room                roomState
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
	if n == 0 {
		g.room.it = state.ID(p.ID)
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
	g.room.it = 0
	for _, q := range r.Players() {
		if next := g.runners[q]; next != nil {
			next.it = true
			g.room.it = next.id
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
		g.room.it = other.id
		g.room.tags++
		r.Broadcast("tagged", Tagged{By: it.name, It: other.name, ID: uint32(p.ID)})
		break
	}
}

// Tagged is the event everyone in the room gets when "it" passes on.
type Tagged struct {
	By string `msgpack:"by"` // who tagged
	It string `msgpack:"it"` // who is it now
	ID uint32 `msgpack:"id"` // their player id
}

// Snapshot adds every runner under its player id, and the room state.
func (g *Tag) Snapshot(r *engine.Room[Input], b *state.Builder) {
	for _, me := range g.runners {
		b.Add(me.id, KindRunner, me)
	}
	b.Room(&g.room)
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
