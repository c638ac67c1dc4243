package msgcheck

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

type move struct {
	X int16   `msgpack:"x"`
	Y float32 `msgpack:"y"`
}

type base struct {
	Team uint8 `msgpack:"team"`
}

// custom decodes itself: a Schema leaves it alone.
type custom struct{ v int }

func (c *custom) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeInt()
	c.v = n
	return err
}

type tree struct {
	Kids []tree `msgpack:"kids"`
	V    int8   `msgpack:"v"`
}

type input struct {
	base                         // inlined: "team" is a field of input
	Kind    string               `msgpack:"kind"`
	Row     int8                 `msgpack:"row"`
	Col     int                  `msgpack:"col,omitempty"`
	Keys    uint8                `msgpack:"keys,alias=k"`
	Aim     float64              `msgpack:"aim"`
	Fire    bool                 `msgpack:"fire"`
	Moves   []move               `msgpack:"moves"`
	Slots   [2]uint16            `msgpack:"slots"`
	Scores  map[string]int8      `msgpack:"scores"`
	Blob    []byte               `msgpack:"blob"`
	Tag     [4]byte              `msgpack:"tag"`
	Ptr     *int8                `msgpack:"ptr"`
	Any     any                  `msgpack:"any"`
	Raw     msgpack.RawMessage   `msgpack:"raw"`
	Custom  custom               `msgpack:"custom"`
	Tree    tree                 `msgpack:"tree"`
	Skipped int8                 `msgpack:"-"`
	hidden  int8                 // unexported: never decoded, so never checked
	ByName  map[int8]interface{} `msgpack:"by_id"`
}

func enc(t *testing.T, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSchemaNamesTheFieldAndRefusesWhatTheDecoderWouldWrap: the refusals name the field as
// the client sent it and say what fits; what the schema accepts, the decoder decodes
// without error.
func TestSchemaNamesTheFieldAndRefusesWhatTheDecoderWouldWrap(t *testing.T) {
	s := For(reflect.TypeFor[input]())
	tests := []struct {
		name     string
		in       any
		wantPath string // "" for accepted
		wantWant string // part of FieldError.Want
		wantGot  string
	}{
		{"an honest input", map[string]any{"kind": "cursor", "row": 3, "col": -4, "keys": 255, "aim": 1.5, "fire": true}, "", "", ""},
		{"nil everywhere", map[string]any{"kind": nil, "row": nil, "moves": nil, "tree": nil, "ptr": nil}, "", "", ""},
		{"unknown fields are skipped", map[string]any{"later": map[string]any{"a": []any{1, "x"}}, "row": 1}, "", "", ""},
		{"an inlined field", map[string]any{"team": 3}, "", "", ""},
		{"unexported and skipped fields are unknown names", map[string]any{"hidden": 500, "Skipped": "x", "-": 1}, "", "", ""},
		{"an alias", map[string]any{"k": 7}, "", "", ""},
		{"an int8 at its bounds", map[string]any{"row": -128}, "", "", ""},
		{"integers for floats", map[string]any{"aim": 3, "moves": []any{map[string]any{"y": -2}}}, "", "", ""},
		{"a float32 for a float32", map[string]any{"moves": []any{map[string]any{"y": float32(0.5)}}}, "", "", ""},
		{"a struct as an array", map[string]any{"moves": []any{[]any{1, float32(2)}}}, "", "", ""},
		{"bytes as a string", map[string]any{"blob": "abc", "tag": "abcd"}, "", "", ""},
		{"anything for any, raw and custom decoders", map[string]any{"any": []any{1, "x"}, "raw": map[string]any{"a": 1}, "custom": 5}, "", "", ""},
		{"a recursive type", map[string]any{"tree": map[string]any{"kids": []any{map[string]any{"v": 1, "kids": []any{}}}}}, "", "", ""},

		{"500 into an int8", map[string]any{"row": 500}, "row", "-128..127", "500"},
		{"-129 into an int8", map[string]any{"row": -129}, "row", "-128..127", "-129"},
		{"-1 into a uint8", map[string]any{"keys": -1}, "keys", "0..255", "-1"},
		{"256 into a uint8 by its alias, named as sent", map[string]any{"k": 256}, "k", "0..255", "256"},
		{"2^63 into an int", map[string]any{"col": uint64(1 << 63)}, "col", "an integer", "9223372036854775808"},
		{"a string for an int", map[string]any{"row": "a"}, "row", "an integer", `"a"`},
		{"a float for an int", map[string]any{"row": 1.5}, "row", "an integer", "1.5"},
		{"an int for a string", map[string]any{"kind": 5}, "kind", "a string", "an integer"},
		{"an int for a bool", map[string]any{"fire": 1}, "fire", "a boolean", "an integer"},
		{"a float64 for a float32", map[string]any{"moves": []any{map[string]any{"y": 1.5}}}, "moves[0].y", "a float32 or an integer", "the float64 1.5"},
		{"deep in a slice", map[string]any{"moves": []any{map[string]any{"x": 1}, map[string]any{"x": 40000}}}, "moves[1].x", "-32768..32767", "40000"},
		{"an array field too long", map[string]any{"slots": []any{1, 2, 3}}, "slots", "at most 2 elements", "3 elements"},
		{"in an array field", map[string]any{"slots": []any{1, -2}}, "slots[1]", "0..65535", "-2"},
		{"a map value", map[string]any{"scores": map[string]any{"bob": 300}}, `scores["bob"]`, "-128..127", "300"},
		{"a map key", map[string]any{"by_id": map[any]any{int64(200): 1}}, "by_id[key]", "-128..127", "200"},
		{"a byte array too long", map[string]any{"tag": "abcde"}, "tag", "at most 4 bytes", "5 bytes"},
		{"through a pointer", map[string]any{"ptr": 128}, "ptr", "-128..127", "128"},
		{"an inlined field out of range", map[string]any{"team": 256}, "team", "0..255", "256"},
		{"a struct as an array of the wrong length", map[string]any{"moves": []any{[]any{1}}}, "moves[0]", "an array of its 2 fields", "an array of 1 elements"},
		{"deep in a recursive type", map[string]any{"tree": map[string]any{"kids": []any{map[string]any{"v": 1000}}}}, "tree.kids[0].v", "-128..127", "1000"},
		{"not a map", "cursor", "", "a map", `"cursor"`},
		{"a field name that is not a string", map[any]any{int64(1): 2}, "", "field names that are strings", "an integer as a field name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := enc(t, tt.in)
			n, err := s.Check(b)
			var decoded input
			decErr := msgpack.Unmarshal(b, &decoded)
			if tt.wantWant == "" {
				if err != nil || n != len(b) {
					t.Fatalf("Check(% x) = %d, %v; want %d, nil", b, n, err, len(b))
				}
				if decErr != nil {
					t.Fatalf("the schema accepted what the decoder refuses: %v", decErr)
				}
				if decoded.hidden != 0 || decoded.Skipped != 0 {
					t.Fatalf("the decoder set fields the schema ignores: %+v", decoded)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Check(% x) = %d, %v; want a FieldError", b, n, err)
			}
			if fe.Path != tt.wantPath || !strings.Contains(fe.Want, tt.wantWant) || !strings.Contains(fe.Got, tt.wantGot) {
				t.Fatalf("Check refused with %q (path %q, want %q, got %q); want path %q, %q, %q", err, fe.Path, fe.Want, fe.Got, tt.wantPath, tt.wantWant, tt.wantGot)
			}
		})
	}
}

// TestSchemaOfPlainTypes: a game's input need not be a struct.
func TestSchemaOfPlainTypes(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
		in   any
		ok   bool
	}{
		{"int", reflect.TypeFor[int](), 5, true},
		{"int8 out of range", reflect.TypeFor[int8](), 500, false},
		{"uint64 of its largest", reflect.TypeFor[uint64](), uint64(math.MaxUint64), true},
		{"uint32 too large", reflect.TypeFor[uint32](), uint64(1 << 32), false},
		{"string", reflect.TypeFor[string](), "x", true},
		{"[]int8", reflect.TypeFor[[]int8](), []any{1, 2, 3}, true},
		{"[]int8 with one too large", reflect.TypeFor[[]int8](), []any{1, 200}, false},
		{"map[string]string with an int", reflect.TypeFor[map[string]string](), map[string]any{"a": 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := enc(t, tt.in)
			_, err := For(tt.typ).Check(b)
			if (err == nil) != tt.ok {
				t.Fatalf("Check(% x) = %v, want ok %v", b, err, tt.ok)
			}
		})
	}
}

// TestSchemaRefusesMalformedBytes: a Schema is not fooled by lengths that lie.
func TestSchemaRefusesMalformedBytes(t *testing.T) {
	s := For(reflect.TypeFor[input]())
	for _, b := range [][]byte{
		{},
		{0x81, 0xa3, 'r', 'o'},      // a key cut short
		{0x81, 0xa3, 'r', 'o', 'w'}, // no value
		{0x81, 0xdb, 0xff, 0xff, 0xff, 0xff, 'r'},               // a key claiming 4 GiB
		{0x81, 0xa3, 'r', 'o', 'w', 0xd1, 0x01},                 // an int16 cut short
		{0x81, 0xa5, 'm', 'o', 'v', 'e', 's', 0x9f},             // an array missing its elements
		{0x81, 0xa5, 'l', 'a', 't', 'e', 'r', 0xdd, 0, 0, 0, 9}, // an unknown field that lies
	} {
		if _, err := s.Check(b); err == nil {
			t.Errorf("Check(% x) accepted malformed bytes", b)
		}
	}
}

// BenchmarkSchemaCheckInput stands for the engine's check of one crossword input, on every
// input of every player: it must not allocate.
func BenchmarkSchemaCheckInput(b *testing.B) {
	type crosswordInput struct {
		Kind   string `msgpack:"kind"`
		Row    int    `msgpack:"row"`
		Col    int    `msgpack:"col"`
		Letter string `msgpack:"letter,omitempty"`
		Dir    string `msgpack:"dir,omitempty"`
	}
	s := For(reflect.TypeFor[crosswordInput]())
	in, _ := msgpack.Marshal(map[string]any{"kind": "letter", "row": 3, "col": 7, "letter": "A"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Check(in); err != nil {
			b.Fatal(err)
		}
	}
}
