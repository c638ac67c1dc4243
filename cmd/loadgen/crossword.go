package main

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/protocol"
)

// Crossword bots play as people do: every -type-every on average (with jitter) a bot either
// types a letter into an empty square, which also moves its cursor there, or moves its
// cursor. Bots know the shipped puzzles (crossword.Builtin), recognise the current one by
// the board entity, and type the right letter four times out of five, a wrong one
// otherwise. A puzzle the bots do not know gets random letters, untracked.
//
// Every correct letter is tracked (letterTracker) from its send to the first snapshot in
// which each bot's grid (grids) shows it.

const (
	pCorrect = 0.8  // a bot that knows the puzzle types the right letter this often
	pType    = 0.85 // an action types a letter (when a square is empty), else moves the cursor
)

type crosswordDriver struct {
	r       *runner
	puzzles map[string]int // puzzle id -> index in list
	list    []*crossword.Puzzle
	window  time.Duration // the letter trackers'

	wrongSent atomic.Int64 // wrong letters typed
	caughtUp  atomic.Int64 // tracked letters a bot first saw in a full snapshot after its first (a resume or a baseline reset)
	wrongGot  atomic.Int64 // "wrong" events received
	untracked atomic.Int64 // letters typed into puzzles the bots do not know

	mu      sync.Mutex
	unknown map[string]bool           // puzzle ids seen that are not in crossword.Builtin
	rooms   map[string]*letterTracker // by room id: a room's letters are its own (see report)
	all     []*crosswordBot           // every behavior made, those a rejoin left behind too
}

func newCrosswordDriver(r *runner) (*crosswordDriver, error) {
	ps, err := crossword.Builtin()
	if err != nil {
		return nil, err
	}
	window := letterWindow
	if r.cfg.ChaosEvery > 0 {
		window += stallMax
	}
	d := &crosswordDriver{r: r, puzzles: map[string]int{}, list: ps, window: window, unknown: map[string]bool{}, rooms: map[string]*letterTracker{}}
	for i, p := range ps {
		d.puzzles[p.ID] = i
	}
	return d, nil
}

func (d *crosswordDriver) name() string { return crossword.Name }

// period: the bots act every few seconds; 50 ms is precise enough for that, and sends are
// timed when written, not when scheduled.
func (d *crosswordDriver) period() time.Duration { return 50 * time.Millisecond }

func (d *crosswordDriver) settle() time.Duration { return 2 * time.Second }

func (d *crosswordDriver) sweep(now int64) {
	for _, t := range d.trackers() {
		t.sweep(now)
	}
}

// trackers returns the rooms' letter trackers.
func (d *crosswordDriver) trackers() []*letterTracker {
	d.mu.Lock()
	defer d.mu.Unlock()
	ts := make([]*letterTracker, 0, len(d.rooms))
	for _, t := range d.rooms {
		ts = append(ts, t)
	}
	return ts
}

// newBehavior makes the bot's behavior in the room it was just seated in (b.room).
func (d *crosswordDriver) newBehavior(b *bot) behavior {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.rooms[b.room]
	if t == nil {
		t = newLetterTracker(d.window)
		d.rooms[b.room] = t
	}
	cb := &crosswordBot{b: b, d: d, room: b.room, letters: t, gs: grids{puzzles: d.puzzles}}
	d.all = append(d.all, cb)
	return cb
}

// crosswordBot is one player's view of the grid and its typing.
type crosswordBot struct {
	b       *bot
	d       *crosswordDriver
	room    string         // the room this behavior plays in: a rejoin afresh makes another
	letters *letterTracker // that room's

	mu      sync.Mutex // the grids and the visits, shared by the read loop and step
	gs      grids
	visits  []visit // the rounds of known puzzles this bot saw, in order
	nextAct int64   // step's own

	got    atomic.Int64 // tracked letters of the measured phase seen
	solved atomic.Int64 // "solved" events
}

// visit is a stretch of a puzzle's round that one bot saw: the ticks of its first and last
// snapshots of it. A bot that stalls or drops through the end of a round never sees the
// letters placed after its last snapshot of it: those are not due to it (see report).
type visit struct {
	puzzle      int
	first, last uint32
}

func (cb *crosswordBot) inputAck(seq, tick uint32) {}

// snapshot builds the new grid and records the letters it shows for the first time.
func (cb *crosswordBot) snapshot(s snapMsg, now int64) error {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	prev := cb.gs.latest()
	g, err := cb.gs.apply(s, cb.b.mirror)
	if err != nil {
		return err
	}
	if g.puzzle < 0 && g.id != "" && (prev == nil || g.id != prev.id) {
		cb.d.mu.Lock()
		cb.d.unknown[g.id] = true
		cb.d.mu.Unlock()
	}
	if g.puzzle >= 0 {
		if n := len(cb.visits); n > 0 && prev != nil && g.id == prev.id {
			cb.visits[n-1].last = g.tick
		} else {
			cb.visits = append(cb.visits, visit{puzzle: g.puzzle, first: g.tick, last: g.tick})
		}
	}
	if prev == nil || g.puzzle < 0 {
		return nil // the first snapshot shows what was there before this player came
	}
	same := g.id == prev.id
	since := cb.b.firstSnap.Load()
	full := isFull(s)
	for sq, c := range g.letters {
		if c == 0 || (same && sq < len(prev.letters) && prev.letters[sq] != 0) {
			continue
		}
		l := cb.letters.observe(letterKey(g.puzzle, sq, g.by[sq]), now, g.tick, since)
		if l != nil && cb.b.r.inWindow(l.sent) {
			cb.got.Add(1)
			if full {
				cb.d.caughtUp.Add(1)
			}
		}
	}
	return nil
}

func (cb *crosswordBot) event(name, payload []byte, now int64) {
	switch string(name) {
	case "wrong":
		cb.d.wrongGot.Add(1)
	case "solved":
		cb.solved.Add(1)
	}
}

// step acts when the bot's next action is due: type a letter or move the cursor.
func (cb *crosswordBot) step(now int64) {
	b := cb.b
	cfg := &b.r.cfg
	if cb.nextAct == 0 {
		cb.nextAct = now + b.rng.Int64N(int64(cfg.TypeEvery)) // spread the first actions
		return
	}
	if now < cb.nextAct {
		return
	}
	cb.nextAct = now + int64(cfg.TypeEvery)/2 + b.rng.Int64N(int64(cfg.TypeEvery)) // mean TypeEvery
	if b.r.phase.Load() > phaseMeasure {
		return // settling: let the last letters arrive
	}

	cb.mu.Lock()
	g := cb.gs.latest()
	if g == nil || g.width == 0 || len(g.mask) != g.width*g.height {
		cb.mu.Unlock()
		return // no board yet
	}
	p := b.beginInput(0)
	if sq, ok := pick(b, len(g.mask), g.empty); ok && b.rng.Float64() < pType {
		row, col := sq/g.width, sq%g.width
		letter, key := byte('A'+b.rng.IntN(26)), uint64(0)
		if g.puzzle >= 0 {
			want := cb.d.list[g.puzzle].Solution[sq]
			if b.rng.Float64() < pCorrect {
				letter, key = want, letterKey(g.puzzle, sq, b.player)
			} else if letter == want {
				letter = 'A' + (letter-'A'+1+byte(b.rng.IntN(25)))%26
			}
		}
		known := g.puzzle >= 0
		cb.mu.Unlock()
		// {"kind": "letter", "row": r, "col": c, "letter": "A"}
		p = protocol.AppendMap(p, 4)
		p = protocol.AppendStr(protocol.AppendStr(p, "kind"), "letter")
		p = protocol.AppendInt(protocol.AppendStr(p, "row"), int64(row))
		p = protocol.AppendInt(protocol.AppendStr(p, "col"), int64(col))
		p = append(protocol.AppendStr(p, "letter"), 0xa1, letter)
		switch {
		case key != 0:
			cb.letters.send(key, b.r.mono())
		case known:
			cb.d.wrongSent.Add(1)
		default:
			cb.d.untracked.Add(1)
		}
		b.sendInput(p)
		return
	}
	sq, _ := pick(b, len(g.mask), g.white)
	row, col := sq/g.width, sq%g.width
	cb.mu.Unlock()
	// {"kind": "cursor", "row": r, "col": c, "dir": "across"|"down"}
	dir := "across"
	if b.rng.IntN(2) == 1 {
		dir = "down"
	}
	p = protocol.AppendMap(p, 4)
	p = protocol.AppendStr(protocol.AppendStr(p, "kind"), "cursor")
	p = protocol.AppendInt(protocol.AppendStr(p, "row"), int64(row))
	p = protocol.AppendInt(protocol.AppendStr(p, "col"), int64(col))
	p = protocol.AppendStr(protocol.AppendStr(p, "dir"), dir)
	b.sendInput(p)
}

// pick returns a random square below n that ok accepts, and false if none does. Grids are
// at most 25x25, and a bot acts every few seconds: a scan is cheap.
func pick(b *bot, n int, ok func(int) bool) (int, bool) {
	count := 0
	for i := range n {
		if ok(i) {
			count++
		}
	}
	if count == 0 {
		return 0, false
	}
	k := b.rng.IntN(count)
	for i := range n {
		if ok(i) {
			if k == 0 {
				return i, true
			}
			k--
		}
	}
	return 0, false
}

// report adds the letters' propagation: for each correct letter placed during the measured
// phase, the time from its send until the last bot that should see it did. A bot should see
// every letter sent after its first snapshot, in every round of a puzzle it saw after the
// letter was placed: a bot that stalled or dropped through the end of a round (chaos.go) is
// not due the letters of that round placed after its last snapshot of it, and one that
// resumed into a round is due every letter of it, which its first snapshot after the resume
// carries. Missing deliveries at bots whose connection stayed up (or resumed) are errors, and
// so are bots whose final grid differs from the others'.
//
// Each room is judged on its own: its letters, its rounds (a room's ticks count from its
// start, so two rooms' ticks say nothing of each other) and its players' final grids. With
// -rejoin, a bot that joined afresh or followed a move (rejoin.go) is a new player in a
// new room with a new behavior: the letters it typed and saw in the old room stay there,
// where it counts as a connection that died (not due anything, its sightings kept for the
// letters' propagation), and in the new room it is due what was sent after its first
// snapshot there (the bot's first snapshot time starts over with it). Without rooms to
// tell apart (one crossword room, as without a cluster) this is the check as it was.
func (d *crosswordDriver) report(res *result) {
	r := d.r
	d.mu.Lock()
	all := slices.Clone(d.all)
	trackers := maps.Clone(d.rooms)
	d.mu.Unlock()
	tickRate := 0
	for _, b := range r.startedBots() {
		tickRate = max(tickRate, b.tickRate)
	}
	byRoom := map[string][]*crosswordBot{}
	for _, cb := range all {
		byRoom[cb.room] = append(byRoom[cb.room], cb)
	}
	var (
		sent, prop      []int64
		missing         int64
		incomplete      int
		diverged, grids int
		sentAll         int64
	)
	for room, cbs := range byRoom {
		rr := d.roomReport(cbs, trackers[room], uint32(max(tickRate, 1)))
		sent = append(sent, rr.sent...)
		prop = append(prop, rr.prop...)
		missing += rr.missing
		incomplete += rr.incomplete
		diverged += rr.diverged
		grids += rr.grids
		sentAll += trackers[room].sent.Load()
	}
	slices.Sort(sent)
	res.gameErrors += missing + int64(diverged)

	var solved int64
	for _, cb := range all {
		solved = max(solved, cb.solved.Load())
	}
	prop = sortedCopy(prop)
	ms := func(q float64) float64 { return float64(quantileSorted(prop, q)) / 1e6 }
	res.letters = &letterStats{placed: len(sent), complete: len(prop), missing: missing,
		p50: ms(0.50), p90: ms(0.90), p99: ms(0.99), max: ms(1)}
	res.rows = append(res.rows,
		row{"letters placed", fmt.Sprintf("%d in the measured phase (%d correct sent in all, %d wrong)",
			len(sent), sentAll, d.wrongSent.Load())},
		row{"letters to every player", fmt.Sprintf("%d of %d; %d deliveries missing", len(prop), len(sent), missing)},
		row{"final grids", fmt.Sprintf("%d of %d players differ from the latest grid of their puzzle in their room", diverged, grids)},
		row{"letter propagation ms", fmt.Sprintf("p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (send to the last player's mirror)",
			res.letters.p50, res.letters.p90, res.letters.p99, res.letters.max)},
		row{"letters caught up", fmt.Sprintf("%d deliveries by a full snapshot after a resume or a baseline reset", d.caughtUp.Load())},
		row{"puzzles solved", fmt.Sprintf("%d (\"wrong\" events: %d)", solved, d.wrongGot.Load())},
	)
	if incomplete > 0 {
		res.rows = append(res.rows, row{"incomplete letters", fmt.Sprintf("%d letters missed by some player", incomplete)})
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.unknown) > 0 {
		res.rows = append(res.rows, row{"unknown puzzles", fmt.Sprintf("%d (letters typed at random, untracked: %d)", len(d.unknown), d.untracked.Load())})
	}
}

// roomCheck is one room's part of the crossword's checks.
type roomCheck struct {
	sent, prop      []int64 // send times of its placed letters of the measured phase; propagation times (ns) of the complete ones
	missing         int64
	incomplete      int
	diverged, grids int
}

// roomReport checks one room's letters against the behaviors that played in it (see
// report): those still playing there at the end, whose connection stayed up or resumed,
// are due every letter placed after their first snapshot in the rounds they saw.
func (d *crosswordDriver) roomReport(cbs []*crosswordBot, t *letterTracker, slack uint32) roomCheck {
	r := d.r
	var rc roomCheck
	var good []*crosswordBot // playing here at the end, never lost
	for _, cb := range cbs {
		b := cb.b
		if b.beh == behavior(cb) && !b.lost.Load() && b.firstSnap.Load() != 0 {
			good = append(good, cb)
		}
	}
	rounds := newRounds(cbs, slack) // every visit here: the rounds as all its players saw them
	byRound := map[int][]*letter{}
	for _, l := range t.finish() {
		if !r.inWindow(l.sent) {
			continue
		}
		rc.sent = append(rc.sent, l.sent)
		if id := rounds.of(l.puzzle(), l.tick.Load()); id >= 0 {
			byRound[id] = append(byRound[id], l)
		}
	}
	for _, cb := range good {
		f := cb.b.firstSnap.Load()
		cb.mu.Lock()
		seen := map[int]uint32{} // round -> the last tick of it this bot applied
		for _, v := range cb.visits {
			if id := rounds.of(v.puzzle, v.first); id >= 0 {
				seen[id] = max(seen[id], v.last)
			}
		}
		cb.mu.Unlock()
		var want int64
		for id, last := range seen {
			for _, l := range byRound[id] {
				if l.sent > f && l.tick.Load() <= last {
					want++
					l.want++
				}
			}
		}
		rc.missing += max(0, want-cb.got.Load())
	}
	for _, ls := range byRound {
		for _, l := range ls {
			if l.got.Load() >= l.want {
				rc.prop = append(rc.prop, l.last.Load()-l.sent)
			} else {
				rc.incomplete++
			}
		}
	}
	rc.diverged, rc.grids = finalGrids(good)
	return rc
}

// rounds are the stretches of ticks in which each puzzle was on the board, as the bots saw
// them: the union of their visits, per puzzle. A puzzle comes back only after every other
// one has had a round, so two visits of one puzzle less than a second of ticks apart are of
// the same round.
type rounds struct {
	spans map[int][]span // by puzzle, in tick order
	ids   map[int]int    // first id of each puzzle's spans
}

type span struct{ first, last uint32 }

func newRounds(bots []*crosswordBot, slack uint32) *rounds {
	byPuzzle := map[int][]span{}
	for _, cb := range bots {
		cb.mu.Lock()
		for _, v := range cb.visits {
			byPuzzle[v.puzzle] = append(byPuzzle[v.puzzle], span{v.first, v.last})
		}
		cb.mu.Unlock()
	}
	rs := &rounds{spans: map[int][]span{}, ids: map[int]int{}}
	next := 0
	for p, ss := range byPuzzle {
		slices.SortFunc(ss, func(a, b span) int { return int(int64(a.first) - int64(b.first)) })
		merged := ss[:1]
		for _, s := range ss[1:] {
			m := &merged[len(merged)-1]
			if s.first <= m.last+slack {
				m.last = max(m.last, s.last)
				continue
			}
			merged = append(merged, s)
		}
		rs.spans[p] = merged
		rs.ids[p] = next
		next += len(merged)
	}
	return rs
}

// of returns the id of the round of puzzle that holds tick, -1 if none does.
func (rs *rounds) of(puzzle int, tick uint32) int {
	ss := rs.spans[puzzle]
	i, _ := slices.BinarySearchFunc(ss, tick, func(s span, t uint32) int {
		switch {
		case s.last < t:
			return -1
		case s.first > t:
			return 1
		}
		return 0
	})
	if i < len(ss) && ss[i].first <= tick && tick <= ss[i].last {
		return rs.ids[puzzle] + i
	}
	return -1
}

// finalGrids compares the bots' final grids: nothing is typed while the run settles, so
// every bot's latest grid of a puzzle must show the same letters, placed by the same
// players, as the latest grid of that puzzle any bot has. It returns how many differ, of how
// many grids compared.
func finalGrids(bots []*crosswordBot) (diverged, compared int) {
	latest := map[string]*grid{}
	var grids []*grid
	for _, cb := range bots {
		cb.mu.Lock()
		g := cb.gs.latest()
		cb.mu.Unlock()
		if g == nil || g.id == "" {
			continue
		}
		grids = append(grids, g)
		if ref := latest[g.id]; ref == nil || g.tick > ref.tick {
			latest[g.id] = g
		}
	}
	for _, g := range grids {
		if !sameLetters(g, latest[g.id]) {
			diverged++
		}
	}
	return diverged, len(grids)
}

// sameLetters reports whether two grids of a puzzle show the same letters by the same
// players (a grid holds squares up to the last one it has heard of).
func sameLetters(a, b *grid) bool {
	n := max(len(a.letters), len(b.letters))
	at := func(g *grid, i int) (byte, uint32) {
		if i < len(g.letters) {
			return g.letters[i], g.by[i]
		}
		return 0, 0
	}
	for i := range n {
		la, ba := at(a, i)
		lb, bb := at(b, i)
		if la != lb || (la != 0 && ba != bb) {
			return false
		}
	}
	return true
}

// isFull reports whether a snapshot is full: its baseline is 0.
func isFull(s snapMsg) bool {
	var r protocol.Reader
	_, baseline := s.header(&r)
	return baseline == 0 && r.Err() == nil
}
