package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// startServer serves h on a loopback port for the duration of the test.
func startServer(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func TestGameJSONHasExactSize(t *testing.T) {
	for _, n := range []int{1, 2, 16, 64, 512, 1024, 64 << 10} {
		if got := len(gameJSON(n, 1)); got != n {
			t.Errorf("gameJSON(%d) has %d bytes", n, got)
		}
	}
	for i, s := range snapshots(snapshotVariants) {
		if ents := bytes.Count(s, []byte("],[")) + 1; len(s) != snapshotSize || ents != snapshotEntities {
			t.Errorf("snapshot %d has %d bytes, %d entities: %s", i, len(s), ents, s)
		}
	}
}

// TestEchoServersRoundTripWithCommonClient checks the raw client against every
// library's echo server, with and without permessage-deflate.
func TestEchoServersRoundTripWithCommonClient(t *testing.T) {
	for _, name := range libNames() {
		for _, deflate := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/deflate=%v", name, deflate), func(t *testing.T) {
				addr := startServer(t, libs[name].echo(serverConfig{deflate: deflate}))
				cl, err := dialWS(addr, deflate, 4096)
				if err != nil {
					t.Fatal(err)
				}
				defer cl.abort()
				if cl.deflate != deflate {
					t.Fatalf("deflate negotiated = %v (%q), want %v", cl.deflate, cl.ext, deflate)
				}
				for _, size := range []int{64, 1024, 30000} {
					p := gameJSON(size, uint64(size))
					var err error
					if cl.deflate {
						err = cl.writeFrame(opBinary, clientDeflate(p), true)
					} else {
						err = cl.writeFrame(opBinary, p, false)
					}
					if err != nil {
						t.Fatal(err)
					}
					_ = cl.c.SetReadDeadline(time.Now().Add(5 * time.Second))
					op, got, err := cl.readMessage()
					if err != nil {
						t.Fatalf("%d B: %v", size, err)
					}
					if op != opBinary || !bytes.Equal(got, p) {
						t.Fatalf("%d B: echo differs (op %d, %d bytes)", size, op, len(got))
					}
				}
			})
		}
	}
}

// TestBroadcastServersDeliverSnapshot checks every library's broadcast path end to end, at
// every fan-out the table uses (serial, and more goroutines than one) and with the
// library's own broadcast call where it has one.
func TestBroadcastServersDeliverSnapshot(t *testing.T) {
	snap := snapshots(1)[0]
	type mode struct {
		name string
		send func(bs broadcastServer)
	}
	modes := []mode{
		{"serial", func(bs broadcastServer) { bs.Broadcast(snap, 1) }},
		{"fanOut3", func(bs broadcastServer) { bs.Broadcast(snap, 3) }},
		{"own", func(bs broadcastServer) { bs.(ownBroadcaster).OwnBroadcast(snap) }},
	}
	for _, name := range libNames() {
		for _, m := range modes {
			if _, ok := libs[name].broadcast(serverConfig{}).(ownBroadcaster); m.name == "own" && !ok {
				continue
			}
			t.Run(name+"/"+m.name, func(t *testing.T) {
				testBroadcastDelivers(t, libs[name].broadcast(serverConfig{deflate: true}), snap, m.send)
			})
		}
	}
}

func testBroadcastDelivers(t *testing.T, bs broadcastServer, snap []byte, send func(broadcastServer)) {
	addr := startServer(t, bs)
	var clients []*wsClient
	for range 5 {
		cl, err := dialWS(addr, true, 4096)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.abort()
		clients = append(clients, cl)
	}
	waitLive(t, bs, len(clients))
	for round := range 2 {
		send(bs)
		for i, cl := range clients {
			_ = cl.c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, got, err := cl.readMessage()
			if err != nil {
				t.Fatalf("round %d client %d: %v", round, i, err)
			}
			if !bytes.Equal(got, snap) {
				t.Fatalf("round %d client %d: wrong payload", round, i)
			}
		}
	}
}

func waitLive(tb testing.TB, bs broadcastServer, n int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for bs.Conns() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("server registered %d connections, want %d", bs.Conns(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestClientDeflateDropsSyncTrailer(t *testing.T) {
	c := clientDeflate(bytes.Repeat([]byte("abc"), 100))
	if bytes.HasSuffix(c, []byte{0, 0, 0xff, 0xff}) {
		t.Fatal("RFC 7692 §7.2.1: the 00 00 ff ff tail must be removed")
	}
}

func TestReportRatioAgainstNetWS(t *testing.T) {
	var b strings.Builder
	o := &options{echoConns: 1, echoDuration: time.Second}
	printEcho(&b, o, []echoResult{
		{Lib: "net/ws", Payload: 64, MsgsPerSec: 100, CPUPerMsgNs: 1000},
		{Lib: "gorilla", Payload: 64, MsgsPerSec: 50, CPUPerMsgNs: 3000},
	})
	out := b.String()
	if !strings.Contains(out, "0.50") || !strings.Contains(out, "3.00") {
		t.Fatalf("ratios missing:\n%s", out)
	}
}

// ------------------------------------------------------------------ micro benchmarks

// benchWriter upgrades one loopback connection with lib and returns the server-side
// writer plus a counter of messages the common raw client has received.
func benchWriter(b *testing.B, name string, cfg serverConfig) (writerFunc, *atomic.Int64) {
	b.Helper()
	ready := make(chan writerFunc, 1)
	addr := startServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wf, err := libs[name].upgradeWriter(cfg, w, r)
		if err != nil {
			b.Error(err)
			return
		}
		ready <- wf
	}))
	cl, err := dialWS(addr, cfg.deflate, 64<<10)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.abort)
	if cl.deflate != cfg.deflate {
		b.Fatalf("deflate negotiated = %v", cl.deflate)
	}
	var got atomic.Int64
	go func() { _ = cl.countMessages(func() { got.Add(1) }) }()
	return <-ready, &got
}

func waitCount(b *testing.B, got *atomic.Int64, n int64) {
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() < n {
		if time.Now().After(deadline) {
			b.Fatalf("client received %d of %d messages", got.Load(), n)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// BenchmarkWrite: one server connection writes b.N messages to the common raw client
// over loopback; the clock stops when the client has read them all.
func BenchmarkWrite(b *testing.B) {
	cases := []struct {
		name    string
		size    int
		deflate bool
	}{
		{"64B", 64, false},
		{"1KiB-deflate", 1024, true},
	}
	for _, c := range cases {
		for _, name := range libNames() {
			b.Run(c.name+"/"+name, func(b *testing.B) {
				write, got := benchWriter(b, name, serverConfig{deflate: c.deflate})
				p := gameJSON(c.size, 3)
				waitCount(b, got, 0)
				b.SetBytes(int64(c.size))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if err := write(p); err != nil {
						b.Fatal(err)
					}
				}
				waitCount(b, got, int64(b.N))
			})
		}
	}
}

// BenchmarkBroadcast100: one snapshot to 100 loopback connections per op with each
// library's broadcast API, serially and fanned out over GOMAXPROCS goroutines by the
// same fanOut for every library (allocations include the in-process raw readers, which
// allocate nothing).
func BenchmarkBroadcast100(b *testing.B) {
	const n = 100
	snap := snapshots(1)[0]
	for _, par := range []int{1, runtime.GOMAXPROCS(0)} {
		for _, name := range libNames() {
			b.Run(fmt.Sprintf("fanout%d/%s", par, name), func(b *testing.B) {
				benchBroadcast(b, libs[name].broadcast(serverConfig{deflate: true}), n, func(bs broadcastServer) { bs.Broadcast(snap, par) })
			})
		}
	}
	if _, ok := libs["netws"]; ok {
		b.Run("ws.Broadcast/netws", func(b *testing.B) {
			bs := libs["netws"].broadcast(serverConfig{deflate: true})
			benchBroadcast(b, bs, n, func(bs broadcastServer) { bs.(ownBroadcaster).OwnBroadcast(snap) })
		})
	}
}

func benchBroadcast(b *testing.B, bs broadcastServer, n int, send func(broadcastServer)) {
	addr := startServer(b, bs)
	var got atomic.Int64
	for range n {
		cl, err := dialWS(addr, true, 4096)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(cl.abort)
		go func() { _ = cl.countMessages(func() { got.Add(1) }) }()
	}
	waitLive(b, bs, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		send(bs)
		waitCount(b, &got, int64(i+1)*int64(n))
	}
}
