package ws

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDirectWritesNeedADescriptor pins what the package doc says of TLS: the write that
// goes straight to the socket, with no goroutine, and the read that waits without a buffer
// need the connection's file descriptor (syscall.Conn). A *tls.Conn has none, so over TLS
// (the gameserver's -tls-cert) every write goes through the flushing goroutine; the doc
// promised the direct path without saying so (issue 12). Both kinds of connection still
// carry messages both ways.
func TestDirectWritesNeedADescriptor(t *testing.T) {
	for _, secure := range []bool{false, true} {
		name := map[bool]string{false: "tcp", true: "tls"}[secure]
		t.Run(name, func(t *testing.T) {
			server := make(chan *Conn, 1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := accept(w, r, nil)
				if err != nil {
					return
				}
				server <- c
			})
			var srv *httptest.Server
			if secure {
				srv = httptest.NewTLSServer(h)
			} else {
				srv = httptest.NewServer(h)
			}
			defer srv.Close()
			cli := dialTestServer(t, srv)
			defer cli.CloseNow()
			sc := <-server
			defer sc.CloseNow()
			direct := sc.w.rawFn != nil && sc.r.rawFn != nil
			if want := !secure && sysIOSupported; direct != want {
				t.Fatalf("direct socket I/O %v, want %v", direct, want)
			}
			if err := sc.WriteMessage(MessageBinary, []byte("hi")); err != nil {
				t.Fatal(err)
			}
			if _, p, err := cli.ReadMessage(); err != nil || string(p) != "hi" {
				t.Fatalf("read %q, %v", p, err)
			}
		})
	}
}

// TestServeOverTLS: a served connection without a descriptor (TLS) has no poller to wait in;
// its read goroutine stays, blocked in the read, and it works as one with a descriptor does:
// messages in order, the peer's close reported once.
func TestServeOverTLS(t *testing.T) {
	h := newRecorder()
	served := make(chan *Conn, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := Serve(w, r, nil, func(*Conn) Handler { return h })
		served <- c
	}))
	defer srv.Close()
	cli := dialTestServer(t, srv)
	defer cli.CloseNow()
	for _, m := range []string{"one", "two", strings.Repeat("3", 10000)} {
		if err := cli.WriteMessage(MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
		if _, p, err := cli.ReadMessage(); err != nil || string(p) != m {
			t.Fatalf("echo of %d bytes: %d bytes, %v", len(m), len(p), err)
		}
	}
	if sc := <-served; !sc.sv.blocking {
		t.Fatal("a TLS connection was parked in the poller, which cannot see its bytes")
	}
	if err := cli.Close(StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	if got := CloseStatus(waitClosed(t, h)); got != StatusNormalClosure {
		t.Fatalf("OnClose got %v, want 1000", got)
	}
}

// dialTestServer dials srv's root, over TLS trusting srv's certificate when srv has one.
func dialTestServer(t *testing.T, srv *httptest.Server) *Conn {
	t.Helper()
	opts := &DialOptions{}
	if srv.TLS != nil {
		opts.TLSConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
