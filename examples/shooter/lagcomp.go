package shooter

// Lag compensation. A player sees the others as they were some time ago: the snapshot
// took half a round trip to arrive, and the page renders the others an interpolation
// delay behind the newest snapshot. A shot aimed at what the shooter saw would miss a
// moving target if the server judged it against the present, so every input carries the
// tick the shooter was rendering (Input.View), and the blaster rewinds the others to where
// they stood at the end of that tick, at most MaxRewind ticks back.

// histLen is the number of ticks of positions kept: a power of two above MaxRewind+1 (the
// present tick and MaxRewind before it), with room to spare so that a view older than the
// clamp finds a sample to be clamped away from rather than a missing one (it costs 32
// samples of 32 bytes per combatant).
const histLen = 32

// sample is where a combatant stood at the end of a tick, and whether they could be hit.
type sample struct {
	tick     uint32
	x, y     float64
	hittable bool
}

// history is a combatant's ring of samples, indexed by tick mod histLen.
type history [histLen]sample

// record notes where c stands at the end of tick.
func (h *history) record(tick uint32, c *combatant) {
	h[tick%histLen] = sample{tick: tick, x: c.x, y: c.y, hittable: c.alive && !c.away}
}

// at is where c stood at the end of tick at, seen from the tick now being simulated: its
// present position if at is now, and ok false if at is too old to be remembered or c was
// not there to be hit then (dead, away, or not yet in the arena).
func (h *history) at(at, now uint32, c *combatant) (x, y float64, ok bool) {
	if at >= now {
		return c.x, c.y, true
	}
	s := &h[at%histLen]
	if s.tick != at || !s.hittable {
		return 0, 0, false
	}
	return s.x, s.y, true
}

// rewindTick is the tick a shot made with Input.View = view is judged at: view clamped to
// [now-MaxRewind, now], and now for 0 (no view given, as bots do).
func (g *Game) rewindTick(view int) uint32 {
	now := int64(g.tick)
	v := int64(view)
	if v <= 0 || v > now {
		return g.tick
	}
	return uint32(max(v, now-MaxRewind))
}
