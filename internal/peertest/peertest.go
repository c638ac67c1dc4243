// Package peertest finds and runs the WebSocket implementations that Rallypoint did not
// write — Node's ws package, Python's websockets package and Chromium — so that tests
// anywhere in the repository can check our net/ws against them.
//
// The peers are scripts in testdata/peers at the repository root (see the comment at the
// top of each script for its flags and the JSON lines it prints). Each finder below skips
// the calling test with instructions when its peer is not installed, unless the
// environment variable CI is "true": in CI a missing peer is a failure, so that a broken
// install step cannot turn the interop tests into silent skips.
//
// Overrides: RP_NODE, RP_PYTHON and RP_CHROMIUM name the executables to use.
package peertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// modulePath identifies the repository's root go.mod.
const modulePath = "github.com/rallypoint/rallypoint"

// installHint tells a developer how to get every peer (the same steps as .ci/run).
const installHint = "install them with: apt-get install -y python3-websockets chromium nodejs npm && " +
	"(cd testdata/peers && npm ci)   — or run .ci/run"

// Missing skips t because a peer is not available, or fails it when CI=true.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("interop peer missing in CI: %s", msg)
	}
	noteSkip(t, msg)
	t.Skipf("interop peer missing: %s", msg)
}

// RepoRoot returns the directory holding the repository's root go.mod, found by walking
// up from the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("peertest: getwd: %v", err)
	}
	root, ok := findRoot(dir)
	if !ok {
		t.Fatalf("peertest: no go.mod for module %s above the working directory", modulePath)
	}
	return root
}

// findRoot walks up from dir to the directory holding the repository's root go.mod.
func findRoot(dir string) (string, bool) {
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && isRootModule(data) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func isRootModule(gomod []byte) bool {
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == modulePath {
			return true
		}
	}
	return false
}

// PeersDir returns testdata/peers at the repository root, where the peer scripts live.
func PeersDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "testdata", "peers")
}

// probe caches the outcome of looking for one peer, so that a package's tests look once.
type probe struct {
	once sync.Once
	path string
	info string // version, or why it is missing
}

var nodeProbe, pythonProbe, chromiumProbe probe

// Node returns the path of the node executable, after making sure that the npm packages in
// testdata/peers (ws, playwright-core) are installed (NPM installs them when npm is there).
func Node(t testing.TB) string {
	t.Helper()
	nodeProbe.once.Do(func() {
		candidates := []string{os.Getenv("RP_NODE"), "node", "nodejs"}
		for _, c := range candidates {
			if c == "" {
				continue
			}
			p, err := exec.LookPath(c)
			if err != nil {
				continue
			}
			out, err := quickOutput(p, "--version")
			if err != nil {
				nodeProbe.info = fmt.Sprintf("%s --version: %v", p, err)
				continue
			}
			nodeProbe.path, nodeProbe.info = p, strings.TrimSpace(out)
			return
		}
		if nodeProbe.info == "" {
			nodeProbe.info = "no node executable in PATH"
		}
	})
	if nodeProbe.path == "" {
		Missing(t, "Node.js: %s; %s", nodeProbe.info, installHint)
	}
	NPM(t, PeersDir(t), "ws", "playwright-core")
	return nodeProbe.path
}

// Python returns a python3 executable that can `import websockets`. The first python3 in
// PATH may be a separate install without Debian's python3-websockets, so /usr/bin/python3
// is tried as well.
func Python(t testing.TB) string {
	t.Helper()
	pythonProbe.once.Do(func() {
		var why []string
		seen := map[string]bool{}
		for _, c := range []string{os.Getenv("RP_PYTHON"), "python3", "/usr/bin/python3"} {
			if c == "" {
				continue
			}
			p, err := exec.LookPath(c)
			if err != nil || seen[p] {
				continue
			}
			seen[p] = true
			out, err := quickOutput(p, "-c", "import websockets; print(websockets.__version__)")
			if err != nil {
				why = append(why, fmt.Sprintf("%s cannot import websockets (%v)", p, err))
				continue
			}
			pythonProbe.path, pythonProbe.info = p, "websockets "+strings.TrimSpace(out)
			return
		}
		if len(why) == 0 {
			why = append(why, "no python3 in PATH")
		}
		pythonProbe.info = strings.Join(why, "; ")
	})
	if pythonProbe.path == "" {
		Missing(t, "Python websockets: %s; %s", pythonProbe.info, installHint)
	}
	return pythonProbe.path
}

// Chromium returns the path of a Chromium executable (Debian's package puts it at
// /usr/bin/chromium). Tests drive it through playwright-core, so they need Node too.
func Chromium(t testing.TB) string {
	t.Helper()
	chromiumProbe.once.Do(func() {
		for _, c := range []string{os.Getenv("RP_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
			if c == "" {
				continue
			}
			if p, err := exec.LookPath(c); err == nil {
				chromiumProbe.path = p
				return
			}
		}
		chromiumProbe.info = "no chromium executable (looked for $RP_CHROMIUM, /usr/bin/chromium, chromium, chromium-browser)"
	})
	if chromiumProbe.path == "" {
		Missing(t, "Chromium: %s; %s", chromiumProbe.info, installHint)
	}
	return chromiumProbe.path
}

// quickOutput runs a short probe command and returns its stdout.
func quickOutput(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if s := strings.TrimSpace(stderr.String()); s != "" {
			err = fmt.Errorf("%w: %s", err, lastLines(s, 3))
		}
		return "", err
	}
	return string(out), nil
}

// Line is one line a peer printed on stdout, decoded when it is a JSON object.
type Line struct {
	Raw    string
	Fields map[string]any // nil when Raw is not a JSON object
}

// Str returns the field as a string ("" when absent or not a string).
func (l Line) Str(key string) string {
	s, _ := l.Fields[key].(string)
	return s
}

// Int returns the field as an int (0 when absent or not a number).
func (l Line) Int(key string) int {
	f, _ := l.Fields[key].(float64)
	return int(f)
}

// Bool returns the field as a bool (false when absent or not a bool).
func (l Line) Bool(key string) bool {
	b, _ := l.Fields[key].(bool)
	return b
}

// Has reports whether the field is present.
func (l Line) Has(key string) bool {
	_, ok := l.Fields[key]
	return ok
}

// Decode unmarshals the whole line into v.
func (l Line) Decode(v any) error { return json.Unmarshal([]byte(l.Raw), v) }

func (l Line) String() string { return l.Raw }

// Process is a running peer. It is stopped when the test ends, or earlier when the
// context given to Start is done.
type Process struct {
	name   string
	cmd    *exec.Cmd
	cancel context.CancelFunc

	mu      sync.Mutex
	lines   []Line
	changed chan struct{} // closed and replaced whenever a line arrives or the process exits
	exited  bool
	waitErr error
	stderr  tailBuffer

	done chan struct{} // closed after cmd.Wait returned
}

// stopGrace is how long a peer gets to exit after SIGTERM before it is killed.
const stopGrace = 3 * time.Second

// Start runs `prog args...` in testdata/peers and collects its stdout lines. The process
// gets SIGTERM (then SIGKILL after a grace period) when ctx is done or the test ends;
// when the test failed, its stdout and stderr are logged.
func Start(ctx context.Context, t testing.TB, prog string, args ...string) *Process {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = PeersDir(t)
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "NO_COLOR=1")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	p := &Process{
		name:    filepath.Base(prog) + " " + strings.Join(args, " "),
		cmd:     cmd,
		cancel:  cancel,
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	cmd.Stderr = &p.stderr
	cmd.Stdout = &lineWriter{add: p.addLine}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("peertest: start %s: %v", p.name, err)
	}
	go func() {
		// Wait returns once the process exited and its stdout was copied, or WaitDelay
		// after the context was cancelled, whatever is left holding the pipe.
		err := cmd.Wait()
		cmd.Stdout.(*lineWriter).flush()
		p.mu.Lock()
		p.exited, p.waitErr = true, err
		p.notifyLocked()
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("peer %s\n--- stdout ---\n%s\n--- stderr (tail) ---\n%s", p.name, p.stdoutText(), p.Stderr())
		}
	})
	return p
}

func (p *Process) addLine(raw string) {
	l := Line{Raw: raw}
	var m map[string]any
	if json.Unmarshal([]byte(raw), &m) == nil {
		l.Fields = m
	}
	p.mu.Lock()
	p.lines = append(p.lines, l)
	p.notifyLocked()
	p.mu.Unlock()
}

func (p *Process) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Lines returns the lines printed so far.
func (p *Process) Lines() []Line {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Line(nil), p.lines...)
}

func (p *Process) stdoutText() string {
	var b strings.Builder
	for _, l := range p.Lines() {
		b.WriteString(l.Raw)
		b.WriteByte('\n')
	}
	return b.String()
}

// Stderr returns the last part of what the peer wrote on stderr.
func (p *Process) Stderr() string { return p.stderr.String() }

// ErrExited is returned by Await when the peer exited without printing a matching line.
var ErrExited = errors.New("peer exited")

// Await returns the first line (already printed or still to come) that match accepts.
func (p *Process) Await(ctx context.Context, match func(Line) bool) (Line, error) {
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if l.Fields != nil && match(l) {
				p.mu.Unlock()
				return l, nil
			}
		}
		if p.exited {
			err := p.waitErr
			p.mu.Unlock()
			return Line{}, fmt.Errorf("%w (%s, status %v) without the awaited line; stderr: %s",
				ErrExited, p.name, err, lastLines(p.Stderr(), 10))
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Line{}, fmt.Errorf("waiting for a line from %s: %w; stderr: %s",
				p.name, context.Cause(ctx), lastLines(p.Stderr(), 10))
		}
	}
}

// AwaitEvent returns the first line whose "event" field is event and whose other fields
// equal the given key/value pairs (strings compared with Str).
func (p *Process) AwaitEvent(ctx context.Context, event string, kv ...string) (Line, error) {
	return p.Await(ctx, func(l Line) bool {
		if l.Str("event") != event {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if l.Str(kv[i]) != kv[i+1] {
				return false
			}
		}
		return true
	})
}

// Wait waits for the peer to exit and returns every line it printed. A non-zero exit is
// an error (the lines are still returned); so is ctx ending first, which also stops it.
func (p *Process) Wait(ctx context.Context) ([]Line, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		p.Stop()
		return p.Lines(), fmt.Errorf("%s: %w; stderr: %s", p.name, context.Cause(ctx), lastLines(p.Stderr(), 10))
	}
	p.mu.Lock()
	err := p.waitErr
	p.mu.Unlock()
	if err != nil {
		return p.Lines(), fmt.Errorf("%s: %w; stderr: %s", p.name, err, lastLines(p.Stderr(), 10))
	}
	return p.Lines(), nil
}

// Stop sends SIGTERM (SIGKILL after a grace period) and waits for the peer to exit.
func (p *Process) Stop() {
	p.cancel()
	<-p.done // bounded: cmd.WaitDelay kills the process and closes its pipes
}

// Run starts a peer and waits for it to exit (see Start and Wait).
func Run(ctx context.Context, t testing.TB, prog string, args ...string) ([]Line, error) {
	t.Helper()
	return Start(ctx, t, prog, args...).Wait(ctx)
}

// lineWriter splits what a peer writes on stdout into lines.
type lineWriter struct {
	add     func(string)
	partial []byte
}

func (w *lineWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.partial = append(w.partial, b...)
			break
		}
		w.partial = append(w.partial, b[:i]...)
		w.add(strings.TrimSuffix(string(w.partial), "\r"))
		w.partial = w.partial[:0]
		b = b[i+1:]
	}
	return n, nil
}

func (w *lineWriter) flush() {
	if len(w.partial) > 0 {
		w.add(string(w.partial))
		w.partial = nil
	}
}

// tailBuffer keeps the last 64 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 64 << 10

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > tailMax {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
