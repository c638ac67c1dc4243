package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/net/ws"
)

// startServer runs the real server on a loopback port and returns its address and a function
// that shuts it down as SIGTERM would.
func startServer(t *testing.T) (string, func() error) {
	t.Helper()
	return startServerLogging(t, slog.New(slog.DiscardHandler))
}

// startServerLogging is startServer with the server's log going to log.
func startServerLogging(t *testing.T, log *slog.Logger) (string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, ln, log, options{}) }()
	stop := func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("server did not shut down")
			return nil
		}
	}
	t.Cleanup(func() { cancel() })
	return ln.Addr().String(), stop
}

func TestHealthz(t *testing.T) {
	addr, stop := startServer(t)
	defer stop()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
}

func TestEchoServiceEchoesTextAndBinaryWithDeflate(t *testing.T) {
	addr, stop := startServer(t)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := ws.Dial(ctx, "ws://"+addr+"/echo", &ws.DialOptions{Limits: ws.Limits{MaxMessageSize: 16 << 20, MaxFrameSize: 16 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if !c.Compressed() {
		t.Fatalf("permessage-deflate not negotiated: %q", c.Extensions())
	}
	cases := []struct {
		typ ws.MessageType
		p   []byte
	}{
		{ws.MessageText, []byte("hello, rallypoint")},
		{ws.MessageBinary, []byte{0, 1, 2, 0xff}},
		{ws.MessageBinary, bytes.Repeat([]byte("snapshot "), 200000)}, // ~1.8 MB
	}
	for _, tc := range cases {
		if err := c.WriteMessage(tc.typ, tc.p); err != nil {
			t.Fatal(err)
		}
		typ, p, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if typ != tc.typ || !bytes.Equal(p, tc.p) {
			t.Fatalf("echo of %d-byte %v message came back as %d-byte %v", len(tc.p), tc.typ, len(p), typ)
		}
	}
}

func TestShutdownSendsGoingAway(t *testing.T) {
	addr, stop := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := ws.Dial(ctx, "ws://"+addr+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	got := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		got <- err
	}()
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	select {
	case err := <-got:
		if ws.CloseStatus(err) != ws.StatusGoingAway {
			t.Fatalf("client saw %v, want close 1001", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("client never saw the close")
	}
}

// playCrossword joins the crossword on /play and waits for its second snapshot.
func playCrossword(t *testing.T, addr string) *gameclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := gameclient.Dial(ctx, "ws://"+addr+"/play", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Conn().CloseNow() })
	j, err := c.Join(ctx, engine.JoinOptions{Game: "crossword"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSnapshot(ctx, j.Tick+2); err != nil {
		t.Fatalf("no snapshot from the crossword room: %v", err)
	}
	return c
}

func TestCrosswordIsPlayableOverPlay(t *testing.T) {
	addr, stop := startServer(t)
	defer stop()
	playCrossword(t, addr)
}

func TestShooterIsPlayableOverPlay(t *testing.T) {
	addr, stop := startServer(t)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := gameclient.Dial(ctx, "ws://"+addr+"/play", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Conn().CloseNow()
	j, err := c.Join(ctx, engine.JoinOptions{Game: "shooter"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSnapshot(ctx, j.Tick+2); err != nil {
		t.Fatalf("no snapshot from the shooter room: %v", err)
	}
}

func TestServesTheBrowserSDK(t *testing.T) {
	addr, stop := startServer(t)
	defer stop()
	resp, err := http.Get("http://" + addr + "/client/rallypoint.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || !bytes.Contains(body, []byte("rallypoint.v1")) {
		t.Fatalf("/client/rallypoint.js: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
}

func TestMetricsExportsEngineAndConnectionSeries(t *testing.T) {
	addr, stop := startServer(t)
	defer stop()
	playCrossword(t, addr)
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"rallypoint_rooms 1", "rallypoint_players 1", "rallypoint_players_away 0", "rallypoint_connections 1",
		"rallypoint_tick_lateness_seconds_bucket", "rallypoint_bytes_out_total", "rallypoint_compression_ratio",
		"rallypoint_slow_consumers_total 0", "rallypoint_ws_frame_floods_total 0", "rallypoint_ws_budget_held_bytes 0", "go_goroutines ", "process_resident_memory_bytes ",
		"rallypoint_game_connections 1", `rallypoint_connections_refused_total{limit="client"} 0`,
		`rallypoint_connections_refused_total{limit="server"} 0`, "rallypoint_origins_refused_total 0",
		"rallypoint_requests_refused_total 0", "rallypoint_input_decoder_panics_total 0",
		"rallypoint_malformed_messages_total 0",

		"rallypoint_rooms_asleep 0", "rallypoint_rooms_created_total 1", "rallypoint_rooms_moved_total 0", `rallypoint_rooms_refused_total{reason="client"} 0`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in   string
		want string // the prefixes, space-separated; "error" for a refusal
	}{
		{"", ""},
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.1.2.3/8, ::1", "10.0.0.0/8 ::1/128"},
		{"192.0.2.7,2001:db8::/32", "192.0.2.7/32 2001:db8::/32"},
		{"proxy.example.com", "error"},
		{"10.0.0.0/33", "error"},
	}
	for _, tt := range tests {
		ps, err := parsePrefixes(tt.in)
		got := "error"
		if err == nil {
			var s []string
			for _, p := range ps {
				s = append(s, p.String())
			}
			got = strings.Join(s, " ")
		}
		if got != tt.want {
			t.Errorf("parsePrefixes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestEchoConnectionsAreLimitedPerClient: /echo holds up to 16 MiB per message each way, so
// one client gets echoConnsPerClient connections and then 429 with Retry-After (issue 11:
// three clients that never read grew the server by hundreds of MiB); another client is not
// affected, nor is a loopback peer (a benchmark on this host).
func TestEchoConnectionsAreLimitedPerClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	go func() { errc <- run(ctx, ln, slog.New(slog.DiscardHandler), options{trustedProxies: loopback}) }()
	defer func() { cancel(); <-errc }()
	url := "ws://" + ln.Addr().String() + "/echo"
	dial := func(from string) int {
		h := http.Header{}
		if from != "" {
			h.Set("X-Forwarded-For", from)
		}
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		c, resp, err := ws.Dial(dctx, url, &ws.DialOptions{Header: h})
		if err != nil {
			if resp == nil {
				t.Fatalf("dial from %q: %v", from, err)
			}
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("%d without Retry-After", resp.StatusCode)
			}
			return resp.StatusCode
		}
		t.Cleanup(func() { c.CloseNow() })
		return http.StatusSwitchingProtocols
	}
	tests := []struct {
		from string
		n    int
		want int // status of the last
	}{
		{"198.51.100.1", echoConnsPerClient, http.StatusSwitchingProtocols},
		{"198.51.100.1", 1, http.StatusTooManyRequests},
		{"198.51.100.2", 1, http.StatusSwitchingProtocols},
		{"", echoConnsPerClient + 2, http.StatusSwitchingProtocols}, // loopback: limited in all only
	}
	for i, tt := range tests {
		var got int
		for range tt.n {
			got = dial(tt.from)
		}
		if got != tt.want {
			t.Fatalf("step %d: %d connections from %q: the last got %d, want %d", i, tt.n, tt.from, got, tt.want)
		}
	}
}
