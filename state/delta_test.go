package state

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func fields(n int, last int) vals {
	v := make(vals, n)
	for i := range v {
		v[i] = 0
	}
	v[n-1] = last
	return v
}

func TestAppendDeltaRules(t *testing.T) {
	notTwo := func(id ID, _ uint8) bool { return id != 2 }
	tests := []struct {
		name     string
		from, to *Snapshot
		ff, tf   Filter
		want     string
	}{
		{
			name: "full snapshot lists every entity in added",
			to:   build(7, ent{3, 0, nil}, ent{1, 2, vals{float32(1.5), 100}}),
			want: "95 07 00 92 93 01 02 92 ca 3f c0 00 00 64 93 03 00 90 90 90",
		},
		{
			name: "unchanged entity costs nothing",
			from: build(1, ent{1, 0, vals{1, "a"}}),
			to:   build(2, ent{1, 0, vals{1, "a"}}),
			want: "95 02 01 90 90 90",
		},
		{
			name: "changed fields set their mask bits and follow in index order",
			from: build(1, ent{1, 0, vals{1, 2, 3}}),
			to:   build(2, ent{1, 0, vals{1, 5, 6}}),
			want: "95 02 01 90 90 91 94 01 06 05 06",
		},
		{
			name: "removed entity is listed by id",
			from: build(1, ent{1, 0, nil}, ent{2, 0, vals{1}}),
			to:   build(2, ent{1, 0, nil}),
			want: "95 02 01 90 91 02 90",
		},
		{
			name: "new entity is added whole",
			from: build(1, ent{1, 0, vals{1}}),
			to:   build(2, ent{1, 0, vals{1}}, ent{300, 4, vals{true}}),
			want: "95 02 01 91 93 cd 01 2c 04 91 c3 90 90",
		},
		{
			name: "kind change resends whole in added and not in removed",
			from: build(1, ent{1, 0, vals{1}}),
			to:   build(2, ent{1, 1, vals{1}}),
			want: "95 02 01 91 93 01 01 91 01 90 90",
		},
		{
			name: "field count change resends whole",
			from: build(1, ent{1, 0, vals{1}}),
			to:   build(2, ent{1, 0, vals{1, 2}}),
			want: "95 02 01 91 93 01 00 92 01 02 90 90",
		},
		{
			name: "field 63 uses the top mask bit",
			from: build(1, ent{1, 0, fields(64, 0)}),
			to:   build(2, ent{1, 0, fields(64, 1)}),
			want: "95 02 01 90 90 91 93 01 cf 80 00 00 00 00 00 00 00 01",
		},
		{
			name: "more than 64 fields with a change resends whole",
			from: build(1, ent{1, 0, fields(65, 0)}),
			to:   build(2, ent{1, 0, fields(65, 1)}),
			want: "95 02 01 91 93 01 00 dc 00 41" + strings.Repeat(" 00", 64) + " 01 90 90",
		},
		{
			name: "more than 64 fields unchanged cost nothing",
			from: build(1, ent{1, 0, fields(65, 1)}),
			to:   build(2, ent{1, 0, fields(65, 1)}),
			want: "95 02 01 90 90 90",
		},
		{
			name: "baseline not older than the target gives a full snapshot",
			from: build(2, ent{1, 0, vals{1}}),
			to:   build(2, ent{1, 0, vals{1}}),
			want: "95 02 00 91 93 01 00 91 01 90 90",
		},
		{
			name: "filter hides an entity on both sides",
			from: build(1, ent{1, 0, vals{1}}, ent{2, 0, vals{1}}, ent{3, 0, vals{1}}),
			to:   build(2, ent{1, 0, vals{2}}, ent{2, 0, vals{2}}),
			ff:   notTwo, tf: notTwo,
			want: "95 02 01 90 91 03 91 93 01 01 02",
		},
		{
			name: "entity leaving the view is removed",
			from: build(1, ent{1, 0, vals{1}}, ent{2, 0, vals{1}}),
			to:   build(2, ent{1, 0, vals{1}}, ent{2, 0, vals{1}}),
			tf:   notTwo,
			want: "95 02 01 90 91 02 90",
		},
		{
			name: "entity entering the view is added whole",
			from: build(1, ent{1, 0, vals{1}}, ent{2, 0, vals{1}}),
			to:   build(2, ent{1, 0, vals{1}}, ent{2, 0, vals{1}}),
			ff:   notTwo,
			want: "95 02 01 91 93 02 00 91 01 90 90",
		},
		{
			name: "every list ascends by id",
			from: build(1, ent{5, 0, vals{1}}, ent{4, 0, vals{1}}, ent{9, 0, nil}, ent{8, 0, nil}),
			to:   build(2, ent{5, 0, vals{2}}, ent{4, 0, vals{2}}, ent{7, 0, nil}, ent{6, 0, nil}),
			want: "95 02 01 92 93 06 00 90 93 07 00 90 92 08 09 92 93 04 01 02 93 05 01 02",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte{0xee}
			got := AppendDeltaBetween(prefix, tt.from, tt.ff, tt.to, tt.tf)
			if got[0] != 0xee {
				t.Fatal("AppendDelta overwrote dst")
			}
			if want := unhex(t, tt.want); !bytes.Equal(got[1:], want) {
				t.Fatalf("body\n got  %s\n want %s", spaced(got[1:]), spaced(want))
			}
			var v any
			if err := msgpack.Unmarshal(got[1:], &v); err != nil {
				t.Errorf("msgpack cannot decode the body: %v", err)
			}
			if tt.ff == nil && tt.tf == nil {
				if again := AppendDelta(nil, tt.from, tt.to, nil); !bytes.Equal(again, got[1:]) {
					t.Errorf("AppendDelta and AppendDeltaBetween differ")
				}
			}
		})
	}
}

// TestAppendDeltaWithLongListsUsesArray16 crosses the fixarray limit in every list.
func TestAppendDeltaWithLongListsUsesArray16(t *testing.T) {
	var a, b []ent
	for id := ID(1); id <= 20; id++ {
		a = append(a, ent{id, 0, vals{1}})      // 1..20: removed
		a = append(a, ent{id + 20, 0, vals{1}}) // 21..40: changed
		b = append(b, ent{id + 20, 0, vals{2}})
		b = append(b, ent{id + 40, 0, vals{1}}) // 41..60: added
	}
	from, to := build(1, a...), build(2, b...)
	body := AppendDelta(nil, from, to, nil)
	m := NewMirror(2)
	mustApply(t, m, AppendDelta(nil, nil, from, nil))
	mustApply(t, m, body)
	sameState(t, m, to, nil)
	if n := bytes.Count(body, []byte{mpArray16, 0, 20}); n != 3 {
		t.Errorf("found %d array 16 headers of 20 elements, want 3", n)
	}
}

func TestAppendDeltaDoesNotAllocate(t *testing.T) {
	sc := newScene(2)
	r := NewRing(8)
	for range 8 {
		sc.step()
		r.Push(sc.build(r.Builder()))
	}
	from, to := r.Get(sc.tick-3), r.Latest()
	odd := func(id ID, _ uint8) bool { return id%2 == 1 }
	dst := make([]byte, 0, 16<<10)
	allocs := testing.AllocsPerRun(100, func() {
		dst = AppendDelta(dst[:0], from, to, nil)
		dst = AppendDelta(dst[:0], nil, to, odd)
		dst = AppendDeltaBetween(dst[:0], from, nil, to, odd)
	})
	if allocs != 0 {
		t.Errorf("AppendDelta allocated %.1f times, want 0", allocs)
	}
}

// fuzzSource turns fuzz bytes into choices; once they run out every choice is 0.
type fuzzSource struct{ b []byte }

func (s *fuzzSource) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *fuzzSource) u64() uint64 {
	var p [8]byte
	for i := range p {
		p[i] = s.byte()
	}
	return binary.LittleEndian.Uint64(p[:])
}

// value returns a field value of a type and size chosen by the fuzzer.
func (s *fuzzSource) value() any {
	switch s.byte() % 9 {
	case 0:
		return int64(s.u64()) >> (s.byte() % 64)
	case 1:
		return s.u64() >> (s.byte() % 64)
	case 2:
		return math.Float32frombits(uint32(s.u64()))
	case 3:
		return math.Float64frombits(s.u64())
	case 4:
		return s.byte()%2 == 1
	case 5:
		return strings.Repeat(string(rune('a'+s.byte()%26)), int(s.byte()%40))
	case 6:
		return bytes.Repeat([]byte{s.byte()}, int(s.byte()%40))
	case 7:
		return []any{int(s.byte()), map[string]int{"k": int(s.byte()), "j": 1}}
	default:
		return nil
	}
}

// fields returns a field list whose length is usually small and sometimes above 64.
func (s *fuzzSource) fields() vals {
	n := int(s.byte() % 6)
	if c := s.byte(); c%16 == 0 {
		n = 60 + int(c%11)
	}
	v := make(vals, n)
	for i := range v {
		v[i] = s.value()
	}
	return v
}

// mutate returns the next state of ents: entities removed, re-kinded, re-shaped, changed,
// kept, and new ones added, as the fuzzer chooses.
func (s *fuzzSource) mutate(ents []ent) []ent {
	var out []ent
	have := map[ID]bool{}
	for _, e := range ents {
		switch op := s.byte() % 8; op {
		case 0: // removed
			continue
		case 1:
			e.kind++
		case 2:
			e.v = s.fields()
		case 3, 4:
			v := append(vals{}, e.v...)
			for i := range v {
				if s.byte()%3 == 0 {
					v[i] = s.value()
				}
			}
			e.v = v
		}
		out = append(out, e)
		have[e.id] = true
	}
	for range s.byte() % 5 {
		id := ID(1 + s.byte()%64)
		if !have[id] {
			out = append(out, ent{id, s.byte() % 3, s.fields()})
			have[id] = true
		}
	}
	return out
}

// filter returns a filter chosen by the fuzzer: nil, or one that hides some ids.
func (s *fuzzSource) filter() Filter {
	mod, rem := 2+s.byte()%3, s.byte()%3
	if s.byte()%4 == 0 {
		return nil
	}
	return func(id ID, kind uint8) bool { return (uint8(id)+kind)%mod != rem }
}

// FuzzDelta builds three states a, b, c from the fuzz bytes (each a mutation of the one
// before) and checks, for a filter that stays and for views that change, that a mirror
// reproduces each exactly: full(a); delta(a→b); delta(a→c), against the older baseline.
func FuzzDelta(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x05\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add(bytes.Repeat([]byte{0x10, 0x03, 0x41, 0x22, 0x07}, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &fuzzSource{b: data}
		var a []ent
		for range s.byte() % 24 {
			a = append(a, ent{ID(1 + s.byte()%64), s.byte() % 3, s.fields()})
		}
		a = dedupe(a)
		b := s.mutate(a)
		c := s.mutate(b)
		sa, sb, sc := build(1, a...), build(2, b...), build(3, c...)
		fa := s.filter()
		fb := s.filter()
		views := []struct {
			name       string
			fa, fb, fc Filter
		}{
			{"everything", nil, nil, nil},
			{"one filter", fa, fa, fa},
			{"view changes", fa, fb, fb},
		}
		for _, v := range views {
			m := NewMirror(2) // the fourth body recycles the state of the first
			apply := func(body []byte, want *Snapshot, filter Filter) {
				t.Helper()
				var decoded any
				if err := msgpack.Unmarshal(body, &decoded); err != nil {
					t.Fatalf("%s: msgpack cannot decode % x: %v", v.name, body, err)
				}
				mustApply(t, m, body)
				sameState(t, m, want, filter)
			}
			apply(AppendDelta(nil, nil, sa, v.fa), sa, v.fa)
			apply(AppendDeltaBetween(nil, sa, v.fa, sb, v.fb), sb, v.fb)
			apply(AppendDeltaBetween(nil, sa, v.fa, sc, v.fc), sc, v.fc)
			// A full snapshot also applies over any state.
			apply(AppendDelta(nil, nil, build(4, c...), v.fc), build(4, c...), v.fc)

			// The same through the v2 wire, whose integers are differences.
			m2 := NewMirror(2)
			apply2 := func(vals []byte, n int, want *Snapshot, filter Filter) {
				t.Helper()
				var decoded []any
				if err := msgpack.Unmarshal(append([]byte{0x90 | byte(n)}, vals...), &decoded); err != nil || len(decoded) != n {
					t.Fatalf("%s: v2: msgpack cannot decode %d values % x: %v", v.name, n, vals, err)
				}
				if _, err := m2.ApplyV2(vals); err != nil {
					t.Fatalf("%s: ApplyV2(% x): %v", v.name, vals, err)
				}
				sameState(t, m2, want, filter)
			}
			vals, n := AppendDeltaV2(nil, nil, nil, sa, v.fa)
			apply2(vals, n, sa, v.fa)
			vals, n = AppendDeltaV2(nil, sa, v.fa, sb, v.fb)
			apply2(vals, n, sb, v.fb)
			vals, n = AppendDeltaV2(nil, sa, v.fa, sc, v.fc)
			apply2(vals, n, sc, v.fc)
			vals, n = AppendDeltaV2(nil, nil, nil, build(4, c...), v.fc)
			apply2(vals, n, build(4, c...), v.fc)

			// And against two baselines, whose integers are differences from a prediction:
			// the client holds b and c, seen through c's view, and gets d.
			m2 = NewMirror(3)
			vals, n = AppendDeltaV2(nil, nil, nil, sb, v.fc)
			apply2(vals, n, sb, v.fc)
			vals, n = AppendDeltaV2(nil, sb, v.fc, sc, v.fc)
			apply2(vals, n, sc, v.fc)
			d := s.mutate(c)
			sd := build(4, d...)
			vals, n = AppendDeltaV2Predicted(nil, sb, sc, v.fc, sd, v.fc)
			apply2(vals, n, sd, v.fc)

			// And on v3, whose predicted snapshots list only what the prediction missed; e
			// is d where every entity that moved from b to c went on at the same speed
			// (steady), which such a snapshot mostly leaves out.
			m3 := NewMirror(3)
			apply3 := func(vals []byte, want *Snapshot) {
				t.Helper()
				if _, err := m3.ApplyV3(vals); err != nil {
					t.Fatalf("%s: ApplyV3(% x): %v", v.name, vals, err)
				}
				sameState(t, m3, want, v.fc)
			}
			vals, _ = AppendDeltaV3(nil, nil, nil, nil, sb, v.fc)
			apply3(vals, sb)
			vals, _ = AppendDeltaV3(nil, nil, sb, v.fc, sc, v.fc)
			apply3(vals, sc)
			vals, _ = AppendDeltaV3(nil, sb, sc, v.fc, sd, v.fc)
			apply3(vals, sd)
			se := build(5, steady(c, d)...)
			vals, _ = AppendDeltaV3(nil, sc, sd, v.fc, se, v.fc)
			apply3(vals, se)
		}
	})
}

// steady returns the entities of c, each integer field moved on from b at the speed it had
// from b to c, where b has the entity with the same kind and number of fields.
func steady(b, c []ent) []ent {
	prev := map[ID]ent{}
	for _, e := range b {
		prev[e.id] = e
	}
	out := make([]ent, len(c))
	for i, e := range c {
		out[i] = e
		p, ok := prev[e.id]
		if !ok || p.kind != e.kind || len(p.v) != len(e.v) {
			continue
		}
		fields := slices.Clone(e.v)
		for k, v := range fields {
			x, ok1 := v.(int64)
			y, ok2 := p.v[k].(int64)
			if ok1 && ok2 && x-y < 1<<20 && y-x < 1<<20 && x < 1<<40 && x > -(1<<40) {
				fields[k] = x + (x - y)
			}
		}
		out[i].v = fields
	}
	return out
}

// dedupe keeps the first entity of each id.
func dedupe(ents []ent) []ent {
	seen := map[ID]bool{}
	var out []ent
	for _, e := range ents {
		if !seen[e.id] {
			seen[e.id] = true
			out = append(out, e)
		}
	}
	return out
}

// sceneSnapshots returns n+1 consecutive snapshots of the shooter scene (scene_test.go),
// after a warm-up, each in its own memory.
func sceneSnapshots(n int) []*Snapshot { return sceneSnapshotsQ(n, false) }

func sceneSnapshotsQ(n int, quantized bool) []*Snapshot {
	sc := newSceneQ(3, quantized)
	for range 30 {
		sc.step()
	}
	out := make([]*Snapshot, n+1)
	for i := range out {
		sc.step()
		out[i] = sc.build(new(Builder))
	}
	return out
}

// BenchmarkAppendDelta64Moving encodes the delta of the 64-entity shooter scene between two
// consecutive snapshots (every position changes, about one projectile despawns and one
// spawns), as the engine does for each (view, baseline) once per snapshot tick.
func BenchmarkAppendDelta64Moving(b *testing.B) {
	snaps := sceneSnapshots(64)
	dst := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst = AppendDelta(dst[:0], snaps[i], snaps[i+1], nil)
		i = (i + 1) % (len(snaps) - 1)
	}
	b.SetBytes(int64(len(dst)))
}

// BenchmarkAppendFull64 encodes a full snapshot of the same scene: a player who joins or
// whose acknowledged tick has left the ring.
func BenchmarkAppendFull64(b *testing.B) {
	snaps := sceneSnapshots(1)
	dst := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendDelta(dst[:0], nil, snaps[1], nil)
	}
	b.SetBytes(int64(len(dst)))
}

// BenchmarkDeltaBytes64Moving reports the size of the shooter scene's snapshot messages over
// 300 consecutive snapshots (10 s at 30 Hz): the full snapshot, the delta, and the delta as
// permessage-deflate sends it with server_no_context_takeover (each message compressed on its
// own, flate level 1, the 4-byte sync-flush tail removed, RFC 7692 §7.2.1). The ratio is
// delta+deflate over full. The baseline is 1 snapshot back (a player acknowledging every
// snapshot in time) or 3 back (about 100 ms of round trip at 30 Hz). The float32 scene writes
// positions as float32; the quantized one as the game could (see scene). The v2 figures are
// AppendDeltaV2's values, whose integers are differences (intdelta.go).
func BenchmarkDeltaBytes64Moving(b *testing.B) {
	for _, q := range []bool{false, true} {
		for _, lag := range []int{1, 3} {
			name := fmt.Sprintf("float32/baseline=%dback", lag)
			if q {
				name = fmt.Sprintf("quantized/baseline=%dback", lag)
			}
			b.Run(name, func(b *testing.B) { benchDeltaBytes(b, q, lag) })
		}
	}
}

func benchDeltaBytes(b *testing.B, quantized bool, lag int) {
	snaps := sceneSnapshotsQ(300+lag, quantized)
	var out bytes.Buffer
	fw, _ := flate.NewWriter(&out, flate.BestSpeed)
	deflated := func(p []byte) int {
		out.Reset()
		fw.Reset(&out)
		_, _ = fw.Write(p)
		_ = fw.Flush()
		return out.Len() - 4
	}
	var full, fullZ, delta, deltaZ, v2, v2Z int
	dst := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	for b.Loop() {
		full, fullZ, delta, deltaZ, v2, v2Z = 0, 0, 0, 0, 0, 0
		for i := lag; i < len(snaps); i++ {
			dst = AppendDelta(dst[:0], nil, snaps[i], nil)
			full += len(dst)
			fullZ += deflated(dst)
			dst = AppendDelta(dst[:0], snaps[i-lag], snaps[i], nil)
			delta += len(dst)
			deltaZ += deflated(dst)
			dst, _ = AppendDeltaV2(dst[:0], snaps[i-lag], nil, snaps[i], nil)
			v2 += len(dst)
			v2Z += deflated(dst)
		}
	}
	n := float64(len(snaps) - lag)
	b.ReportMetric(float64(full)/n, "full-B/msg")
	b.ReportMetric(float64(fullZ)/n, "full+deflate-B/msg")
	b.ReportMetric(float64(delta)/n, "delta-B/msg")
	b.ReportMetric(float64(deltaZ)/n, "delta+deflate-B/msg")
	b.ReportMetric(float64(v2)/n, "v2-B/msg")
	b.ReportMetric(float64(v2Z)/n, "v2+deflate-B/msg")
	b.ReportMetric(100*float64(deltaZ)/float64(full), "delta+deflate/full-%")
}
