package protocol

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// encodings encodes v as the server does (Marshal), and also in the widest forms, since the
// protocol lets a peer use any integer encoding.
func encodings(t *testing.T, v any) [][]byte {
	t.Helper()
	compact, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var wide bytes.Buffer
	if err := msgpack.NewEncoder(&wide).Encode(v); err != nil {
		t.Fatal(err)
	}
	return [][]byte{compact, wide.Bytes()}
}

// head shortens b for an error message.
func head(b []byte) []byte { return b[:min(len(b), 16)] }

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadIntegersOfEveryEncoding(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		all := encodings(t, v) // shortest form, and int64's 0xd3
		if v >= 0 {
			all = append(all, encodings(t, uint64(v))...) // and uint64's 0xcf
		}
		for _, b := range all {
			r := NewReader(b)
			if got := r.Int(); got != v || r.Err() != nil || r.Offset() != len(b) {
				t.Errorf("% x: Int %d (err %v, %d of %d bytes), want %d", b, got, r.Err(), r.Offset(), len(b), v)
			}
			r.Reset(b)
			got := r.Uint()
			switch {
			case v < 0 && !errors.Is(r.Err(), ErrRange):
				t.Errorf("% x: Uint %d (err %v), want ErrRange", b, got, r.Err())
			case v >= 0 && (got != uint64(v) || r.Err() != nil):
				t.Errorf("% x: Uint %d (err %v), want %d", b, got, r.Err(), v)
			}
		}
	}
	r := NewReader([]byte{0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}) // 2^63 does not fit an int64
	if r.Int(); !errors.Is(r.Err(), ErrRange) {
		t.Errorf("Int of 2^63: err %v, want ErrRange", r.Err())
	}
	r.Reset([]byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if v := r.Uint(); v != math.MaxUint64 || r.Err() != nil {
		t.Errorf("Uint of 2^64-1: %d (err %v)", v, r.Err())
	}
}

func TestReadScalars(t *testing.T) {
	tests := []struct {
		name string
		v    any
		read func(r *Reader) any
		want any
	}{
		{"float64", 1500.25, func(r *Reader) any { return r.Float() }, 1500.25},
		{"float32", float32(2.5), func(r *Reader) any { return r.Float() }, 2.5},
		{"int as float", 42, func(r *Reader) any { return r.Float() }, 42.0},
		{"negative int as float", -42, func(r *Reader) any { return r.Float() }, -42.0},
		{"true", true, func(r *Reader) any { return r.Bool() }, true},
		{"false", false, func(r *Reader) any { return r.Bool() }, false},
		{"fixstr", "CAT", func(r *Reader) any { return string(r.Str()) }, "CAT"},
		{"str8", strings.Repeat("x", 200), func(r *Reader) any { return len(r.Str()) }, 200},
		{"str16", strings.Repeat("x", 70000), func(r *Reader) any { return len(r.Str()) }, 70000},
		{"nil as str", nil, func(r *Reader) any { return len(r.Str()) }, 0},
		{"nil", nil, func(r *Reader) any { return r.IsNil() }, true},
		{"not nil", 0, func(r *Reader) any { return r.IsNil() || r.Int() != 0 }, false},
		{"array16", make([]int, 20), func(r *Reader) any { return r.ArrayLen() }, 20},
		{"map", map[string]int{"a": 1}, func(r *Reader) any { return r.MapLen() }, 1},
		{"map16", map[int]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 10: 10, 11: 11, 12: 12, 13: 13, 14: 14, 15: 15, 16: 16}, func(r *Reader) any { return r.MapLen() }, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, b := range encodings(t, tt.v) {
				r := NewReader(b)
				if got := tt.read(&r); got != tt.want || r.Err() != nil {
					t.Errorf("% x: read %v (err %v), want %v", head(b), got, r.Err(), tt.want)
				}
			}
		})
	}
}

// TestReadRejectsOtherTypes: a read of the wrong type fails with ErrType, reads nothing,
// and every later read returns a zero value (the error is sticky).
func TestReadRejectsOtherTypes(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		read func(r *Reader)
	}{
		{"str as int", "a1 78", func(r *Reader) { r.Int() }},
		{"float as uint", "ca 00 00 00 00", func(r *Reader) { r.Uint() }},
		{"nil as uint", "c0", func(r *Reader) { r.Uint() }},
		{"map as array", "80", func(r *Reader) { r.ArrayLen() }},
		{"array as map", "90", func(r *Reader) { r.MapLen() }},
		{"int as str", "07", func(r *Reader) { r.Str() }},
		{"int as bool", "01", func(r *Reader) { r.Bool() }},
		{"bin as str", "c4 01 78", func(r *Reader) { r.Str() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(unhex(t, tt.hex))
			tt.read(&r)
			if !errors.Is(r.Err(), ErrType) || r.Offset() != 0 {
				t.Fatalf("err %v after %d bytes, want ErrType after 0", r.Err(), r.Offset())
			}
			if r.Raw() != nil || r.Int() != 0 || r.Err() != ErrType {
				t.Error("reads after the error returned values or replaced the error")
			}
		})
	}
}

// TestSkipSkipsWholeValues checks Skip (through Raw) against every kind of value, nested.
func TestSkipSkipsWholeValues(t *testing.T) {
	values := []any{
		nil, true, 7, -7, 300, -300, 1 << 40, 1.5, float32(1.5), "s", string(make([]byte, 300)),
		[]byte{1, 2, 3}, make([]byte, 70000), []any{1, []any{2, map[string]any{"k": []int{3}}}},
		map[string]any{"a": map[string]any{"b": nil}, "c": []string{"d"}}, msgpack.RawMessage{0xd6, 0xff, 0, 0, 0, 1},
		make([]any, 70000), msgpack.RawMessage{0xc7, 2, 5, 1, 2}, msgpack.RawMessage{0xd8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	}
	for _, v := range values {
		for _, b := range encodings(t, v) {
			b = append(b, 0x2a) // a value after: Skip must stop before it
			r := NewReader(b)
			raw := r.Raw()
			if r.Err() != nil || len(raw) != len(b)-1 || r.Int() != 0x2a || r.Len() != 0 {
				t.Errorf("% x: skipped %d bytes (err %v), want %d", head(b), len(raw), r.Err(), len(b)-1)
			}
		}
	}
}

// TestSkippedMap: Skip notes a map header at any depth, and nothing else (a str holding the
// byte of a fixmap is not one).
func TestSkippedMap(t *testing.T) {
	for _, tt := range []struct {
		hex  string
		want bool
	}{
		{"92 01 02", false},
		{"a1 81", false},
		{"c4 01 80", false},
		{"81 a1 6b 01", true},
		{"91 91 81 a1 6b 90", true},
		{"de 00 00", true},
		{"df 00 00 00 00", true},
	} {
		r := NewReader(unhex(t, tt.hex))
		if r.Skip(); r.Err() != nil || r.SkippedMap() != tt.want {
			t.Errorf("%s: SkippedMap %v (err %v), want %v", tt.hex, r.SkippedMap(), r.Err(), tt.want)
		}
		if r.Reset(nil); r.SkippedMap() {
			t.Error("Reset kept SkippedMap")
		}
	}
}

// TestSkipRejectsMalformedValues: what Skip refuses, with the error it names.
func TestSkipRejectsMalformedValues(t *testing.T) {
	tests := []struct {
		name, hex string
		want      error
	}{
		{"empty", "", ErrTruncated},
		{"reserved code c1", "c1", ErrInvalid},
		{"fixstr short", "a3 61 62", ErrTruncated},
		{"str8 short", "d9 05 61", ErrTruncated},
		{"uint16 short", "cd 01", ErrTruncated},
		{"float64 short", "cb 00 00 00", ErrTruncated},
		{"fixarray missing element", "92 01", ErrTruncated},
		{"array32 longer than input", "dd ff ff ff ff 00", ErrTruncated},
		{"map16 missing value", "de 00 01 01", ErrTruncated},
		{"map32 claims 2^32 pairs", "df ff ff ff ff 00 00", ErrTruncated},
		{"ext8 missing type", "c7 00", ErrTruncated},
		{"fixext16 short", "d8 01 00", ErrTruncated},
		{"nested reserved code", "92 01 c1", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(unhex(t, tt.hex))
			if r.Skip(); !errors.Is(r.Err(), tt.want) {
				t.Errorf("err %v, want %v", r.Err(), tt.want)
			}
		})
	}
}

// TestHeadersAreBoundedByTheMessage: an array or map header that claims more values than
// bytes are left fails at once, so that no caller loops or allocates by a forged count.
func TestHeadersAreBoundedByTheMessage(t *testing.T) {
	for _, tt := range []struct {
		hex  string
		read func(r *Reader) int
	}{
		{"93 00 00", (*Reader).ArrayLen},
		{"dd 7f ff ff ff", (*Reader).ArrayLen},
		{"dc 00 03 01 02", (*Reader).ArrayLen},
		{"82 01 02 03", (*Reader).MapLen},
		{"df 00 00 00 02 01 02 03", (*Reader).MapLen},
	} {
		r := NewReader(unhex(t, tt.hex))
		if n := tt.read(&r); n != 0 || !errors.Is(r.Err(), ErrTruncated) {
			t.Errorf("%s: %d (err %v), want ErrTruncated", tt.hex, n, r.Err())
		}
	}
}

// TestReaderFailsOnTruncatedInput cuts a valid message short everywhere: every read must
// fail cleanly, never panic or read past the end.
func TestReaderFailsOnTruncatedInput(t *testing.T) {
	msg, _ := Marshal([]any{18, []any{30, 0, []any{[]any{1, 1, []any{"A", 7}}}, []any{}, []any{}}, map[string]any{"x": 1.5}})
	for i := range len(msg) {
		r := NewReader(msg[:i])
		if r.Skip(); !errors.Is(r.Err(), ErrTruncated) {
			t.Errorf("Skip of the first %d of %d bytes: err %v", i, len(msg), r.Err())
		}
	}
}

// TestReaderDoesNotAllocate reads a joined message and a snapshot envelope the way a bot
// does, and asks for zero allocations: the point of the Reader.
func TestReaderDoesNotAllocate(t *testing.T) {
	joined, _ := Marshal([]any{KindJoined, 1, "room", 7, "token", 100, 60, 30, ""})
	snap, _ := Marshal([]any{KindSnapshot, []any{31, 30, []any{}, []any{}, []any{[]any{1, 1, 5}}}})
	var r Reader
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(joined)
		n := r.ArrayLen()
		sink += int(r.Uint()) + int(r.Uint()) + len(r.Str()) + int(r.Uint()) + len(r.Str())
		for range n - 5 {
			r.Skip()
		}
		r.Reset(snap)
		r.ArrayLen()
		r.Uint()
		sink += len(r.Raw())
		if r.Err() != nil {
			panic(r.Err())
		}
	})
	if allocs != 0 {
		t.Errorf("%.0f allocations per message pair, want 0", allocs)
	}
	_ = sink
}

func FuzzReader(f *testing.F) {
	for _, v := range []any{[]any{17, 1, "R", 1, "T", 0, 60, 30, ""}, map[string]any{"by": 3, "hit": 0}, []any{18, []any{1, 0, []any{}, []any{}, []any{}}}} {
		b, _ := Marshal(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		raw := r.Raw()
		if r.Err() == nil {
			if r.Offset() > len(b) || len(raw) != r.Offset() {
				t.Fatalf("read %d bytes of %d, raw %d", r.Offset(), len(b), len(raw))
			}
			// What Skip accepts, vmihailenco/msgpack reads to the same length.
			dec := msgpack.NewDecoder(bytes.NewReader(raw))
			if err := dec.Skip(); err != nil {
				t.Fatalf("% x: Skip accepts, msgpack says %v", head(raw), err)
			}
		}
		r.Reset(b)
		for range r.ArrayLen() {
			r.Str()
		}
		if r.Offset() > len(b) {
			t.Fatalf("read %d bytes of %d", r.Offset(), len(b))
		}
	})
}

// BenchmarkReadJoined is a bot's read of a joined message: header, integers, strings.
func BenchmarkReadJoined(b *testing.B) {
	msg, _ := Marshal([]any{KindJoined, 1, "room-abc", 7, "token-0123456789", 100, 60, 30, ""})
	var r Reader
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(msg)
		for range r.ArrayLen() {
			r.Skip()
		}
	}
}
