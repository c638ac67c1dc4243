package engine_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/state"
)

// fragileInput has a custom decoder with bugs that the input's first element chooses.
type fragileInput struct {
	Add int64
}

func (in *fragileInput) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeArrayLen()
	if err != nil || n != 2 {
		return errors.New("fragile input is [how, add]")
	}
	how, err := dec.DecodeString()
	if err != nil {
		return err
	}
	if in.Add, err = dec.DecodeInt64(); err != nil {
		return err
	}
	switch how {
	case "panic":
		panic("the decoder has a bug")
	case "panic error":
		panic(errors.New("the decoder has a bug"))
	case "nil pointer":
		var m map[string]*fragileInput
		in.Add = m["x"].Add
	case "index":
		var s []int
		in.Add = int64(s[in.Add])
	}
	return nil
}

// fragile is a game with that input type; it only adds up what it is given.
type fragile struct {
	engine.Hooks[fragileInput]
	total *atomic.Int64
}

func (g *fragile) Snapshot(*engine.Room[fragileInput], *state.Builder) {} // nothing to replicate

func (g *fragile) Update(_ *engine.Room[fragileInput], inputs []engine.Input[fragileInput]) {
	for _, in := range inputs {
		g.total.Add(in.Value.Add)
	}
}

// TestInputDecoderPanicIsRefusedNotFatal sends, through a real socket, inputs that make the
// game's decoder panic (it runs on the connection's goroutine, outside the room's guard):
// each is refused as malformed ([22, 1, ...]) and counted, and neither the server, the room
// nor the player's later inputs suffer.
func TestInputDecoderPanicIsRefusedNotFatal(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	var total atomic.Int64
	if err := engine.Register(te.e, "fragile", engine.RoomConfig{}, func() engine.Game[fragileInput] {
		return &fragile{total: &total}
	}); err != nil {
		t.Fatal(err)
	}
	rp := te.rawDial(t)
	if _, code := rp.joinAnswer(engine.JoinOptions{Game: "fragile"}); code != engine.CodeOK {
		t.Fatalf("join: code %d", code)
	}
	tests := []struct {
		how   string
		panic bool
	}{
		{"fine", false},
		{"panic", true},
		{"panic error", true},
		{"nil pointer", true},
		{"index", true},
	}
	var want int64
	for i, tt := range tests {
		t.Run(tt.how, func(t *testing.T) {
			panics := te.e.Metrics().InputPanics.Load()
			rp.send(engine.KindInput, 2*i+1, []any{tt.how, 1})
			marker := float64(i)
			rp.send(engine.KindPing, marker)
			var errs [][]any
			for {
				m := rp.read() // fails the test if the connection (or the server) is gone
				if m[0] == engine.KindError {
					errs = append(errs, m)
				}
				if m[0] == engine.KindPong && m[1] == marker {
					break
				}
			}
			if tt.panic != (len(errs) == 1 && toInt(errs[0][1]) == int(engine.CodeMalformed)) || len(errs) > 1 {
				t.Fatalf("input %q answered %v", tt.how, errs)
			}
			if got := te.e.Metrics().InputPanics.Load() - panics; got != map[bool]int64{true: 1}[tt.panic] {
				t.Fatalf("InputPanics grew by %d", got)
			}
			if !tt.panic {
				want++
			}
			// The room goes on: a good input after it is applied.
			rp.send(engine.KindInput, 2*i+2, []any{"fine", 10})
			want += 10
			waitFor(t, "the next input applied", func() bool { return total.Load() == want })
		})
	}
	if p := te.e.Metrics().Panics.Load(); p != 0 {
		t.Fatalf("%d rooms ended by a panic; a decoder's panic must not end one", p)
	}
}
