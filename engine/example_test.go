package engine_test

import (
	"net/http"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/state"
)

// Clicker is a whole game: every player has a counter, each input adds to it, and every
// player sees every counter.
type Clicker struct {
	engine.Hooks[Click] // no-op defaults for the hooks this game does not need
	counts              map[*engine.Player]int64
}

// Click is the game's input type; clients send [3, seq, {"n": 1}].
type Click struct {
	N int64 `msgpack:"n"`
}

type counter int64

func (c counter) AppendFields(f *state.Fields) { f.Int(int64(c)) }

func (g *Clicker) Start(r *engine.Room[Click]) error {
	g.counts = map[*engine.Player]int64{}
	return nil
}

func (g *Clicker) Leave(r *engine.Room[Click], p *engine.Player, _ engine.LeaveReason) {
	delete(g.counts, p)
}

func (g *Clicker) Update(r *engine.Room[Click], inputs []engine.Input[Click]) {
	for _, in := range inputs {
		g.counts[in.Player] += in.Value.N
	}
}

func (g *Clicker) Snapshot(r *engine.Room[Click], b *state.Builder) {
	for p, n := range g.counts {
		b.Add(state.ID(p.ID), 0, counter(n))
	}
}

// Embedding the engine in your own HTTP server: register a game, mount the engine. (This
// example is compiled by go test, not run: it would listen forever.)
func Example() {
	e := engine.New(engine.Options{})
	_ = engine.Register(e, "clicker", engine.RoomConfig{TickRate: 20}, func() engine.Game[Click] {
		return &Clicker{}
	})
	mux := http.NewServeMux()
	mux.Handle("/play", e) // clients join with [1, req, {"game": "clicker"}]
	http.ListenAndServe(":8080", mux)
}
