package main

import (
	"encoding/binary"
	"errors"
	"math"
)

// The bots read and write rallypoint.v1 messages with the small msgpack scanner and encoder
// in this file instead of reflection-based decoding: a bot handles tens of messages a second
// and the load generator runs thousands of bots, so the per-message path must not allocate.
// Only the shapes the protocol defines are needed (PROTOCOL.md); anything else is skipped.

// errWire is the scanner's error for bytes that are not the msgpack value expected.
var errWire = errors.New("loadgen: malformed msgpack")

// rd scans msgpack values in b. Its error is sticky: after the first failure every method
// returns a zero value, so a caller reads a whole message and checks err once.
type rd struct {
	b   []byte
	off int
	err error
}

func (r *rd) reset(b []byte) { r.b, r.off, r.err = b, 0, nil }

func (r *rd) fail() {
	if r.err == nil {
		r.err = errWire
	}
}

// next returns the next n bytes.
func (r *rd) next(n int) []byte {
	if r.err != nil || n < 0 || len(r.b)-r.off < n {
		r.fail()
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *rd) peek() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail()
		return 0
	}
	return r.b[r.off]
}

func (r *rd) be(n int) uint64 {
	p := r.next(n)
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v
}

// arrayLen reads an array header.
func (r *rd) arrayLen() int {
	c := r.peek()
	switch {
	case r.err != nil:
		return 0
	case c&0xf0 == 0x90:
		r.off++
		return int(c & 0x0f)
	case c == 0xdc:
		r.off++
		return int(r.be(2))
	case c == 0xdd:
		r.off++
		return r.length(r.be(4))
	}
	r.fail()
	return 0
}

// mapLen reads a map header.
func (r *rd) mapLen() int {
	c := r.peek()
	switch {
	case r.err != nil:
		return 0
	case c&0xf0 == 0x80:
		r.off++
		return int(c & 0x0f)
	case c == 0xde:
		r.off++
		return int(r.be(2))
	case c == 0xdf:
		r.off++
		return r.length(r.be(4))
	}
	r.fail()
	return 0
}

// length bounds a 32-bit count by what the buffer can hold (one byte per element at least),
// so that a forged header cannot make a caller loop four billion times.
func (r *rd) length(n uint64) int {
	if n > uint64(len(r.b)-r.off) {
		r.fail()
		return 0
	}
	return int(n)
}

// int reads an integer of any msgpack encoding.
func (r *rd) int() int64 {
	c := r.peek()
	if r.err != nil {
		return 0
	}
	switch {
	case c <= 0x7f:
		r.off++
		return int64(c)
	case c >= 0xe0:
		r.off++
		return int64(int8(c))
	}
	r.off++
	switch c {
	case 0xcc:
		return int64(r.be(1))
	case 0xcd:
		return int64(r.be(2))
	case 0xce:
		return int64(r.be(4))
	case 0xcf:
		v := r.be(8)
		if v > math.MaxInt64 {
			r.fail()
			return 0
		}
		return int64(v)
	case 0xd0:
		return int64(int8(r.be(1)))
	case 0xd1:
		return int64(int16(r.be(2)))
	case 0xd2:
		return int64(int32(r.be(4)))
	case 0xd3:
		return int64(r.be(8))
	}
	r.off--
	r.fail()
	return 0
}

// number reads an integer or a float as a float64 (the pong echoes the client time as the
// client sent it, but any number is accepted).
func (r *rd) number() float64 {
	switch r.peek() {
	case 0xca:
		r.off++
		return float64(math.Float32frombits(uint32(r.be(4))))
	case 0xcb:
		r.off++
		return math.Float64frombits(r.be(8))
	}
	return float64(r.int())
}

// bool reads true or false.
func (r *rd) bool() bool {
	switch r.peek() {
	case 0xc2:
		r.off++
		return false
	case 0xc3:
		r.off++
		return true
	}
	r.fail()
	return false
}

// str reads a str (or nil, as empty) and returns its bytes, which alias the message.
func (r *rd) str() []byte {
	c := r.peek()
	if r.err != nil {
		return nil
	}
	r.off++
	switch {
	case c&0xe0 == 0xa0:
		return r.next(int(c & 0x1f))
	case c == 0xd9:
		return r.next(int(r.be(1)))
	case c == 0xda:
		return r.next(int(r.be(2)))
	case c == 0xdb:
		return r.next(r.length(r.be(4)))
	case c == 0xc0:
		return nil
	}
	r.off--
	r.fail()
	return nil
}

// raw skips one value and returns its encoding.
func (r *rd) raw() []byte {
	start := r.off
	r.skip()
	if r.err != nil {
		return nil
	}
	return r.b[start:r.off]
}

// skip skips one value, nested arrays and maps included, without recursion: it counts the
// values still to skip.
func (r *rd) skip() {
	for left := 1; left > 0 && r.err == nil; left-- {
		c := r.peek()
		if r.err != nil {
			return
		}
		r.off++
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		case c&0xf0 == 0x80:
			left += 2 * int(c&0x0f)
		case c&0xf0 == 0x90:
			left += int(c & 0x0f)
		case c&0xe0 == 0xa0:
			r.next(int(c & 0x1f))
		default:
			left += r.skipLong(c)
		}
	}
}

// skipLong skips the body of a value whose first byte c is not a fix-type, and returns how
// many nested values its header announced.
func (r *rd) skipLong(c byte) int {
	switch c {
	case 0xcc, 0xd0:
		r.next(1)
	case 0xcd, 0xd1:
		r.next(2)
	case 0xce, 0xd2, 0xca:
		r.next(4)
	case 0xcf, 0xd3, 0xcb:
		r.next(8)
	case 0xd9, 0xc4:
		r.next(int(r.be(1)))
	case 0xda, 0xc5:
		r.next(int(r.be(2)))
	case 0xdb, 0xc6:
		r.next(r.length(r.be(4)))
	case 0xdc:
		return int(r.be(2))
	case 0xdd:
		return r.length(r.be(4))
	case 0xde:
		return 2 * int(r.be(2))
	case 0xdf:
		return 2 * r.length(r.be(4))
	case 0xd4:
		r.next(2) // fixext 1: type and data
	case 0xd5:
		r.next(3)
	case 0xd6:
		r.next(5)
	case 0xd7:
		r.next(9)
	case 0xd8:
		r.next(17)
	case 0xc7:
		r.next(int(r.be(1)) + 1)
	case 0xc8:
		r.next(int(r.be(2)) + 1)
	case 0xc9:
		r.next(r.length(r.be(4)) + 1)
	default:
		r.fail() // 0xc1 is never used
	}
	return 0
}

// Encoding: append helpers that write the shortest form, as engine.Marshal does.

func appendArray(b []byte, n int) []byte {
	if n < 16 {
		return append(b, 0x90|byte(n))
	}
	return append(b, 0xdc, byte(n>>8), byte(n))
}

func appendMap(b []byte, n int) []byte {
	if n < 16 {
		return append(b, 0x80|byte(n))
	}
	return append(b, 0xde, byte(n>>8), byte(n))
}

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return append(b, 0xcd, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint(b, uint64(v))
	case v >= -32:
		return append(b, byte(int8(v)))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(int8(v)))
	case v >= math.MinInt16:
		return append(b, 0xd1, byte(uint16(v)>>8), byte(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}

func appendFloat64(b []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(v))
}

func appendStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	default:
		b = append(b, 0xda, byte(n>>8), byte(n))
	}
	return append(b, s...)
}
