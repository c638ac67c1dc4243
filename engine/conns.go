package engine

import (
	"sync"
)

// connLimits counts the engine's connections, in all and by client key (Engine.ClientKey),
// from before the WebSocket handshake to the end of the connection. A connection costs a
// file descriptor, a goroutine and its buffers whether or not it ever joins a room, so one
// address opening thousands of them starves everyone else; the limits refuse the excess
// with a plain HTTP status before the upgrade, the cheapest point.
type connLimits struct {
	perClient, total int

	mu    sync.Mutex
	n     int
	byKey map[string]int
}

// acquire takes a slot for key: 0, or the HTTP status of the refusal (429 when the client
// has perClient connections, 503 when the server has total).
func (l *connLimits) acquire(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.n >= l.total:
		return 503
	case l.byKey[key] >= l.perClient:
		return 429
	}
	l.n++
	l.byKey[key]++
	return 0
}

func (l *connLimits) release(key string) {
	l.mu.Lock()
	l.n--
	if l.byKey[key]--; l.byKey[key] <= 0 {
		delete(l.byKey, key)
	}
	l.mu.Unlock()
}
