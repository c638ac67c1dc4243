package ws

import (
	"encoding/binary"
	"math/bits"
)

// maskBytes XORs b with the masking key (RFC 6455 §5.3), starting at key offset pos, and
// returns the offset for the next call, so a payload can be unmasked in pieces.
//
// key is the little-endian view of the four key bytes. The bulk of the work goes eight bytes
// at a time with the key widened to a word and rotated to the current offset.
func maskBytes(key uint32, pos int, b []byte) int {
	if key == 0 {
		return (pos + len(b)) & 3
	}
	k := bits.RotateLeft32(key, -8*(pos&3))
	// Align nothing: unaligned 8-byte loads are cheap on every platform Go targets well.
	if len(b) >= 8 {
		k64 := uint64(k)<<32 | uint64(k)
		for len(b) >= 32 {
			v0 := binary.LittleEndian.Uint64(b) ^ k64
			v1 := binary.LittleEndian.Uint64(b[8:]) ^ k64
			v2 := binary.LittleEndian.Uint64(b[16:]) ^ k64
			v3 := binary.LittleEndian.Uint64(b[24:]) ^ k64
			binary.LittleEndian.PutUint64(b, v0)
			binary.LittleEndian.PutUint64(b[8:], v1)
			binary.LittleEndian.PutUint64(b[16:], v2)
			binary.LittleEndian.PutUint64(b[24:], v3)
			b = b[32:]
		}
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
			b = b[8:]
		}
	}
	// Whole words keep the key phase unchanged; finish byte by byte.
	for i := range b {
		b[i] ^= byte(k)
		k = bits.RotateLeft32(k, -8)
	}
	return (pos + len(b)) & 3 // pos advanced by a multiple of 8 above, so only the tail counts
}
