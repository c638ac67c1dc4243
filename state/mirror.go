package state

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
)

// Errors of Mirror.Apply, to test with errors.Is. A body that fails leaves the mirror as it
// was.
var (
	// ErrMalformed: the body is not a snapshot body, or contradicts itself or its baseline
	// (an unknown entity is changed or removed, an id is listed twice, a mask addresses a
	// field the entity does not have...).
	ErrMalformed = errors.New("state: malformed snapshot body")
	// ErrUnknownBaseline: the body is a delta against a tick the mirror does not hold (never
	// applied, or older than the last n). The client should acknowledge its latest tick again
	// and wait for a delta against it, or for a full snapshot.
	ErrUnknownBaseline = errors.New("state: delta against a baseline the mirror does not hold")
	// ErrStaleTick: the body's tick is not newer than the latest applied one.
	ErrStaleTick = errors.New("state: snapshot not newer than the mirror's latest")
)

// MirrorEntity is an entity as a client holds it: its fields are the MessagePack values the
// server's Entity wrote, undecoded, in index order. Fields is nil for an entity without
// fields. A MirrorEntity returned by Mirror or SnapshotEntities is a copy, the caller's to
// keep.
type MirrorEntity struct {
	ID     ID
	Kind   uint8
	Fields []msgpack.RawMessage
}

// Decode decodes field i into v (a pointer), with vmihailenco/msgpack's rules: a Float32 field
// decodes into a *float32 or *float64, an Int into any integer type that holds it, and so on.
func (e MirrorEntity) Decode(i int, v any) error {
	if i < 0 || i >= len(e.Fields) {
		return fmt.Errorf("state: entity %d has no field %d (it has %d)", e.ID, i, len(e.Fields))
	}
	if err := msgpack.Unmarshal(e.Fields[i], v); err != nil {
		return fmt.Errorf("state: entity %d field %d: %w", e.ID, i, err)
	}
	return nil
}

// Mirror is the client side of snapshot replication, for Go bots, the load generator and
// tests: it applies the bodies that AppendDelta produced and holds the resulting state. It
// keeps the last n states, because the server encodes against the tick the client last
// acknowledged, and newer snapshots may have been applied since: n at least the server's ring
// size is always enough.
//
// Apply checks everything it reads (structure, id order, that changed and removed entities
// exist, masks), never panics on any input and never recurses, so it may be fed untrusted
// bytes. The states are Snapshots in a Ring of n, and recycled like the server's: after the
// first n bodies, Apply does not allocate (but to report an error). Entities and Entity copy
// what they return.
//
// A Mirror is not safe for concurrent use.
type Mirror struct {
	states *Ring

	// scratch of Apply, reused
	add   []addEntry
	rem   []ID
	chg   []changeEntry
	spans []span    // fields of add and chg, as offsets into the body
	v2    bool      // the body is ApplyV2's: changed is flat and its integers are differences
	v3    bool      // the body is ApplyV3's: a snapshot may be exact
	exact bool      // the body is an exact v3 snapshot: unlisted fields take their predictions (exact.go)
	prev  *Snapshot // ApplyV2's second baseline, or nil
	g     gaps      // and its gaps
}

type span struct{ start, end int }

type addEntry struct {
	id        ID
	kind      uint8
	first, nf int // spans[first:first+nf]
}

type changeEntry struct {
	id    ID
	mask  uint64
	first int // spans[first:first+popcount(mask)]
}

// NewMirror returns a mirror that keeps the last n states; n <= 0 means DefaultRingSize.
func NewMirror(n int) *Mirror {
	return &Mirror{states: NewRing(n)}
}

// Tick returns the tick of the latest applied body, 0 if none.
func (m *Mirror) Tick() Tick {
	if s := m.states.Latest(); s != nil {
		return s.tick
	}
	return 0
}

// Entities returns a copy of the latest state's entities, sorted by ID (nil if there are
// none). It allocates; a bot that follows a few entities should use Entity.
func (m *Mirror) Entities() []MirrorEntity {
	s := m.states.Latest()
	if s == nil {
		return nil
	}
	return SnapshotEntities(s, nil)
}

// Entity returns a copy of entity id in the latest state.
func (m *Mirror) Entity(id ID) (MirrorEntity, bool) {
	s := m.states.Latest()
	if s == nil {
		return MirrorEntity{}, false
	}
	i, ok := slices.BinarySearchFunc(s.ents, id, func(e entity, id ID) int { return cmp.Compare(e.id, id) })
	if !ok {
		return MirrorEntity{}, false
	}
	return s.mirrorEntity(&s.ents[i], nil, nil), true
}

// malformed returns an error that wraps ErrMalformed with the formatted detail.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Apply applies one snapshot body and returns its tick. The body is a full snapshot or a
// delta against a state the mirror holds; the wire form is described in the package
// documentation. On error the mirror is unchanged.
func (m *Mirror) Apply(body []byte) (Tick, error) {
	m.add, m.rem, m.chg, m.spans = m.add[:0], m.rem[:0], m.chg[:0], m.spans[:0]
	m.v2, m.v3, m.exact, m.prev, m.g = false, false, false, nil, gaps{}
	r := reader{b: body}

	n, err := r.arrayLen()
	if err != nil {
		return 0, malformed("body: %v", err)
	}
	if n != 5 {
		return 0, malformed("body is an array of %d elements, want 5", n)
	}
	tick, baseline, err := readTicks(&r)
	if err != nil {
		return 0, err
	}
	return m.apply(&r, body, tick, baseline)
}

// readTicks reads a v1 body's first two values: the tick and the baseline, below it.
func readTicks(r *reader) (tick, v uint64, err error) {
	if tick, err = readTick(r); err != nil {
		return 0, 0, err
	}
	v, err = readBelow(r, tick, "baseline")
	return tick, v, err
}

// readTick reads a body's tick.
func readTick(r *reader) (uint64, error) {
	tick, err := r.uint()
	if err != nil {
		return 0, malformed("tick: %v", err)
	}
	if tick == 0 || tick > math.MaxUint32 {
		return 0, malformed("tick %d not in 1..2^32-1", tick)
	}
	return tick, nil
}

// readBelow reads an unsigned integer, named what, that must be below limit.
func readBelow(r *reader, limit uint64, what string) (uint64, error) {
	v, err := r.uint()
	if err != nil {
		return 0, malformed("%s: %v", what, err)
	}
	if v >= limit {
		return 0, malformed("%s %d not below %d", what, v, limit)
	}
	return v, nil
}

// ApplyV2 is Apply for the rallypoint.v2 wire (AppendDeltaV2): vals is the three to five
// values tick, offset, changed[, added[, removed]], and nothing after them (a list left out
// is empty); a changed integer is a difference from the baseline's integer. The offset may
// be a pair, [offset, offset2], naming a second baseline offset2 ticks before the first:
// then a changed integer is a difference from the value predicted from the two
// (AppendDeltaV2Predicted), and the mirror must hold both. The states it keeps are the
// same as Apply's, every integer it computed in its smallest format, so a client may
// switch between the two wires (a resume on a newer client) without a full snapshot.
func (m *Mirror) ApplyV2(vals []byte) (Tick, error) {
	return m.applyV2(vals, false)
}

// ApplyV3 is ApplyV2 for the rallypoint.v3 wire (AppendDeltaV3): a snapshot whose offset2
// is negative is exact: a field that its changed does not list takes the value predicted
// for it (or its baseline's, if it is not predicted), and a listed one is corrected from
// that. Every other snapshot reads as on v2.
func (m *Mirror) ApplyV3(vals []byte) (Tick, error) {
	return m.applyV2(vals, true)
}

func (m *Mirror) applyV2(vals []byte, v3 bool) (Tick, error) {
	m.add, m.rem, m.chg, m.spans = m.add[:0], m.rem[:0], m.chg[:0], m.spans[:0]
	m.v2, m.v3, m.exact, m.prev, m.g = true, v3, false, nil, gaps{}
	r := reader{b: vals}
	tick, err := readTick(&r)
	if err != nil {
		return 0, err
	}
	if r.off < len(vals) && vals[r.off] == 0x92 { // [offset, offset2]
		return m.applyPredicted(&r, vals, tick)
	}
	off, err := readBelow(&r, tick, "offset")
	if err != nil {
		return 0, err
	}
	var baseline uint64
	if off != 0 {
		baseline = tick - off
	}
	return m.apply(&r, vals, tick, baseline)
}

// applyPredicted is ApplyV2 from the offset pair on.
func (m *Mirror) applyPredicted(r *reader, vals []byte, tick uint64) (Tick, error) {
	r.off++ // the pair's header
	g1, err := readBelow(r, tick, "offset")
	if err != nil {
		return 0, err
	}
	// offset2, negated in an exact v3 snapshot (AppendDeltaV3).
	v, err := r.skip()
	if err != nil {
		return 0, malformed("offset2: %v", err)
	}
	o2, k := intField(v)
	if k != int64OK || (o2 < 0 && !m.v3) {
		return 0, malformed("offset2 % x: not an unsigned integer (a negative one only on v3)", v)
	}
	m.exact = o2 < 0
	g2 := uint64(o2)
	if m.exact {
		g2 = uint64(-o2)
	}
	if g2 >= tick-g1 {
		return 0, malformed("offset2 %d not below %d", g2, tick-g1)
	}
	if g1 == 0 || g2 == 0 || g1 > predictMaxGap || g2 > predictMaxGap {
		return 0, malformed("offsets [%d, %d]: each must be in 1..%d", g1, g2, predictMaxGap)
	}
	m.g = gaps{g1: Tick(g1), g2: Tick(g2)}
	return m.apply(r, vals, tick, tick-g1)
}

// apply reads the three lists after the header, in the wire's order, and makes the new
// state.
func (m *Mirror) apply(r *reader, body []byte, tick, baseline uint64) (Tick, error) {
	if latest := m.states.Latest(); latest != nil && Tick(tick) <= latest.tick {
		return 0, fmt.Errorf("%w: tick %d, latest %d", ErrStaleTick, tick, latest.tick)
	}
	var base *Snapshot
	if baseline != 0 {
		if base = m.states.Get(Tick(baseline)); base == nil {
			return 0, fmt.Errorf("%w: tick %d", ErrUnknownBaseline, baseline)
		}
	}
	if m.g.g2 != 0 {
		// Checked after the baseline, which a client's recovery reads from the header: a
		// client that holds it but not this one acknowledges its latest tick again, and the
		// server's next pair is that tick and this baseline.
		second := Tick(baseline) - m.g.g2
		if m.prev = m.states.Get(second); m.prev == nil {
			return 0, fmt.Errorf("%w: tick %d (the second baseline)", ErrUnknownBaseline, second)
		}
	}

	if err := m.parseLists(r); err != nil {
		return 0, err
	}
	if r.remaining() != 0 {
		return 0, malformed("%d bytes after the body", r.remaining())
	}

	next := m.states.take(0, 0, len(body))
	next.tick = Tick(tick)
	if err := m.merge(next, body, base); err != nil {
		m.states.free = append(m.states.free, next)
		return 0, err
	}
	m.states.Push(next)
	return Tick(tick), nil
}

// parseLists reads added, removed and changed (v1), or changed and, if anything is left,
// added and then removed (v2).
func (m *Mirror) parseLists(r *reader) error {
	if !m.v2 {
		if err := m.parseAdded(r); err != nil {
			return err
		}
		if err := m.parseRemoved(r); err != nil {
			return err
		}
		return m.parseChanged(r)
	}
	if err := m.parseChangedFlat(r); err != nil {
		return err
	}
	if r.remaining() == 0 {
		return nil
	}
	if err := m.parseAdded(r); err != nil {
		return err
	}
	if r.remaining() == 0 {
		return nil
	}
	return m.parseRemoved(r)
}

// readID reads an entity id, which must be above prev (lists are in ascending id order).
func readID(r *reader, prev ID) (ID, error) {
	v, err := r.uint()
	if err != nil {
		return 0, err
	}
	if v == 0 || v > math.MaxUint32 {
		return 0, fmt.Errorf("id %d out of range", v)
	}
	if ID(v) <= prev {
		return 0, fmt.Errorf("id %d after id %d: ids must ascend", v, prev)
	}
	return ID(v), nil
}

// readFields reads n values as spans.
func (m *Mirror) readFields(r *reader, n int) error {
	for range n {
		start := r.off
		if _, err := r.skip(); err != nil {
			return err
		}
		m.spans = append(m.spans, span{start, r.off})
	}
	return nil
}

// parseAdded reads added: [[id, kind, [field...]]...].
func (m *Mirror) parseAdded(r *reader) error {
	n, err := r.arrayLen()
	if err != nil {
		return malformed("added: %v", err)
	}
	var prev ID
	for i := range n {
		k, err := r.arrayLen()
		if err != nil {
			return malformed("added[%d]: %v", i, err)
		}
		if k != 3 {
			return malformed("added[%d]: an array of %d, want 3", i, k)
		}
		id, err := readID(r, prev)
		if err != nil {
			return malformed("added[%d]: %v", i, err)
		}
		kind, err := r.uint()
		if err != nil {
			return malformed("added[%d]: kind: %v", i, err)
		}
		if kind > math.MaxUint8 {
			return malformed("added[%d]: kind %d not in 0..255", i, kind)
		}
		nf, err := r.arrayLen()
		if err != nil {
			return malformed("added[%d]: fields: %v", i, err)
		}
		first := len(m.spans)
		if err := m.readFields(r, nf); err != nil {
			return malformed("added[%d]: fields: %v", i, err)
		}
		m.add = append(m.add, addEntry{id: id, kind: uint8(kind), first: first, nf: nf})
		prev = id
	}
	return nil
}

// parseRemoved reads removed: [id...].
func (m *Mirror) parseRemoved(r *reader) error {
	n, err := r.arrayLen()
	if err != nil {
		return malformed("removed: %v", err)
	}
	var prev ID
	for i := range n {
		id, err := readID(r, prev)
		if err != nil {
			return malformed("removed[%d]: %v", i, err)
		}
		m.rem = append(m.rem, id)
		prev = id
	}
	return nil
}

// parseChanged reads changed: [[id, mask, field...]...].
func (m *Mirror) parseChanged(r *reader) error {
	n, err := r.arrayLen()
	if err != nil {
		return malformed("changed: %v", err)
	}
	var prev ID
	for i := range n {
		k, err := r.arrayLen()
		if err != nil {
			return malformed("changed[%d]: %v", i, err)
		}
		if k < 2 {
			return malformed("changed[%d]: an array of %d, want 2 or more", i, k)
		}
		id, err := readID(r, prev)
		if err != nil {
			return malformed("changed[%d]: %v", i, err)
		}
		mask, err := r.uint()
		if err != nil {
			return malformed("changed[%d]: mask: %v", i, err)
		}
		if mask == 0 {
			return malformed("changed[%d]: mask 0 changes nothing", i)
		}
		if k-2 != bits.OnesCount64(mask) {
			return malformed("changed[%d]: mask %#x names %d fields, the entry has %d", i, mask, bits.OnesCount64(mask), k-2)
		}
		first := len(m.spans)
		if err := m.readFields(r, k-2); err != nil {
			return malformed("changed[%d]: fields: %v", i, err)
		}
		m.chg = append(m.chg, changeEntry{id: id, mask: mask, first: first})
		prev = id
	}
	return nil
}

// parseChangedFlat reads the v2 changed list: [id, mask, field..., id, mask, field...].
func (m *Mirror) parseChangedFlat(r *reader) error {
	n, err := r.arrayLen()
	if err != nil {
		return malformed("changed: %v", err)
	}
	var prev ID
	for i := 0; n > 0; i++ {
		if n < 2 {
			return malformed("changed[%d]: %d value after the last entry, want an id and a mask", i, n)
		}
		id, err := readID(r, prev)
		if err != nil {
			return malformed("changed[%d]: %v", i, err)
		}
		mask, err := r.uint()
		if err != nil {
			return malformed("changed[%d]: mask: %v", i, err)
		}
		if mask == 0 {
			return malformed("changed[%d]: mask 0 changes nothing", i)
		}
		k := bits.OnesCount64(mask)
		if k > n-2 {
			return malformed("changed[%d]: mask %#x names %d fields, %d values are left", i, mask, k, n-2)
		}
		first := len(m.spans)
		if err := m.readFields(r, k); err != nil {
			return malformed("changed[%d]: fields: %v", i, err)
		}
		m.chg = append(m.chg, changeEntry{id: id, mask: mask, first: first})
		prev = id
		n -= 2 + k
	}
	return nil
}

// merge writes into s the state of base (nil for none) with the parsed lists applied: the
// entities of base that are neither removed nor changed are copied as they are, the changed
// ones field by field, the added ones from the body.
func (m *Mirror) merge(s *Snapshot, body []byte, base *Snapshot) error {
	var bents []entity
	if base != nil {
		bents = base.ents
	}
	add, rem, chg := m.add, m.rem, m.chg
	bi, ai, ri, ci := 0, 0, 0, 0
	pi := 0 // prevEntity's cursor into the second baseline
	for bi < len(bents) || ai < len(add) {
		inBase := bi < len(bents) && (ai >= len(add) || bents[bi].id <= add[ai].id)
		inAdd := ai < len(add) && (bi >= len(bents) || add[ai].id <= bents[bi].id)
		var id ID
		if inBase {
			id = bents[bi].id
		} else {
			id = add[ai].id
		}
		if ri < len(rem) && rem[ri] < id {
			return malformed("removed entity %d is not in the baseline", rem[ri])
		}
		if ci < len(chg) && chg[ci].id < id {
			return malformed("changed entity %d is not in the baseline", chg[ci].id)
		}
		removed := ri < len(rem) && rem[ri] == id
		changed := ci < len(chg) && chg[ci].id == id
		switch {
		case removed && inAdd:
			return malformed("entity %d both added and removed", id)
		case changed && inAdd:
			return malformed("entity %d both added and changed", id)
		case removed && changed:
			return malformed("entity %d both removed and changed", id)
		}
		at := uint32(len(s.bounds))
		switch {
		case inAdd:
			a := &add[ai]
			s.bounds = append(s.bounds, uint32(len(s.arena)))
			for _, sp := range m.spans[a.first : a.first+a.nf] {
				s.arena = append(s.arena, body[sp.start:sp.end]...)
				s.bounds = append(s.bounds, uint32(len(s.arena)))
			}
			s.ents = append(s.ents, entity{id: id, kind: a.kind, at: at, nf: uint32(a.nf)})
		case removed:
		case changed:
			c, old := &chg[ci], &bents[bi]
			if bits.Len64(c.mask) > int(old.nf) {
				return malformed("entity %d: mask %#x addresses fields beyond its %d", id, c.mask, old.nf)
			}
			s.bounds = append(s.bounds, uint32(len(s.arena)))
			k := c.first
			pe := prevEntity(m.prev, nil, old, &pi) // the client's state holds only what it sees
			exact := m.exact && pe != nil && old.nf <= MaxMaskFields
			for i := range old.nf {
				if c.mask&(1<<i) != 0 {
					sp := m.spans[k]
					if err := m.appendChanged(s, body[sp.start:sp.end], base.field(old, i), prevField(m.prev, pe, i)); err != nil {
						return malformed("entity %d field %d: %v", id, i, err)
					}
					k++
				} else if exact {
					s.arena = m.appendReference(s.arena, base.field(old, i), m.prev.field(pe, i))
				} else {
					s.arena = append(s.arena, base.field(old, i)...)
				}
				s.bounds = append(s.bounds, uint32(len(s.arena)))
			}
			s.ents = append(s.ents, entity{id: id, kind: old.kind, at: at, nf: old.nf})
		default:
			old := &bents[bi]
			if pe := m.movedFrom(base, old, &pi); pe != nil {
				s.bounds = append(s.bounds, uint32(len(s.arena)))
				for i := range old.nf {
					s.arena = m.appendReference(s.arena, base.field(old, i), m.prev.field(pe, i))
					s.bounds = append(s.bounds, uint32(len(s.arena)))
				}
				s.ents = append(s.ents, entity{id: id, kind: old.kind, at: at, nf: old.nf})
				break
			}
			shift := uint32(len(s.arena)) - base.bounds[old.at] // modular: undone by the addition
			s.arena = append(s.arena, base.encoded(old)...)
			for _, b := range base.bounds[old.at : old.at+old.nf+1] {
				s.bounds = append(s.bounds, b+shift)
			}
			s.ents = append(s.ents, entity{id: id, kind: old.kind, at: at, nf: old.nf})
		}
		if len(s.arena) > math.MaxUint32 {
			return malformed("state larger than 4 GiB")
		}
		if removed {
			ri++
		}
		if changed {
			ci++
		}
		if inBase {
			bi++
		}
		if inAdd {
			ai++
		}
	}
	if ri < len(rem) {
		return malformed("removed entity %d is not in the baseline", rem[ri])
	}
	if ci < len(chg) {
		return malformed("changed entity %d is not in the baseline", chg[ci].id)
	}
	return nil
}

// movedFrom returns, for old, an entity of base that the snapshot being applied does not
// list, the entity of the second baseline it moves on from by prediction, or nil if it
// stays as it is: the snapshot is not an exact v3 one, or old is not in the second baseline
// with the same kind and number of fields (at most MaxMaskFields), or is there with the
// same bytes (then every prediction is its baseline value). *pi is prevEntity's cursor.
func (m *Mirror) movedFrom(base *Snapshot, old *entity, pi *int) *entity {
	if !m.exact || m.prev == nil || old.nf > MaxMaskFields {
		return nil
	}
	pe := prevEntity(m.prev, nil, old, pi)
	if pe == nil || bytes.Equal(base.encoded(old), m.prev.encoded(pe)) {
		return nil
	}
	return pe
}

// appendReference appends a v3 field that the snapshot does not list: the value predicted
// from old, its value at the baseline, and prev, at the second baseline, or old itself if
// it is not predicted.
func (m *Mirror) appendReference(dst, old, prev []byte) []byte {
	if bytes.Equal(old, prev) {
		return append(dst, old...) // still: predicted, if at all, where it is
	}
	if p, ok := m.g.predict(old, prev); ok {
		out, _ := appendIntPlus(dst, p, 0) // a prediction is within ±2^48: no error
		return out
	}
	return append(dst, old...)
}

// appendChanged appends to s's arena the new value of a changed field: v as it came, or, on
// the v2 wire, the baseline's integer old plus v when both are integers, or the value
// predicted from old and prev (the field in the second baseline, nil if none) plus v.
func (m *Mirror) appendChanged(s *Snapshot, v, old, prev []byte) error {
	if m.v2 {
		if d, k := intField(v); k != notInt {
			if _, ko := intField(old); ko != notInt {
				if k == hugeInt {
					return fmt.Errorf("a difference above int64")
				}
				var err error
				if p, ok := m.g.predict(old, prev); ok {
					s.arena, err = appendIntPlus(s.arena, p, d)
				} else {
					s.arena, _, err = appendIntSum(s.arena, old, d)
				}
				return err
			}
		}
	}
	s.arena = append(s.arena, v...)
	return nil
}
