package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/net/ws"
)

// FuzzSessionMessage sends each input as one client message through a real socket to a
// seated player's session, then a ping, and requires the pong (or a close with a code the
// protocol names) within 5 s: a message may be refused or end the connection, but never
// panic the server, hang the session or make it answer garbage. The session's handler is the
// parser every client reaches first (issue 11, "fuzz every parser and the session's message
// handler").
func FuzzSessionMessage(f *testing.F) {
	seeds := [][]any{
		{engine.KindJoin, 2, map[string]any{"game": "tally"}},
		{engine.KindJoin, 2, map[string]any{"game": "tally", "create": true, "private": true}},
		{engine.KindJoin, 2, map[string]any{"token": "nope"}},
		{engine.KindJoin, 2, map[string]any{"code": "ABCDEF"}},
		{engine.KindLeave},
		{engine.KindInput, 1, map[string]any{"add": 1}},
		{engine.KindInput, 2, map[string]any{"add": 1}, 3},
		{engine.KindInput, 3, map[string]any{"add": 1}, 3, []any{2, 1, 500}},
		{engine.KindInput, -1, map[string]any{"add": 1}},
		{engine.KindInput, uint64(1) << 40, "add"},
		{engine.KindInputs, 4, []any{map[string]any{"add": 1}, map[string]any{"add": 2}}, 3, []any{[]any{2, 1, 500}, nil}},
		{engine.KindInputs, 6, []any{map[string]any{"add": 1}, "add"}},
		{engine.KindAck, 0},
		{engine.KindAck, 5},
		{engine.KindRequest, 3, "echo", map[string]any{"x": []any{1, 2}}},
		{engine.KindPing, 1},
		{engine.KindMatch, 4, map[string]any{"game": "tally"}},
		{engine.KindCancel, 5, "ticket"},
		{engine.KindLobby, 6, "tally"},
		{engine.KindLobby, 6, ""},
		{0xff},
		{},
	}
	for _, s := range seeds {
		b, err := msgpack.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x93, 0x03, 0x01})             // an array that lies about its length
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff}) // array32 of 4 G elements, 5 bytes
	f.Add([]byte("\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"))

	e := engine.New(engine.Options{Logger: slog.New(slog.DiscardHandler), Accept: ws.AcceptOptions{
		// The fuzzer sends as fast as it can: the rate limits are not what is fuzzed here.
		Limits: ws.Limits{MaxMessagesPerSecond: -1, MaxFramesPerSecond: -1},
	}})
	log := &gameLog{}
	if err := engine.Register(e, "tally", engine.RoomConfig{}, func() engine.Game[tallyInput] { return &tally{log: log} }); err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewServer(e)
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Shutdown(ctx)
		srv.Close()
	})
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	var c *ws.Conn
	var ping uint32
	f.Cleanup(func() { // before the shutdown above (cleanups run last first)
		if c != nil {
			c.CloseNow()
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		if c == nil {
			c = seatFuzzPlayer(t, url)
		}
		ping++
		pingMsg, _ := msgpack.Marshal([]any{engine.KindPing, ping})
		if err := c.WriteMessage(ws.MessageBinary, data); err != nil {
			c.CloseNow()
			c = nil
			return // the server closed before: checked below on the next input's connection
		}
		if err := c.WriteMessage(ws.MessageBinary, pingMsg); err != nil {
			c.CloseNow()
			c = nil
			return
		}
		_ = c.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				var ce *ws.CloseError
				if !errors.As(err, &ce) {
					t.Fatalf("after % x: the session neither answered the ping nor closed with a code: %v", data, err)
				}
				switch ce.Code {
				case ws.StatusPolicyViolation, ws.StatusInvalidFramePayloadData, ws.StatusProtocolError,
					ws.StatusMessageTooBig, ws.StatusNormalClosure, ws.StatusGoingAway:
				default:
					t.Fatalf("after % x: closed with %d %q", data, ce.Code, ce.Reason)
				}
				c.CloseNow()
				c = nil
				return
			}
			var m []any
			if err := msgpack.Unmarshal(p, &m); err != nil || len(m) == 0 {
				t.Fatalf("after % x: the server sent an undecodable message % x", data, p)
			}
			if toInt(m[0]) == engine.KindPong && len(m) > 1 && toInt(m[1]) == int(ping) {
				return
			}
		}
	})
}

// seatFuzzPlayer dials url and joins a tally room by quick play.
func seatFuzzPlayer(t *testing.T, url string) *ws.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := ws.Dial(ctx, url, &ws.DialOptions{Subprotocols: []string{engine.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	join, _ := msgpack.Marshal([]any{engine.KindJoin, 1, map[string]any{"game": "tally"}})
	if err := c.WriteMessage(ws.MessageBinary, join); err != nil {
		t.Fatal(err)
	}
	_ = c.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, p, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("joining: %v", err)
		}
		var m []any
		if msgpack.Unmarshal(p, &m) == nil && len(m) > 0 && toInt(m[0]) == engine.KindJoined {
			return c
		}
	}
}
