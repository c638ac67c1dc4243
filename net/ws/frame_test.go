package ws

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestParseHeaderLengthEncodings(t *testing.T) {
	tests := []struct {
		name   string
		length int
		size   int
	}{
		{"7-bit", 125, 2},
		{"16-bit smallest", 126, 4},
		{"16-bit largest", 0xFFFF, 4},
		{"64-bit smallest", 0x10000, 10},
		{"64-bit large", 1 << 40, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, masked := range []bool{false, true} {
				b := appendHeader(nil, true, false, opBinary, tt.length, masked, 0x11223344)
				if want := headerSize(tt.length, masked); len(b) != want {
					t.Fatalf("encoded %d bytes, headerSize says %d", len(b), want)
				}
				var h header
				n, err := parseHeader(b, &h)
				if err != nil || n != len(b) {
					t.Fatalf("parse: n=%d err=%v", n, err)
				}
				if h.length != int64(tt.length) || h.masked != masked || !h.fin || h.op != opBinary {
					t.Fatalf("round trip mismatch: %+v", h)
				}
				if masked && h.maskKey != 0x11223344 {
					t.Fatalf("mask key %#x", h.maskKey)
				}
				// Every strict prefix is "need more bytes", never an error.
				for i := 0; i < len(b); i++ {
					if n, err := parseHeader(b[:i], &h); n != 0 || err != nil {
						t.Fatalf("prefix %d: n=%d err=%v", i, n, err)
					}
				}
			}
		})
	}
}

func TestParseHeaderRejectsNonMinimalLength(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"16-bit holding 125", []byte{0x82, 126, 0, 125}, errNonMinimalLength},
		{"64-bit holding 0xFFFF", append([]byte{0x82, 127}, binary.BigEndian.AppendUint64(nil, 0xFFFF)...), errNonMinimalLength},
		{"64-bit with MSB set", append([]byte{0x82, 127}, binary.BigEndian.AppendUint64(nil, 1<<63)...), errLengthMSB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h header
			if _, err := parseHeader(tt.b, &h); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseHeaderBits(t *testing.T) {
	var h header
	if _, err := parseHeader([]byte{0x71, 0x00}, &h); err != nil {
		t.Fatal(err)
	}
	if h.fin || !h.rsv1 || !h.rsv23 || h.op != opText {
		t.Fatalf("bits: %+v", h)
	}
	for op := opcode(0); op < 16; op++ {
		want := op <= 2 || (op >= 8 && op <= 10)
		if op.known() != want {
			t.Errorf("opcode %#x known=%v", op, op.known())
		}
		if op.isControl() != (op >= 8) {
			t.Errorf("opcode %#x isControl=%v", op, op.isControl())
		}
	}
}

func TestMaskBytesMatchesBytewiseDefinition(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	k := binary.LittleEndian.Uint32(key[:])
	for n := 0; n < 100; n++ {
		for start := 0; start < 4; start++ {
			src := make([]byte, n)
			for i := range src {
				src[i] = byte(i * 7)
			}
			want := bytes.Clone(src)
			for i := range want {
				want[i] ^= key[(start+i)%4]
			}
			got := bytes.Clone(src)
			// In two pieces, to check the returned offset.
			cut := n / 3
			pos := maskBytes(k, start, got[:cut])
			pos = maskBytes(k, pos, got[cut:])
			if !bytes.Equal(got, want) {
				t.Fatalf("n=%d start=%d: mismatch", n, start)
			}
			if pos != (start+n)%4 {
				t.Fatalf("n=%d start=%d: pos %d", n, start, pos)
			}
		}
	}
}

func BenchmarkMaskBytes(b *testing.B) {
	for _, n := range []int{64, 1024, 16 << 10} {
		p := make([]byte, n)
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				maskBytes(0xdeadbeef, 1, p)
			}
		})
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return itoa(n>>20) + "MiB"
	case n >= 1<<10:
		return itoa(n>>10) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// FuzzParseHeader checks that the header parser never panics and that whatever it accepts
// re-encodes to the same bytes (it accepts minimal encodings only).
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4})
	f.Add([]byte{0x82, 126, 1, 0})
	f.Add([]byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0})
	f.Add([]byte{0x88, 0x02, 0x03, 0xe8})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h header
		n, err := parseHeader(b, &h)
		if err != nil || n == 0 {
			return
		}
		if h.rsv23 {
			return // appendHeader cannot set RSV2/3
		}
		re := appendHeader(nil, h.fin, h.rsv1, h.op, int(h.length), h.masked, h.maskKey)
		if !bytes.Equal(re, b[:n]) {
			t.Fatalf("re-encoded %x, parsed from %x", re, b[:n])
		}
	})
}
