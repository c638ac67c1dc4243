package protocol

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLeaf: the protocol imports nothing of this module, so that everything may import it
// (the engine, gameclient, state for its scanner, the load generator) without a cycle and
// without dragging a server along. It asks the go command for the package's dependencies outside the
// standard library, tests excluded.
func TestLeaf(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found:", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const self = "github.com/rallypoint/rallypoint/protocol"
	found := false
	for dep := range strings.FieldsSeq(string(out)) {
		switch {
		case dep == self:
			found = true
		case strings.HasPrefix(dep, "github.com/rallypoint/rallypoint/"):
			t.Errorf("protocol depends on %s", dep)
		case !strings.HasPrefix(dep, "github.com/vmihailenco/"):
			t.Errorf("protocol depends on %s: only the standard library and msgpack are allowed", dep)
		}
	}
	if !found {
		t.Fatalf("go list did not list %s:\n%s", self, out)
	}
}
