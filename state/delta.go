package state

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/rallypoint/rallypoint/protocol"
)

// Filter decides whether an entity is in a player's view (interest management): a player is
// sent only the entities for which its filter returns true. A nil Filter lets everything
// through, and the room state (RoomID) is sent to everyone whatever the filter says. A
// filter is called several times per entity and per delta, so it should be cheap
// and must be pure: the same answer for the same entity within one call of AppendDelta.
type Filter func(id ID, kind uint8) bool

// ViewKey names a view, so that players who see the same thing share encoded frames (see
// FrameCache). Players with the same ViewKey must have equal filters. The zero ViewKey is a
// fine name for "everything" (a nil Filter).
type ViewKey uint64

// visible reports whether filter lets e through. The room state is everyone's.
func visible(filter Filter, e *entity) bool {
	return filter == nil || e.id == RoomID || filter(e.id, e.kind)
}

// MaxMaskFields is the number of fields that a changed entry can address with its 64-bit
// mask. An entity with more fields is re-sent whole, in added, whenever any of its fields
// changes: give an entity at most 64 fields, or group rarely changing ones into one Value.
const MaxMaskFields = 64

// AppendDelta appends to dst the body of a snapshot message: one MessagePack value that
// brings a client holding from (as seen through filter) to the state of to (as seen through
// filter). If from is nil, or is not older than to, it writes a full snapshot. The engine
// passes ring.Get(ack), which is nil when the player's acknowledged tick has left the ring.
//
// The body is a 5-element array, described with a byte-level example in the package
// documentation:
//
//	[tick, baseline, added, removed, changed]
//	added:   [[id, kind, [field0, field1, ...]], ...]
//	removed: [id, ...]
//	changed: [[id, mask, fieldA, fieldB, ...], ...]
//
// baseline is 0 for a full snapshot, whose added then holds every visible entity. An entity
// is in added if the client does not have it, or if its kind or its number of fields changed,
// or if it has more than MaxMaskFields fields and any of them changed. Otherwise, if any field
// differs from the baseline (by its encoded bytes), it is in changed: bit i of mask is set if
// field i changed, and the changed fields follow in index order. Entities that did not change
// cost nothing. Each list is in ascending id order.
//
// The filter must be the one the client's baseline was encoded with: a delta only removes
// what it sees in from. When a player's view changes, use AppendDeltaBetween with both
// filters, or send a full snapshot.
//
// Cost: a merge of the two sorted entity lists, three times over (one per list), comparing
// the bytes of entities present in both. It does not allocate when dst has room.
func AppendDelta(dst []byte, from, to *Snapshot, filter Filter) []byte {
	return AppendDeltaBetween(dst, from, filter, to, filter)
}

// AppendDeltaBetween is AppendDelta for a player whose view changed since the baseline: the
// client holds from as seen through fromFilter, and will hold to as seen through toFilter.
// Entities that left the view are removed and those that came into it are added, whole.
// Frames made this way are keyed by both views, if they are cached at all.
func AppendDeltaBetween(dst []byte, from *Snapshot, fromFilter Filter, to *Snapshot, toFilter Filter) []byte {
	return appendDelta(dst, from, fromFilter, to, toFilter)
}

// AppendDeltaV2 appends the snapshot of the rallypoint.v2 wire: the same delta as
// AppendDeltaBetween in fewer bytes. Not one array but three to five values in a row, for
// the engine to place inside its message, [18, last_seq, tick, ...]; it returns how many it
// wrote, which the message's array length counts:
//
//	tick, offset, changed[, added[, removed]]
//	offset   tick − baseline, 0 for a full snapshot (1 byte where a baseline took 3 or 5)
//	changed  [id, mask, fieldA, fieldB, ..., id, mask, ...]: the entries one after another
//	         in a single array (popcount(mask) values after each mask), not an array each
//	added    as in AppendDelta; left out when it and removed are both empty
//	removed  as in AppendDelta; left out when empty
//
// and a changed field whose baseline value and new value are both integers is sent as
// new − baseline (see intdelta.go): a moving entity's quantized coordinates then take a byte
// each. An entity whose integers changed by more than int64 holds goes whole, in added.
// Most snapshots of a game in play add and remove nothing, so the two empty lists that
// close them cost nothing: 2 bytes of a shooter's 40 a snapshot. Mirror.ApplyV2 reads it.
// The filters are AppendDeltaBetween's; a player whose view did not change passes the same
// filter twice.
func AppendDeltaV2(dst []byte, from *Snapshot, fromFilter Filter, to *Snapshot, toFilter Filter) ([]byte, int) {
	return AppendDeltaV2Predicted(dst, nil, from, fromFilter, to, toFilter)
}

// AppendDeltaV2Predicted is AppendDeltaV2 with a second baseline, prev, an older state the
// client holds as seen through fromFilter: a changed integer field travels as its
// difference from the value predicted from the two baselines (predict.go), and the offset
// is two, [tick − baseline, baseline − prev]:
//
//	tick, [offset, offset2], changed[, added[, removed]]
//
// With prev nil, not older than from, or too far back (predictGaps), it is AppendDeltaV2.
// A client that does not hold prev cannot apply it (Mirror.ApplyV2 says
// ErrUnknownBaseline), so prev must be a state the client acknowledged, and recently
// enough that it still keeps it.
func AppendDeltaV2Predicted(dst []byte, prev, from *Snapshot, fromFilter Filter, to *Snapshot, toFilter Filter) ([]byte, int) {
	dst, n, _ := appendDeltaV2(dst, prev, from, fromFilter, to, toFilter, false)
	return dst, n
}

// AppendDeltaV3 appends the snapshot of the rallypoint.v3 wire: AppendDeltaV2Predicted's
// values, or, where a second baseline is used and it is smaller, an exact one, whose offset
// pair carries offset2 negated: its changed lists only the fields whose new value differs
// from their reference, the value predicted from the two baselines or, for a field that is
// not predicted, the baseline's; an entity of the baseline that changed does not list takes
// its reference values. Steady movement, which v2 sends as an entry of zeros for every
// moving entity (id, mask and a 0 a coordinate: 4 bytes of a shooter player's), then costs
// nothing; but a field that stops or jumps must be corrected once where v2 sends nothing (it
// was predicted to go on), so where movement is uneven (inputs arriving late and bunched,
// on a jittery path) the v2 form is the smaller, and is sent. The choice costs a count
// during the exact encoding and, where v2's is smaller, a second encoding. What the decoder
// pays for an exact frame is a prediction for every entity of the baseline that moved
// between the two baselines, listed or not (exact.go). Mirror.ApplyV3 reads both forms.
func AppendDeltaV3(dst []byte, prev, from *Snapshot, fromFilter Filter, to *Snapshot, toFilter Filter) ([]byte, int) {
	start := len(dst)
	dst, n, extra := appendDeltaV2(dst, prev, from, fromFilter, to, toFilter, true)
	if extra > 0 {
		dst, n, _ = appendDeltaV2(dst[:start], prev, from, fromFilter, to, toFilter, false)
	}
	return dst, n
}

// appendDeltaV2 writes the v2 values, or, if exact and there is a second baseline, v3's
// exact ones; extra is then how many bytes more than v2's they are estimated to take
// (exactMask's count: negative when they are fewer).
func appendDeltaV2(dst []byte, prev, from *Snapshot, fromFilter Filter, to *Snapshot, toFilter Filter, exact bool) (_ []byte, n, extra int) {
	from = checkDelta(from, to)
	g := predictGaps(prev, from, to)
	if g.g2 == 0 {
		prev = nil
	}
	dst = protocol.AppendUint(dst, uint64(to.tick))
	switch {
	case prev != nil && exact:
		dst = protocol.AppendArray(dst, 2)
		dst = protocol.AppendUint(dst, uint64(g.g1))
		dst = protocol.AppendInt(dst, -int64(g.g2)) // negative: the exact rule
	case prev != nil:
		dst = protocol.AppendArray(dst, 2)
		dst = protocol.AppendUint(dst, uint64(g.g1))
		dst = protocol.AppendUint(dst, uint64(g.g2))
	case from != nil:
		dst = protocol.AppendUint(dst, uint64(to.tick-from.tick))
	default:
		dst = protocol.AppendUint(dst, 0)
	}
	w := walk{from: from, to: to, ff: fromFilter, tf: toFilter, prev: prev, g: g, exact: exact && prev != nil}
	dst, extra = appendChanged(dst, w, true)
	dst, added := appendAdded(dst, w, true)
	dst, removed := appendRemoved(dst, w)
	switch {
	case removed > 0:
		return dst, 5, extra
	case added > 0:
		return dst[:len(dst)-1], 4, extra // removed's empty array, 0x90, goes
	default:
		return dst[:len(dst)-2], 3, extra // and added's
	}
}

// checkDelta panics on a nil target and returns the baseline, nil where from is not older
// than to (a baseline must be).
func checkDelta(from, to *Snapshot) *Snapshot {
	if to == nil {
		panic("state: AppendDelta to a nil snapshot")
	}
	if from != nil && from.tick >= to.tick {
		return nil
	}
	return from
}

// appendDelta writes the v1 body, [tick, baseline, added, removed, changed].
func appendDelta(dst []byte, from *Snapshot, fromFilter Filter, to *Snapshot, toFilter Filter) []byte {
	from = checkDelta(from, to)
	var baseline Tick
	if from != nil {
		baseline = from.tick
	}
	dst = protocol.AppendArray(dst, 5)
	dst = protocol.AppendUint(dst, uint64(to.tick))
	dst = protocol.AppendUint(dst, uint64(baseline))
	w := walk{from: from, to: to, ff: fromFilter, tf: toFilter}
	dst, _ = appendAdded(dst, w, false)
	dst, _ = appendRemoved(dst, w)
	dst, _ = appendChanged(dst, w, false)
	return dst
}

// appendAdded writes added, [[id, kind, [field...]]...], and returns how many entries it
// holds: every entity of to that w's baseline lacks, or has in a form a changed entry cannot
// patch. w is a walk not yet begun (a copy, so the caller's stays so).
func appendAdded(dst []byte, w walk, v2 bool) ([]byte, int) {
	from, to := w.from, w.to
	dst, pos := reserveArray(dst)
	n := 0
	for a, b := w.next(); a != nil || b != nil; a, b = w.next() {
		if b != nil && (a == nil || resend(from, a, to, b) || (v2 && w.needsWhole(a, b, w.prevOf(a)))) {
			dst = protocol.AppendArray(dst, 3)
			dst = protocol.AppendUint(dst, uint64(b.id))
			dst = protocol.AppendUint(dst, uint64(b.kind))
			dst = protocol.AppendArray(dst, int(b.nf))
			dst = append(dst, to.encoded(b)...)
			n++
		}
	}
	return closeArray(dst, pos, n), n
}

// appendRemoved writes removed, [id...]: the entities of the baseline that to lacks.
func appendRemoved(dst []byte, w walk) ([]byte, int) {
	dst, pos := reserveArray(dst)
	n := 0
	if w.from != nil {
		for a, b := w.next(); a != nil || b != nil; a, b = w.next() {
			if b == nil {
				dst = protocol.AppendUint(dst, uint64(a.id))
				n++
			}
		}
	}
	return closeArray(dst, pos, n), n
}

// appendChanged writes changed: v1's [[id, mask, field...]...], or v2's flat list of
// integer differences (AppendDeltaV2), or v3's exact one (w.exact), for which it also
// returns how many bytes more than v2's it is estimated to take.
func appendChanged(dst []byte, w walk, v2 bool) (_ []byte, extra int) {
	from, to := w.from, w.to
	dst, pos := reserveArray(dst)
	n := 0
	var res residuals // v3: what exactMask found to send
	if from != nil {
		for a, b := w.next(); a != nil || b != nil; a, b = w.next() {
			if a == nil || b == nil || resend(from, a, to, b) {
				continue
			}
			var c *entity // the entity in the second baseline, if any
			var mask uint64
			res.set = false
			if w.exact {
				var whole bool
				if c = w.exactPrev(a); c != nil {
					mask, whole = w.exactMask(a, b, c, &res)
					extra += res.extra
					if whole || mask == 0 {
						continue // whole: in added
					}
				}
			}
			if mask == 0 {
				if bytes.Equal(from.encoded(a), to.encoded(b)) {
					continue
				}
				if v2 {
					if c = w.prevOf(a); w.needsWhole(a, b, c) {
						continue
					}
				}
				mask = changedMask(from, a, to, b)
			}
			if v2 {
				dst = protocol.AppendUint(dst, uint64(b.id))
				dst = protocol.AppendUint(dst, mask)
				for m := mask; m != 0; m &= m - 1 {
					k := uint32(bits.TrailingZeros64(m))
					fb := to.field(b, k)
					if res.set {
						if res.ok&(1<<k) != 0 {
							dst = protocol.AppendInt(dst, res.d[k])
						} else {
							dst = append(dst, fb...)
						}
					} else if d, ok, _ := w.g.diff(from.field(a, k), prevField(w.prev, c, k), fb); ok {
						dst = protocol.AppendInt(dst, d)
					} else {
						dst = append(dst, fb...)
					}
				}
				n += 2 + bits.OnesCount64(mask)
				continue
			}
			dst = protocol.AppendArray(dst, 2+bits.OnesCount64(mask))
			dst = protocol.AppendUint(dst, uint64(b.id))
			dst = protocol.AppendUint(dst, mask)
			for m := mask; m != 0; m &= m - 1 {
				dst = append(dst, to.field(b, uint32(bits.TrailingZeros64(m)))...)
			}
			n++
		}
	}
	return closeArray(dst, pos, n), extra
}

// resend reports whether entity b of to must be sent whole although the baseline has a, the
// entity with the same id: a changed mask cannot express a new kind or a new number of fields,
// nor address more than MaxMaskFields fields.
func resend(from *Snapshot, a *entity, to *Snapshot, b *entity) bool {
	return a.kind != b.kind || a.nf != b.nf ||
		(b.nf > MaxMaskFields && !bytes.Equal(from.encoded(a), to.encoded(b)))
}

// changedMask returns the mask of the fields of b that differ from those of a, which has the
// same number of fields, at most MaxMaskFields. Rather than compare field by field, it
// compares everything from field i on at once and jumps to the field holding the first
// difference: msgpack values delimit themselves, so when two runs of fields start at field
// boundaries and agree on their first p bytes, they agree on every field inside those bytes.
// A moving entity whose changing fields come first costs one comparison per changed field,
// plus one for the unchanged rest.
func changedMask(from *Snapshot, a *entity, to *Snapshot, b *entity) uint64 {
	ba := from.bounds[a.at : a.at+a.nf+1]
	bb := to.bounds[b.at : b.at+b.nf+1]
	nf := len(ba) - 1
	var mask uint64
	for i := 0; i < nf; {
		x := from.arena[ba[i]:ba[nf]]
		y := to.arena[bb[i]:bb[nf]]
		p := commonPrefix(x, y)
		if p == len(x) && p == len(y) {
			break
		}
		// Field k holds byte p of x: fields i..k-1 are equal, field k differs.
		k := i
		for k+1 < nf && int(ba[k+1]-ba[i]) <= p {
			k++
		}
		mask |= 1 << k
		i = k + 1
	}
	return mask
}

// commonPrefix returns the length of the longest common prefix of x and y, comparing eight
// bytes at a time.
func commonPrefix(x, y []byte) int {
	n := min(len(x), len(y))
	i := 0
	for ; i+8 <= n; i += 8 {
		if d := binary.LittleEndian.Uint64(x[i:]) ^ binary.LittleEndian.Uint64(y[i:]); d != 0 {
			return i + bits.TrailingZeros64(d)/8
		}
	}
	for ; i < n; i++ {
		if x[i] != y[i] {
			return i
		}
	}
	return n
}

// walk merges the visible entities of from (may be nil) and to in id order.
type walk struct {
	from, to *Snapshot
	ff, tf   Filter
	i, j     int
	iok, jok bool // the filter already let ents[i] / ents[j] through

	prev  *Snapshot // the second baseline (AppendDeltaV2Predicted), or nil
	g     gaps
	pi    int  // prevOf's cursor into prev.ents
	exact bool // v3: changed lists what differs from the reference (exact.go); prev is not nil
}

// prevOf returns the entity of the second baseline that a, an entity of the baseline, is
// predicted from, or nil. Calls go in ascending id order.
func (w *walk) prevOf(a *entity) *entity {
	if a == nil {
		return nil
	}
	return prevEntity(w.prev, w.ff, a, &w.pi)
}

// next returns the next id's entity in from (a) and in to (b), one of them nil if the id is
// visible on one side only, and both nil at the end.
func (w *walk) next() (a, b *entity) {
	var fe []entity
	if w.from != nil {
		fe = w.from.ents
	}
	te := w.to.ents
	for !w.iok && w.i < len(fe) {
		if w.iok = visible(w.ff, &fe[w.i]); !w.iok {
			w.i++
		}
	}
	for !w.jok && w.j < len(te) {
		if w.jok = visible(w.tf, &te[w.j]); !w.jok {
			w.j++
		}
	}
	haveA, haveB := w.i < len(fe), w.j < len(te)
	if haveA && (!haveB || fe[w.i].id <= te[w.j].id) {
		a = &fe[w.i]
	}
	if haveB && (!haveA || te[w.j].id <= fe[w.i].id) {
		b = &te[w.j]
	}
	if a != nil {
		w.i++
		w.iok = false
	}
	if b != nil {
		w.j++
		w.jok = false
	}
	return a, b
}
