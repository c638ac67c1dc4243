package gameclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/protocol"
)

// fakeNode is one node of a pretend cluster over real sockets: it answers every join with
// what its answer function says (the message after the request id), and records the joins.
type fakeNode struct {
	url    string
	answer func(opts map[string]any) []any
	mu     sync.Mutex
	joins  []map[string]any
}

func startNode(t *testing.T) *fakeNode {
	n := &fakeNode{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = ws.Serve(w, r, &ws.AcceptOptions{Subprotocols: []string{protocol.Subprotocol}}, func(*ws.Conn) ws.Handler { return n })
	}))
	t.Cleanup(srv.Close)
	n.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	return n
}

// OnMessage records a join and sends the node's answer; anything else is ignored. A
// failed answer drops the connection.
func (n *fakeNode) OnMessage(c *ws.Conn, _ ws.MessageType, p []byte) {
	var m []any
	if msgpack.Unmarshal(p, &m) != nil || len(m) < 3 || toInt64(m[0]) != int64(protocol.KindJoin) {
		return
	}
	opts, _ := m[2].(map[string]any)
	n.mu.Lock()
	n.joins = append(n.joins, opts)
	n.mu.Unlock()
	a := n.answer(opts)
	b, err := protocol.Marshal(append([]any{a[0], m[1]}, a[1:]...))
	if err != nil || c.WriteMessage(ws.MessageBinary, b) != nil {
		_ = c.CloseNow()
	}
}

// OnClose has nothing to do: the transport is closed when reading ended.
func (n *fakeNode) OnClose(*ws.Conn, error) {}

func (n *fakeNode) joined() []map[string]any {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]map[string]any(nil), n.joins...)
}

// seats answers every join with [17, req, room, 1, token, 0, 60, 30, ""].
func seats(room, token string) func(map[string]any) []any {
	return func(map[string]any) []any {
		return []any{protocol.KindJoined, room, 1, token, 0, 60, 30, ""}
	}
}

// redirects answers every join with [27, req, url, reservation, 15000, room].
func redirects(url *string, reservation, room string) func(map[string]any) []any {
	return func(map[string]any) []any {
		return []any{protocol.KindRedirect, *url, reservation, 15000, room}
	}
}

// TestDialJoinFollowsRedirects: DialJoin joins where the cluster says the seat is, with the
// reservation and the original meta (or the same resume token), at most MaxRedirects hops,
// and reports the node it ended on and the hops it took.
func TestDialJoinFollowsRedirects(t *testing.T) {
	meta, _ := msgpack.Marshal(map[string]any{"name": "ann"})
	tests := []struct {
		name string
		// setup scripts three nodes a, b, c; the join goes through a.
		setup   func(a, b, c *fakeNode)
		opts    protocol.JoinOptions
		final   int              // index of the node that seats (0 a, 1 b, 2 c), or -1 for an error
		hops    int              // redirects followed
		joins   [3]int           // joins each node received
		wantErr func(error) bool // for final -1
		sentTo  map[string]any   // the options the seating node received (nil: not checked)
	}{
		{
			name:   "no redirect: seated by the entry node",
			setup:  func(a, b, c *fakeNode) { a.answer = seats("R", "a.1") },
			opts:   protocol.JoinOptions{Game: "g"},
			final:  0,
			joins:  [3]int{1, 0, 0},
			sentTo: map[string]any{"game": "g"},
		},
		{
			name: "quick play redirected once: the reservation and the meta go to the room's node",
			setup: func(a, b, c *fakeNode) {
				a.answer = redirects(&b.url, "resv", "R")
				b.answer = seats("R", "b.1")
			},
			opts:   protocol.JoinOptions{Game: "g", Meta: meta},
			final:  1,
			hops:   1,
			joins:  [3]int{1, 1, 0},
			sentTo: map[string]any{"reservation": "resv", "meta": map[string]any{"name": "ann"}},
		},
		{
			name: "a resume redirected: the same token at the node that holds the seat",
			setup: func(a, b, c *fakeNode) {
				a.answer = redirects(&b.url, "", "R")
				b.answer = seats("R", "b.2")
			},
			opts:   protocol.JoinOptions{Token: "b.1"},
			final:  1,
			hops:   1,
			joins:  [3]int{1, 1, 0},
			sentTo: map[string]any{"token": "b.1"},
		},
		{
			name: "two hops: the first node's view was a moment old",
			setup: func(a, b, c *fakeNode) {
				a.answer = redirects(&b.url, "r1", "R")
				b.answer = redirects(&c.url, "r2", "R")
				c.answer = seats("R", "c.1")
			},
			opts:   protocol.JoinOptions{Code: "K7QX2M"},
			final:  2,
			hops:   2,
			joins:  [3]int{1, 1, 1},
			sentTo: map[string]any{"reservation": "r2"},
		},
		{
			name: "a loop stops after MaxRedirects with ErrTooManyRedirects",
			setup: func(a, b, c *fakeNode) {
				a.answer = redirects(&b.url, "r", "R")
				b.answer = redirects(&a.url, "r", "R")
			},
			opts:    protocol.JoinOptions{Game: "g"},
			final:   -1,
			joins:   [3]int{2, 2, 0}, // a, b, a, b: the fourth redirect is not followed
			wantErr: func(err error) bool { return errors.Is(err, gameclient.ErrTooManyRedirects) },
		},
		{
			name: "a refusal at the room's node is the join's answer",
			setup: func(a, b, c *fakeNode) {
				a.answer = redirects(&b.url, "r", "R")
				b.answer = func(map[string]any) []any {
					return []any{protocol.KindResponse, uint64(protocol.CodeFull), "room full"}
				}
			},
			opts:  protocol.JoinOptions{Room: "R"},
			final: -1,
			joins: [3]int{1, 1, 0},
			wantErr: func(err error) bool {
				var pe *protocol.Error
				return errors.As(err, &pe) && pe.Code == protocol.CodeFull
			},
		},
		{
			name: "a resume whose node is gone: code 5 from the entry node",
			setup: func(a, b, c *fakeNode) {
				a.answer = func(map[string]any) []any {
					return []any{protocol.KindResponse, uint64(protocol.CodeNotFound), "the node that held your seat is gone"}
				}
			},
			opts:  protocol.JoinOptions{Token: "dead.1"},
			final: -1,
			joins: [3]int{1, 0, 0},
			wantErr: func(err error) bool {
				var pe *protocol.Error
				return errors.As(err, &pe) && pe.Code == protocol.CodeNotFound
			},
		},
		{
			name:  "a redirect with no reservation for a fresh join is an error, not a loop",
			setup: func(a, b, c *fakeNode) { a.answer = redirects(&b.url, "", "R") },
			opts:  protocol.JoinOptions{Game: "g"},
			final: -1,
			joins: [3]int{1, 0, 0},
			wantErr: func(err error) bool {
				return err != nil && strings.Contains(err.Error(), "without a reservation")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := [3]*fakeNode{startNode(t), startNode(t), startNode(t)}
			for _, n := range nodes {
				n.answer = func(map[string]any) []any { t.Error("unexpected join"); return []any{protocol.KindResponse, 5, "no"} }
			}
			tt.setup(nodes[0], nodes[1], nodes[2])
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, j, err := gameclient.DialJoin(ctx, nodes[0].url, nil, tt.opts)
			if tt.final < 0 {
				if err == nil || !tt.wantErr(err) {
					t.Fatalf("DialJoin: %v, want the case's error", err)
				}
			} else {
				if err != nil {
					t.Fatalf("DialJoin: %v", err)
				}
				defer c.Close()
				if c.URL() != nodes[tt.final].url || c.Redirects() != tt.hops {
					t.Errorf("on %s after %d redirects, want node %d (%s) after %d", c.URL(), c.Redirects(), tt.final, nodes[tt.final].url, tt.hops)
				}
				if j.Room != "R" || j.Player != 1 {
					t.Errorf("joined %+v", j)
				}
				joins := nodes[tt.final].joined()
				if got := joins[len(joins)-1]; tt.sentTo != nil && !sameOpts(got, tt.sentTo) {
					t.Errorf("the seating node got the join %v, want %v", got, tt.sentTo)
				}
			}
			for i, n := range nodes {
				if got := len(n.joined()); got != tt.joins[i] {
					t.Errorf("node %d got %d joins, want %d", i, got, tt.joins[i])
				}
			}
		})
	}
}

// sameOpts compares decoded join options, the meta's map included.
func sameOpts(got, want map[string]any) bool {
	a, _ := msgpack.Marshal(got)
	var x map[string]any
	_ = msgpack.Unmarshal(a, &x)
	b, _ := msgpack.Marshal(want)
	var y map[string]any
	_ = msgpack.Unmarshal(b, &y)
	return len(x) == len(y) && string(mustSorted(x)) == string(mustSorted(y))
}

func mustSorted(m map[string]any) []byte {
	enc := msgpack.GetEncoder()
	defer msgpack.PutEncoder(enc)
	var buf strings.Builder
	enc.Reset(&buf)
	enc.SetSortMapKeys(true)
	_ = enc.Encode(m)
	return []byte(buf.String())
}

// TestJoinReturnsRedirectError: Join on one connection returns the redirect as a typed error
// with every field, for code that follows it by hand.
func TestJoinReturnsRedirectError(t *testing.T) {
	n := startNode(t)
	n.answer = func(map[string]any) []any {
		return []any{protocol.KindRedirect, "ws://b.example/play", "resv", uint64(15000), "R"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := gameclient.Dial(ctx, n.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Join(ctx, protocol.JoinOptions{Game: "g"})
	var rd *gameclient.RedirectError
	if !errors.As(err, &rd) {
		t.Fatalf("Join: %v, want a *RedirectError", err)
	}
	want := gameclient.RedirectError{URL: "ws://b.example/play", Reservation: "resv", TTL: 15 * time.Second, Room: "R"}
	if *rd != want {
		t.Errorf("redirect %+v, want %+v", *rd, want)
	}
	if c.Err() != nil {
		t.Errorf("the connection ended: %v", c.Err())
	}
}

// TestClusterMessagesBecomeEvents: a match on another node carries its URL and time to
// live, one on this node an empty URL (absent or nil), and a move says where the seat waits.
func TestClusterMessagesBecomeEvents(t *testing.T) {
	fs, c := startFake(t, nil)
	fs.send(protocol.KindMatched, "t1", "R1", "r1", uint64(15000))
	fs.send(protocol.KindMatched, "t2", "R2", "r2", uint64(9000), nil)
	fs.send(protocol.KindMatched, "t3", "R3", "r3", uint64(8000), "ws://b.example/play")
	fs.send(protocol.KindMoved, "ws://c.example/play", "r4", uint64(20000), "R4")
	want := []gameclient.Event{
		{Kind: protocol.KindMatched, Ticket: "t1", Room: "R1", Reservation: "r1", TTL: 15 * time.Second},
		{Kind: protocol.KindMatched, Ticket: "t2", Room: "R2", Reservation: "r2", TTL: 9 * time.Second},
		{Kind: protocol.KindMatched, Ticket: "t3", Room: "R3", Reservation: "r3", TTL: 8 * time.Second, URL: "ws://b.example/play"},
		{Kind: protocol.KindMoved, Room: "R4", Reservation: "r4", TTL: 20 * time.Second, URL: "ws://c.example/play"},
	}
	for i, w := range want {
		ev := nextEvent(t, c)
		if ev.Kind != w.Kind || ev.Ticket != w.Ticket || ev.Room != w.Room || ev.Reservation != w.Reservation || ev.TTL != w.TTL || ev.URL != w.URL {
			t.Errorf("event %d: %+v, want %+v", i, ev, w)
		}
	}
}
