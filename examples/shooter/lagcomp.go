package shooter

import "github.com/rallypoint/rallypoint/state"

// Lag compensation. A player sees the others as they were some time ago: the snapshot took
// half a round trip to arrive, and the page draws the others between two snapshots an
// interpolation delay behind the newest. Every input says which frame the page drew when it
// was made (engine.Input.View: two snapshot ticks and the blend between them, sent by the
// SDK), every combatant keeps where it stood at the end of each tick (a state.History), and
// the blaster judges a shot against the others blended exactly as the page drew them. The
// engine limits how far back a view may reach (RoomConfig.MaxRewind, 1 s by default), so a
// laggy shooter cannot hit someone who has long since found cover.

// pose is where a combatant stood at the end of a tick, and whether it could be hit there.
type pose struct {
	x, y     float64
	hittable bool
}

// lerpPose blends two poses as the page blends the positions it draws: linearly, and past
// the second one when the page extrapolated (t above 1). A blend across a death, a respawn
// or an absence cannot be hit.
func lerpPose(a, b pose, t float64) pose {
	return pose{x: a.x + (b.x-a.x)*t, y: a.y + (b.y-a.y)*t, hittable: a.hittable && b.hittable}
}

// record notes where c stands at the end of tick.
func (c *combatant) record(tick uint32) {
	c.hist.Record(state.Tick(tick), pose{x: c.x, y: c.y, hittable: c.alive && !c.away})
}

// drawnAt is where the shooter whose input said view saw c: the present for the zero view
// (a bot, or a client that said nothing), else c's recorded poses blended as the view says.
// ok is false when c could not be hit there (dead, away, or not in the arena yet).
func (c *combatant) drawnAt(view state.View) (x, y float64, ok bool) {
	if view.IsZero() {
		return c.x, c.y, true
	}
	p, ok := c.hist.Drawn(view, lerpPose)
	return p.x, p.y, ok && p.hittable
}
