package netsim

import (
	"math/rand/v2"
	"time"
)

// maxBacklog is how much of a limited link's time the queue in front of it may hold: a
// router's buffer. Past it the proxy stops reading that side until the link catches up.
const maxBacklog = time.Second

// maxChunkTime bounds one chunk's serialization on a limited link, so a bulk transfer
// trickles out in pieces of at most this much of the link's time.
const maxChunkTime = 20 * time.Millisecond

// shaper times the chunks of one direction: the whole of the delay model. It is owned by
// that direction's reading goroutine.
type shaper struct {
	rng  *rand.Rand
	free time.Time // when a limited link has finished serializing what it was given
	last time.Time // delivery time of the previous chunk
}

// schedule returns when a chunk of n bytes read at now is delivered over l, and whether it
// was "lost":
//
//	sent_i    = max(now_i, sent_{i-1}) + n_i/Bandwidth       (serialization, when limited)
//	deliver_i = max(sent_i + delay_i [+ Retransmit if lost], deliver_{i-1})
//
// The max with the previous delivery is TCP's in-order delivery: jitter and loss bunch the
// data behind a late chunk instead of reordering it. A FIN is scheduled as a chunk of 0
// bytes over the link without loss or bandwidth.
func (s *shaper) schedule(now time.Time, n int, l Link) (at time.Time, lost bool) {
	sent := now
	if l.Bandwidth > 0 {
		if s.free.After(sent) {
			sent = s.free
		}
		sent = sent.Add(time.Duration(int64(n) * int64(time.Second) / l.Bandwidth))
		s.free = sent
	}
	at = sent.Add(l.sample(s.rng))
	if l.Loss > 0 && s.rng.Float64() < l.Loss {
		at = at.Add(l.retransmit())
		lost = true
	}
	if at.Before(s.last) {
		at = s.last
	}
	s.last = at
	return at, lost
}

// backlog is how long a limited link stays busy with what it has been given, from now.
func (s *shaper) backlog(now time.Time) time.Duration {
	if !s.free.After(now) {
		return 0 // also keeps a zero free from saturating Sub
	}
	return s.free.Sub(now)
}

// readSize is how many bytes the next read may take over l, with a buffer of bufLen: the
// whole buffer on an unlimited link, at most maxChunkTime of a limited one (at least 512).
func readSize(l Link, bufLen int) int {
	if l.Bandwidth <= 0 {
		return bufLen
	}
	n := l.Bandwidth * int64(maxChunkTime) / int64(time.Second)
	return int(min(max(n, 512), int64(bufLen)))
}
