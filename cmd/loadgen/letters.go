package main

import (
	"sync"
	"sync/atomic"
	"time"
)

// letterWindow is how long after it was sent a letter is matched with what the bots see: a
// delivery later than that counts as missing. Puzzles repeat after several rounds, far
// longer than this (the shipped five, each followed by the 5 s pause, come back after 25 s
// at the very least), so a key never names letters of two rounds at once. With chaos the
// window is longer by the longest stall (stallMax): a letter sent as a bot began to stall
// reaches it only after the stall, and that is not a lost letter.
const letterWindow = 10 * time.Second

// letterTracker follows the crossword's correct letters from the bot that typed one to every
// bot whose mirror shows it. A letter is identified by its puzzle, its square and the player
// who placed it, which the square's entity carries: so a bot that sees a square filled knows
// whose send it was, and bots that typed the same square at the same time are told apart.
type letterTracker struct {
	mu      sync.RWMutex
	window  time.Duration      // letterWindow, or more with chaos
	pending map[uint64]*letter // by letterKey, while younger than window
	placed  []*letter          // seen by some bot, out of pending
	sent    atomic.Int64       // correct letters sent
}

// letter is one correct letter typed by a bot.
type letter struct {
	key  uint64
	sent int64         // mono time it was written to the socket
	tick atomic.Uint32 // the earliest snapshot tick a bot saw it in, 0 until one did: it was placed by then
	got  atomic.Int64  // bots that saw it and were receiving snapshots before it was sent
	last atomic.Int64  // mono time the last of those bots saw it
	want int64         // report: the bots that should have seen it
}

// puzzle is the index of the letter's puzzle.
func (l *letter) puzzle() int { return int(l.key >> 48) }

func newLetterTracker(window time.Duration) *letterTracker {
	return &letterTracker{window: window, pending: make(map[uint64]*letter)}
}

// letterKey packs a letter's identity: puzzle index, square index, player id.
func letterKey(puzzle, square int, player uint32) uint64 {
	return uint64(puzzle)<<48 | uint64(square)<<32 | uint64(player)
}

// send records that a bot is about to write a correct letter at time at. If the same bot
// typed the same square less than the window ago, the first send stands: the server
// placed that one, and the later one found the square filled.
func (t *letterTracker) send(key uint64, at int64) {
	t.sent.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := t.pending[key]; l != nil {
		if at-l.sent < int64(t.window) {
			return
		}
		t.retire(l)
	}
	t.pending[key] = &letter{key: key, sent: at}
}

// observe records that a bot whose first snapshot came at since saw the letter key at time
// at in the snapshot of tick, and returns the letter, or nil when it is not tracked (sent by
// nobody of ours, or too long ago) or when the bot was not yet receiving snapshots when it
// was sent: such a bot got the letter in its first, full snapshot, which says nothing about
// propagation.
func (t *letterTracker) observe(key uint64, at int64, tick uint32, since int64) *letter {
	t.mu.RLock()
	l := t.pending[key]
	t.mu.RUnlock()
	if l == nil || at < l.sent {
		return nil
	}
	for {
		old := l.tick.Load()
		if (old != 0 && old <= tick) || l.tick.CompareAndSwap(old, tick) {
			break
		}
	}
	if l.sent <= since {
		return nil
	}
	l.got.Add(1)
	for {
		last := l.last.Load()
		if at <= last || l.last.CompareAndSwap(last, at) {
			break
		}
	}
	return l
}

// sweep retires the letters older than the window.
func (t *letterTracker) sweep(now int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, l := range t.pending {
		if now-l.sent > int64(t.window) {
			delete(t.pending, k)
			t.retire(l)
		}
	}
}

// retire keeps a letter that some bot saw; the others were never placed (the square was
// filled first by someone else, or the puzzle had moved on) and are dropped.
func (t *letterTracker) retire(l *letter) {
	if l.tick.Load() != 0 {
		t.placed = append(t.placed, l)
	}
}

// finish retires every letter and returns those that were placed. No observe may follow.
func (t *letterTracker) finish() []*letter {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, l := range t.pending {
		delete(t.pending, k)
		t.retire(l)
	}
	return t.placed
}
