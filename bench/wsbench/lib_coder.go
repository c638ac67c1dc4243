package main

import (
	"context"
	"net/http"

	"github.com/coder/websocket"
)

func init() {
	register(&serverLib{
		name: "coder", label: "coder", order: 2,
		echo:          coderEcho,
		idle:          coderIdle,
		broadcast:     func(cfg serverConfig) broadcastServer { return &coderBroadcast{cfg: cfg} },
		upgradeWriter: coderWriter,
	})
}

func coderOptions(cfg serverConfig) *websocket.AcceptOptions {
	mode := websocket.CompressionDisabled
	if cfg.deflate {
		mode = websocket.CompressionNoContextTakeover
	}
	return &websocket.AcceptOptions{CompressionMode: mode}
}

func coderType(cfg serverConfig) websocket.MessageType {
	if cfg.text {
		return websocket.MessageText
	}
	return websocket.MessageBinary
}

// coderEcho is the canonical coder echo handler: Read/Write in the handler.
func coderEcho(cfg serverConfig) http.Handler {
	opts := coderOptions(cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		liveConns.Add(1)
		defer liveConns.Add(-1)
		defer c.CloseNow()
		ctx := context.Background()
		for {
			typ, p, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, p); err != nil {
				return
			}
		}
	})
}

// coderIdle keeps the handler goroutine in a Read loop.
func coderIdle(cfg serverConfig) http.Handler {
	opts := coderOptions(cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		liveConns.Add(1)
		defer liveConns.Add(-1)
		defer c.CloseNow()
		ctx := context.Background()
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	})
}

type coderBroadcast struct {
	cfg serverConfig
	reg registry[*websocket.Conn]
}

func (s *coderBroadcast) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, coderOptions(s.cfg))
	if err != nil {
		return
	}
	s.reg.add(c)
	defer s.reg.remove(c)
	defer c.CloseNow()
	ctx := context.Background()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return
		}
	}
}

// Broadcast writes per connection through the harness's fanOut: coder has no
// prepared-message API, so every connection compresses (and frames) the payload itself.
func (s *coderBroadcast) Broadcast(p []byte, par int) {
	ctx := context.Background()
	typ := coderType(s.cfg)
	fanOut(s.reg.locked(), par, func(c *websocket.Conn) { _ = c.Write(ctx, typ, p) })
	s.reg.unlock()
}

func coderWriter(cfg serverConfig, w http.ResponseWriter, r *http.Request) (writerFunc, error) {
	c, err := websocket.Accept(w, r, coderOptions(cfg))
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	go func() {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}()
	typ := coderType(cfg)
	return func(p []byte) error { return c.Write(ctx, typ, p) }, nil
}

func (s *coderBroadcast) Conns() int { return s.reg.len() }
