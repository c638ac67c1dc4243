// Package bpool keeps byte buffers in power-of-two size classes so that hot paths reuse
// memory instead of allocating it. Buffers travel as *[]byte so that putting one back does
// not allocate.
package bpool

import (
	"math/bits"
	"os"
	"sync"
	"sync/atomic"
)

const (
	minShift = 9  // 512 B
	maxShift = 22 // 4 MiB; larger buffers are left to the garbage collector
)

var pools [maxShift - minShift + 1]sync.Pool

func class(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minShift
}

// Get returns a buffer with len 0 and cap at least n.
func Get(n int) *[]byte {
	c := class(n)
	if c >= len(pools) {
		b := make([]byte, 0, n)
		return &b
	}
	if v := pools[c].Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, 1<<(c+minShift))
	return &b
}

// PoisonByte is what Put fills a buffer with while poisoning is on: 0xc1 is the one byte
// msgpack never uses, so a message parsed from a released buffer fails loudly.
const PoisonByte = 0xc1

// poison makes Put overwrite every buffer it takes back, so that a use after release (a
// frame still queued, a message a reader still parses) is corrupt for certain instead of
// only when the pool hands the buffer out again in time. Off by default: it costs a memset
// per Put. Tests turn it on with SetPoison; a load run with RALLYPOINT_BPOOL_POISON=1 in its
// environment.
var poison atomic.Bool

func init() { poison.Store(os.Getenv("RALLYPOINT_BPOOL_POISON") == "1") }

// SetPoison turns poisoning on or off and returns the previous setting.
func SetPoison(on bool) (was bool) { return poison.Swap(on) }

// Put returns b for reuse. The caller must not touch it afterwards.
func Put(b *[]byte) {
	if b == nil {
		return
	}
	if full := (*b)[:cap(*b)]; poison.Load() && len(full) > 0 {
		full[0] = PoisonByte
		for n := 1; n < len(full); n *= 2 { // doubling copies: fast even under -race
			copy(full[n:], full[:n])
		}
	}
	c := cap(*b)
	if c < 1<<minShift || c&(c-1) != 0 {
		return // not one of ours
	}
	i := bits.Len(uint(c)) - 1 - minShift
	if i >= len(pools) {
		return
	}
	pools[i].Put(b)
}

// Grow makes room for n more bytes in *b, moving to a larger pooled buffer when needed.
func Grow(b *[]byte, n int) *[]byte {
	if cap(*b)-len(*b) >= n {
		return b
	}
	nb := Get(len(*b) + n)
	*nb = append(*nb, *b...)
	Put(b)
	return nb
}
