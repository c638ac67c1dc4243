package ws

import (
	"bytes"
	"testing"

	"github.com/rallypoint/rallypoint/internal/bpool"
)

// TestCloseLeavesTheLastMessageToItsReader: ReadMessage promises that what it returned stays
// valid until the next ReadMessage. Close, called while the reader is still busy with that
// message (the usual shape: a read loop parses a snapshot while another goroutine shuts the
// connection down), drains the peer's remaining messages on the reader's behalf; it must not
// give the reader's message back to the pool, where the next Get (the drain's own read, or
// any other connection's) overwrites it under the parser. Buffers are poisoned on release so
// that a use after release fails for certain rather than when the pool happens to hand the
// buffer out again in time.
func TestCloseLeavesTheLastMessageToItsReader(t *testing.T) {
	defer bpool.SetPoison(bpool.SetPoison(true))
	tests := []struct {
		name string
		size int // below and above directReadMin: buffered and direct reads
		comp CompressionOptions
	}{
		{"small-plain", 200, CompressionOptions{Mode: CompressionDisabled}},
		{"large-plain", 6000, CompressionOptions{Mode: CompressionDisabled}},
		{"small-deflate", 200, CompressionOptions{}},
		{"large-deflate", 6000, CompressionOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, cl := acceptPair(t, &AcceptOptions{Compression: tt.comp}, &DialOptions{Compression: tt.comp})
			first := payload(tt.size, true)
			go func() {
				_ = sc.WriteMessage(MessageBinary, first)
				// More messages for Close to drain, each the size of the first so that the
				// pool's same size class is asked for again.
				for i := range 8 {
					_ = sc.WriteMessage(MessageBinary, bytes.Repeat([]byte{byte('A' + i)}, tt.size))
				}
				for { // answer the client's close frame
					if _, _, err := sc.ReadMessage(); err != nil {
						return
					}
				}
			}()
			_, p, err := cl.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p, first) {
				t.Fatal("first message arrived altered")
			}
			// The reader still holds p; the connection is closed before its next read.
			if err := cl.Close(StatusNormalClosure, ""); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p, first) {
				n := 0
				for n < len(p) && p[n] == first[n] {
					n++
				}
				t.Fatalf("Close changed the message the reader holds: first difference at byte %d of %d (%#x, want %#x)",
					n, len(p), p[n], first[n])
			}
			if _, _, err := cl.ReadMessage(); err == nil {
				t.Fatal("ReadMessage after Close returned no error")
			}
		})
	}
}
