package main

import (
	"fmt"

	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/protocol"
	"github.com/rallypoint/rallypoint/state"
)

// The crossword bots keep the grid of their last few snapshots, built from the snapshot
// bodies as state.Mirror builds its states (a delta applies to the state of its baseline
// tick) but holding only the board and the squares, so that reading them allocates nothing.
// Comparing each new grid with the previous one tells exactly when this player's mirror
// first showed a letter, and who placed it: a body lists only what changed since its
// baseline, which may be older than the previous snapshot, so the body alone does not say.

const gridHistory = 16 // snapshots kept: 1.6 s at the crossword's 10 Hz

// grid is the board and the squares at one snapshot tick.
type grid struct {
	tick    uint32
	id      string // puzzle id
	puzzle  int    // its index in the driver's list, -1 if the bots do not know it
	width   int
	height  int
	mask    string   // '#' black, '.' white, row-major
	letters []byte   // per square: the placed letter, 0 if empty
	by      []uint32 // per square: who placed it
}

// grids is the history, a ring.
type grids struct {
	ring    [gridHistory]grid
	n       int
	rd      protocol.Reader
	puzzles map[string]int
	stale   int64 // bodies whose baseline had left the ring: rebuilt from the mirror
}

func (gs *grids) latest() *grid {
	if gs.n == 0 {
		return nil
	}
	return &gs.ring[(gs.n-1)%gridHistory]
}

func (gs *grids) get(t uint32) *grid {
	for i := range min(gs.n, gridHistory) {
		if g := &gs.ring[(gs.n-1-i)%gridHistory]; g.tick == t {
			return g
		}
	}
	return nil
}

// apply builds the grid of a snapshot body that the mirror m (nil if none) has just
// applied, and returns it.
func (gs *grids) apply(s snapMsg, m *state.Mirror) (*grid, error) {
	r := &gs.rd
	tick, baseline, second, _ := s.header2(r)
	if r.Err() != nil {
		return nil, fmt.Errorf("loadgen: crossword snapshot: %w", r.Err())
	}
	var base *grid
	if baseline != 0 {
		// The crossword's rooms do not predict (engine.RoomConfig.PredictDeltas); if a
		// server's did, the mirror, which does, holds the state.
		if base = gs.get(baseline); base == nil || second != 0 {
			if m == nil {
				return nil, errBaselineMiss
			}
			gs.stale++
			return gs.rebuild(tick, m)
		}
	}
	next := &gs.ring[gs.n%gridHistory] // the oldest; it may be base itself, then updated in place
	switch {
	case base == nil:
		next.reset()
	case base != next:
		next.id, next.puzzle, next.width, next.height, next.mask = base.id, base.puzzle, base.width, base.height, base.mask
		next.letters = append(next.letters[:0], base.letters...)
		next.by = append(next.by[:0], base.by...)
	}
	next.tick = tick
	gs.n++

	for _, list := range s.lists() {
		if s.v2 && list != listChanged && r.Len() == 0 {
			break // v2 leaves out added and removed when empty
		}
		switch list {
		case listAdded:
			for range r.ArrayLen() { // added: [id, kind, [fields...]]
				r.ArrayLen()
				id := state.ID(r.Int())
				r.Skip() // kind: the id says it
				nf := r.ArrayLen()
				gs.entity(r, next, id, uint64(1)<<nf-1, nf, false)
			}
		case listRemoved:
			for range r.ArrayLen() { // removed
				if sq := int(r.Int()) - 1; sq >= 0 && sq < len(next.letters) {
					next.letters[sq], next.by[sq] = 0, 0
				}
			}
		case listChanged:
			for left := s.changedLen(r); left > 0 && r.Err() == nil; { // changed: id, mask, values...
				id, mask, k := s.nextChanged(r, &left)
				gs.entity(r, next, state.ID(id), mask, k, s.diffs())
			}
		}
	}
	if r.Err() != nil {
		gs.n-- // drop the half-built grid
		return nil, fmt.Errorf("loadgen: crossword snapshot: %w", r.Err())
	}
	return next, nil
}

func (g *grid) reset() {
	g.id, g.puzzle, g.width, g.height, g.mask = "", -1, 0, 0, ""
	g.letters, g.by = g.letters[:0], g.by[:0]
}

// square returns the index of square id, growing the grid to hold it; -1 if id is not a
// square's.
func (g *grid) square(id state.ID) int {
	sq := int(id) - 1
	if id < 1 || sq >= crossword.MaxSize*crossword.MaxSize {
		return -1
	}
	for len(g.letters) <= sq {
		g.letters = append(g.letters, 0)
		g.by = append(g.by, 0)
	}
	return sq
}

// entity reads the n listed fields (mask says which) of entity id into g; with diff its
// integers are differences (a v2 changed entry).
func (gs *grids) entity(r *protocol.Reader, g *grid, id state.ID, mask uint64, n int, diff bool) {
	sq := -1
	if id < crossword.CursorBase {
		sq = g.square(id)
	}
	for i := 0; n > 0 && r.Err() == nil; i++ {
		if i >= 64 {
			r.Fail(protocol.ErrRange) // a mask names 64 fields at most
			return
		}
		if mask&(1<<i) == 0 {
			continue
		}
		n--
		switch {
		case sq >= 0 && i == 0: // the letter, "" when empty
			g.letters[sq] = 0
			if s := r.Str(); len(s) == 1 {
				g.letters[sq] = s[0]
			}
		case sq >= 0 && i == 1: // who placed it
			g.by[sq] = uint32(readInt(r, int64(g.by[sq]), diff))
		case id == state.RoomID && i == 0:
			if s := r.Str(); string(s) != g.id {
				g.id = string(s)
				g.puzzle = -1
				if p, ok := gs.puzzles[g.id]; ok {
					g.puzzle = p
				}
			}
		case id == state.RoomID && i == 3:
			g.width = int(readInt(r, int64(g.width), diff))
		case id == state.RoomID && i == 4:
			g.height = int(readInt(r, int64(g.height), diff))
		case id == state.RoomID && i == 5:
			if s := r.Str(); string(s) != g.mask {
				g.mask = string(s)
			}
		default:
			r.Skip()
		}
	}
}

// rebuild makes the grid of tick from the mirror's latest state, when the body's baseline
// is older than the history: rare, and allocating.
func (gs *grids) rebuild(tick uint32, m *state.Mirror) (*grid, error) {
	next := &gs.ring[gs.n%gridHistory]
	next.reset()
	next.tick = tick
	for _, e := range m.Entities() {
		var raw []byte
		for _, f := range e.Fields {
			raw = append(raw, f...)
		}
		r := protocol.NewReader(raw)
		gs.entity(&r, next, e.ID, uint64(1)<<len(e.Fields)-1, len(e.Fields), false)
		if r.Err() != nil {
			return nil, fmt.Errorf("loadgen: crossword entity %d: unexpected fields", e.ID)
		}
	}
	gs.n++
	return next, nil
}

// white reports whether square sq is a white square of the puzzle.
func (g *grid) white(sq int) bool { return sq < len(g.mask) && g.mask[sq] == '.' }

// empty reports whether square sq is white and not filled.
func (g *grid) empty(sq int) bool {
	return g.white(sq) && (sq >= len(g.letters) || g.letters[sq] == 0)
}
