package gameclient_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoServerDependencies: a Go client links no server. It asks the go command for every
// package gameclient depends on (tests excluded) and fails on the engine, matchmaking, the
// embedded SDK or anything under cmd/ or examples/. The WebSocket layer is allowed: the
// client dials with it.
func TestNoServerDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found:", err)
	}
	const module = "github.com/rallypoint/rallypoint/"
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{"engine", "match", "client", "cmd/", "examples/", "web"}
	var ours []string
	for dep := range strings.FieldsSeq(string(out)) {
		rest, ok := strings.CutPrefix(dep, module)
		if !ok {
			continue
		}
		ours = append(ours, rest)
		for _, f := range forbidden {
			if rest == f || strings.HasPrefix(rest, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("gameclient depends on %s%s", module, rest)
			}
		}
	}
	if len(ours) < 3 { // protocol, state, net/ws at least: the listing must have worked
		t.Fatalf("go list found only %v", ours)
	}
}
