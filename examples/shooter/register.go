// Package shooter is a 2D top-down arena shooter written against Rallypoint's public API:
// up to eight players and a few server bots run, aim and shoot in one arena, with
// client-side prediction of movement (Step is bit-exact in Go and in the page's
// JavaScript), a hitscan blaster with lag compensation, and rockets. README.md in this
// folder explains how it is built and documents its protocol.
package shooter

import (
	"fmt"

	"github.com/rallypoint/rallypoint/engine"
)

// Name is the name the game is registered under: clients join with {"game": "shooter"}.
const Name = "shooter"

// Options change how the game runs; the zero value is the game as Register registers it.
type Options struct {
	// Name is the registered game name; default Name.
	Name string
	// Room is the rooms' config. Zero fields take the shooter's defaults: TickRate 60,
	// SnapshotRate 30, MaxPlayers 8 (the engine's for the others: a dropped player's seat
	// is held 30 s, and shots rewind up to 1 s). TickRate must be 60, the rate Step is
	// written for. Schema defaults to the shooter's Schema.
	Room engine.RoomConfig
	// Bots is a fill-to count: a room keeps max(0, Bots - humans) server bots, so that a lone
	// visitor has someone to fight and a full room has none. Each bot costs a few
	// microseconds a tick (a look along the line to every enemy). Default 3; negative for
	// none.
	Bots int
	// Seed seeds each room's random choices (bots' waypoints and aim error, a spawn point
	// when nobody is alive to avoid), so that a test replays the same game; 0 draws a
	// different seed for every room.
	Seed uint64
	// ReadOnArrival turns off the rooms' reading at the tick (engine.RoomConfig.ReadAtTick,
	// which the shooter sets by default): each input is then read as it arrives, and pings
	// are answered at once instead of up to 1/60 s later (half a tick on average, which
	// the page's displayed round trip includes). Alternated runs of 160 bots measured the
	// server's CPU 10% lower at the tick beside a CPU hog (4 rounds of 4), and between 7%
	// lower and no different on a quiet machine.
	ReadOnArrival bool
	// PlainDeltas turns off predicted differences (engine.RoomConfig.PredictDeltas, which
	// the shooter sets by default): players' coordinates then travel as their movement
	// since the acknowledged snapshot, two or three bytes each while running, instead of
	// their distance from where that movement was heading, mostly one.
	PlainDeltas bool
	// Spawns are the spawn points; default Spawns. Each must be inside the arena with its box
	// clear of Walls. Tests use it to set up a duel in the open.
	Spawns []Point
}

func (o Options) withDefaults() (Options, error) {
	if o.Name == "" {
		o.Name = Name
	}
	if o.Room.TickRate == 0 {
		o.Room.TickRate = TickRate
	}
	if o.Room.TickRate != TickRate {
		return o, fmt.Errorf("shooter: TickRate %d: one input is one Step of 1/%d s, so rooms must tick at %d Hz",
			o.Room.TickRate, TickRate, TickRate)
	}
	if o.Room.SnapshotRate == 0 {
		o.Room.SnapshotRate = SnapshotRate
	}
	if o.Room.MaxPlayers == 0 {
		o.Room.MaxPlayers = 8
	}
	if o.Room.Schema == nil {
		o.Room.Schema = Schema
	}
	// Every player sends an input every tick, and the room applies it at the next tick
	// whenever it arrives: reading at the tick saves the wake-up per input.
	o.Room.ReadAtTick = !o.ReadOnArrival
	// Players run at a steady speed: their coordinates are best sent as their distance
	// from where they were heading.
	o.Room.PredictDeltas = !o.PlainDeltas
	switch {
	case o.Bots == 0:
		o.Bots = 3
	case o.Bots < 0:
		o.Bots = 0
	}
	if o.Spawns == nil {
		o.Spawns = Spawns
	}
	if len(o.Spawns) == 0 {
		return o, fmt.Errorf("shooter: no spawn points")
	}
	for _, s := range o.Spawns {
		if !fits(s, 0) {
			return o, fmt.Errorf("shooter: spawn point %v is outside the arena or in a wall", s)
		}
	}
	return o, nil
}

// Register registers the shooter as "shooter" with the default options.
func Register(e *engine.Engine) error { return RegisterWith(e, Options{}) }

// RegisterWith registers the shooter with other options (bots, room config, seed, spawns).
func RegisterWith(e *engine.Engine, o Options) error {
	o, err := o.withDefaults()
	if err != nil {
		return err
	}
	return engine.Register(e, o.Name, o.Room, func() engine.Game[Input] { return newGame(o) })
}
