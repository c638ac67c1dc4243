package engine

import (
	"testing"
	"unsafe"
)

// TestPerConnectionStructsFitTheirSizeClasses guards the memory of an idle player
// (bench/idlemem, issue 14 item 6): a session and a Player are allocated once per
// connection, in the runtime's 112- and 288-byte size classes. A field added can cost the
// next class's 16 or 32 bytes of every connection; lend what only a message's handling
// needs (decoders) instead.
func TestPerConnectionStructsFitTheirSizeClasses(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes measured on 64-bit platforms")
	}
	for _, tt := range []struct {
		name       string
		size, want uintptr
	}{
		{"session", unsafe.Sizeof(session{}), 112},
		{"Player", unsafe.Sizeof(Player{}), 288},
	} {
		if tt.size > tt.want {
			t.Errorf("%s is %d bytes, past its %d-byte size class", tt.name, tt.size, tt.want)
		}
	}
}
