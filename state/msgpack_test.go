package state

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/protocol"
)

func TestAppendUintUsesSmallestFormat(t *testing.T) {
	tests := []struct {
		v    uint64
		want string
	}{
		{0, "00"},
		{127, "7f"},
		{128, "cc 80"},
		{255, "cc ff"},
		{256, "cd 01 00"},
		{65535, "cd ff ff"},
		{65536, "ce 00 01 00 00"},
		{math.MaxUint32, "ce ff ff ff ff"},
		{math.MaxUint32 + 1, "cf 00 00 00 01 00 00 00 00"},
		{math.MaxUint64, "cf ff ff ff ff ff ff ff ff"},
	}
	for _, tt := range tests {
		got := protocol.AppendUint(nil, tt.v)
		if !bytes.Equal(got, unhex(t, tt.want)) {
			t.Errorf("protocol.AppendUint(%d) = % x, want %s", tt.v, got, tt.want)
		}
		var back uint64
		if err := msgpack.Unmarshal(got, &back); err != nil || back != tt.v {
			t.Errorf("msgpack decodes % x as %d (%v), want %d", got, back, err, tt.v)
		}
	}
}

func TestAppendIntUsesSmallestFormat(t *testing.T) {
	tests := []struct {
		v    int64
		want string
	}{
		{0, "00"},
		{127, "7f"},
		{128, "cc 80"},
		{-1, "ff"},
		{-32, "e0"},
		{-33, "d0 df"},
		{-128, "d0 80"},
		{-129, "d1 ff 7f"},
		{-32768, "d1 80 00"},
		{-32769, "d2 ff ff 7f ff"},
		{math.MinInt32, "d2 80 00 00 00"},
		{math.MinInt32 - 1, "d3 ff ff ff ff 7f ff ff ff"},
		{math.MinInt64, "d3 80 00 00 00 00 00 00 00"},
		{math.MaxInt64, "cf 7f ff ff ff ff ff ff ff"},
	}
	for _, tt := range tests {
		got := protocol.AppendInt(nil, tt.v)
		if !bytes.Equal(got, unhex(t, tt.want)) {
			t.Errorf("protocol.AppendInt(%d) = % x, want %s", tt.v, got, tt.want)
		}
		var back int64
		if err := msgpack.Unmarshal(got, &back); err != nil || back != tt.v {
			t.Errorf("msgpack decodes % x as %d (%v), want %d", got, back, err, tt.v)
		}
	}
}

func TestAppendArrayHeaderUsesSmallestFormat(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "90"},
		{15, "9f"},
		{16, "dc 00 10"},
		{65535, "dc ff ff"},
		{65536, "dd 00 01 00 00"},
	}
	for _, tt := range tests {
		if got := protocol.AppendArray(nil, tt.n); !bytes.Equal(got, unhex(t, tt.want)) {
			t.Errorf("protocol.AppendArray(%d) = % x, want %s", tt.n, got, tt.want)
		}
	}
}

func TestAppendStringAndBinUseSmallestHeader(t *testing.T) {
	tests := []struct {
		n        int
		str, bin string // expected headers
	}{
		{0, "a0", "c4 00"},
		{31, "bf", "c4 1f"},
		{32, "d9 20", "c4 20"},
		{255, "d9 ff", "c4 ff"},
		{256, "da 01 00", "c5 01 00"},
		{65535, "da ff ff", "c5 ff ff"},
		{65536, "db 00 01 00 00", "c6 00 01 00 00"},
	}
	for _, tt := range tests {
		s := strings.Repeat("x", tt.n)
		got := protocol.AppendStr(nil, s)
		if h := unhex(t, tt.str); !bytes.HasPrefix(got, h) || len(got) != len(h)+tt.n {
			t.Errorf("protocol.AppendStr(len %d) header % x, want %s", tt.n, got[:min(5, len(got))], tt.str)
		}
		var back string
		if err := msgpack.Unmarshal(got, &back); err != nil || back != s {
			t.Errorf("msgpack does not decode the string of length %d: %v", tt.n, err)
		}
		got = appendBin(nil, []byte(s))
		if h := unhex(t, tt.bin); !bytes.HasPrefix(got, h) || len(got) != len(h)+tt.n {
			t.Errorf("appendBin(len %d) header % x, want %s", tt.n, got[:min(5, len(got))], tt.bin)
		}
		var backb []byte
		if err := msgpack.Unmarshal(got, &backb); err != nil || string(backb) != s {
			t.Errorf("msgpack does not decode the bin of length %d: %v", tt.n, err)
		}
	}
}

func TestAppendFloatsAreBigEndianIEEE754(t *testing.T) {
	if got, want := appendFloat32(nil, 1.5), unhex(t, "ca 3f c0 00 00"); !bytes.Equal(got, want) {
		t.Errorf("appendFloat32(1.5) = % x, want % x", got, want)
	}
	if got, want := protocol.AppendFloat64(nil, -2), unhex(t, "cb c0 00 00 00 00 00 00 00"); !bytes.Equal(got, want) {
		t.Errorf("protocol.AppendFloat64(-2) = % x, want % x", got, want)
	}
}

func TestCloseArrayWritesTheRealHeader(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 300, 70000} {
		dst := []byte{0xaa}
		dst, pos := reserveArray(dst)
		var elems []byte
		for i := range n {
			elems = protocol.AppendUint(elems, uint64(i%200))
		}
		dst = append(dst, elems...)
		dst = closeArray(dst, pos, n)
		want := append(protocol.AppendArray([]byte{0xaa}, n), elems...)
		if !bytes.Equal(dst, want) {
			t.Errorf("n=%d: closeArray produced %d bytes, want %d", n, len(dst), len(want))
		}
	}
}

// TestReaderSkipAgreesWithMsgpack checks skip on values of every type, as the library
// encodes them.
func TestReaderSkipAgreesWithMsgpack(t *testing.T) {
	type inner struct {
		A int
		B []string
		C map[string]float64
	}
	values := []any{
		nil, true, false, 0, -1, -33, 200, 70000, -70000, uint64(math.MaxUint64), int64(math.MinInt64),
		float32(1.5), 2.5, "", "short", strings.Repeat("s", 300), strings.Repeat("s", 70000),
		[]byte{}, []byte("bin"), bytes.Repeat([]byte{1}, 300),
		[]any{}, []any{1, "a", []any{2, []any{3}}}, make([]int, 20), make([]int, 70000),
		map[string]any{"a": 1, "b": map[string]any{"c": []any{nil}}},
		inner{A: 1, B: []string{"x", "y"}, C: map[string]float64{"z": 3}},
		time.Unix(1, 2), time.Unix(1<<40, 0), // timestamp ext: fixext 8 / ext 8
	}
	for _, v := range values {
		enc, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		in := append(append([]byte{}, enc...), 0x01) // a following value
		r := reader{b: in}
		got, err := r.skip()
		if err != nil || !bytes.Equal(got, enc) {
			t.Errorf("skip(%T) = % x, %v; want the %d bytes of the value", v, got[:min(8, len(got))], err, len(enc))
		}
	}
	for _, ext := range []string{"d4 01 aa", "d5 01 aa bb", "d6 01 00 00 00 00", "d8 01" + strings.Repeat(" 00", 16), "c7 01 05 aa", "c8 00 01 05 aa", "c9 00 00 00 01 05 aa"} {
		enc := unhex(t, ext)
		r := reader{b: enc}
		if got, err := r.skip(); err != nil || !bytes.Equal(got, enc) {
			t.Errorf("skip(%s) = % x, %v", ext, got, err)
		}
	}
}

func TestReaderSkipRejectsTruncatedAndReserved(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"empty", "", errTruncated},
		{"reserved code c1", "c1", errBadCode},
		{"fixstr short", "a3 61 62", errTruncated},
		{"str8 short", "d9 05 61", errTruncated},
		{"uint16 short", "cd 01", errTruncated},
		{"float64 short", "cb 00 00 00", errTruncated},
		{"fixarray missing element", "92 01", errTruncated},
		{"array32 longer than input", "dd ff ff ff ff 00", errTruncated},
		{"map16 missing value", "de 00 01 01", errTruncated},
		{"ext8 missing type", "c7 00", errTruncated},
		{"fixext16 short", "d8 01 00", errTruncated},
		{"nested reserved code", "92 01 c1", errBadCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reader{b: unhex(t, tt.in)}
			if _, err := r.skip(); !errors.Is(err, tt.want) {
				t.Errorf("skip(%s) error = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

// TestReaderSkipDoesNotRecurse skips a million nested arrays: a recursive skipper would use
// a stack proportional to the nesting.
func TestReaderSkipDoesNotRecurse(t *testing.T) {
	const depth = 1 << 20
	in := append(bytes.Repeat([]byte{0x91}, depth), 0x00)
	r := reader{b: in}
	got, err := r.skip()
	if err != nil || len(got) != len(in) {
		t.Fatalf("skip of %d nested arrays: %d bytes, %v", depth, len(got), err)
	}
}

func TestReaderUintAcceptsEveryNonNegativeIntFormat(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  error
	}{
		{"05", 5, nil},
		{"cc 05", 5, nil},
		{"cd 00 05", 5, nil},
		{"ce 00 00 00 05", 5, nil},
		{"cf 00 00 00 00 00 00 00 05", 5, nil},
		{"d0 05", 5, nil},
		{"d1 00 05", 5, nil},
		{"d2 00 00 00 05", 5, nil},
		{"d3 00 00 00 00 00 00 00 05", 5, nil},
		{"ff", 0, errNotUint},
		{"d0 80", 0, errNotUint},
		{"d3 80 00 00 00 00 00 00 00", 0, errNotUint},
		{"c0", 0, errNotUint},
		{"ca 00 00 00 00", 0, errNotUint},
		{"cd 00", 0, errTruncated},
	}
	for _, tt := range tests {
		r := reader{b: unhex(t, tt.in)}
		got, err := r.uint()
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("uint(%s) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestReaderArrayLenRejectsLengthBeyondInput(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  error
	}{
		{"90", 0, nil},
		{"92 00 00", 2, nil},
		{"dc 00 02 00 00", 2, nil},
		{"dd 00 00 00 02 00 00", 2, nil},
		{"93 00 00", 0, errTruncated},
		{"dd 7f ff ff ff", 0, errTruncated},
		{"80", 0, errNotArray},
		{"", 0, errTruncated},
	}
	for _, tt := range tests {
		r := reader{b: unhex(t, tt.in)}
		got, err := r.arrayLen()
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("arrayLen(%s) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// FuzzReaderSkip checks skip against the library's decoder: whatever the library reads as
// one value, skip reads as the same bytes.
func FuzzReaderSkip(f *testing.F) {
	f.Add([]byte{0x92, 0x01, 0xa1, 'x'})
	f.Add([]byte{0x81, 0xa1, 'k', 0xc7, 0x01, 0x05, 0xaa})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := reader{b: in}
		got, err := r.skip()
		dec := msgpack.NewDecoder(bytes.NewReader(in))
		raw, libErr := dec.DecodeRaw()
		if libErr == nil && (err != nil || !bytes.Equal(got, raw)) {
			t.Fatalf("skip(% x) = % x, %v; the library reads % x", in, got, err, raw)
		}
		if err == nil && len(got) == 0 {
			t.Fatalf("skip(% x) read nothing", in)
		}
	})
}
