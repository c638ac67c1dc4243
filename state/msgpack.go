package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"

	"github.com/rallypoint/rallypoint/protocol"
)

// This file holds the few pieces of MessagePack that the package writes and reads by hand
// beyond package protocol's Append functions (which write the framing of a snapshot body
// and most scalar fields that Fields appends): float 32, bin, and arrays whose length is
// known only once written. Section names refer to the specification,
// https://github.com/msgpack/msgpack/blob/master/spec.md. Every writer picks the smallest
// format that holds the value, as the specification's "Serialization" section asks.

// First bytes of the formats used here ("Overview" table of the specification).
const (
	mpNil     = 0xc0
	mpTrue    = 0xc3
	mpBin8    = 0xc4
	mpBin16   = 0xc5
	mpBin32   = 0xc6
	mpFloat32 = 0xca
	mpArray16 = 0xdc
	mpArray32 = 0xdd
	mpMap16   = 0xde
	mpMap32   = 0xdf
)

// appendFloat32 appends float 32: 0xca and the big-endian IEEE 754 bits.
func appendFloat32(dst []byte, v float32) []byte {
	return binary.BigEndian.AppendUint32(append(dst, mpFloat32), math.Float32bits(v))
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
	h := protocol.AppendArray(hdr[:0], n)
	elems := len(dst) - (pos + 5)
	copy(dst[pos+len(h):], dst[pos+5:])
	copy(dst[pos:], h)
	return dst[:pos+len(h)+elems]
}

// The reader below is package protocol's scanner (protocol.Reader), the one the Go client and
// the load generator read messages with, so that the Go side has one msgpack walker. Why
// state imports protocol: a snapshot body is part of the wire protocol (PROTOCOL.md,
// "Snapshots"), and protocol is a leaf (the standard library and msgpack, which state
// imports already), so nothing of sockets, rooms or the engine comes with it; only the
// scanner is used here, and the arrow stays one way (protocol imports nothing of ours).

// What the reader reports; Mirror wraps them in ErrMalformed.
var (
	errTruncated = protocol.ErrTruncated
	errBadCode   = protocol.ErrInvalid
	errNotArray  = errors.New("not an array")
	errNotUint   = errors.New("not a non-negative integer")
	errIntRange  = errors.New("baseline plus difference outside the integers MessagePack holds")
)

// reader reads MessagePack from a byte slice, through protocol.Reader: it never allocates and
// never recurses, so any input, however deep its nesting, costs time linear in its length.
// It keeps the offset itself (the Mirror records spans of fields by it) and returns each
// read's error, where protocol.Reader keeps the first. The scanner lives inside it and is
// reset only when off was moved by hand or a read failed: the Mirror reads every field of
// every entity through here, and a scanner made per read cost it half again its time.
type reader struct {
	b      []byte
	off    int
	sawMap bool // skip passed over a map header

	p     protocol.Reader // scans b[base:]
	base  int
	ready bool // p scans b (a reader{b: ...} literal starts without)
}

func (r *reader) remaining() int { return len(r.b) - r.off }

// scanner returns the protocol.Reader positioned at off.
func (r *reader) scanner() *protocol.Reader {
	if !r.ready || r.base+r.p.Offset() != r.off || r.p.Err() != nil {
		r.p.Reset(r.b[r.off:])
		r.base, r.ready = r.off, true
	}
	return &r.p
}

// arrayLen reads an array header. The length is checked against the bytes left (every element
// takes at least one), so a caller may size a buffer by it.
func (r *reader) arrayLen() (int, error) {
	p := r.scanner()
	n := p.ArrayLen()
	r.off = r.base + p.Offset()
	if err := p.Err(); err != nil {
		if err == protocol.ErrType {
			return 0, errNotArray
		}
		return 0, err
	}
	return n, nil
}

// uint reads an integer that must not be negative, in any of the int formats.
func (r *reader) uint() (uint64, error) {
	p := r.scanner()
	v := p.Uint()
	r.off = r.base + p.Offset()
	if err := p.Err(); err != nil {
		if err == protocol.ErrType || err == protocol.ErrRange {
			return 0, errNotUint
		}
		return 0, err
	}
	return v, nil
}

// skip reads one complete value of any type and returns its bytes.
func (r *reader) skip() ([]byte, error) {
	p := r.scanner()
	v := p.Raw()
	r.off = r.base + p.Offset()
	if p.SkippedMap() {
		r.sawMap = true
	}
	return v, p.Err()
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
	if len(v) == 0 {
		return nil, errTruncated
	}
	r := reader{b: v}
	switch c := v[0]; {
	case c&0xf0 == 0x90 || c == mpArray16 || c == mpArray32:
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
	case c&0xf0 != 0x80 && c != mpMap16 && c != mpMap32:
		return append(dst, v...), nil // no map inside
	}
	p := r.scanner()
	n := p.MapLen()
	if err := p.Err(); err != nil {
		return nil, err
	}
	r.off = r.base + p.Offset()
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
