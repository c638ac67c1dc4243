package engine

import (
	"math/bits"
	"slices"
	"time"
)

// schedule decides when ticks run: tick k is due at t0 + k·dt, computed from k rather than
// accumulated, so rounding never drifts. When the loop wakes late it runs the missed ticks
// back to back, but at most maxCatchUp of them; beyond that the schedule jumps ahead and
// the skipped ticks are counted, so a slow game falls behind real time instead of spiralling.
type schedule struct {
	t0         time.Duration
	dt         time.Duration
	k          int64 // next tick number to run
	maxCatchUp int64
	skipped    int64
}

// due is when tick k should run.
func (s *schedule) due() time.Duration { return s.t0 + time.Duration(s.k)*s.dt }

// woke is called with the time the loop woke for the current tick. It returns how late the
// tick is and, if the loop has fallen more than maxCatchUp ticks behind, skips ahead.
func (s *schedule) woke(now time.Duration) (lateness time.Duration) {
	lateness = now - s.due()
	if lateness < 0 {
		return 0
	}
	behind := int64(lateness / s.dt) // ticks already overdue after this one
	if behind > s.maxCatchUp {
		skip := behind - s.maxCatchUp
		s.k += skip
		s.skipped += skip
	}
	return lateness
}

// resume re-anchors the schedule after the room slept: the next tick is due at the first
// time from now that falls on the room's phase (phaseOffset), within dt, and those after it
// dt apart, as if the time asleep had not passed. Nothing counts as late or skipped.
func (s *schedule) resume(now time.Duration) {
	if late := now - s.due(); late > 0 {
		s.t0 += (late + s.dt - 1) / s.dt * s.dt
	}
}

// roomsPerPhase is how many rooms with ticks of the same length an engine wakes at the same
// instant of each tick, at most: its rooms are dealt to phase groups of up to this many
// (Engine.takePhase), each group at its own offset within the tick (phaseOffset).
//
// A wake-up costs more than the tick's work: the timer's thread is woken from epoll_wait,
// the scheduler wakes a second thread to look for work, and both go back to sleep (futex(2)
// and epoll_wait(2), about 30 µs of CPU on the project's 2-core test machine). With an
// offset of its own for each room, 20 shooter rooms at 60 Hz woke the gameserver 1,200 times
// a second; measured in bench/colyseus's load (160 players), all of them at one instant cost
// a fifth less server CPU per player, and four offsets an eighth less. What it costs: the
// rooms of a group start together, so the last of them waits for the others' steps, up to
// roomsPerPhase/GOMAXPROCS of them (a shooter room's step with 8 players is 50 to 70 µs
// here: under 0.3 ms on 2 cores), and a room waking from sleep waits up to a tick for its
// offset. One instant for every room would make each room of a large server wait for all
// the others: 100 rooms pinned to one core, 6 ms.
//
// The runtime waits for a timer in epoll_wait(2), whose timeout is in whole milliseconds, so
// a group's ticks begin up to about 1 ms after its instant (about half of them over 0.5 ms
// at 400 shooter players). A pacer that woke the runtime at each instant through a timerfd
// (git history: 0b23108) had nearly all ticks under 1 ms late, but cost 16% more server CPU
// per player in bench/colyseus's load, and 30% beside a CPU hog: the millisecond grid
// gathers groups into fewer wake-ups. It was taken out.
const roomsPerPhase = 8

// takePhase gives a room whose ticks last dt its phase group: the first with room for it.
// dropPhase gives it back when the room ends, so groups refill rather than thin out.
func (e *Engine) takePhase(dt time.Duration) int {
	e.phaseMu.Lock()
	defer e.phaseMu.Unlock()
	if e.phaseLoad == nil {
		e.phaseLoad = make(map[time.Duration][]int)
	}
	load := e.phaseLoad[dt]
	g := slices.IndexFunc(load, func(n int) bool { return n < roomsPerPhase })
	if g < 0 {
		g, load = len(load), append(load, 0)
	}
	load[g]++
	e.phaseLoad[dt] = load
	return g
}

func (e *Engine) dropPhase(dt time.Duration, g int) {
	e.phaseMu.Lock()
	e.phaseLoad[dt][g]--
	e.phaseMu.Unlock()
}

// phaseOffset is where in a tick of dt the rooms of phase group g wake, counted from the
// engine clock's origin: g's place in the van der Corput sequence (0, 1/2, 1/4, 3/4, 1/8,
// 5/8...), so that however many groups there are, they spread evenly over the tick.
func phaseOffset(dt time.Duration, g int) time.Duration {
	return time.Duration(float64(dt) * float64(bits.Reverse32(uint32(g))) / (1 << 32))
}

// untilOffset is how long from now until the clock next reaches offset within a tick of dt.
func untilOffset(now, dt, offset time.Duration) time.Duration {
	return ((offset-now%dt)%dt + dt) % dt
}

// ran advances to the next tick.
func (s *schedule) ran() { s.k++ }
