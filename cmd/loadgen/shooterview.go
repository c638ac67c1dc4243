package main

import (
	"fmt"
	"slices"

	"github.com/rallypoint/rallypoint/examples/shooter"
	"github.com/rallypoint/rallypoint/protocol"
	"github.com/rallypoint/rallypoint/state"
)

// The shooter bots keep a typed copy of the players of their last few snapshots, built from
// the snapshot bodies exactly as state.Mirror builds its states (a delta applies to the state
// of its baseline tick), but holding only the fields the bots play with, so that reading
// them allocates nothing. The history serves aiming where the player sees the others:
// interpolated views lag the latest snapshot, and the input's view tick tells the server's
// lag compensation which past to judge a shot against.

const (
	viewHistory = 16 // snapshots kept: half a second at 30 Hz
	maxPlayers  = 32 // players a view holds; a room has 8 and a few server bots
)

// shPlayer is a player entity's fields the bots use.
type shPlayer struct {
	id     uint32
	x, y   float64 // units
	xq, yq int64   // x and y as the wire has them, x·shooter.Grid (v2 sends differences)
	health int
	alive  bool
	nf     int // fields on the wire: a v2 prediction needs the same number at both baselines
}

// shView is the players at one snapshot tick, sorted by id.
type shView struct {
	tick    uint32
	players []shPlayer
}

// views is the history of views, a ring.
type views struct {
	ring  [viewHistory]shView
	n     int // views pushed
	rd    protocol.Reader
	stale int64 // bodies whose baseline had left the ring: rebuilt from the mirror
}

func (vs *views) latest() *shView {
	if vs.n == 0 {
		return nil
	}
	return &vs.ring[(vs.n-1)%viewHistory]
}

// get returns the view of tick t, or nil.
func (vs *views) get(t uint32) *shView {
	for i := range min(vs.n, viewHistory) {
		if v := &vs.ring[(vs.n-1-i)%viewHistory]; v.tick == t {
			return v
		}
	}
	return nil
}

// at returns the newest view at or before tick t, or the oldest held.
func (vs *views) at(t uint32) *shView {
	var v *shView
	for i := range min(vs.n, viewHistory) {
		v = &vs.ring[(vs.n-1-i)%viewHistory]
		if v.tick <= t {
			return v
		}
	}
	return v
}

// apply builds the view of a snapshot that the mirror m (nil if none) has just applied.
func (vs *views) apply(s snapMsg, m *state.Mirror) error {
	r := &vs.rd
	tick, baseline, second, exact := s.header2(r)
	if r.Err() != nil {
		return fmt.Errorf("loadgen: shooter snapshot: %w", r.Err())
	}
	var base, prev *shView
	next := &vs.ring[vs.n%viewHistory] // the oldest; it may be base itself, then updated in place
	if baseline != 0 {
		base = vs.get(baseline)
		if second != 0 {
			prev = vs.get(second)
		}
		if base == nil || (second != 0 && (prev == nil || prev == next)) {
			if m == nil {
				return errBaselineMiss
			}
			vs.stale++
			return vs.rebuild(tick, m)
		}
	}
	g := predictGaps{tick - baseline, baseline - second}
	if base != next {
		next.players = next.players[:0]
		if base != nil {
			next.players = append(next.players, base.players...)
		}
	}
	next.tick = tick
	vs.n++
	if exact && prev != nil {
		// An exact v3 snapshot: every player at both baselines is where it was heading,
		// unless the snapshot lists a correction, which is then from there.
		for i := range next.players {
			p := &next.players[i]
			if q := prev.find(p.id); q != nil && q.nf == p.nf {
				p.xq, p.yq, p.health = g.ref(p.xq, q.xq), g.ref(p.yq, q.yq), int(g.ref(int64(p.health), int64(q.health)))
				p.x, p.y = float64(p.xq)/shooter.Grid, float64(p.yq)/shooter.Grid
			}
		}
		prev = nil // the corrections are differences from those values
	}

	for _, list := range s.lists() {
		if s.v2 && list != listChanged && r.Len() == 0 {
			break // v2 leaves out added and removed when empty
		}
		switch list {
		case listAdded:
			for range r.ArrayLen() { // added: [id, kind, [fields...]]
				r.ArrayLen()
				id := uint32(r.Int())
				kind := r.Int()
				nf := r.ArrayLen()
				if kind != int64(shooter.KindPlayer) {
					for range nf {
						r.Skip()
					}
					continue
				}
				p := shPlayer{id: id, nf: nf}
				readPlayer(r, &p, 1<<nf-1, nf, false, nil, g)
				next.put(p)
			}
		case listRemoved:
			for range r.ArrayLen() { // removed
				next.remove(uint32(r.Int()))
			}
		case listChanged:
			for left := s.changedLen(r); left > 0 && r.Err() == nil; { // changed: id, mask, values...
				id, mask, k := s.nextChanged(r, &left)
				if p := next.find(uint32(id)); p != nil {
					var q *shPlayer // the player at the second baseline, to predict from
					if prev != nil {
						if q = prev.find(p.id); q != nil && q.nf != p.nf {
							q = nil
						}
					}
					readPlayer(r, p, mask, k, s.diffs(), q, g)
				} else {
					for range k {
						r.Skip()
					}
				}
			}
		}
	}
	if r.Err() != nil {
		vs.n-- // drop the half-built view
		return fmt.Errorf("loadgen: shooter snapshot: %w", r.Err())
	}
	return nil
}

// readPlayer reads the n listed fields (mask says which) of a player:
// [x·Grid, y·Grid, aim, health, alive, frags, deaths, name, color, bot]; with diff its
// integers are differences (a v2 changed entry), from the values predicted from p and q (p
// at the second baseline) when q is not nil.
func readPlayer(r *protocol.Reader, p *shPlayer, mask uint64, n int, diff bool, q *shPlayer, g predictGaps) {
	// What each integer the bots read is a difference from.
	rx, ry, rh := p.xq, p.yq, int64(p.health)
	if q != nil {
		rx, ry, rh = g.ref(rx, q.xq), g.ref(ry, q.yq), g.ref(rh, int64(q.health))
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
		switch i {
		case 0:
			p.xq = readInt(r, rx, diff)
			p.x = float64(p.xq) / shooter.Grid
		case 1:
			p.yq = readInt(r, ry, diff)
			p.y = float64(p.yq) / shooter.Grid
		case 3:
			p.health = int(readInt(r, rh, diff))
		case 4:
			p.alive = r.Bool()
		default:
			r.Skip()
		}
	}
}

// rebuild makes the view of tick from the mirror's latest state, when the body's baseline is
// older than the history: rare, and allocating.
func (vs *views) rebuild(tick uint32, m *state.Mirror) error {
	next := &vs.ring[vs.n%viewHistory]
	next.tick = tick
	next.players = next.players[:0]
	for _, e := range m.Entities() {
		if e.Kind != shooter.KindPlayer {
			continue
		}
		p := shPlayer{id: uint32(e.ID)}
		var x, y int64
		if e.Decode(0, &x) != nil || e.Decode(1, &y) != nil || e.Decode(3, &p.health) != nil || e.Decode(4, &p.alive) != nil {
			return fmt.Errorf("loadgen: shooter player %d: unexpected fields", e.ID)
		}
		p.xq, p.yq, p.nf = x, y, len(e.Fields)
		p.x, p.y = float64(x)/shooter.Grid, float64(y)/shooter.Grid
		next.put(p)
	}
	vs.n++
	return nil
}

// search returns where id is in the players, or where it would go. It is written out rather
// than slices.BinarySearchFunc, whose comparison takes each shPlayer by value through a
// function call: that was 7% of loadgen's CPU at 800 shooter bots.
func (v *shView) search(id uint32) (int, bool) {
	lo, hi := 0, len(v.players)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if v.players[m].id < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(v.players) && v.players[lo].id == id
}

func (v *shView) find(id uint32) *shPlayer {
	i, ok := v.search(id)
	if !ok {
		return nil
	}
	return &v.players[i]
}

// put inserts or replaces p, keeping the order; beyond maxPlayers it drops p.
func (v *shView) put(p shPlayer) {
	i, ok := v.search(p.id)
	switch {
	case ok:
		v.players[i] = p
	case len(v.players) < maxPlayers:
		v.players = slices.Insert(v.players, i, p)
	}
}

func (v *shView) remove(id uint32) {
	i, ok := v.search(id)
	if ok {
		v.players = slices.Delete(v.players, i, i+1)
	}
}
