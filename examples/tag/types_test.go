package main

import (
	"flag"
	"testing"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/state"
	"github.com/rallypoint/rallypoint/state/tsgen"
)

var updateTypes = flag.Bool("update-types", false, "rewrite web/types.d.ts (go generate)")

// TestTypesFileIsGenerated keeps web/types.d.ts what the generator makes of Schema, Input
// and Tagged: a change that is not regenerated fails here.
func TestTypesFileIsGenerated(t *testing.T) {
	if err := tsgen.CheckFile(TypeScript, "web/types.d.ts", *updateTypes); err != nil {
		t.Fatalf("%v (go generate ./examples/tag)", err)
	}
}

// TestSnapshotFitsTheSchema: the runners and the room state write the fields Schema declares.
func TestSnapshotFitsTheSchema(t *testing.T) {
	g := New().(*Tag)
	g.runners[&engine.Player{ID: 1}] = &runner{id: 1, name: "Ada", it: true}
	g.runners[&engine.Player{ID: 2}] = &runner{id: 2, name: "Bob"}
	g.room.it = 1
	var b state.Builder
	b.CheckSchema(Schema)
	b.Begin(1)
	g.Snapshot(nil, &b)
	snap := b.Finish()
	if n := snap.Len(); n != 3 {
		t.Fatalf("%d entities, want 2 runners and the room state", n)
	}
	if m := b.Mismatches(); len(m) > 0 {
		t.Fatalf("the snapshot does not fit the schema: %v", m)
	}
}
