package shooter

import (
	"flag"
	"testing"

	"github.com/rallypoint/rallypoint/state"
	"github.com/rallypoint/rallypoint/state/tsgen"
)

var updateTypes = flag.Bool("update-types", false, "rewrite web/types.d.ts (go generate)")

// TestTypesFileIsGenerated keeps web/types.d.ts what the generator makes of the Go
// declarations: a change to Schema, Input or an event that is not regenerated fails here.
func TestTypesFileIsGenerated(t *testing.T) {
	if err := tsgen.CheckFile(TypeScript, "web/types.d.ts", *updateTypes); err != nil {
		t.Fatalf("%v (go generate ./examples/shooter)", err)
	}
}

// TestSnapshotFitsTheSchema: every entity the game replicates writes the fields its kind
// declares, players and rockets alike, so that the page's names are the right ones.
func TestSnapshotFitsTheSchema(t *testing.T) {
	a := newArena(t, Options{Bots: 3}) // fill to 3: ada and 2 bots
	ada := a.join(1, "ada", 200, 100)
	a.step(input(ada, Input{Fire: FireRocket}))
	var b state.Builder
	b.CheckSchema(Schema)
	b.Begin(1)
	a.g.Snapshot(nil, &b)
	kinds := map[uint8]int{}
	for _, e := range state.SnapshotEntities(b.Finish(), nil) {
		kinds[e.Kind]++
	}
	if kinds[KindPlayer] != 3 || kinds[KindRocket] != 1 {
		t.Fatalf("snapshot kinds %v, want 3 players (ada and 2 bots) and a rocket", kinds)
	}
	if m := b.Mismatches(); len(m) != 0 {
		t.Fatalf("the snapshot does not fit Schema: %v", m)
	}
}
