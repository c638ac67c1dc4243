package state

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
)

// ID is an entity's stable identity, chosen by the game. It must stay the same for the
// entity's whole life, as deltas are matched by ID. 0 is invalid.
type ID uint32

// Tick numbers a snapshot. Ticks of the snapshots pushed into a Ring increase. 0 means "no
// tick": a delta whose baseline is 0 is a full snapshot.
type Tick uint32

// Snapshot is the replicated state of a room at one tick: entities sorted by ID, each with its
// kind and its fields as MessagePack bytes. It is immutable once Builder.Finish returns it and
// may be read from several goroutines, until a Ring recycles it (see Ring).
type Snapshot struct {
	tick Tick
	ents []entity // sorted by id after Finish
	// bounds holds, for each entity, nf+1 offsets into arena starting at ents[i].at: field k
	// is arena[bounds[at+k]:bounds[at+k+1]]. An entity's fields are contiguous in arena.
	bounds []uint32
	arena  []byte
	ring   *Ring // the ring whose builder made it and may recycle it, or nil
	pins   int   // Ring.Pin holders: while above 0 the ring does not recycle it
	left   bool  // it left its ring while pinned; the last Unpin recycles it
}

// entity is one entity of a Snapshot. 16 bytes, so that sorting moves little.
type entity struct {
	id   ID
	at   uint32 // index in bounds of the start of field 0
	nf   uint32 // number of fields
	kind uint8
}

// Tick returns the snapshot's tick.
func (s *Snapshot) Tick() Tick { return s.tick }

// Len returns the number of entities in the snapshot.
func (s *Snapshot) Len() int { return len(s.ents) }

// encoded returns all of e's fields, one MessagePack value after another.
func (s *Snapshot) encoded(e *entity) []byte {
	return s.arena[s.bounds[e.at]:s.bounds[e.at+e.nf]]
}

// field returns the bytes of e's field i.
func (s *Snapshot) field(e *entity, i uint32) []byte {
	return s.arena[s.bounds[e.at+i]:s.bounds[e.at+i+1]]
}

// SnapshotEntities returns the entities of s that filter lets through, in the form Mirror
// keeps them, so that a test can compare what a client holds with what the server built:
//
//	reflect.DeepEqual(state.SnapshotEntities(s, filter), mirror.Entities())
//
// Both return nil for no entities and a nil Fields for an entity without fields. The result
// is a copy and stays valid after s is recycled. It allocates; it is meant for tests and
// debugging, not for the tick loop.
func SnapshotEntities(s *Snapshot, filter Filter) []MirrorEntity {
	n, nf, size := 0, 0, 0
	for i := range s.ents {
		e := &s.ents[i]
		if visible(filter, e) {
			n++
			nf += int(e.nf)
			size += len(s.encoded(e))
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]MirrorEntity, 0, n)
	arena := make([]byte, 0, size)
	fields := make([]msgpack.RawMessage, nf)
	for i := range s.ents {
		if e := &s.ents[i]; visible(filter, e) {
			out = append(out, s.mirrorEntity(e, &arena, &fields))
		}
	}
	return out
}

// mirrorEntity returns e with its fields copied into *arena and their slices taken from
// *fields, both of which must have room. With nil pointers it allocates exactly.
func (s *Snapshot) mirrorEntity(e *entity, arena *[]byte, fields *[]msgpack.RawMessage) MirrorEntity {
	me := MirrorEntity{ID: e.id, Kind: e.kind}
	if e.nf == 0 {
		return me
	}
	if arena == nil {
		a, f := make([]byte, 0, len(s.encoded(e))), make([]msgpack.RawMessage, e.nf)
		arena, fields = &a, &f
	}
	me.Fields, *fields = (*fields)[:e.nf:e.nf], (*fields)[e.nf:]
	for k := range e.nf {
		start := len(*arena)
		*arena = append(*arena, s.field(e, k)...)
		me.Fields[k] = msgpack.RawMessage((*arena)[start:len(*arena):len(*arena)])
	}
	return me
}

// Builder builds one Snapshot per snapshot tick:
//
//	b.Begin(tick)
//	for _, p := range players { b.Add(p.ID, kindPlayer, p) }
//	ring.Push(b.Finish())
//
// Take it from Ring.Builder and reuse it: it then writes each snapshot into the memory of one
// that left the ring, and after the first ring's worth of ticks it does not allocate (as long
// as the entities use the typed Fields methods). A zero Builder works on its own but allocates
// a new Snapshot, sized like the previous one, at every Begin.
//
// A Builder is not safe for concurrent use.
type Builder struct {
	ring *Ring
	cur  *Snapshot // under construction, between Begin and Finish
	f    Fields

	enc   *msgpack.Encoder // for Fields.Value, made on first use
	encw  arenaWriter
	canon []byte // scratch of Fields.Value for values with maps

	// sizes of the last snapshot, to size a new one when none can be recycled
	lastEnts, lastBounds, lastArena int

	want       *fieldCounts // CheckSchema's declared field counts, or nil
	mismatches []Mismatch   // of the snapshot under construction, at most maxMismatches
}

// maxMismatches bounds the mismatches a Builder records per snapshot: the first few say
// what is wrong, and a world of wrong entities must not grow a list every tick.
const maxMismatches = 8

// Mismatch is an entity added with a number of fields that its kind's declaration in the
// Schema does not have (Want -1: the kind is not declared). See Builder.CheckSchema.
type Mismatch struct {
	ID     ID
	Kind   uint8
	Fields int // written by AppendFields
	Want   int // declared, -1 if the kind is not declared
}

func (m Mismatch) String() string {
	if m.Want < 0 {
		return fmt.Sprintf("entity %d of kind %d, which the schema does not declare", m.ID, m.Kind)
	}
	return fmt.Sprintf("entity %d of kind %d wrote %d fields, the schema declares %d", m.ID, m.Kind, m.Fields, m.Want)
}

// CheckSchema makes Add compare each entity's number of fields with its kind's declaration
// in s (nil stops checking): a client reads fields by their declared names, so an
// AppendFields that writes one field more or less than declared shifts every name after
// it. The check costs one comparison per entity, none per field; Mismatches reports what
// it found in the snapshot under construction. s must be valid (Schema.Validate).
func (b *Builder) CheckSchema(s *Schema) {
	if s == nil {
		b.want = nil
		return
	}
	b.want = s.counts()
}

// Mismatches returns the entities of the current snapshot (since Begin) whose number of
// fields differs from the schema given to CheckSchema, at most the first 8. The slice is
// reused by the next Begin.
func (b *Builder) Mismatches() []Mismatch { return b.mismatches }

// Begin starts the snapshot of tick, which must not be 0. Calling Begin again before Finish
// discards what was added.
func (b *Builder) Begin(tick Tick) {
	if tick == 0 {
		panic("state: Builder.Begin: tick 0 is reserved for \"no tick\"")
	}
	if b.cur == nil {
		b.cur = b.newSnapshot()
	}
	s := b.cur
	s.tick = tick
	b.mismatches = b.mismatches[:0]
	s.ents = s.ents[:0]
	s.bounds = s.bounds[:0]
	s.arena = s.arena[:0]
}

// newSnapshot recycles a snapshot that left the ring, or makes one.
func (b *Builder) newSnapshot() *Snapshot {
	if b.ring != nil {
		return b.ring.take(b.lastEnts, b.lastBounds, b.lastArena)
	}
	return newSnapshot(nil, b.lastEnts, b.lastBounds, b.lastArena)
}

// newSnapshot makes an empty snapshot owned by ring (may be nil) with room for the given
// numbers of entities, field bounds and arena bytes.
func newSnapshot(ring *Ring, ents, bounds, arena int) *Snapshot {
	return &Snapshot{
		ents:   make([]entity, 0, ents),
		bounds: make([]uint32, 0, bounds),
		arena:  make([]byte, 0, arena),
		ring:   ring,
	}
}

// Add adds an entity: its id (1 to MaxGameID), a kind the game chooses (player,
// projectile...), and e, whose AppendFields is called now, once. A nil e adds an entity
// without fields. Ids may come in any order. Adding the same id twice is a bug in the game:
// Finish panics, naming the id; so does Add for id 0 or an id above MaxGameID.
func (b *Builder) Add(id ID, kind uint8, e Entity) {
	if id == 0 || id > MaxGameID {
		panic(fmt.Sprintf("state: Builder.Add: entity id %d is invalid: a game's ids are 1 to %d (MaxGameID); the room state goes through Builder.Room", id, MaxGameID))
	}
	b.add(id, kind, e)
}

// Room adds the room state: the entity of id RoomID and kind RoomKind, with the fields of
// Schema.Room, for what belongs to the whole room rather than to an entity (a match clock,
// a scoreboard, the puzzle being solved). Every player sees it, whatever their Filter, and
// the browser SDK shows it as client.room. Like any entity, only its changed fields travel.
func (b *Builder) Room(e Entity) { b.add(RoomID, RoomKind, e) }

func (b *Builder) add(id ID, kind uint8, e Entity) {
	s := b.cur
	if s == nil {
		panic("state: Builder.Add called before Begin")
	}
	at := len(s.bounds)
	s.bounds = append(s.bounds, uint32(len(s.arena)))
	if e != nil {
		b.f.b = b
		e.AppendFields(&b.f)
		b.f.b = nil
	}
	if len(s.arena) > math.MaxUint32 {
		panic("state: snapshot larger than 4 GiB")
	}
	nf := len(s.bounds) - at - 1
	if b.want != nil && int(b.want[kind]) != nf && len(b.mismatches) < maxMismatches {
		b.mismatches = append(b.mismatches, Mismatch{ID: id, Kind: kind, Fields: nf, Want: int(b.want[kind])})
	}
	s.ents = append(s.ents, entity{id: id, kind: kind, at: uint32(at), nf: uint32(nf)})
}

// Finish sorts the entities by id and returns the snapshot, which is immutable from then on.
// It panics if an id was added twice. The sort costs O(n log n), and close to O(n) when the
// game adds entities in id order.
func (b *Builder) Finish() *Snapshot {
	s := b.cur
	if s == nil {
		panic("state: Builder.Finish called before Begin")
	}
	slices.SortFunc(s.ents, func(x, y entity) int { return cmp.Compare(x.id, y.id) })
	for i := 1; i < len(s.ents); i++ {
		if s.ents[i].id == s.ents[i-1].id {
			x, y := &s.ents[i-1], &s.ents[i]
			panic(fmt.Sprintf("state: entity id %d added twice to the snapshot of tick %d (kinds %d and %d, %s): ids must be unique",
				x.id, s.tick, x.kind, y.kind, sameOrNot(s, x, y)))
		}
	}
	b.cur = nil
	b.lastEnts, b.lastBounds, b.lastArena = cap(s.ents), cap(s.bounds), cap(s.arena)
	return s
}

func sameOrNot(s *Snapshot, x, y *entity) string {
	if x.kind == y.kind && x.nf == y.nf && bytes.Equal(s.encoded(x), s.encoded(y)) {
		return "same fields"
	}
	return "different fields"
}
