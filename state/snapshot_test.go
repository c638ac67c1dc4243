package state

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestBuilderSortsEntitiesByID(t *testing.T) {
	s := build(3, ent{9, 1, vals{9}}, ent{2, 1, vals{2}}, ent{5, 2, vals{5, "five"}}, ent{1, 0, nil})
	if s.Tick() != 3 || s.Len() != 4 {
		t.Fatalf("tick %d len %d, want 3 and 4", s.Tick(), s.Len())
	}
	got := SnapshotEntities(s, nil)
	want := []MirrorEntity{
		{ID: 1, Kind: 0},
		{ID: 2, Kind: 1, Fields: []msgpack.RawMessage{{0x02}}},
		{ID: 5, Kind: 2, Fields: []msgpack.RawMessage{{0x05}, {0xa4, 'f', 'i', 'v', 'e'}}},
		{ID: 9, Kind: 1, Fields: []msgpack.RawMessage{{0x09}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entities = %v, want %v", got, want)
	}
}

func TestBuilderPanicsOnMisuse(t *testing.T) {
	tests := []struct {
		name string
		do   func(b *Builder)
		want string // in the panic message
	}{
		{"duplicate id", func(b *Builder) {
			b.Begin(4)
			b.Add(7, 1, vals{1})
			b.Add(3, 1, nil)
			b.Add(7, 2, vals{1})
			b.Finish()
		}, "entity id 7 added twice to the snapshot of tick 4"},
		{"id 0", func(b *Builder) { b.Begin(1); b.Add(0, 0, nil) }, "id 0 is invalid"},
		{"tick 0", func(b *Builder) { b.Begin(0) }, "tick 0 is reserved"},
		{"add before begin", func(b *Builder) { b.Add(1, 0, nil) }, "before Begin"},
		{"finish before begin", func(b *Builder) { b.Finish() }, "before Begin"},
		{"finish twice", func(b *Builder) { b.Begin(1); b.Finish(); b.Finish() }, "before Begin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.Contains(msg, tt.want) {
					t.Errorf("panic %v, want one containing %q", r, tt.want)
				}
			}()
			tt.do(new(Builder))
		})
	}
}

func TestBuilderBeginAgainDiscardsWhatWasAdded(t *testing.T) {
	var b Builder
	b.Begin(1)
	b.Add(1, 0, vals{1})
	b.Begin(2)
	b.Add(2, 0, vals{2})
	s := b.Finish()
	if got := SnapshotEntities(s, nil); s.Tick() != 2 || len(got) != 1 || got[0].ID != 2 {
		t.Errorf("tick %d entities %v, want tick 2 with entity 2 only", s.Tick(), got)
	}
}

func TestSnapshotIsImmutableAfterFinish(t *testing.T) {
	var b Builder
	b.Begin(1)
	b.Add(1, 0, vals{"one"})
	s1 := b.Finish()
	before := SnapshotEntities(s1, nil)
	b.Begin(2)
	b.Add(1, 0, vals{"two"})
	b.Finish()
	if after := SnapshotEntities(s1, nil); !reflect.DeepEqual(before, after) {
		t.Errorf("building tick 2 changed tick 1: %v then %v", before, after)
	}
}

func TestSnapshotEntitiesAppliesFilterAndCopies(t *testing.T) {
	r := NewRing(1)
	b := r.Builder()
	b.Begin(1)
	for id := ID(1); id <= 6; id++ {
		b.Add(id, uint8(id%2), vals{int(id)})
	}
	s := b.Finish()
	r.Push(s)
	odd := func(id ID, kind uint8) bool { return kind == 1 }
	got := SnapshotEntities(s, odd)
	if len(got) != 3 || got[0].ID != 1 || got[1].ID != 3 || got[2].ID != 5 {
		t.Fatalf("filtered entities %v, want ids 1, 3, 5", got)
	}
	// Recycle s: the copy must not change.
	b.Begin(2)
	for id := ID(1); id <= 6; id++ {
		b.Add(id, 0, vals{100})
	}
	r.Push(b.Finish())
	b.Begin(3)
	for id := ID(1); id <= 6; id++ {
		b.Add(id, 0, vals{101})
	}
	if b.cur != s {
		t.Fatal("the ring did not recycle the snapshot; the test needs it to")
	}
	if !bytes.Equal(got[1].Fields[0], []byte{3}) {
		t.Errorf("SnapshotEntities result changed with the recycled snapshot: % x", got[1].Fields[0])
	}
	if empty := SnapshotEntities(build(1), nil); empty != nil {
		t.Errorf("SnapshotEntities of an empty snapshot = %#v, want nil", empty)
	}
}

func TestBuilderFromRingDoesNotAllocate(t *testing.T) {
	sc := newScene(1)
	r := NewRing(4)
	for range 8 { // warm up: fill the ring and grow the buffers
		sc.step()
		r.Push(sc.build(r.Builder()))
	}
	allocs := testing.AllocsPerRun(100, func() {
		sc.step()
		r.Push(sc.build(r.Builder()))
	})
	if allocs != 0 {
		t.Errorf("Begin/Add/Finish/Push allocated %.1f times per snapshot, want 0", allocs)
	}
}

// BenchmarkBuilder64 builds the 64-entity shooter scene of scene_test.go (32 players of 10
// fields, 32 projectiles of 5) into a ring, as a room does at each snapshot tick. The scene
// is not stepped between iterations, so only building is measured.
func BenchmarkBuilder64(b *testing.B) {
	sc := newScene(1)
	r := NewRing(DefaultRingSize)
	for range DefaultRingSize + 1 {
		sc.step()
		r.Push(sc.build(r.Builder()))
	}
	b.ReportAllocs()
	for b.Loop() {
		sc.tick++
		r.Push(sc.build(r.Builder()))
	}
}

// BenchmarkBuilderStandalone64 is BenchmarkBuilder64 with a Builder that is not from a
// ring, which makes a new Snapshot at every Begin: the cost the ring saves.
func BenchmarkBuilderStandalone64(b *testing.B) {
	sc := newScene(1)
	var bl Builder
	b.ReportAllocs()
	for b.Loop() {
		sc.tick++
		sc.build(&bl)
	}
}

func ExampleBuilder() {
	r := NewRing(0)
	b := r.Builder()
	b.Begin(1)
	b.Add(2, 0, vals{float32(1.5), 100})
	b.Add(1, 0, vals{float32(-3), 90})
	s := b.Finish()
	r.Push(s)
	for _, e := range SnapshotEntities(r.Latest(), nil) {
		var x float32
		var hp int
		_ = e.Decode(0, &x)
		_ = e.Decode(1, &hp)
		fmt.Println(e.ID, x, hp)
	}
	// Output:
	// 1 -3 90
	// 2 1.5 100
}
