package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
)

// This file holds the few pieces of MessagePack that the package writes and reads by hand:
// the framing of a snapshot body (array headers, unsigned integers) and the scalar fields that
// Fields appends. Section names refer to the specification,
// https://github.com/msgpack/msgpack/blob/master/spec.md. Every writer picks the smallest
// format that holds the value, as the specification's "Serialization" section asks.

// First bytes of the formats used here ("Overview" table of the specification).
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
	mpUint16  = 0xcd
	mpUint32  = 0xce
	mpUint64  = 0xcf
	mpInt8    = 0xd0
	mpInt16   = 0xd1
	mpInt32   = 0xd2
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

// appendArrayHeader appends the header of an array of n elements: fixarray (up to 15),
// array 16 or array 32 ("array format family").
func appendArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(dst, mpArray16, byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint32(append(dst, mpArray32), uint32(n))
	}
}

// appendUint appends v as positive fixint or uint 8/16/32/64 ("int format family").
func appendUint(dst []byte, v uint64) []byte {
	switch {
	case v < 128:
		return append(dst, byte(v))
	case v <= math.MaxUint8:
		return append(dst, mpUint8, byte(v))
	case v <= math.MaxUint16:
		return append(dst, mpUint16, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, mpUint32), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(dst, mpUint64), v)
	}
}

// appendInt appends v in the smallest int format: a non-negative v as appendUint does, a
// negative one as negative fixint (-32..-1) or int 8/16/32/64.
func appendInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint(dst, uint64(v))
	case v >= -32:
		return append(dst, byte(v))
	case v >= math.MinInt8:
		return append(dst, mpInt8, byte(v))
	case v >= math.MinInt16:
		return append(dst, mpInt16, byte(v>>8), byte(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, mpInt32), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(dst, mpInt64), uint64(v))
	}
}

// appendFloat32 appends float 32: 0xca and the big-endian IEEE 754 bits.
func appendFloat32(dst []byte, v float32) []byte {
	return binary.BigEndian.AppendUint32(append(dst, mpFloat32), math.Float32bits(v))
}

// appendFloat64 appends float 64: 0xcb and the big-endian IEEE 754 bits.
func appendFloat64(dst []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, mpFloat64), math.Float64bits(v))
}

// appendBool appends false (0xc2) or true (0xc3).
func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, mpTrue)
	}
	return append(dst, mpFalse)
}

// appendString appends v as fixstr or str 8/16/32 ("str format family"). The bytes are copied
// as they are: the specification says str holds UTF-8, and checking that is the caller's job.
func appendString(dst []byte, v string) []byte {
	n := len(v)
	switch {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		dst = append(dst, mpStr8, byte(n))
	case n <= math.MaxUint16:
		dst = append(dst, mpStr16, byte(n>>8), byte(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, mpStr32), uint32(n))
	}
	return append(dst, v...)
}

// appendBin appends v as bin 8/16/32 ("bin format family").
func appendBin(dst []byte, v []byte) []byte {
	n := len(v)
	switch {
	case n <= math.MaxUint8:
		dst = append(dst, mpBin8, byte(n))
	case n <= math.MaxUint16:
		dst = append(dst, mpBin16, byte(n>>8), byte(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, mpBin32), uint32(n))
	}
	return append(dst, v...)
}

// reserveArray appends room for the largest array header (array 32, five bytes) and returns
// where it starts, so that a writer can emit an array before it knows how long it is;
// closeArray then writes the real header and closes the gap.
func reserveArray(dst []byte) ([]byte, int) {
	return append(dst, 0, 0, 0, 0, 0), len(dst)
}

// closeArray writes the header of an array of n elements at pos (returned by reserveArray)
// and moves the elements written since down over the unused part of the reservation.
func closeArray(dst []byte, pos, n int) []byte {
	var hdr [5]byte
	h := appendArrayHeader(hdr[:0], n)
	elems := len(dst) - (pos + 5)
	copy(dst[pos+len(h):], dst[pos+5:])
	copy(dst[pos:], h)
	return dst[:pos+len(h)+elems]
}

// errTruncated and errBadCode are what the reader reports; Mirror wraps them in ErrMalformed.
var (
	errTruncated = errors.New("truncated value")
	errBadCode   = errors.New("reserved format code 0xc1")
	errNotArray  = errors.New("not an array")
	errNotUint   = errors.New("not a non-negative integer")
)

// reader reads MessagePack from a byte slice. It never allocates and never recurses, so any
// input, however deep its nesting, costs time linear in its length.
type reader struct {
	b      []byte
	off    int
	sawMap bool // skip passed over a map header
}

func (r *reader) remaining() int { return len(r.b) - r.off }

// next returns the next n bytes.
func (r *reader) next(n uint64) ([]byte, error) {
	if n > uint64(r.remaining()) {
		return nil, errTruncated
	}
	p := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return p, nil
}

// byte1 reads one byte.
func (r *reader) byte1() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// bigEndian reads an n-byte (1, 2, 4 or 8) big-endian unsigned integer.
func (r *reader) bigEndian(n uint64) (uint64, error) {
	p, err := r.next(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// arrayLen reads an array header. The length is checked against the bytes left (every element
// takes at least one), so a caller may size a buffer by it.
func (r *reader) arrayLen() (int, error) {
	c, err := r.byte1()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c&0xf0 == 0x90:
		n = uint64(c & 0x0f)
	case c == mpArray16:
		n, err = r.bigEndian(2)
	case c == mpArray32:
		n, err = r.bigEndian(4)
	default:
		return 0, errNotArray
	}
	if err != nil {
		return 0, err
	}
	if n > uint64(r.remaining()) {
		return 0, errTruncated
	}
	return int(n), nil
}

// uint reads an integer that must not be negative, in any of the int formats.
func (r *reader) uint() (uint64, error) {
	c, err := r.byte1()
	if err != nil {
		return 0, err
	}
	switch {
	case c < 0x80:
		return uint64(c), nil
	case c >= mpUint8 && c <= mpUint64:
		return r.bigEndian(1 << (c - mpUint8))
	case c >= mpInt8 && c <= mpInt64:
		n := uint64(1) << (c - mpInt8)
		v, err := r.bigEndian(n)
		if err != nil {
			return 0, err
		}
		if v>>(8*n-1)&1 == 1 { // sign bit set
			return 0, errNotUint
		}
		return v, nil
	}
	return 0, errNotUint
}

// skip reads one complete value of any type and returns its bytes. It counts the values still
// owed by open arrays and maps instead of recursing.
func (r *reader) skip() ([]byte, error) {
	start := r.off
	owed := uint64(1)
	for owed > 0 {
		owed--
		c, err := r.byte1()
		if err != nil {
			return nil, err
		}
		var (
			data  uint64 // bytes of payload that follow the header
			elems uint64 // values that follow the header
		)
		switch {
		case c < 0x80 || c >= 0xe0: // positive and negative fixint
		case c < 0x90: // fixmap
			elems = 2 * uint64(c&0x0f)
			r.sawMap = true
		case c < 0xa0: // fixarray
			elems = uint64(c & 0x0f)
		case c < 0xc0: // fixstr
			data = uint64(c & 0x1f)
		case c == mpNil, c == mpFalse, c == mpTrue:
		case c == mpBin8, c == mpStr8:
			data, err = r.bigEndian(1)
		case c == mpBin16, c == mpStr16:
			data, err = r.bigEndian(2)
		case c == mpBin32, c == mpStr32:
			data, err = r.bigEndian(4)
		case c == mpExt8:
			data, err = r.bigEndian(1)
			data++ // the type byte
		case c == mpExt16:
			data, err = r.bigEndian(2)
			data++
		case c == mpExt32:
			data, err = r.bigEndian(4)
			data++
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
		case c == mpArray16:
			elems, err = r.bigEndian(2)
		case c == mpArray32:
			elems, err = r.bigEndian(4)
		case c == mpMap16:
			elems, err = r.bigEndian(2)
			elems *= 2
			r.sawMap = true
		case c == mpMap32:
			elems, err = r.bigEndian(4)
			elems *= 2
			r.sawMap = true
		default: // 0xc1, "never used"
			return nil, errBadCode
		}
		if err != nil {
			return nil, err
		}
		if _, err := r.next(data); err != nil {
			return nil, err
		}
		owed += elems
		if owed > uint64(r.remaining()) { // each owed value takes at least one byte
			return nil, errTruncated
		}
	}
	return r.b[start:r.off], nil
}

// maxCanonicalDepth bounds the nesting that canonicalize descends into.
const maxCanonicalDepth = 1000

var errTooDeep = errors.New("nested deeper than 1000 levels")

// canonicalize appends v, one well-formed MessagePack value, to dst with the entries of every
// map, at any depth, sorted by the bytes of their encoded keys. Go iterates maps in random
// order, and a field that is compared by its bytes needs one encoding per value. It allocates
// a buffer per map, which is fine for Fields.Value and nowhere else.
func canonicalize(dst, v []byte, depth int) ([]byte, error) {
	if depth > maxCanonicalDepth {
		return nil, errTooDeep
	}
	r := reader{b: v}
	c, err := r.byte1()
	if err != nil {
		return nil, err
	}
	var n uint64
	switch {
	case c&0xf0 == 0x90 || c == mpArray16 || c == mpArray32:
		r.off = 0
		k, err := r.arrayLen()
		if err != nil {
			return nil, err
		}
		dst = append(dst, v[:r.off]...)
		for range k {
			e, err := r.skip()
			if err != nil {
				return nil, err
			}
			if dst, err = canonicalize(dst, e, depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	case c&0xf0 == 0x80:
		n = uint64(c & 0x0f)
	case c == mpMap16:
		n, err = r.bigEndian(2)
	case c == mpMap32:
		n, err = r.bigEndian(4)
	default:
		return append(dst, v...), nil // no map inside
	}
	if err != nil {
		return nil, err
	}
	if n > uint64(r.remaining()) {
		return nil, errTruncated
	}
	dst = append(dst, v[:r.off]...)
	type entry struct{ start, keyEnd, end int } // in buf
	entries := make([]entry, n)
	var buf []byte
	for i := range entries {
		k, err := r.skip()
		if err != nil {
			return nil, err
		}
		val, err := r.skip()
		if err != nil {
			return nil, err
		}
		start := len(buf)
		if buf, err = canonicalize(buf, k, depth+1); err != nil {
			return nil, err
		}
		keyEnd := len(buf)
		if buf, err = canonicalize(buf, val, depth+1); err != nil {
			return nil, err
		}
		entries[i] = entry{start, keyEnd, len(buf)}
	}
	slices.SortFunc(entries, func(x, y entry) int {
		return bytes.Compare(buf[x.start:x.keyEnd], buf[y.start:y.keyEnd])
	})
	for _, e := range entries {
		dst = append(dst, buf[e.start:e.end]...)
	}
	return dst, nil
}
