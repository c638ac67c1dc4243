package engine

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/net/ws"
)

// TestPingEchoesTheClientTimeAsSent: a pong ([23, client_time, server_time, tick],
// PROTOCOL.md) carries the client's time in the bytes it came in, whatever msgpack number
// form the client chose, and answering a ping allocates nothing: every SDK client pings
// once a second, an idle one included.
func TestPingEchoesTheClientTimeAsSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{Logger: slog.New(slog.DiscardHandler)})
	c := ws.NewConn(srv, true, SubprotocolV3, ws.Limits{PingInterval: -1, IdleTimeout: -1}, new(ws.Metrics))
	defer c.CloseNow()
	s := &session{e: e, c: c}
	frame := make([]byte, 64)
	// pong reads the server's unmasked binary frame and returns its payload.
	pong := func() []byte {
		_ = cli.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(cli, frame[:2]); err != nil || frame[0] != 0x82 || frame[1] > 60 {
			t.Fatalf("pong frame header %x, %v", frame[:2], err)
		}
		n := int(frame[1])
		if _, err := io.ReadFull(cli, frame[2:2+n]); err != nil {
			t.Fatal(err)
		}
		return frame[2 : 2+n]
	}
	for _, tt := range []struct {
		name string
		time []byte
	}{
		{"float 64", []byte{0xcb, 0x40, 0x97, 0x71, 0, 0, 0, 0, 0}}, // 1500.25
		{"float 32", []byte{0xca, 0x44, 0xbb, 0x88, 0}},             // 1500.25
		{"positive fixint", []byte{0x05}},
		{"uint 64 of a small number", []byte{0xcf, 0, 0, 0, 0, 0, 0, 0, 5}},
		{"negative int 16", []byte{0xd1, 0xfe, 0x0c}},
	} {
		ping := append([]byte{0x92, KindPing}, tt.time...)
		before := float64(time.Now().UnixNano()) / 1e6
		s.handle(ping)
		p := pong()
		want := append([]byte{0x94, KindPong}, tt.time...)
		if !bytes.HasPrefix(p, want) || len(p) != len(want)+10 || p[len(want)] != 0xcb || p[len(p)-1] != 0 {
			t.Errorf("%s: pong %x, want %x, a float 64 and tick 0", tt.name, p, want)
			continue
		}
		var v []any
		if err := msgpack.Unmarshal(p, &v); err != nil || len(v) != 4 {
			t.Errorf("%s: pong %x does not decode: %v", tt.name, p, err)
			continue
		}
		if st, ok := v[2].(float64); !ok || st < before || st > float64(time.Now().UnixNano())/1e6 {
			t.Errorf("%s: server time %v, not the time of the answer", tt.name, v[2])
		}
	}
	ping := []byte{0x92, KindPing, 0xcb, 0x40, 0x97, 0x71, 0, 0, 0, 0, 0}
	s.handle(ping)
	pong()
	if raceBench {
		return // the race detector allocates on its own account, and sync.Pool drops at random
	}
	if n := testing.AllocsPerRun(100, func() { s.handle(ping); pong() }); n != 0 {
		t.Errorf("answering a ping allocates %.1f times", n)
	}
}
