package ws

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// batchServer serves n connections and returns the server's ends (in the order they were
// served) and the clients' (matched to them by a hello each client sends first).
func batchServer(t *testing.T, n int, m *Metrics, dialOpts *DialOptions) (servers, clients []*Conn) {
	t.Helper()
	var mu sync.Mutex
	byID := map[uint32]*Conn{}
	got := make(chan struct{}, n)
	url := servedServer(t, &AcceptOptions{Metrics: m}, func(c *Conn) Handler {
		return helloHandler(func(id uint32) {
			mu.Lock()
			byID[id] = c
			mu.Unlock()
			got <- struct{}{}
		})
	})
	for i := range n {
		c, _, err := Dial(context.Background(), url, dialOpts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		if err := c.WriteMessage(MessageBinary, binary.BigEndian.AppendUint32(nil, uint32(i))); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	for range n {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("the clients' hellos did not all arrive")
		}
	}
	for i := range n {
		servers = append(servers, byID[uint32(i)])
	}
	return servers, clients
}

// helloHandler reports the id in a connection's first message and ignores the rest.
type helloHandler func(id uint32)

func (h helloHandler) OnMessage(c *Conn, _ MessageType, p []byte) {
	if len(p) == 4 {
		h(binary.BigEndian.Uint32(p))
	}
}
func (helloHandler) OnClose(*Conn, error) {}

// TestBatchDeliversEveryConnectionsFrames: 150 connections (more than two rings' rounds,
// which the batch sends as each fills, holding no more than one) each get 200 rounds of a snapshot, half of them led by a message of their own, through a
// Batch; every client must see whole frames, each round's lead just before its snapshot,
// rounds in increasing order (latest-wins may skip one a slow reader missed), and the last
// round. On Linux the frames must have gone through io_uring (Metrics.BatchedWrites), unless
// the kernel refuses it.
func TestBatchDeliversEveryConnectionsFrames(t *testing.T) {
	const conns, rounds = 150, 200
	m := new(Metrics)
	servers, clients := batchServer(t, conns, m, nil)
	errs := make(chan error, conns)
	for i, c := range clients {
		go func() { errs <- readRounds(c, uint32(i), rounds) }()
	}
	var b Batch
	for r := range rounds {
		pm, err := NewPreparedMessage(MessageBinary, binary.BigEndian.AppendUint32(bytes.Repeat([]byte{'s'}, 60), uint32(r)))
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range servers {
			if (r+i)%2 == 0 {
				err = b.WriteLatestWith(c, pm, binary.BigEndian.AppendUint32([]byte{'L'}, uint32(i)))
			} else {
				err = b.WriteLatest(c, pm)
			}
			if err != nil {
				t.Fatalf("round %d, connection %d: %v", r, i, err)
			}
		}
		b.Send()
		time.Sleep(time.Millisecond)
	}
	if cap(b.items) >= 2*ringEntries { // append rounds its growth up to a size class
		t.Errorf("the batch grew to %d items for %d connections; it should hold one round of %d", cap(b.items), conns, ringEntries)
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if batchSupported && !ringsBroken() && m.BatchedWrites.Load() == 0 {
		t.Error("no frame went through io_uring although the kernel offers it")
	}
	t.Logf("%d frames batched through io_uring, %d replaced before they went", m.BatchedWrites.Load(), m.LatestReplaced.Load())
}

// readRounds reads until the last round's snapshot, checking the order and each lead.
func readRounds(c *Conn, id uint32, rounds int) error {
	last, led := -1, false
	for {
		typ, p, err := c.ReadMessage()
		if err != nil {
			return err
		}
		switch {
		case typ == MessageBinary && len(p) == 5 && p[0] == 'L':
			if got := binary.BigEndian.Uint32(p[1:]); got != id || led {
				return errors.New("a lead for another connection, or two leads in a row")
			}
			led = true
		case typ == MessageBinary && len(p) == 64 && bytes.Equal(p[:60], bytes.Repeat([]byte{'s'}, 60)):
			r := int(binary.BigEndian.Uint32(p[60:]))
			if r <= last {
				return errors.New("rounds out of order")
			}
			if led != ((r+int(id))%2 == 0) {
				return errors.New("a snapshot without its lead, or a lead before the wrong snapshot")
			}
			last, led = r, false
			if last == rounds-1 {
				return nil
			}
		default:
			return errors.New("a frame that was never sent")
		}
	}
}

// TestBatchFullSocketFinishesInOrder: a client that reads nothing for a while fills its
// socket; the batched writes to it then go short or not at all, and the writer's queue must
// finish each frame it started before the newest one, whole, once the client reads.
func TestBatchFullSocketFinishesInOrder(t *testing.T) {
	m := new(Metrics)
	small := &DialOptions{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := new(net.Dialer).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(256 << 10) // fixed, so it cannot grow to take it all; above loopback's 64 KiB segments
		}
		return c, err
	}}
	servers, clients := batchServer(t, 2, m, small)
	var b Batch
	big := make([]byte, 900<<10) // 26 MiB in all, past any socket buffer; under the 1 MiB limit
	_, _ = rand.Read(big)        // incompressible: the clients offer permessage-deflate
	for r := range 30 {
		p := append(binary.BigEndian.AppendUint32(nil, uint32(r)), big...)
		pm, err := NewPreparedMessage(MessageBinary, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range servers {
			if err := b.WriteLatest(c, pm); err != nil {
				t.Fatal(err)
			}
		}
		b.Send()
	}
	for i, c := range clients {
		last := -1
		for last != 29 {
			p, err := readWithin(c, 10*time.Second)
			if err != nil {
				t.Fatalf("client %d after round %d: %v", i, last, err)
			}
			if len(p) != 4+len(big) || !bytes.Equal(p[4:], big) {
				t.Fatalf("client %d: a frame of %d bytes, not a whole snapshot", i, len(p))
			}
			r := int(binary.BigEndian.Uint32(p))
			if r <= last {
				t.Fatalf("client %d: round %d after %d", i, r, last)
			}
			last = r
		}
	}
	if m.LatestReplaced.Load() == 0 {
		t.Error("no snapshot was replaced: the sockets never filled, so this tested nothing")
	}
}

// TestBatchClosedConnections: a connection closed before it is added gets ErrClosed; one
// closed between its add and Send fails alone (its socket is gone when Send locks it), and
// the others still get their frames.
func TestBatchClosedConnections(t *testing.T) {
	servers, clients := batchServer(t, 3, new(Metrics), nil)
	pm, err := NewPreparedMessage(MessageBinary, []byte("snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	_ = servers[0].CloseNow()
	var b Batch
	if err := b.WriteLatest(servers[0], pm); !errors.Is(err, ErrClosed) {
		t.Errorf("a closed connection: %v, want ErrClosed", err)
	}
	for _, c := range servers[1:] {
		if err := b.WriteLatest(c, pm); err != nil {
			t.Fatal(err)
		}
	}
	_ = servers[1].CloseNow()
	if n := b.Send(); n != 1 {
		t.Errorf("Send reported %d failed writes, want 1 (the connection closed after its add)", n)
	}
	if p, err := readWithin(clients[2], 5*time.Second); err != nil || string(p) != "snapshot" {
		t.Fatalf("the open connection read %q, %v", p, err)
	}
	if err := servers[1].WriteMessage(MessageBinary, []byte("more")); err == nil {
		t.Error("the connection closed before Send still takes writes")
	}
}

// TestBatchCountsEarlyRoundsFailures: a write that fails in a round the batch sent as it
// filled, before Send, is still counted in what Send returns.
func TestBatchCountsEarlyRoundsFailures(t *testing.T) {
	const conns = ringEntries + 6
	servers, clients := batchServer(t, conns, new(Metrics), nil)
	pm, err := NewPreparedMessage(MessageBinary, []byte("snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	for i, c := range servers {
		if err := b.WriteLatest(c, pm); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			_ = c.CloseNow() // goes with the first round, sent by the add of connection 63
		}
	}
	if n := b.Send(); n != 1 {
		t.Errorf("Send reported %d failed writes, want 1 (connection 0, closed in the first round)", n)
	}
	for _, i := range []int{1, ringEntries - 1, ringEntries, conns - 1} {
		if p, err := readWithin(clients[i], 5*time.Second); err != nil || string(p) != "snapshot" {
			t.Errorf("connection %d read %q, %v", i, p, err)
		}
	}
	if n := b.Send(); n != 0 {
		t.Errorf("an empty Send reported %d failed writes", n)
	}
}

// readWithin reads c's next message, or fails after d.
func readWithin(c *Conn, d time.Duration) ([]byte, error) {
	type result struct {
		p   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		_, p, err := c.ReadMessage()
		done <- result{bytes.Clone(p), err}
	}()
	select {
	case r := <-done:
		return r.p, r.err
	case <-time.After(d):
		return nil, errors.New("no message within the time allowed")
	}
}

// TestBatchWritePreparedKeepsOrder: a prepared message added to a Batch goes in order with
// the connection's other messages, including one written while the Batch holds the writer.
func TestBatchWritePreparedKeepsOrder(t *testing.T) {
	servers, clients := batchServer(t, 1, new(Metrics), nil)
	c := servers[0]
	pm, err := NewPreparedMessage(MessageText, []byte("b"))
	if err != nil {
		t.Fatal(err)
	}
	for round := range 50 {
		var b Batch
		if err := c.WriteMessage(MessageText, []byte("a")); err != nil {
			t.Fatal(err)
		}
		if err := b.WritePrepared(c, pm); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteMessage(MessageText, []byte("c")); err != nil {
			t.Fatal(err)
		}
		if n := b.Send(); n != 0 {
			t.Fatalf("%d writes failed", n)
		}
		for _, want := range []string{"a", "b", "c"} {
			p, err := readWithin(clients[0], 5*time.Second)
			if err != nil || string(p) != want {
				t.Fatalf("round %d: read %q, %v; want %q", round, p, err, want)
			}
		}
	}
}

// TestBatchAllocatesNothing: a room's tick sends through a Batch every time, so a round of
// adds and a Send allocates nothing in steady state (the clients' reads included).
func TestBatchAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own account, and its sync.Pool drops buffers on purpose")
	}
	servers, clients := batchServer(t, 8, new(Metrics), nil)
	for _, c := range clients {
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
	pm, err := NewPreparedMessage(MessageBinary, bytes.Repeat([]byte{'s'}, 64))
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	round := func() {
		for _, c := range servers {
			_ = b.WriteLatest(c, pm)
		}
		b.Send()
	}
	round()
	if n := testing.AllocsPerRun(200, round); n > 0 {
		t.Errorf("a round of 8 sends allocated %.1f times, want none", n)
	}
	msg := bytes.Repeat([]byte{'m'}, 64)
	messages := func() {
		for _, c := range servers {
			_ = b.WriteMessage(c, MessageBinary, msg)
		}
		b.Send()
	}
	messages()
	if n := testing.AllocsPerRun(200, messages); n > 0 {
		t.Errorf("a round of 8 WriteMessage adds allocated %.1f times, want none", n)
	}
}

// TestBatchWriteMessageKeepsEachConnectionsOrder: messages added with WriteMessage, from
// servers (plain frames) and from clients (masked, each with its own key: RFC 6455 §5.3),
// arrive whole and in order with the ones the connection wrote itself meanwhile, including
// messages large enough to be compressed, which take the connection's own path.
func TestBatchWriteMessageKeepsEachConnectionsOrder(t *testing.T) {
	const conns, rounds = 80, 40
	tests := []struct {
		name string
		// open returns the connections to write to and those to read from, in pairs: a
		// server's ends and their clients, or clients whose server echoes.
		open func(t *testing.T, m *Metrics) (writers, readers []*Conn)
	}{
		{"server to client", func(t *testing.T, m *Metrics) ([]*Conn, []*Conn) {
			return batchServer(t, conns, m, nil)
		}},
		{"client to server and back", func(t *testing.T, m *Metrics) ([]*Conn, []*Conn) {
			url := servedServer(t, nil, func(*Conn) Handler { return echoHandler{} })
			var cs []*Conn
			for range conns {
				c, _, err := Dial(context.Background(), url, &DialOptions{Metrics: m})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.CloseNow() })
				cs = append(cs, c)
			}
			return cs, cs
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := new(Metrics)
			writers, readers := tt.open(t, m)
			want := make([][]string, conns)
			var b Batch
			for r := range rounds {
				for i, c := range writers {
					if r%5 == 0 { // one of its own first, which the batch must follow
						d := fmt.Sprintf("direct %d", r)
						if err := c.WriteMessage(MessageText, []byte(d)); err != nil {
							t.Fatal(err)
						}
						want[i] = append(want[i], d)
					}
					p := fmt.Sprintf("batched %d to %d", r, i)
					if r%4 == 0 { // over the 128-byte threshold: compressed, not batched
						p += strings.Repeat(" and more", 20)
					}
					if err := b.WriteMessage(c, MessageText, []byte(p)); err != nil {
						t.Fatal(err)
					}
					want[i] = append(want[i], p)
				}
				if n := b.Send(); n != 0 {
					t.Fatalf("round %d: %d writes failed", r, n)
				}
			}
			errs := make(chan error, conns)
			for i, c := range readers {
				go func() {
					for k, w := range want[i] {
						p, err := readWithin(c, 10*time.Second)
						if err != nil || string(p) != w {
							errs <- fmt.Errorf("connection %d, message %d: read %q, %v; want %q", i, k, p, err, w)
							return
						}
					}
					errs <- nil
				}()
			}
			for range conns {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			if batchSupported && !ringsBroken() && m.BatchedWrites.Load() == 0 {
				t.Error("no message went through io_uring although the kernel offers it")
			}
		})
	}
}

// TestBatchWriteMessageRefuses what WriteMessage refuses, and adds nothing.
func TestBatchWriteMessageRefuses(t *testing.T) {
	servers, _ := batchServer(t, 1, new(Metrics), nil)
	var b Batch
	for _, c := range []struct {
		typ  MessageType
		p    []byte
		want error
	}{
		{MessageType(0x9), []byte("ping"), ErrBadMessageType},
		{MessageText, []byte{0xff, 0xfe}, ErrInvalidUTF8},
	} {
		if err := b.WriteMessage(servers[0], c.typ, c.p); err != c.want {
			t.Errorf("WriteMessage(%v, % x) = %v, want %v", c.typ, c.p, err, c.want)
		}
	}
	if len(b.items) != 0 {
		t.Errorf("%d items added", len(b.items))
	}
}
