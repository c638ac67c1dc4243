package main

import (
	"net/http"

	"github.com/gorilla/websocket"
)

func init() {
	register(&serverLib{
		name: "gorilla", label: "gorilla", order: 1,
		echo:          gorillaEcho,
		idle:          gorillaIdle,
		broadcast:     func(cfg serverConfig) broadcastServer { return &gorillaBroadcast{up: gorillaUpgrader(cfg), cfg: cfg} },
		upgradeWriter: gorillaWriter,
	})
}

func gorillaUpgrader(cfg serverConfig) *websocket.Upgrader {
	return &websocket.Upgrader{EnableCompression: cfg.deflate}
}

func gorillaType(cfg serverConfig) int {
	if cfg.text {
		return websocket.TextMessage
	}
	return websocket.BinaryMessage
}

// gorillaEcho is the canonical gorilla echo handler: ReadMessage/WriteMessage in the handler.
func gorillaEcho(cfg serverConfig) http.Handler {
	up := gorillaUpgrader(cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		liveConns.Add(1)
		defer liveConns.Add(-1)
		defer c.Close()
		for {
			mt, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, p); err != nil {
				return
			}
		}
	})
}

// gorillaIdle keeps the handler goroutine in a ReadMessage loop.
func gorillaIdle(cfg serverConfig) http.Handler {
	up := gorillaUpgrader(cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		liveConns.Add(1)
		defer liveConns.Add(-1)
		defer c.Close()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
}

type gorillaBroadcast struct {
	up  *websocket.Upgrader
	cfg serverConfig
	reg registry[*websocket.Conn]
}

func (s *gorillaBroadcast) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.reg.add(c)
	defer s.reg.remove(c)
	defer c.Close()
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

// Broadcast prepares the frame once (NewPreparedMessage, which is safe for concurrent use)
// and writes it per connection with WritePreparedMessage, through the harness's fanOut.
// Each connection is written by one goroutine only, as gorilla requires.
func (s *gorillaBroadcast) Broadcast(p []byte, par int) {
	pm, err := websocket.NewPreparedMessage(gorillaType(s.cfg), p)
	if err != nil {
		panic(err)
	}
	fanOut(s.reg.locked(), par, func(c *websocket.Conn) { _ = c.WritePreparedMessage(pm) })
	s.reg.unlock()
}

func gorillaWriter(cfg serverConfig, w http.ResponseWriter, r *http.Request) (writerFunc, error) {
	c, err := gorillaUpgrader(cfg).Upgrade(w, r, nil)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	mt := gorillaType(cfg)
	return func(p []byte) error { return c.WriteMessage(mt, p) }, nil
}

func (s *gorillaBroadcast) Conns() int { return s.reg.len() }
