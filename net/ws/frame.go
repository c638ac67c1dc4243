package ws

import (
	"encoding/binary"
	"errors"
)

// opcode is the 4-bit frame type of RFC 6455 §5.2.
type opcode byte

const (
	opContinuation opcode = 0x0
	opText         opcode = 0x1
	opBinary       opcode = 0x2
	opClose        opcode = 0x8
	opPing         opcode = 0x9
	opPong         opcode = 0xA
)

// isControl reports whether the opcode is a control frame (RFC 6455 §5.5: MSB of the opcode set).
func (op opcode) isControl() bool { return op&0x8 != 0 }

// known reports whether the opcode is defined by RFC 6455 §5.2; the others are reserved and a
// frame carrying one fails the connection (§5.2, "If an unknown opcode is received...").
func (op opcode) known() bool {
	switch op {
	case opContinuation, opText, opBinary, opClose, opPing, opPong:
		return true
	}
	return false
}

const (
	bitFIN  = 0x80
	bitRSV1 = 0x40
	bitRSV2 = 0x20
	bitRSV3 = 0x10
	bitMask = 0x80

	// maxControlPayload is the largest control frame payload (RFC 6455 §5.5).
	maxControlPayload = 125
	// maxHeaderSize is 2 bytes of flags and length, 8 of extended length, 4 of mask key.
	maxHeaderSize = 14
)

// header is a decoded frame header (RFC 6455 §5.2).
type header struct {
	fin     bool
	rsv1    bool // "per-message compressed" under permessage-deflate (RFC 7692 §6)
	rsv23   bool // RSV2 or RSV3: no extension we negotiate defines them
	op      opcode
	masked  bool
	length  int64
	maskKey uint32 // little-endian view of the 4 key bytes, as maskBytes wants it
}

var (
	errNonMinimalLength = errors.New("ws: frame length not in its minimal encoding (RFC 6455 §5.2)")
	errLengthMSB        = errors.New("ws: 64-bit frame length with its most significant bit set (RFC 6455 §5.2)")
)

// parseHeader decodes the header at the start of b. It returns the number of bytes the
// header takes, or 0 when b does not yet hold the whole header.
func parseHeader(b []byte, h *header) (int, error) {
	if len(b) < 2 {
		return 0, nil
	}
	b0, b1 := b[0], b[1]
	h.fin = b0&bitFIN != 0
	h.rsv1 = b0&bitRSV1 != 0
	h.rsv23 = b0&(bitRSV2|bitRSV3) != 0
	h.op = opcode(b0 & 0x0F)
	h.masked = b1&bitMask != 0
	n := 2
	switch l := b1 & 0x7F; l {
	case 126:
		if len(b) < 4 {
			return 0, nil
		}
		h.length = int64(binary.BigEndian.Uint16(b[2:]))
		n = 4
		if h.length < 126 {
			return 0, errNonMinimalLength
		}
	case 127:
		if len(b) < 10 {
			return 0, nil
		}
		v := binary.BigEndian.Uint64(b[2:])
		if v>>63 != 0 {
			return 0, errLengthMSB
		}
		h.length = int64(v)
		n = 10
		if h.length <= 0xFFFF {
			return 0, errNonMinimalLength
		}
	default:
		h.length = int64(l)
	}
	if h.masked {
		if len(b) < n+4 {
			return 0, nil
		}
		h.maskKey = binary.LittleEndian.Uint32(b[n:])
		n += 4
	} else {
		h.maskKey = 0
	}
	return n, nil
}

// appendHeader encodes a frame header with the minimal length encoding (RFC 6455 §5.2).
// A masked frame gets key as its masking key.
func appendHeader(dst []byte, fin, rsv1 bool, op opcode, length int, masked bool, key uint32) []byte {
	b0 := byte(op)
	if fin {
		b0 |= bitFIN
	}
	if rsv1 {
		b0 |= bitRSV1
	}
	var b1 byte
	if masked {
		b1 = bitMask
	}
	switch {
	case length <= 125:
		dst = append(dst, b0, b1|byte(length))
	case length <= 0xFFFF:
		dst = append(dst, b0, b1|126, byte(length>>8), byte(length))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(length))
	}
	if masked {
		dst = binary.LittleEndian.AppendUint32(dst, key)
	}
	return dst
}

// headerSize is the size appendHeader will use.
func headerSize(length int, masked bool) int {
	n := 2
	switch {
	case length > 0xFFFF:
		n = 10
	case length > 125:
		n = 4
	}
	if masked {
		n += 4
	}
	return n
}
