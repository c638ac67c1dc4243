package state

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// TestAppendDeltaV2Bytes checks the rallypoint.v2 values byte by byte (PROTOCOL.md, "The v2
// snapshot"), and that a mirror applies them to the snapshot they were made from.
func TestAppendDeltaV2Bytes(t *testing.T) {
	tests := []struct {
		name     string
		from, to *Snapshot
		want     string
		n        int // values written: 3 without added and removed, 4 without removed
	}{
		{
			name: "full snapshot: offset 0, added as in v1",
			to:   build(7, ent{3, 0, nil}, ent{1, 2, vals{float32(1.5), 100}}),
			want: "07 00 90 92 93 01 02 92 ca 3f c0 00 00 64 93 03 00 90", n: 4,
		},
		{
			name: "offset is tick minus baseline",
			from: build(300, ent{1, 0, vals{"a"}}),
			to:   build(303, ent{1, 0, vals{"b"}}),
			want: "cd 01 2f 03 93 01 01 a1 62", n: 3,
		},
		{
			name: "integers that were integers go as differences",
			from: build(10, ent{1, 0, vals{1000, "a", -5}}),
			to:   build(12, ent{1, 0, vals{1003, "b", -7}}),
			want: "0c 02 95 01 07 03 a1 62 fe", n: 3,
		},
		{
			name: "a difference may need more bytes than the value",
			from: build(1, ent{1, 0, vals{100}}),
			to:   build(2, ent{1, 0, vals{-100}}),
			want: "02 01 93 01 01 d1 ff 38", n: 3,
		},
		{
			name: "changed entries follow each other in one array",
			from: build(1, ent{1, 0, vals{1, 2}}, ent{2, 0, vals{5}}),
			to:   build(2, ent{1, 0, vals{1, 4}}, ent{2, 0, vals{9}}),
			want: "02 01 96 01 02 02 02 01 04", n: 3,
		},
		{
			name: "an integer that becomes a float goes as it is",
			from: build(1, ent{1, 0, vals{1}}),
			to:   build(2, ent{1, 0, vals{float32(1.5)}}),
			want: "02 01 93 01 01 ca 3f c0 00 00", n: 3,
		},
		{
			name: "a float that becomes an integer goes as it is",
			from: build(1, ent{1, 0, vals{float32(1.5)}}),
			to:   build(2, ent{1, 0, vals{2}}),
			want: "02 01 93 01 01 02", n: 3,
		},
		{
			name: "nil that becomes an integer goes as it is",
			from: build(1, ent{1, 0, vals{nil}}),
			to:   build(2, ent{1, 0, vals{7}}),
			want: "02 01 93 01 01 07", n: 3,
		},
		{
			name: "unsigned integers above int64 send the entity whole",
			from: build(1, ent{1, 0, vals{uint64(1 << 63), 1}}),
			to:   build(2, ent{1, 0, vals{uint64(1<<63 + 1), 1}}),
			want: "02 01 90 91 93 01 00 92 cf 80 00 00 00 00 00 00 01 01", n: 4,
		},
		{
			name: "a difference beyond int64 sends the entity whole",
			from: build(1, ent{1, 0, vals{int64(math.MinInt64)}}),
			to:   build(2, ent{1, 0, vals{int64(math.MaxInt64)}}),
			want: "02 01 90 91 93 01 00 91 cf 7f ff ff ff ff ff ff ff", n: 4,
		},
		{
			name: "a wide integer that did not change does not send the entity whole",
			from: build(1, ent{1, 0, vals{uint64(1 << 63), 1}}),
			to:   build(2, ent{1, 0, vals{uint64(1 << 63), 2}}),
			want: "02 01 93 01 02 01", n: 3,
		},
		{
			name: "removed goes last, with an empty added before it",
			from: build(1, ent{1, 0, vals{1}}, ent{2, 0, vals{1}}),
			to:   build(2, ent{1, 0, vals{1}}),
			want: "02 01 90 90 91 02", n: 5,
		},
		{
			name: "added and removed",
			from: build(1, ent{1, 0, vals{1}}, ent{2, 0, vals{1}}),
			to:   build(2, ent{1, 0, vals{2}}, ent{3, 4, nil}),
			want: "02 01 93 01 01 01 91 93 03 04 90 91 02", n: 5,
		},
		{
			name: "a difference as wide as int64 allows is sent",
			from: build(1, ent{1, 0, vals{int64(0)}}),
			to:   build(2, ent{1, 0, vals{int64(math.MaxInt64)}}),
			want: "02 01 93 01 01 cf 7f ff ff ff ff ff ff ff", n: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := AppendDeltaV2([]byte{0xee}, tt.from, nil, tt.to, nil)
			if n != tt.n {
				t.Errorf("AppendDeltaV2 wrote %d values, want %d", n, tt.n)
			}
			if got[0] != 0xee {
				t.Fatal("AppendDeltaV2 overwrote dst")
			}
			got = got[1:]
			if want := unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("values\n got  %s\n want %s", spaced(got), spaced(want))
			}
			var v []any
			if err := msgpack.Unmarshal(append([]byte{0x90 | byte(n)}, got...), &v); err != nil || len(v) != n {
				t.Errorf("msgpack cannot decode the %d values (%v): %v", n, v, err)
			}
			m := NewMirror(2)
			if tt.from != nil {
				mustApply(t, m, AppendDelta(nil, nil, tt.from, nil))
			}
			if _, err := m.ApplyV2(got); err != nil {
				t.Fatalf("ApplyV2: %v", err)
			}
			sameState(t, m, tt.to, nil)
		})
	}
}

// v2Values returns AppendDeltaV2's values from from to to, without filters.
func v2Values(from, to *Snapshot) []byte {
	b, _ := AppendDeltaV2(nil, from, nil, to, nil)
	return b
}

// TestMirrorApplyV2Rejects holds ApplyV2 to Apply's promise: a body it refuses leaves the
// mirror as it was.
func TestMirrorApplyV2Rejects(t *testing.T) {
	base := build(5, ent{1, 0, vals{1, 2}}, ent{2, 0, vals{uint64(math.MaxUint64), int64(math.MinInt64)}})
	tests := []struct {
		name string
		vals string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"tick 0", "00 00 90", ErrMalformed},
		{"tick above 32 bits", "cf 00 00 00 01 00 00 00 00 00 90", ErrMalformed},
		{"offset missing", "06", ErrMalformed},
		{"offset not an integer", "06 c0 90", ErrMalformed},
		{"offset equal to tick", "06 06 90", ErrMalformed},
		{"changed missing", "06 01", ErrMalformed},
		{"tick not newer", "05 00 90", ErrStaleTick},
		{"unknown baseline", "07 03 90", ErrUnknownBaseline},
		{"v1 body", "95 06 01 90 90 90", ErrMalformed},
		{"v1 order", "06 01 90 90 93 01 01 01", ErrMalformed},
		{"trailing byte", "06 01 90 90 90 00", ErrMalformed},
		{"added not an array", "06 01 90 01", ErrMalformed},
		{"removed not an array", "06 01 90 90 01", ErrMalformed},
		{"removed unknown id", "06 01 90 90 91 03", ErrMalformed},
		{"changed holds only an id", "06 01 91 01", ErrMalformed},
		{"changed mask 0", "06 01 92 01 00", ErrMalformed},
		{"changed mask names more values than follow", "06 01 93 01 03 05", ErrMalformed},
		{"changed ids descending", "06 01 96 02 01 05 01 01 05", ErrMalformed},
		{"changed unknown id", "06 01 93 03 01 05", ErrMalformed},
		{"difference above int64", "06 01 93 01 01 cf 80 00 00 00 00 00 00 00", ErrMalformed},
		{"sum above uint64", "06 01 93 02 01 01", ErrMalformed},
		{"sum below int64", "06 01 93 02 02 ff", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMirror(4)
			mustApply(t, m, AppendDelta(nil, nil, base, nil))
			before := m.Entities()
			tick, err := m.ApplyV2(unhex(t, tt.vals))
			if !errors.Is(err, tt.want) {
				t.Fatalf("ApplyV2(%s) = %d, %v; want %v", tt.vals, tick, err, tt.want)
			}
			if m.Tick() != 5 || !reflect.DeepEqual(m.Entities(), before) {
				t.Error("a refused body changed the mirror")
			}
		})
	}
}

// TestMirrorSwitchesBetweenWires applies v1 and v2 bodies in turn to one mirror, as a client
// that resumes with the other wire does: the states either keeps are the same.
func TestMirrorSwitchesBetweenWires(t *testing.T) {
	snaps := sceneSnapshotsQ(12, true)
	m := NewMirror(4)
	mustApply(t, m, AppendDelta(nil, nil, snaps[0], nil))
	for i := 1; i < len(snaps); i++ {
		if i%2 == 0 {
			mustApply(t, m, AppendDelta(nil, snaps[i-1], snaps[i], nil))
		} else if _, err := m.ApplyV2(v2Values(snaps[i-1], snaps[i])); err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
		sameState(t, m, snaps[i], nil)
	}
}

func TestMirrorApplyV2DoesNotAllocate(t *testing.T) {
	snaps := sceneSnapshotsQ(40, true)
	m := NewMirror(4)
	mustApply(t, m, AppendDelta(nil, nil, snaps[0], nil))
	bodies := make([][]byte, len(snaps))
	for i := 1; i < len(snaps); i++ {
		bodies[i] = v2Values(snaps[i-1], snaps[i])
	}
	for i := 1; i <= 8; i++ {
		if _, err := m.ApplyV2(bodies[i]); err != nil {
			t.Fatal(err)
		}
	}
	i := 9
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := m.ApplyV2(bodies[i]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("ApplyV2 allocated %.1f times per body, want 0", allocs)
	}
	sameState(t, m, snaps[i-1], nil)
}

// FuzzMirrorApplyV2 is FuzzMirrorApply for the v2 values: an error or a tick, never a panic,
// and a refused body leaves the state as it was. The base holds integers at both ends of
// their range, so that sums that overflow are within the fuzzer's reach.
func FuzzMirrorApplyV2(f *testing.F) {
	base := build(5, ent{1, 0, vals{1, "a"}}, ent{2, 1, vals{uint64(math.MaxUint64), int64(math.MinInt64)}}, ent{9, 2, nil})
	next := build(6, ent{1, 0, vals{2, "a"}}, ent{2, 1, vals{uint64(1), int64(-3)}}, ent{3, 1, vals{[]int{1, 2}}}, ent{9, 3, nil})
	f.Add(v2Values(nil, base))
	f.Add(v2Values(base, next))
	f.Add([]byte{0x06, 0x01, 0x93, 0x02, 0x01, 0x01})
	// A second baseline for predicted values: near the ends of the range the predictions
	// allow, and beyond them.
	prev := build(3, ent{1, 0, vals{-1, "a"}}, ent{2, 1, vals{uint64(math.MaxUint64 - 5), int64(math.MinInt64 + 7)}},
		ent{9, 2, nil}, ent{10, 0, vals{predictMaxValue - 1}})
	f.Add(appendV2Predicted(prev, base, next))
	f.Add([]byte{0x06, 0x92, 0x01, 0x02, 0x93, 0x01, 0x01, 0x7f})
	f.Add(appendV3(prev, base, next))
	f.Fuzz(func(t *testing.T, vals []byte) {
		// Both wires, v3 after v2: the same values mean other states on each.
		for _, wire := range []struct {
			name  string
			apply func(*Mirror, []byte) (Tick, error)
		}{{"ApplyV2", (*Mirror).ApplyV2}, {"ApplyV3", (*Mirror).ApplyV3}} {
			fuzzApplyV2(t, wire.name, wire.apply, vals, prev, base)
		}
	})
}

// fuzzApplyV2 is FuzzMirrorApplyV2's check of one wire: apply applies vals to an empty mirror
// and to one that holds prev and base.
func fuzzApplyV2(t *testing.T, name string, apply func(*Mirror, []byte) (Tick, error), vals []byte, prev, base *Snapshot) {
	t.Helper()
	empty := NewMirror(2)
	if tick, err := apply(empty, vals); err == nil && tick != empty.Tick() {
		t.Fatalf("%s returned tick %d, mirror is at %d", name, tick, empty.Tick())
	}
	m := NewMirror(2)
	mustApply(t, m, AppendDelta(nil, nil, prev, nil))
	mustApply(t, m, AppendDelta(nil, nil, base, nil))
	before := m.Entities()
	if _, err := apply(m, vals); err != nil {
		if !reflect.DeepEqual(m.Entities(), before) || m.Tick() != 5 {
			t.Fatalf("%s: refused values (%v) changed the mirror", name, err)
		}
		return
	}
	ents := m.Entities()
	for i, e := range ents {
		if e.ID == 0 || (i > 0 && e.ID <= ents[i-1].ID) {
			t.Fatalf("mirror entities not sorted by id: %v", ents)
		}
		for k, fb := range e.Fields {
			r := reader{b: fb}
			if _, err := r.skip(); err != nil || r.remaining() != 0 {
				t.Fatalf("%s: entity %d field %d holds % x, not one value (%v)", name, e.ID, k, fb, err)
			}
		}
	}
}

// appendV3 returns AppendDeltaV3's values for to against from and prev.
func appendV3(prev, from, to *Snapshot) []byte {
	b, _ := AppendDeltaV3(nil, prev, from, nil, to, nil)
	return b
}

// appendV2Predicted returns AppendDeltaV2Predicted's values for to against from and prev.
func appendV2Predicted(prev, from, to *Snapshot) []byte {
	b, _ := AppendDeltaV2Predicted(nil, prev, from, nil, to, nil)
	return b
}
