package main

// The broadcast fan-out every library shares. A broadcast is one write per connection, and
// each write is a syscall on its own socket, so spreading the writes over goroutines lets
// them run on every core. If the harness spread them for one library and looped serially
// for another, the broadcast ratios would partly measure the harness, not the library.
// So every adapter's Broadcast hands its per-connection write to fanOut with the same
// worker count, and the table reports each library at the same fan-outs (serial, and
// one goroutine per core by default).

import "sync"

// fanOut calls write once for every element of conns, spread over min(par, len(conns))
// goroutines that each take one contiguous share (their sizes differ by one at most),
// and returns when every write returned.
// With par <= 1 it loops on the caller's goroutine and starts none.
//
// The goroutines are started for each call, as ws.Broadcast does, rather than kept in a
// standing pool: a start costs about a microsecond, small beside hundreds of socket
// writes, and a standing pool would add a hand-off (a channel send and a wake-up) per
// broadcast that net/ws's own Broadcast does not pay, which would tilt the comparison
// of that extra row. Contiguous shares keep each goroutine on its own part of the slice.
func fanOut[T any](conns []T, par int, write func(T)) {
	workers := min(par, len(conns))
	if workers <= 1 {
		for _, c := range conns {
			write(c)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		part := conns[w*len(conns)/workers : (w+1)*len(conns)/workers]
		wg.Go(func() {
			for _, c := range part {
				write(c)
			}
		})
	}
	wg.Wait()
}
