package main

import (
	"math/bits"

	"github.com/rallypoint/rallypoint/protocol"
)

// snapMsg is a snapshot as the server sent it, for the behaviors that read it without a
// mirror: on rallypoint.v1 the body [tick, baseline, added, removed, changed], on
// rallypoint.v2 the values tick, offset, added, removed, changed, whose changed entries
// follow each other in one array and whose changed integers are differences from the
// baseline's (PROTOCOL.md, "The v2 snapshot").
type snapMsg struct {
	b  []byte
	v2 bool
}

// header resets r to the snapshot and reads its tick and baseline (0: full), leaving r at
// added.
func (s snapMsg) header(r *protocol.Reader) (tick, baseline uint32) {
	r.Reset(s.b)
	if !s.v2 {
		r.ArrayLen()
	}
	tick, baseline = uint32(r.Int()), uint32(r.Int())
	if s.v2 && baseline != 0 {
		if baseline >= tick {
			r.Fail(protocol.ErrRange)
			return 0, 0
		}
		baseline = tick - baseline
	}
	return tick, baseline
}

// changedLen reads the changed list's header: what nextChanged counts down.
func (s snapMsg) changedLen(r *protocol.Reader) int { return r.ArrayLen() }

// nextChanged reads the head of one changed entry, the id and the mask, and returns how
// many values follow it; left, from changedLen, counts down to 0 after the last entry.
func (s snapMsg) nextChanged(r *protocol.Reader, left *int) (id, mask uint64, k int) {
	if !s.v2 {
		*left--
		k = r.ArrayLen() - 2
		id, mask = uint64(r.Int()), uint64(r.Int())
		if k < 0 {
			r.Fail(protocol.ErrRange)
		}
		return id, mask, max(k, 0)
	}
	id, mask = uint64(r.Int()), uint64(r.Int())
	k = bits.OnesCount64(mask)
	if *left -= 2 + k; *left < 0 {
		r.Fail(protocol.ErrRange)
		*left = 0
	}
	return id, mask, k
}

// diffs reports whether the integers of a changed entry are differences.
func (s snapMsg) diffs() bool { return s.v2 }

// readInt reads an integer field whose value was old: the value, or with diff (a changed
// entry's on v2) the difference from old.
func readInt(r *protocol.Reader, old int64, diff bool) int64 {
	if diff {
		return old + r.Int()
	}
	return r.Int()
}
