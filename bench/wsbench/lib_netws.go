//go:build !nonetws

// Build with -tags nonetws to run the harness against the three peer libraries only.

package main

import (
	"net/http"

	"github.com/rallypoint/rallypoint/net/ws"
)

func init() {
	register(&serverLib{
		name: "netws", label: "net/ws", order: 0,
		echo:          netwsEcho,
		idle:          netwsIdle,
		broadcast:     func(cfg serverConfig) broadcastServer { return &netwsBroadcast{cfg: cfg} },
		upgradeWriter: netwsWriter,
	})
}

// netwsOptions: compression is left at its default (no context takeover) unless the
// workload runs without deflate. unlimitedRate lifts the per-connection inbound
// message-rate limit, which the echo workload exceeds on purpose.
func netwsOptions(cfg serverConfig, unlimitedRate bool) *ws.AcceptOptions {
	o := &ws.AcceptOptions{InsecureSkipOriginCheck: true}
	if !cfg.deflate {
		o.Compression.Mode = ws.CompressionDisabled
	}
	if unlimitedRate {
		o.Limits.MaxMessagesPerSecond = -1
	}
	return o
}

func netwsType(cfg serverConfig) ws.MessageType {
	if cfg.text {
		return ws.MessageText
	}
	return ws.MessageBinary
}

// netwsEcho: Serve, with a Handler that writes each message back. The HTTP handler returns at
// once; the library reads the connection.
func netwsEcho(cfg serverConfig) http.Handler {
	opts := netwsOptions(cfg, true)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = ws.Serve(w, r, opts, func(*ws.Conn) ws.Handler {
			liveConns.Add(1)
			return netwsEchoer{}
		})
	})
}

// netwsEchoer writes every message back, and uncounts its connection from liveConns when
// reading ended.
type netwsEchoer struct{}

func (netwsEchoer) OnMessage(c *ws.Conn, typ ws.MessageType, p []byte) {
	// WriteMessage has copied or queued p when it returns: p can go as it is.
	if err := c.WriteMessage(typ, p); err != nil {
		_ = c.CloseNow()
	}
}

func (netwsEchoer) OnClose(*ws.Conn, error) { liveConns.Add(-1) }

// netwsCounted ignores the messages of a connection counted in liveConns, and uncounts it
// when reading ended (OnClose comes exactly once; the transport is closed by then).
type netwsCounted struct{}

func (netwsCounted) OnMessage(*ws.Conn, ws.MessageType, []byte) {}

func (netwsCounted) OnClose(*ws.Conn, error) { liveConns.Add(-1) }

// netwsServeCounted serves r with opts, counting the connection in liveConns and ignoring
// what it receives.
func netwsServeCounted(w http.ResponseWriter, r *http.Request, opts *ws.AcceptOptions) (*ws.Conn, error) {
	return ws.Serve(w, r, opts, func(*ws.Conn) ws.Handler {
		liveConns.Add(1)
		return netwsCounted{}
	})
}

// netwsIdle: Serve, with a Handler that ignores messages, and return. Serve is net/ws's only
// server handshake, so there is no shape with the read loop inside the handler.
func netwsIdle(cfg serverConfig) http.Handler {
	opts := netwsOptions(cfg, false)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = netwsServeCounted(w, r, opts)
	})
}

type netwsBroadcast struct {
	cfg serverConfig
	reg registry[*ws.Conn]
}

// ServeHTTP serves the connection with s as its Handler: registered before any message is
// read, unregistered in OnClose.
func (s *netwsBroadcast) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = ws.Serve(w, r, netwsOptions(s.cfg, false), func(c *ws.Conn) ws.Handler {
		s.reg.add(c)
		return s
	})
}

func (s *netwsBroadcast) OnMessage(*ws.Conn, ws.MessageType, []byte) {}

func (s *netwsBroadcast) OnClose(c *ws.Conn, _ error) { s.reg.remove(c) }

func (s *netwsBroadcast) prepare(p []byte) *ws.PreparedMessage {
	pm, err := ws.NewPreparedMessage(netwsType(s.cfg), p)
	if err != nil {
		panic(err)
	}
	return pm
}

// Broadcast prepares the message once (NewPreparedMessage: compressed and framed once) and
// writes it per connection with WritePrepared, through the harness's fanOut.
func (s *netwsBroadcast) Broadcast(p []byte, par int) {
	pm := s.prepare(p)
	fanOut(s.reg.locked(), par, func(c *ws.Conn) { _ = c.WritePrepared(pm) })
	s.reg.unlock()
}

// OwnBroadcast is ws.Broadcast, which serves audiences under 256 connections on the
// caller's goroutine and spreads larger ones over up to GOMAXPROCS goroutines.
func (s *netwsBroadcast) OwnBroadcast(p []byte) {
	ws.Broadcast(s.prepare(p), s.reg.locked())
	s.reg.unlock()
}

func (s *netwsBroadcast) OwnName() string { return "ws.Broadcast" }

func netwsWriter(cfg serverConfig, w http.ResponseWriter, r *http.Request) (writerFunc, error) {
	o := netwsOptions(cfg, false)
	// The micro benchmark writes in a tight loop; let the queue absorb bursts.
	o.Limits.MaxQueuedMessages = 1 << 20
	o.Limits.MaxQueuedBytes = 1 << 30
	c, err := netwsServeCounted(w, r, o)
	if err != nil {
		return nil, err
	}
	typ := netwsType(cfg)
	return func(p []byte) error { return c.WriteMessage(typ, p) }, nil
}

func (s *netwsBroadcast) Conns() int { return s.reg.len() }
