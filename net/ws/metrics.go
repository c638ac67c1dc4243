package ws

import "sync/atomic"

// Metrics counts what the connections that share it did. Counters only grow; read them with
// Load. A server usually keeps one Metrics for all its connections and exports it (the
// gameserver turns it into Prometheus series).
type Metrics struct {
	Accepted       atomic.Int64 // connections that completed the opening handshake as server
	Dialed         atomic.Int64 // connections that completed it as client
	Refused        atomic.Int64 // handshakes refused with an HTTP error
	Open           atomic.Int64 // connections currently open
	MessagesIn     atomic.Int64
	MessagesOut    atomic.Int64
	BytesIn        atomic.Int64 // wire bytes read after the handshake
	BytesOut       atomic.Int64 // wire bytes written after the handshake
	PayloadIn      atomic.Int64 // message bytes after inflation
	PayloadOut     atomic.Int64 // message bytes before compression
	SlowConsumers  atomic.Int64 // connections closed because their outbound queue filled
	LatestReplaced atomic.Int64 // latest-wins messages replaced before they were sent
	ProtocolErrors atomic.Int64 // connections failed for a protocol violation or a limit
}

// DefaultMetrics is used by connections whose options name no Metrics.
var DefaultMetrics = new(Metrics)
