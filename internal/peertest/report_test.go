package peertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlainGoTest(t *testing.T) {
	for _, tc := range []struct {
		args string
		want bool
	}{
		{"go test ./...", true},
		{"/usr/local/go/bin/go test -race -count=1 ./...", true},
		{"go test -json ./...", false},
		{"go test -json=true ./...", false},
		{"go vet ./...", false},
		{"gotestsum -- ./...", false},
		{"bash", false},
		{"/tmp/go-build1/b001/ws.test -test.v", false},
	} {
		if got := plainGoTest(strings.Fields(tc.args)); got != tc.want {
			t.Errorf("plainGoTest(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestPackageNameIsRelativeToTheRepository(t *testing.T) {
	if got := packageName(); got != "./internal/peertest" {
		t.Fatalf("packageName() = %q, want ./internal/peertest", got)
	}
}

func TestNPMLeavesInstalledPackagesAlone(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "node_modules", "left-pad"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "node_modules", "left-pad", "package.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	NPM(t, dir, "left-pad") // no package.json in dir: npm ci would fail, so it must not run
	if _, err := os.Stat(filepath.Join(dir, ".npm-ci.lock")); err == nil {
		t.Fatal("NPM took the install lock for packages that were there")
	}
	if got := missingNPM(dir, []string{"left-pad", "right-pad"}); got != "right-pad" {
		t.Fatalf("missingNPM = %q, want right-pad", got)
	}
}
