package engine

import (
	"net/netip"
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
	case l.byKey[key] >= l.perClient && !IsLoopbackKey(key):
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

// IsLoopbackKey reports whether key (Engine.ClientKey) is a loopback address, which the
// per-client limit leaves alone: such a peer is the operator's own load generator or health
// check, or a reverse proxy on this host that is not in TrustedProxies. Behind such a proxy
// every player shares its key, and limiting that key would lock out everyone after the 64th;
// the limit in all still holds. What it costs: a hostile process on the server's own host is
// not limited per client, and it is on the host already.
func IsLoopbackKey(key string) bool {
	if a, err := netip.ParseAddr(key); err == nil {
		return a.IsLoopback()
	}
	if p, err := netip.ParsePrefix(key); err == nil {
		return p.Contains(netip.IPv6Loopback())
	}
	return false
}
