package protocol

import (
	"errors"
	"math"
)

// This file is the one msgpack scanner of the Go side of the protocol: gameclient and the
// load generator read every server message with it, and the engine's snapshot mirror shares
// its rules. Format names and first bytes are those of the msgpack specification's
// "Overview" table, https://github.com/msgpack/msgpack/blob/master/spec.md.
//
// Why not vmihailenco/msgpack's Decoder: it allocates for every string and raw value and
// decodes through reflection, and a load generator runs thousands of bots that each handle
// tens of messages a second. Reader reads the shapes PROTOCOL.md defines (arrays of
// integers, strings and nested values) straight from the message bytes, allocates nothing,
// and never recurses, so any input, however deep, costs time linear in its length. What it
// costs: values are read in order, by hand, and strings alias the message.

// Errors a Reader reports (Err). They are sentinel values for errors.Is.
var (
	// ErrTruncated means the message ends inside a value, or a header claims more bytes or
	// elements than the message holds.
	ErrTruncated = errors.New("protocol: msgpack value truncated, or a length exceeds the message")
	// ErrType means the value is not of the type asked for.
	ErrType = errors.New("protocol: msgpack value of another type")
	// ErrRange means an integer does not fit: negative for Uint, above 2^63-1 for Int.
	ErrRange = errors.New("protocol: msgpack integer out of range")
	// ErrInvalid means the byte 0xc1, which msgpack never uses.
	ErrInvalid = errors.New("protocol: msgpack byte 0xc1 (never used)")
)

// First bytes of the msgpack formats Reader and the Append functions handle.
const (
	mpNil     = 0xc0
	mpFalse   = 0xc2
	mpTrue    = 0xc3
	mpBin8    = 0xc4
	mpBin16   = 0xc5
	mpBin32   = 0xc6
	mpExt8    = 0xc7
	mpExt16   = 0xc8
	mpExt32   = 0xc9
	mpFloat32 = 0xca
	mpFloat64 = 0xcb
	mpUint8   = 0xcc
	mpUint64  = 0xcf
	mpInt8    = 0xd0
	mpInt64   = 0xd3
	mpFixExt1 = 0xd4 // fixext 1, 2, 4, 8, 16 are 0xd4..0xd8
	mpStr8    = 0xd9
	mpStr16   = 0xda
	mpStr32   = 0xdb
	mpArray16 = 0xdc
	mpArray32 = 0xdd
	mpMap16   = 0xde
	mpMap32   = 0xdf
)

// Reader scans msgpack values in a byte slice, one after the other. Its error is sticky:
// after the first failure every method returns a zero value and reads nothing, so a caller
// reads a whole message and checks Err once. The zero Reader reads an empty message; Reset
// gives it another. A Reader is a few words and may live on the stack or inside a
// connection's state, reused for every message.
type Reader struct {
	b      []byte
	off    int
	err    error
	sawMap bool
}

// NewReader returns a Reader of b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Reset makes r read b from its start, and clears the error.
func (r *Reader) Reset(b []byte) { *r = Reader{b: b} }

// Err is the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Offset is how many bytes have been read.
func (r *Reader) Offset() int { return r.off }

// SkippedMap reports whether Skip (or Raw) has passed over a map header since Reset. A
// caller that needs one encoding per value (package state sorts the keys of every map in a
// field it compares by its bytes) learns from it whether there is anything to sort, without
// walking the value a second time.
func (r *Reader) SkippedMap() bool { return r.sawMap }

// Len is how many bytes are left to read.
func (r *Reader) Len() int { return len(r.b) - r.off }

// Fail records err as the Reader's error, unless one is recorded already: for a caller that
// finds a value well formed but wrong for the protocol (a field mask wider than 64 bits, a
// tick above 32 bits), so that the rest of its reads stop as they would on bad bytes.
func (r *Reader) Fail(err error) { r.fail(err) }

func (r *Reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// next returns the next n bytes.
func (r *Reader) next(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)-r.off) {
		r.fail(ErrTruncated)
		return nil
	}
	p := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return p
}

// peek returns the next byte without reading it; ok is false at the end or after an error.
func (r *Reader) peek() (byte, bool) {
	if r.err != nil {
		return 0, false
	}
	if r.off >= len(r.b) {
		r.fail(ErrTruncated)
		return 0, false
	}
	return r.b[r.off], true
}

// be reads an n-byte (1, 2, 4 or 8) big-endian unsigned integer.
func (r *Reader) be(n uint64) uint64 {
	var v uint64
	for _, c := range r.next(n) {
		v = v<<8 | uint64(c)
	}
	return v
}

// count bounds a count of values by the bytes left (every value takes one at least), so that
// a forged header cannot make a caller loop, or size a buffer, by four billion.
func (r *Reader) count(n uint64) int {
	if r.err != nil {
		return 0
	}
	if n > uint64(len(r.b)-r.off) {
		r.fail(ErrTruncated)
		return 0
	}
	return int(n)
}

// IsNil reads a nil if one is next, and reports whether it did. Optional values of the
// protocol are nil when absent.
func (r *Reader) IsNil() bool {
	if r.err != nil || r.off >= len(r.b) || r.b[r.off] != mpNil {
		return false
	}
	r.off++
	return true
}

// IsUint reports whether the next value is an unsigned integer (a positive fixint or
// uint 8 to 64), without reading it: a v2 event names its event by index or by string.
func (r *Reader) IsUint() bool {
	if r.err != nil || r.off >= len(r.b) {
		return false
	}
	c := r.b[r.off]
	return c <= 0x7f || (c >= 0xcc && c <= 0xcf)
}

// IsPair reads the header of an array of two if one is next, and reports whether it did:
// a v2 snapshot's offset is a number or a pair of them (PROTOCOL.md, "The v2 snapshot").
func (r *Reader) IsPair() bool {
	if r.err != nil || r.off >= len(r.b) || r.b[r.off] != 0x92 {
		return false
	}
	r.off++
	return true
}

// ArrayLen reads an array header (fixarray, array 16, array 32) and returns how many values
// follow; the count is checked against the bytes left.
func (r *Reader) ArrayLen() int {
	if r.err == nil && r.off < len(r.b) { // fast path: fixarray, what the protocol sends
		if c := r.b[r.off]; c&0xf0 == 0x90 && int(c&0x0f) < len(r.b)-r.off {
			r.off++
			return int(c & 0x0f)
		}
	}
	c, ok := r.peek()
	if !ok {
		return 0
	}
	r.off++
	switch {
	case c&0xf0 == 0x90:
		return r.count(uint64(c & 0x0f))
	case c == mpArray16:
		return r.count(r.be(2))
	case c == mpArray32:
		return r.count(r.be(4))
	}
	r.off--
	r.fail(ErrType)
	return 0
}

// MapLen reads a map header (fixmap, map 16, map 32) and returns how many key-value pairs
// follow; the count is checked against the bytes left.
func (r *Reader) MapLen() int {
	c, ok := r.peek()
	if !ok {
		return 0
	}
	r.off++
	var n uint64
	switch {
	case c&0xf0 == 0x80:
		n = uint64(c & 0x0f)
	case c == mpMap16:
		n = r.be(2)
	case c == mpMap32:
		n = r.be(4)
	default:
		r.off--
		r.fail(ErrType)
		return 0
	}
	if r.count(2*n) == 0 {
		return 0
	}
	return int(n)
}

// integer reads an integer of any encoding as its magnitude and sign.
func (r *Reader) integer() (v uint64, neg bool) {
	if r.err == nil && r.off < len(r.b) && r.b[r.off] < 0x80 { // fast path: positive fixint
		r.off++
		return uint64(r.b[r.off-1]), false
	}
	c, ok := r.peek()
	if !ok {
		return 0, false
	}
	r.off++
	switch {
	case c < 0x80: // positive fixint
		return uint64(c), false
	case c >= 0xe0: // negative fixint
		return uint64(int64(int8(c))), true
	case c >= mpUint8 && c <= mpUint64:
		return r.be(1 << (c - mpUint8)), false
	case c >= mpInt8 && c <= mpInt64:
		n := uint64(1) << (c - mpInt8)
		v := r.be(n)
		if shift := 64 - 8*n; shift > 0 {
			v = uint64(int64(v<<shift) >> shift) // sign-extend
		}
		return v, int64(v) < 0
	}
	r.off--
	r.fail(ErrType)
	return 0, false
}

// Uint reads a non-negative integer of any encoding (a negative one is ErrRange).
func (r *Reader) Uint() uint64 {
	v, neg := r.integer()
	if neg {
		r.fail(ErrRange)
		return 0
	}
	return v
}

// Int reads an integer of any encoding; a uint 64 above math.MaxInt64 is ErrRange.
func (r *Reader) Int() int64 {
	v, neg := r.integer()
	if !neg && v > math.MaxInt64 {
		r.fail(ErrRange)
		return 0
	}
	return int64(v)
}

// Float reads a number, float or integer, as a float64 (a client's ping time may be either).
func (r *Reader) Float() float64 {
	c, ok := r.peek()
	if !ok {
		return 0
	}
	switch c {
	case mpFloat32:
		r.off++
		return float64(math.Float32frombits(uint32(r.be(4))))
	case mpFloat64:
		r.off++
		return math.Float64frombits(r.be(8))
	}
	v, neg := r.integer()
	if neg {
		return float64(int64(v))
	}
	return float64(v)
}

// Bool reads true or false.
func (r *Reader) Bool() bool {
	c, ok := r.peek()
	if !ok {
		return false
	}
	switch c {
	case mpFalse, mpTrue:
		r.off++
		return c == mpTrue
	}
	r.fail(ErrType)
	return false
}

// Str reads a str (or nil, as empty) and returns its bytes, which alias the message: copy
// them (string(b)) to keep them. The bytes are not checked for UTF-8.
func (r *Reader) Str() []byte {
	c, ok := r.peek()
	if !ok {
		return nil
	}
	r.off++
	switch {
	case c&0xe0 == 0xa0:
		return r.next(uint64(c & 0x1f))
	case c == mpStr8:
		return r.next(r.be(1))
	case c == mpStr16:
		return r.next(r.be(2))
	case c == mpStr32:
		return r.next(r.be(4))
	case c == mpNil:
		return nil
	}
	r.off--
	r.fail(ErrType)
	return nil
}

// Rest returns the bytes not read yet, which alias the message, and reads them all: the
// values after the first few of a message whose tail another reader takes whole (a v2
// snapshot's, state.Mirror.ApplyV2).
func (r *Reader) Rest() []byte {
	if r.err != nil {
		return nil
	}
	rest := r.b[r.off:]
	r.off = len(r.b)
	return rest
}

// Raw reads one complete value of any type and returns its encoding, which aliases the
// message.
func (r *Reader) Raw() []byte {
	start := r.off
	r.Skip()
	if r.err != nil {
		return nil
	}
	return r.b[start:r.off]
}

// Skip reads one complete value of any type, nested arrays and maps included. It counts the
// values still owed by open arrays and maps instead of recursing (Open does one value at a
// time), and fails as soon as more are owed than bytes are left.
func (r *Reader) Skip() {
	for owed := uint64(1); owed > 0 && r.err == nil; {
		owed += uint64(r.Open()) - 1
		if owed > uint64(len(r.b)-r.off) { // each owed value takes one byte at least
			r.fail(ErrTruncated)
		}
	}
}

// Open reads one value's header. A scalar, str, bin or ext is read whole and Open returns 0;
// for an array or a map it reads the header only and returns how many values follow as its
// elements (twice the pairs of a map), which the caller reads next. The count is checked
// against the bytes left. Skip is Open in a loop; a walker that bounds nesting (msgcheck)
// keeps its own count of what each level still owes. It works on locals and indexes the
// message directly: the snapshot mirror skips every field of every entity through it.
func (r *Reader) Open() int {
	if r.err != nil {
		return 0
	}
	b, off := r.b, r.off
	if off >= len(b) {
		r.fail(ErrTruncated)
		return 0
	}
	c := b[off]
	off++
	var data, elems uint64 // payload bytes and values that follow the header
	var size int           // bytes of a length or count that follow c
	switch {
	case c < 0x80 || c >= 0xe0: // positive and negative fixint
		r.off = off
		return 0
	case c < 0x90: // fixmap
		elems = 2 * uint64(c&0x0f)
		r.sawMap = true
	case c < 0xa0: // fixarray
		elems = uint64(c & 0x0f)
	case c < 0xc0: // fixstr
		data = uint64(c & 0x1f)
	case c == mpNil, c == mpFalse, c == mpTrue:
	case c == mpFloat32:
		data = 4
	case c == mpFloat64:
		data = 8
	case c >= mpUint8 && c <= mpUint64:
		data = 1 << (c - mpUint8)
	case c >= mpInt8 && c <= mpInt64:
		data = 1 << (c - mpInt8)
	case c >= mpFixExt1 && c <= mpFixExt1+4:
		data = 1 + 1<<(c-mpFixExt1) // type byte and 1, 2, 4, 8 or 16 bytes
	case c == mpBin8, c == mpStr8:
		size = 1
	case c == mpBin16, c == mpStr16:
		size = 2
	case c == mpBin32, c == mpStr32:
		size = 4
	case c == mpExt8:
		size, data = 1, 1 // and the type byte
	case c == mpExt16:
		size, data = 2, 1
	case c == mpExt32:
		size, data = 4, 1
	case c == mpArray16:
		size = 2
	case c == mpArray32:
		size = 4
	case c == mpMap16, c == mpMap32:
		size = 2 + 2*int(c-mpMap16)
		r.sawMap = true
	default: // 0xc1
		r.fail(ErrInvalid)
		return 0
	}
	if size > 0 {
		if size > len(b)-off {
			r.off = off
			r.fail(ErrTruncated)
			return 0
		}
		var n uint64
		for _, x := range b[off : off+size] {
			n = n<<8 | uint64(x)
		}
		off += size
		switch {
		case c >= mpMap16:
			elems = 2 * n
		case c >= mpArray16:
			elems = n
		default:
			data += n
		}
	}
	if data > uint64(len(b)-off) || elems > uint64(len(b)-off)-data {
		r.off = off
		r.fail(ErrTruncated)
		return 0
	}
	r.off = off + int(data)
	return int(elems)
}
