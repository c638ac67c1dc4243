package protocol

import "testing"

func TestSeqHistory(t *testing.T) {
	var h SeqHistory
	if seq, ok := h.At(0); !ok || seq != 0 {
		t.Fatalf("At(0) = %d, %v; want 0, true (a full snapshot counts from 0)", seq, ok)
	}
	if _, ok := h.At(5); ok {
		t.Fatal("an empty history holds tick 5")
	}
	for tick := uint32(2); tick <= 400; tick += 2 {
		h.Add(tick, tick/2)
	}
	for _, tt := range []struct {
		tick, seq uint32
		ok        bool
	}{
		{400, 200, true},
		{146, 73, true}, // the oldest of the last 128
		{144, 0, false}, // one before it, forgotten
		{401, 0, false},
		{0, 0, true},
	} {
		if seq, ok := h.At(tt.tick); seq != tt.seq || ok != tt.ok {
			t.Errorf("At(%d) = %d, %v; want %d, %v", tt.tick, seq, ok, tt.seq, tt.ok)
		}
	}
}
