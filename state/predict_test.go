package state

import (
	"errors"
	"math"
	"testing"

	"github.com/rallypoint/rallypoint/protocol"
)

func mpInt(v int64) []byte { return protocol.AppendInt(nil, v) }

func TestPredict(t *testing.T) {
	for _, tt := range []struct {
		name   string
		o, q   []byte
		g      gaps
		want   int64
		wantOK bool
	}{
		{"steady, equal gaps", mpInt(1100), mpInt(1000), gaps{2, 2}, 1200, true},
		{"steady, the baseline three snapshots back", mpInt(1100), mpInt(1000), gaps{6, 2}, 1400, true},
		{"truncated toward zero, up", mpInt(10), mpInt(0), gaps{1, 3}, 13, true},
		{"truncated toward zero, down", mpInt(-10), mpInt(0), gaps{1, 3}, -13, true},
		{"standing still", mpInt(7), mpInt(7), gaps{2, 2}, 7, true},
		{"no second baseline", mpInt(7), nil, gaps{2, 2}, 0, false},
		{"no gaps", mpInt(7), mpInt(5), gaps{}, 0, false},
		{"not an integer at the second baseline", mpInt(7), []byte{0xc3}, gaps{2, 2}, 0, false},
		{"not an integer at the baseline", []byte{0xc2}, mpInt(5), gaps{2, 2}, 0, false},
		{"step at the bound", mpInt(predictMaxStep), mpInt(0), gaps{1, 1}, 2 * predictMaxStep, true},
		{"step beyond the bound", mpInt(predictMaxStep + 1), mpInt(0), gaps{1, 1}, 0, false},
		{"value at the bound", mpInt(-predictMaxValue), mpInt(-predictMaxValue + 1), gaps{1, 1}, -predictMaxValue - 1, true},
		{"value beyond the bound", mpInt(predictMaxValue + 1), mpInt(predictMaxValue), gaps{1, 1}, 0, false},
		{"a huge unsigned value", protocol.AppendUint(nil, math.MaxUint64), mpInt(5), gaps{1, 1}, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.g.predict(tt.o, tt.q)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("predict = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestAppendDeltaV2PredictedBytes: a steadily moving entity's coordinates take a byte each
// against two baselines, where the plain v2 wire sends their differences in two or three;
// the mirror decodes both to the same state.
func TestAppendDeltaV2PredictedBytes(t *testing.T) {
	pos := func(tick Tick, x, y int64) *Snapshot {
		return build(tick, ent{1, 0, vals{x, y, int64(100)}})
	}
	s1, s3, s5 := pos(1, 1000, 5000), pos(3, 1130, 4870), pos(5, 1261, 4740)
	plain, _ := AppendDeltaV2(nil, s3, nil, s5, nil)
	pred, n := AppendDeltaV2Predicted(nil, s1, s3, nil, s5, nil)
	// tick 5, [2, 2], changed [1, mask 0b11, 131−130 = 1, −130+130 = 0]
	want := []byte{0x05, 0x92, 0x02, 0x02, 0x94, 0x01, 0x03, 0x01, 0x00}
	if n != 3 || string(pred) != string(want) {
		t.Fatalf("predicted: %d values % x, want 3 values % x", n, pred, want)
	}
	if len(plain) != len(pred)+1 { // 131 and −130 take 2 and 3 bytes, 1 and 0 one each; the pair 2 more
		t.Fatalf("plain v2 % x (%d bytes) against predicted %d", plain, len(plain), len(pred))
	}
	m := NewMirror(4)
	for _, step := range []struct {
		vals []byte
		want *Snapshot
	}{
		{v2Values(nil, s1), s1},
		{v2Values(s1, s3), s3},
		{pred, s5},
	} {
		if _, err := m.ApplyV2(step.vals); err != nil {
			t.Fatalf("ApplyV2(% x): %v", step.vals, err)
		}
		sameState(t, m, step.want, nil)
	}
}

// TestAppendDeltaV2PredictedScene: over the quantized shooter scene, with the baseline one
// snapshot back and the second one more, the predicted wire is smaller than the plain one
// and decodes to every state exactly.
func TestAppendDeltaV2PredictedScene(t *testing.T) {
	plain, pred := sceneWires(t, 60, (*Mirror).ApplyV2,
		func(a, b, c *Snapshot) []byte { p, _ := AppendDeltaV2(nil, b, nil, c, nil); return p },
		func(a, b, c *Snapshot) []byte { v, _ := AppendDeltaV2Predicted(nil, a, b, nil, c, nil); return v },
		nil)
	t.Logf("plain v2 %d bytes, predicted %d", plain, pred)
	if pred >= plain {
		t.Fatalf("predicted %d bytes, plain %d: no saving on steady movement", pred, plain)
	}
}

// sceneWires encodes the quantized shooter scene's first n snapshots both ways, each
// against the snapshot before (b) and the one before that (a), applies the second way's to
// a mirror and checks it holds each state, and returns both ways' bytes. each, when not
// nil, sees both sizes of every frame.
func sceneWires(t *testing.T, n int, apply func(*Mirror, []byte) (Tick, error), old, new func(a, b, c *Snapshot) []byte, each func(i, old, new int)) (oldBytes, newBytes int) {
	t.Helper()
	snaps := sceneSnapshotsQ(n, true)
	m := NewMirror(4)
	for _, v := range [][]byte{v2Values(nil, snaps[0]), v2Values(snaps[0], snaps[1])} {
		if _, err := apply(m, v); err != nil {
			t.Fatal(err)
		}
	}
	for i := 2; i < len(snaps); i++ {
		o, v := old(snaps[i-2], snaps[i-1], snaps[i]), new(snaps[i-2], snaps[i-1], snaps[i])
		oldBytes, newBytes = oldBytes+len(o), newBytes+len(v)
		if each != nil {
			each(i, len(o), len(v))
		}
		if _, err := apply(m, v); err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
		sameState(t, m, snaps[i], nil)
	}
	return oldBytes, newBytes
}

// TestApplyV2PredictedNeedsBothBaselines: a predicted snapshot whose second baseline the
// mirror does not hold fails with ErrUnknownBaseline and leaves the mirror as it was; one
// whose offsets are out of range is malformed.
func TestApplyV2PredictedNeedsBothBaselines(t *testing.T) {
	a, b, c := build(1, ent{1, 0, vals{int64(1)}}), build(2, ent{1, 0, vals{int64(2)}}), build(3, ent{1, 0, vals{int64(3)}})
	m := NewMirror(4)
	for _, v := range [][]byte{v2Values(nil, b)} {
		if _, err := m.ApplyV2(v); err != nil {
			t.Fatal(err)
		}
	}
	v, _ := AppendDeltaV2Predicted(nil, a, b, nil, c, nil)
	if _, err := m.ApplyV2(v); !errors.Is(err, ErrUnknownBaseline) || m.Tick() != 2 {
		t.Fatalf("without the second baseline: %v, tick %d; want ErrUnknownBaseline, tick 2", err, m.Tick())
	}
	for _, bad := range [][]byte{
		{0x03, 0x92, 0x00, 0x01, 0x90},       // offset 0 in a pair
		{0x03, 0x92, 0x01, 0x00, 0x90},       // offset2 0
		{0x03, 0x92, 0x01, 0x02, 0x90},       // the second baseline at tick 0
		{0x03, 0x92, 0x01, 0x90},             // a pair of one
		{0x03, 0x92, 0x01, 0xc0, 0x90},       // offset2 nil
		{0x03, 0x93, 0x01, 0x01, 0x01, 0x90}, // a triple
	} {
		if _, err := m.ApplyV2(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ApplyV2(% x) = %v, want ErrMalformed", bad, err)
		}
	}
}
