package main

import (
	"net/http"

	"github.com/lxzan/gws"
)

func init() {
	register(&serverLib{
		name: "gws", label: "gws", order: 3,
		echo:          gwsEcho,
		idle:          gwsIdle,
		broadcast:     gwsNewBroadcast,
		upgradeWriter: gwsWriter,
	})
}

func gwsOption(cfg serverConfig) *gws.ServerOption {
	return &gws.ServerOption{
		PermessageDeflate: gws.PermessageDeflate{
			Enabled:               cfg.deflate,
			ServerContextTakeover: false,
			ClientContextTakeover: false,
		},
	}
}

func gwsOpcode(cfg serverConfig) gws.Opcode {
	if cfg.text {
		return gws.OpcodeText
	}
	return gws.OpcodeBinary
}

// gwsCounter counts connections; gws calls OnClose once per connection.
type gwsCounter struct{ gws.BuiltinEventHandler }

func (gwsCounter) OnClose(*gws.Conn, error) { liveConns.Add(-1) }

type gwsEchoHandler struct{ gwsCounter }

func (gwsEchoHandler) OnMessage(socket *gws.Conn, m *gws.Message) {
	_ = socket.WriteMessage(m.Opcode, m.Bytes())
	_ = m.Close()
}

// upgradeAndLoop is the gws server shape: Upgrade in the handler, `go ReadLoop()`, return.
func gwsServe(up *gws.Upgrader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		socket, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		liveConns.Add(1)
		go socket.ReadLoop()
	})
}

func gwsEcho(cfg serverConfig) http.Handler {
	return gwsServe(gws.NewUpgrader(gwsEchoHandler{}, gwsOption(cfg)))
}

func gwsIdle(cfg serverConfig) http.Handler {
	return gwsServe(gws.NewUpgrader(gwsCounter{}, gwsOption(cfg)))
}

type gwsBroadcast struct {
	gws.BuiltinEventHandler
	up  *gws.Upgrader
	cfg serverConfig
	reg registry[*gws.Conn]
}

func gwsNewBroadcast(cfg serverConfig) broadcastServer {
	s := &gwsBroadcast{cfg: cfg}
	s.up = gws.NewUpgrader(s, gwsOption(cfg))
	return s
}

func (s *gwsBroadcast) OnClose(socket *gws.Conn, _ error) { s.reg.remove(socket) }

func (s *gwsBroadcast) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	socket, err := s.up.Upgrade(w, r)
	if err != nil {
		return
	}
	s.reg.add(socket)
	go socket.ReadLoop()
}

// Broadcast uses gws.Broadcaster (safe for concurrent use: the frame is built and
// compressed once, under a sync.Once), through the harness's fanOut. Its Broadcast only
// queues the frame on each connection's write queue, whose own goroutine writes it, so
// gws's socket writes run in parallel at any fan-out: the fan-out spreads only the
// queueing, and "srv call ms" is the time to queue, not to write.
func (s *gwsBroadcast) Broadcast(p []byte, par int) {
	b := gws.NewBroadcaster(gwsOpcode(s.cfg), p)
	fanOut(s.reg.locked(), par, func(c *gws.Conn) { _ = b.Broadcast(c) })
	s.reg.unlock()
	_ = b.Close()
}

func gwsWriter(cfg serverConfig, w http.ResponseWriter, r *http.Request) (writerFunc, error) {
	socket, err := gws.NewUpgrader(gws.BuiltinEventHandler{}, gwsOption(cfg)).Upgrade(w, r)
	if err != nil {
		return nil, err
	}
	go socket.ReadLoop()
	op := gwsOpcode(cfg)
	return func(p []byte) error { return socket.WriteMessage(op, p) }, nil
}

func (s *gwsBroadcast) Conns() int { return s.reg.len() }
