package state

import (
	"errors"
	"testing"
)

// TestAppendDeltaV3Bytes: on v3 a snapshot against two baselines is exact (offset2 negated)
// where that is smaller: it lists only the fields the prediction missed; where corrections
// would cost more than v2's zeros (a stop), it is v2's. A mirror that applies it reaches
// the server's state either way.
func TestAppendDeltaV3Bytes(t *testing.T) {
	wide := make(vals, MaxMaskFields+1)
	for i := range wide {
		wide[i] = int64(0)
	}
	wide2 := append(vals{int64(5)}, wide[1:]...)
	for _, tt := range []struct {
		name       string
		s1, s3, s5 []ent // the second baseline, the baseline, the new state
		want       []byte
	}{
		{
			// x and y go on at the same speed: nothing is listed. v2 sends [1, 0b11, 1, 0].
			"steady movement",
			[]ent{{1, 0, vals{int64(1000), int64(5000), int64(100)}}},
			[]ent{{1, 0, vals{int64(1130), int64(4870), int64(100)}}},
			[]ent{{1, 0, vals{int64(1260), int64(4740), int64(100)}}},
			[]byte{0x05, 0x92, 0x02, 0xfe, 0x90},
		},
		{
			// Off by one from the prediction in x: only x, as 1.
			"a turn",
			[]ent{{1, 0, vals{int64(1000), int64(5000), int64(100)}}},
			[]ent{{1, 0, vals{int64(1130), int64(4870), int64(100)}}},
			[]ent{{1, 0, vals{int64(1261), int64(4740), int64(100)}}},
			[]byte{0x05, 0x92, 0x02, 0xfe, 0x93, 0x01, 0x01, 0x01},
		},
		{
			// It stopped where the baseline had it: the exact form would correct the
			// prediction by −130 (5 bytes with the entry), v2's lists nothing: v2's goes.
			"a stop",
			[]ent{{1, 0, vals{int64(1000), int64(5000), int64(100)}}},
			[]ent{{1, 0, vals{int64(1130), int64(5000), int64(100)}}},
			[]ent{{1, 0, vals{int64(1130), int64(5000), int64(100)}}},
			[]byte{0x05, 0x92, 0x02, 0x02, 0x90},
		},
		{
			// The same stop beside a steady mover, which v2 would send as [2, 0b11, 0, 0]:
			// the exact form is smaller, and corrects the stop (9 predicted at 11: −2).
			"a stop among movers",
			[]ent{{1, 0, vals{int64(7), "a"}}, {2, 0, vals{int64(50), int64(60)}}},
			[]ent{{1, 0, vals{int64(9), "a"}}, {2, 0, vals{int64(52), int64(63)}}},
			[]ent{{1, 0, vals{int64(9), "a"}}, {2, 0, vals{int64(54), int64(66)}}},
			[]byte{0x05, 0x92, 0x02, 0xfe, 0x93, 0x01, 0x01, 0xfe},
		},
		{
			// A value that is not an integer is predicted by nothing: listed when it changes.
			"a string",
			[]ent{{1, 0, vals{int64(7), "a"}}},
			[]ent{{1, 0, vals{int64(7), "a"}}},
			[]ent{{1, 0, vals{int64(7), "b"}}},
			[]byte{0x05, 0x92, 0x02, 0xfe, 0x93, 0x01, 0x02, 0xa1, 'b'},
		},
		{
			// More fields than a mask holds: never predicted, whole when it changes.
			"wide entity",
			[]ent{{1, 0, wide}},
			[]ent{{1, 0, wide2}},
			[]ent{{1, 0, wide2}},
			[]byte{0x05, 0x92, 0x02, 0xfe, 0x90},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s1, s3, s5 := build(1, tt.s1...), build(3, tt.s3...), build(5, tt.s5...)
			got, _ := AppendDeltaV3(nil, s1, s3, nil, s5, nil)
			if string(got) != string(tt.want) {
				t.Fatalf("AppendDeltaV3 = % x, want % x", got, tt.want)
			}
			held := func(apply func(*Mirror, []byte) (Tick, error)) *Mirror {
				m := NewMirror(4)
				for _, v := range [][]byte{v2Values(nil, s1), v2Values(s1, s3)} {
					if _, err := apply(m, v); err != nil {
						t.Fatal(err)
					}
				}
				return m
			}
			m := held((*Mirror).ApplyV3)
			if _, err := m.ApplyV3(got); err != nil {
				t.Fatalf("ApplyV3(% x): %v", got, err)
			}
			sameState(t, m, s5, nil)
			// A v2 mirror refuses the exact form, whose bytes mean another state there.
			m2 := held((*Mirror).ApplyV2)
			if _, err := m2.ApplyV2(got); (got[3] == 0xfe) != errors.Is(err, ErrMalformed) {
				t.Fatalf("ApplyV2(% x) = %v", got, err)
			}
		})
	}
}

// TestAppendDeltaV3Scene: over the quantized shooter scene, with the baseline one snapshot
// back and the second one more, v3 is smaller than v2's predicted wire, no frame of it is
// larger, and it decodes to every state exactly.
func TestAppendDeltaV3Scene(t *testing.T) {
	v2, v3 := sceneWires(t, 120, (*Mirror).ApplyV3,
		func(a, b, c *Snapshot) []byte { p, _ := AppendDeltaV2Predicted(nil, a, b, nil, c, nil); return p },
		func(a, b, c *Snapshot) []byte { v, _ := AppendDeltaV3(nil, a, b, nil, c, nil); return v },
		func(i, v2, v3 int) {
			if v3 > v2 {
				t.Fatalf("snapshot %d: v3 %d bytes, v2 %d", i, v3, v2)
			}
		})
	t.Logf("v2 predicted %d bytes, v3 %d", v2, v3)
	if v3 >= v2 {
		t.Fatalf("v3 %d bytes, v2 %d: no saving on steady movement", v3, v2)
	}
}

// TestApplyV3NeedsTheSecondBaseline: as on v2, a predicted snapshot whose second baseline
// the mirror lacks is refused with ErrUnknownBaseline, and the mirror is unchanged.
func TestApplyV3NeedsTheSecondBaseline(t *testing.T) {
	a, b, c := build(1, ent{1, 0, vals{int64(1)}}), build(2, ent{1, 0, vals{int64(2)}}), build(3, ent{1, 0, vals{int64(3)}})
	m := NewMirror(4)
	if _, err := m.ApplyV3(v2Values(nil, b)); err != nil {
		t.Fatal(err)
	}
	v, _ := AppendDeltaV3(nil, a, b, nil, c, nil)
	if _, err := m.ApplyV3(v); !errors.Is(err, ErrUnknownBaseline) || m.Tick() != 2 {
		t.Fatalf("without the second baseline: %v, tick %d; want ErrUnknownBaseline, tick 2", err, m.Tick())
	}
}

// predictedWires are the two encoders of a snapshot against two baselines, and the mirror
// methods that read them.
var predictedWires = []struct {
	name   string
	encode func(dst []byte, prev, from *Snapshot, ff Filter, to *Snapshot, tf Filter) ([]byte, int)
	apply  func(*Mirror, []byte) (Tick, error)
}{
	{"v2", AppendDeltaV2Predicted, (*Mirror).ApplyV2},
	{"v3", AppendDeltaV3, (*Mirror).ApplyV3},
}

// BenchmarkAppendDeltaPredicted64 encodes the 64-entity quantized scene against the two
// snapshots before it, as the engine does once per (view, baselines) and snapshot tick, on
// v2 and on v3 (which also compares every entity that moved with its prediction).
func BenchmarkAppendDeltaPredicted64(b *testing.B) {
	snaps := sceneSnapshotsQ(64, true)
	for _, w := range predictedWires {
		b.Run(w.name, func(b *testing.B) {
			dst := make([]byte, 0, 16<<10)
			b.ReportAllocs()
			i, n := 0, 0
			for b.Loop() {
				dst, _ = w.encode(dst[:0], snaps[i], snaps[i+1], nil, snaps[i+2], nil)
				n += len(dst)
				i = (i + 1) % (len(snaps) - 2)
			}
			b.ReportMetric(float64(n)/float64(b.N), "bytes/frame")
		})
	}
}

// BenchmarkMirrorApplyPredicted64 applies the same frames one after the other, as a Go bot
// does 30 times a second: v3's mirror predicts every entity that moved, listed or not.
func BenchmarkMirrorApplyPredicted64(b *testing.B) {
	snaps := sceneSnapshotsQ(300, true)
	for _, w := range predictedWires {
		b.Run(w.name, func(b *testing.B) {
			start := [][]byte{v2Values(nil, snaps[0]), v2Values(snaps[0], snaps[1])}
			frames := make([][]byte, len(snaps)-2)
			for i := range frames {
				frames[i], _ = w.encode(nil, snaps[i], snaps[i+1], nil, snaps[i+2], nil)
			}
			fresh := func() *Mirror {
				m := NewMirror(4)
				for _, v := range start {
					if _, err := w.apply(m, v); err != nil {
						b.Fatal(err)
					}
				}
				return m
			}
			m := fresh()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == len(frames) {
					m, i = fresh(), 0
				}
				if _, err := w.apply(m, frames[i]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
