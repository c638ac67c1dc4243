package main

import (
	"bytes"
	"math"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/examples/shooter"
)

// marshal encodes v as the server does, and also in the widest forms, since the protocol
// lets a peer use any integer encoding.
func encodings(t *testing.T, v any) [][]byte {
	t.Helper()
	compact, err := engine.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var wide bytes.Buffer
	enc := msgpack.NewEncoder(&wide)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return [][]byte{compact, wide.Bytes()}
}

func TestReadIntegersOfEveryEncoding(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		all := encodings(t, v) // shortest form, and int64's 0xd3
		if v >= 0 {
			all = append(all, encodings(t, uint64(v))...) // and uint64's 0xcf
		}
		for _, b := range all {
			r := rd{b: b}
			if got := r.int(); got != v || r.err != nil || r.off != len(b) {
				t.Errorf("% x: read %d (err %v, %d of %d bytes), want %d", b, got, r.err, r.off, len(b), v)
			}
		}
	}
	r := rd{b: []byte{0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}} // 2^63 does not fit an int64
	if r.int(); r.err == nil {
		t.Error("read 2^63 as an int64")
	}
}

func TestReadScalars(t *testing.T) {
	tests := []struct {
		name string
		v    any
		read func(r *rd) any
		want any
	}{
		{"float64", 1500.25, func(r *rd) any { return r.number() }, 1500.25},
		{"float32", float32(2.5), func(r *rd) any { return r.number() }, 2.5},
		{"int as number", 42, func(r *rd) any { return r.number() }, 42.0},
		{"true", true, func(r *rd) any { return r.bool() }, true},
		{"false", false, func(r *rd) any { return r.bool() }, false},
		{"fixstr", "CAT", func(r *rd) any { return string(r.str()) }, "CAT"},
		{"str8", string(bytes.Repeat([]byte("x"), 200)), func(r *rd) any { return len(r.str()) }, 200},
		{"str16", string(bytes.Repeat([]byte("x"), 70000)), func(r *rd) any { return len(r.str()) }, 70000},
		{"nil as str", nil, func(r *rd) any { return len(r.str()) }, 0},
		{"array16", make([]int, 20), func(r *rd) any { return r.arrayLen() }, 20},
		{"map", map[string]int{"a": 1}, func(r *rd) any { return r.mapLen() }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, b := range encodings(t, tt.v) {
				r := rd{b: b}
				if got := tt.read(&r); got != tt.want || r.err != nil {
					t.Errorf("% x: read %v (err %v), want %v", head(b), got, r.err, tt.want)
				}
			}
		})
	}
}

// TestSkipSkipsWholeValues checks skip against every kind of value, nested.
func TestSkipSkipsWholeValues(t *testing.T) {
	values := []any{
		nil, true, 7, -7, 300, -300, 1 << 40, 1.5, float32(1.5), "s", string(make([]byte, 300)),
		[]byte{1, 2, 3}, make([]byte, 70000), []any{1, []any{2, map[string]any{"k": []int{3}}}},
		map[string]any{"a": map[string]any{"b": nil}, "c": []string{"d"}}, msgpack.RawMessage{0xd6, 0xff, 0, 0, 0, 1},
	}
	for _, v := range values {
		for _, b := range encodings(t, v) {
			b = append(b, 0x2a) // a value after: skip must stop before it
			r := rd{b: b}
			raw := r.raw()
			if r.err != nil || len(raw) != len(b)-1 || r.int() != 0x2a {
				t.Errorf("% x: skipped %d bytes (err %v), want %d", head(b), len(raw), r.err, len(b)-1)
			}
		}
	}
}

// TestScannerFailsOnTruncatedInput cuts valid messages short everywhere: every read must
// fail cleanly, never panic or read past the end.
func TestScannerFailsOnTruncatedInput(t *testing.T) {
	msg, _ := engine.Marshal([]any{18, []any{30, 0, []any{[]any{1, 1, []any{"A", 7}}}, []any{}, []any{}}, map[string]any{"x": 1.5}})
	for i := range len(msg) {
		r := rd{b: msg[:i]}
		r.skip()
		if r.err == nil {
			t.Errorf("skip of the first %d of %d bytes succeeded", i, len(msg))
		}
	}
}

func FuzzScanner(f *testing.F) {
	for _, v := range []any{[]any{17, 1, "R", 1, "T", 0, 60, 30, ""}, map[string]any{"by": 3, "hit": 0}, []any{18, []any{1, 0, []any{}, []any{}, []any{}}}} {
		b, _ := engine.Marshal(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := rd{b: b}
		r.skip()
		if r.err == nil && r.off > len(b) {
			t.Fatalf("read %d bytes of %d", r.off, len(b))
		}
		r.reset(b)
		for range r.arrayLen() {
			r.str()
		}
	})
}

// TestAppendMatchesTheServerEncoder: the bots' hand encoding is the shortest form, the one
// engine.Marshal writes.
func TestAppendMatchesTheServerEncoder(t *testing.T) {
	for _, v := range []int64{0, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, -1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1} {
		want, _ := engine.Marshal(v)
		if got := appendInt(nil, v); !bytes.Equal(got, want) {
			t.Errorf("appendInt(%d) = % x, want % x", v, got, want)
		}
	}
	for _, s := range []string{"", "letter", string(make([]byte, 31)), string(make([]byte, 32)), string(make([]byte, 256))} {
		want, _ := engine.Marshal(s)
		if got := appendStr(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendStr(len %d) = % x, want % x", len(s), head(got), head(want))
		}
	}
	want, _ := engine.Marshal(1500.25)
	if got := appendFloat64(nil, 1500.25); !bytes.Equal(got, want) {
		t.Errorf("appendFloat64 = % x, want % x", got, want)
	}
}

// TestShooterInputEncoding: the bots write exactly what msgpack makes of shooter.Input.
func TestShooterInputEncoding(t *testing.T) {
	for _, in := range []shooter.Input{
		{Keys: shooter.KeyUp | shooter.KeyLeft, Aim: -3141, Fire: shooter.FireBlaster},
		{Keys: 0, Aim: 0, Fire: 0},
		{Keys: shooter.KeyDown, Aim: 3141, Fire: shooter.FireBlaster | shooter.FireRocket},
	} {
		want, err := engine.Marshal([]any{engine.KindInput, 300, in})
		if err != nil {
			t.Fatal(err)
		}
		b := appendUint(appendUint(appendArray(nil, 3), engine.KindInput), 300)
		b = appendArray(b, 3)
		b = appendUint(b, uint64(in.Keys))
		b = appendInt(b, int64(in.Aim))
		b = appendUint(b, uint64(in.Fire))
		if !bytes.Equal(b, want) {
			t.Errorf("%+v: % x, want % x", in, b, want)
		}
	}
}

// TestCrosswordInputEncoding: the game decodes the bots' letters and cursor moves.
func TestCrosswordInputEncoding(t *testing.T) {
	b := &bot{r: &runner{}}
	letter := b.beginInput(0)
	letter = appendMap(letter, 4)
	letter = appendStr(appendStr(letter, "kind"), "letter")
	letter = appendInt(appendStr(letter, "row"), 3)
	letter = appendInt(appendStr(letter, "col"), 12)
	letter = append(appendStr(letter, "letter"), 0xa1, 'Q')
	var msg struct {
		_msgpack struct{} `msgpack:",as_array"`
		Kind     int
		Seq      uint32
		Input    crossword.Input
	}
	if err := msgpack.Unmarshal(letter, &msg); err != nil {
		t.Fatal(err)
	}
	want := crossword.Input{Kind: "letter", Row: 3, Col: 12, Letter: "Q"}
	if msg.Kind != engine.KindInput || msg.Seq != 1 || msg.Input != want {
		t.Errorf("decoded %+v, want [3, 1, %+v]", msg, want)
	}
}
