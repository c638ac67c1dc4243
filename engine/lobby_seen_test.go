package engine

import (
	"fmt"
	"testing"
)

// TestMatchHandedOverTwiceIsSeatedOnce: firstTime says yes once per id, and forgets the
// oldest ids beyond its bound.
func TestMatchHandedOverTwiceIsSeatedOnce(t *testing.T) {
	l := &lobby{}
	if !l.firstTime("m1") || l.firstTime("m1") {
		t.Fatal("the same match id was new twice, or never")
	}
	for i := range maxSeenMatches {
		l.firstTime(fmt.Sprint("x", i))
	}
	if len(l.seenMatches) != maxSeenMatches || len(l.seenOrder) != maxSeenMatches {
		t.Fatalf("remembers %d ids (%d in order), want the bound %d", len(l.seenMatches), len(l.seenOrder), maxSeenMatches)
	}
	if !l.firstTime("m1") {
		t.Fatal("the oldest id was not forgotten past the bound")
	}
}
