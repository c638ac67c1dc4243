package state

// Predicted differences (the rallypoint.v2 wire with a second baseline,
// AppendDeltaV2Predicted). A changed integer field travels as new − baseline on the plain
// v2 wire (intdelta.go). Something that moves at a steady speed changes by about the same
// amount from one snapshot to the next, so that difference is large (a shooter player
// running: ±98 to ±138 at Grid 16, two or three bytes) and the same each time. With a
// second baseline, an older state the client also holds, the field travels as
// new − predicted instead, where predicted goes on from the baseline at the speed the field
// had between the two baselines:
//
//	predicted = b1 + (b1 − b2)·g1 / g2   (the quotient truncated toward zero)
//	g1 = tick − baseline, g2 = baseline − second baseline (both in ticks)
//
// For steady movement that residual is 0 or ±1, a one-byte fixint. A field that jumps (a
// health bar, a score) costs the same as before: its mask bit is set only when it differs
// from the baseline, as on the plain wire, and at the snapshot after a jump it is predicted
// to go on jumping, costing what the jump's difference would have. What the second baseline
// costs is the second offset, one byte a snapshot, and one more state that the server keeps
// pinned for each player and the client keeps among its recent states.
//
// The decoder makes the same prediction from the same two states, so the rule is exact:
// a field is predicted when the entity is in both baselines (as the client holds them:
// through the same view) with the same kind and number of fields, the field is an integer in
// both, |b1| and |b2| are at most 2^47, |b1 − b2| at most 2^20 and g1 and g2 at most 2^12.
// Otherwise the difference goes from b1 as on the plain wire. The bounds keep every product
// below 2^32, which JavaScript's doubles hold exactly, so the browser SDK computes the same
// numbers.

const (
	predictMaxValue = 1 << 47 // |b1| and |b2|
	predictMaxStep  = 1 << 20 // |b1 − b2|
	predictMaxGap   = 1 << 12 // g1 and g2, in ticks (68 s at 60 Hz)
)

// gaps is the distances in ticks from the second baseline to the baseline (g2) and from the
// baseline to the new tick (g1); zero when there is no second baseline.
type gaps struct{ g1, g2 Tick }

// predictGaps returns the gaps for a snapshot of tick to against baseline from and second
// baseline prev, or zero gaps (no prediction) when prev is missing, not older than from,
// or too far back.
func predictGaps(prev, from, to *Snapshot) gaps {
	if prev == nil || from == nil || prev.tick >= from.tick || from.tick >= to.tick {
		return gaps{}
	}
	g := gaps{g1: to.tick - from.tick, g2: from.tick - prev.tick}
	if g.g1 > predictMaxGap || g.g2 > predictMaxGap {
		return gaps{}
	}
	return g
}

// predict returns the value a field is predicted to have from o, its bytes at the
// baseline, and q, its bytes at the second baseline (nil if the entity is not there as it
// is in the baseline); ok is false when the field is not predicted.
func (g gaps) predict(o, q []byte) (int64, bool) {
	if q == nil || g.g2 == 0 {
		return 0, false
	}
	ov, ko := intField(o)
	qv, kq := intField(q)
	if ko != int64OK || kq != int64OK {
		return 0, false
	}
	return Predict(ov, qv, g.g1, g.g2)
}

// Predict returns the value predicted for an integer field that was b1 at a snapshot's
// baseline and b2 at its second baseline, g1 ticks after the baseline, which is g2 ticks
// after the second one; ok is false when the field is not predicted (its difference is
// from b1). It is for a client that reads the v2 wire without a Mirror, as the load
// generator's bots do; it applies to a field that is an integer at both baselines, of an
// entity with the same kind and number of fields at both.
func Predict(b1, b2 int64, g1, g2 Tick) (int64, bool) {
	if g1 == 0 || g2 == 0 || g1 > predictMaxGap || g2 > predictMaxGap ||
		b1 < -predictMaxValue || b1 > predictMaxValue || b2 < -predictMaxValue || b2 > predictMaxValue {
		return 0, false
	}
	step := b1 - b2
	if step < -predictMaxStep || step > predictMaxStep {
		return 0, false
	}
	return b1 + step*int64(g1)/int64(g2), true
}

// diff is intDiff against the field's reference: the predicted value when there is one,
// else the baseline's value old.
func (g gaps) diff(old, prev, new []byte) (d int64, ok, whole bool) {
	if p, ok := g.predict(old, prev); ok {
		return diffFrom(p, false, new)
	}
	return intDiff(old, new)
}

// prevEntity returns the entity of the second baseline s that a changed entry for a, an
// entity of the baseline, predicts from: the one with a's id, kind and number of fields,
// visible through filter; nil if there is none. *i is a cursor into s.ents, for calls in
// ascending id order.
func prevEntity(s *Snapshot, filter Filter, a *entity, i *int) *entity {
	if s == nil {
		return nil
	}
	ents := s.ents
	for *i < len(ents) && ents[*i].id < a.id {
		*i++
	}
	if *i == len(ents) {
		return nil
	}
	c := &ents[*i]
	if c.id != a.id || c.kind != a.kind || c.nf != a.nf || !visible(filter, c) {
		return nil
	}
	return c
}

// prevField returns field k of c in s, nil if c is nil.
func prevField(s *Snapshot, c *entity, k uint32) []byte {
	if c == nil {
		return nil
	}
	return s.field(c, k)
}
