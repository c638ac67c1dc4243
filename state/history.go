package state

// Lag compensation: judging an action where the acting player saw the world.
//
// A player sees the others as they were some time ago: each snapshot took half a round trip
// to arrive, and the client draws the others an interpolation delay behind the newest one,
// blending two snapshots. A shot aimed at what the player saw would miss a moving target if
// the server judged it against the present. So the client says what it drew (a View, sent
// with every input by the browser SDK), the game keeps each entity's recent values (a
// History), and the server judges the action against the values the client drew. This is
// the model of Valve's Source engine ("Lag Compensation", Bernier 2001); its cost is that a
// target can be hit a little after it reached cover, at most the rewind limit later
// (engine.RoomConfig.MaxRewind).

// View is what a client drew at one moment: the snapshots of ticks From and To blended by
// T, where 0 shows From, 1 shows To, and above 1 is extrapolated past To along From→To (as
// a client does for a moment when the next snapshot is late). From == To is one snapshot
// as it was. The zero View says nothing: judge against the present.
type View struct {
	From, To Tick
	T        float64
}

// IsZero reports whether v is the zero View: no view given.
func (v View) IsZero() bool { return v == View{} }

// Clamp limits v to what a server may judge against when latest is the newest tick whose
// state is complete (the tick before the one being simulated): each tick is brought into
// [latest−back, latest] (no client has seen further, and no action reaches further back),
// and T into [0, 1+ahead/(To−From)], so that an extrapolation reaches at most ahead ticks
// past To (a client extrapolates for a moment, not for long; further would let it name a
// place the entity never came near). The zero View stays zero.
func (v View) Clamp(latest, back, ahead Tick) View {
	if v.IsZero() {
		return v
	}
	oldest := max(1, latest-min(back, latest))
	if v.From > v.To {
		v.From, v.To = v.To, v.From
	}
	v.From = min(max(v.From, oldest), latest)
	v.To = min(max(v.To, oldest), latest)
	if !(v.T > 0) || v.From == v.To { // NaN included
		return View{From: v.From, To: v.To}
	}
	v.T = min(v.T, 1+float64(ahead)/float64(v.To-v.From))
	return v
}

// DefaultHistoryLen is how many ticks a zero History keeps: over 2 s at 60 Hz, more than the
// engine's default rewind limit (1 s) at any tick rate up to 127 Hz.
const DefaultHistoryLen = 128

// History is one entity's value (a position, a hitbox, whether it could be hit) at each of
// its last ticks, recorded once a tick, so that an action can be judged against the value
// a client drew. The zero value keeps DefaultHistoryLen ticks; NewHistory chooses another
// length. It allocates once, at its first Record, and never again.
//
// Record and read it on the room's goroutine, like the rest of a game's state.
type History[V any] struct {
	ticks []Tick // ticks[i] is the tick of vals[i]; 0 for none
	vals  []V
}

// NewHistory makes a History that keeps n ticks (at least 2).
func NewHistory[V any](n int) History[V] {
	n = max(n, 2)
	return History[V]{ticks: make([]Tick, n), vals: make([]V, n)}
}

// Len is how many ticks the history keeps.
func (h *History[V]) Len() int {
	if h.ticks == nil {
		return DefaultHistoryLen
	}
	return len(h.ticks)
}

// Record notes the entity's value at the end of tick. Record every tick the entity exists
// (a tick not recorded reads as "not there": nothing at it can be hit).
func (h *History[V]) Record(tick Tick, v V) {
	if h.ticks == nil {
		*h = NewHistory[V](DefaultHistoryLen)
	}
	i := int(tick % Tick(len(h.ticks)))
	h.ticks[i] = tick
	h.vals[i] = v
}

// At returns the value recorded for tick, and false if none is (never recorded, or
// overwritten by the tick Len later).
func (h *History[V]) At(tick Tick) (V, bool) {
	var zero V
	if h.ticks == nil || tick == 0 {
		return zero, false
	}
	i := int(tick % Tick(len(h.ticks)))
	if h.ticks[i] != tick {
		return zero, false
	}
	return h.vals[i], true
}

// Drawn returns the value as the client drew it in view: the values at view.From and
// view.To blended by lerp(from, to, view.T), or the value at From alone when the view is one
// snapshot (From == To or T == 0). ok is false when a value it needs was not recorded, and
// for the zero View, which names no tick (the caller uses the present value then). Give it a
// view limited with View.Clamp (the engine does that for inputs).
//
// lerp should be what the client does to draw: for positions a + (b−a)·t, which also
// extrapolates for t above 1.
func (h *History[V]) Drawn(view View, lerp func(from, to V, t float64) V) (v V, ok bool) {
	a, ok := h.At(view.From)
	if !ok || view.From == view.To || view.T == 0 {
		return a, ok
	}
	b, ok := h.At(view.To)
	if !ok {
		return v, false
	}
	return lerp(a, b, view.T), true
}

// Forget drops every recorded value, for an entity that is made anew (its id reused).
func (h *History[V]) Forget() {
	clear(h.ticks)
	clear(h.vals)
}
