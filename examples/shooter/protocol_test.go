package shooter

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestInputIsAThreeElementArray(t *testing.T) {
	in := Input{Keys: KeyUp | KeyRight, Aim: -1571, Fire: FireBlaster | FireRocket}
	b, err := msgpack.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	// What the page sends for the same input: [9, -1571, 3].
	want, _ := msgpack.Marshal([]any{9, -1571, 3})
	if !bytes.Equal(b, want) {
		t.Fatalf("encoded % x, want % x", b, want)
	}
	var got Input
	if err := msgpack.Unmarshal(b, &got); err != nil || got != in {
		t.Fatalf("decoded %+v, %v; want %+v", got, err, in)
	}
}

func TestInputDecoding(t *testing.T) {
	cases := []struct {
		name string
		wire any
		want Input
		err  bool
	}{
		{"all three", []any{15, 3141, 1}, Input{15, 3141, 1}, false},
		{"negative aim", []any{0, -3141, 0}, Input{0, -3141, 0}, false},
		{"the old four elements: the view goes on the message now", []any{4, 10, 0, 99}, Input{}, true},
		{"float aim rounded", []any{0, 1570.6, 0}, Input{0, 1571, 0}, false},
		{"too short", []any{1, 2}, Input{}, true},
		{"a map", map[string]int{"keys": 1}, Input{}, true},
		{"a string aim", []any{0, "up", 0}, Input{}, true},
		{"a string claiming 2 GiB", msgpack.RawMessage{0x93, 0, 0xdb, 0x7f, 0xff, 0xff, 0xff, 0, 0}, Input{}, true},
		{"an absurd float aim", []any{0, 1e300, 0}, Input{}, true},
		{"keys at their largest", []any{255, 0, 255}, Input{255, 0, 255}, false},
		{"keys 500 (was taken as 244)", []any{500, 0, 0}, Input{}, true},
		{"keys -1 (was taken as 255)", []any{-1, 0, 0}, Input{}, true},
		{"fire 256 (was taken as 0)", []any{0, 0, 256}, Input{}, true},
		{"fire 2^64-1", []any{0, 0, uint64(1<<64 - 1)}, Input{}, true},
		{"a float for keys", []any{1.5, 0, 0}, Input{}, true},
		{"an absurd integer aim", []any{0, int64(1) << 40, 0}, Input{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := msgpack.Marshal(c.wire)
			if err != nil {
				t.Fatal(err)
			}
			got := Input{Keys: 99, Aim: 99, Fire: 99} // leftovers must not survive
			err = msgpack.Unmarshal(b, &got)
			if (err != nil) != c.err || (err == nil && got != c.want) {
				t.Fatalf("got %+v, %v; want %+v, error %v", got, err, c.want, c.err)
			}

		})
	}
}

// TestInputRefusalsNameTheElement: an element out of range or of the wrong type is refused
// with its name and value, not wrapped (issue 12: 500 keys arrived as 244).
func TestInputRefusalsNameTheElement(t *testing.T) {
	tests := []struct {
		wire []any
		want string
	}{
		{[]any{500, 0, 0}, "keys 500 not in 0..255"},
		{[]any{-1, 0, 0}, "keys -1 not in 0..255"},
		{[]any{0, 0, 256}, "fire 256 not in 0..255"},
		{[]any{0, 0, uint64(1<<64 - 1)}, "fire 18446744073709551615 not in 0..255"},
		{[]any{1.5, 0, 0}, "keys must be an integer in 0..255, not a float"},
		{[]any{"w", 0, 0}, "keys must be an integer in 0..255"},
		{[]any{0, int64(1) << 40, 0}, "aim not in ±2147483647"},
		{[]any{0, "up", 0}, "aim must be a number"},
	}
	for _, tt := range tests {
		b, _ := msgpack.Marshal(tt.wire)
		var got Input
		err := msgpack.Unmarshal(b, &got)
		if err == nil || !strings.Contains(err.Error(), "shooter: input [keys, aim, fire]: "+tt.want) {
			t.Errorf("%v: %v, want an error saying %q", tt.wire, err, tt.want)
		}
	}
}

// The events go as arrays in field order, with integers in their shortest form, as the
// engine encodes them (compact integers): what the page and the load generator read.
func TestEventsAreArrays(t *testing.T) {
	cases := []struct {
		name  string
		event any
		want  []any
	}{
		{"shot", &ShotEvent{By: 3, X1: 1000, Y1: 600, X2: 1384, Y2: 20, Hit: 16777217},
			[]any{3, 1000, 600, 1384, 20, 16777217}},
		{"boom", &BoomEvent{X: 940, Y: 600, By: 3}, []any{940, 600, 3, 0}},
		{"kill", &KillEvent{Killer: 3, Victim: 4, Weapon: WeaponRocket, KillerName: "ada", VictimName: "bob"},
			[]any{3, 4, "rocket", "ada", "bob"}},
	}
	compact := func(v any) []byte {
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.UseCompactInts(true)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, c := range cases {
		got, want := compact(c.event), compact(c.want)
		if !bytes.Equal(got, want) {
			t.Errorf("%s encodes as % x, want % x", c.name, got, want)
		}
	}
	// A shot in 13 bytes: 96 03 cd 03 e8 cd 02 58 cd 05 68 14 00.
	if n := len(compact(&ShotEvent{By: 3, X1: 1000, Y1: 600, X2: 1384, Y2: 20})); n != 13 {
		t.Errorf("a shot that hit nobody takes %d bytes, want 13", n)
	}
}

// The engine decodes every input with a reused decoder into a reused value; at one input
// per player per tick that must not allocate.
func TestInputDecodingDoesNotAllocate(t *testing.T) {
	b, _ := msgpack.Marshal(Input{Keys: 10, Aim: 2000, Fire: 1})
	r := bytes.NewReader(b)
	dec := msgpack.NewDecoder(r)
	v := new(Input)
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(b)
		dec.Reset(r)
		if err := dec.Decode(v); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per input", allocs)
	}
}

// FuzzInputDecode checks that any bytes decode to an input or an error, never a panic, and
// that what decodes encodes back to the same input.
func FuzzInputDecode(f *testing.F) {
	for _, v := range []any{
		[]any{15, 3141, 1}, []any{8, 0, 2}, []any{0, -1.5, 0}, []any{1}, "x",
		msgpack.RawMessage{0x94, 0, 0, 0, 0xc6, 0x7f, 0xff, 0xff, 0xff}, // a fourth element claiming 2 GiB
	} {
		b, _ := msgpack.Marshal(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var in Input
		if msgpack.Unmarshal(b, &in) != nil {
			return
		}
		again, err := msgpack.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var back Input
		if err := msgpack.Unmarshal(again, &back); err != nil || back != in {
			t.Fatalf("%+v encodes to % x, which decodes to %+v, %v", in, again, back, err)
		}
	})
}
