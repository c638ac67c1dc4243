package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/cluster"
	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/match"
	"github.com/rallypoint/rallypoint/net/ws"
)

// testNode is one engine of a test cluster: its own HTTP server on loopback and its own
// NATS connection, as a gameserver process would have.
type testNode struct {
	id   string
	e    *engine.Engine
	node *cluster.Node
	url  string // ws://.../
	http string // http://...
	srv  *httptest.Server
	once sync.Once
}

// startCluster runs an embedded NATS server and n engines joined to it, in this process.
// Heartbeats are fast (100 ms, gone after 1 s) so that the tests see the cluster settle
// quickly.
func startCluster(t *testing.T, n int, cfg engine.RoomConfig, setup ...func(*engine.Engine)) []*testNode {
	t.Helper()
	return startClusterOn(t, startNATS(t), n, cfg, setup...)
}

// testNATS is an embedded NATS server that a test can stop and start again on the same
// address and directory.
type testNATS struct {
	url, dir string
	stop     func()
}

func startNATS(t *testing.T) *testNATS {
	t.Helper()
	ns := &testNATS{dir: t.TempDir()}
	ns.start(t, "127.0.0.1:0")
	t.Cleanup(func() { ns.stop() })
	return ns
}

func (ns *testNATS) start(t *testing.T, addr string) {
	t.Helper()
	url, stop, err := cluster.Embedded(cluster.EmbeddedOptions{Addr: addr, Dir: ns.dir})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	ns.url, ns.stop = url, func() { once.Do(stop) }
}

// clusterTimeout is how long the test clusters' nodes wait for a silent peer's heartbeats
// before it is gone; a test that must tell another way of learning it apart sets it longer.
var clusterTimeout = time.Second

func startClusterOn(t *testing.T, ns *testNATS, n int, cfg engine.RoomConfig, setup ...func(*engine.Engine)) []*testNode {
	t.Helper()
	natsURL := ns.url
	var err error
	nodes := make([]*testNode, n)
	for i := range nodes {
		tn := &testNode{id: fmt.Sprintf("node-%c", 'a'+i)}
		tn.e = engine.New(engine.Options{Logger: slog.New(slog.DiscardHandler)})
		log := &gameLog{}
		if err := engine.Register(tn.e, "tally", cfg, func() engine.Game[tallyInput] { return &tally{log: log} }); err != nil {
			t.Fatal(err)
		}
		for _, f := range setup {
			f(tn.e)
		}
		tn.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/rooms" {
				tn.e.RoomsHandler().ServeHTTP(w, r)
				return
			}
			tn.e.ServeHTTP(w, r)
		}))
		tn.http = tn.srv.URL
		tn.url = "ws" + strings.TrimPrefix(tn.srv.URL, "http") + "/play"
		tn.node, err = cluster.Connect(ctx5(t), natsURL, cluster.Options{
			ID: tn.id, URL: tn.url, Load: tn.e.Load,
			Interval: 100 * time.Millisecond, Timeout: clusterTimeout,
			Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := tn.e.EnableCluster(engine.ClusterOptions{Node: tn.node}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tn.stop)
		nodes[i] = tn
	}
	waitUntil(t, "every node sees the others", func() bool {
		for _, tn := range nodes {
			if len(tn.node.Nodes()) != n {
				return false
			}
		}
		return true
	})
	return nodes
}

// stop shuts the node down as a deploy would: rooms ended, directory left, NATS closed.
func (tn *testNode) stop() {
	tn.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tn.e.Shutdown(ctx)
		_ = tn.node.Close(ctx)
		tn.srv.Close()
	})
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listing is GET /rooms on a node.
type listedRoom struct {
	ID      string `json:"id"`
	Players int    `json:"players"`
	Held    int    `json:"held"`
	Node    string `json:"node"`
	URL     string `json:"url"`
}

func (tn *testNode) rooms(t *testing.T) []listedRoom {
	t.Helper()
	resp, err := http.Get(tn.http + "/rooms?game=tally")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Rooms []listedRoom }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Rooms
}

// seated is where a join ended: the connection, its 0x11, the node's URL it is on, and
// the redirects followed to get there.
type seated struct {
	rp   *rawPlayer
	room string
	url  string
	hops int
}

// joinVia sends a join to the node at url and follows redirects (0x1B) as the SDKs do: a
// new connection to the room's node, joining with the reservation (or resuming with the
// same token). It returns the seat, or the refusal's code and message.
func joinVia(t *testing.T, url string, opts engine.JoinOptions) (seated, engine.Code, string) {
	t.Helper()
	for hops := 0; hops < 4; hops++ {
		c, _, err := ws.Dial(ctx5(t), url, &ws.DialOptions{Subprotocols: []string{engine.Subprotocol}})
		if err != nil {
			t.Fatal(err)
		}
		rp := &rawPlayer{t: t, c: c}
		rp.send(engine.KindJoin, 1, opts)
		for {
			m := rp.read()
			switch m[0] {
			case engine.KindJoined:
				t.Cleanup(func() { c.CloseNow() })
				rp.token, _ = m[4].(string)
				rp.joined = m
				return seated{rp: rp, room: m[2].(string), url: url, hops: hops}, engine.CodeOK, ""
			case engine.KindResponse:
				c.CloseNow()
				msg, _ := m[3].(string)
				return seated{}, engine.Code(toInt(m[2])), msg
			case engine.KindRedirect:
				c.CloseNow()
				url = m[2].(string)
				if res, _ := m[3].(string); res != "" {
					opts = engine.JoinOptions{Reservation: res, Meta: opts.Meta}
				}
			default:
				continue
			}
			break
		}
	}
	t.Fatalf("more than 3 redirects")
	return seated{}, 0, ""
}

func mustJoin(t *testing.T, url string, opts engine.JoinOptions) seated {
	t.Helper()
	s, code, msg := joinVia(t, url, opts)
	if code != engine.CodeOK {
		t.Fatalf("join %+v through %s refused: %d %s", opts, url, code, msg)
	}
	return s
}

// TestClusterJoinsARoomOfAnotherNodeThroughAnyNode: a room made on B is listed by every
// node with its node and URL, and joining it by id through A or C lands on B, through a
// reservation and a redirect; the seat is the room's own.
func TestClusterJoinsARoomOfAnotherNodeThroughAnyNode(t *testing.T) {
	nodes := startCluster(t, 3, engine.RoomConfig{MaxPlayers: 4})
	a, b, c := nodes[0], nodes[1], nodes[2]
	info, err := b.e.CreateRoom("tally", engine.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range nodes {
		waitUntil(t, tn.id+" lists the room", func() bool {
			rs := tn.rooms(t)
			return len(rs) == 1 && rs[0].ID == info.ID && rs[0].Node == b.id && rs[0].URL == b.url
		})
	}
	for _, via := range []*testNode{a, c, b} {
		s := mustJoin(t, via.url, engine.JoinOptions{Room: info.ID})
		if s.room != info.ID || s.url != b.url {
			t.Fatalf("join through %s: seated in %s on %s, want %s on %s", via.id, s.room, s.url, info.ID, b.url)
		}
		if want := 1; via == b {
			if s.hops != 0 {
				t.Fatalf("join through the room's own node took %d redirects", s.hops)
			}
		} else if s.hops != want {
			t.Fatalf("join through %s took %d redirects, want %d", via.id, s.hops, want)
		}
	}
	if got, _ := b.e.Room(info.ID); got.Players != 3 {
		t.Fatalf("room has %d players, want 3", got.Players)
	}
	if a.e.Metrics().Redirects.Load() != 1 || c.e.Metrics().Redirects.Load() != 1 {
		t.Fatalf("redirects: a %d, c %d, want 1 each", a.e.Metrics().Redirects.Load(), c.e.Metrics().Redirects.Load())
	}
	if _, code, _ := joinVia(t, a.url, engine.JoinOptions{Room: "no-such-room"}); code != engine.CodeNotFound {
		t.Fatalf("a room no node has: code %d, want %d", code, engine.CodeNotFound)
	}
}

// TestClusterSeatsExactlyTheFreeSeatsUnderARace: 50 joins at once, through three nodes,
// for the 8 seats of one room: exactly 8 are seated and 42 are refused as full, whichever
// node each went through.
func TestClusterSeatsExactlyTheFreeSeatsUnderARace(t *testing.T) {
	nodes := startCluster(t, 3, engine.RoomConfig{MaxPlayers: 8})
	info, err := nodes[1].e.CreateRoom("tally", engine.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range nodes {
		waitUntil(t, tn.id+" lists the room", func() bool { return len(tn.rooms(t)) == 1 })
	}
	const joins = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[engine.Code]int{}
	for i := range joins {
		wg.Go(func() {
			s, code, _ := joinVia(t, nodes[i%3].url, engine.JoinOptions{Room: info.ID})
			mu.Lock()
			codes[code]++
			mu.Unlock()
			if code == engine.CodeOK && s.room != info.ID {
				t.Errorf("seated in %s, want %s", s.room, info.ID)
			}
		})
	}
	wg.Wait()
	if codes[engine.CodeOK] != 8 || codes[engine.CodeFull] != joins-8 {
		t.Fatalf("answers by code: %v, want 8 seated (0) and %d full (%d)", codes, joins-8, engine.CodeFull)
	}
	if got, _ := nodes[1].e.Room(info.ID); got.Players != 8 {
		t.Fatalf("room has %d players, want 8", got.Players)
	}
}

// TestClusterQuickPlayFillsThenSpreadsByHeadroom: quick play through one node fills the
// fullest room of the cluster first, and puts each new room on the node with the most free
// player seats, so that rooms of 4 end up on every node.
func TestClusterQuickPlayFillsThenSpreadsByHeadroom(t *testing.T) {
	nodes := startCluster(t, 3, engine.RoomConfig{MaxPlayers: 4})
	a := nodes[0]
	perNode := map[string]int{}
	rooms := map[string]int{}
	for i := range 12 {
		s := mustJoin(t, a.url, engine.JoinOptions{Game: "tally"})
		perNode[s.url]++
		rooms[s.room]++
		// The next join must see this one: the directory and the heartbeats carry it.
		waitUntil(t, "the cluster counts the player", func() bool {
			total := 0
			for _, r := range a.rooms(t) {
				total += r.Players + r.Held
			}
			load := 0
			for _, ni := range a.node.Nodes() {
				load += ni.Load.Players
			}
			return total == i+1 && load == i+1
		})
	}
	if len(rooms) != 3 {
		t.Fatalf("12 quick plays into rooms of 4 made %d rooms, want 3: %v", len(rooms), rooms)
	}
	for _, tn := range nodes {
		if perNode[tn.url] != 4 {
			t.Fatalf("players per node: %v, want 4 on each", perNode)
		}
	}
}

// TestClusterPrivateCodeJoinsFromAnotherNode: a private room's code, made through A,
// leads there from C; a wrong code is refused; the room is not listed anywhere.
func TestClusterPrivateCodeJoinsFromAnotherNode(t *testing.T) {
	nodes := startCluster(t, 3, engine.RoomConfig{MaxPlayers: 4})
	a, c := nodes[0], nodes[2]
	owner := mustJoin(t, a.url, engine.JoinOptions{Game: "tally", Create: true, Private: true})
	code, _ := owner.rp.joined[8].(string)
	if code == "" {
		t.Fatalf("a private room's 0x11 has no code: %v", owner.rp.joined)
	}
	friend := mustJoin(t, c.url, engine.JoinOptions{Code: strings.ToLower(code)})
	if friend.room != owner.room || friend.url != owner.url {
		t.Fatalf("the code led to %s on %s, want %s on %s", friend.room, friend.url, owner.room, owner.url)
	}
	waitUntil(t, "C's directory has the room", func() bool { _, ok := c.node.Room(owner.room); return ok })
	if _, got, _ := joinVia(t, c.url, engine.JoinOptions{Room: owner.room}); got != engine.CodePrivate {
		t.Fatalf("joining the private room by id through another node: code %d, want %d", got, engine.CodePrivate)
	}
	if _, got, _ := joinVia(t, c.url, engine.JoinOptions{Code: "XXXXXX"}); got != engine.CodeNotFound {
		t.Fatalf("a wrong code: code %d, want %d", got, engine.CodeNotFound)
	}
	for _, tn := range nodes {
		if rs := tn.rooms(t); len(rs) != 0 {
			t.Fatalf("%s lists a private room: %v", tn.id, rs)
		}
	}
}

// TestClusterResumeFindsTheSeatsNode: a resume token sent to another node is redirected to
// the seat's node and resumes the same player there; once that node has left the cluster,
// a resume through a live node says the seat is gone, so the SDK joins afresh.
func TestClusterResumeFindsTheSeatsNode(t *testing.T) {
	nodes := startCluster(t, 3, engine.RoomConfig{MaxPlayers: 4})
	a, b := nodes[0], nodes[1]
	info, err := b.e.CreateRoom("tally", engine.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := mustJoin(t, b.url, engine.JoinOptions{Room: info.ID})
	if !strings.HasPrefix(first.rp.token, b.id+".") {
		t.Fatalf("token %q does not name its node %s", first.rp.token, b.id)
	}
	player := toInt(first.rp.joined[3])
	first.rp.c.CloseNow() // a dropped link
	again := mustJoin(t, a.url, engine.JoinOptions{Token: first.rp.token})
	if again.url != b.url || again.hops != 1 || toInt(again.rp.joined[3]) != player {
		t.Fatalf("resume through A: player %d on %s after %d hops, want player %d on %s after 1",
			toInt(again.rp.joined[3]), again.url, again.hops, player, b.url)
	}
	token := again.rp.token
	again.rp.c.CloseNow() // (a test client reads no close frame: B's shutdown would wait for it)
	b.stop()
	waitUntil(t, "A forgets B", func() bool { _, ok := a.node.NodeByID(b.id); return !ok })
	_, code, msg := joinVia(t, a.url, engine.JoinOptions{Token: token})
	if code != engine.CodeNotFound || !strings.Contains(msg, "gone") {
		t.Fatalf("resume for a node that left: %d %q, want %d and the seat gone", code, msg, engine.CodeNotFound)
	}
}

// TestClusterDropsTheRoomsOfANodeThatStopsWithoutGoodbye: a node whose NATS connection
// dies (the process was killed) is gone from the others' view, with its rooms, within the
// heartbeat timeout; quick play then places new rooms on the live nodes.
func TestClusterDropsTheRoomsOfANodeThatStopsWithoutGoodbye(t *testing.T) {
	nodes := startCluster(t, 3, engine.RoomConfig{MaxPlayers: 4})
	a, b := nodes[0], nodes[1]
	if _, err := b.e.CreateRoom("tally", engine.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "A lists B's room", func() bool { return len(a.rooms(t)) == 1 })
	b.node.Conn().Close() // no goodbye: heartbeats just stop
	killed := time.Now()
	waitUntil(t, "A drops B's room", func() bool { return len(a.rooms(t)) == 0 })
	if d := time.Since(killed); d > 2*time.Second {
		t.Fatalf("B's room left A's listing after %v, want within the 1 s timeout (and a check)", d)
	}
	for range 3 {
		s := mustJoin(t, a.url, engine.JoinOptions{Game: "tally"})
		if s.url == b.url {
			t.Fatalf("quick play placed a player on the dead node")
		}
	}
}

// TestClusterDrainMovesPlayersToAnotherNode: a draining node takes no new rooms at once
// (quick play through it lands elsewhere), and at its deadline offers its players seats
// together in a new room on another node (0x1C), then ends their room with 1001.
func TestClusterDrainMovesPlayersToAnotherNode(t *testing.T) {
	nodes := startCluster(t, 2, engine.RoomConfig{MaxPlayers: 4})
	a, b := nodes[0], nodes[1]
	info, err := a.e.CreateRoom("tally", engine.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p1 := mustJoin(t, a.url, engine.JoinOptions{Room: info.ID})
	p2 := mustJoin(t, a.url, engine.JoinOptions{Room: info.ID})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	moved := make(chan int, 1)
	go func() { moved <- a.e.Drain(ctx) }()
	waitUntil(t, "B sees A draining", func() bool { ni, ok := b.node.NodeByID(a.id); return ok && ni.Draining })
	if s := mustJoin(t, a.url, engine.JoinOptions{Game: "tally"}); s.url != b.url {
		t.Fatalf("quick play through a draining node stayed there (%s)", s.url)
	}
	if n := <-moved; n != 2 {
		t.Fatalf("Drain moved %d players, want 2", n)
	}
	var rooms []string
	for _, p := range []seated{p1, p2} {
		var m []any
		for {
			if m = p.rp.read(); m[0] == engine.KindMoved {
				break
			}
		}
		if m[1] != b.url {
			t.Fatalf("moved to %v, want %s", m[1], b.url)
		}
		var left []any
		for {
			if left = p.rp.read(); left[0] == engine.KindLeft {
				break
			}
		}
		if engine.Code(toInt(left[1])) != engine.CodeShutdown {
			t.Fatalf("the drained room ended with %v, want code %d", left, engine.CodeShutdown)
		}
		s := mustJoin(t, m[1].(string), engine.JoinOptions{Reservation: m[2].(string)})
		rooms = append(rooms, s.room)
	}
	if rooms[0] != rooms[1] {
		t.Fatalf("the moved players are in different rooms: %v", rooms)
	}
}

// TestClusterMatchIsSeatedOnTheNodePlacementPicks: two players queued through a draining
// node are matched there and seated together in a room on another node: the 0x19 each gets
// carries that node's URL, and the reservation is claimed there.
func TestClusterMatchIsSeatedOnTheNodePlacementPicks(t *testing.T) {
	enable := func(e *engine.Engine) {
		if err := e.EnableMatchmaking(engine.MatchmakingOptions{Queues: []match.QueueConfig{{Mode: "tally", MinPlayers: 2, MaxPlayers: 2}}}); err != nil {
			t.Fatal(err)
		}
	}
	nodes := startCluster(t, 2, engine.RoomConfig{MaxPlayers: 4}, enable)
	a, b := nodes[0], nodes[1]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.e.Drain(ctx) // takes A out of placement, plays on until cancel
	waitUntil(t, "B sees A draining", func() bool { ni, ok := b.node.NodeByID(a.id); return ok && ni.Draining })
	var queued []*rawPlayer
	for range 2 {
		rp := queueRaw(t, a.url)
		queued = append(queued, rp)
	}
	var rooms []string
	for _, rp := range queued {
		var m []any
		for {
			if m = rp.read(); m[0] == engine.KindMatched {
				break
			}
		}
		if len(m) < 6 || m[5] != b.url {
			t.Fatalf("0x19 %v: want the url of B, %s", m, b.url)
		}
		s := mustJoin(t, b.url, engine.JoinOptions{Reservation: m[3].(string)})
		if s.room != m[2] {
			t.Fatalf("seated in %s, matched into %v", s.room, m[2])
		}
		rooms = append(rooms, s.room)
	}
	if rooms[0] != rooms[1] {
		t.Fatalf("matched players in different rooms: %v", rooms)
	}
}

// TestClusterSurvivesANATSRestart: with NATS stopped, rooms play on and a node seats
// players in its own rooms, but offers no room of a node it cannot hear; when NATS is back
// on the same address, the nodes re-announce themselves and their rooms, and joins through
// any node reach them again.
func TestClusterSurvivesANATSRestart(t *testing.T) {
	ns := startNATS(t)
	nodes := startClusterOn(t, ns, 2, engine.RoomConfig{MaxPlayers: 4})
	a, b := nodes[0], nodes[1]
	info, err := b.e.CreateRoom("tally", engine.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "A lists B's room", func() bool { return len(a.rooms(t)) == 1 })
	addr := strings.TrimPrefix(ns.url, "nats://")

	ns.stop()
	waitUntil(t, "A's view of B fades", func() bool { return len(a.rooms(t)) == 0 && len(a.node.Nodes()) == 1 })
	if _, code, _ := joinVia(t, a.url, engine.JoinOptions{Room: info.ID}); code != engine.CodeNotFound {
		t.Fatalf("a room of a node A cannot hear: code %d, want %d", code, engine.CodeNotFound)
	}
	if s := mustJoin(t, b.url, engine.JoinOptions{Room: info.ID}); s.room != info.ID {
		t.Fatalf("B did not seat a player in its own room without NATS")
	}

	ns.start(t, addr)
	waitUntil(t, "A lists B's room again", func() bool {
		rs := a.rooms(t)
		return len(rs) == 1 && rs[0].ID == info.ID && rs[0].Node == b.id
	})
	if s := mustJoin(t, a.url, engine.JoinOptions{Room: info.ID}); s.url != b.url || s.hops != 1 {
		t.Fatalf("after the restart, a join through A landed on %s after %d hops", s.url, s.hops)
	}
}

// TestClusterQuickPlayBurstFillsRoomsAcrossNodes: a burst of quick plays through one node,
// faster than the directory and the heartbeats travel, still fills rooms rather than open
// one per player, and spreads the rooms over the nodes.
func TestClusterQuickPlayBurstFillsRoomsAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 3, engine.RoomConfig{MaxPlayers: 4})
	a := nodes[0]
	const players = 24
	var mu sync.Mutex
	rooms := map[string]int{}
	roomNode := map[string]string{}
	var wg sync.WaitGroup
	for i := range players {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 20 * time.Millisecond) // 50 joins a second
			s := mustJoin(t, a.url, engine.JoinOptions{Game: "tally"})
			mu.Lock()
			rooms[s.room]++
			roomNode[s.room] = s.url
			mu.Unlock()
		})
	}
	wg.Wait()
	perNode := map[string]int{}
	for _, u := range roomNode {
		perNode[u]++
	}
	t.Logf("%d players in %d rooms %v, rooms per node %v", players, len(rooms), rooms, perNode)
	if len(rooms) > players/4+2 {
		t.Errorf("%d players in rooms of 4 opened %d rooms, want at most %d", players, len(rooms), players/4+2)
	}
	if len(perNode) != 3 {
		t.Errorf("rooms on %d nodes, want all 3: %v", len(perNode), perNode)
	}
}

// TestClusterAcceptsPagesOfItsNodes: a page loaded from node A follows a redirect to node B
// with A's Origin: B accepts it, as a node of its cluster, and still refuses a stranger's.
func TestClusterAcceptsPagesOfItsNodes(t *testing.T) {
	nodes := startCluster(t, 2, engine.RoomConfig{MaxPlayers: 4})
	a, b := nodes[0], nodes[1]
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{strings.Replace(strings.TrimSuffix(a.url, "/play"), "ws://", "http://", 1), true},
		{"http://evil.example", false},
		{strings.Replace(strings.TrimSuffix(a.url, "/play"), "ws://127.0.0.1", "http://127.0.0.2", 1), false},
	} {
		c, _, err := ws.Dial(ctx5(t), b.url, &ws.DialOptions{Subprotocols: []string{engine.Subprotocol}, Header: http.Header{"Origin": {tc.origin}}})
		if (err == nil) != tc.ok {
			t.Errorf("Origin %s: dial error %v, want ok=%v", tc.origin, err, tc.ok)
		}
		if c != nil {
			c.CloseNow()
		}
	}
}

// TestClusterGoClientFollowsRedirects: gameclient.DialJoin through A lands in B's room, with
// the reservation B made, and plays there.
func TestClusterGoClientFollowsRedirects(t *testing.T) {
	nodes := startCluster(t, 2, engine.RoomConfig{MaxPlayers: 4})
	a, b := nodes[0], nodes[1]
	info, err := b.e.CreateRoom("tally", engine.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "A lists B's room", func() bool { return len(a.rooms(t)) == 1 })
	c, j, err := gameclient.DialJoin(ctx5(t), a.url, nil, engine.JoinOptions{Room: info.ID})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if j.Room != info.ID || c.URL() != b.url || c.Redirects() != 1 {
		t.Fatalf("joined %s on %s after %d redirects, want %s on %s after 1", j.Room, c.URL(), c.Redirects(), info.ID, b.url)
	}
	if _, err := c.SendInput(tallyInput{Add: 5}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the input plays on B", func() bool { v, ok := scoreOf(c, j.Player); return ok && v == 5 })
}

// TestClusterMatchesPlayersQueuedOnDifferentNodes: with the cluster's matchmaker (tickets in
// NATS, one elected matcher), two players queued through two different nodes are matched
// together into one room, wherever placement puts it. Each 0x19 carries the URL of the
// room's node, or none when the room is on the player's own node (it joins on the
// connection it has); the matcher's own URL is never mistaken for the player's node.
func TestClusterMatchesPlayersQueuedOnDifferentNodes(t *testing.T) {
	nodes := startCluster(t, 3, engine.RoomConfig{MaxPlayers: 4})
	for _, tn := range nodes {
		err := tn.e.EnableMatchmaking(engine.MatchmakingOptions{
			Queues: []match.QueueConfig{{Mode: "tally", MinPlayers: 2, MaxPlayers: 2}},
			New: func(o match.Options) (match.Matchmaker, error) {
				return cluster.NewMatchmaker(tn.node, o, cluster.MatchmakerOptions{LeaseTTL: time.Second, Owner: engine.SessionNode})
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	byNode := map[string]*testNode{}
	for _, tn := range nodes {
		byNode[tn.id] = tn
	}
	for round := range 4 { // placement spreads the rounds' rooms over the nodes
		pair := []*testNode{nodes[1+round%2], nodes[2-round%2]}
		if round == 3 {
			pair = []*testNode{nodes[0], nodes[1]}
		}
		var rps []*rawPlayer
		for _, tn := range pair {
			c, _, err := ws.Dial(ctx5(t), tn.url, &ws.DialOptions{Subprotocols: []string{engine.Subprotocol}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.CloseNow() })
			rp := &rawPlayer{t: t, c: c}
			rp.send(engine.KindMatch, 1, engine.MatchOptions{Game: "tally"})
			rps = append(rps, rp)
		}
		var rooms []string
		for i, rp := range rps {
			var m []any
			for m = rp.readWithin(20 * time.Second); m[0] != engine.KindMatched; m = rp.readWithin(20 * time.Second) {
			}
			if len(m) < 6 {
				t.Fatalf("0x19 %v: no url element", m)
			}
			room := m[2].(string)
			var host *testNode
			waitUntil(t, "the matched room is listed", func() bool {
				r, ok := pair[i].node.Room(room)
				host = byNode[r.Node]
				return ok
			})
			want := host.url
			if host == pair[i] {
				want = ""
			}
			if m[5] != want {
				t.Fatalf("round %d: player on %s got url %q for a room on %s, want %q", round, pair[i].id, m[5], host.id, want)
			}
			if want == "" { // the room is here: join on this connection
				rp.send(engine.KindJoin, 2, engine.JoinOptions{Reservation: m[3].(string)})
				for m = rp.read(); m[0] != engine.KindJoined; m = rp.read() {
					if m[0] == engine.KindResponse {
						t.Fatalf("joining the matched room here: %v", m)
					}
				}
				rooms = append(rooms, m[2].(string))
				continue
			}
			s := mustJoin(t, want, engine.JoinOptions{Reservation: m[3].(string)})
			rooms = append(rooms, s.room)
		}
		if rooms[0] != rooms[1] {
			t.Fatalf("round %d: matched players seated in different rooms: %v", round, rooms)
		}
	}
}

// TestClusterDrainMovesAMovableRoomWithItsState: a draining node moves a room of a Movable
// game to another node with its state: each player, following its 0x1C, is the same player
// (same id) in the new room, sees the scores made before the move, and plays on. A game that
// cannot marshal its state still gets its players a new room (without it).
func TestClusterDrainMovesAMovableRoomWithItsState(t *testing.T) {
	for _, tc := range []struct {
		name      string
		meta      string
		withState bool
	}{
		{"state moves", "ann", true},
		{"state refused", "stay", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := startCluster(t, 2, engine.RoomConfig{MaxPlayers: 4})
			a, b := nodes[0], nodes[1]
			info, err := b.e.CreateRoom("tally", engine.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			type seatedClient struct {
				c   *gameclient.Client
				j   gameclient.Joined
				add int64
			}
			var cs []seatedClient
			for _, add := range []int64{5, 7} {
				meta, _ := msgpack.Marshal(tc.meta)
				c, j, err := gameclient.DialJoin(ctx5(t), b.url, nil, engine.JoinOptions{Room: info.ID, Meta: meta})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if _, err := c.SendInput(tallyInput{Add: add}); err != nil {
					t.Fatal(err)
				}
				waitUntil(t, "the input plays on B", func() bool { v, ok := scoreOf(c, j.Player); return ok && v == add })
				cs = append(cs, seatedClient{c, j, add})
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // the deadline has passed: move now
			if n := b.e.Drain(ctx); n != 2 {
				t.Fatalf("Drain moved %d players, want 2", n)
			}
			if got := b.e.Metrics().RoomsMoved.Load(); got != map[bool]int64{true: 1, false: 0}[tc.withState] {
				t.Fatalf("RoomsMoved = %d with state %v", got, tc.withState)
			}
			var rooms []string
			var moved []seatedClient
			for i, s := range cs {
				var ev gameclient.Event
				for ev = range s.c.Events() {
					if ev.Kind == engine.KindMoved {
						break
					}
				}
				if ev.Kind != engine.KindMoved || ev.URL != a.url {
					t.Fatalf("player %d: event %+v, want a move to %s", i, ev, a.url)
				}
				c, j, err := gameclient.DialJoin(ctx5(t), ev.URL, nil, engine.JoinOptions{Reservation: ev.Reservation})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				rooms = append(rooms, j.Room)
				if j.Room != ev.Room || j.Room == info.ID {
					t.Fatalf("player %d joined %s, moved to %s (old room %s)", i, j.Room, ev.Room, info.ID)
				}
				if tc.withState && j.Player != s.j.Player {
					t.Fatalf("player %d is player %d in the moved room, was %d", i, j.Player, s.j.Player)
				}
				moved = append(moved, seatedClient{c, j, s.add})
			}
			for i, s := range moved {
				if !tc.withState {
					break
				}
				waitUntil(t, "the scores made before the move", func() bool {
					v, ok := scoreOf(s.c, s.j.Player)
					w, ok2 := scoreOf(s.c, moved[1-i].j.Player)
					return ok && ok2 && v == s.add && w == moved[1-i].add
				})
			}
			for _, s := range moved {
				if _, err := s.c.SendInput(tallyInput{Add: 1}); err != nil {
					t.Fatal(err)
				}
				want := s.add + 1
				if !tc.withState {
					want = 1 // a new room: the scores start over
				}
				waitUntil(t, "play goes on after the move", func() bool { v, _ := scoreOf(s.c, s.j.Player); return v == want })
			}
			if rooms[0] != rooms[1] {
				t.Fatalf("the moved players are in different rooms: %v", rooms)
			}
		})
	}
}

// TestClusterAnswersAResumeForAKilledNodeAtOnce: a client whose node was killed resumes
// through another node after two failed tries; that node asks the dead one, learns from NATS
// that nothing serves it any more, and answers "gone" at once, so the client joins afresh
// now rather than bouncing to a dead URL until the heartbeats time out (a minute here). The
// dead node leaves the view and the listing in the same moment, so the fresh join lands on
// a live node.
func TestClusterAnswersAResumeForAKilledNodeAtOnce(t *testing.T) {
	clusterTimeout = time.Minute
	defer func() { clusterTimeout = time.Second }()
	nodes := startCluster(t, 2, engine.RoomConfig{MaxPlayers: 4})
	a, b := nodes[0], nodes[1]
	info, err := b.e.CreateRoom("tally", engine.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := mustJoin(t, b.url, engine.JoinOptions{Room: info.ID})
	waitUntil(t, "A lists B's room", func() bool { return len(a.rooms(t)) == 1 })

	// The kill: B's NATS connection and its sockets go at once, without a goodbye.
	b.node.Conn().Close()
	b.srv.CloseClientConnections()
	b.srv.Listener.Close()
	waitUntil(t, "the NATS server to have dropped B's subscriptions", func() bool {
		_, err := a.node.Conn().Request(a.node.Prefix()+".seat."+b.id, []byte("{}"), time.Second)
		return errors.Is(err, nats.ErrNoResponders)
	})
	if _, ok := a.node.NodeByID(b.id); !ok {
		t.Fatal("A dropped B before its heartbeats timed out: the test cannot tell the probe's work apart")
	}

	c, _, err := ws.Dial(ctx5(t), a.url, &ws.DialOptions{Subprotocols: []string{engine.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	rp := &rawPlayer{t: t, c: c}
	rp.send(engine.KindJoin, 1, engine.JoinOptions{Token: s.rp.token})
	m := rp.read()
	if m[0] != engine.KindResponse || engine.Code(toInt(m[2])) != engine.CodeNotFound {
		t.Fatalf("a resume for the killed node's seat got %v, want code %d (gone)", m, engine.CodeNotFound)
	}
	if _, ok := a.node.NodeByID(b.id); ok {
		t.Fatal("A still counts the killed node as live")
	}
	if rooms := a.rooms(t); len(rooms) != 0 {
		t.Fatalf("A still lists the killed node's rooms: %+v", rooms)
	}
	if fresh := mustJoin(t, a.url, engine.JoinOptions{Game: "tally"}); fresh.url != a.url {
		t.Fatalf("the fresh join went to %s, want A (%s)", fresh.url, a.url)
	}
}

// queueRaw dials url as a raw player and queues it for a tally match (request id 1).
func queueRaw(t *testing.T, url string) *rawPlayer {
	t.Helper()
	c, _, err := ws.Dial(ctx5(t), url, &ws.DialOptions{Subprotocols: []string{engine.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	rp := &rawPlayer{t: t, c: c}
	rp.send(engine.KindMatch, 1, engine.MatchOptions{Game: "tally"})
	return rp
}

// TestClusterRequeuesAMatchThatCannotBeSeated: the matcher's node fails to seat a match (here
// a backfilled room that left the directory; under load, a room's node that did not answer
// in time), and each ticket goes back to the queue through its players' node, with the same
// id: the players are matched again and seated together, on whichever node the matcher runs.
func TestClusterRequeuesAMatchThatCannotBeSeated(t *testing.T) {
	nodes := startCluster(t, 3, engine.RoomConfig{MaxPlayers: 4})
	var spoilt atomic.Int32
	mms := make([]*countingMatchmaker, len(nodes))
	for i, tn := range nodes {
		err := tn.e.EnableMatchmaking(engine.MatchmakingOptions{
			Queues: []match.QueueConfig{{Mode: "tally", MinPlayers: 2, MaxPlayers: 2}},
			New: func(o match.Options) (match.Matchmaker, error) {
				mm, err := cluster.NewMatchmaker(tn.node, o, cluster.MatchmakerOptions{LeaseTTL: time.Second, Owner: engine.SessionNode})
				mms[i] = &countingMatchmaker{Matchmaker: mm, opts: o, spoilFirst: func(m *match.Match) {
					if spoilt.Add(1) == 1 { // the first match of the whole cluster
						m.Room = "a-room-that-left"
					}
				}}
				return mms[i], err
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var rps []*rawPlayer
	for _, tn := range nodes[1:] { // two nodes: at least one is not the matcher's
		rp := queueRaw(t, tn.url)
		rps = append(rps, rp)
	}
	var rooms, tickets []string
	for _, rp := range rps {
		var ticket string
		for m := rp.readWithin(20 * time.Second); ; m = rp.readWithin(20 * time.Second) {
			if m[0] == engine.KindResponse && toInt(m[1]) == 1 {
				ticket, _ = m[3].(string)
				continue
			}
			if m[0] != engine.KindMatched {
				continue
			}
			if m[1] != ticket {
				t.Fatalf("matched ticket %v, want the one queued, %q", m[1], ticket)
			}
			rooms = append(rooms, m[2].(string))
			tickets = append(tickets, ticket)
			break
		}
	}
	if rooms[0] != rooms[1] || tickets[0] == tickets[1] {
		t.Fatalf("matched in rooms %v with tickets %v: want one room, two tickets", rooms, tickets)
	}
	var delivered int32
	for _, mm := range mms {
		delivered += mm.matches.Load()
	}
	if delivered < 2 {
		t.Fatalf("%d matches delivered, want the spoilt one and one more", delivered)
	}
}
