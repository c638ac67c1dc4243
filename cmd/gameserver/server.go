package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rallypoint/rallypoint/client"
	"github.com/rallypoint/rallypoint/cluster"
	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/examples/shooter"
	"github.com/rallypoint/rallypoint/match"
	"github.com/rallypoint/rallypoint/net/ws"
)

// server holds what the handlers share: the open WebSocket connections, so that shutdown
// can say goodbye to each.
type server struct {
	log     *slog.Logger
	metrics *ws.Metrics
	engine  *engine.Engine
	cluster *clusterNode // nil for a single node

	mu        sync.Mutex
	conns     map[*ws.Conn]struct{}
	echoConns map[string]int // open /echo connections by client key (engine.ClientKey)
	echoTotal int
	wg        sync.WaitGroup
}

// /echo's connection limits: a public echo service is not the game, and each of its
// connections may hold a 16 MiB message on each side, so few are allowed per client and in
// all (loopback peers, a benchmark on this host, are limited in all only). The game
// endpoint's own limits are engine.Options.MaxConnsPerClient and MaxConns.
const (
	echoConnsPerClient = 8
	echoConnsTotal     = 256
)

// echoAcquire takes an /echo slot for key, or reports why not (429 or 503).
func (s *server) echoAcquire(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.echoTotal >= echoConnsTotal:
		return http.StatusServiceUnavailable
	case s.echoConns[key] >= echoConnsPerClient && !engine.IsLoopbackKey(key):
		return http.StatusTooManyRequests
	}
	if s.echoConns == nil {
		s.echoConns = make(map[string]int)
	}
	s.echoConns[key]++
	s.echoTotal++
	return 0
}

func (s *server) echoRelease(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.echoTotal--
	if s.echoConns[key]--; s.echoConns[key] <= 0 {
		delete(s.echoConns, key)
	}
}

// newServer builds the server. opts.origins are extra browser origins allowed to open game
// connections (host patterns, see ws.AcceptOptions.OriginPatterns); the page's own host is
// always allowed.
func newServer(log *slog.Logger, opts options) *server {
	m := new(ws.Metrics)
	e := engine.New(engine.Options{
		Logger: log, PeerTimeout: opts.peerTimeout,
		Accept:      ws.AcceptOptions{Metrics: m, OriginPatterns: opts.origins},
		PublicHosts: opts.publicHosts, TrustedProxies: opts.trustedProxies, ForwardedHeader: opts.forwardedHeader,
		MaxConns: opts.maxConns, MaxConnsPerClient: opts.maxConnsPerClient,
		MaxRooms:        opts.maxRooms,
		ClientRoomBurst: opts.clientRoomBurst, ClientRoomEvery: opts.clientRoomEvery,
		RoomBurst: opts.roomBurst, RoomEvery: opts.roomEvery,
	})
	// The example games, with their defaults: both are checked by their own tests, so an
	// error here is a bug in this binary, not a condition to handle.
	if err := crossword.Register(e); err != nil {
		panic("gameserver: " + err.Error())
	}
	if err := shooter.RegisterWith(e, shooter.Options{ReadOnArrival: opts.readOnArrival, PlainDeltas: opts.plainDeltas}); err != nil {
		panic("gameserver: " + err.Error())
	}
	if !opts.noMatchmaking && !opts.cluster.enabled() { // a cluster's matchmaker needs the cluster first (run)
		if err := e.EnableMatchmaking(engine.MatchmakingOptions{Queues: matchQueues}); err != nil {
			panic("gameserver: " + err.Error())
		}
	}
	return &server{log: log, metrics: m, engine: e, conns: make(map[*ws.Conn]struct{})}
}

// matchQueues are the gameserver's matchmaking queues, one per example game, behind the
// pages' "Find a match" (quick play stays the other way in):
//   - shooter: at least 2 humans in a new arena, up to its 8 seats; a lone player is put
//     in a running arena with a free seat first (backfill), so nobody waits while one exists.
//   - crossword: 2 to 16 players in a fresh puzzle of their own, never backfilled: joining
//     the big running puzzle is what quick play is for.
var matchQueues = []match.QueueConfig{
	{Mode: "shooter", MinPlayers: 2, MaxPlayers: 8, Backfill: true},
	{Mode: "crossword", MinPlayers: 2, MaxPlayers: 16},
}

// The HTTP server's defaults (flags -http-idle-timeout, -http-read-header-timeout,
// -http-max-header-bytes).
const (
	// defaultIdleTimeout closes a keep-alive connection that sends no new request for a
	// minute: a browser reuses its connection within seconds, and an idle one costs a
	// goroutine and buffers (issue 11: 2,000 idle connections were held forever).
	defaultIdleTimeout = 60 * time.Second
	// defaultReadHeaderTimeout bounds a slow request (Slowloris): a real client sends its
	// headers in one segment.
	defaultReadHeaderTimeout = 10 * time.Second
	// defaultMaxHeaderBytes is far above a browser's WebSocket handshake (about 1 KiB with
	// cookies of a few hundred bytes); larger headers get 431.
	defaultMaxHeaderBytes = 16 << 10
)

// httpServer is the http.Server the gameserver runs, with its limits:
//
//   - IdleTimeout closes keep-alive connections idle between requests. It does not touch
//     WebSocket connections: net/http lets go of a connection when a handler hijacks it
//     (clearing its deadlines), and net/ws then keeps its own (PeerTimeout, pings).
//   - ReadHeaderTimeout closes a connection whose request headers do not arrive in time.
//     The game endpoint reads no body, so there is no ReadTimeout: it would count against
//     nothing but slow uploads to pages that take none.
//   - MaxHeaderBytes refuses larger headers with 431 Request Header Fields Too Large.
func (s *server) httpServer(opts options) *http.Server {
	def := func(v, d time.Duration) time.Duration {
		if v <= 0 {
			return d
		}
		return v
	}
	maxHeader := opts.maxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = defaultMaxHeaderBytes
	}
	return &http.Server{
		Handler:           s.routes(),
		IdleTimeout:       def(opts.idleTimeout, defaultIdleTimeout),
		ReadHeaderTimeout: def(opts.readHeaderTimeout, defaultReadHeaderTimeout),
		MaxHeaderBytes:    maxHeader,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/echo", s.echo)
	// The browser SDK, built from client/src and embedded: go run needs no npm.
	mux.Handle("/client/rallypoint.js", client.Handler())
	// The game endpoint: rallypoint.v3, v2 and v1 (PROTOCOL.md).
	mux.Handle("/play", s.engine)
	// Prometheus metrics: rooms, players, connections, tick lateness, bytes, compression.
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(s.engine.Metrics(), s.metrics))
	if s.cluster != nil {
		cc := newClusterCollector(s.cluster.node, s.engine.Metrics())
		cc.mm = func() *cluster.Matchmaker { return s.cluster.mm }
		reg.MustRegister(cc)
	}
	// The standard Go runtime and process metrics (goroutines, heap, RSS, CPU seconds, open
	// file descriptors): what a soak test watches for growth.
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// The room listing as JSON (private rooms excluded); the same data as the lobby feed.
	mux.Handle("GET /rooms", s.engine.RoomsHandler())
	// The pages: the start page at / exactly (other unknown paths stay 404), and each game's
	// page under its folder. ServeMux redirects /crossword to /crossword/ (and /shooter to
	// /shooter/), which the pages need: they load their scripts by relative URLs.
	mux.Handle("GET /{$}", serveStartPage)
	mux.Handle("/crossword/", http.StripPrefix("/crossword", crossword.Web()))
	mux.Handle("/shooter/", http.StripPrefix("/shooter", shooter.Web()))
	return mux
}

// echoBudget bounds what all /echo connections together hold in messages above 64 KiB:
// four messages at the 16 MiB limit at once, and as much again in their echoes (the echo
// loop flushes each before it reads on). It is /echo's own, so that echo traffic never
// takes memory from other users of ws.DefaultMemoryBudget (the game endpoint's messages, at
// most 64 KiB, fit their allowance and never touch a budget). Its inflate rate, 32 MiB/s
// for all /echo connections together after a burst of 32 MiB, bounds the CPU of inflating
// and compressing again however many connections take turns.
var echoBudget = ws.NewMemoryBudget(ws.BudgetOptions{Limit: 64 << 20, InflateRate: 32 << 20, InflateBurst: 32 << 20})

// echoOptions are those of a public echo service: any origin (it holds nothing a foreign
// page could abuse), messages up to 16 MiB so that large-message tests pass. What a message
// of that size would let a client cost us is bounded in all (echoBudget: a bomb that finds
// it full gets 1013) and per connection in time (the default 8 MiB/s of inflation, with a
// burst of two full messages rather than the default ten seconds' worth, so a client doing
// bomb round trips buys at most 8 MiB/s of inflating and recompressing after 32 MiB).
var echoOptions = ws.AcceptOptions{
	InsecureSkipOriginCheck: true,
	Limits: ws.Limits{
		MaxFrameSize:   16 << 20,
		MaxMessageSize: 16 << 20,
		MaxQueuedBytes: 16 << 20,        // one message: the echo loop flushes each before reading on
		WriteTimeout:   5 * time.Second, // a peer that reads nothing of its echo for 5 s is gone
		MemoryBudget:   echoBudget,
		InflateBurst:   32 << 20,
	},
}

// echo sends every message back as it came, text as text and binary as binary. The handler
// returns once the handshake is done: net/ws runs the read loop (ws.Serve), so an idle echo
// connection keeps neither net/http's goroutine nor its buffers.
func (s *server) echo(w http.ResponseWriter, r *http.Request) {
	key := s.engine.ClientKey(r)
	switch s.echoAcquire(key) {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "5")
		w.Header().Set("Connection", "close")
		http.Error(w, fmt.Sprintf("too many echo connections from your address (%d open)", echoConnsPerClient), http.StatusTooManyRequests)
		return
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "15")
		w.Header().Set("Connection", "close")
		http.Error(w, fmt.Sprintf("echo service full (%d connections)", echoConnsTotal), http.StatusServiceUnavailable)
		return
	}
	opts := echoOptions
	opts.Metrics = s.metrics
	_, err := ws.Serve(w, r, &opts, func(c *ws.Conn) ws.Handler {
		if !s.track(c) {
			_ = c.Close(ws.StatusGoingAway, "server shutting down")
			s.echoRelease(key)
			return nil
		}
		return &echoConn{s: s, key: key}
	})
	if err != nil {
		s.echoRelease(key)
		s.log.Debug("echo handshake refused", "remote", r.RemoteAddr, "err", err)
	}
}

// echoConn is one /echo connection's handler.
type echoConn struct {
	s   *server
	key string
}

// OnMessage echoes p and waits for the echo to be on the wire before returning, and so
// before the next message is read: the message just read stays counted in echoBudget until
// then, so what /echo holds outbound is bounded by the budget too. Without the Flush each
// connection could keep a 16 MiB echo queued for a peer that does not read while reading the
// next one.
func (e *echoConn) OnMessage(c *ws.Conn, typ ws.MessageType, p []byte) {
	if err := c.WriteMessage(typ, p); err != nil || c.Flush() != nil {
		_ = c.CloseNow()
	}
}

// OnClose gives the connection's slots back.
func (e *echoConn) OnClose(c *ws.Conn, _ error) {
	e.s.untrack(c)
	e.s.echoRelease(e.key)
}

func (s *server) track(c *ws.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *server) untrack(c *ws.Conn) {
	s.mu.Lock()
	if s.conns != nil {
		delete(s.conns, c)
	}
	s.mu.Unlock()
	s.wg.Done()
}

// closeAll sends close 1001 to every connection and waits (bounded by ctx) for their
// handlers to finish.
func (s *server) closeAll(ctx context.Context) {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	var wg sync.WaitGroup
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.Close(ws.StatusGoingAway, "server shutting down")
		}()
	}
	wg.Wait()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// splitList parses a comma-separated flag value.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
