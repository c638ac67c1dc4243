package protocol

import (
	"encoding/binary"
	"math"
)

// Append functions write msgpack values in their shortest form, as Marshal does, onto a
// caller's buffer: a sender on a hot path (a bot's input, an acknowledgement) builds its
// message with them and allocates nothing once the buffer has grown. They are the writing
// half of Reader and follow the same specification sections.

// AppendArray appends the header of an array of n values (fixarray, array 16 or array 32).
func AppendArray(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(b, mpArray16, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, mpArray32), uint32(n))
}

// AppendMap appends the header of a map of n pairs (fixmap, map 16 or map 32).
func AppendMap(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(b, mpMap16, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, mpMap32), uint32(n))
}

// AppendNil appends nil, an absent optional value.
func AppendNil(b []byte) []byte { return append(b, mpNil) }

// AppendBool appends true or false.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, mpTrue)
	}
	return append(b, mpFalse)
}

// AppendUint appends v as positive fixint or uint 8/16/32/64.
func AppendUint(b []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, mpUint8, byte(v))
	case v <= math.MaxUint16:
		return append(b, mpUint8+1, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, mpUint8+2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, mpUint64), v)
}

// AppendInt appends v in the smallest int format: a non-negative v as AppendUint does, a
// negative one as negative fixint (-32..-1) or int 8/16/32/64.
func AppendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return AppendUint(b, uint64(v))
	case v >= -32:
		return append(b, byte(int8(v)))
	case v >= math.MinInt8:
		return append(b, mpInt8, byte(int8(v)))
	case v >= math.MinInt16:
		return append(b, mpInt8+1, byte(uint16(v)>>8), byte(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, mpInt8+2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, mpInt64), uint64(v))
}

// AppendFloat64 appends float 64 (a ping's client time, say).
func AppendFloat64(b []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, mpFloat64), math.Float64bits(v))
}

// AppendStr appends s as fixstr or str 8/16/32. The bytes are copied as they are: msgpack
// says str holds UTF-8, and checking that is the caller's job.
func AppendStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, mpStr8, byte(n))
	case n <= math.MaxUint16:
		b = append(b, mpStr16, byte(n>>8), byte(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, mpStr32), uint32(n))
	}
	return append(b, s...)
}
