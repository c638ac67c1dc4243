package state

import (
	"bytes"
	"math"
)

// Exact predictions (the rallypoint.v3 wire, AppendDeltaV3). On v2, a snapshot with a second
// baseline predicts the fields it lists, but lists every field that differs from the
// baseline: a shooter player running in a straight line is an entry of zeros in every
// snapshot (its id, its mask, and a 0 or ±1 for each coordinate), because the mask says what
// changed since the baseline, and a moving entity always has. v3's exact snapshot (its
// offset2 negated) measures the change from the reference instead, the value the decoder
// will assume:
//
//	reference = predicted (predict.go)  for a field the v2 rules predict
//	            the baseline's value     for any other
//
// and an entity of the baseline that changed does not list takes its reference for every
// field. So a field is listed only where the prediction missed: something that turns,
// stops, jumps or starts. The decoder must now predict every entity that moved between the
// two baselines, not only those listed: Mirror.ApplyV3 does it entity by entity, and an
// entity whose bytes are the same at both baselines (most of a crossword's, say) is copied
// as before, after one comparison.
//
// An entity with more than MaxMaskFields fields is never predicted on v3 (no mask could
// correct it): it is sent whole when it changes, as on every wire.
//
// A field that stops or jumps is listed one snapshot later than on v2 (it was predicted to
// go on), and costs its correction there, where v2 sends nothing. While encoding, exactMask
// counts what each entity's entry costs against v2's, and AppendDeltaV3 sends v2's form
// when the exact one came out larger: through a jittery path, where late and bunched inputs
// make movement uneven, it does (bench/colyseus/README.md has the figures).

// exactPrev returns the entity of the second baseline that a, an entity of the baseline, is
// predicted from on v3, or nil. Calls go in ascending id order.
func (w *walk) exactPrev(a *entity) *entity {
	if a.nf > MaxMaskFields {
		return nil
	}
	return w.prevOf(a)
}

// residuals are the values exactMask found for the fields it listed, so that the encoder
// does not predict them twice: field k's difference from its reference d[k] if ok has bit
// k, else the field goes as it is. Valid when set.
type residuals struct {
	d   [MaxMaskFields]int64
	ok  uint64
	set bool
	// extra is how many bytes more this entity's entry takes than v2's would (negative:
	// fewer), counting the values and the id and mask of an entry only one of them has.
	extra int
}

// exactMask returns the mask of the fields of b, the new state of a (in the baseline) and c
// (in the second baseline, the same kind and number of fields), that differ from their
// reference, or whole when one of them cannot be sent as a difference from it (the entity
// then goes whole, in added). It leaves in res what to send for each, when it computed it.
//
// It runs for every entity of the baseline that is in the second one, every frame, so the
// common cases cost byte comparisons only: an entity the same at both baselines has its
// baseline values for references (its mask is v2's), and so has a field the same at both.
// A decoder reads a field listed with a difference of 0 as it reads one left out, so a
// mask with such a field (a value written in another integer format) is still exact.
func (w *walk) exactMask(a, b, c *entity, res *residuals) (mask uint64, whole bool) {
	from, to, prev := w.from, w.to, w.prev
	res.set, res.ok, res.extra = false, 0, 0
	ea, eb := from.encoded(a), to.encoded(b)
	if bytes.Equal(ea, prev.encoded(c)) {
		if bytes.Equal(ea, eb) {
			return 0, false // still at both baselines and now
		}
		return changedMask(from, a, to, b), w.wide(a, b, c)
	}
	// The fields' bounds, sliced once: field(e, k) for each would check them three times.
	ba, bb, bc := from.bounds[a.at:a.at+a.nf+1], to.bounds[b.at:b.at+b.nf+1], prev.bounds[c.at:c.at+c.nf+1]
	var mask2 uint64 // what v2 lists: the fields that differ from the baseline
	for k := range len(ba) - 1 {
		fa, fb, fc := from.arena[ba[k]:ba[k+1]], to.arena[bb[k]:bb[k+1]], prev.arena[bc[k]:bc[k+1]]
		var d int64
		var ok, predicted bool
		var p int64
		if !bytes.Equal(fa, fc) {
			p, predicted = w.g.predict(fa, fc)
		}
		same := bytes.Equal(fa, fb)
		if !same {
			mask2 |= 1 << k
		}
		if predicted {
			if d, ok, whole = diffFrom(p, false, fb); whole {
				return 0, true
			}
			if ok && d == 0 {
				if !same {
					res.extra-- // v2 sends this 0: one byte
				}
				continue // where it was heading
			}
			if same {
				res.extra += intLen(d) // a stop: v2 sends nothing
			}
		} else {
			// Its reference is fa, predicted (still at both baselines) or not.
			if same {
				continue
			}
			if d, ok, whole = intDiff(fa, fb); whole {
				return 0, true
			}
		}
		mask |= 1 << k
		if ok {
			res.d[k] = d
			res.ok |= 1 << k
		}
	}
	switch {
	case mask != 0 && mask2 == 0:
		res.extra += uintLen(uint64(b.id)) + uintLen(mask)
	case mask == 0 && mask2 != 0:
		res.extra -= uintLen(uint64(b.id)) + uintLen(mask2)
	}
	res.set = true
	return mask, false
}

// uintLen and intLen are the lengths of v's smallest MessagePack encoding.
func uintLen(v uint64) int {
	switch {
	case v < 1<<7:
		return 1
	case v < 1<<8:
		return 2
	case v < 1<<16:
		return 3
	case v < 1<<32:
		return 5
	}
	return 9
}

func intLen(v int64) int {
	if v >= 0 {
		return uintLen(uint64(v))
	}
	switch {
	case v >= -32:
		return 1
	case v >= math.MinInt8:
		return 2
	case v >= math.MinInt16:
		return 3
	case v >= math.MinInt32:
		return 5
	}
	return 9
}

// wide reports whether an entity whose fields differ from their references must go whole,
// which only a 64-bit integer can make it do (intdelta.go): v2's needsWhole, measuring
// from each field's v3 reference.
func (w *walk) wide(a, b, c *entity) bool {
	if !hasWide(w.from.encoded(a)) && !hasWide(w.to.encoded(b)) {
		return false
	}
	for k := range b.nf {
		fa, fb := w.from.field(a, k), w.to.field(b, k)
		var whole bool
		if p, ok := w.g.predict(fa, w.prev.field(c, k)); ok {
			_, _, whole = diffFrom(p, false, fb)
		} else if !bytes.Equal(fa, fb) {
			_, _, whole = intDiff(fa, fb)
		}
		if whole {
			return true
		}
	}
	return false
}
