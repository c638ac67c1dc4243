package state

import (
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

// vals is a test entity: each element is written with the Fields method of its type.
type vals []any

func (v vals) AppendFields(f *Fields) {
	for _, x := range v {
		switch x := x.(type) {
		case nil:
			f.Nil()
		case int:
			f.Int(int64(x))
		case int64:
			f.Int(x)
		case uint:
			f.Uint(uint64(x))
		case uint64:
			f.Uint(x)
		case float32:
			f.Float32(x)
		case float64:
			f.Float64(x)
		case bool:
			f.Bool(x)
		case string:
			f.String(x)
		case []byte:
			f.Bytes(x)
		default:
			if err := f.Value(x); err != nil {
				panic(err)
			}
		}
	}
}

// ent is one entity of a test snapshot.
type ent struct {
	id   ID
	kind uint8
	v    vals
}

// build makes a snapshot with a standalone builder.
func build(tick Tick, ents ...ent) *Snapshot {
	var b Builder
	b.Begin(tick)
	for _, e := range ents {
		b.Add(e.id, e.kind, e.v)
	}
	return b.Finish()
}

// unhex decodes hex written with spaces, as in the tables.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// spaced formats b as hex bytes separated by spaces.
func spaced(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(hex.EncodeToString([]byte{c}))
	}
	return sb.String()
}

// mustApply applies body and fails the test on error.
func mustApply(t testing.TB, m *Mirror, body []byte) Tick {
	t.Helper()
	tick, err := m.Apply(body)
	if err != nil {
		t.Fatalf("Apply(% x): %v", body, err)
	}
	return tick
}

// sameState fails the test if the mirror does not hold what s shows through filter.
func sameState(t testing.TB, m *Mirror, s *Snapshot, filter Filter) {
	t.Helper()
	want := SnapshotEntities(s, filter)
	got := m.Entities()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mirror at tick %d differs from snapshot %d:\n got  %v\n want %v", m.Tick(), s.Tick(), got, want)
	}
}
