package main

import (
	"testing"
	"time"
)

func TestLetterTracker(t *testing.T) {
	ms := int64(time.Millisecond)
	tr := newLetterTracker(letterWindow)
	a, b, c := letterKey(0, 4, 7), letterKey(0, 4, 8), letterKey(1, 4, 7)
	tr.send(a, 100*ms)
	tr.send(a, 150*ms) // typed again before seeing it: the first send stands
	tr.send(b, 120*ms) // another player typed the same square: never placed
	tr.send(c, 130*ms)

	if l := tr.observe(a, 90*ms, 9, 0); l != nil {
		t.Error("a letter was seen before it was sent")
	}
	if l := tr.observe(a, 200*ms, 12, 0); l == nil || l.sent != 100*ms {
		t.Fatalf("observe = %+v, want the letter sent at 100 ms", l)
	}
	tr.observe(a, 260*ms, 11, 50*ms)
	if l := tr.observe(a, 300*ms, 10, 100*ms); l != nil {
		t.Error("a bot whose first snapshot came after the send was counted")
	}
	if l := tr.observe(letterKey(2, 1, 1), 300*ms, 10, 0); l != nil {
		t.Error("an untracked letter was counted")
	}
	tr.observe(c, 140*ms, 5, 0)

	tr.sweep(125*ms + int64(letterWindow)) // a and b are too old now; c is not
	if got := len(tr.placed); got != 1 || tr.placed[0].got.Load() != 2 || tr.placed[0].last.Load() != 260*ms {
		t.Fatalf("after the sweep: %d placed, want a seen by 2 bots, last at 260 ms", got)
	}
	// Every bot that saw it bounds the tick it was placed by, even one that joined later.
	if tick := tr.placed[0].tick.Load(); tick != 10 {
		t.Errorf("a was placed by tick %d, want 10", tick)
	}
	if l := tr.observe(a, 300*ms, 10, 0); l != nil {
		t.Error("a retired letter was still matched")
	}
	tr.send(a, 200*ms+int64(letterWindow)) // a later round of the same puzzle: a new letter
	tr.observe(a, 210*ms+int64(letterWindow), 140, 0)
	placed := tr.finish()
	if len(placed) != 3 || tr.sent.Load() != 5 {
		t.Errorf("finish: %d placed, %d sent; want 3 placed (a twice, c), 5 sent", len(placed), tr.sent.Load())
	}
}
