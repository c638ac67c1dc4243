package peertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// npmInstalls remembers, per directory, how `npm ci` went in this process.
var npmInstalls sync.Map // dir -> *npmInstall

type npmInstall struct {
	once sync.Once
	err  error
}

// NPM makes sure the npm packages pkgs are installed in dir, which holds a package.json and
// its package-lock.json. When one is missing and npm is on PATH, it runs `npm ci` there, the
// same step as .ci/run, so that a newcomer's `go test ./...` runs the tests that need them
// instead of skipping them. `go test ./...` runs packages in parallel processes, so the
// install holds an exclusive lock (flock on dir/.npm-ci.lock) and looks again once it has
// it: one process installs, the others wait and find the packages there. When npm is
// missing or the install fails (no network), the test is skipped (failed under CI=true) with
// the reason.
func NPM(t testing.TB, dir string, pkgs ...string) {
	t.Helper()
	if missingNPM(dir, pkgs) == "" {
		return
	}
	v, _ := npmInstalls.LoadOrStore(dir, new(npmInstall))
	in := v.(*npmInstall)
	in.once.Do(func() { in.err = npmCI(dir, pkgs) })
	if in.err != nil {
		Missing(t, "%v; %s", in.err, installHint)
		return
	}
	if pkg := missingNPM(dir, pkgs); pkg != "" {
		Missing(t, "npm package %s is still missing in %s after `npm ci`", pkg, dir)
	}
}

// missingNPM returns the first of pkgs not installed in dir's node_modules, or "".
func missingNPM(dir string, pkgs []string) string {
	for _, pkg := range pkgs {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			return pkg
		}
	}
	return ""
}

// npmCI runs `npm ci` in dir under the directory's install lock.
func npmCI(dir string, pkgs []string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm packages %s are not installed in %s and there is no npm to install them", strings.Join(pkgs, ", "), dir)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".npm-ci.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("npm ci in %s: %w", dir, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("npm ci in %s: lock: %w", dir, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if missingNPM(dir, pkgs) == "" {
		return nil // another test process installed them while we waited
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci in %s failed (%v): %s", dir, err, lastLines(strings.TrimSpace(string(out)), 5))
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	Notef("installed the npm packages of %s with `npm ci` (%v)", dir, time.Since(start).Round(time.Second))
	return nil
}
