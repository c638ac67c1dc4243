package ws

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// utf8Kosme is "κόσμε", the Greek word of the Autobahn 6.x cases.
const utf8Kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

// utf8Cases follow the Autobahn testsuite's section 6 (after Markus Kuhn's UTF-8 decoder
// stress test) through the RFC 3629 §4 grammar. valid is checked against utf8.Valid too.
var utf8Cases = []struct {
	name  string
	in    string
	valid bool
}{
	// 6.1, 6.2, 6.5: valid text.
	{"empty", "", true},
	{"ASCII", "Hello, world! {\"x\":1}", true},
	{"mixed scripts", "Hello-µ@ßöäüàá-UTF-8!!", true},
	{"kosme", utf8Kosme, true},
	{"CJK and emoji", "こんにちは 世界 👋🏽", true},
	{"long ASCII run then multibyte", strings.Repeat("a", 37) + "é" + strings.Repeat("b", 19) + "€", true},
	// 6.7, 6.9, 6.11: first and last code point of each length, and other boundaries.
	{"U+0000", "\x00", true},
	{"U+007F", "\x7f", true},
	{"U+0080", "\xc2\x80", true},
	{"U+07FF", "\xdf\xbf", true},
	{"U+0800", "\xe0\xa0\x80", true},
	{"U+D7FF last before surrogates", "\xed\x9f\xbf", true},
	{"U+E000 first after surrogates", "\xee\x80\x80", true},
	{"U+FFFD replacement character", "\xef\xbf\xbd", true},
	{"U+FFFE noncharacter is valid", "\xef\xbf\xbe", true},
	{"U+FFFF noncharacter is valid", "\xef\xbf\xbf", true},
	{"U+FDD0 noncharacter is valid", "\xef\xb7\x90", true},
	{"U+10000", "\xf0\x90\x80\x80", true},
	{"U+10FFFE noncharacter is valid", "\xf4\x8f\xbf\xbe", true},
	{"U+10FFFF last code point", "\xf4\x8f\xbf\xbf", true},
	// 6.8, 6.10: above U+10FFFF, and 5- and 6-byte forms.
	{"U+110000", "\xf4\x90\x80\x80", false},
	{"U+13FFFF", "\xf4\xbf\xbf\xbf", false},
	{"U+1FFFFF four bytes", "\xf7\xbf\xbf\xbf", false},
	{"U+140000 lead F5", "\xf5\x80\x80\x80", false},
	{"U+200000 five bytes", "\xf8\x88\x80\x80\x80", false},
	{"U+3FFFFFF five bytes", "\xfb\xbf\xbf\xbf\xbf", false},
	{"U+4000000 six bytes", "\xfc\x84\x80\x80\x80\x80", false},
	{"U+7FFFFFFF six bytes", "\xfd\xbf\xbf\xbf\xbf\xbf", false},
	// 6.12: unexpected continuation bytes.
	{"lone 0x80", "\x80", false},
	{"lone 0xBF", "\xbf", false},
	{"two continuations", "\x80\xbf", false},
	{"continuation after a complete code point", "\xc2\x80\x80", false},
	{"continuation after ASCII", "abc\x80", false},
	// 6.13: lonely start bytes, followed by a space.
	{"lonely 2-byte start", "\xc2 ", false},
	{"lonely 3-byte start", "\xe1 ", false},
	{"lonely 4-byte start", "\xf1 ", false},
	{"lonely 5-byte start", "\xf8 ", false},
	{"lonely 6-byte start", "\xfc ", false},
	// 6.14, 6.15: last continuation byte missing, alone and concatenated.
	{"2-byte truncated", "\xc2", false},
	{"3-byte missing one", "\xe0\xa0", false},
	{"3-byte missing two", "\xe1", false},
	{"4-byte missing one", "\xf0\x90\x80", false},
	{"4-byte missing two", "\xf4\x8f", false},
	{"kosme with last byte missing", utf8Kosme[:len(utf8Kosme)-1], false},
	{"truncated then ASCII", "\xe1\xbd" + "a", false},
	{"concatenated incomplete sequences", "\xc0\xe0\x80\xf0\x80\x80\xf8\x88\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf", false},
	// 6.16: impossible bytes.
	{"0xFE", "\xfe", false},
	{"0xFF", "\xff", false},
	{"FE FE FF FF", "\xfe\xfe\xff\xff", false},
	// 6.17, 6.18, 6.19: overlong forms.
	{"overlong '/' in 2 bytes", "\xc0\xaf", false},
	{"overlong '/' in 3 bytes", "\xe0\x80\xaf", false},
	{"overlong '/' in 4 bytes", "\xf0\x80\x80\xaf", false},
	{"overlong '/' in 5 bytes", "\xf8\x80\x80\x80\xaf", false},
	{"overlong '/' in 6 bytes", "\xfc\x80\x80\x80\x80\xaf", false},
	{"maximum overlong 2 bytes", "\xc1\xbf", false},
	{"maximum overlong 3 bytes", "\xe0\x9f\xbf", false},
	{"maximum overlong 4 bytes", "\xf0\x8f\xbf\xbf", false},
	{"overlong NUL in 2 bytes", "\xc0\x80", false},
	{"overlong NUL in 3 bytes", "\xe0\x80\x80", false},
	{"overlong NUL in 4 bytes", "\xf0\x80\x80\x80", false},
	// 6.20, 6.21: UTF-16 surrogates, single and paired (CESU-8).
	{"U+D800", "\xed\xa0\x80", false},
	{"U+DB7F", "\xed\xad\xbf", false},
	{"U+DC00", "\xed\xb0\x80", false},
	{"U+DFFF", "\xed\xbf\xbf", false},
	{"U+D800 U+DC00 pair", "\xed\xa0\x80\xed\xb0\x80", false},
	{"U+DBFF U+DFFF pair", "\xed\xaf\xbf\xed\xbf\xbf", false},
	// 6.3, 6.4: invalid text after valid text; these also drive the fail-fast test.
	{"kosme then surrogate then text", utf8Kosme + "\xed\xa0\x80edited", false},
	{"kosme then U+110000 then text", utf8Kosme + "\xf4\x90\x80\x80edited", false},
	{"invalid after 40 bytes of ASCII", strings.Repeat("x", 40) + "\xc0\x80", false},
}

func TestUTF8ValidatorAgreesWithRFC3629(t *testing.T) {
	for _, tt := range utf8Cases {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			if utf8.Valid(in) != tt.valid {
				t.Fatalf("table says valid=%v, utf8.Valid disagrees", tt.valid)
			}
			if got := utf8Feed(in); got != tt.valid {
				t.Errorf("in one piece: %v, want %v", got, tt.valid)
			}
			for cut := 0; cut <= len(in); cut++ {
				if got := utf8Feed(in[:cut], in[cut:]); got != tt.valid {
					t.Errorf("cut at %d: %v, want %v", cut, got, tt.valid)
				}
			}
			pieces := make([][]byte, len(in))
			for i := range in {
				pieces[i] = in[i : i+1]
			}
			if got := utf8Feed(pieces...); got != tt.valid {
				t.Errorf("byte by byte: %v, want %v", got, tt.valid)
			}
		})
	}
}

// TestUTF8ValidatorFailsAtFirstImpossibleByte checks that write refuses the very byte after
// which no continuation could be valid, and not a byte later.
func TestUTF8ValidatorFailsAtFirstImpossibleByte(t *testing.T) {
	for _, tt := range utf8Cases {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			if got, want := utf8FailIndex(in), utf8FirstImpossible(in); got != want {
				t.Errorf("byte by byte fails at %d, want %d", got, want)
			}
		})
	}
	// Autobahn 6.4.x, the pieces as the testsuite sends them, and the byte that must fail.
	fixed := []struct {
		name   string
		pieces []string
		piece  int // index of the piece whose write returns false
		at     int // index of the failing byte in the whole message
	}{
		{"surrogate: fails at ED A0, not at the end (the brief's example)",
			[]string{"\xce\xba\xe1\xbd", "\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", "edited"}, 1, 12},
		{"6.4.1 U+110000 in the middle piece", []string{utf8Kosme, "\xf4\x90\x80\x80", "edited"}, 1, 12},
		{"6.4.2 F4 alone, then 90", []string{utf8Kosme + "\xf4", "\x90", "\x80\x80edited"}, 1, 12},
		{"overlong fails at its lead C0", []string{"ab", "\xc0", "\xaf"}, 1, 2},
		{"5-byte form fails at its lead F8", []string{"\xf8\x88\x80\x80\x80"}, 0, 0},
		{"overlong E0 fails at the second byte", []string{"\xe0", "\x80", "\xaf"}, 1, 1},
	}
	for _, tt := range fixed {
		t.Run(tt.name, func(t *testing.T) {
			var v utf8Validator
			for i, p := range tt.pieces {
				if ok := v.write([]byte(p)); ok != (i < tt.piece) {
					t.Fatalf("write of piece %d (%q) = %v", i, p, ok)
				}
				if i == tt.piece {
					break
				}
			}
			msg := []byte(strings.Join(tt.pieces, ""))
			if got := utf8FailIndex(msg); got != tt.at {
				t.Errorf("byte by byte fails at %d, want %d", got, tt.at)
			}
		})
	}
}

// TestUTF8ValidatorDecidesEveryShortInput compares, for every input of up to three bytes
// (and a sample of four), the one-piece answer with utf8.Valid and the fail-fast answer
// with the prefix rule.
func TestUTF8ValidatorDecidesEveryShortInput(t *testing.T) {
	limit := 1 << 24
	if testing.Short() {
		limit = 1 << 16
	}
	buf := make([]byte, 4)
	check := func(in []byte) {
		var v utf8Validator
		ok := v.write(in)
		if valid := ok && v.done(); valid != utf8.Valid(in) {
			t.Fatalf("% x: validator says %v, utf8.Valid %v", in, valid, utf8.Valid(in))
		}
		if ok != (utf8FirstImpossible(in) < 0) {
			t.Fatalf("% x: write = %v, but first impossible byte is %d", in, ok, utf8FirstImpossible(in))
		}
	}
	for n := 0; n < limit; n++ {
		switch {
		case n < 1<<8:
			buf[0] = byte(n)
			check(buf[:1])
		case n < 1<<16:
			buf[0], buf[1] = byte(n>>8), byte(n)
			check(buf[:2])
		default:
			buf[0], buf[1], buf[2] = byte(n>>16), byte(n>>8), byte(n)
			check(buf[:3])
		}
	}
	for b0 := 0xe0; b0 <= 0xff; b0++ {
		for b1 := range 256 {
			for _, b23 := range [][2]byte{{0x80, 0x80}, {0xbf, 0xbf}, {0x8f, 0x41}, {0x7f, 0x80}, {0x80, 0xc0}} {
				buf[0], buf[1], buf[2], buf[3] = byte(b0), byte(b1), b23[0], b23[1]
				check(buf)
			}
		}
	}
}

func TestUTF8ValidatorAcceptsEveryScalarValue(t *testing.T) {
	var v utf8Validator
	var buf [4]byte
	for r := rune(0); r <= utf8.MaxRune; r++ {
		n := utf8.EncodeRune(buf[:], r)
		if 0xd800 <= r && r <= 0xdfff {
			// EncodeRune writes U+FFFD for a surrogate; spell the CESU-8 form by hand.
			buf[0], buf[1], buf[2], n = 0xed, byte(0x80|(r>>6)&0x3f), byte(0x80|r&0x3f), 3
			v.reset()
			if v.write(buf[:n]) {
				t.Fatalf("surrogate U+%04X (% x) accepted", r, buf[:n])
			}
			continue
		}
		v.reset()
		if !v.write(buf[:n]) || !v.done() {
			t.Fatalf("U+%04X (% x) refused", r, buf[:n])
		}
	}
}

func TestUTF8ValidatorStaysFailedUntilReset(t *testing.T) {
	var v utf8Validator
	if v.write([]byte("ok\xff")) {
		t.Fatal("0xFF accepted")
	}
	for _, p := range []string{"", "fine", "é"} {
		if v.write([]byte(p)) || v.done() {
			t.Fatalf("after a failure, write(%q) or done() reported success", p)
		}
	}
	v.reset()
	if !v.write([]byte("fine é")) || !v.done() {
		t.Fatal("reset did not clear the failure")
	}
	v.write([]byte("\xe2\x82"))
	if v.done() {
		t.Fatal("done() inside a code point")
	}
	v.reset()
	if !v.done() {
		t.Fatal("reset did not clear a partial code point")
	}
}

func TestUTF8ValidatorDoesNotAllocate(t *testing.T) {
	msg := []byte(strings.Repeat("hello κόσμε 👋 ", 20))
	var v utf8Validator
	if n := testing.AllocsPerRun(100, func() {
		v.reset()
		v.write(msg[:7])
		v.write(msg[7:])
		v.done()
	}); n != 0 {
		t.Errorf("%v allocations per message", n)
	}
}

// FuzzUTF8Validator feeds the input in three pieces cut anywhere and compares the answer
// with utf8.Valid, then byte by byte to check that the failure comes at the first byte
// that makes the input impossible. The cuts are fractions of the length in 255ths.
// Inputs over 256 bytes are skipped: they add no paths (the fast path strides 16 bytes),
// and minimizing the long inputs the fuzzer finds interesting (loop hit counts) stalled
// every worker for seconds at a time.
func FuzzUTF8Validator(f *testing.F) {
	f.Add([]byte(utf8Kosme+"\xed\xa0\x80edited"), uint8(50), uint8(180))
	f.Fuzz(func(t *testing.T, in []byte, cut1, cut2 uint8) {
		if len(in) > 256 {
			return
		}
		a, b := int(cut1)*len(in)/255, int(cut2)*len(in)/255
		if a > b {
			a, b = b, a
		}
		if got, want := utf8Feed(in[:a], in[a:b], in[b:]), utf8.Valid(in); got != want {
			t.Fatalf("% x cut at %d and %d: %v, utf8.Valid %v", in, a, b, got, want)
		}
		if got, want := utf8FailIndex(in), utf8FirstImpossible(in); got != want {
			t.Fatalf("% x: fails at %d, first impossible byte is %d", in, got, want)
		}
	})
}

// utf8Feed validates a message given in pieces.
func utf8Feed(pieces ...[]byte) bool {
	var v utf8Validator
	for _, p := range pieces {
		if !v.write(p) {
			return false
		}
	}
	return v.done()
}

// utf8FailIndex feeds in byte by byte and returns the index of the byte whose write
// returned false, or -1.
func utf8FailIndex(in []byte) int {
	var v utf8Validator
	for i := range in {
		if !v.write(in[i : i+1]) {
			return i
		}
	}
	return -1
}

// utf8Prefixes holds every proper prefix of the encoding of every Unicode scalar value:
// the incomplete tails a valid message may be cut after. It is computed from
// utf8.EncodeRune, independently of the validator's automaton. A proper prefix leaves out
// the last byte, which holds the low 6 bits, and the length boundaries (U+0080, U+0800,
// U+10000) and the surrogate block are multiples of 64, so one rune in 64 covers them all.
var utf8Prefixes = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool)
	var buf [4]byte
	for r := rune(0); r <= utf8.MaxRune; r += 64 {
		if !utf8.ValidRune(r) {
			continue
		}
		n := utf8.EncodeRune(buf[:], r)
		for k := 1; k < n; k++ {
			m[string(buf[:k])] = true
		}
	}
	return m
})

// utf8FirstImpossible returns the index of the first byte of in after which in can no
// longer be the start of valid UTF-8, or -1 if every prefix is possible.
func utf8FirstImpossible(in []byte) int {
	prefixes := utf8Prefixes()
	for i := 0; i < len(in); {
		r, size := utf8.DecodeRune(in[i:])
		if r != utf8.RuneError || size > 1 {
			i += size
			continue
		}
		// No whole code point starts at i: find where the tail stops being a prefix of one.
		for k := i + 1; k <= len(in); k++ {
			if !prefixes[string(in[i:k])] {
				return k - 1
			}
		}
		return -1 // a valid but unfinished code point at the end
	}
	return -1
}

// BenchmarkUTF8Validator measures validating a text message in one write: chat or JSON
// game state that is all ASCII, and chat in several scripts. Each case runs the validator
// and utf8.Valid on the same bytes; utf8.Valid is the bar (it cannot take pieces).
func BenchmarkUTF8Validator(b *testing.B) {
	ascii := []byte(`{"t":"state","tick":48213,"players":[{"id":"p1","x":104.25,"y":-3.5,"hp":87},{"id":"p2","x":99.0,"y":12.75,"hp":100}]}`)
	mixed := []byte(`{"t":"chat","from":"Zoë","text":"κόσμε! こんにちは 世界 — gg 👋🏽, привет ça va?"}`)
	ascii = bytes.Repeat(ascii, 16<<10/len(ascii)+1)
	mixed = bytes.Repeat(mixed, 16<<10/len(mixed)+1)
	for _, in := range []struct {
		name string
		msg  []byte
	}{
		{"ascii-128B", ascii[:128]},
		{"ascii-16KiB", ascii[:16<<10]},
		{"mixed-128B", mixed[:utf8ValidPrefix(mixed, 128)]},
		{"mixed-16KiB", mixed[:utf8ValidPrefix(mixed, 16<<10)]},
	} {
		b.Run(in.name+"/validator", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.msg)))
			var v utf8Validator
			for b.Loop() {
				v.reset()
				if !v.write(in.msg) || !v.done() {
					b.Fatal("invalid")
				}
			}
		})
		b.Run(in.name+"/utf8.Valid", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.msg)))
			for b.Loop() {
				if !utf8.Valid(in.msg) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// utf8ValidPrefix returns n (at most len(p)), or less so as not to cut a code point.
func utf8ValidPrefix(p []byte, n int) int {
	n = min(n, len(p))
	for n < len(p) && n > 0 && !utf8.RuneStart(p[n]) {
		n--
	}
	return n
}
