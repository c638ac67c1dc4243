//go:build !linux

package ws

// Elsewhere there is no io_uring: a Batch writes each frame the ordinary way.
const (
	batchSupported = false
	ringEntries    = 64
)

type ring struct{}

func ringsBroken() bool               { return true }
func getRing() *ring                  { return nil }
func putRing(*ring, bool)             {}
func sendAll(*ring, []batchItem) bool { panic("unreachable") }
