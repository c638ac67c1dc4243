package protocol

// SeqHistory is what a client of the v2 wire keeps to read a snapshot's last_seq: the input
// seq it knew at each of its latest snapshot ticks, as many as it keeps states (128). A
// snapshot's last_seq is the difference from the seq known at its baseline (PROTOCOL.md,
// "The v2 snapshot"); the seq known at a tick is the one that snapshot carried or, if it
// carried none, the one known at its own baseline, and 0 at a full snapshot that carried
// none. The server counts it the same way for each snapshot it sends.
type SeqHistory struct {
	tick, seq [128]uint32
	n         int
}

// Add records seq as known at tick, the latest applied.
func (h *SeqHistory) Add(tick, seq uint32) {
	h.tick[h.n%len(h.tick)], h.seq[h.n%len(h.seq)] = tick, seq
	h.n++
}

// At returns the seq known at tick, 0 for tick 0 (a full snapshot counts from 0); ok is
// false for a tick not among the last 128 recorded.
func (h *SeqHistory) At(tick uint32) (seq uint32, ok bool) {
	if tick == 0 {
		return 0, true
	}
	for i := range min(h.n, len(h.tick)) {
		if j := (h.n - 1 - i) % len(h.tick); h.tick[j] == tick {
			return h.seq[j], true
		}
	}
	return 0, false
}
