package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/net/ws"
)

// gsNode is a gameserver process's run, in this test process.
type gsNode struct {
	addr   string // host:port
	cancel context.CancelFunc
	errc   chan error
	once   sync.Once
}

func startNode(t *testing.T, co clusterOptions) *gsNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &gsNode{addr: ln.Addr().String(), cancel: cancel, errc: make(chan error, 1)}
	go func() { n.errc <- run(ctx, ln, testLog(co.nodeID), options{cluster: co}) }()
	t.Cleanup(func() { n.stop(t) })
	return n
}

// stop is SIGTERM: drain, shut down, leave the cluster.
func (n *gsNode) stop(t *testing.T) {
	n.once.Do(func() {
		n.cancel()
		select {
		case err := <-n.errc:
			if err != nil {
				t.Errorf("node %s stopped with %v", n.addr, err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("node %s did not stop", n.addr)
		}
	})
}

func (n *gsNode) url() string { return "ws://" + n.addr + "/play" }

func (n *gsNode) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + n.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// playConn is a raw protocol connection.
type playConn struct {
	t *testing.T
	c *ws.Conn
}

func dialPlay(t *testing.T, url string) *playConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := ws.Dial(ctx, url, &ws.DialOptions{Subprotocols: []string{engine.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &playConn{t: t, c: c}
}

func (p *playConn) send(v ...any) {
	b, err := engine.Marshal(v)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.c.WriteMessage(ws.MessageBinary, b); err != nil {
		p.t.Fatal(err)
	}
}

// next reads messages until one of kind.
func (p *playConn) next(kinds ...int) []any {
	p.t.Helper()
	for {
		_ = p.c.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := p.c.ReadMessage()
		if err != nil {
			p.t.Fatal(err)
		}
		var m []any
		if err := msgpack.Unmarshal(b, &m); err != nil {
			p.t.Fatal(err)
		}
		k := asInt(m[0])
		for _, want := range kinds {
			if k == want {
				m[0] = k
				return m
			}
		}
	}
}

// TestClusterOfThreeGameservers runs three gameservers as a cluster, the first with the
// embedded NATS (-nats-listen), and checks what the flags promise: every node sees three,
// a room made through one node is listed by another with its node and derived public URL,
// a join is redirected to it, and stopping the room's node (SIGTERM) offers its player a
// room on another node before the room ends with 1001.
func TestClusterOfThreeGameservers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsAddr := ln.Addr().String()
	ln.Close()
	a := startNode(t, clusterOptions{natsListen: natsAddr, natsDir: t.TempDir(), nodeID: "a", drain: 300 * time.Millisecond})
	eventually(t, "a is up", func() bool {
		_, err := http.Get("http://" + a.addr + "/healthz")
		return err == nil
	})
	b := startNode(t, clusterOptions{natsURL: "nats://" + natsAddr, nodeID: "b", drain: 300 * time.Millisecond})
	c := startNode(t, clusterOptions{natsURL: "nats://" + natsAddr, nodeID: "c", drain: 300 * time.Millisecond})
	byURL := map[string]*gsNode{a.url(): a, b.url(): b, c.url(): c}
	for _, n := range []*gsNode{a, b, c} {
		eventually(t, n.addr+" sees three nodes", func() bool {
			return strings.Contains(n.get(t, "/metrics"), "rallypoint_cluster_nodes 3")
		})
	}

	// A new room through A goes where placement says, and B lists it.
	p := dialPlay(t, a.url())
	p.send(engine.KindJoin, 1, engine.JoinOptions{Game: "shooter", Create: true})
	m := p.next(engine.KindJoined, engine.KindRedirect, engine.KindResponse)
	host := a
	if m[0] == engine.KindRedirect {
		host = byURL[m[2].(string)]
		if host == nil {
			t.Fatalf("redirected to %v, no node's derived public URL", m[2])
		}
		p.c.CloseNow()
		p = dialPlay(t, host.url())
		p.send(engine.KindJoin, 1, engine.JoinOptions{Reservation: m[3].(string)})
		m = p.next(engine.KindJoined, engine.KindResponse)
	}
	if m[0] != engine.KindJoined {
		t.Fatalf("create through a: %v", m)
	}
	room := m[2].(string)
	eventually(t, "b lists the room with its node", func() bool {
		var body struct {
			Rooms []struct{ ID, Node, URL string }
		}
		_ = json.Unmarshal([]byte(b.get(t, "/rooms?game=shooter")), &body)
		return len(body.Rooms) == 1 && body.Rooms[0].ID == room && body.Rooms[0].URL == host.url()
	})

	// Matchmaking across the cluster: players queued through B and C are matched together
	// by the one elected matcher, into a room of the crossword (never backfilled). They
	// join before any node stops: the matched room may be on the node stopped below.
	var queued []*playConn
	for _, n := range []*gsNode{b, c} {
		q := dialPlay(t, n.url())
		defer q.c.CloseNow() // the connections are closed below; this is for a failure
		q.send(engine.KindMatch, 1, engine.MatchOptions{Game: "crossword"})
		queued = append(queued, q)
	}
	eventually(t, "exactly one node holds the matcher lease", func() bool {
		held := 0
		for _, n := range []*gsNode{a, b, c} {
			for _, line := range strings.Split(n.get(t, "/metrics"), "\n") {
				if strings.HasPrefix(line, "rallypoint_cluster_matcher_leader{") && strings.HasSuffix(line, " 1") {
					held++
				}
			}
		}
		return held == 1
	})
	var matched []string
	joined := append([]*playConn(nil), queued...)
	for i, q := range queued {
		m := q.next(engine.KindMatched)
		url, _ := m[5].(string)
		r := q // no url: the room is on this node, joined on the same connection
		if url != "" {
			r = dialPlay(t, url)
			defer r.c.CloseNow()
			joined = append(joined, r)
		}
		r.send(engine.KindJoin, 2, engine.JoinOptions{Reservation: m[3].(string)})
		if j := r.next(engine.KindJoined, engine.KindResponse); j[0] != engine.KindJoined || j[2] != m[2] {
			t.Fatalf("joining the matched room %v (url %q) queued through node %d: %v", m[2], url, i, j)
		}
		matched = append(matched, m[2].(string))
	}
	if matched[0] != matched[1] {
		t.Fatalf("players queued on b and c were matched into different rooms: %v", matched)
	}
	for _, q := range joined { // as players who leave: a node's shutdown waits for its players
		q.c.CloseNow()
	}

	// SIGTERM to the room's node: its player is offered a seat elsewhere, then the room ends.
	stopped := make(chan struct{})
	go func() { host.stop(t); close(stopped) }()
	defer func() { <-stopped }()
	moved := p.next(engine.KindMoved)
	if moved[1] == host.url() || byURL[moved[1].(string)] == nil {
		t.Fatalf("moved to %v, want another node", moved[1])
	}
	left := p.next(engine.KindLeft)
	if engine.Code(asInt(left[1])) != engine.CodeShutdown {
		t.Fatalf("the drained room ended with %v", left)
	}
	p.c.CloseNow() // as a client that moves on does (the node's shutdown waits for it)
	q := dialPlay(t, moved[1].(string))
	q.send(engine.KindJoin, 1, engine.JoinOptions{Reservation: moved[2].(string)})
	if j := q.next(engine.KindJoined, engine.KindResponse); j[0] != engine.KindJoined || j[2] != moved[4] {
		t.Fatalf("joining the room moved to: %v, want room %v", j, moved[4])
	}
}

// TestCPUMeterMeasuresThisProcess: a busy loop on one core shows as a share above zero and
// at most one.
func TestCPUMeterMeasuresThisProcess(t *testing.T) {
	var m cpuMeter
	if got := m.share(); got != 0 {
		t.Fatalf("first reading %v, want 0", got)
	}
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); {
	}
	if got := m.share(); got <= 0 || got > 1 {
		t.Fatalf("after 200 ms busy: share %v, want in (0, 1]", got)
	}
}

func testLog(node string) *slog.Logger {
	if os.Getenv("RP_TEST_SERVER_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", node)
}

// TestNodePlayerCapSendsRoomsElsewhere: -node-max-players caps what placement sends a node:
// with a cap on A and none on B, every new room asked through A is made on B.
func TestNodePlayerCapSendsRoomsElsewhere(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsAddr := ln.Addr().String()
	ln.Close()
	a := startNode(t, clusterOptions{natsListen: natsAddr, natsDir: t.TempDir(), nodeID: "a", maxPlayers: 2, drain: time.Millisecond})
	eventually(t, "a is up", func() bool {
		_, err := http.Get("http://" + a.addr + "/healthz")
		return err == nil
	})
	b := startNode(t, clusterOptions{natsURL: "nats://" + natsAddr, nodeID: "b", drain: time.Millisecond})
	eventually(t, "a sees two nodes", func() bool {
		return strings.Contains(a.get(t, "/metrics"), "rallypoint_cluster_nodes 2")
	})
	for i := range 3 {
		p := dialPlay(t, a.url())
		p.send(engine.KindJoin, 1, engine.JoinOptions{Game: "crossword", Create: true})
		m := p.next(engine.KindJoined, engine.KindRedirect, engine.KindResponse)
		if m[0] != engine.KindRedirect || m[2] != b.url() {
			t.Fatalf("room %d asked through the capped node: %v, want a redirect to %s", i, m, b.url())
		}
		p.c.CloseNow()
	}
}
