package state

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestMirrorAppliesFullSnapshotThenDeltas(t *testing.T) {
	s1 := build(1, ent{1, 1, vals{float32(1), "ann", 100}}, ent{2, 2, vals{float32(5)}})
	s2 := build(2, ent{1, 1, vals{float32(2), "ann", 90}}, ent{3, 2, vals{float32(7)}})
	s3 := build(3, ent{1, 3, vals{true}}, ent{3, 2, vals{float32(8)}})
	m := NewMirror(0)
	if m.Tick() != 0 || m.Entities() != nil {
		t.Fatal("a new mirror is not empty")
	}
	if tick := mustApply(t, m, AppendDelta(nil, nil, s1, nil)); tick != 1 {
		t.Fatalf("Apply returned tick %d, want 1", tick)
	}
	sameState(t, m, s1, nil)
	mustApply(t, m, AppendDelta(nil, s1, s2, nil))
	sameState(t, m, s2, nil)
	mustApply(t, m, AppendDelta(nil, s2, s3, nil))
	sameState(t, m, s3, nil)
	if m.Tick() != 3 {
		t.Errorf("Tick() = %d, want 3", m.Tick())
	}
	e, ok := m.Entity(3)
	var x float32
	if !ok || e.Decode(0, &x) != nil || x != 8 {
		t.Errorf("Entity(3) = %v, %v; field 0 = %v", e, ok, x)
	}
	if _, ok := m.Entity(2); ok {
		t.Error("Entity(2) found a removed entity")
	}
}

func TestMirrorAppliesDeltaAgainstAnOlderBaseline(t *testing.T) {
	snaps := sceneSnapshots(10)
	m := NewMirror(4)
	mustApply(t, m, AppendDelta(nil, nil, snaps[0], nil))
	for i := 1; i <= 3; i++ {
		mustApply(t, m, AppendDelta(nil, snaps[i-1], snaps[i], nil))
	}
	// The client acknowledged snaps[0] only; the server encodes against it.
	mustApply(t, m, AppendDelta(nil, snaps[0], snaps[4], nil))
	sameState(t, m, snaps[4], nil)
	// Now the mirror holds ticks of snaps[1..4]: snaps[0] has left its history.
	_, err := m.Apply(AppendDelta(nil, snaps[0], snaps[5], nil))
	if !errors.Is(err, ErrUnknownBaseline) {
		t.Errorf("delta against a dropped baseline: %v, want ErrUnknownBaseline", err)
	}
	mustApply(t, m, AppendDelta(nil, snaps[1], snaps[5], nil))
	sameState(t, m, snaps[5], nil)
}

func TestMirrorEntitiesIsACopy(t *testing.T) {
	m := NewMirror(2)
	mustApply(t, m, AppendDelta(nil, nil, build(1, ent{1, 0, nil}, ent{2, 0, nil}), nil))
	es := m.Entities()
	es[0], es[1] = es[1], es[0]
	if got := m.Entities(); got[0].ID != 1 {
		t.Error("reordering the result of Entities changed the mirror")
	}
}

func TestMirrorEntityIsACopy(t *testing.T) {
	m := NewMirror(2)
	mustApply(t, m, AppendDelta(nil, nil, build(1, ent{1, 0, vals{"first"}}), nil))
	e, _ := m.Entity(1)
	for tick := Tick(2); tick <= 6; tick++ { // recycle every state the mirror had
		mustApply(t, m, AppendDelta(nil, nil, build(tick, ent{1, 0, vals{"later"}}), nil))
	}
	var s string
	if err := e.Decode(0, &s); err != nil || s != "first" {
		t.Errorf("an entity taken at tick 1 now reads %q, %v", s, err)
	}
}

func TestMirrorApplyDoesNotAllocate(t *testing.T) {
	snaps := sceneSnapshots(40)
	m := NewMirror(4)
	mustApply(t, m, AppendDelta(nil, nil, snaps[0], nil))
	bodies := make([][]byte, len(snaps))
	for i := 1; i < len(snaps); i++ {
		bodies[i] = AppendDelta(nil, snaps[i-1], snaps[i], nil)
	}
	for i := 1; i <= 8; i++ { // warm up: fill the history
		mustApply(t, m, bodies[i])
	}
	i := 9
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := m.Apply(bodies[i]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Apply allocated %.1f times per body, want 0", allocs)
	}
	sameState(t, m, snaps[i-1], nil)
}

func TestMirrorEntityDecodeChecksTheIndex(t *testing.T) {
	m := NewMirror(1)
	mustApply(t, m, AppendDelta(nil, nil, build(1, ent{1, 0, vals{"x"}}), nil))
	e, _ := m.Entity(1)
	var s string
	if err := e.Decode(0, &s); err != nil || s != "x" {
		t.Errorf("Decode(0) = %q, %v", s, err)
	}
	for _, i := range []int{-1, 1} {
		if err := e.Decode(i, &s); err == nil {
			t.Errorf("Decode(%d) of a 1-field entity succeeded", i)
		}
	}
	var n int
	if err := e.Decode(0, &n); err == nil {
		t.Error("Decode of a string into an int succeeded")
	}
}

// TestMirrorRejects holds bodies that a mirror holding tick 5 (entities 1 and 2, with 2
// fields each) must refuse, each named after the rule it breaks.
func TestMirrorRejects(t *testing.T) {
	base := build(5, ent{1, 0, vals{1, 2}}, ent{2, 0, vals{1, 2}})
	tests := []struct {
		name string
		body string
		want error
	}{
		{"empty body", "", ErrMalformed},
		{"body not an array", "a1 78", ErrMalformed},
		{"body of 4 elements", "94 06 05 90 90", ErrMalformed},
		{"body of 6 elements", "96 06 05 90 90 90 90", ErrMalformed},
		{"tick 0", "95 00 00 90 90 90", ErrMalformed},
		{"tick above 32 bits", "95 cf 00 00 00 01 00 00 00 00 05 90 90 90", ErrMalformed},
		{"negative tick", "95 ff 05 90 90 90", ErrMalformed},
		{"baseline not below tick", "95 06 06 90 90 90", ErrMalformed},
		{"tick not newer", "95 05 00 90 90 90", ErrStaleTick},
		{"unknown baseline", "95 07 04 90 90 90", ErrUnknownBaseline},
		{"trailing byte", "95 06 05 90 90 90 00", ErrMalformed},
		{"truncated", "95 06 05 90 90", ErrMalformed},
		{"added entry of 2", "95 06 05 91 92 03 00 90 90", ErrMalformed},
		{"added id 0", "95 06 05 91 93 00 00 90 90 90", ErrMalformed},
		{"added kind above 255", "95 06 05 91 93 03 cd 01 00 90 90 90", ErrMalformed},
		{"added fields not an array", "95 06 05 91 93 03 00 01 90 90", ErrMalformed},
		{"added field truncated", "95 06 05 91 93 03 00 91 a2 61 90 90", ErrMalformed},
		{"added field with reserved code", "95 06 05 91 93 03 00 91 c1 90 90", ErrMalformed},
		{"added ids descending", "95 06 05 92 93 04 00 90 93 03 00 90 90 90", ErrMalformed},
		{"added id twice", "95 06 05 92 93 03 00 90 93 03 00 90 90 90", ErrMalformed},
		{"removed unknown id", "95 06 05 90 91 03 90", ErrMalformed},
		{"removed id twice", "95 06 05 90 92 01 01 90", ErrMalformed},
		{"removed not an id", "95 06 05 90 91 a1 61 90", ErrMalformed},
		{"removed and added", "95 06 05 91 93 01 00 90 91 01 90", ErrMalformed},
		{"changed unknown id", "95 06 05 90 90 91 93 03 01 05", ErrMalformed},
		{"changed mask 0", "95 06 05 90 90 91 92 01 00", ErrMalformed},
		{"changed mask names 2 fields, entry has 1", "95 06 05 90 90 91 93 01 03 05", ErrMalformed},
		{"changed mask beyond the fields", "95 06 05 90 90 91 93 01 04 05", ErrMalformed},
		{"changed entry of 1", "95 06 05 90 90 91 91 01", ErrMalformed},
		{"changed and removed", "95 06 05 90 91 01 91 93 01 01 05", ErrMalformed},
		{"changed and added", "95 06 05 91 93 01 00 90 90 91 93 01 01 05", ErrMalformed},
		{"changed ids descending", "95 06 05 90 90 92 93 02 01 05 93 01 01 05", ErrMalformed},
		{"array longer than the body", "95 06 05 dd ff ff ff ff 90 90", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMirror(4)
			mustApply(t, m, AppendDelta(nil, nil, base, nil))
			before := m.Entities()
			tick, err := m.Apply(unhex(t, tt.body))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Apply(%s) = %d, %v; want %v", tt.body, tick, err, tt.want)
			}
			if m.Tick() != 5 || !reflect.DeepEqual(m.Entities(), before) {
				t.Error("a refused body changed the mirror")
			}
		})
	}
}

// TestMirrorAcceptsLiberalIntegerFormats checks that a body from another encoder, which
// writes integers in larger formats than needed, applies.
func TestMirrorAcceptsLiberalIntegerFormats(t *testing.T) {
	m := NewMirror(2)
	mustApply(t, m, unhex(t, "dc 00 05 cd 00 01 d0 00 dd 00 00 00 01 93 ce 00 00 00 07 cc 02 91 c3 90 90"))
	e, ok := m.Entity(7)
	if !ok || e.Kind != 2 || len(e.Fields) != 1 || !bytes.Equal(e.Fields[0], []byte{mpTrue}) {
		t.Errorf("entity 7 = %v, %v", e, ok)
	}
}

func TestMirrorForgetsStatesBeyondN(t *testing.T) {
	m := NewMirror(2)
	for tick := Tick(1); tick <= 3; tick++ {
		mustApply(t, m, AppendDelta(nil, nil, build(tick), nil))
	}
	if m.states.Len() != 2 || m.states.Get(1) != nil || m.states.Get(2) == nil {
		t.Errorf("mirror holds %d states, want 2, ticks 2 and 3", m.states.Len())
	}
}

// FuzzMirrorApply feeds arbitrary bytes to a mirror that is empty and to one that holds a
// state, as a delta against it would find. Apply must return an error or a tick, never
// panic, and a refused body must leave the state as it was.
func FuzzMirrorApply(f *testing.F) {
	base := build(5, ent{1, 0, vals{1, "a"}}, ent{2, 1, vals{float32(2)}}, ent{9, 2, nil})
	next := build(6, ent{1, 0, vals{2, "a"}}, ent{3, 1, vals{[]int{1, 2}}}, ent{9, 3, nil})
	f.Add(AppendDelta(nil, nil, base, nil))
	f.Add(AppendDelta(nil, base, next, nil))
	f.Add([]byte{0x95, 0x06, 0x05, 0x90, 0x90, 0x90})
	f.Fuzz(func(t *testing.T, body []byte) {
		empty := NewMirror(2)
		if tick, err := empty.Apply(body); err == nil && tick != empty.Tick() {
			t.Fatalf("Apply returned tick %d, mirror is at %d", tick, empty.Tick())
		}
		m := NewMirror(2)
		if _, err := m.Apply(AppendDelta(nil, nil, base, nil)); err != nil {
			t.Fatal(err)
		}
		before := m.Entities()
		if _, err := m.Apply(body); err != nil {
			if !reflect.DeepEqual(m.Entities(), before) || m.Tick() != 5 {
				t.Fatalf("refused body (%v) changed the mirror", err)
			}
			return
		}
		for i, e := range m.Entities() {
			if e.ID == 0 || (i > 0 && e.ID <= m.Entities()[i-1].ID) {
				t.Fatalf("mirror entities not sorted by id: %v", m.Entities())
			}
		}
	})
}

// BenchmarkMirrorApply64Moving applies the deltas of the 64-entity shooter scene
// (scene_test.go), one snapshot after the other, as each Go bot of the load generator does
// 30 times a second.
func BenchmarkMirrorApply64Moving(b *testing.B) {
	snaps := sceneSnapshots(300)
	full := AppendDelta(nil, nil, snaps[0], nil)
	bodies := make([][]byte, len(snaps)-1)
	for i := range bodies {
		bodies[i] = AppendDelta(nil, snaps[i], snaps[i+1], nil)
	}
	m := NewMirror(4)
	mustApply(b, m, full)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(bodies) {
			m = NewMirror(4)
			mustApply(b, m, full)
			i = 0
		}
		if _, err := m.Apply(bodies[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
