package tsgen_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/state"
	"github.com/rallypoint/rallypoint/state/tsgen"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type move struct {
	DX    int8              `msgpack:"dx"`
	DY    int8              `msgpack:"dy"`
	Say   string            `msgpack:"say,omitempty"`
	Skip  int               `msgpack:"-"`
	Note  *string           `msgpack:"note"`
	Tags  map[string]uint16 `msgpack:"tags"`
	Blob  []byte            `msgpack:"blob"`
	Plain bool
	Extra msgpack.RawMessage `msgpack:"extra"`
	Any   any                `msgpack:"any"`
	inner int                //lint:ignore U1000 unexported fields are not on the wire
}

type hit struct {
	_msgpack struct{} `msgpack:",as_array"` //lint:ignore U1000 read by reflection
	By       uint32
	Where    [2]float32
}

type entry struct {
	ID   uint32 `msgpack:"id"`
	Name string `msgpack:"name"`
}

type board struct {
	Top  []entry  `msgpack:"top"`
	Hits []*hit   `msgpack:"hits"`
	Grid [][]bool `msgpack:"grid"`
}

// selfEncoded encodes itself: tsgen cannot know its wire form without an Override.
type selfEncoded struct{ a, b int }

func (s selfEncoded) EncodeMsgpack(enc *msgpack.Encoder) error { return enc.Encode([]int{s.a, s.b}) }

type recursive struct {
	Next *recursive `msgpack:"next"`
}

var schema = &state.Schema{
	Room: []state.Field{{Name: "round", Type: state.Uint}, {Name: "leader", Type: state.String}},
	Kinds: []state.KindSpec{
		{Kind: 1, Name: "player", Fields: []state.Field{{Name: "x", Type: state.Float}, {Name: "alive", Type: state.Bool}, {Name: "skin", Type: state.Bytes}}},
		{Kind: 7, Name: "big_rock", Fields: []state.Field{{Name: "hp", Type: state.Int}, {Name: "loot", Type: state.Any}}},
	},
}

// TestGenerateGolden: each spec's declaration is the golden file's, byte for byte (run with
// -update to rewrite them after a deliberate change, and read the diff).
func TestGenerateGolden(t *testing.T) {
	tests := []struct {
		name string
		spec tsgen.Spec
	}{
		{"full", tsgen.Spec{
			Game:     "demo",
			Schema:   schema,
			Input:    reflect.TypeFor[move](),
			Events:   map[string]reflect.Type{"hit": reflect.TypeFor[hit](), "board": reflect.TypeFor[board](), "chat-line": reflect.TypeFor[string]()},
			Requests: map[string]reflect.Type{"pair": reflect.TypeFor[selfEncoded](), "chain": reflect.TypeFor[recursive]()},
		}},
		{"embedded", tsgen.Spec{Game: "demo", Input: reflect.TypeFor[struct {
			entry
			Why string `msgpack:"why"`
		}]()}},
		{"override", tsgen.Spec{
			Game:     "demo",
			Input:    reflect.TypeFor[selfEncoded](),
			Override: map[reflect.Type]string{reflect.TypeFor[selfEncoded](): "[a: number, b: number]"},
		}},
		{"entities only", tsgen.Spec{Game: "demo", Schema: &state.Schema{Kinds: schema.Kinds}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tsgen.Generate(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", strings.ReplaceAll(tt.name, " ", "-")+".d.ts")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Generate differs from %s:\n%s", path, got)
			}
		})
	}
}

func TestGenerateRefuses(t *testing.T) {
	tests := []struct {
		name string
		spec tsgen.Spec
		err  string
	}{
		{"an invalid schema", tsgen.Spec{Schema: &state.Schema{Kinds: []state.KindSpec{{Kind: 0, Name: "x"}}}}, "kind 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tsgen.Generate(tt.spec); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Generate: %v, want an error with %q", err, tt.err)
			}
		})
	}
}

// CheckFile says whether a committed file is stale, and rewrites it when asked.
func TestCheckFileFindsAStaleFile(t *testing.T) {
	spec := tsgen.Spec{Game: "check", Schema: &state.Schema{Kinds: []state.KindSpec{
		{Kind: 1, Name: "dot", Fields: []state.Field{{Name: "x", Type: state.Int}}},
	}}}
	path := filepath.Join(t.TempDir(), "types.d.ts")
	if err := tsgen.CheckFile(spec, path, false); err == nil {
		t.Fatal("a missing file passed")
	}
	if err := tsgen.CheckFile(spec, path, true); err != nil {
		t.Fatalf("written: %v", err)
	}
	if err := tsgen.CheckFile(spec, path, false); err != nil {
		t.Fatalf("fresh file: %v", err)
	}
	spec.Schema.Kinds[0].Fields = append(spec.Schema.Kinds[0].Fields, state.Field{Name: "y", Type: state.Int})
	if err := tsgen.CheckFile(spec, path, false); !errors.Is(err, tsgen.ErrStale) {
		t.Fatalf("a field added in Go and not regenerated: %v, want ErrStale", err)
	}
}
