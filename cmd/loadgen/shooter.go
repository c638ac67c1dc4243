package main

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rallypoint/rallypoint/examples/shooter"
	"github.com/rallypoint/rallypoint/protocol"
)

// Shooter bots play as a browser does: one input per 1/60 s simulation step, [keys, aim,
// fire], saying which snapshot they aimed at (the input's view). They run in one of the 8 directions and change it every 0.3 to 1 s, or at
// once when a wall stops them (they predict their position with shooter.Step from the
// authoritative one, as the page does); they aim at the nearest live enemy they can see, as
// drawn at their interpolation time, turning the aim at a human's speed; they hold the
// blaster while on target and sometimes fire a rocket.

const (
	turnMin, turnMax = 300 * time.Millisecond, time.Second // between direction changes
	interpDelay      = 100 * time.Millisecond              // how far behind the latest snapshot the others are drawn
	retargetEvery    = 6                                   // steps between looks for the nearest visible enemy
	aimTurn          = 0.15                                // radians the aim turns in a step at most
	fireCone         = 0.06                                // radians: fire when the aim is this close
	rocketOdds       = 40                                  // while on target, one chance in rocketOdds a step to fire a rocket
)

// directions are the 8 key combinations that move.
var directions = [8]uint8{
	shooter.KeyUp, shooter.KeyDown, shooter.KeyLeft, shooter.KeyRight,
	shooter.KeyUp | shooter.KeyLeft, shooter.KeyUp | shooter.KeyRight,
	shooter.KeyDown | shooter.KeyLeft, shooter.KeyDown | shooter.KeyRight,
}

type shooterDriver struct {
	r *runner
}

func newShooterDriver(r *runner) *shooterDriver { return &shooterDriver{r: r} }

func (d *shooterDriver) name() string { return shooter.Name }

func (d *shooterDriver) period() time.Duration {
	return time.Duration(float64(time.Second) / d.r.cfg.InputHz)
}

func (d *shooterDriver) settle() time.Duration { return 500 * time.Millisecond }

func (d *shooterDriver) sweep(int64) {}

func (d *shooterDriver) newBehavior(b *bot) behavior { return &shooterBot{b: b} }

// shooterBot is one player.
type shooterBot struct {
	b *bot

	mu sync.Mutex // what both goroutines use: the views and the input acknowledgement
	vs views
	// The authoritative position from the latest snapshot and the last input it includes.
	authX, authY float64
	authSeq      uint32
	authNew      bool
	ackSeq       uint32 // from [19, seq, tick], which comes just before the snapshot of tick
	ackTick      uint32

	// step's own state
	keysAt   [128]uint8 // keys of input seq, at seq%128, to replay after reconciling
	x, y     float64    // predicted position
	placed   bool       // x, y known
	keys     uint8
	turnAt   int64
	aim      float64 // radians
	target   uint32  // entity id, 0 for none
	visible  bool    // target in sight at the last look
	steps    int
	stepsDue int

	shots, hits, kills, deaths, rockets atomic.Int64
}

// acksOnInputs: step sends an input every time once there is a snapshot, so the inputs
// carry the acknowledgements (see bot).
func (sb *shooterBot) acksOnInputs() {}

// resumed forgets the input numbering of the dropped connection: the new one numbers from 1.
func (sb *shooterBot) resumed() {
	sb.mu.Lock()
	sb.ackSeq, sb.ackTick, sb.authSeq = 0, 0, 0
	sb.mu.Unlock()
}

func (sb *shooterBot) inputAck(seq, tick uint32) {
	sb.mu.Lock()
	sb.ackSeq, sb.ackTick = seq, tick
	sb.mu.Unlock()
}

func (sb *shooterBot) snapshot(s snapMsg, now int64) error {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if err := sb.vs.apply(s, sb.b.mirror); err != nil {
		return err
	}
	v := sb.vs.latest()
	if me := v.find(sb.b.player); me != nil {
		sb.authX, sb.authY, sb.authNew = me.x, me.y, true
		// [19, seq, tick] comes right before its snapshot, or inside it on v2, and only
		// when seq changed since the last one the server sent: every snapshot holds the
		// inputs up to the last seq acknowledged.
		sb.authSeq = sb.ackSeq
	}
	return nil
}

// event counts the bot's own shots, hits, rockets, kills and deaths.
func (sb *shooterBot) event(name, payload []byte, now int64) {
	// The payloads are arrays: shot [by, x1, y1, x2, y2, hit], boom [x, y, by, hit],
	// kill [killer, victim, weapon, killer_name, victim_name].
	var by, hit, killer, victim int64
	r := protocol.NewReader(payload)
	n := r.ArrayLen()
	for i := range n {
		switch {
		case string(name) == "shot" && i == 0, string(name) == "boom" && i == 2:
			by = r.Int()
		case string(name) == "shot" && i == 5, string(name) == "boom" && i == 3:
			hit = r.Int()
		case string(name) == "kill" && i == 0:
			killer = r.Int()
		case string(name) == "kill" && i == 1:
			victim = r.Int()
		default:
			r.Skip()
		}
	}
	if r.Err() != nil {
		return
	}
	me := int64(sb.b.player)
	switch string(name) {
	case "shot":
		if by == me {
			sb.shots.Add(1)
			if hit != 0 {
				sb.hits.Add(1)
			}
		}
	case "boom":
		if by == me {
			sb.rockets.Add(1)
		}
	case "kill":
		if killer == me {
			sb.kills.Add(1)
		}
		if victim == me {
			sb.deaths.Add(1)
		}
	}
}

// step sends one input.
func (sb *shooterBot) step(now int64) {
	b := sb.b
	sb.mu.Lock()
	latest := sb.vs.latest()
	if latest == nil {
		sb.mu.Unlock()
		return // no snapshot yet
	}
	if sb.authNew {
		sb.reconcile()
	}
	me := latest.find(b.player)
	alive := me != nil && me.alive

	// Movement: a new direction when it is time, or when a wall stops us.
	if now >= sb.turnAt || sb.keys == 0 {
		sb.turn(now, 0)
	}
	nx, ny := shooter.Step(sb.x, sb.y, sb.keys)
	if alive && nx == sb.x && ny == sb.y {
		sb.turn(now, sb.keys)
		nx, ny = shooter.Step(sb.x, sb.y, sb.keys)
	}
	if alive {
		sb.x, sb.y = nx, ny
	}

	// Aim at the target as drawn at the interpolation time, which is also the input's view.
	lag := uint32(b.tickRate * int(interpDelay/time.Millisecond) / 1000)
	viewTick := latest.tick - min(latest.tick, lag)
	seen := sb.vs.at(viewTick)
	if sb.steps++; sb.steps >= sb.stepsDue || seen.find(sb.target) == nil {
		sb.retarget(seen)
		sb.stepsDue = sb.steps + retargetEvery
	}
	var fire uint8
	if t := seen.find(sb.target); t != nil && t.alive && alive {
		want := math.Atan2(t.y-sb.y, t.x-sb.x)
		diff := math.Remainder(want-sb.aim, 2*math.Pi)
		sb.aim += max(-aimTurn, min(aimTurn, diff))
		if math.Abs(diff) < fireCone && sb.visible && math.Hypot(t.x-sb.x, t.y-sb.y) <= shooter.BlasterRange {
			fire = shooter.FireBlaster
			if b.rng.IntN(rocketOdds) == 0 {
				fire |= shooter.FireRocket
			}
		}
	}
	keys, aim := sb.keys, int64(math.Round(math.Remainder(sb.aim, 2*math.Pi)*1000))
	p := b.beginInput(seen.tick)
	if alive {
		sb.keysAt[b.seq%uint32(len(sb.keysAt))] = keys
	} else {
		sb.keysAt[b.seq%uint32(len(sb.keysAt))] = 0 // the server ignores a dead player's moves
	}
	sb.mu.Unlock()

	// [3, seq, [keys, aim, fire], ack_tick, [view, 0, 0]]: aimed at the snapshot of seen.tick
	p = protocol.AppendArray(p, 3)
	p = protocol.AppendUint(p, uint64(keys))
	p = protocol.AppendInt(p, aim)
	p = protocol.AppendUint(p, uint64(fire))
	b.sendInput(p)
}

// reconcile predicts the position from the authoritative one: the inputs the server has not
// applied yet are replayed with Step, as the page does.
func (sb *shooterBot) reconcile() {
	sb.authNew = false
	sb.x, sb.y, sb.placed = sb.authX, sb.authY, true
	sent := sb.b.seq
	if sent-sb.authSeq >= uint32(len(sb.keysAt)) {
		return // too far behind to replay: take the server's word
	}
	for s := sb.authSeq + 1; s <= sent && s > sb.authSeq; s++ {
		sb.x, sb.y = shooter.Step(sb.x, sb.y, sb.keysAt[s%uint32(len(sb.keysAt))])
	}
}

// turn picks a new direction, other than avoid (the one that is blocked, 0 for none), that
// moves from the predicted position if one does.
func (sb *shooterBot) turn(now int64, avoid uint8) {
	rng := sb.b.rng
	sb.turnAt = now + int64(turnMin) + rng.Int64N(int64(turnMax-turnMin))
	start := rng.IntN(len(directions))
	for i := range directions {
		k := directions[(start+i)%len(directions)]
		if k == avoid {
			continue
		}
		if nx, ny := shooter.Step(sb.x, sb.y, k); !sb.placed || nx != sb.x || ny != sb.y {
			sb.keys = k
			return
		}
	}
	sb.keys = directions[start]
}

// retarget picks the nearest live enemy in view, preferring those in sight.
func (sb *shooterBot) retarget(v *shView) {
	me := shooter.Point{X: sb.x, Y: sb.y}
	best, bestD, bestVis := uint32(0), math.Inf(1), false
	for i := range v.players {
		p := &v.players[i]
		if p.id == sb.b.player || !p.alive {
			continue
		}
		d := math.Hypot(p.x-me.X, p.y-me.Y)
		if bestVis && d >= bestD {
			continue
		}
		vis := shooter.Visible(me, shooter.Point{X: p.x, Y: p.y})
		if (vis && !bestVis) || (vis == bestVis && d < bestD) {
			best, bestD, bestVis = p.id, d, vis
		}
	}
	sb.target, sb.visible = best, bestVis
}

// report adds the rooms and the fighting.
func (d *shooterDriver) report(res *result) {
	rooms := map[string]int{}
	var shots, hits, kills, deaths, rockets, stale int64
	for _, b := range d.r.startedBots() {
		if _, ok := b.beh.(*shooterBot); ok {
			rooms[b.room]++ // where it plays at the end
		}
		// Its fighting in every room it played in: with -rejoin, those it left too.
		for _, beh := range append(slices.Clip(b.past), b.beh) {
			sb, ok := beh.(*shooterBot)
			if !ok {
				continue
			}
			shots += sb.shots.Load()
			hits += sb.hits.Load()
			kills += sb.kills.Load()
			deaths += sb.deaths.Load()
			rockets += sb.rockets.Load()
			sb.mu.Lock()
			stale += sb.vs.stale
			sb.mu.Unlock()
		}
	}
	lo, hi := 0, 0
	for _, n := range rooms {
		if lo == 0 || n < lo {
			lo = n
		}
		hi = max(hi, n)
	}
	res.fight = &fightStats{rooms: len(rooms), shots: shots, hits: hits, rockets: rockets, kills: kills, deaths: deaths}
	hitRate := 0.0
	if shots > 0 {
		hitRate = 100 * float64(hits) / float64(shots)
	}
	res.rows = append(res.rows,
		row{"rooms", fmt.Sprintf("%d (%d to %d bots each)", len(rooms), lo, hi)},
		row{"blaster shots", fmt.Sprintf("%d, %d hits (%.1f%%)", shots, hits, hitRate)},
		row{"rockets", fmt.Sprintf("%d", rockets)},
		row{"kills", fmt.Sprintf("%d (deaths %d)", kills, deaths)},
	)
	if stale > 0 {
		res.rows = append(res.rows, row{"views rebuilt", fmt.Sprintf("%d (delta baseline older than the bots' history)", stale)})
	}
}
