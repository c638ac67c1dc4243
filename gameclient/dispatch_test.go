package gameclient_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/protocol"
)

// nextEvent waits for the client's next event.
func nextEvent(t *testing.T, c *gameclient.Client) gameclient.Event {
	t.Helper()
	select {
	case ev := <-c.Events():
		return ev
	case <-c.Done():
		t.Fatalf("connection ended: %v", c.Err())
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return gameclient.Event{}
}

// TestServerMessagesBecomeEvents: the messages the client turns into events, read with
// protocol.Reader, arrive with every field, whatever integer encoding the server chose;
// payloads and strings outlive the connection's read buffer.
func TestServerMessagesBecomeEvents(t *testing.T) {
	fs, c := startFake(t, nil)
	fs.send(protocol.KindEvent, "hit", map[string]any{"by": 3})
	fs.send(protocol.KindError, uint64(protocol.CodeMalformed), "bad input")
	fs.send(protocol.KindMatched, "tk", "room-2", "resv", uint64(15000))
	fs.send(protocol.KindRoom, int64(2), map[string]any{"id": "room-3"}) // a signed encoding of 2
	fs.send(0x7f, "a kind from a newer server")                          // ignored
	fs.send(protocol.KindLeft, uint16(protocol.CodeRoomEnded), "the end")

	ev := nextEvent(t, c)
	if ev.Kind != protocol.KindEvent || ev.Name != "hit" || len(ev.Payload) == 0 {
		t.Errorf("event: %+v", ev)
	}
	ev = nextEvent(t, c)
	if ev.Kind != protocol.KindError || ev.Code != protocol.CodeMalformed || ev.Message != "bad input" {
		t.Errorf("error: %+v", ev)
	}
	ev = nextEvent(t, c)
	if ev.Kind != protocol.KindMatched || ev.Ticket != "tk" || ev.Room != "room-2" || ev.Reservation != "resv" {
		t.Errorf("matched: %+v", ev)
	}
	ev = nextEvent(t, c)
	if ev.Kind != protocol.KindRoom || ev.Code != 2 || string(ev.Payload) != "\x81\xa2id\xa6room-3" {
		t.Errorf("room: %+v (payload % x)", ev, ev.Payload)
	}
	ev = nextEvent(t, c)
	if ev.Kind != protocol.KindLeft || ev.Code != protocol.CodeRoomEnded || ev.Message != "the end" {
		t.Errorf("left: %+v", ev)
	}
}

// TestRequestErrorIsProtocolError: a refused request comes back as a *protocol.Error with the
// server's code and message.
func TestRequestErrorIsProtocolError(t *testing.T) {
	fs, c := startFake(t, nil)
	done := make(chan error, 1)
	go func() { done <- c.Request(context.Background(), "score", nil, nil) }()
	m := fs.read()
	if m[0] != int64(protocol.KindRequest) {
		t.Fatalf("got %v, want a request", m)
	}
	fs.send(protocol.KindResponse, m[1], uint64(protocol.CodeBadRequest), "no such request")
	var pe *protocol.Error
	if err := <-done; !errors.As(err, &pe) || pe.Code != protocol.CodeBadRequest || pe.Message != "no such request" {
		t.Fatalf("Request: %v, want a *protocol.Error with code 12", err)
	}
}

// TestMalformedServerMessageClosesTheConnection: a server message the client cannot read ends
// the connection with 1002 and an error naming the message, instead of a guess.
func TestMalformedServerMessageClosesTheConnection(t *testing.T) {
	tests := []struct {
		name string
		msg  []any
	}{
		{"kind not an integer", []any{"joined"}},
		{"kind above a byte", []any{uint64(300)}},
		{"input ack tick above 32 bits", []any{protocol.KindInputAck, uint64(1), uint64(math.MaxUint32 + 1)}},
		{"input ack seq negative", []any{protocol.KindInputAck, int64(-1), uint64(5)}},
		{"joined too short", []any{protocol.KindJoined, uint64(1), "R"}},
		{"event name not a string", []any{protocol.KindEvent, uint64(5), nil}},
		{"error code above 16 bits", []any{protocol.KindError, uint64(70000), "x"}},
		{"matched without reservation", []any{protocol.KindMatched, "tk", "room"}},
		{"matched url not a string", []any{protocol.KindMatched, "tk", "room", "r", uint64(1), uint64(5)}},
		{"redirect without room", []any{protocol.KindRedirect, uint64(1), "ws://b/play", "r", uint64(1)}},
		{"redirect with an empty url", []any{protocol.KindRedirect, uint64(1), "", "r", uint64(1), "R"}},
		{"moved ttl negative", []any{protocol.KindMoved, "ws://b/play", "r", int64(-1), "R"}},
		{"snapshot body truncated", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, c := startFake(t, nil)
			if tt.msg == nil {
				b := []byte{0x92, protocol.KindSnapshot, 0x95, 0x01} // [18, [1, ...cut
				if err := fs.c.WriteMessage(ws.MessageBinary, b); err != nil {
					t.Fatal(err)
				}
			} else {
				fs.send(tt.msg...)
			}
			// The client closes with 1002; the server's read sees it (and answers the close).
			_, _, err := fs.next()
			var ce *ws.CloseError
			if !errors.As(err, &ce) || ce.Code != ws.StatusProtocolError {
				t.Errorf("server read %v, want close 1002", err)
			}
			select {
			case <-c.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the client kept the connection")
			}
			if c.Err() == nil {
				t.Fatal("no error")
			}
		})
	}
}
