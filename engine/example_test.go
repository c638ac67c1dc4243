package engine_test

import (
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rallypoint/rallypoint/client"
	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/state"
)

// Clicker is a whole game: every player has a counter, each input adds to it, and every
// player sees every counter. Its fields are its state: only the room's goroutine touches them.
type Clicker struct {
	engine.Hooks[Click] // no-op defaults for the hooks this game does not need
	counts              map[*engine.Player]int64
}

// Click is the input: clients send [3, seq, {"n": 1}].
type Click struct {
	N int64 `msgpack:"n"`
}

type counter int64

func (c counter) AppendFields(f *state.Fields) { f.Int(int64(c)) }

func (g *Clicker) Update(r *engine.Room[Click], inputs []engine.Input[Click]) {
	for _, in := range inputs {
		g.counts[in.Player] += in.Value.N
	}
}

func (g *Clicker) Leave(r *engine.Room[Click], p *engine.Player, _ engine.LeaveReason) {
	delete(g.counts, p)
}

func (g *Clicker) Snapshot(r *engine.Room[Click], b *state.Builder) {
	for p, n := range g.counts {
		b.Add(state.ID(p.ID), 0, counter(n))
	}
}

func newClicker() engine.Game[Click] { return &Clicker{counts: map[*engine.Player]int64{}} }

// Embedding the engine in your own HTTP server: register a game, mount the engine and the
// browser SDK. (Compiled by go test, not run: it would listen forever. TestClickerPlays runs
// the same game.)
func Example() {
	e := engine.New(engine.Options{})
	if err := engine.Register(e, "clicker", engine.RoomConfig{TickRate: 20}, newClicker); err != nil {
		log.Fatal(err)
	}
	http.Handle("/play", e)                                // clients join with [1, req, {"game": "clicker"}]
	http.Handle("/client/rallypoint.js", client.Handler()) // the browser SDK
	log.Fatal(http.ListenAndServe(":8080", nil))
}

// TestClickerPlays runs the README's game over real sockets: two players click, and each
// sees both counters.
func TestClickerPlays(t *testing.T) {
	e := engine.New(engine.Options{})
	if err := engine.Register(e, "clicker", engine.RoomConfig{TickRate: 20}, newClicker); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var players [2]*gameclient.Client
	var ids [2]uint32
	for i := range players {
		c, err := gameclient.Dial(ctx5(t), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Conn().CloseNow() })
		j, err := c.Join(ctx5(t), engine.JoinOptions{Game: "clicker"})
		if err != nil {
			t.Fatal(err)
		}
		players[i], ids[i] = c, j.Player
	}
	players[0].SendInput(Click{N: 2})
	players[1].SendInput(Click{N: 3})
	players[1].SendInput(Click{N: 4})
	for _, c := range players {
		waitFor(t, "both counters", func() bool {
			a, _ := scoreOf(c, ids[0])
			b, _ := scoreOf(c, ids[1])
			return a == 2 && b == 7
		})
	}
}
