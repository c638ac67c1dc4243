package state

import (
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
// server's Entity wrote, undecoded, in index order. Fields is nil for an entity without fields.
// The slices are shared with the Mirror's history: read them, do not modify them.
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
// bytes. Each Apply copies the fields it receives into one new buffer and allocates the new
// state's entity list; unchanged entities share their fields with earlier states, so a field
// that never changes keeps the small buffer it arrived in alive.
//
// A Mirror is not safe for concurrent use.
type Mirror struct {
	states []mirrorState // oldest first, at most n
	n      int

	// scratch of Apply, reused
	add   []addEntry
	rem   []ID
	chg   []changeEntry
	spans []span // fields of add and chg, as offsets into the body
}

type mirrorState struct {
	tick Tick
	ents []MirrorEntity // sorted by ID; nil if empty
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
	if n <= 0 {
		n = DefaultRingSize
	}
	return &Mirror{n: n}
}

// Tick returns the tick of the latest applied body, 0 if none.
func (m *Mirror) Tick() Tick {
	if len(m.states) == 0 {
		return 0
	}
	return m.states[len(m.states)-1].tick
}

// latest returns the entities of the latest state.
func (m *Mirror) latest() []MirrorEntity {
	if len(m.states) == 0 {
		return nil
	}
	return m.states[len(m.states)-1].ents
}

// Entities returns the latest state's entities, sorted by ID, in a new slice (nil if there
// are none). The Fields share memory with the mirror: do not modify them.
func (m *Mirror) Entities() []MirrorEntity {
	return slices.Clone(m.latest())
}

// Entity returns the entity id of the latest state.
func (m *Mirror) Entity(id ID) (MirrorEntity, bool) {
	ents := m.latest()
	i, ok := slices.BinarySearchFunc(ents, id, func(e MirrorEntity, id ID) int { return cmp.Compare(e.ID, id) })
	if !ok {
		return MirrorEntity{}, false
	}
	return ents[i], true
}

// malformed wraps err (or the formatted detail) in ErrMalformed.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Apply applies one snapshot body and returns its tick. The body is a full snapshot or a
// delta against a state the mirror holds; the wire form is described in the package
// documentation. On error the mirror is unchanged.
func (m *Mirror) Apply(body []byte) (Tick, error) {
	m.add, m.rem, m.chg, m.spans = m.add[:0], m.rem[:0], m.chg[:0], m.spans[:0]
	r := reader{b: body}

	n, err := r.arrayLen()
	if err != nil {
		return 0, malformed("body: %v", err)
	}
	if n != 5 {
		return 0, malformed("body is an array of %d elements, want 5", n)
	}
	tick, err := r.uint()
	if err != nil {
		return 0, malformed("tick: %v", err)
	}
	if tick == 0 || tick > math.MaxUint32 {
		return 0, malformed("tick %d not in 1..2^32-1", tick)
	}
	baseline, err := r.uint()
	if err != nil {
		return 0, malformed("baseline: %v", err)
	}
	if baseline >= tick {
		return 0, malformed("baseline %d not below tick %d", baseline, tick)
	}
	if latest := m.Tick(); len(m.states) > 0 && Tick(tick) <= latest {
		return 0, fmt.Errorf("%w: tick %d, latest %d", ErrStaleTick, tick, latest)
	}
	var base []MirrorEntity
	if baseline != 0 {
		i := slices.IndexFunc(m.states, func(s mirrorState) bool { return s.tick == Tick(baseline) })
		if i < 0 {
			return 0, fmt.Errorf("%w: tick %d", ErrUnknownBaseline, baseline)
		}
		base = m.states[i].ents
	}

	if err := m.parseAdded(&r); err != nil {
		return 0, err
	}
	if err := m.parseRemoved(&r); err != nil {
		return 0, err
	}
	if err := m.parseChanged(&r); err != nil {
		return 0, err
	}
	if r.remaining() != 0 {
		return 0, malformed("%d bytes after the body", r.remaining())
	}

	ents, err := m.merge(body, base)
	if err != nil {
		return 0, err
	}
	if len(m.states) == m.n {
		m.states[0] = mirrorState{}
		m.states = append(m.states[:0], m.states[1:]...)
	}
	m.states = append(m.states, mirrorState{tick: Tick(tick), ents: ents})
	return Tick(tick), nil
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

// merge builds the new state from base and the parsed lists, copying the received fields
// into one new buffer.
func (m *Mirror) merge(body []byte, base []MirrorEntity) ([]MirrorEntity, error) {
	// Size the new fields: those of added entities, and all fields of changed ones (a
	// changed entity gets a new Fields slice, its unchanged fields shared with base).
	total := 0
	for _, a := range m.add {
		total += a.nf
	}
	for i, c := range m.chg {
		j, ok := slices.BinarySearchFunc(base, c.id, func(e MirrorEntity, id ID) int { return cmp.Compare(e.ID, id) })
		if !ok {
			return nil, malformed("changed[%d]: entity %d is not in the baseline", i, c.id)
		}
		nf := len(base[j].Fields)
		if bits.Len64(c.mask) > nf {
			return nil, malformed("changed[%d]: mask %#x addresses fields beyond the %d of entity %d", i, c.mask, nf, c.id)
		}
		total += nf
	}
	size := 0
	for _, s := range m.spans {
		size += s.end - s.start
	}
	arena := make([]byte, 0, size)
	raw := func(s span) msgpack.RawMessage {
		start := len(arena)
		arena = append(arena, body[s.start:s.end]...)
		return msgpack.RawMessage(arena[start:len(arena):len(arena)])
	}
	var fields []msgpack.RawMessage
	if total > 0 {
		fields = make([]msgpack.RawMessage, total)
	}
	take := func(n int) []msgpack.RawMessage {
		if n == 0 {
			return nil
		}
		f := fields[:n:n]
		fields = fields[n:]
		return f
	}

	var ents []MirrorEntity
	if n := len(base) + len(m.add) - len(m.rem); n > 0 {
		ents = make([]MirrorEntity, 0, n)
	}
	add, rem, chg := m.add, m.rem, m.chg
	bi, ai, ri, ci := 0, 0, 0, 0
	for bi < len(base) || ai < len(add) {
		inBase := bi < len(base) && (ai >= len(add) || base[bi].ID <= add[ai].id)
		inAdd := ai < len(add) && (bi >= len(base) || add[ai].id <= base[bi].ID)
		var id ID
		if inBase {
			id = base[bi].ID
		} else {
			id = add[ai].id
		}
		if ri < len(rem) && rem[ri] < id {
			return nil, malformed("removed entity %d is not in the baseline", rem[ri])
		}
		removed := ri < len(rem) && rem[ri] == id
		changed := ci < len(chg) && chg[ci].id == id
		switch {
		case removed && !inBase:
			return nil, malformed("removed entity %d is not in the baseline", id)
		case removed && inAdd:
			return nil, malformed("entity %d both added and removed", id)
		case changed && inAdd:
			return nil, malformed("entity %d both added and changed", id)
		case removed && changed:
			return nil, malformed("entity %d both removed and changed", id)
		}
		switch {
		case inAdd:
			a := add[ai]
			f := take(a.nf)
			for k := range f {
				f[k] = raw(m.spans[a.first+k])
			}
			ents = append(ents, MirrorEntity{ID: a.id, Kind: a.kind, Fields: f})
		case removed:
		case changed:
			c, old := chg[ci], base[bi]
			f := take(len(old.Fields))
			copy(f, old.Fields)
			k := c.first
			for mask := c.mask; mask != 0; mask &= mask - 1 {
				f[bits.TrailingZeros64(mask)] = raw(m.spans[k])
				k++
			}
			ents = append(ents, MirrorEntity{ID: id, Kind: old.Kind, Fields: f})
		default:
			ents = append(ents, base[bi])
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
		return nil, malformed("removed entity %d is not in the baseline", rem[ri])
	}
	// Every changed id was found in base above, and the merge visits every base id.
	if len(ents) == 0 {
		ents = nil
	}
	return ents, nil
}
