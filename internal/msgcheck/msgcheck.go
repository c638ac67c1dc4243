// Package msgcheck validates the structure of one msgpack value before a decoder sees it.
//
// Messages from clients are untrusted, and a msgpack header can claim far more than the
// message holds: a 6-byte message whose string header says 2 GiB makes
// vmihailenco/msgpack's decoder grow its reusable buffer by a megabyte or more on every
// attempt (and Reset keeps it), and an array header claiming a million elements makes it
// preallocate them. Checking first that every length fits in the bytes that follow, and that
// nesting stays shallow, turns those into a cheap refusal. The check walks the message once,
// iteratively, and allocates nothing.
package msgcheck

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxDepth is the default bound on nested arrays and maps: game messages are shallow, and a
// recursive decoder must not be led a million frames deep.
const MaxDepth = 16

var (
	// ErrTruncated means a header claims more bytes or elements than the message holds.
	ErrTruncated = errors.New("msgcheck: message truncated or a length exceeds it")
	// ErrTooDeep means arrays and maps nest deeper than allowed.
	ErrTooDeep = errors.New("msgcheck: nested too deep")
	// ErrTrailing means bytes follow the value.
	ErrTrailing = errors.New("msgcheck: bytes after the value")
	// ErrInvalid means the byte 0xc1, which msgpack never uses.
	ErrInvalid = errors.New("msgcheck: invalid type byte 0xc1")
)

// Valid reports whether b holds exactly one well-formed msgpack value whose arrays and maps
// nest at most maxDepth deep (MaxDepth when maxDepth <= 0).
func Valid(b []byte, maxDepth int) error {
	i, err := walk(b, maxDepth)
	if err != nil {
		return err
	}
	if i != len(b) {
		return fmt.Errorf("%w: %d of %d bytes", ErrTrailing, len(b)-i, len(b))
	}
	return nil
}

// Size returns how many bytes the well-formed msgpack value at the start of b takes (nested
// at most MaxDepth deep), without decoding it.
func Size(b []byte) (int, error) { return walk(b, MaxDepth) }

// walk checks the value at the start of b and returns its size.
func walk(b []byte, maxDepth int) (int, error) {
	if maxDepth <= 0 {
		maxDepth = MaxDepth
	}
	// left[d] counts the values still to read at depth d; depth 0 is the top value.
	var stack [64]uint64
	if maxDepth > len(stack)-1 {
		maxDepth = len(stack) - 1
	}
	depth := 0
	stack[0] = 1
	i := 0
	for {
		for depth > 0 && stack[depth] == 0 {
			depth--
		}
		if stack[depth] == 0 {
			break
		}
		stack[depth]--
		if i >= len(b) {
			return 0, ErrTruncated
		}
		skip, children, err := header(b[i:])
		if err != nil {
			return 0, err
		}
		// Every byte of a payload, and at least one byte per child, must still be there.
		if skip > uint64(len(b)-i) || children > uint64(len(b)-i)-skip {
			return 0, ErrTruncated
		}
		i += int(skip)
		if children > 0 {
			if depth == maxDepth {
				return 0, ErrTooDeep
			}
			depth++
			stack[depth] = children
		}
	}
	return i, nil
}

// header decodes the type at b[0]: skip is the size of the header and any payload it
// carries, children the number of values that follow as its elements (twice the pairs of a
// map).
func header(b []byte) (skip, children uint64, err error) {
	c := b[0]
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3: // fixint, nil, bool
		return 1, 0, nil
	case c >= 0x80 && c <= 0x8f: // fixmap
		return 1, 2 * uint64(c&0x0f), nil
	case c >= 0x90 && c <= 0x9f: // fixarray
		return 1, uint64(c & 0x0f), nil
	case c >= 0xa0 && c <= 0xbf: // fixstr
		return 1 + uint64(c&0x1f), 0, nil
	}
	switch c {
	case 0xc1:
		return 0, 0, ErrInvalid
	case 0xcc, 0xd0: // uint8, int8
		return 2, 0, nil
	case 0xcd, 0xd1: // uint16, int16
		return 3, 0, nil
	case 0xce, 0xd2, 0xca: // uint32, int32, float32
		return 5, 0, nil
	case 0xcf, 0xd3, 0xcb: // uint64, int64, float64
		return 9, 0, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16: type byte + data
		return 2 + 1<<(c-0xd4), 0, nil
	case 0xc4, 0xd9: // bin8, str8
		n, err := length(b, 1)
		return 2 + n, 0, err
	case 0xc5, 0xda: // bin16, str16
		n, err := length(b, 2)
		return 3 + n, 0, err
	case 0xc6, 0xdb: // bin32, str32
		n, err := length(b, 4)
		return 5 + n, 0, err
	case 0xc7: // ext8: length, type, data
		n, err := length(b, 1)
		return 3 + n, 0, err
	case 0xc8: // ext16
		n, err := length(b, 2)
		return 4 + n, 0, err
	case 0xc9: // ext32
		n, err := length(b, 4)
		return 6 + n, 0, err
	case 0xdc: // array16
		n, err := length(b, 2)
		return 3, n, err
	case 0xdd: // array32
		n, err := length(b, 4)
		return 5, n, err
	case 0xde: // map16
		n, err := length(b, 2)
		return 3, 2 * n, err
	default: // 0xdf, map32
		n, err := length(b, 4)
		return 5, 2 * n, err
	}
}

// length reads the big-endian length of size bytes after the type byte.
func length(b []byte, size int) (uint64, error) {
	if len(b) < 1+size {
		return 0, ErrTruncated
	}
	switch size {
	case 1:
		return uint64(b[1]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b[1:])), nil
	default:
		return uint64(binary.BigEndian.Uint32(b[1:])), nil
	}
}
