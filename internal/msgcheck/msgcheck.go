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
	"errors"
	"fmt"

	"github.com/rallypoint/rallypoint/protocol"
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

// walk checks the value at the start of b and returns its size. The scanning is
// protocol.Reader's Open, the msgpack scanner the Go client and the snapshot mirror use;
// what walk adds is the bound on nesting.
func walk(b []byte, maxDepth int) (int, error) {
	if maxDepth <= 0 {
		maxDepth = MaxDepth
	}
	// stack[d] counts the values still to read at depth d; depth 0 is the top value.
	var stack [64]int
	if maxDepth > len(stack)-1 {
		maxDepth = len(stack) - 1
	}
	depth := 0
	stack[0] = 1
	r := protocol.NewReader(b)
	for {
		for depth > 0 && stack[depth] == 0 {
			depth--
		}
		if stack[depth] == 0 {
			break
		}
		stack[depth]--
		// Open checks that every byte of a payload, and one byte per child at least, is
		// still there.
		children := r.Open()
		switch r.Err() {
		case nil:
		case protocol.ErrInvalid:
			return 0, ErrInvalid
		default:
			return 0, ErrTruncated
		}
		if children > 0 {
			if depth == maxDepth {
				return 0, ErrTooDeep
			}
			depth++
			stack[depth] = children
		}
	}
	return r.Offset(), nil
}
