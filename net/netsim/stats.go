package netsim

import "fmt"

// Stats counts what a proxy has done since Listen.
type Stats struct {
	Conns     int64 // connections accepted
	Open      int64 // connections open now (accepted and not yet closed on both sides)
	BytesUp   int64 // bytes delivered client to server
	BytesDown int64 // bytes delivered server to client
	Lost      int64 // chunks that were "lost" and delayed by a retransmission, both directions
	Resets    int64 // connections reset by a Reset blackout, open or accepted during it
}

// Stats returns the counters. Each is read atomically; together they are not one snapshot.
func (px *Proxy) Stats() Stats {
	return Stats{
		Conns:     px.accepted.Load(),
		Open:      px.open.Load(),
		BytesUp:   px.up.Load(),
		BytesDown: px.down.Load(),
		Lost:      px.lost.Load(),
		Resets:    px.resets.Load(),
	}
}

// String formats s on one line: "conns=3 open=1 bytes_up=1200 bytes_down=50310 lost=2 resets=0".
func (s Stats) String() string {
	return fmt.Sprintf("conns=%d open=%d bytes_up=%d bytes_down=%d lost=%d resets=%d",
		s.Conns, s.Open, s.BytesUp, s.BytesDown, s.Lost, s.Resets)
}
