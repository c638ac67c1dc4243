package shooter

import (
	"testing"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/state"
)

// discard is a broadcaster that drops events: encoding and sending them is the engine's
// cost, measured by the engine's own benchmarks.
type discard struct{ n int }

func (d *discard) Broadcast(string, any) error { d.n++; return nil }

// battle is a full room in combat: 8 humans who run in changing directions, turn, and hold
// both fire buttons with a view 6 ticks old (so every blaster shot rewinds), and 4 bots.
type battle struct {
	g      *Game
	out    *discard
	ring   *state.Ring
	tick   uint32
	inputs []engine.Input[Input]
}

func newBattle(tb testing.TB) *battle {
	o, err := Options{Bots: 12, Seed: 9}.withDefaults()
	if err != nil {
		tb.Fatal(err)
	}
	bt := &battle{g: newGame(o), out: &discard{}, ring: state.NewRing(64)}
	bt.g.out = bt.out
	bt.g.fillBots()
	for id := uint32(1); id <= 8; id++ {
		p := &engine.Player{ID: id}
		if err := bt.g.Join(nil, p); err != nil {
			tb.Fatal(err)
		}
		bt.inputs = append(bt.inputs, engine.Input[Input]{Player: p})
	}
	if len(bt.g.bots) != 4 {
		tb.Fatalf("%d bots", len(bt.g.bots))
	}
	return bt
}

// step runs one tick, and the snapshot every other tick as a 60/30 Hz room does.
func (bt *battle) step() {
	bt.tick++
	for i := range bt.inputs {
		in := &bt.inputs[i]
		phase := (bt.tick/45 + uint32(i)) % 8
		in.Value = Input{
			Keys: eightKeys[phase],
			Aim:  int((bt.tick*37+uint32(i)*800)%6284) - 3142,
			Fire: FireBlaster | FireRocket,
		}
		// What a client 100 ms away draws: two snapshots 6 to 8 ticks back, blended.
		from := state.Tick(bt.tick - bt.tick%2 - 8)
		in.View = state.View{From: from, To: from + 2, T: float64(bt.tick%7) / 7}
	}
	bt.g.update(bt.tick, bt.inputs)
	if bt.tick%2 == 0 {
		b := bt.ring.Builder()
		b.Begin(state.Tick(bt.tick))
		bt.g.Snapshot(nil, b)
		bt.ring.Push(b.Finish())
	}
}

// BenchmarkShooterTick is one tick of a full room in combat (see battle): the simulation,
// and half of a snapshot build, without the engine's encoding and sending.
func BenchmarkShooterTick(b *testing.B) {
	bt := newBattle(b)
	for range 600 {
		bt.step() // reach the steady state: rockets in the air, deaths and respawns
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		bt.step()
	}
	b.ReportMetric(float64(bt.out.n)/float64(bt.tick), "events/tick")
}

func TestTickDoesNotAllocate(t *testing.T) {
	bt := newBattle(t)
	for range 600 {
		bt.step()
	}
	if allocs := testing.AllocsPerRun(1200, bt.step); allocs != 0 {
		t.Fatalf("%v allocations per tick", allocs)
	}
	deaths := 0
	for _, c := range bt.g.all {
		deaths += c.deaths
	}
	if bt.out.n == 0 || len(bt.g.rockets) == 0 || deaths == 0 {
		t.Fatalf("not a battle: %d events, %d rockets, %d deaths", bt.out.n, len(bt.g.rockets), deaths)
	}
}
