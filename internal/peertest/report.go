package peertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// skips are the tests of this process skipped for a missing peer, and notes what the
// package's tests did that a developer should hear of (an npm install).
var (
	reportMu sync.Mutex
	skips    []string
	notes    []string
)

func noteSkip(t testing.TB, why string) {
	reportMu.Lock()
	skips = append(skips, t.Name()+": "+why)
	reportMu.Unlock()
}

// Notef records a line for the package's report (see Main).
func Notef(format string, args ...any) {
	reportMu.Lock()
	notes = append(notes, fmt.Sprintf(format, args...))
	reportMu.Unlock()
}

// Main runs a package's tests and then says, where a developer sees it, which were skipped
// for a missing peer and why: use it as `func TestMain(m *testing.M) { os.Exit(peertest.Main(m)) }`.
//
// `go test ./...` prints nothing but "ok" for a package that passed, skips and all, so a
// newcomer whose machine lacks Chromium would never learn that the browser tests did not
// run. Main writes its lines to the standard output of its parent, the go command, next to
// the package's "ok" line (on Linux, through /proc; elsewhere, and under `go test -json`,
// whose output must stay JSON, only to its own output, seen with -v).
func Main(m *testing.M) int {
	code := m.Run()
	reportMu.Lock()
	defer reportMu.Unlock()
	if len(skips) == 0 && len(notes) == 0 {
		return code
	}
	var b strings.Builder
	pkg := packageName()
	for _, n := range notes {
		fmt.Fprintf(&b, "rallypoint %s: %s\n", pkg, n)
	}
	if len(skips) > 0 {
		fmt.Fprintf(&b, "rallypoint %s: %d tests SKIPPED for a missing peer (CI=true fails them instead):\n", pkg, len(skips))
		for _, s := range skips {
			fmt.Fprintf(&b, "    %s\n", s)
		}
	}
	fmt.Print(b.String())
	if w := parentStdout(); w != nil {
		_, _ = w.WriteString(b.String())
		w.Close()
	}
	return code
}

// packageName is the test's package as ./path from the repository root (go test runs a
// package's tests in its source directory).
func packageName() string {
	dir, err := os.Getwd()
	if err != nil {
		return "?"
	}
	if root, ok := findRoot(dir); ok {
		if rel, err := filepath.Rel(root, dir); err == nil {
			return "./" + filepath.ToSlash(rel)
		}
	}
	return dir
}

// parentStdout opens the go command's standard output, when the parent is a go command
// run without -json; nil otherwise.
func parentStdout() *os.File {
	ppid := os.Getppid()
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(ppid) + "/cmdline")
	if err != nil {
		return nil
	}
	if !plainGoTest(strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")) {
		return nil
	}
	f, err := os.OpenFile("/proc/"+strconv.Itoa(ppid)+"/fd/1", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil
	}
	return f
}

// plainGoTest reports whether args are those of `go test` without -json.
func plainGoTest(args []string) bool {
	if len(args) < 2 || filepath.Base(args[0]) != "go" || args[1] != "test" {
		return false
	}
	for _, a := range args[2:] {
		if a == "-json" || a == "--json" || strings.HasPrefix(a, "-json=") || strings.HasPrefix(a, "--json=") {
			return false
		}
	}
	return true
}
