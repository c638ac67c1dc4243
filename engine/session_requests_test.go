package engine_test

import (
	"sync"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/state"
)

// gated answers requests by echoing their name, except that "block" holds the room's
// goroutine until release is closed, so that later requests wait.
type gated struct {
	engine.Hooks[int]
	entered chan struct{}
	release chan struct{}
}

func (g *gated) Update(*engine.Room[int], []engine.Input[int]) {}
func (g *gated) Snapshot(*engine.Room[int], *state.Builder)    {}

func (g *gated) Request(_ *engine.Room[int], _ *engine.Player, name string, _ msgpack.RawMessage) (any, error) {
	if name == "block" {
		g.entered <- struct{}{}
		<-g.release
	}
	return name, nil
}

// TestRequestsWaitingArePerPlayerBounded holds a room inside one request and sends more
// through a real socket: MaxPendingRequests of them wait, each one beyond is answered at
// once with code 8 and goes no further, the connection stays, and once the room goes on
// every waiting request is answered and new ones are served again.
func TestRequestsWaitingArePerPlayerBounded(t *testing.T) {
	tests := []struct {
		name  string
		bound int // RoomConfig.MaxPendingRequests; 0 is the default
		want  int // the bound in effect
	}{
		{"one", 1, 1},
		{"four", 4, 4},
		{"default", 0, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := startEngine(t, engine.RoomConfig{}, engine.Options{})
			g := &gated{entered: make(chan struct{}, 1), release: make(chan struct{})}
			var once sync.Once
			open := func() { once.Do(func() { close(g.release) }) }
			t.Cleanup(open)
			if err := engine.Register(te.e, "gated", engine.RoomConfig{MaxPendingRequests: tt.bound}, func() engine.Game[int] { return g }); err != nil {
				t.Fatal(err)
			}
			rp := te.rawDial(t)
			if _, code := rp.joinAnswer(engine.JoinOptions{Game: "gated"}); code != engine.CodeOK {
				t.Fatalf("join: code %d", code)
			}
			rp.send(engine.KindRequest, 100, "block", nil)
			<-g.entered // the room is held inside request 100
			const extra = 3
			for i := range tt.want + extra {
				rp.send(engine.KindRequest, 101+i, "wait", nil)
			}
			refused := 0
			rp.send(engine.KindPing, 1.0)
			for {
				m := rp.read()
				if m[0] == engine.KindResponse {
					if toInt(m[2]) != int(engine.CodeRateLimited) {
						t.Fatalf("while the room is held, request %v answered %v", m[1], m)
					}
					if r := toInt(m[1]); r < 101+tt.want {
						t.Fatalf("request %d refused; the first %d beyond the held one should wait", r, tt.want)
					}
					refused++
				}
				if m[0] == engine.KindPong {
					break
				}
			}
			if refused != extra || te.e.Metrics().RequestsRefused.Load() != extra {
				t.Fatalf("%d requests refused (metric %d), want %d", refused, te.e.Metrics().RequestsRefused.Load(), extra)
			}
			open()
			answered := map[int]bool{}
			for len(answered) < 1+tt.want {
				if m := rp.read(); m[0] == engine.KindResponse {
					if toInt(m[2]) != int(engine.CodeOK) {
						t.Fatalf("after the room went on, request %v answered %v", m[1], m)
					}
					answered[toInt(m[1])] = true
				}
			}
			// The player's allowance is whole again.
			for i := range tt.want {
				rp.send(engine.KindRequest, 200+i, "again", nil)
			}
			for ok := 0; ok < tt.want; {
				if m := rp.read(); m[0] == engine.KindResponse {
					if toInt(m[2]) != int(engine.CodeOK) {
						t.Fatalf("request %v answered %v", m[1], m)
					}
					ok++
				}
			}
		})
	}
}
