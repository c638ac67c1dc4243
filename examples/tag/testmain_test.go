package main

import (
	"os"
	"testing"

	"github.com/rallypoint/rallypoint/internal/peertest"
)

// TestMain reports, after the run, the tests skipped for a missing interop peer and why
// (peertest.Main): `go test ./...` alone would show only "ok".
func TestMain(m *testing.M) { os.Exit(peertest.Main(m)) }
