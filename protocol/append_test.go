package protocol

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// TestAppendMatchesMarshal: the hand encoding is the shortest form, the one Marshal (and so
// the server) writes, and Reader reads it back.
func TestAppendMatchesMarshal(t *testing.T) {
	for _, v := range []int64{0, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		want, _ := Marshal(v)
		got := AppendInt(nil, v)
		if !bytes.Equal(got, want) {
			t.Errorf("AppendInt(%d) = % x, want % x", v, got, want)
		}
		if r := NewReader(got); r.Int() != v || r.Err() != nil {
			t.Errorf("AppendInt(%d) does not read back", v)
		}
	}
	if got, want := AppendUint(nil, math.MaxUint64), []byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}; !bytes.Equal(got, want) {
		t.Errorf("AppendUint(2^64-1) = % x, want % x", got, want)
	}
	for _, n := range []int{0, 31, 32, 255, 256, 65535, 65536} {
		s := strings.Repeat("x", n)
		want, _ := Marshal(s)
		if got := AppendStr(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendStr(len %d) = % x, want % x", n, head(got), head(want))
		}
	}
	for _, n := range []int{0, 15, 16, 65535, 65536} {
		want, _ := Marshal(make([]bool, n))
		if got := AppendArray(nil, n); !bytes.Equal(got, want[:len(got)]) {
			t.Errorf("AppendArray(%d) = % x, want % x", n, got, head(want))
		}
		m := make(map[int]bool, n)
		for i := range min(n, 70000) {
			m[i] = true
		}
		want, _ = Marshal(m)
		if got := AppendMap(nil, n); !bytes.Equal(got, want[:len(got)]) {
			t.Errorf("AppendMap(%d) = % x, want % x", n, got, head(want))
		}
	}
	for _, v := range []any{nil, true, false, 1500.25} {
		want, _ := Marshal(v)
		var got []byte
		switch v := v.(type) {
		case nil:
			got = AppendNil(nil)
		case bool:
			got = AppendBool(nil, v)
		case float64:
			got = AppendFloat64(nil, v)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Append of %v = % x, want % x", v, got, want)
		}
	}
}
