package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/cluster"
	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/examples/shooter"
	"github.com/rallypoint/rallypoint/net/ws"
)

// killListener is a node's listener that can die as a process does under SIGKILL: no new
// connection is accepted, and every one it accepted is reset (no close frame, no FIN).
type killListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

func (l *killListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead {
		c.Close()
		return nil, net.ErrClosed
	}
	l.conns = append(l.conns, c)
	return c, nil
}

func (l *killListener) kill() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dead = true
	l.Listener.Close()
	for _, c := range l.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
	}
}

// rjNode is one gameserver node of an in-process cluster: its engine with both games, its
// own HTTP server on loopback and NATS connection.
type rjNode struct {
	e    *engine.Engine
	node *cluster.Node
	srv  *httptest.Server
	ln   *killListener
	base string // ws://HOST:PORT
	once sync.Once
}

// kill makes the node die without a goodbye: its sockets are reset, its heartbeats stop.
// The others drop it from the directory within the heartbeat timeout (1 s here).
func (n *rjNode) kill() {
	n.ln.kill()
	n.node.Conn().Close()
}

func (n *rjNode) stop() {
	n.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.e.Shutdown(ctx)
		_ = n.node.Close(ctx)
		n.srv.Close()
	})
}

// startRejoinCluster runs an embedded NATS server and n nodes joined to it, as the
// gameserver does with -nats-listen and -nats (engine/cluster_test.go, in short).
func startRejoinCluster(t *testing.T, n int) []*rjNode {
	t.Helper()
	natsURL, stopNATS, err := cluster.Embedded(cluster.EmbeddedOptions{Addr: "127.0.0.1:0", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopNATS)
	nodes := make([]*rjNode, n)
	for i := range nodes {
		e := engine.New(engine.Options{Logger: slog.New(slog.DiscardHandler)})
		if err := crossword.RegisterOptions(e, crossword.Options{Pause: 5}); err != nil {
			t.Fatal(err)
		}
		if err := shooter.Register(e); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(e)
		ln := &killListener{Listener: srv.Listener}
		srv.Listener = ln
		srv.Start()
		base := "ws://" + ln.Addr().String()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		node, err := cluster.Connect(ctx, natsURL, cluster.Options{
			ID: fmt.Sprintf("node-%c", 'a'+i), URL: base + "/play", Load: e.Load,
			Interval: 100 * time.Millisecond, Timeout: time.Second,
			Logger: slog.New(slog.DiscardHandler),
		})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if err := e.EnableCluster(engine.ClusterOptions{Node: node}); err != nil {
			t.Fatal(err)
		}
		nodes[i] = &rjNode{e: e, node: node, srv: srv, ln: ln, base: base}
		t.Cleanup(nodes[i].stop)
	}
	waitFor(t, "every node sees the others", func() bool {
		for _, nd := range nodes {
			if len(nd.node.Nodes()) != n {
				return false
			}
		}
		return true
	})
	return nodes
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// roomOn makes a room of game on node n and waits until entry lists it, so that quick play
// through entry fills it: the bots then play on n.
func roomOn(t *testing.T, n, entry *rjNode, game string) {
	t.Helper()
	info, err := n.e.CreateRoom(game, engine.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the entry lists the room", func() bool {
		_, ok := entry.node.Room(info.ID)
		return ok
	})
}

// runRejoin runs the load generator with -rejoin through entry and calls hit once the
// bots are playing on victim (its players gauge at the count, then a second of play).
func runRejoin(t *testing.T, cfg config, victim *rjNode, hit func()) (*result, string) {
	t.Helper()
	cfg.Rejoin = true
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for victim.e.Metrics().Players.Load() < int64(cfg.Players) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Second)
		hit()
	}()
	var out, progress bytes.Buffer
	res, err := run(context.Background(), cfg, &out, &progress)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s\nreport:\n%s", progress.String(), out.String())
	return res, out.String()
}

// checkRejoined checks what every rejoin test wants: every bot affected, back (none lost)
// in the expected way, no error, and every bot counted on a live node at the end.
func checkRejoined(t *testing.T, res *result, players int, way string, live *rjNode) {
	t.Helper()
	j := res.rejoin
	if j == nil {
		t.Fatal("no rejoin summary")
	}
	got := map[string]int64{"resumed": j.resumed, "rejoined": j.rejoined, "moved": j.moved}
	if j.affected != int64(players) || got[way] != int64(players) || j.lost != 0 {
		t.Errorf("affected %d, resumed %d, rejoined %d, moved %d, lost %d; want all %d %s, none lost",
			j.affected, j.resumed, j.rejoined, j.moved, j.lost, players, way)
	}
	if j.n != j.affected || j.max <= 0 || j.max > float64(defaults.RejoinWithin.Milliseconds()) {
		t.Errorf("%d back times up to %.2f ms for %d affected", j.n, j.max, j.affected)
	}
	if res.errors() != 0 {
		t.Errorf("%d errors: %v", res.errors(), res.firstErrors)
	}
	host := strings.TrimPrefix(live.base, "ws://")
	if len(res.perNode) != 1 || res.perNode[host] != players {
		t.Errorf("players per node %v at the end, want all %d on %s", res.perNode, players, host)
	}
	line := res.summary()
	for _, f := range []string{"affected=", "resumed=", "rejoined=", "moved=", "lost=0", "back_p50_ms=", "back_p99_ms=", "back_max_ms=", fmt.Sprintf("nodes=%s=%d", host, players)} {
		if !strings.Contains(line, " "+f) {
			t.Errorf("the summary line has no %q: %s", f, line)
		}
	}
}

// TestRejoinAfterANodeIsKilled: crossword bots enter through node A and play in a room on
// node B; B dies (sockets reset, heartbeats stop). Every bot resumes at B twice in vain,
// asks A, is told its seat is gone, and joins afresh through A: all rejoined, none lost,
// no error (the crossword's checks judge the new room on its own), all playing on A.
func TestRejoinAfterANodeIsKilled(t *testing.T) {
	nodes := startRejoinCluster(t, 2)
	a, b := nodes[0], nodes[1]
	roomOn(t, b, a, crossword.Name)
	cfg := testConfig(a.base, "crossword")
	cfg.Players = 12
	cfg.Duration = 5 * time.Second
	cfg.TypeEvery = 300 * time.Millisecond
	res, _ := runRejoin(t, cfg, b, b.kill)
	checkRejoined(t, res, cfg.Players, "rejoined", a)
	if res.letters == nil || res.letters.placed == 0 {
		t.Errorf("no letters placed: %+v", res.letters)
	}
}

// TestRejoinFollowsADrain: shooter bots play in a room on node B; B drains (a deploy):
// each gets 0x1C with a seat on A and takes it at once. All moved, none lost, no error.
func TestRejoinFollowsADrain(t *testing.T) {
	nodes := startRejoinCluster(t, 2)
	a, b := nodes[0], nodes[1]
	roomOn(t, b, a, shooter.Name)
	cfg := testConfig(a.base, "shooter")
	cfg.Players = 8
	cfg.Duration = 4 * time.Second
	res, _ := runRejoin(t, cfg, b, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if n := b.e.Drain(ctx); n != 8 {
			t.Errorf("the drain moved %d players, want 8", n)
		}
	})
	checkRejoined(t, res, cfg.Players, "moved", a)
	if res.fight == nil || res.fight.shots == 0 {
		t.Errorf("no shots: %+v", res.fight)
	}
}

// TestRejoinSummaryFields: the summary line's rejoin fields, after errors (a lost bot is
// one) and before the nodes, which are always there with -rejoin.
func TestRejoinSummaryFields(t *testing.T) {
	res := result{players: 10, duration: 20 * time.Second, perNode: map[string]int{"127.0.0.1:9001": 6, "127.0.0.1:9002": 3},
		rejoin: &rejoinSummary{affected: 7, resumed: 1, rejoined: 4, moved: 1, lost: 1, n: 6, p50: 512.25, p99: 2048.5, max: 2100}}
	want := "players=10 duration_s=20 rtt_p50_ms=0.00 rtt_p99_ms=0.00 snapshots_per_s=0.0 snapshots_per_player_min=0.00 bytes_in_per_player_s=0 errors=1" +
		" affected=7 resumed=1 rejoined=4 moved=1 lost=1 back_p50_ms=512.25 back_p99_ms=2048.50 back_max_ms=2100.00" +
		" redirects=0 nodes=127.0.0.1:9001=6,127.0.0.1:9002=3"
	if got := res.summary(); got != want {
		t.Errorf("\ngot  %s\nwant %s", got, want)
	}
	res.perNode = map[string]int{"127.0.0.1:9001": 9}
	if got := res.summary(); !strings.HasSuffix(got, " redirects=0 nodes=127.0.0.1:9001=9") {
		t.Errorf("one node, no redirect, -rejoin: %q does not end with the nodes", got)
	}
	res.rejoin = nil
	if got := res.summary(); !summaryRE.MatchString(got) {
		t.Errorf("without -rejoin: %q is not the plain summary line", got)
	}
}

// TestNodesCountTheLatestJoin: the bots are counted by the node of their latest join, up
// or between a loss and its rejoin; lost ones are not (the end of run: none is up).
func TestNodesCountTheLatestJoin(t *testing.T) {
	mk := func(u string, lost bool) *bot {
		b := &bot{}
		b.node.Store(&u)
		b.lost.Store(lost)
		return b
	}
	r := &runner{bots: []*bot{
		mk("ws://127.0.0.1:1/play", false), mk("ws://127.0.0.1:2/play", false),
		mk("ws://127.0.0.1:2/play", true), {}, // lost; never joined
	}}
	r.started.Store(4)
	_, perNode := r.nodes()
	if len(perNode) != 2 || perNode["127.0.0.1:1"] != 1 || perNode["127.0.0.1:2"] != 1 {
		t.Errorf("players per node %v, want one on each of :1 and :2", perNode)
	}
}

func TestRejoinFlagsAreChecked(t *testing.T) {
	tests := []struct {
		name   string
		within time.Duration
		chaos  time.Duration
		ok     bool
	}{
		{"default", 30 * time.Second, 0, true},
		{"no time to come back", 0, 0, false},
		{"with chaos", 30 * time.Second, time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaults
			cfg.Rejoin, cfg.RejoinWithin, cfg.ChaosEvery = true, tt.within, tt.chaos
			if err := cfg.normalize(); (err == nil) != tt.ok {
				t.Errorf("error %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// TestUnplannedEnds: which ends of a connection a rejoining bot comes back from, and
// which stay errors (the server's judgment of the bot).
func TestUnplannedEnds(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"EOF", io.EOF, true},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{"going away (drained)", &ws.CloseError{Code: ws.StatusGoingAway}, true},
		{"abnormal (no close frame)", &ws.CloseError{Code: ws.StatusAbnormalClosure}, true},
		{"service restart", &ws.CloseError{Code: ws.StatusServiceRestart}, true},
		{"wrapped", fmt.Errorf("read: %w", &ws.CloseError{Code: ws.StatusGoingAway}), true},
		{"policy (a flood)", &ws.CloseError{Code: ws.StatusPolicyViolation}, false},
		{"internal error (a failed room)", &ws.CloseError{Code: ws.StatusInternalError}, false},
		{"protocol error", &ws.CloseError{Code: ws.StatusProtocolError}, false},
		{"normal", &ws.CloseError{Code: ws.StatusNormalClosure}, false},
	}
	for _, tt := range tests {
		if got := unplanned(tt.err); got != tt.want {
			t.Errorf("%s: unplanned %v, want %v", tt.name, got, tt.want)
		}
	}
}
