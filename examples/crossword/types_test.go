package crossword

import (
	"flag"
	"testing"

	"github.com/rallypoint/rallypoint/state/tsgen"
)

var updateTypes = flag.Bool("update-types", false, "rewrite web/types.d.ts (go generate)")

// TestTypesFileIsGenerated keeps web/types.d.ts what the generator makes of the Go
// declarations: a change to Schema, Input or an event that is not regenerated fails here.
func TestTypesFileIsGenerated(t *testing.T) {
	if err := tsgen.CheckFile(TypeScript, "web/types.d.ts", *updateTypes); err != nil {
		t.Fatalf("%v (go generate ./examples/crossword)", err)
	}
}
