package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/gameclient"
)

// serveWith runs the real server with opts on a loopback port until the test ends.
func serveWith(t *testing.T, opts options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, ln, slog.New(slog.DiscardHandler), opts) }()
	t.Cleanup(func() { cancel(); <-errc })
	return ln.Addr().String()
}

// closedByServer waits (10 s at most, a hang detector) for the server to close c.
func closedByServer(t *testing.T, c net.Conn, r io.Reader) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	return err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

// TestHTTPServerClosesIdleAndSlowConnections: keep-alive connections idle past
// -http-idle-timeout and requests whose headers stall past -http-read-header-timeout are
// closed (issue 11: 2,000 idle keep-alive connections were held forever).
func TestHTTPServerClosesIdleAndSlowConnections(t *testing.T) {
	addr := serveWith(t, options{idleTimeout: 100 * time.Millisecond, readHeaderTimeout: 100 * time.Millisecond})
	tests := []struct {
		name string
		send string
	}{
		{"idle after a request", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"headers never finished", "GET /healthz HTTP/1.1\r\nHost: x\r\n"},
		{"nothing sent", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tt.send); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			if strings.HasSuffix(tt.send, "\r\n\r\n") {
				res, err := http.ReadResponse(br, nil)
				if err != nil || res.StatusCode != http.StatusOK || res.Close {
					t.Fatalf("keep-alive request: %v, %+v", err, res)
				}
				_, _ = io.Copy(io.Discard, res.Body)
			}
			if !closedByServer(t, c, br) {
				t.Fatal("the server kept the connection open")
			}
		})
	}
}

func TestHTTPServerRefusesHugeHeaders(t *testing.T) {
	addr := serveWith(t, options{maxHeaderBytes: 4 << 10})
	req, _ := http.NewRequest("GET", "http://"+addr+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a 16 KiB header with a 4 KiB limit: %s, want 431", res.Status)
	}
}

// TestIdleTimeoutSparesWebSockets: a game connection quiet for many idle timeouts is still
// served: net/http lets go of hijacked connections, and IdleTimeout must not reach them.
func TestIdleTimeoutSparesWebSockets(t *testing.T) {
	const idle = 50 * time.Millisecond
	addr := serveWith(t, options{idleTimeout: idle, readHeaderTimeout: idle})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := gameclient.Dial(ctx, "ws://"+addr+"/play", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Conn().CloseNow()
	time.Sleep(10 * idle) // quiet: nothing sent by the client
	if _, err := c.Join(ctx, engine.JoinOptions{Game: "shooter"}); err != nil {
		t.Fatalf("join after %v of quiet on a server with a %v idle timeout: %v", 10*idle, idle, err)
	}
}
