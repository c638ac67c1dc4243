package msgcheck

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestValid(t *testing.T) {
	deep := func(n int) []byte { return append(bytes.Repeat([]byte{0x91}, n), 0x01) }
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"fixint", []byte{0x05}, nil},
		{"negative fixint", []byte{0xff}, nil},
		{"nil", []byte{0xc0}, nil},
		{"input message", []byte{0x93, 0x03, 0x01, 0x81, 0xa1, 'n', 0x01}, nil},
		{"str8", []byte{0xd9, 0x02, 'h', 'i'}, nil},
		{"bin16", []byte{0xc5, 0x00, 0x01, 0xaa}, nil},
		{"float64", []byte{0xcb, 0, 0, 0, 0, 0, 0, 0, 0}, nil},
		{"fixext4", []byte{0xd6, 0x01, 1, 2, 3, 4}, nil},
		{"ext8", []byte{0xc7, 0x02, 0x05, 1, 2}, nil},
		{"empty map and array", []byte{0x92, 0x80, 0x90}, nil},
		{"map16", []byte{0xde, 0x00, 0x01, 0x01, 0x02}, nil},
		{"depth 16", deep(16), nil},
		{"empty", nil, ErrTruncated},
		{"str32 claiming 2 GiB", []byte{0x92, 0x06, 0xdb, 0x80, 0x00, 0x00, 0x00}, ErrTruncated},
		{"bin32 claiming 4 GiB", []byte{0xc6, 0xff, 0xff, 0xff, 0xff}, ErrTruncated},
		{"array32 claiming a million", []byte{0xdd, 0x00, 0x0f, 0x42, 0x40, 0x01}, ErrTruncated},
		{"map32 claiming 2^32 pairs", []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01}, ErrTruncated},
		{"fixarray missing an element", []byte{0x93, 0x01, 0x02}, ErrTruncated},
		{"fixmap missing a value", []byte{0x81, 0x01}, ErrTruncated},
		{"uint64 cut short", []byte{0xcf, 0, 0}, ErrTruncated},
		{"str16 header cut short", []byte{0xda, 0x00}, ErrTruncated},
		{"ext32 over the end", []byte{0xc9, 0, 0, 0, 9, 1, 2}, ErrTruncated},
		{"0xc1", []byte{0x91, 0xc1}, ErrInvalid},
		{"depth 17", deep(17), ErrTooDeep},
		{"depth a million", deep(1 << 20), ErrTooDeep},
		{"two values", []byte{0x01, 0x02}, ErrTrailing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := Valid(tc.in, 0); !errors.Is(err, tc.want) {
				t.Fatalf("Valid(% x) = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}

// FuzzValid holds Valid to the decoder it protects: what Valid accepts the decoder can skip
// completely, and what the decoder decodes whole within the depth, Valid accepts.
func FuzzValid(f *testing.F) {
	for _, s := range [][]byte{
		{0x93, 0x03, 0x01, 0x81, 0xa1, 'n', 0x01},
		{0xdb, 0x80, 0x00, 0x00, 0x00},
		{0xc7, 0x02, 0x05, 1, 2},
		{0x91, 0x91, 0x91, 0x90},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Valid(b, 0)
		if err == nil {
			d := msgpack.NewDecoder(bytes.NewReader(b))
			if err := d.Skip(); err != nil {
				t.Fatalf("Valid accepted % x, the decoder cannot skip it: %v", b, err)
			}
			if d.Buffered().(*bytes.Reader).Len() != 0 {
				t.Fatalf("Valid accepted % x with bytes left after the value", b)
			}
			return
		}
		if errors.Is(err, ErrTooDeep) {
			return
		}
		r := bytes.NewReader(b)
		if d := msgpack.NewDecoder(r); d.Skip() == nil && r.Len() == 0 {
			t.Fatalf("Valid refused % x (%v), the decoder skips it whole", b, err)
		}
	})
}

func BenchmarkValidInput(b *testing.B) {
	msg := []byte{0x93, 0x03, 0x2a, 0x94, 0x08, 0xcd, 0x04, 0xd2, 0x01, 0xcd, 0x01, 0x2c}
	b.ReportAllocs()
	for b.Loop() {
		if err := Valid(msg, 0); err != nil {
			b.Fatal(err)
		}
	}
}
