package ws

import "encoding/binary"

// A text message must be valid UTF-8 (RFC 6455 §5.6), and an endpoint that finds it is not
// must fail the connection with 1007 (§8.1). The message may arrive in fragments, and a
// compressed one in inflated chunks, cut anywhere, even inside a code point; utf8Validator
// keeps the few bits of state a cut needs, and fails at the first byte that no valid
// continuation could follow, so a bad message is refused before the rest is read.
//
// Valid UTF-8 is the grammar of RFC 3629 §4:
//
//	UTF8-char   = UTF8-1 / UTF8-2 / UTF8-3 / UTF8-4
//	UTF8-1      = %x00-7F
//	UTF8-2      = %xC2-DF UTF8-tail
//	UTF8-3      = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
//	              %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
//	UTF8-4      = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
//	              %xF4 %x80-8F 2( UTF8-tail )
//	UTF8-tail   = %x80-BF
//
// so overlong forms (C0, C1, E0 80-9F, F0 80-8F), surrogates (ED A0-BF), code points above
// U+10FFFF (F4 90-BF, F5-FF) and the old 5- and 6-byte forms (F8-FD) are all refused at the
// first byte that rules them out. Noncharacters such as U+FFFE and U+FFFF are valid UTF-8.
//
// The grammar is a deterministic automaton of nine states (utf8Step), compiled into one
// 64-bit word per input byte: a state is a bit offset (a multiple of 6), and the 6 bits at
// that offset in a byte's word are the state after that byte. A step is a load and a
// shift, and as a shift reads only the low 6 bits of its count, steps chain unmasked.
// Runs of ASCII between code points skip the automaton 8 to 32 bytes at a time. Elsewhere
// it runs in blocks of 8 bytes with one test for refusal per block; refusal is a sink, so
// write still returns false for the piece that holds the first bad byte.

// utf8Validator validates a text message that arrives in pieces. The zero value is ready
// for a new message. It does not allocate.
type utf8Validator struct {
	state uint32 // one of the utf8S* states, as a bit offset into utf8Table
}

// The states of the automaton, as bit offsets into a utf8Table entry.
const (
	utf8SAccept  uint32 = iota * 6 // between code points
	utf8SReject                    // no continuation can make the input valid; a sink
	utf8SNeed1                     // one UTF8-tail to go
	utf8SNeed2                     // two UTF8-tails to go
	utf8SNeed3                     // three UTF8-tails to go
	utf8SAfterE0                   // E0: next A0-BF (80-9F would be overlong), then one tail
	utf8SAfterED                   // ED: next 80-9F (A0-BF would be a surrogate), then one tail
	utf8SAfterF0                   // F0: next 90-BF (80-8F would be overlong), then two tails
	utf8SAfterF4                   // F4: next 80-8F (90-BF would be above U+10FFFF), then two tails
	utf8States                     // count, times 6
)

// utf8Step is the automaton written out from the RFC 3629 grammar; utf8Table is built from it.
func utf8Step(s uint32, b byte) uint32 {
	tail := 0x80 <= b && b <= 0xBF
	switch s {
	case utf8SAccept:
		switch {
		case b <= 0x7F:
			return utf8SAccept
		case b <= 0xC1: // a tail with no lead, or C0/C1 (overlong two-byte forms)
			return utf8SReject
		case b <= 0xDF:
			return utf8SNeed1
		case b == 0xE0:
			return utf8SAfterE0
		case b == 0xED:
			return utf8SAfterED
		case b <= 0xEF:
			return utf8SNeed2
		case b == 0xF0:
			return utf8SAfterF0
		case b <= 0xF3:
			return utf8SNeed3
		case b == 0xF4:
			return utf8SAfterF4
		}
		return utf8SReject // F5-FF: above U+10FFFF, 5- and 6-byte forms, FE and FF
	case utf8SNeed1:
		if tail {
			return utf8SAccept
		}
	case utf8SNeed2:
		if tail {
			return utf8SNeed1
		}
	case utf8SNeed3:
		if tail {
			return utf8SNeed2
		}
	case utf8SAfterE0:
		if 0xA0 <= b && b <= 0xBF {
			return utf8SNeed1
		}
	case utf8SAfterED:
		if 0x80 <= b && b <= 0x9F {
			return utf8SNeed1
		}
	case utf8SAfterF0:
		if 0x90 <= b && b <= 0xBF {
			return utf8SNeed2
		}
	case utf8SAfterF4:
		if 0x80 <= b && b <= 0x8F {
			return utf8SNeed2
		}
	}
	return utf8SReject
}

// utf8Table[b] >> s & 63 is the state after byte b in state s.
var utf8Table = func() (t [256]uint64) {
	for b := range 256 {
		for s := uint32(0); s < utf8States; s += 6 {
			t[b] |= uint64(utf8Step(s, byte(b))) << s
		}
	}
	return t
}()

// reset prepares v for a new message.
func (v *utf8Validator) reset() { v.state = utf8SAccept }

// write feeds the next piece of the message. It returns false as soon as the input so far
// can no longer be the start of valid UTF-8, and from then on until reset.
func (v *utf8Validator) write(p []byte) bool {
	// s holds the state in its low 6 bits and junk above them: a shift only reads the low 6
	// bits of its count, so each automaton step is one load and one shift.
	s := uint64(v.state)
	if s == uint64(utf8SReject) {
		return false
	}
	p = p[:len(p):len(p)]
	for len(p) > 0 {
		if c := p[0]; c < 0x80 && s&63 == uint64(utf8SAccept) {
			// ASCII between code points: one byte, then probe 8, 16 and 32 bytes at a
			// time, so that the single spaces of non-Latin text cost little.
			p = p[1:]
			if len(p) > 8 && utf8Word(p)&utf8HighBits == 0 {
				p = p[8:]
				if len(p) > 16 && (utf8Word(p)|utf8Word(p[8:]))&utf8HighBits == 0 {
					p = p[16:]
					for len(p) > 32 && (utf8Word(p)|utf8Word(p[8:])|utf8Word(p[16:])|utf8Word(p[24:]))&utf8HighBits == 0 {
						p = p[32:]
					}
				}
			}
			continue
		}
		// Not ASCII, or inside a code point: run the automaton, 8 bytes at a time while
		// there are 8, with one test for refusal per block (the refused state is a sink).
		if len(p) >= 8 {
			_ = p[7]
			s = utf8Table[p[0]] >> (s & 63)
			s = utf8Table[p[1]] >> (s & 63)
			s = utf8Table[p[2]] >> (s & 63)
			s = utf8Table[p[3]] >> (s & 63)
			s = utf8Table[p[4]] >> (s & 63)
			s = utf8Table[p[5]] >> (s & 63)
			s = utf8Table[p[6]] >> (s & 63)
			s = utf8Table[p[7]] >> (s & 63)
			p = p[8:]
		} else {
			s = utf8Table[p[0]] >> (s & 63)
			p = p[1:]
		}
		if s&63 == uint64(utf8SReject) {
			v.state = utf8SReject
			return false
		}
	}
	v.state = uint32(s & 63)
	return true
}

const utf8HighBits = 0x8080808080808080 // the top bit of each byte of a word

// utf8Word reads 8 bytes; its only use is to test their top bits together.
func utf8Word(p []byte) uint64 { return binary.LittleEndian.Uint64(p) }

// done reports whether the input so far is valid UTF-8 that ends on a code point boundary,
// as the whole message must when its last fragment has arrived.
func (v *utf8Validator) done() bool { return v.state == utf8SAccept }
