package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/protocol"
)

// fakeNode serves rallypoint.v1 by hand: every join gets answer(opts) (the message after the
// request id) and its options go to joins.
func fakeNode(t *testing.T, joins chan<- map[string]any, answer func(opts map[string]any) []any) string {
	h := &nodeHandler{joins: joins, answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = ws.Serve(w, r, &ws.AcceptOptions{Subprotocols: []string{protocol.Subprotocol}}, func(*ws.Conn) ws.Handler { return h })
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/play"
}

// nodeHandler is a fakeNode's ws.Handler, shared by its connections.
type nodeHandler struct {
	joins  chan<- map[string]any
	answer func(opts map[string]any) []any
}

// OnMessage answers a join and ignores anything else; a failed answer drops the connection.
func (h *nodeHandler) OnMessage(c *ws.Conn, _ ws.MessageType, p []byte) {
	var m []any
	if msgpack.Unmarshal(p, &m) != nil || len(m) < 3 || m[0] != int8(protocol.KindJoin) {
		return
	}
	opts, _ := m[2].(map[string]any)
	h.joins <- opts
	a := h.answer(opts)
	b, _ := protocol.Marshal(append([]any{a[0], m[1]}, a[1:]...))
	if c.WriteMessage(ws.MessageBinary, b) != nil {
		_ = c.CloseNow()
	}
}

// OnClose has nothing to do: the transport is closed when reading ended.
func (h *nodeHandler) OnClose(*ws.Conn, error) {}

// TestBotFollowsRedirects: a bot that joins through an entry node whose seat is on another
// node follows the redirect there with the reservation and its meta, ends on that node
// (where a resume goes), and counts the redirect; a loop stops at gameclient.MaxRedirects.
func TestBotFollowsRedirects(t *testing.T) {
	joins := make(chan map[string]any, 16)
	room := fakeNode(t, joins, func(map[string]any) []any {
		return []any{protocol.KindJoined, "R", 1, "b.T", 0, 10, 10, ""}
	})
	entry := fakeNode(t, joins, func(map[string]any) []any {
		return []any{protocol.KindRedirect, room, "resv", 15000, "R"}
	})
	cfg := testConfig(entry, "crossword")
	cfg.Origin = ""
	if err := cfg.normalize(); err != nil {
		t.Fatal(err)
	}
	r := &runner{cfg: cfg, t0: time.Now(), bots: make([]*bot, 1)}
	d, err := newCrosswordDriver(r)
	if err != nil {
		t.Fatal(err)
	}
	r.game = d
	b := &bot{r: r}
	if err := b.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer b.c.CloseNow()
	if first := <-joins; first["game"] != "crossword" {
		t.Errorf("the entry got %v, want quick play", first)
	}
	if second := <-joins; second["reservation"] != "resv" || second["meta"] == nil || second["game"] != nil {
		t.Errorf("the room's node got %v, want the reservation and the meta", second)
	}
	if b.url != room || b.redirects.Load() != 1 || *b.node.Load() != room {
		t.Errorf("bot on %s after %d redirects, want %s after 1", b.url, b.redirects.Load(), room)
	}

	var loop string
	loop = fakeNode(t, joins, func(map[string]any) []any {
		return []any{protocol.KindRedirect, loop, "resv", 15000, "R"}
	})
	b2 := &bot{r: r, url: loop}
	err = b2.open(context.Background(), protocol.JoinOptions{Game: "crossword"})
	if err == nil || !strings.Contains(err.Error(), "too many redirects") {
		t.Errorf("a redirect loop: %v, want too many redirects", err)
	}
}
