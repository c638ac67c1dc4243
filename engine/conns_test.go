package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/net/ws"
)

// loopback is every address a test's connections come from.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func TestClientKey(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	tests := []struct {
		name   string
		opts   engine.Options
		remote string
		header http.Header
		want   string
	}{
		{"an IPv4 peer", engine.Options{}, "203.0.113.7:5555", nil, "203.0.113.7"},
		{"an IPv6 peer is keyed by its /64", engine.Options{}, "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{"another host of the same /64", engine.Options{}, "[2001:db8:1:2:ffff::1]:443", nil, "2001:db8:1:2::/64"},
		{"an IPv6 zone is dropped", engine.Options{}, "[fe80::1%eth0]:443", nil, "fe80::/64"},
		{"a v4-mapped peer is IPv4", engine.Options{}, "[::ffff:203.0.113.7]:1", nil, "203.0.113.7"},
		{"IPv6Prefix 48", engine.Options{IPv6Prefix: 48}, "[2001:db8:1:2::1]:1", nil, "2001:db8:1::/48"},
		{"an untrusted peer's header is ignored", engine.Options{}, "203.0.113.7:1",
			http.Header{"X-Forwarded-For": {"198.51.100.1"}}, "203.0.113.7"},
		{"a trusted proxy's header is believed", engine.Options{TrustedProxies: proxies}, "10.0.0.1:1",
			http.Header{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"what the client wrote left of it is not", engine.Options{TrustedProxies: proxies}, "10.0.0.1:1",
			http.Header{"X-Forwarded-For": {"192.0.2.66, 198.51.100.1"}}, "198.51.100.1"},
		{"nor in an earlier header line", engine.Options{TrustedProxies: proxies}, "10.0.0.1:1",
			http.Header{"X-Forwarded-For": {"192.0.2.66", "198.51.100.1"}}, "198.51.100.1"},
		{"through a chain of trusted proxies", engine.Options{TrustedProxies: proxies}, "10.0.0.1:1",
			http.Header{"X-Forwarded-For": {"192.0.2.66, 198.51.100.1, 10.9.9.9"}}, "198.51.100.1"},
		{"a forwarded address with a port", engine.Options{TrustedProxies: proxies}, "10.0.0.1:1",
			http.Header{"X-Forwarded-For": {"198.51.100.1:4711"}}, "198.51.100.1"},
		{"a forwarded IPv6 address by its /64", engine.Options{TrustedProxies: proxies}, "[2001:db8:ffff::1]:1",
			http.Header{"X-Forwarded-For": {"2001:db8:5:6:7::8"}}, "2001:db8:5:6::/64"},
		{"an unknown hop stands for the proxy", engine.Options{TrustedProxies: proxies}, "10.0.0.1:1",
			http.Header{"X-Forwarded-For": {"192.0.2.66, unknown"}}, "10.0.0.1"},
		{"a proxy that forwarded for no one", engine.Options{TrustedProxies: proxies}, "10.0.0.1:1", nil, "10.0.0.1"},
		{"Forwarded, RFC 7239", engine.Options{TrustedProxies: proxies, ForwardedHeader: "Forwarded"}, "10.0.0.1:1",
			http.Header{"Forwarded": {`for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::/64"},
		{"Forwarded with a quoted comma", engine.Options{TrustedProxies: proxies, ForwardedHeader: "forwarded"}, "10.0.0.1:1",
			http.Header{"Forwarded": {`for=192.0.2.66, For=198.51.100.1;ext="a,for=192.0.2.77"`}}, "198.51.100.1"},
		{"Forwarded with an obfuscated hop", engine.Options{TrustedProxies: proxies, ForwardedHeader: "Forwarded"}, "10.0.0.1:1",
			http.Header{"Forwarded": {`for=192.0.2.66, for=_hidden`}}, "10.0.0.1"},
		{"Forwarded configured, X-Forwarded-For ignored", engine.Options{TrustedProxies: proxies, ForwardedHeader: "Forwarded"}, "10.0.0.1:1",
			http.Header{"X-Forwarded-For": {"198.51.100.1"}}, "10.0.0.1"},
		{"X-Forwarded-For configured, Forwarded ignored", engine.Options{TrustedProxies: proxies}, "10.0.0.1:1",
			http.Header{"Forwarded": {"for=198.51.100.1"}}, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Logger = slog.New(slog.DiscardHandler)
			e := engine.New(tt.opts)
			r := httptest.NewRequest("GET", "/play", nil)
			r.RemoteAddr = tt.remote
			for k, v := range tt.header {
				r.Header[http.CanonicalHeaderKey(k)] = v
			}
			if got := e.ClientKey(r); got != tt.want {
				t.Fatalf("ClientKey = %q, want %q", got, tt.want)
			}
		})
	}
}

// dialAs opens a game connection through the test's trusted proxy (its loopback address)
// for the client at from ("" for none: the peer itself). It returns the connection, or the
// HTTP status and Retry-After of the refusal.
func (te *testEngine) dialAs(t *testing.T, from string) (c *ws.Conn, status int, retry string) {
	t.Helper()
	h := http.Header{}
	if from != "" {
		h.Set("X-Forwarded-For", from)
	}
	c, resp, err := ws.Dial(ctx5(t), te.url, &ws.DialOptions{Header: h, Subprotocols: []string{engine.Subprotocol}})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return nil, resp.StatusCode, resp.Header.Get("Retry-After")
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, http.StatusSwitchingProtocols, ""
}

// TestConnectionsArePerClientAndInAllBounded opens game connections through real sockets,
// as clients behind a trusted proxy: beyond MaxConnsPerClient for one client (an address,
// or an IPv6 /64) the upgrade is refused with 429, beyond MaxConns for the server with 503,
// both with Retry-After; a slot frees when a connection closes. Without the proxy trusted,
// every client behind it is one.
func TestConnectionsArePerClientAndInAllBounded(t *testing.T) {
	type dial struct {
		from  string
		want  int  // HTTP status
		close bool // close this connection (once open) before the next dial
	}
	const ok, perClient, full = http.StatusSwitchingProtocols, http.StatusTooManyRequests, http.StatusServiceUnavailable
	tests := []struct {
		name  string
		opts  engine.Options
		dials []dial
	}{
		{"per client", engine.Options{MaxConnsPerClient: 2, TrustedProxies: loopback}, []dial{
			{from: "198.51.100.1", want: ok},
			{from: "198.51.100.1", want: ok},
			{from: "198.51.100.1", want: perClient},
			{from: "198.51.100.2", want: ok},
			{from: "198.51.100.2", want: ok, close: true},
			{from: "198.51.100.2", want: ok},
			{from: "198.51.100.2", want: perClient},
		}},
		{"per IPv6 /64", engine.Options{MaxConnsPerClient: 2, TrustedProxies: loopback}, []dial{
			{from: "2001:db8:1:2::1", want: ok},
			{from: "2001:db8:1:2::2", want: ok},
			{from: "2001:db8:1:2:ffff:ffff:ffff:ffff", want: perClient},
			{from: "2001:db8:1:3::1", want: ok},
		}},
		{"in all", engine.Options{MaxConns: 3, TrustedProxies: loopback}, []dial{
			{from: "198.51.100.1", want: ok},
			{from: "198.51.100.2", want: ok},
			{from: "198.51.100.3", want: ok, close: true},
			{from: "198.51.100.4", want: ok},
			{from: "198.51.100.5", want: full},
		}},
		{"loopback (a load generator, a proxy on this host not trusted) is not limited per client", engine.Options{MaxConnsPerClient: 2}, []dial{
			{from: "198.51.100.1", want: ok}, // the header is not believed: each is 127.0.0.1
			{from: "198.51.100.2", want: ok},
			{from: "198.51.100.3", want: ok},
		}},
		{"a trusted proxy's forwarded loopback is loopback", engine.Options{MaxConnsPerClient: 1, TrustedProxies: loopback}, []dial{
			{from: "::1", want: ok},
			{from: "::1", want: ok},
			{from: "198.51.100.1", want: ok},
			{from: "198.51.100.1", want: perClient},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := startEngine(t, engine.RoomConfig{}, tt.opts)
			m := te.e.Metrics()
			var refused429, refused503 int64
			for i, d := range tt.dials {
				c, status, retry := te.dialAs(t, d.from)
				if status != d.want {
					t.Fatalf("dial %d from %s: status %d, want %d", i, d.from, status, d.want)
				}
				switch status {
				case perClient:
					refused429++
				case full:
					refused503++
				}
				if status != ok && retry == "" {
					t.Fatalf("dial %d: %d without Retry-After", i, status)
				}
				if d.close {
					open := m.Conns.Load()
					c.Close(ws.StatusNormalClosure, "")
					waitFor(t, "the closed connection's slot freed", func() bool { return m.Conns.Load() == open-1 })
				}
			}
			if m.ConnsRefusedPerClient.Load() != refused429 || m.ConnsRefused.Load() != refused503 {
				t.Fatalf("metrics: %d refused per client, %d in all; want %d and %d",
					m.ConnsRefusedPerClient.Load(), m.ConnsRefused.Load(), refused429, refused503)
			}
		})
	}
}

// TestCodeGuessesAreLimitedPerNetwork guesses join codes through real sockets from IPv6
// clients behind a trusted proxy: hosts of one /64 share one allowance (before, each of its
// 2^64 addresses had its own), another /64 has its own.
func TestCodeGuessesAreLimitedPerNetwork(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{TrustedProxies: loopback})
	guess := func(from string) engine.Code {
		h := http.Header{"X-Forwarded-For": {from}}
		c, err := gameclient.Dial(ctx5(t), te.url, &ws.DialOptions{Header: h})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Conn().CloseNow()
		_, err = c.Join(ctx5(t), engine.JoinOptions{Code: "XXXXXX"})
		var e *engine.Error
		if !asError(err, &e) {
			t.Fatalf("guess from %s answered %v", from, err)
		}
		return e.Code
	}
	tests := []struct {
		from string
		want engine.Code
	}{
		{"2001:db8:1:2::1", engine.CodeNotFound},
		{"2001:db8:1:2::2", engine.CodeNotFound},
		{"2001:db8:1:2::3", engine.CodeNotFound},
		{"2001:db8:1:2::4", engine.CodeNotFound},
		{"2001:db8:1:2::5", engine.CodeNotFound}, // the fifth wrong guess of 2001:db8:1:2::/64
		{"2001:db8:1:2::6", engine.CodeTooManyGuesses},
		{"2001:db8:1:2:ffff::1", engine.CodeTooManyGuesses},
		{"2001:db8:1:3::1", engine.CodeNotFound},
		{"198.51.100.1", engine.CodeNotFound},
	}
	for _, tt := range tests {
		if got := guess(tt.from); got != tt.want {
			t.Fatalf("a wrong code from %s answered %d, want %d", tt.from, got, tt.want)
		}
	}
}

// TestPublicHostsRefuseDNSRebinding dials through real sockets with the Host and Origin a
// browser sends. With PublicHosts pinned, a page whose own name resolves to this server (DNS
// rebinding: Origin and Host agree, both the attacker's) is refused with 403 and a reason,
// and counted; pinned names and their pages pass, and non-browser clients (no Origin) are
// not affected. Without a pin, the same-host rule stands, rebinding shape and all.
func TestPublicHostsRefuseDNSRebinding(t *testing.T) {
	pinned := engine.Options{PublicHosts: []string{"play.example.com", "*.example.org"}}
	tests := []struct {
		name    string
		opts    engine.Options
		host    string // the URL's host (and so the Host header), without port
		origin  string
		want    int
		because string // in the 403's body
	}{
		{"pinned: same host", pinned, "play.example.com", "https://play.example.com", 101, ""},
		{"pinned: a page on another pinned name", pinned, "play.example.com", "https://www.example.org", 101, ""},
		{"pinned: DNS rebinding", pinned, "evil.test", "http://evil.test", 403, `Host "evil.test:`},
		{"pinned: a foreign page", pinned, "play.example.com", "https://evil.test", 403, `"evil.test:`},
		{"pinned: no Origin, not a browser", pinned, "127.0.0.1", "", 101, ""},
		{"pinned: a pattern", pinned, "eu.example.org", "https://eu.example.org", 101, ""},
		{"not pinned: same host", engine.Options{}, "play.example.com", "https://play.example.com", 101, ""},
		{"not pinned: the rebinding shape passes", engine.Options{}, "evil.test", "http://evil.test", 101, ""},
		{"not pinned: a foreign page", engine.Options{}, "play.example.com", "https://evil.test", 403, `"evil.test:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := startEngine(t, engine.RoomConfig{}, tt.opts)
			addr := strings.TrimPrefix(te.url, "ws://")
			_, port, _ := net.SplitHostPort(addr)
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin+":"+port)
			}
			var d net.Dialer
			c, resp, err := ws.Dial(ctx5(t), "ws://"+net.JoinHostPort(tt.host, port)+"/", &ws.DialOptions{
				Header: h, Subprotocols: []string{engine.Subprotocol},
				// Every name resolves to this server, as the rebinding attacker arranges.
				NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return d.DialContext(ctx, network, addr)
				},
			})
			status := 101
			var body string
			if err != nil {
				if resp == nil {
					t.Fatal(err)
				}
				status = resp.StatusCode
				b, _ := io.ReadAll(resp.Body)
				body = string(b)
			} else {
				c.CloseNow()
			}
			if status != tt.want || !strings.Contains(body, tt.because) {
				t.Fatalf("status %d %q, want %d with %q", status, body, tt.want, tt.because)
			}
			if refused := te.e.Metrics().OriginsRefused.Load(); refused != map[bool]int64{true: 1}[status == 403] {
				t.Fatalf("OriginsRefused = %d", refused)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRefusedOriginsAreLoggedRateLimited: a page on another origin used to meet only
// "connection closed", with nothing in the server's log (issue 12). Each refusal is answered
// 403 with the reason in the body (which curl and operators read; a browser does not expose
// it), counted, and logged with the origin and the host, at most 5 lines per 10 s: a hostile
// page can make every visitor's browser try.
func TestRefusedOriginsAreLoggedRateLimited(t *testing.T) {
	var logs syncBuffer
	te := startEngine(t, engine.RoomConfig{}, engine.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	addr := strings.TrimPrefix(te.url, "ws://")
	const tries = 8
	for range tries {
		h := http.Header{}
		h.Set("Origin", "https://evil.test")
		_, resp, err := ws.Dial(ctx5(t), te.url, &ws.DialOptions{Header: h, Subprotocols: []string{engine.Subprotocol}})
		if err == nil || resp == nil {
			t.Fatalf("a foreign origin was not refused before the upgrade: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `origin not allowed: "evil.test" is not "`+addr+`"`) {
			t.Fatalf("refusal %d %q", resp.StatusCode, body)
		}
	}
	if n := te.e.Metrics().OriginsRefused.Load(); n != tries {
		t.Fatalf("OriginsRefused = %d, want %d", n, tries)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "refused a browser connection for its origin" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 5 {
		t.Fatalf("%d log lines for %d refusals, want the first 5: %v", len(lines), tries, lines)
	}
	if l := lines[0]; l["level"] != "WARN" || l["origin"] != "https://evil.test" || l["host"] != addr || !strings.Contains(fmt.Sprint(l["reason"]), "evil.test") {
		t.Fatalf("log line %v lacks the level, origin, host or reason", l)
	}
}
