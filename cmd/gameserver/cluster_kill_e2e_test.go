//go:build linux

package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/internal/peertest"
)

// childNode is a gameserver in a process of its own: this test binary run as the server
// (TestMain, childEnv), so that it can be killed as a crashed machine's would be.
type childNode struct {
	addr string
	cmd  *exec.Cmd
	out  *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeAddr is a loopback address with a port free now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startChild runs a gameserver process with args (after -addr) and waits for /healthz.
func startChild(t *testing.T, args ...string) *childNode {
	t.Helper()
	n := &childNode{addr: freeAddr(t), out: &lockedBuffer{}}
	n.cmd = exec.Command(os.Args[0], append([]string{"--", "-addr", n.addr}, args...)...)
	n.cmd.Env = append(os.Environ(), childEnv+"=1")
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		_ = n.cmd.Wait()
		if t.Failed() {
			t.Logf("node %s said:\n%s", n.addr, n.out)
		}
	})
	eventually(t, n.addr+" is up", func() bool {
		r, err := http.Get("http://" + n.addr + "/healthz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	})
	return n
}

func (n *childNode) url() string { return "ws://" + n.addr + "/play" }

func (n *childNode) metrics(t *testing.T) string {
	t.Helper()
	r, err := http.Get("http://" + n.addr + "/metrics")
	if err != nil {
		return ""
	}
	defer r.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(r.Body)
	return b.String()
}

type clusterKillResult struct {
	First      clusterSeat `json:"first"`
	FirstWalk  clusterWalk `json:"firstWalk"`
	States     []string    `json:"states"`
	BackMs     int         `json:"backMs"`
	Second     clusterSeat `json:"second"`
	SecondWalk clusterWalk `json:"secondWalk"`
}

// TestBrowserPlaysOnWhenItsNodeIsKilled runs two gameserver processes as a cluster: A, the
// entry (NATS inside it, and a player cap that keeps new rooms on B), and B. The shooter page,
// opened through A, plays in an arena on B; then B is killed (SIGKILL: no goodbye, no close
// frames). The page's SDK, its code unchanged, fails to reach B, falls back to A, learns the
// seat is gone with its node, and joins a new arena: the page plays on without a reload.
func TestBrowserPlaysOnWhenItsNodeIsKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	natsAddr := freeAddr(t)
	a := startChild(t, "-node-id", "a", "-nats-listen", natsAddr, "-nats-dir", t.TempDir(), "-node-max-players", "2")
	b := startChild(t, "-node-id", "b", "-nats", "nats://"+natsAddr)
	for _, n := range []*childNode{a, b} {
		eventually(t, n.addr+" sees two nodes", func() bool {
			return strings.Contains(n.metrics(t), "rallypoint_cluster_nodes 2")
		})
	}

	// Our own player opens an arena through A; placement puts it on B (A is capped).
	p := dialPlay(t, a.url())
	p.send(engine.KindJoin, 1, engine.JoinOptions{Game: "shooter", Create: true})
	m := p.next(engine.KindRedirect, engine.KindJoined, engine.KindResponse)
	if m[0] != engine.KindRedirect || m[2] != b.url() {
		t.Fatalf("a new arena asked through the capped entry node: %v, want a redirect to %s", m, b.url())
	}
	p.c.CloseNow()
	p = dialPlay(t, b.url())
	p.send(engine.KindJoin, 1, engine.JoinOptions{Reservation: m[3].(string)})
	if m = p.next(engine.KindJoined, engine.KindResponse); m[0] != engine.KindJoined {
		t.Fatalf("claiming the arena on b: %v", m)
	}
	arena := m[2].(string)
	go func() { // keep reading, so that the player stays connected
		for {
			if _, _, err := p.c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	eventually(t, "the entry node lists the arena", func() bool {
		r, err := http.Get("http://" + a.addr + "/rooms?game=shooter")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		return strings.Contains(body.String(), arena)
	})

	killed := make(chan struct{})
	run := runDriver(t, driverRun{
		timeout: clusterE2ETimeout, out: t.TempDir(), scenarios: "cluster-kill", url: "http://" + a.addr,
		during: func(ctx context.Context, d *peertest.Process) {
			defer close(killed)
			if _, err := d.AwaitEvent(ctx, "cluster-playing"); err != nil {
				return // the scenario's result says why
			}
			if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Errorf("kill b: %v", err)
			}
		},
	})
	<-killed
	var r clusterKillResult
	run.result(t, "cluster-kill", &r)
	diag := run.diagnostics("cluster-kill")
	t.Logf("first: %+v walked %+v; after the kill: states %v, playing again %d ms after the page noticed; second: %+v walked %+v",
		r.First, r.FirstWalk, r.States, r.BackMs, r.Second, r.SecondWalk)
	if r.First.NodeURL != b.url() || r.First.Room != arena || r.FirstWalk.Distance <= 1 {
		t.Fatalf("before the kill the page played in %s on %s (walked %+v), want the arena %s on %s\n%s", r.First.Room, r.First.NodeURL, r.FirstWalk, arena, b.url(), diag)
	}
	if r.Second.NodeURL != a.url() || r.Second.Room == arena || r.Second.Room == "" {
		t.Errorf("after the kill the page plays in %q on %s, want a new arena on %s\n%s", r.Second.Room, r.Second.NodeURL, a.url(), diag)
	}
	if r.SecondWalk.Distance <= 1 || r.SecondWalk.Frames <= 0 {
		t.Errorf("after the kill the player did not move (%+v)\n%s", r.SecondWalk, diag)
	}
	// The seat's node leaves the cluster within its 3 s heartbeat timeout; the SDK's two
	// attempts at the dead node and its fallback fit in the rest. The bound leaves room for
	// a busy machine.
	if r.BackMs <= 0 || r.BackMs > 15000 {
		t.Errorf("the page played again %d ms after it noticed the loss, want within 15 s\n%s", r.BackMs, diag)
	}
}
