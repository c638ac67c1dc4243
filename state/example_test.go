package state_test

import (
	"fmt"

	"github.com/rallypoint/rallypoint/state"
)

// unit is a game's replicated type: a position and hit points.
type unit struct {
	x  float32
	hp int64
}

func (u *unit) AppendFields(f *state.Fields) {
	f.Float32(u.x)
	f.Int(u.hp)
}

// Example shows one room and one client: the server builds a snapshot per tick into a ring
// and encodes each as a delta against what the client acknowledged; the client's mirror
// applies it. These are the bytes of the package documentation's example.
func Example() {
	ring := state.NewRing(0)
	b := ring.Builder()
	mirror := state.NewMirror(0)

	// Tick 7: two units. The client has acknowledged nothing: a full snapshot.
	b.Begin(7)
	b.Add(1, 1, &unit{x: 1.5, hp: 100})
	b.Add(2, 1, &unit{x: -2, hp: 100})
	ring.Push(b.Finish())
	full := state.AppendDelta(nil, ring.Get(0), ring.Latest(), nil)
	fmt.Printf("full:  % x\n", full)
	_, _ = mirror.Apply(full)

	// Tick 8: unit 1 moved, unit 2 is gone, unit 3 (another kind) appeared. The client
	// acknowledged tick 7.
	b.Begin(8)
	b.Add(1, 1, &unit{x: 2, hp: 100})
	b.Add(3, 2, &unit{x: 0.5, hp: 20})
	ring.Push(b.Finish())
	delta := state.AppendDelta(nil, ring.Get(7), ring.Latest(), nil)
	fmt.Printf("delta: % x\n", delta)
	tick, err := mirror.Apply(delta)
	fmt.Println(tick, err)

	for _, e := range mirror.Entities() {
		var x float32
		_ = e.Decode(0, &x)
		fmt.Println(e.ID, e.Kind, x)
	}
	// Output:
	// full:  95 07 00 92 93 01 01 92 ca 3f c0 00 00 64 93 02 01 92 ca c0 00 00 00 64 90 90
	// delta: 95 08 07 91 93 03 02 92 ca 3f 00 00 00 14 91 02 91 93 01 01 ca 40 00 00 00
	// 8 <nil>
	// 1 1 2
	// 3 2 0.5
}
