package ws

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fakeServer answers one handshake with whatever respond returns for the request.
func fakeServer(t *testing.T, respond func(r *http.Request) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		r, err := http.ReadRequest(bufio.NewReader(nc))
		if err != nil {
			return
		}
		nc.Write([]byte(respond(r)))
		time.Sleep(200 * time.Millisecond)
	}()
	return "ws://" + ln.Addr().String() + "/"
}

func switching(r *http.Request, extra string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		acceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n" + extra + "\r\n"
}

// TestDialVerifiesTheServersAnswer checks RFC 6455 §4.1's list of reasons a client must fail
// the connection, and RFC 7692 §7.1's rule that a server may agree only to what was offered.
func TestDialVerifiesTheServersAnswer(t *testing.T) {
	tests := []struct {
		name    string
		opts    *DialOptions
		respond func(r *http.Request) string
		ok      bool
	}{
		{"valid answer", nil, func(r *http.Request) string { return switching(r, "") }, true},
		{"wrong accept key", nil, func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
		}, false},
		{"not 101", nil, func(r *http.Request) string { return "HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope" }, false},
		{"missing Upgrade", nil, func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		}, false},
		{"subprotocol not offered", &DialOptions{Subprotocols: []string{"rallypoint.v1"}}, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Protocol: chat\r\n")
		}, false},
		{"subprotocol offered", &DialOptions{Subprotocols: []string{"rallypoint.v1"}}, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Protocol: rallypoint.v1\r\n")
		}, true},
		{"extension when none offered", &DialOptions{Compression: CompressionOptions{Mode: CompressionDisabled}}, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
		}, false},
		{"unknown extension", nil, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n")
		}, false},
		{"deflate with unknown parameter", nil, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate; x=1\r\n")
		}, false},
		{"deflate with window bits 16", nil, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n")
		}, false},
		{"deflate accepted", nil, func(r *http.Request) string {
			return switching(r, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := fakeServer(t, tt.respond)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			c, _, err := Dial(ctx, url, tt.opts)
			if tt.ok {
				if err != nil {
					t.Fatalf("Dial failed: %v", err)
				}
				c.CloseNow()
				return
			}
			if err == nil {
				c.CloseNow()
				t.Fatal("Dial accepted a bad answer")
			}
			if !errors.Is(err, ErrBadHandshake) {
				t.Fatalf("error %v does not wrap ErrBadHandshake", err)
			}
		})
	}
}

func TestDialSendsAValidRequest(t *testing.T) {
	got := make(chan *http.Request, 1)
	url := fakeServer(t, func(r *http.Request) string { got <- r; return switching(r, "") })
	c := dial(t, url, &DialOptions{Subprotocols: []string{"a", "b"}, Header: http.Header{"Origin": {"http://example.com"}}})
	defer c.CloseNow()
	r := <-got
	checks := map[string]string{
		"Upgrade":                  "websocket",
		"Connection":               "Upgrade",
		"Sec-WebSocket-Version":    "13",
		"Sec-WebSocket-Protocol":   "a, b",
		"Origin":                   "http://example.com",
		"Sec-WebSocket-Extensions": "permessage-deflate",
	}
	for k, want := range checks {
		if v := r.Header.Get(k); !strings.HasPrefix(v, want) {
			t.Errorf("%s: %q, want %q", k, v, want)
		}
	}
	if !validKey(r.Header.Get("Sec-WebSocket-Key")) {
		t.Errorf("Sec-WebSocket-Key %q is not base64 of 16 bytes", r.Header.Get("Sec-WebSocket-Key"))
	}
}

func TestDialHonoursContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			defer nc.Close()
			time.Sleep(2 * time.Second) // never answers
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = Dial(ctx, "ws://"+ln.Addr().String(), nil)
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("Dial against a silent server: err=%v after %v", err, time.Since(start))
	}
}
