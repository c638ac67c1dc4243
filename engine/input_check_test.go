package engine_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/state"
)

// narrowInput has fields narrower than the int64 every msgpack integer is read as.
type narrowInput struct {
	Keys  uint8  `msgpack:"keys"`
	Aim   int16  `msgpack:"aim"`
	Name  string `msgpack:"name"`
	Moves []struct {
		DX int8 `msgpack:"dx"`
	} `msgpack:"moves"`
}

// narrow records the inputs it is given.
type narrow struct {
	engine.Hooks[narrowInput]
	mu  *sync.Mutex
	got *[]narrowInput
}

func (g *narrow) Update(_ *engine.Room[narrowInput], inputs []engine.Input[narrowInput]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, in := range inputs {
		*g.got = append(*g.got, in.Value)
	}
}

func (g *narrow) Snapshot(*engine.Room[narrowInput], *state.Builder) {}

// TestInputsAreCheckedAgainstTheGamesType sends, through a real socket, inputs of the wrong
// type and out of range for the game's input fields. Each used to fail with the decoder's
// "msgpack: invalid code=a4 decoding int64", no field named, or, worse, to reach the game
// wrapped (500 in a uint8 is 244, -1 is 255) (issue 12). Now each is refused as malformed
// ([22, 1, ...], counted in Metrics.Malformed) with the field named, and never reaches the
// game; inputs that fit are applied as sent.
func TestInputsAreCheckedAgainstTheGamesType(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	var (
		mu  sync.Mutex
		got []narrowInput
	)
	if err := engine.Register(te.e, "narrow", engine.RoomConfig{}, func() engine.Game[narrowInput] {
		return &narrow{mu: &mu, got: &got}
	}); err != nil {
		t.Fatal(err)
	}
	rp := te.rawDial(t)
	if _, code := rp.joinAnswer(engine.JoinOptions{Game: "narrow"}); code != engine.CodeOK {
		t.Fatalf("join: code %d", code)
	}
	tests := []struct {
		name  string
		input any
		want  string // the error's message, "" for applied
	}{
		{"fits", map[string]any{"keys": 255, "aim": -32768, "name": "ann", "moves": []any{map[string]any{"dx": -1}}}, ""},
		{"500 into a uint8", map[string]any{"keys": 500}, `input field "keys": want an integer in 0..255 (uint8), got 500`},
		{"-1 into a uint8", map[string]any{"keys": -1}, `input field "keys": want an integer in 0..255 (uint8), got -1`},
		{"40000 into an int16", map[string]any{"aim": 40000}, `input field "aim": want an integer in -32768..32767 (int16), got 40000`},
		{"a string for an integer", map[string]any{"aim": "left"}, `input field "aim": want an integer in -32768..32767 (int16), got "left"`},
		{"an integer for a string", map[string]any{"name": 7}, `input field "name": want a string (string), got an integer`},
		{"deep in a list", map[string]any{"moves": []any{map[string]any{"dx": 1}, map[string]any{"dx": 128}}}, `input field "moves[1].dx": want an integer in -128..127 (int8), got 128`},
		{"not a map", "keys", `input: want a map (or an array of its 4 fields) (engine_test.narrowInput), got "keys"`},
	}
	applied := 0
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			malformed := te.e.Metrics().Malformed.Load()
			rp.send(engine.KindInput, i+1, tt.input)
			marker := float64(i)
			rp.send(engine.KindPing, marker)
			var errs []string
			for {
				m := rp.read()
				if m[0] == engine.KindError {
					if toInt(m[1]) != int(engine.CodeMalformed) {
						t.Fatalf("error code %v, want 1 (malformed)", m[1])
					}
					msg, _ := m[2].(string)
					errs = append(errs, msg)
				}
				if m[0] == engine.KindPong && m[1] == marker {
					break
				}
			}
			switch {
			case tt.want == "" && len(errs) != 0:
				t.Fatalf("refused: %q", errs)
			case tt.want != "" && (len(errs) != 1 || errs[0] != tt.want):
				t.Fatalf("answered %q, want %q", errs, tt.want)
			case tt.want != "" && strings.Contains(errs[0], "msgpack:"):
				t.Fatalf("the decoder's own error leaked: %q", errs[0])
			case tt.want != "" && te.e.Metrics().Malformed.Load() != malformed+1:
				t.Fatalf("Malformed grew by %d, want 1", te.e.Metrics().Malformed.Load()-malformed)
			}
			if tt.want == "" {
				applied++
			}
		})
	}
	// A last input behind the others: once it is applied, every earlier one was too.
	rp.send(engine.KindInput, 100, map[string]any{"keys": 7})
	applied++
	waitFor(t, "the inputs applied", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == applied })
	mu.Lock()
	defer mu.Unlock()
	if first := got[0]; first.Keys != 255 || first.Aim != -32768 || first.Name != "ann" || len(first.Moves) != 1 || first.Moves[0].DX != -1 {
		t.Fatalf("the game got %+v", first)
	}
	if last := got[len(got)-1]; last.Keys != 7 {
		t.Fatalf("the game's last input %+v, want keys 7 (and nothing refused in between)", last)
	}
}
