package main

import (
	"math"
	"math/bits"

	"github.com/rallypoint/rallypoint/protocol"
	"github.com/rallypoint/rallypoint/state"
)

// snapMsg is a snapshot as the server sent it, for the behaviors that read it without a
// mirror: on rallypoint.v1 the body [tick, baseline, added, removed, changed], on
// rallypoint.v2 the values tick, offset, changed[, added[, removed]], whose changed entries
// follow each other in one array and whose changed integers are differences from the
// baseline's, and whose added and removed are left out when empty (PROTOCOL.md, "The v2
// snapshot").
type snapMsg struct {
	b  []byte
	v2 bool
	// v3: the connection speaks rallypoint.v3, whose predicted snapshots leave out an entity
	// or a field whose new value is the one predicted (PROTOCOL.md, "The v3 snapshot").
	v3 bool
	// seq is a v2 snapshot's last_seq, if hasSeq: the difference from the input seq known
	// at its baseline (protocol.SeqHistory).
	seq    uint32
	hasSeq bool
}

// The lists of a snapshot, which lists yields in the order of its wire.
const (
	listAdded = iota
	listRemoved
	listChanged
)

var (
	v1Lists = []int{listAdded, listRemoved, listChanged}
	v2Lists = []int{listChanged, listAdded, listRemoved}
)

// lists returns the snapshot's lists in the order they come after the header, for the
// caller to read each in turn; on v2, a list the message leaves out (r has nothing left)
// is empty, and the caller stops.
func (s snapMsg) lists() []int {
	if s.v2 {
		return v2Lists
	}
	return v1Lists
}

// header resets r to the snapshot and reads its tick and baseline (0: full), leaving r at
// the first list.
func (s snapMsg) header(r *protocol.Reader) (tick, baseline uint32) {
	tick, baseline, _, _ = s.header2(r)
	return tick, baseline
}

// header2 is header that also returns the second baseline of a predicted v2 snapshot (0:
// none), whose changed integers are differences from predictions (PROTOCOL.md, "The v2
// snapshot"; state.AppendDeltaV2Predicted), and whether it is an exact v3 one, whose
// offset2 is negative ("The v3 snapshot"; state.AppendDeltaV3).
func (s snapMsg) header2(r *protocol.Reader) (tick, baseline, second uint32, exact bool) {
	r.Reset(s.b)
	if !s.v2 {
		r.ArrayLen()
	}
	tick = uint32(r.Int())
	pair := s.v2 && r.IsPair()
	baseline = uint32(r.Int())
	var off2 uint32
	if pair {
		o := r.Int()
		if exact = o < 0; exact {
			o = -o
		}
		if (exact && !s.v3) || o > math.MaxUint32 {
			r.Fail(protocol.ErrRange)
			return 0, 0, 0, false
		}
		off2 = uint32(o)
	}
	if s.v2 && baseline != 0 {
		if baseline >= tick || off2 >= tick-baseline {
			r.Fail(protocol.ErrRange)
			return 0, 0, 0, false
		}
		baseline = tick - baseline
		if off2 != 0 {
			second = baseline - off2
		}
	}
	return tick, baseline, second, exact
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

// predictGaps is what a predicted v2 snapshot's differences need besides the two
// baselines' values: the ticks from the baseline to the snapshot (g1) and from the second
// baseline to the baseline (g2).
type predictGaps struct{ g1, g2 uint32 }

// ref returns what a changed integer field is a difference from, given its value b1 at the
// baseline and b2 at the second baseline: the value predicted from the two, or b1 where
// none is (state.Predict).
func (g predictGaps) ref(b1, b2 int64) int64 {
	if v, ok := state.Predict(b1, b2, state.Tick(g.g1), state.Tick(g.g2)); ok {
		return v
	}
	return b1
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
