package engine

import (
	"sync/atomic"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// Player is a seat in a room. The same Player survives a dropped connection and a reconnect
// with its resume token. Game code may keep *Player values (as map keys, say) until Leave.
type Player struct {
	// ID is unique within the room and stable across reconnects.
	ID uint32
	// Meta is what the client sent as "meta" when joining (msgpack; nil if none).
	Meta msgpack.RawMessage

	// token resumes the seat; prevToken, the token the last resume was made with, is still
	// honoured until the new connection shows it received token (see sessions.rotate).
	// Both are written on the room goroutine under sessions.mu.
	token     string
	prevToken string
	room      *roomCore
	session   string // id of the connection that took the seat (reservations are keyed by it)
	claimed   bool   // the seat was a reservation claimed by session (counted in rc.seatedClaims)

	conn     atomic.Pointer[ws.Conn] // nil while dropped
	ackTick  atomic.Uint32           // last snapshot tick the client acknowledged
	requests atomic.Int32            // requests queued for the room, not yet answered

	// Owned by the room goroutine.
	namesOn   *ws.Conn      // the connection sent the join answer with the event names (byIndex)
	lastSeq   uint32        // highest input sequence handed to Update
	sentAck   sentInputAck  // the input acknowledgement this player's connection was sent last
	dropped   bool          // connection lost, seat held
	graceEnds time.Duration // when a dropped seat is released
	left      bool
	// sent remembers the snapshots recently sent to this player and the view each was
	// encoded for, in the order they were sent (sent[sentN%len] is the next slot), each
	// pinned in the room's ring (state.Ring.Pin) until the client acknowledges a newer one or
	// len(sent) more have been sent: an acknowledgement that arrives after its tick left
	// the ring (a client behind a backlog, on a starved machine) still finds its baseline.
	// sent[sentLo%len] is the oldest still pinned. A delta is valid only against a baseline
	// the client saw through the same view. It grows (4, 8, ... maxSent) only as far as
	// snapshots are in flight at once: a player who acknowledges promptly holds a few
	// entries, not maxSent (1 KiB of every idle player before, issue 14 item 6), and halves
	// again once few are (shrinkSent).
	sent   []sentSnap
	sentN  int
	sentLo int
	// sentResized is sentN when sent last changed size: it shrinks only shrinkAfter
	// snapshots later.
	sentResized int
	// unacked is the index (counted as sentN) of the first snapshot sent that the client
	// has not acknowledged, nor any newer one: sent[unacked:sentN] are in flight
	// (RoomConfig.AckWindow).
	unacked int
	// base is the snapshot the client last acknowledged, pinned until a newer
	// acknowledgement, and baseKey the view it was sent through. nil: the next snapshot is
	// full.
	base    *state.Snapshot
	baseKey state.ViewKey
	baseSeq uint32     // the input seq the client knew at base (sentSnap.seq)
	seenAck state.Tick // the acknowledgement base was chosen for
	// prev is the baseline before base, pinned until the next acknowledgement too, and
	// prevKey its view: the second baseline that v2 snapshots predict from (secondBaseline).
	prev    *state.Snapshot
	prevKey state.ViewKey

	// Guarded by room.mu.
	queued int // inputs waiting for the next tick
}

// Connected reports whether the player currently has a connection.
func (p *Player) Connected() bool { return p.conn.Load() != nil }

// baseline is the snapshot tick the next delta for this player is computed against.
func (p *Player) baseline() state.Tick { return state.Tick(p.ackTick.Load()) }

type sentSnap struct {
	snap *state.Snapshot // nil once unpinned
	key  state.ViewKey
	seq  uint32 // the input seq the client knows once it applied snap (knownSeq)
}

// knownSeq records, for the snapshot just noted as sent, the input seq the client knows
// once it has applied it: the one it carries (a v2 last_seq) or, if it carries none, the
// one the client knew at its baseline. A v2 last_seq is the difference from the latter
// (PROTOCOL.md, "The v2 snapshot"), so the two sides count it from the same number.
func (p *Player) knownSeq(seq uint32) { p.sent[(p.sentN-1)%len(p.sent)].seq = seq }

// maxSent is how many sent snapshots a player keeps pinned at most.
const maxSent = 64

// noteSent records that snap went to the player for view key, pinning it in ring.
func (p *Player) noteSent(ring *state.Ring, snap *state.Snapshot, key state.ViewKey) {
	if p.sentN-p.sentLo == len(p.sent) {
		if len(p.sent) < maxSent {
			p.growSent()
		} else {
			p.releaseSent(ring, p.sentLo+1)
		}
	}
	ring.Pin(snap)
	p.sent[p.sentN%len(p.sent)] = sentSnap{snap: snap, key: key}
	p.sentN++
}

// growSent doubles the ring of sent snapshots, keeping each entry at its index modulo the
// new length.
func (p *Player) growSent() { p.resizeSent(min(max(minSent, 2*len(p.sent)), maxSent)) }

// resizeSent moves the sent snapshots to a ring of n entries, each at its index modulo n.
func (p *Player) resizeSent(n int) {
	ring := make([]sentSnap, n)
	for i := p.sentLo; i < p.sentN; i++ {
		ring[i%n] = p.sent[i%len(p.sent)]
	}
	p.sent = ring
	p.sentResized = p.sentN
}

// minSent is the size of a player's first ring of sent snapshots, and the smallest one.
const minSent = 4

// shrinkAfter is how many snapshots a ring of sent snapshots keeps its size at least: a
// join burst or a stall (a starved machine, a network blackout) grows it to what was in
// flight then, and it would keep that size for the player's life, 24 bytes an entry
// (bench/idlemem: 8 entries for an idle crossword player after 2,000 joined at once).
// Shrinking it only after that many snapshots (2 s at 30 Hz) bounds what a player whose
// acknowledgements come unevenly costs: one allocation per shrinkAfter snapshots at most.
const shrinkAfter = 64

// shrinkSent shrinks the ring once at most a quarter of it is in use and it has kept its size
// for shrinkAfter snapshots, so that it follows what is in flight down as well as up: to
// the smallest power of two that holds twice what is in use (at least minSent), in one
// step, so that a ring a long stall grew to 64 is not halved four times, 64 snapshots
// apart. Called after an acknowledgement released what it covers.
func (p *Player) shrinkSent() {
	n, used := len(p.sent), p.sentN-p.sentLo
	if n <= minSent || used*4 > n || p.sentN-p.sentResized < shrinkAfter {
		return
	}
	m := minSent
	for m < 2*used {
		m *= 2
	}
	p.resizeSent(m)
}

// findSent returns the index (counted as sentN) of the snapshot of tick sent to this
// player, if it is still pinned, or -1. It searches from the newest: the tick acknowledged
// is nearly always one of the last few.
func (p *Player) findSent(tick state.Tick) int {
	for i := p.sentN - 1; i >= p.sentLo; i-- {
		t := p.sent[i%len(p.sent)].snap.Tick()
		if t == tick {
			return i
		}
		if t < tick {
			break
		}
	}
	return -1
}

// behind reports whether p's next snapshot, of tick, is to be held back because the
// client's acknowledgements are a window (in ticks; 0: no window) behind: the oldest
// snapshot in flight is that old, and the last one went less than a window ago (one a
// window still goes, so that a client which dropped what it got, and has nothing newer to
// acknowledge, is not left waiting forever).
func (p *Player) behind(tick, window state.Tick) bool {
	from := max(p.unacked, p.sentLo)
	if window == 0 || from >= p.sentN {
		return false
	}
	oldest := p.sent[from%len(p.sent)].snap.Tick()
	last := p.sent[(p.sentN-1)%len(p.sent)].snap.Tick()
	return tick-oldest >= window && tick-last < window
}

// releaseSent unpins the sent snapshots before index upto.
func (p *Player) releaseSent(ring *state.Ring, upto int) {
	for ; p.sentLo < upto; p.sentLo++ {
		v := &p.sent[p.sentLo%len(p.sent)]
		ring.Unpin(v.snap)
		*v = sentSnap{}
	}
}

// releaseOlder unpins the sent snapshots older than tick: the client acknowledged tick,
// and the next delta goes against it or a newer one.
func (p *Player) releaseOlder(ring *state.Ring, tick state.Tick) {
	for p.sentLo < p.sentN && p.sent[p.sentLo%len(p.sent)].snap.Tick() < tick {
		p.releaseSent(ring, p.sentLo+1)
	}
	p.shrinkSent()
}

// forgetSent lets go of everything pinned for the player: it left, dropped or resumed on a
// new connection, which starts from a full snapshot.
func (p *Player) forgetSent(ring *state.Ring) {
	p.releaseSent(ring, p.sentN)
	p.unpinBases(ring)
	p.seenAck = 0
	p.unacked = p.sentN
}

// unpinBases lets go of the baseline and the one before it.
func (p *Player) unpinBases(ring *state.Ring) {
	unpin(ring, &p.base)
	unpin(ring, &p.prev)
}

// unpin lets go of *s, if any, and forgets it.
func unpin(ring *state.Ring, s **state.Snapshot) {
	if *s != nil {
		ring.Unpin(*s)
		*s = nil
	}
}
