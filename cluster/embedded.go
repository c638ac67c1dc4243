package cluster

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedOptions configure an in-process NATS server.
type EmbeddedOptions struct {
	// Addr is where clients connect, HOST:PORT. ":0" (or "127.0.0.1:0") picks a free port,
	// as tests do; an empty host listens on every interface.
	Addr string
	// Dir keeps JetStream's files: private codes survive a restart of the server
	// only if it is given the same Dir again. Required.
	Dir string
	// Name is the server's name in NATS (monitoring, logs); default "rallypoint".
	Name string
	// ReadyTimeout bounds the wait for the server to accept connections; default 10 s.
	ReadyTimeout time.Duration
	// Log turns the server's own log on (to stderr). Off by default: a game server's log is
	// for its games.
	Log bool
}

// Embedded runs a NATS server with JetStream inside this process and returns the URL its
// clients use and a shutdown that stops it and waits until it has.
//
// It is for tests and for a small cluster that wants no other program (the gameserver's
// -nats-listen): the other nodes connect to it like to any NATS server. What it costs: the
// server is a single point of failure (when this process dies, the cluster loses NATS until
// it is back) and its memory and disk are this process's; production runs a NATS cluster of
// three with replicated buckets instead (Options.Replicas).
func Embedded(opts EmbeddedOptions) (url string, shutdown func(), err error) {
	if opts.Dir == "" {
		return "", nil, errors.New("cluster: embedded NATS needs a directory for JetStream")
	}
	host, portText, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return "", nil, fmt.Errorf("cluster: embedded NATS address %q: %w", opts.Addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", nil, fmt.Errorf("cluster: embedded NATS address %q: bad port", opts.Addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	name := opts.Name
	if name == "" {
		name = "rallypoint"
	}
	sopts := &server.Options{
		ServerName: name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   opts.Dir,
		NoLog:      !opts.Log,
		NoSigs:     true, // signals belong to the process that embeds us
	}
	s, err := server.NewServer(sopts)
	if err != nil {
		return "", nil, fmt.Errorf("cluster: embedded NATS: %w", err)
	}
	if opts.Log {
		s.ConfigureLogger()
	}
	s.Start()
	wait := opts.ReadyTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	if !s.ReadyForConnections(wait) {
		s.Shutdown()
		s.WaitForShutdown()
		return "", nil, fmt.Errorf("cluster: embedded NATS on %s not ready within %v", opts.Addr, wait)
	}
	addr, ok := s.Addr().(*net.TCPAddr)
	if !ok {
		s.Shutdown()
		s.WaitForShutdown()
		return "", nil, errors.New("cluster: embedded NATS has no TCP listener")
	}
	dial := host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		dial = "127.0.0.1" // listening everywhere: this process reaches it on loopback
	}
	url = "nats://" + net.JoinHostPort(dial, strconv.Itoa(addr.Port))
	return url, func() { s.Shutdown(); s.WaitForShutdown() }, nil
}
