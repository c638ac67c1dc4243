package match

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// Entry is a room as the lobby sees it.
type Entry struct {
	ID   string
	Game string
	// Players are the players connected now: what a lobby shows as "in the room".
	Players int
	// Held are the seats taken by no one connected: a player who dropped and whose seat is
	// kept for a reconnect (the engine's grace period), a seat reserved for a matched player
	// on the way. They are not joinable (FreeSeats), but counting them as players showed
	// rooms full of people who had left.
	Held       int
	MaxPlayers int
	Locked     bool // accepts no new players
	Private    bool // never listed, fed or chosen by quick play; joined by code or id
	Metadata   map[string]string
	Created    time.Time // set by the directory on the first Update when zero
}

// Taken is the seats in use: Players + Held.
func (e Entry) Taken() int { return e.Players + e.Held }

// FreeSeats is MaxPlayers - Players - Held, never negative.
func (e Entry) FreeSeats() int { return max(e.MaxPlayers-e.Taken(), 0) }

// ChangeKind says what happened to a listed room.
type ChangeKind int

const (
	Added   ChangeKind = iota // a public room appeared (or a private one became public)
	Updated                   // a public room changed: players, lock, metadata
	Removed                   // a public room ended (or became private)
)

func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "added"
	case Updated:
		return "updated"
	case Removed:
		return "removed"
	}
	return "ChangeKind(?)"
}

// Change is one event of the lobby feed.
type Change struct {
	Kind  ChangeKind
	Entry Entry
}

// SortKey orders a listing.
type SortKey string

const (
	SortCreated SortKey = "created" // oldest first (the default)
	SortFree    SortKey = "free"    // most free seats first
	SortPlayers SortKey = "players" // most players connected first
)

// Filter selects rooms from a Directory. Private rooms are never listed.
type Filter struct {
	Game          string            // "" for every game
	Metadata      map[string]string // each key must be present with this value
	MinFreeSeats  int               // 1 lists only rooms one can join now
	IncludeLocked bool              // list locked rooms too
	SortBy        SortKey
	Limit         int // 0 for no limit
	// Accept, when set, is a last condition a room must meet (e.g. seats the caller has
	// promised but the room does not count yet). It runs under the directory's read lock:
	// it must not call back into the directory or take locks that are held while updating it.
	Accept func(Entry) bool
}

func (f *Filter) match(e *Entry) bool {
	if e.Private || (e.Locked && !f.IncludeLocked) || (f.Game != "" && e.Game != f.Game) || e.FreeSeats() < f.MinFreeSeats {
		return false
	}
	for k, v := range f.Metadata {
		if got, ok := e.Metadata[k]; !ok || got != v {
			return false
		}
	}
	return f.Accept == nil || f.Accept(*e)
}

// DirectoryOptions configure a Directory. The zero value is usable.
type DirectoryOptions struct {
	// FeedBuffer is how many changes a subscriber may fall behind before it is dropped;
	// default 256. Each costs one Change (about 150 bytes) per subscriber when full.
	FeedBuffer int
	// Clock stamps Created; nil is the wall clock.
	Clock Clock
}

// Directory is the room listing: the engine updates it from its rooms' info, and lobbies
// list it or follow its feed.
//
// List costs O(rooms) to filter plus O(k log k) to sort the k that match; for lobbies that
// poll often, prefer Subscribe. Entries handed out (by List, the feed, QuickPlay) share
// their Metadata map with the directory: treat it as read-only.
type Directory struct {
	clock  Clock
	buffer int

	mu      sync.RWMutex
	rooms   map[string]*Entry
	subs    map[*subscriber]struct{}
	dropped uint64
}

type subscriber struct {
	game string
	ch   chan Change
}

// NewDirectory makes an empty directory.
func NewDirectory(opts DirectoryOptions) *Directory {
	d := &Directory{
		clock:  clockOrSystem(opts.Clock),
		buffer: opts.FeedBuffer,
		rooms:  make(map[string]*Entry),
		subs:   make(map[*subscriber]struct{}),
	}
	if d.buffer <= 0 {
		d.buffer = 256
	}
	return d
}

// Update adds or replaces a room's entry (its Metadata is copied) and feeds the change to
// the subscribers of its game: a room that turns private is Removed from their view, one
// that turns public is Added. Cost: O(metadata + subscribers), never blocking on a
// subscriber.
func (d *Directory) Update(e Entry) {
	e.Metadata = maps.Clone(e.Metadata)
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.rooms[e.ID]
	if e.Created.IsZero() {
		if old != nil {
			e.Created = old.Created
		} else {
			e.Created = d.clock.Now()
		}
	}
	d.rooms[e.ID] = &e
	switch {
	case old != nil && !old.Private && !e.Private:
		d.feed(Change{Updated, e})
	case (old == nil || old.Private) && !e.Private:
		d.feed(Change{Added, e})
	case old != nil && !old.Private && e.Private:
		d.feed(Change{Removed, *old})
	}
}

// Remove deletes a room (it ended) and reports whether it was listed.
func (d *Directory) Remove(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.rooms[id]
	if old == nil {
		return false
	}
	delete(d.rooms, id)
	if !old.Private {
		d.feed(Change{Removed, *old})
	}
	return true
}

// Get returns a room's entry, private or not.
func (d *Directory) Get(id string) (Entry, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if e := d.rooms[id]; e != nil {
		return *e, true
	}
	return Entry{}, false
}

// Len is the number of rooms, private ones included.
func (d *Directory) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.rooms)
}

// List returns the public rooms that pass the filter, sorted by f.SortBy, ties broken by
// age and then ID so that pages are stable.
//
// Cost: one O(rooms) scan under the read lock. With a Limit of k, only the best k matches
// are kept as it goes (a bounded heap, O(rooms · log k)) and only those are copied and
// sorted: a listing of the first 100 of 5,000 rooms does not sort or copy 5,000 entries.
func (d *Directory) List(f Filter) []Entry {
	less := f.order()
	d.mu.RLock()
	var best []*Entry
	if f.Limit > 0 {
		best = make([]*Entry, 0, min(f.Limit, len(d.rooms)))
	} else {
		best = make([]*Entry, 0, min(len(d.rooms), 16))
	}
	for _, e := range d.rooms {
		switch {
		case !f.match(e):
		case f.Limit <= 0 || len(best) < f.Limit:
			best = append(best, e)
			if f.Limit > 0 {
				siftUp(best, len(best)-1, less)
			}
		case less(e, best[0]) < 0: // better than the worst kept: replace it
			best[0] = e
			siftDown(best, 0, less)
		}
	}
	out := make([]Entry, len(best))
	for i, e := range best {
		out[i] = *e
	}
	d.mu.RUnlock()
	slices.SortFunc(out, func(a, b Entry) int { return less(&a, &b) })
	return out
}

// Totals counts the public rooms, connected players and held seats that pass f (its Limit
// and SortBy ignored), by game: what a lobby shows as "N players in M rooms" without listing
// every room. Cost: one O(rooms) scan under the read lock, nothing copied.
func (d *Directory) Totals(f Filter) map[string]Totals {
	out := map[string]Totals{}
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, e := range d.rooms {
		if f.match(e) {
			t := out[e.Game]
			t.Rooms++
			t.Players += e.Players
			t.Held += e.Held
			out[e.Game] = t
		}
	}
	return out
}

// Totals are the rooms, connected players and held seats (Entry.Held) of one game in a
// listing.
type Totals struct {
	Rooms   int `json:"rooms"`
	Players int `json:"players"`
	Held    int `json:"held"`
}

// order is the listing's comparison: negative when a comes before b.
func (f *Filter) order() func(a, b *Entry) int {
	by := f.SortBy
	return func(a, b *Entry) int {
		switch by {
		case SortFree:
			if a.FreeSeats() != b.FreeSeats() {
				return b.FreeSeats() - a.FreeSeats()
			}
		case SortPlayers:
			if a.Players != b.Players {
				return b.Players - a.Players
			}
		}
		return olderFirst(a, b)
	}
}

// siftUp and siftDown keep h a heap whose root is the entry that sorts last (the worst of
// those kept), so that a better one can replace it in O(log k).
func siftUp(h []*Entry, i int, less func(a, b *Entry) int) {
	for i > 0 {
		p := (i - 1) / 2
		if less(h[p], h[i]) >= 0 {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func siftDown(h []*Entry, i int, less func(a, b *Entry) int) {
	for {
		w := i
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < len(h) && less(h[c], h[w]) > 0 {
				w = c
			}
		}
		if w == i {
			return
		}
		h[w], h[i] = h[i], h[w]
		i = w
	}
}

func olderFirst(a, b *Entry) int {
	if c := a.Created.Compare(b.Created); c != 0 {
		return c
	}
	return cmpString(a.ID, b.ID)
}

// Subscribe follows the public rooms of game ("" for every game). The channel receives each
// change in order. A subscriber that falls FeedBuffer changes behind is dropped: its channel
// is closed, and it should subscribe again and List to catch up. Subscribe before listing so
// that no change falls between the two. cancel ends the subscription and closes the channel;
// it is idempotent.
func (d *Directory) Subscribe(game string) (changes <-chan Change, cancel func()) {
	s := &subscriber{game: game, ch: make(chan Change, d.buffer)}
	d.mu.Lock()
	d.subs[s] = struct{}{}
	d.mu.Unlock()
	return s.ch, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if _, ok := d.subs[s]; ok {
			delete(d.subs, s)
			close(s.ch)
		}
	}
}

// Dropped is how many subscribers were dropped for falling behind.
func (d *Directory) Dropped() uint64 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.dropped
}

// feed sends c to the game's subscribers without blocking; d.mu is held.
func (d *Directory) feed(c Change) {
	for s := range d.subs {
		if s.game != "" && s.game != c.Entry.Game {
			continue
		}
		select {
		case s.ch <- c:
		default:
			delete(d.subs, s)
			close(s.ch)
			d.dropped++
		}
	}
}
