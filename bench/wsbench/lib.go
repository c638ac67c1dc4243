package main

import (
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
)

// serverConfig is what every library adapter is built from.
type serverConfig struct {
	deflate bool // enable permessage-deflate with the library's no-context-takeover setting
	text    bool // echo/broadcast text messages instead of binary
	variant string
}

// broadcastServer accepts connections and sends one message to all of them.
type broadcastServer interface {
	http.Handler
	// Broadcast prepares payload once with the library's best API for it and hands it to
	// every connection through fanOut with par goroutines (1: a serial loop), returning
	// when the last per-connection call returned. Every library gets the same fan-out
	// code, so rows of one fan-out differ only in the library.
	Broadcast(payload []byte, par int)
	// Conns is the number of registered connections.
	Conns() int
}

// ownBroadcaster is a broadcastServer whose library has a broadcast call of its own that
// decides its own parallelism (net/ws's ws.Broadcast). The table shows it as an extra row,
// named after the call, beside the fan-out rows that every library shares.
type ownBroadcaster interface {
	// OwnBroadcast sends payload to every connection with the library's own call.
	OwnBroadcast(payload []byte)
	// OwnName names that call in the table ("ws.Broadcast").
	OwnName() string
}

// writerFunc writes one data message on an upgraded server connection (micro benchmarks).
type writerFunc func(p []byte) error

// serverLib is one WebSocket library under test. Every field builds the library's
// idiomatic server shape for one workload.
type serverLib struct {
	name  string // flag value
	label string // table label
	order int
	// echo returns the echo server handler (workload 1).
	echo func(cfg serverConfig) http.Handler
	// idle returns a handler that accepts and keeps reading, idle (workload 3).
	idle func(cfg serverConfig) http.Handler
	// broadcast returns the broadcast server (workload 2).
	broadcast func(cfg serverConfig) broadcastServer
	// upgradeWriter upgrades r and returns a function writing data messages on it.
	upgradeWriter func(cfg serverConfig, w http.ResponseWriter, r *http.Request) (writerFunc, error)
	// variants are extra idle shapes reported next to the main one.
	idleVariants []string
}

var libs = map[string]*serverLib{}

func register(l *serverLib) { libs[l.name] = l }

// libNames lists registered libraries, net/ws first.
func libNames() []string {
	var out []string
	for n := range libs {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return libs[out[i]].order < libs[out[j]].order })
	return out
}

// liveConns counts upgraded connections in the serving process.
var liveConns atomic.Int64

// registry is a set of connections for broadcasting.
type registry[T comparable] struct {
	mu    sync.Mutex
	conns []T
	index map[T]int
}

func (r *registry[T]) add(c T) {
	r.mu.Lock()
	if r.index == nil {
		r.index = make(map[T]int)
	}
	r.index[c] = len(r.conns)
	r.conns = append(r.conns, c)
	r.mu.Unlock()
	liveConns.Add(1)
}

func (r *registry[T]) remove(c T) {
	r.mu.Lock()
	i, ok := r.index[c]
	if ok {
		last := len(r.conns) - 1
		r.conns[i] = r.conns[last]
		r.index[r.conns[i]] = i
		r.conns = r.conns[:last]
		delete(r.index, c)
	}
	r.mu.Unlock()
	if ok {
		liveConns.Add(-1)
	}
}

func (r *registry[T]) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

// locked returns the connections with the registry locked; call unlock when done.
// Nothing registers while the benchmark broadcasts, so holding the lock is harmless.
func (r *registry[T]) locked() []T {
	r.mu.Lock()
	return r.conns
}

func (r *registry[T]) unlock() { r.mu.Unlock() }
