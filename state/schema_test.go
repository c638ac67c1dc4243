package state

import (
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

var unitSchema = &Schema{
	Room: []Field{{"clock", Uint}},
	Kinds: []KindSpec{
		{Kind: 1, Name: "unit", Fields: []Field{{"x", Float}, {"hp", Int}}},
		{Kind: 2, Name: "tag", Fields: []Field{{"label", String}}},
	},
}

func TestSchemaValidate(t *testing.T) {
	f := func(name string, ty FieldType) Field { return Field{name, ty} }
	many := make([]Field, MaxFields+1)
	for i := range many {
		many[i] = f("f"+strings.Repeat("x", i), Int)
	}
	manyEvents := make([]string, MaxEvents+1)
	for i := range manyEvents {
		manyEvents[i] = fmt.Sprint("e", i)
	}
	tests := []struct {
		name   string
		schema Schema
		err    string // "" valid, else a part of the message
	}{
		{"empty", Schema{}, ""},
		{"units", *unitSchema, ""},
		{"room only", Schema{Room: []Field{f("round", Uint), f("_t2", Any)}}, ""},
		{"kind 255", Schema{Kinds: []KindSpec{{Kind: 255, Name: "last"}}}, ""},
		{"kind 0 is the room's", Schema{Kinds: []KindSpec{{Kind: 0, Name: "board"}}}, "kind 0 is the room state's"},
		{"kind twice", Schema{Kinds: []KindSpec{{Kind: 1, Name: "a"}, {Kind: 1, Name: "b"}}}, "declared twice"},
		{"kind name twice", Schema{Kinds: []KindSpec{{Kind: 1, Name: "a"}, {Kind: 2, Name: "a"}}}, `two kinds are named "a"`},
		{"kind name empty", Schema{Kinds: []KindSpec{{Kind: 1}}}, "not an identifier"},
		{"kind name with a dash", Schema{Kinds: []KindSpec{{Kind: 1, Name: "a-b"}}}, "not an identifier"},
		{"kind name starting with a digit", Schema{Kinds: []KindSpec{{Kind: 1, Name: "1a"}}}, "not an identifier"},
		{"field name twice", Schema{Kinds: []KindSpec{{Kind: 1, Name: "a", Fields: []Field{f("x", Int), f("x", Float)}}}}, `two fields are named "x"`},
		{"field name not ASCII", Schema{Kinds: []KindSpec{{Kind: 1, Name: "a", Fields: []Field{f("é", Int)}}}}, "not an identifier"},
		{"field without a type", Schema{Kinds: []KindSpec{{Kind: 1, Name: "a", Fields: []Field{{Name: "x"}}}}}, "no valid type"},
		{"field of an unknown type", Schema{Kinds: []KindSpec{{Kind: 1, Name: "a", Fields: []Field{f("x", Any+1)}}}}, "no valid type"},
		{"room field twice", Schema{Room: []Field{f("t", Int), f("t", Int)}}, `room state: two fields are named "t"`},
		{"too many fields", Schema{Kinds: []KindSpec{{Kind: 1, Name: "a", Fields: many}}}, "256 fields, at most 255"},
		{"events", Schema{Events: []string{"shot", "boom", "game over"}}, ""},
		{"event twice", Schema{Events: []string{"shot", "shot"}}, `event "shot" listed twice`},
		{"event without a name", Schema{Events: []string{"shot", ""}}, "event 1 has no name"},
		{"too many events", Schema{Events: manyEvents}, "129 event names, at most 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.schema.Validate()
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("Validate: %v, want nil", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrSchema)):
				t.Fatalf("Validate: %v, want ErrSchema with %q", err, tt.err)
			}
		})
	}
}

// TestSchemaWireForm pins the bytes of the example in PROTOCOL.md ("Schema").
func TestSchemaWireForm(t *testing.T) {
	got := hex.EncodeToString(unitSchema.AppendMsgpack(nil))
	want := strings.Join([]string{
		"93", // 3 kinds
		"93 00 a4726f6f6d 91 92 a5636c6f636b a475696e74",              // [0, "room", [["clock", "uint"]]]
		"93 01 a4756e6974 92 92 a178 a5666c6f6174 92 a26870 a3696e74", // [1, "unit", [["x", "float"], ["hp", "int"]]]
		"93 02 a3746167 91 92 a56c6162656c a6737472696e67",            // [2, "tag", [["label", "string"]]]
	}, "")
	if want = strings.ReplaceAll(want, " ", ""); got != want {
		t.Fatalf("wire form\n got %s\nwant %s", got, want)
	}
	var decoded []any
	if err := msgpack.Unmarshal(unitSchema.AppendMsgpack(nil), &decoded); err != nil {
		t.Fatal(err)
	}
	wantDecoded := []any{
		[]any{int8(0), "room", []any{[]any{"clock", "uint"}}},
		[]any{int8(1), "unit", []any{[]any{"x", "float"}, []any{"hp", "int"}}},
		[]any{int8(2), "tag", []any{[]any{"label", "string"}}},
	}
	if !reflect.DeepEqual(decoded, wantDecoded) {
		t.Fatalf("decoded %#v\nwant %#v", decoded, wantDecoded)
	}
	if got := hex.EncodeToString((&Schema{}).AppendMsgpack(nil)); got != "90" {
		t.Fatalf("empty schema: %s, want 90", got)
	}
}

func TestSchemaKind(t *testing.T) {
	if k, ok := unitSchema.Kind(2); !ok || k.Name != "tag" {
		t.Fatalf("Kind(2) = %v, %v", k, ok)
	}
	if k, ok := unitSchema.Kind(RoomKind); !ok || k.Name != "room" || len(k.Fields) != 1 {
		t.Fatalf("Kind(RoomKind) = %v, %v", k, ok)
	}
	if _, ok := unitSchema.Kind(3); ok {
		t.Fatal("Kind(3) found")
	}
	if _, ok := (&Schema{}).Kind(RoomKind); ok {
		t.Fatal("a schema without room fields declares the room kind")
	}
}

// TestBuilderCheckSchema: every entity whose number of fields differs from its kind's
// declaration is reported, with what it wrote and what was declared, and nothing else.
func TestBuilderCheckSchema(t *testing.T) {
	tests := []struct {
		name string
		add  func(b *Builder)
		want []Mismatch
	}{
		{"as declared", func(b *Builder) {
			b.Room(vals{uint(3)})
			b.Add(1, 1, vals{float32(1), 100})
			b.Add(2, 2, vals{"x"})
		}, nil},
		{"one field short", func(b *Builder) { b.Add(1, 1, vals{float32(1)}) },
			[]Mismatch{{ID: 1, Kind: 1, Fields: 1, Want: 2}}},
		{"one field more", func(b *Builder) { b.Add(5, 2, vals{"x", "y"}) },
			[]Mismatch{{ID: 5, Kind: 2, Fields: 2, Want: 1}}},
		{"nil entity", func(b *Builder) { b.Add(5, 2, nil) },
			[]Mismatch{{ID: 5, Kind: 2, Fields: 0, Want: 1}}},
		{"undeclared kind", func(b *Builder) { b.Add(7, 9, vals{1}) },
			[]Mismatch{{ID: 7, Kind: 9, Fields: 1, Want: -1}}},
		{"room state short", func(b *Builder) { b.Room(nil) },
			[]Mismatch{{ID: RoomID, Kind: RoomKind, Fields: 0, Want: 1}}},
		{"at most eight", func(b *Builder) {
			for i := range 20 {
				b.Add(ID(i+1), 1, vals{1})
			}
		}, func() (m []Mismatch) {
			for i := range 8 {
				m = append(m, Mismatch{ID: ID(i + 1), Kind: 1, Fields: 1, Want: 2})
			}
			return m
		}()},
	}
	r := NewRing(4)
	b := r.Builder()
	b.CheckSchema(unitSchema)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.Begin(Tick(i + 1))
			tt.add(b)
			got := b.Mismatches()
			r.Push(b.Finish())
			if len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
				t.Fatalf("mismatches %v, want %v", got, tt.want)
			}
		})
	}
	b.CheckSchema(nil)
	b.Begin(100)
	b.Add(1, 1, nil)
	if m := b.Mismatches(); len(m) != 0 {
		t.Fatalf("unchecked builder reported %v", m)
	}
}

func TestBuilderAddRefusesReservedIDs(t *testing.T) {
	for _, id := range []ID{0, MaxGameID + 1, RoomID} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Add(%d) did not panic", id)
				}
			}()
			var b Builder
			b.Begin(1)
			b.Add(id, 1, nil)
		}()
	}
	var b Builder
	b.Begin(1)
	b.Add(MaxGameID, 1, nil) // the last of the game's
}

// TestRoomStateIgnoresFilters: a filter that lets nothing through still lets the room state
// through, in full snapshots and in deltas.
func TestRoomStateIgnoresFilters(t *testing.T) {
	none := Filter(func(ID, uint8) bool { return false })
	s1 := build(1, ent{1, 1, vals{1}})
	var b Builder
	b.Begin(2)
	b.Add(1, 1, vals{1})
	b.Room(vals{"round 1"})
	s2 := b.Finish()
	got := SnapshotEntities(s2, none)
	if len(got) != 1 || got[0].ID != RoomID || got[0].Kind != RoomKind {
		t.Fatalf("through a closed filter: %v, want the room state alone", got)
	}
	m := NewMirror(4)
	if _, err := m.Apply(AppendDelta(nil, nil, s1, none)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(AppendDelta(nil, s1, s2, none)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Entities(), got) {
		t.Fatalf("mirror %v, want %v", m.Entities(), got)
	}
}
