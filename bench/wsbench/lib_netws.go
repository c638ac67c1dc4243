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
		idleVariants:  []string{"inline"},
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

// netwsEcho: Accept, then `go` a ReadMessage/WriteMessage loop, and return.
func netwsEcho(cfg serverConfig) http.Handler {
	opts := netwsOptions(cfg, true)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, opts)
		if err != nil {
			return
		}
		liveConns.Add(1)
		go func() {
			defer liveConns.Add(-1)
			defer c.CloseNow()
			for {
				typ, p, err := c.ReadMessage()
				if err != nil {
					return
				}
				if err := c.WriteMessage(typ, p); err != nil {
					return
				}
			}
		}()
	})
}

func netwsReadLoop(c *ws.Conn) {
	defer liveConns.Add(-1)
	defer c.CloseNow()
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

// netwsIdle: Accept, `go` the read loop, return (variant "inline": loop in the handler).
func netwsIdle(cfg serverConfig) http.Handler {
	opts := netwsOptions(cfg, false)
	inline := cfg.variant == "inline"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, opts)
		if err != nil {
			return
		}
		liveConns.Add(1)
		if inline {
			netwsReadLoop(c)
			return
		}
		go netwsReadLoop(c)
	})
}

type netwsBroadcast struct {
	cfg serverConfig
	reg registry[*ws.Conn]
}

func (s *netwsBroadcast) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := ws.Accept(w, r, netwsOptions(s.cfg, false))
	if err != nil {
		return
	}
	s.reg.add(c)
	go func() {
		defer s.reg.remove(c)
		defer c.CloseNow()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
}

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
	c, err := ws.Accept(w, r, o)
	if err != nil {
		return nil, err
	}
	liveConns.Add(1)
	go netwsReadLoop(c)
	typ := netwsType(cfg)
	return func(p []byte) error { return c.WriteMessage(typ, p) }, nil
}

func (s *netwsBroadcast) Conns() int { return s.reg.len() }
