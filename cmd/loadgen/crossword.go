package main

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rallypoint/rallypoint/examples/crossword"
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
	letters *letterTracker

	wrongSent atomic.Int64 // wrong letters typed
	wrongGot  atomic.Int64 // "wrong" events received
	untracked atomic.Int64 // letters typed into puzzles the bots do not know

	mu      sync.Mutex
	unknown map[string]bool // puzzle ids seen that are not in crossword.Builtin
}

func newCrosswordDriver(r *runner) (*crosswordDriver, error) {
	ps, err := crossword.Builtin()
	if err != nil {
		return nil, err
	}
	d := &crosswordDriver{r: r, puzzles: map[string]int{}, list: ps, letters: newLetterTracker(), unknown: map[string]bool{}}
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

func (d *crosswordDriver) sweep(now int64) { d.letters.sweep(now) }

func (d *crosswordDriver) newBehavior(b *bot) behavior {
	return &crosswordBot{b: b, d: d, gs: grids{puzzles: d.puzzles}}
}

// crosswordBot is one player's view of the grid and its typing.
type crosswordBot struct {
	b *bot
	d *crosswordDriver

	mu      sync.Mutex // the grids, shared by the read loop and step
	gs      grids
	nextAct int64 // step's own

	got    atomic.Int64 // tracked letters of the measured phase seen
	solved atomic.Int64 // "solved" events
}

func (cb *crosswordBot) inputAck(seq, tick uint32) {}

// snapshot builds the new grid and records the letters it shows for the first time.
func (cb *crosswordBot) snapshot(body []byte, now int64) error {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	prev := cb.gs.latest()
	g, err := cb.gs.apply(body, cb.b.mirror)
	if err != nil {
		return err
	}
	if g.puzzle < 0 && g.id != "" && (prev == nil || g.id != prev.id) {
		cb.d.mu.Lock()
		cb.d.unknown[g.id] = true
		cb.d.mu.Unlock()
	}
	if prev == nil || g.puzzle < 0 {
		return nil // the first snapshot shows what was there before this player came
	}
	same := g.id == prev.id
	since := cb.b.firstSnap.Load()
	for sq, c := range g.letters {
		if c == 0 || (same && sq < len(prev.letters) && prev.letters[sq] != 0) {
			continue
		}
		l := cb.d.letters.observe(letterKey(g.puzzle, sq, g.by[sq]), now, since)
		if l != nil && cb.b.r.inWindow(l.sent) {
			cb.got.Add(1)
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
		p = appendMap(p, 4)
		p = appendStr(appendStr(p, "kind"), "letter")
		p = appendInt(appendStr(p, "row"), int64(row))
		p = appendInt(appendStr(p, "col"), int64(col))
		p = append(appendStr(p, "letter"), 0xa1, letter)
		switch {
		case key != 0:
			cb.d.letters.send(key, b.r.mono())
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
	p = appendMap(p, 4)
	p = appendStr(appendStr(p, "kind"), "cursor")
	p = appendInt(appendStr(p, "row"), int64(row))
	p = appendInt(appendStr(p, "col"), int64(col))
	p = appendStr(appendStr(p, "dir"), dir)
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
// every letter sent after its first snapshot; missing deliveries at bots whose connection
// stayed up are errors.
func (d *crosswordDriver) report(res *result) {
	r := d.r
	var good []*bot // seated and never lost
	for _, b := range r.startedBots() {
		if b.beh != nil && !b.lost.Load() && b.firstSnap.Load() != 0 {
			good = append(good, b)
		}
	}
	firsts := make([]int64, len(good))
	for i, b := range good {
		firsts[i] = b.firstSnap.Load()
	}
	slices.Sort(firsts)

	var sent []int64 // send times of the placed letters of the measured phase
	var prop []int64 // ns, letters every good bot saw
	incomplete := 0
	for _, l := range d.letters.finish() {
		if !r.inWindow(l.sent) {
			continue
		}
		sent = append(sent, l.sent)
		want := int64(sort.Search(len(firsts), func(i int) bool { return firsts[i] >= l.sent }))
		if l.got.Load() >= want {
			prop = append(prop, l.last.Load()-l.sent)
		} else {
			incomplete++
		}
	}
	slices.Sort(sent)
	var missing int64
	for _, b := range good {
		f := b.firstSnap.Load()
		want := int64(len(sent) - sort.Search(len(sent), func(i int) bool { return sent[i] > f }))
		missing += max(0, want-b.beh.(*crosswordBot).got.Load())
	}
	res.gameErrors += missing

	var solved int64
	for _, b := range r.startedBots() {
		if cb, ok := b.beh.(*crosswordBot); ok {
			solved = max(solved, cb.solved.Load())
		}
	}
	prop = sortedCopy(prop)
	ms := func(q float64) float64 { return float64(quantileSorted(prop, q)) / 1e6 }
	res.letters = &letterStats{placed: len(sent), complete: len(prop), missing: missing,
		p50: ms(0.50), p90: ms(0.90), p99: ms(0.99), max: ms(1)}
	res.rows = append(res.rows,
		row{"letters placed", fmt.Sprintf("%d in the measured phase (%d correct sent in all, %d wrong)",
			len(sent), d.letters.sent.Load(), d.wrongSent.Load())},
		row{"letters to every player", fmt.Sprintf("%d of %d; %d deliveries missing", len(prop), len(sent), missing)},
		row{"letter propagation ms", fmt.Sprintf("p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (send to the last player's mirror)",
			res.letters.p50, res.letters.p90, res.letters.p99, res.letters.max)},
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
