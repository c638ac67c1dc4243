package match

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/lithammer/shortuuid/v4"
)

// How a pass works, per queue:
//
//  1. Merge the tickets that arrived since the last pass into two sorted slices, one by
//     rating and one by age, dropping the tickets that were matched or cancelled: O(n + m log m)
//     for n waiting and m new tickets. Compute each ticket's window and region relaxation.
//  2. Backfill: for each open room, fullest first, take the waiting tickets nearest to the
//     room's rating that accept its rating and region and fit its free seats.
//  3. New rooms, region by region: take the waiting tickets oldest first as anchors; grow a
//     match around each anchor with its nearest neighbours in rating, as long as every member
//     accepts every other (see grow). Then once more across regions, with only the tickets
//     whose region preference has relaxed.
//
// Tickets are found through a lane, a rating-ordered slice whose "nearest free neighbour"
// queries take amortized near-constant time, so a growing match looks at O(MaxPlayers)
// tickets and a pass is O(n log n) overall, never O(n²). A grow gives up after probeBudget misfits (a party too big
// for the seats left, a neighbour whose own window is too narrow), which bounds the work on
// hopeless anchors.

// commitTickets is about how many tickets one critical section commits (whole matches, so
// a little more): a map delete and two atomic operations each, some 10-20 µs with 100,000
// tickets queued, far under the millisecond an Enqueue may wait (BenchmarkMatch100k reports
// the lock holds).
const commitTickets = 128

// probeBudget is how many misfits a search tolerates before it settles for what it has.
func probeBudget(seats int) int { return 2*seats + 16 }

// passState is the pass's own memory, reused from pass to pass.
type passState struct {
	inbox   []*entry // the spare inbox swapped in at each pass
	members []*entry // members of every proposed match, back to back
	groups  []group
}

// group is a proposed match: members[from:to] of the pass state.
type group struct {
	q        *queue
	room     string
	from, to int
	ok       bool // committed
}

func (ps *passState) add(q *queue, room string, es []*entry) {
	from := len(ps.members)
	ps.members = append(ps.members, es...)
	ps.groups = append(ps.groups, group{q: q, room: room, from: from, to: len(ps.members)})
}

// Pass runs one matching pass at now over every queue and returns the matches it made. Its
// matched players are held (Enqueue refuses them) until Release. Passes are serialized;
// Enqueue and Cancel go on meanwhile (see Local).
//
// Cost: O(n log n) for n waiting tickets, in practice dominated by the merge and the sweep,
// both linear; see BenchmarkMatch100k.
func (l *Local) Pass(now time.Time) []Match {
	l.passMu.Lock()
	defer l.passMu.Unlock()
	start := time.Now()
	ps := &l.ps

	l.passLock()
	in := l.inbox
	l.inbox = ps.inbox[:0]
	l.passUnlock()
	for _, e := range in {
		e.q.arrivals = append(e.q.arrivals, e)
	}
	clear(in)
	ps.inbox = in[:0]

	ps.members, ps.groups = ps.members[:0], ps.groups[:0]
	for _, q := range l.order {
		q.prep(now)
		var rooms []OpenRoom
		if q.cfg.Backfill && l.open != nil {
			rooms = l.open.OpenRooms(q.cfg.Mode)
		}
		if q.cfg.MatchFunc != nil {
			l.stats.rejected.Add(uint64(q.custom(now, rooms, ps)))
			continue
		}
		q.backfill(rooms, ps)
		q.matchNew(ps)
	}
	out := l.commit(ps)
	clear(ps.members)
	l.stats.passes.Add(1)
	l.stats.lastPass.Store(int64(time.Since(start)))
	return out
}

// commit turns the proposed groups into matches, commitTickets at a time so that the lock is
// never held long, and drops any group with a ticket cancelled since the pass began.
func (l *Local) commit(ps *passState) []Match {
	n := 0
	for i := 0; i < len(ps.groups); {
		l.passLock()
		for budget := commitTickets; i < len(ps.groups) && budget > 0; i++ {
			g := &ps.groups[i]
			budget -= g.to - g.from
			ms := ps.members[g.from:g.to]
			g.ok = true
			for _, e := range ms {
				if e.state.Load() != stateQueued {
					g.ok = false
					break
				}
			}
			if !g.ok {
				continue
			}
			n++
			for _, e := range ms {
				e.state.Store(stateMatched)
				delete(l.tickets, e.t.ID)
				e.q.tickets--
				e.q.players -= len(e.t.Players)
				l.held += len(e.t.Players)
			}
		}
		l.passUnlock()
	}
	if n < len(ps.groups) {
		l.stats.dissolved.Add(uint64(len(ps.groups) - n))
	}
	out := make([]Match, 0, n)
	for _, g := range ps.groups {
		if !g.ok {
			continue
		}
		m := Match{ID: shortuuid.New(), Mode: g.q.cfg.Mode, Room: g.room, Tickets: make([]Ticket, g.to-g.from)}
		players := 0
		for i, e := range ps.members[g.from:g.to] {
			m.Tickets[i] = e.t
			players += len(e.t.Players)
		}
		out = append(out, m)
		l.stats.matchedTickets.Add(uint64(len(m.Tickets)))
		l.stats.matchedPlayers.Add(uint64(players))
		if m.Room != "" {
			l.stats.backfills.Add(1)
		}
	}
	l.stats.matches.Add(uint64(len(out)))
	return out
}

func byRating(a, b *entry) int {
	switch {
	case a.rating < b.rating:
		return -1
	case a.rating > b.rating:
		return 1
	}
	return cmpSeq(a, b)
}

func byAge(a, b *entry) int {
	if c := a.t.Created.Compare(b.t.Created); c != 0 {
		return c
	}
	return cmpSeq(a, b)
}

func cmpSeq(a, b *entry) int {
	switch {
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}

// mergeLive appends to dst the live entries of a and b, both sorted by cmp, in cmp order.
func mergeLive(dst, a, b []*entry, cmp func(x, y *entry) int) []*entry {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		var e *entry
		if cmp(b[j], a[i]) < 0 {
			e, j = b[j], j+1
		} else {
			e, i = a[i], i+1
		}
		if e.live() {
			dst = append(dst, e)
		}
	}
	for _, e := range a[i:] {
		if e.live() {
			dst = append(dst, e)
		}
	}
	for _, e := range b[j:] {
		if e.live() {
			dst = append(dst, e)
		}
	}
	return dst
}

// prep merges the arrivals into the sorted slices and computes every ticket's window and
// region relaxation at now.
func (q *queue) prep(now time.Time) {
	// Arrivals come in enqueue order, which is nearly age order: that sort is almost free
	// (pdqsort finds the runs), so it goes first. The rating sort goes through a slice of
	// keys, so that comparisons read contiguous memory instead of chasing pointers.
	arr := q.arrivals
	slices.SortFunc(arr, byAge)
	merged := mergeLive(q.spare[:0], q.byAge, arr, byAge)
	old := q.byAge
	q.byAge = merged
	clear(old)
	q.keys = q.keys[:0]
	for _, e := range arr {
		q.keys = append(q.keys, ratingKey{e.rating, e.seq, e})
	}
	slices.SortFunc(q.keys, func(a, b ratingKey) int {
		switch {
		case a.rating < b.rating:
			return -1
		case a.rating > b.rating:
			return 1
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	for i, k := range q.keys {
		arr[i] = k.e
	}
	clear(q.keys)
	merged = mergeLive(old[:0], q.sorted, arr, byRating)
	old = q.sorted
	q.sorted = merged
	clear(old)
	q.spare = old[:0]
	clear(arr)
	q.arrivals = arr[:0]

	c := &q.cfg
	q.sweep.maxWin = 0
	for _, e := range q.sorted {
		wait := max(now.Sub(e.t.Created), 0)
		e.win = math.Inf(1)
		if c.RatingKey != "" {
			e.win = c.Window.At(wait)
		}
		q.sweep.maxWin = max(q.sweep.maxWin, e.win)
		e.relaxed = c.RegionKey == "" || (c.RegionRelaxAfter > 0 && wait >= c.RegionRelaxAfter)
		e.taken = false
	}
}

// ratingKey is an arrival's sort key, copied out of the entry.
type ratingKey struct {
	rating float64
	seq    uint64
	e      *entry
}

// sweeper is a queue's scratch for the sweeps of a pass.
type sweeper struct {
	all     lane // every waiting ticket, for backfill
	ages    lane // every waiting ticket by age, for backfill of rooms without a rating
	regions map[string]*lane
	relaxed lane
	group   []*entry
	rooms   []OpenRoom
	maxWin  float64 // the widest window of the pass
}

// lane is a rating-ordered slice of tickets from which tickets are taken as they are matched.
// next and prev find the nearest ticket not yet taken on either side in amortized
// near-constant time (union-find with path halving: each taken ticket points past itself),
// so that sweeps never walk over the tickets already matched.
type lane struct {
	es    []*entry
	right []int32 // right[i] == i while es[i] is free; right[len] == len
	left  []int32 // shifted by one: left[i+1] == i+1 while es[i] is free; left[0] == 0
}

// reset makes every ticket of es free and, with setPos, records each one's position in
// entry.pos (a lane that is walked by index needs no positions).
func (ln *lane) reset(setPos bool) {
	n := len(ln.es)
	ln.right = slices.Grow(ln.right[:0], n+1)[:n+1]
	ln.left = slices.Grow(ln.left[:0], n+1)[:n+1]
	for i, e := range ln.es {
		ln.right[i] = int32(i)
		ln.left[i+1] = int32(i + 1)
		if setPos {
			e.pos = int32(i)
		}
	}
	ln.right[n] = int32(n)
	ln.left[0] = 0
}

// next returns the first free index >= i, or len(es).
func (ln *lane) next(i int32) int32 {
	r := ln.right
	for r[i] != i {
		r[i] = r[r[i]]
		i = r[i]
	}
	return i
}

// prev returns the last free index <= i, or -1.
func (ln *lane) prev(i int32) int32 {
	l, j := ln.left, i+1
	for l[j] != j {
		l[j] = l[l[j]]
		j = l[j]
	}
	return j - 1
}

// take marks es[i] as no longer free.
func (ln *lane) take(i int32) {
	ln.right[i] = i + 1
	ln.left[i+1] = i
}

// nearer picks the candidate to examine next, between the left cursor li (-1 when none) and
// the right cursor ri (len(es) when none): the one closer in rating to r, the older on a tie.
func (ln *lane) nearer(li, ri int32, r float64) (i int32, left, ok bool) {
	n := int32(len(ln.es))
	switch {
	case li < 0 && ri >= n:
		return 0, false, false
	case li < 0:
		return ri, false, true
	case ri >= n:
		return li, true, true
	}
	dl, dr := r-ln.es[li].rating, ln.es[ri].rating-r
	if dl < dr || (dl == dr && ln.es[li].seq < ln.es[ri].seq) {
		return li, true, true
	}
	return ri, false, true
}

// backfill fills the free seats of open rooms, the fullest room first, each with the tickets
// nearest to the room's rating (or the oldest, for a room without one) that accept the
// room's rating and region and fit its seats.
func (q *queue) backfill(rooms []OpenRoom, ps *passState) {
	if len(rooms) == 0 || len(q.sorted) == 0 {
		return
	}
	sw := &q.sweep
	sw.rooms = append(sw.rooms[:0], rooms...)
	slices.SortFunc(sw.rooms, func(a, b OpenRoom) int {
		if a.FreeSeats != b.FreeSeats {
			return a.FreeSeats - b.FreeSeats
		}
		return cmpString(a.ID, b.ID)
	})
	ln := &sw.all
	ln.es = q.sorted
	ln.reset(true)
	n := int32(len(ln.es))
	ages, agesReady := &sw.ages, false // the oldest-first lane, for rooms without a rating
	c := &q.cfg
	for _, r := range sw.rooms {
		free := r.FreeSeats
		if free <= 0 {
			continue
		}
		region := ""
		if c.RegionKey != "" {
			region = r.Strings[c.RegionKey]
		}
		rr, rated := 0.0, false
		if c.RatingKey != "" {
			rr, rated = r.Numbers[c.RatingKey]
			rated = rated && !math.IsNaN(rr)
		}
		accepts := func(e *entry) bool {
			return e.live() && len(e.t.Players) <= free &&
				(region == "" || e.relaxed || e.region == region) &&
				(!rated || math.Abs(e.rating-rr) <= e.win)
		}
		g := sw.group[:0]
		probes, budget := 0, probeBudget(free)
		if rated {
			p := int32(sort.Search(len(ln.es), func(i int) bool { return ln.es[i].rating >= rr }))
			li, ri := ln.prev(p-1), ln.next(p)
			for free > 0 && probes < budget {
				i, left, ok := ln.nearer(li, ri, rr)
				if !ok {
					break
				}
				e := ln.es[i]
				if left {
					li = ln.prev(i - 1)
				} else {
					ri = ln.next(i + 1)
				}
				switch {
				case math.Abs(e.rating-rr) > sw.maxWin: // no ticket further on this side accepts the room
					if left {
						li = -1
					} else {
						ri = n
					}
				case accepts(e):
					g = append(g, e)
					free -= len(e.t.Players)
					e.taken = true
					ln.take(i)
				default:
					probes++
				}
			}
		} else {
			if !agesReady {
				ages.es = q.byAge
				ages.reset(false)
				agesReady = true
			}
			na := int32(len(ages.es))
			for i := ages.next(0); i < na && free > 0 && probes < budget; i = ages.next(i + 1) {
				e := ages.es[i]
				switch {
				case e.taken: // by a rated room
					ages.take(i)
				case accepts(e):
					g = append(g, e)
					free -= len(e.t.Players)
					e.taken = true
					ln.take(e.pos)
					ages.take(i)
				default:
					probes++
				}
			}
		}
		if len(g) > 0 {
			ps.add(q, r.ID, g)
		}
		sw.group = g
	}
}

// matchNew makes matches for new rooms: region by region, then across regions with the
// tickets that accept any region.
func (q *queue) matchNew(ps *passState) {
	sw := &q.sweep
	if sw.regions == nil {
		sw.regions = make(map[string]*lane)
	}
	for k, ln := range sw.regions {
		if len(ln.es) == 0 {
			delete(sw.regions, k) // a region nobody queued in lately
			continue
		}
		clear(ln.es)
		ln.es = ln.es[:0]
	}
	for _, e := range q.sorted {
		if e.taken {
			continue
		}
		ln := sw.regions[e.region]
		if ln == nil {
			ln = new(lane)
			sw.regions[e.region] = ln
		}
		ln.es = append(ln.es, e)
	}
	for _, ln := range sw.regions {
		ln.reset(true)
	}
	for _, e := range q.byAge {
		if !e.taken && e.live() {
			q.grow(sw.regions[e.region], e, ps)
		}
	}
	if q.cfg.RegionKey == "" || q.cfg.RegionRelaxAfter == 0 {
		return
	}
	ln := &sw.relaxed
	clear(ln.es)
	ln.es = ln.es[:0]
	for _, e := range q.sorted {
		if !e.taken && e.relaxed {
			ln.es = append(ln.es, e)
		}
	}
	if len(ln.es) < 2 {
		return
	}
	ln.reset(true)
	for _, e := range q.byAge {
		if !e.taken && e.relaxed && e.live() {
			q.grow(ln, e, ps)
		}
	}
}

// grow tries to make a match around the anchor a, a free ticket of lane ln. It adds the
// free tickets nearest to a in rating, one at a time, while every member accepts every
// other: with each member accepting [rating-win, rating+win], that holds exactly when every
// member's rating lies in the intersection [lo, hi] of the members' ranges, so each candidate
// costs O(1). As [lo, hi] only shrinks, a candidate outside it closes that side. The match
// is made if it reaches MinPlayers once it is full, out of candidates or out of budget.
func (q *queue) grow(ln *lane, a *entry, ps *passState) {
	minP, maxP := q.cfg.MinPlayers, q.cfg.MaxPlayers
	g := append(q.sweep.group[:0], a)
	size := len(a.t.Players)
	lo, hi := a.rating-a.win, a.rating+a.win // the ratings every member accepts
	least, most := a.rating, a.rating        // the members' ratings
	n := int32(len(ln.es))
	li, ri := ln.prev(a.pos-1), ln.next(a.pos+1)
	probes, budget := 0, probeBudget(maxP)
	for size < maxP && probes < budget {
		i, left, ok := ln.nearer(li, ri, a.rating)
		if !ok {
			break
		}
		c := ln.es[i]
		if left {
			li = ln.prev(i - 1)
			if c.rating < lo {
				li = -1
				continue
			}
		} else {
			ri = ln.next(i + 1)
			if c.rating > hi {
				ri = n
				continue
			}
		}
		nlo, nhi := max(lo, c.rating-c.win), min(hi, c.rating+c.win)
		if size+len(c.t.Players) <= maxP && min(least, c.rating) >= nlo && max(most, c.rating) <= nhi && c.live() {
			g = append(g, c)
			size += len(c.t.Players)
			lo, hi = nlo, nhi
			least, most = min(least, c.rating), max(most, c.rating)
		} else {
			probes++
		}
	}
	q.sweep.group = g
	if size < minP {
		return
	}
	for _, e := range g {
		e.taken = true
		ln.take(e.pos)
	}
	ps.add(q, "", g)
}

// custom runs the queue's MatchFunc and keeps its sound proposals; it returns how many it
// rejected.
func (q *queue) custom(now time.Time, rooms []OpenRoom, ps *passState) (rejected int) {
	pool := make([]Ticket, len(q.byAge))
	for i, e := range q.byAge {
		pool[i] = e.t
	}
	free := make(map[string]int, len(rooms))
	for _, r := range rooms {
		free[r.ID] = r.FreeSeats
	}
	var g []*entry
	for _, p := range q.cfg.MatchFunc(now, pool, rooms) {
		g = g[:0]
		size, ok := 0, len(p.Tickets) > 0
		for _, i := range p.Tickets {
			if i < 0 || i >= len(q.byAge) || q.byAge[i].taken {
				ok = false
				break
			}
			e := q.byAge[i]
			e.taken = true // also catches an index repeated within p
			g = append(g, e)
			size += len(e.t.Players)
		}
		if ok {
			if p.Room == "" {
				ok = size >= q.cfg.MinPlayers && size <= q.cfg.MaxPlayers
			} else {
				seats, open := free[p.Room]
				ok = open && size <= seats
				if ok {
					free[p.Room] = seats - size
				}
			}
		}
		if !ok {
			for _, e := range g {
				e.taken = false
			}
			rejected++
			continue
		}
		ps.add(q, p.Room, g)
	}
	return rejected
}
