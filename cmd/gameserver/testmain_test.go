package main

import (
	"os"
	"testing"

	"github.com/rallypoint/rallypoint/internal/peertest"
)

// childEnv, set in a test binary's environment, makes it the gameserver itself: the tests
// that need real processes (a node killed with SIGKILL) start this binary again as the
// server, with the gameserver's flags after "--", instead of building it.
const childEnv = "RP_GAMESERVER_CHILD"

// TestMain reports, after the run, the tests skipped for a missing interop peer and why
// (peertest.Main): `go test ./...` alone would show only "ok". As a child (childEnv), it
// runs main.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{os.Args[0]}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	os.Exit(peertest.Main(m))
}
