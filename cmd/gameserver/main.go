// Command gameserver runs Rallypoint on its embedded defaults, with the two example games.
//
//	go run ./cmd/gameserver            # listens on :8080: open http://localhost:8080
//	go run ./cmd/gameserver -addr 127.0.0.1:9000
//
// It serves a start page at / that links to the games' pages, /crossword/ (the massively
// multiplayer crossword) and /shooter/ (the arena shooter), with live player counts; the
// game endpoint /play (rallypoint.v3, v2 and v1), where both games are registered as "crossword" and
// "shooter"; the room listing /rooms; the browser SDK /client/rallypoint.js, which the pages
// import; Prometheus /metrics; /echo (a WebSocket echo service in the manner of the public
// ones WebSocket developers test against) and /healthz. Everything is embedded in the
// binary: it needs no files and no npm at run time. SIGINT or SIGTERM shuts it down
// gracefully: rooms run a last tick, every WebSocket client gets close 1001 (going away) and
// in-flight HTTP requests finish.
//
// Flags:
//
//	-addr :8080            listen address
//	-tls-cert, -tls-key    serve HTTPS and wss:// with this certificate and key
//	-origins a.com,*.b.com other browser origins (host patterns) allowed to connect
//	-pprof 127.0.0.1:6060  serve net/http/pprof on this separate address (off by default)
//	-http-idle-timeout 60s, -http-read-header-timeout 10s, -http-max-header-bytes 16384
//	                       the HTTP server's limits (WebSocket connections are not affected
//	                       by the idle timeout)
//	-client-room-burst, -client-room-every, -room-burst, -room-every, -max-rooms
//	                       room creation budgets (PROTOCOL.md, "Room limits")
//	-nats URL, -nats-listen HOST:PORT, -nats-dir, -node-id, -public-url, -drain
//	                       join a cluster of gameservers over NATS (README, "Three nodes
//	                       on one machine"); without -nats or -nats-listen, a single node
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rallypoint/rallypoint/cluster"
	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/match"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	tlsCert := flag.String("tls-cert", "", "TLS certificate file (PEM); with -tls-key serves HTTPS and wss:// (WebSocket writes then take net/ws's queued path, a goroutine per burst; a TLS-terminating proxy in front keeps the direct one)")
	tlsKey := flag.String("tls-key", "", "TLS private key file (PEM)")
	origins := flag.String("origins", "", "comma-separated browser origins (host patterns such as *.example.com) allowed besides the page's own host")
	pprofAddr := flag.String("pprof", "", "address for net/http/pprof (e.g. 127.0.0.1:6060); empty disables it")
	peerTimeout := flag.Duration("peer-timeout", 8*time.Second, "drop a connection whose peer has said nothing this long (a dead link) and start its seat's grace period")
	publicHosts := flag.String("public-hosts", "", "comma-separated host names browsers reach this server under (patterns such as *.example.com); when set, a browser connection addressed to another name is refused (DNS rebinding)")
	trustedProxies := flag.String("trusted-proxies", "", "comma-separated CIDRs (or addresses) of reverse proxies whose forwarded-for header names the client, for per-client limits")
	forwardedHeader := flag.String("forwarded-header", "X-Forwarded-For", "the header the trusted proxies write: X-Forwarded-For or Forwarded (RFC 7239)")
	maxConns := flag.Int("max-conns", 0, "game connections in all, beyond which the upgrade is refused with 503 (0: 3/4 of the open-file limit, at most 50000)")
	maxConnsPerClient := flag.Int("max-conns-per-client", 64, "game connections per client address (IPv6: per /64), beyond which the upgrade is refused with 429")
	var o options
	flag.DurationVar(&o.idleTimeout, "http-idle-timeout", defaultIdleTimeout, "close an HTTP keep-alive connection idle this long between requests (WebSocket connections are not affected)")
	flag.DurationVar(&o.readHeaderTimeout, "http-read-header-timeout", defaultReadHeaderTimeout, "close an HTTP connection whose request headers take longer than this to arrive")
	flag.IntVar(&o.maxHeaderBytes, "http-max-header-bytes", defaultMaxHeaderBytes, "largest request header accepted; larger ones get 431")
	flag.IntVar(&o.clientRoomBurst, "client-room-burst", 0, "rooms one client address may create at once ({create: true}); then one per -client-room-every; 0 is the engine's default (10), negative no limit")
	flag.DurationVar(&o.clientRoomEvery, "client-room-every", 0, "a client address gets one more room to create this often; 0 is the engine's default (6s)")
	flag.IntVar(&o.roomBurst, "room-burst", 0, "rooms clients together may cause at once (create, quick play, matchmaking); 0 is the engine's default (200), negative no limit")
	flag.DurationVar(&o.roomEvery, "room-every", 0, "clients together get one more room this often; 0 is the engine's default (10ms: 100 a second)")
	flag.IntVar(&o.maxRooms, "max-rooms", 0, "rooms running at once; 0 is the engine's default (10000)")
	flag.BoolVar(&o.plainDeltas, "shooter-plain-deltas", false, "the shooter's rooms send players' coordinates as differences from the acknowledged snapshot rather than from where they were heading (engine.RoomConfig.PredictDeltas): about a byte more per moving coordinate")
	flag.BoolVar(&o.readOnArrival, "shooter-read-on-arrival", false, "the shooter's rooms read each input as it arrives rather than at their tick (engine.RoomConfig.ReadAtTick): more CPU per input, pings answered up to 1/60 s sooner")
	matchmaking := flag.Bool("matchmaking", true, "serve matchmaking queues for the example games (the pages' \"Find a match\")")
	flag.StringVar(&o.cluster.natsURL, "nats", "", "NATS server URL (nats://host:4222): join that cluster of gameservers; empty (and no -nats-listen) is a single node with no NATS")
	flag.StringVar(&o.cluster.natsListen, "nats-listen", "", "run an embedded NATS server with JetStream on HOST:PORT in this process and join it, so a small cluster needs no other program")
	flag.StringVar(&o.cluster.natsDir, "nats-dir", "", "the embedded NATS server's JetStream directory (private codes survive a restart in it); default a directory under the system's temp dir")
	flag.StringVar(&o.cluster.nodeID, "node-id", "", "this node's id in the cluster (letters, digits, - and _); default hostname-port")
	flag.StringVar(&o.cluster.publicURL, "public-url", "", "the WebSocket URL browsers reach this node at (wss://eu1.example.com/play); default ws://HOST:PORT/play from -addr, 127.0.0.1 for an unspecified host")
	flag.IntVar(&o.cluster.maxPlayers, "node-max-players", 0, "in a cluster: placement sends this node no new room once it has this many players (quick play still fills its rooms' free seats); 0 is no cap, the node's share then follows its headroom")
	flag.DurationVar(&o.cluster.drain, "drain", 30*time.Second, "in a cluster: on SIGTERM, stop taking new rooms and let rooms play on this long, then move their players to another node")
	flag.Parse()
	o.noMatchmaking = !*matchmaking
	o.cluster.maxRooms = o.maxRooms // a node full of rooms is passed over by placement, not asked and refused
	if o.cluster.maxPlayers < 0 {
		fmt.Fprintln(os.Stderr, "gameserver: -node-max-players is a count of players, 0 for no cap")
		os.Exit(2)
	}
	proxies, err := parsePrefixes(*trustedProxies)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gameserver: -trusted-proxies:", err)
		os.Exit(2)
	}
	if h := http.CanonicalHeaderKey(*forwardedHeader); h != "X-Forwarded-For" && h != "Forwarded" {
		fmt.Fprintln(os.Stderr, "gameserver: -forwarded-header is X-Forwarded-For or Forwarded")
		os.Exit(2)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprintln(os.Stderr, "gameserver: -tls-cert and -tls-key go together")
		os.Exit(2)
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "addr", *addr, "err", err)
		os.Exit(1)
	}
	if *pprofAddr != "" {
		go servePprof(*pprofAddr, log)
	}
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			log.Error("load TLS certificate", "err", err)
			os.Exit(1)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	}
	o.origins, o.peerTimeout = splitList(*origins), *peerTimeout
	o.publicHosts, o.trustedProxies, o.forwardedHeader = splitList(*publicHosts), proxies, *forwardedHeader
	o.maxConns, o.maxConnsPerClient = *maxConns, *maxConnsPerClient
	o.tls = *tlsCert != ""
	if err := run(ctx, ln, log, o); err != nil {
		log.Error("server stopped", "err", err)
		os.Exit(1)
	}
}

// options are the server's settings from its flags; the zero value is the defaults.
type options struct {
	origins     []string      // browser origins allowed besides the page's own host
	peerTimeout time.Duration // engine.Options.PeerTimeout; 0 is the engine's default
	// The engine's connection and client-key settings (engine.Options fields of the same
	// names); zero values are the engine's defaults.
	publicHosts       []string
	trustedProxies    []netip.Prefix
	forwardedHeader   string
	maxConns          int
	maxConnsPerClient int

	// The HTTP server's limits (see httpServer); 0 is the default.
	idleTimeout       time.Duration
	readHeaderTimeout time.Duration
	maxHeaderBytes    int

	// Room limits: engine.Options of the same names; 0 is the engine's default.
	clientRoomBurst int
	clientRoomEvery time.Duration
	roomBurst       int
	roomEvery       time.Duration
	maxRooms        int

	// readOnArrival: the shooter's rooms read each input as it arrives (shooter.Options).
	readOnArrival bool
	// plainDeltas: the shooter's rooms do not predict (shooter.Options.PlainDeltas).
	plainDeltas bool

	noMatchmaking bool // -matchmaking=false: no queues; a client that queues gets CodeNotFound

	cluster clusterOptions // -nats, -nats-listen, -node-id, -public-url, -drain
	tls     bool           // served over TLS: the default public URL is wss://
}

// parsePrefixes reads a comma-separated list of CIDR prefixes; a bare address is its own
// prefix (/32 or /128).
func parsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range splitList(v) {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR prefix nor an address", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// run serves on ln until ctx ends, then shuts down gracefully.
func run(ctx context.Context, ln net.Listener, log *slog.Logger, opts options) error {
	s := newServer(log, opts)
	if opts.cluster.enabled() {
		cn, err := joinCluster(ctx, s.engine, ln.Addr(), opts.cluster, opts.tls, log)
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		s.cluster = cn
		defer cn.close()
		if !opts.noMatchmaking {
			// Tickets in NATS, one matcher elected among the nodes: a player queued on any
			// node is matched with players queued on the others.
			err := s.engine.EnableMatchmaking(engine.MatchmakingOptions{Queues: matchQueues, New: func(o match.Options) (match.Matchmaker, error) {
				mm, err := cluster.NewMatchmaker(cn.node, o, cluster.MatchmakerOptions{Owner: engine.SessionNode})
				cn.mm = mm
				return mm, err
			}})
			if err != nil {
				return fmt.Errorf("cluster matchmaking: %w", err)
			}
		}
	}
	hs := s.httpServer(opts)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("rallypoint listening", "addr", ln.Addr().String(), "pages", "/ /crossword/ /shooter/",
		"endpoints", "/play /rooms /client/rallypoint.js /metrics /echo /healthz")

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	if s.cluster != nil {
		// A deploy: out of placement at once, rooms play on until the drain deadline, then
		// their players are offered a room on another node.
		drainCtx, cancel := context.WithTimeout(context.Background(), opts.cluster.drain)
		moved := s.engine.Drain(drainCtx)
		cancel()
		log.Info("drained", "players moved to other nodes", moved)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Hijacked WebSocket connections are not tracked by http.Server: close them ourselves.
	// Rooms run a last tick, so inputs already received are applied, then say 1001.
	if err := s.engine.Shutdown(shutdownCtx); err != nil {
		log.Warn("rooms did not all end in time", "err", err)
	}
	log.Info("rooms ended")
	s.closeAll(shutdownCtx)
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// servePprof serves the profiler on its own address, so that it is never exposed on the
// public one by accident.
func servePprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("pprof listening", "addr", addr)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("pprof server", "err", err)
	}
}
