package engine_test

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/state"
)

// TestJoinedCarriesTheSchema: with RoomConfig.Schema the join answer gains a trailing
// element, the schema's wire form; without one it keeps its nine elements. The Go client
// joins either way (it ignores what it does not know).
func TestJoinedCarriesTheSchema(t *testing.T) {
	schema := &state.Schema{
		Room:  []state.Field{{Name: "round", Type: state.Uint}},
		Kinds: []state.KindSpec{{Kind: 1, Name: "score", Fields: []state.Field{{Name: "v", Type: state.Int}}}},
	}
	tests := []struct {
		name   string
		schema *state.Schema
		want   []any // the trailing element, nil for none
	}{
		{"no schema", nil, nil},
		{"schema", schema, []any{
			[]any{int8(0), "room", []any{[]any{"round", "uint"}}},
			[]any{int8(1), "score", []any{[]any{"v", "int"}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := startEngine(t, engine.RoomConfig{Schema: tt.schema}, engine.Options{})
			raw := te.rawJoinMessage(t)
			switch {
			case tt.want == nil && len(raw) != 9:
				t.Fatalf("joined without a schema has %d elements, want 9: %v", len(raw), raw)
			case tt.want != nil && (len(raw) != 10 || !reflect.DeepEqual(raw[9], tt.want)):
				t.Fatalf("joined %v, want a 10th element %v", raw, tt.want)
			}
			c := te.dial(t)
			if _, err := c.Join(ctx5(t), engine.JoinOptions{Game: "tally"}); err != nil {
				t.Fatalf("the Go client does not join: %v", err)
			}
		})
	}
}

// rawJoinMessage joins quick play on a new connection and returns the 0x11, decoded.
func (te *testEngine) rawJoinMessage(t *testing.T) []any {
	t.Helper()
	return te.rawJoin(t).joined
}

func TestRegisterRefusesAnInvalidSchema(t *testing.T) {
	e := engine.New(engine.Options{Logger: slog.New(slog.DiscardHandler)})
	bad := &state.Schema{Kinds: []state.KindSpec{{Kind: 1, Name: "a"}, {Kind: 1, Name: "b"}}}
	err := engine.Register(e, "bad", engine.RoomConfig{Schema: bad}, func() engine.Game[tallyInput] { return &tally{} })
	if err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Fatalf("Register: %v, want the schema's error", err)
	}
}

// TestSchemaMismatchIsLoggedOncePerKind: a game whose entities write a different number of
// fields than the schema declares is logged once for the game and kind, however many rooms
// and ticks repeat it, and the room goes on (the snapshots are right, only names are off).
func TestSchemaMismatchIsLoggedOncePerKind(t *testing.T) {
	tests := []struct {
		name   string
		fields []state.Field
		logged bool
	}{
		{"as declared", []state.Field{{Name: "v", Type: state.Int}}, false},
		{"one more declared", []state.Field{{Name: "v", Type: state.Int}, {Name: "w", Type: state.Int}}, true},
		{"none declared", []state.Field{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			schema := &state.Schema{Kinds: []state.KindSpec{{Kind: 1, Name: "score", Fields: tt.fields}}}
			te := startEngine(t, engine.RoomConfig{Schema: schema, TickRate: 60},
				engine.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			for range 2 { // two rooms of the same game
				c := te.dial(t)
				if _, err := c.Join(ctx5(t), engine.JoinOptions{Game: "tally", Create: true}); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "three snapshots", func() bool { return c.Stats().Snapshots >= 3 })
				if err := c.Request(ctx5(t), "total", nil, nil); err != nil {
					t.Fatalf("the room did not go on: %v", err)
				}
			}
			n := strings.Count(logs.String(), "does not match RoomConfig.Schema")
			if want := map[bool]int{false: 0, true: 1}[tt.logged]; n != want {
				t.Fatalf("logged %d times, want %d:\n%s", n, want, logs.String())
			}
		})
	}
}
