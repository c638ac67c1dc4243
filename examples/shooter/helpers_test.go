package shooter

import (
	"fmt"
	"math"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
)

// The package's own tests drive a Game directly, without a room: tick by tick, with the
// inputs they choose, and with the events caught by a recorder. The hooks other than Start
// and Update do not use their Room, so they are called with nil.

// recorder keeps the events a Game broadcasts.
type recorder struct {
	shots []ShotEvent
	booms []BoomEvent
	kills []KillEvent
}

func (r *recorder) Broadcast(name string, payload any) error {
	switch p := payload.(type) {
	case *ShotEvent:
		r.shots = append(r.shots, *p)
	case *BoomEvent:
		r.booms = append(r.booms, *p)
	case *KillEvent:
		r.kills = append(r.kills, *p)
	default:
		return fmt.Errorf("unexpected event %s %T", name, payload)
	}
	return nil
}

// arena is a Game under test.
type arena struct {
	t    *testing.T
	g    *Game
	rec  *recorder
	tick uint32
}

// newArena makes a game with o, without bots unless o asks for some, seeded.
func newArena(t *testing.T, o Options) *arena {
	t.Helper()
	if o.Bots == 0 {
		o.Bots = -1
	}
	if o.Seed == 0 {
		o.Seed = 42
	}
	o, err := o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	a := &arena{t: t, g: newGame(o), rec: &recorder{}}
	a.g.out = a.rec
	a.g.fillBots()
	return a
}

// join seats a human with id and name and puts them at (x, y).
func (a *arena) join(id uint32, name string, x, y float64) *combatant {
	a.t.Helper()
	meta, _ := msgpack.Marshal(name)
	p := &engine.Player{ID: id, Meta: meta}
	if err := a.g.Join(nil, p); err != nil {
		a.t.Fatal(err)
	}
	c := a.g.humans[p]
	c.x, c.y = x, y
	return c
}

// step runs one tick with inputs.
func (a *arena) step(inputs ...engine.Input[Input]) {
	a.tick++
	a.g.update(a.tick, inputs)
}

// run runs n ticks, each with the same inputs.
func (a *arena) run(n int, inputs ...engine.Input[Input]) {
	for range n {
		a.step(inputs...)
	}
}

// input is c's input in.
func input(c *combatant, in Input) engine.Input[Input] {
	return engine.Input[Input]{Player: c.p, Value: in}
}

// aimAt is the aim from (x, y) to (tx, ty), in milliradians as the page computes it.
func aimAt(x, y, tx, ty float64) int {
	return int(math.Round(math.Atan2(ty-y, tx-x) * 1000))
}
