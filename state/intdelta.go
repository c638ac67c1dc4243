package state

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/rallypoint/rallypoint/protocol"
)

// Integer differences (the rallypoint.v2 wire, AppendDeltaV2): a changed field whose
// baseline value and new value are both MessagePack integers travels as new − baseline.
// Positions quantized to integers, counters and timers move by little between a client's
// baseline and the next snapshot, so their difference fits the one-byte fixints (−32..127)
// where the value itself takes three or five bytes: in the shooter, a moving player's x and
// y shrink from 3 bytes each to 1.
//
// The rule a decoder follows needs no type information: a changed value is a difference
// exactly when the baseline's value of that field is an integer and the value sent is an
// integer. The encoder keeps to it: a new value that is not an integer is sent as it is,
// and a difference that does not fit int64 (values beyond ±2^62, or unsigned ones above
// 2^63 − 1) is never sent: the entity goes whole, in added, instead (needsWhole).

// intKind classifies a field's bytes.
type intKind uint8

const (
	notInt  intKind = iota // not a single MessagePack integer
	int64OK                // an integer that int64 holds
	hugeInt                // an unsigned integer above math.MaxInt64
)

// intField reads b, the bytes of one field, as one MessagePack integer.
func intField(b []byte) (int64, intKind) {
	if len(b) == 0 {
		return 0, notInt
	}
	c := b[0]
	switch {
	case c <= 0x7f:
		if len(b) == 1 {
			return int64(c), int64OK
		}
		return 0, notInt
	case c >= 0xe0:
		if len(b) == 1 {
			return int64(int8(c)), int64OK
		}
		return 0, notInt
	}
	n := 0
	switch c {
	case 0xcc, 0xd0:
		n = 1
	case 0xcd, 0xd1:
		n = 2
	case 0xce, 0xd2:
		n = 4
	case 0xcf, 0xd3:
		n = 8
	default:
		return 0, notInt
	}
	if len(b) != 1+n {
		return 0, notInt
	}
	var u uint64
	for _, x := range b[1:] {
		u = u<<8 | uint64(x)
	}
	if c >= 0xd0 { // signed: sign-extend from n bytes
		shift := uint(64 - 8*n)
		return int64(u<<shift) >> shift, int64OK
	}
	if u > math.MaxInt64 {
		return 0, hugeInt
	}
	return int64(u), int64OK
}

// intDiff returns new − old for two fields' bytes, and whether the wire carries it: ok is
// false when either is not an integer (the new value goes as it is) and whole is true when
// both are integers but their difference does not fit int64 (the entity goes whole).
func intDiff(old, new []byte) (d int64, ok, whole bool) {
	o, ko := intField(old)
	if ko == notInt {
		return 0, false, false
	}
	return diffFrom(o, ko == hugeInt, new)
}

// diffFrom is intDiff from the integer o (huge: an unsigned one above math.MaxInt64, which
// o does not hold).
func diffFrom(o int64, huge bool, new []byte) (d int64, ok, whole bool) {
	n, kn := intField(new)
	switch {
	case kn == notInt:
		return 0, false, false
	case huge || kn == hugeInt:
		return 0, false, true
	}
	d = n - o
	if (n >= 0) != (o >= 0) && (d >= 0) != (n >= 0) { // signed overflow
		return 0, false, true
	}
	return d, true, false
}

// needsWhole reports whether entity b of w.to must go whole under the v2 wire although a
// changed entry could name its fields: some field changed from one integer to another by
// more than int64 holds, measured from its reference (the baseline's value, a of w.from,
// or the value predicted from it and c, the entity in the second baseline, if any; on v3
// every field is measured, exactMask). Only
// 64-bit integers (formats 0xcf, 0xd3) can, since a prediction stays within ±2^48, so an
// entity whose bytes hold neither is answered by two byte scans.
func (w *walk) needsWhole(a, b, c *entity) bool {
	if w.exact && c != nil && a.nf <= MaxMaskFields {
		return w.wide(a, b, c)
	}
	from, to := w.from, w.to
	ea, eb := from.encoded(a), to.encoded(b)
	if !hasWide(ea) && !hasWide(eb) {
		return false
	}
	for k := range b.nf {
		fa, fb := from.field(a, k), to.field(b, k)
		if bytes.Equal(fa, fb) {
			continue
		}
		if _, _, whole := w.g.diff(fa, prevField(w.prev, c, k), fb); whole {
			return true
		}
	}
	return false
}

// hasWide reports whether b holds a byte that starts a 64-bit integer (or happens to equal
// one inside another value: then needsWhole looks closer).
func hasWide(b []byte) bool {
	return bytes.IndexByte(b, 0xcf) >= 0 || bytes.IndexByte(b, 0xd3) >= 0
}

// appendIntSum appends the baseline field old plus the difference d, read from the wire, in
// the smallest MessagePack integer format, which is how the server's typed Fields write
// integers. ok is false if old is not an integer (then d is not a difference) and err
// reports a sum that no MessagePack integer holds.
func appendIntSum(dst, old []byte, d int64) (out []byte, ok bool, err error) {
	o, k := intField(old)
	switch k {
	case notInt:
		return dst, false, nil
	case hugeInt:
		u := binary.BigEndian.Uint64(old[1:])
		if d >= 0 {
			s, carry := bits.Add64(u, uint64(d), 0)
			if carry != 0 {
				return dst, true, errIntRange
			}
			return protocol.AppendUint(dst, s), true, nil
		}
		return protocol.AppendUint(dst, u-(^uint64(d)+1)), true, nil
	}
	dst, err = appendIntPlus(dst, o, d)
	return dst, true, err
}

// appendIntPlus appends o + d in the smallest MessagePack integer format, or reports a sum
// that no MessagePack integer holds.
func appendIntPlus(dst []byte, o, d int64) ([]byte, error) {
	s := o + d
	if (o >= 0) == (d >= 0) && (s >= 0) != (o >= 0) { // overflow
		if o < 0 {
			return dst, errIntRange
		}
		return protocol.AppendUint(dst, uint64(o)+uint64(d)), nil
	}
	return protocol.AppendInt(dst, s), nil
}
