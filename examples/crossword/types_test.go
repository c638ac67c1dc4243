package crossword

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/rallypoint/rallypoint/state/tsgen"
)

var updateTypes = flag.Bool("update-types", false, "rewrite web/types.d.ts (go generate)")

// TestTypesFileIsGenerated keeps web/types.d.ts what the generator makes of the Go
// declarations: a change to Schema, Input or an event that is not regenerated fails here.
func TestTypesFileIsGenerated(t *testing.T) {
	got, err := tsgen.Generate(TypeScript)
	if err != nil {
		t.Fatal(err)
	}
	const path = "web/types.d.ts"
	if *updateTypes {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what tsgen makes of the Go declarations: run `go generate ./examples/crossword`", path)
	}
}
