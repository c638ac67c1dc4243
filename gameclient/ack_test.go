package gameclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/internal/wstest"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/protocol"
	"github.com/rallypoint/rallypoint/state"
)

// fakeServer is one rallypoint.v1 connection served by hand: the test sends what it wants
// and reads what the client sent, in order.
type fakeServer struct {
	t    *testing.T
	url  string
	conn chan servedConn
	c    *ws.Conn
	in   *wstest.Inbox // what c received
}

// servedConn is the server end of a connection from ws.Serve and the inbox its Handler fills.
type servedConn struct {
	c  *ws.Conn
	in *wstest.Inbox
}

// startFake serves one connection, dials it with a client whose ack delay is delay (the
// default if nil), answers the client's join and returns both ends.
func startFake(t *testing.T, delay *time.Duration) (*fakeServer, *gameclient.Client) {
	return startFakeAt(t, delay, 30)
}

// startFakeAt is startFake with the snapshot rate (Hz) the join answer announces.
func startFakeAt(t *testing.T, delay *time.Duration, snapRate int) (*fakeServer, *gameclient.Client) {
	fs := &fakeServer{t: t, conn: make(chan servedConn, 1)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := wstest.NewInbox()
		c, err := ws.Serve(w, r, &ws.AcceptOptions{Subprotocols: []string{protocol.Subprotocol}}, func(*ws.Conn) ws.Handler { return in })
		if err != nil {
			return
		}
		fs.conn <- servedConn{c, in}
	}))
	t.Cleanup(srv.Close)
	fs.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := gameclient.Dial(ctx, fs.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Conn().CloseNow() })
	if delay != nil {
		c.SetAckDelay(*delay)
	}
	select {
	case sc := <-fs.conn:
		fs.c, fs.in = sc.c, sc.in
	case <-ctx.Done():
		t.Fatal("no connection")
	}
	t.Cleanup(func() { fs.c.CloseNow() })
	done := make(chan error, 1)
	go func() {
		_, err := c.Join(ctx, protocol.JoinOptions{Game: "g"})
		done <- err
	}()
	if m := fs.read(); m[0] != int64(protocol.KindJoin) {
		t.Fatalf("first message %v, want a join", m)
	}
	fs.send(protocol.KindJoined, uint64(1), "R", uint64(1), "T", uint64(0), uint64(60), uint64(snapRate), "")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return fs, c
}

func (fs *fakeServer) send(v ...any) {
	fs.t.Helper()
	b, err := protocol.Marshal(v)
	if err != nil {
		fs.t.Fatal(err)
	}
	if err := fs.c.WriteMessage(ws.MessageBinary, b); err != nil {
		fs.t.Fatal(err)
	}
}

// snapshot sends an empty full snapshot of tick.
func (fs *fakeServer) snapshot(tick int) {
	fs.send(protocol.KindSnapshot, []any{tick, 0, []any{}, []any{}, []any{}})
}

// next returns the client's next message as it arrived, or the error that ended the
// connection; it waits 5 seconds at most.
func (fs *fakeServer) next() (ws.MessageType, []byte, error) {
	return fs.in.Next(5 * time.Second)
}

// read returns the client's next message, decoded, with integers as int64.
func (fs *fakeServer) read() []any {
	fs.t.Helper()
	_, p, err := fs.next()
	if err != nil {
		fs.t.Fatal(err)
	}
	var m []any
	if err := msgpack.Unmarshal(p, &m); err != nil || len(m) == 0 {
		fs.t.Fatalf("undecodable client message % x: %v", p, err)
	}
	for i, v := range m {
		m[i] = toInt64(v)
	}
	return m
}

func toInt64(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	}
	return v
}

// TestSendInputCarriesTheAck: a client that sends an input after each snapshot sends no
// [4, tick]; each input carries the latest applied tick, and an input with nothing new to
// acknowledge carries none. The delay is long so that the test does not depend on timing.
func TestSendInputCarriesTheAck(t *testing.T) {
	long := time.Minute
	fs, c := startFake(t, &long)
	seq := uint32(0)
	for tick := 2; tick <= 20; tick += 2 {
		fs.snapshot(tick)
		if err := c.WaitSnapshot(context.Background(), uint32(tick)); err != nil {
			t.Fatal(err)
		}
		for i := range 2 { // two inputs per snapshot, as at 60 Hz with 30 Hz snapshots
			s, err := c.SendInput(map[string]int{"add": 1})
			if err != nil {
				t.Fatal(err)
			}
			seq++
			if s != seq {
				t.Fatalf("input numbered %d, want %d", s, seq)
			}
			m := fs.read()
			switch {
			case m[0] != int64(protocol.KindInput):
				t.Fatalf("after snapshot %d the client sent %v, want an input", tick, m)
			case i == 0 && (len(m) != 4 || m[3] != int64(tick)):
				t.Fatalf("first input after snapshot %d is %v, want it to acknowledge %d", tick, m, tick)
			case i == 1 && len(m) != 3:
				t.Fatalf("second input after snapshot %d is %v, want no acknowledgement (already sent)", tick, m)
			}
		}
	}
}

// TestAckGoesAloneWhenNoInputFollows: a client that sends no inputs (a crossword) still
// acknowledges every snapshot, with [4, tick], once the (default) delay has passed.
func TestAckGoesAloneWhenNoInputFollows(t *testing.T) {
	delay := gameclient.DefaultAckDelay
	fs, _ := startFake(t, nil)
	for tick := 3; tick <= 15; tick += 3 {
		sent := time.Now()
		fs.snapshot(tick)
		m := fs.read()
		if len(m) != 2 || m[0] != int64(protocol.KindAck) || m[1] != int64(tick) {
			t.Fatalf("after snapshot %d the client sent %v, want [4, %d]", tick, m, tick)
		}
		if waited := time.Since(sent); waited < delay {
			t.Fatalf("snapshot %d acknowledged after %v, before the %v an input could have taken", tick, waited, delay)
		}
	}
}

// TestAckDelayZeroAcknowledgesAtOnce keeps the old behaviour available.
func TestAckDelayZeroAcknowledgesAtOnce(t *testing.T) {
	var zero time.Duration
	fs, c := startFake(t, &zero)
	fs.snapshot(2)
	if m := fs.read(); len(m) != 2 || m[0] != int64(protocol.KindAck) || m[1] != int64(2) {
		t.Fatalf("client sent %v, want [4, 2] at once", m)
	}
	if err := c.WaitSnapshot(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendInput(1); err != nil {
		t.Fatal(err)
	}
	if m := fs.read(); len(m) != 3 || m[0] != int64(protocol.KindInput) {
		t.Fatalf("client sent %v, want an input without an acknowledgement", m)
	}
}

// TestRejoinForgetsThePendingAck: the tick of a room left behind is not acknowledged in the
// next one.
func TestRejoinForgetsThePendingAck(t *testing.T) {
	long := time.Minute
	fs, c := startFake(t, &long)
	fs.snapshot(50)
	if err := c.WaitSnapshot(context.Background(), 50); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Join(ctx, protocol.JoinOptions{Game: "g"})
		done <- err
	}()
	m := fs.read()
	if m[0] != int64(protocol.KindJoin) {
		t.Fatalf("client sent %v, want a join", m)
	}
	fs.send(protocol.KindJoined, uint64(m[1].(int64)), "R2", uint64(1), "T", uint64(0), uint64(60), uint64(30), "")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendInput(1); err != nil {
		t.Fatal(err)
	}
	if m := fs.read(); len(m) != 3 || m[0] != int64(protocol.KindInput) {
		t.Fatalf("first input in the new room is %v, want no acknowledgement", m)
	}
}

// SetView puts what the client draws on every input that follows, as [from, span, t_milli]
// after the acknowledgement (nil when there is none); the zero View puts nothing.
func TestInputsCarryTheViewSet(t *testing.T) {
	d := time.Hour // acknowledgements only ride on inputs
	fs, c := startFake(t, &d)
	send := func() []any {
		t.Helper()
		if _, err := c.SendInput(map[string]int{"k": 1}); err != nil {
			t.Fatal(err)
		}
		return fs.read()
	}
	c.SetView(state.View{From: 100, To: 102, T: 0.25})
	if m := send(); len(m) != 5 || m[3] != nil || !reflect.DeepEqual(ints(m[4]), []any{int64(100), int64(2), int64(250)}) {
		t.Fatalf("input %v, want a view [100, 2, 250] after a nil acknowledgement", m)
	}
	fs.snapshot(30)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitSnapshot(ctx, 30); err != nil {
		t.Fatal(err)
	}
	c.SetView(state.View{From: 28, To: 28})
	if m := send(); len(m) != 5 || m[3] != int64(30) || !reflect.DeepEqual(ints(m[4]), []any{int64(28), int64(0), int64(0)}) {
		t.Fatalf("input %v, want acknowledgement 30 and view [28, 0, 0]", m)
	}
	c.SetView(state.View{})
	if m := send(); len(m) != 3 {
		t.Fatalf("input %v, want [3, seq, input] with no view", m)
	}
}

// ints is a decoded array with its integers as int64.
func ints(v any) any {
	a, ok := v.([]any)
	if !ok {
		return v
	}
	out := make([]any, len(a))
	for i, x := range a {
		out[i] = toInt64(x)
	}
	return out
}
