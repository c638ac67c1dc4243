package shooter

import (
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/rallypoint/rallypoint/state"
)

// Input is what a client sends once per simulation step while playing, as the msgpack
// array [keys, aim, fire]: on the wire, [3, seq, [keys, aim, fire], ack_tick, view], where
// the engine reads the acknowledgement and the view the page drew (engine.Input.View, for
// lag compensation). Its EncodeMsgpack and DecodeMsgpack implement that array (what a
// struct tagged `msgpack:",as_array"` would be), without reflection and a little more
// leniently.
type Input struct {
	// Keys is a bitmask of KeyUp, KeyDown, KeyLeft and KeyRight: one Step.
	Keys uint8
	// Aim is the aim angle in milliradians, round(atan2(dy, dx)·1000), with y down, from
	// where this input's Step leaves the player: the shot's origin on the server too.
	Aim int
	// Fire is a bitmask of FireBlaster and FireRocket: the buttons held. A held button fires
	// again as soon as the weapon's cooldown allows.
	Fire uint8
}

// EncodeMsgpack writes the input as [keys, aim, fire].
func (in Input) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeArrayLen(3); err != nil {
		return err
	}
	if err := enc.EncodeUint(uint64(in.Keys)); err != nil {
		return err
	}
	if err := enc.EncodeInt(int64(in.Aim)); err != nil {
		return err
	}
	return enc.EncodeUint(uint64(in.Fire))
}

// DecodeMsgpack reads [keys, aim, fire], and takes aim as a float too (rounded): a
// JavaScript number that missed a Math.round should cost a little precision, not the
// input. It does not allocate, which matters at one input per player per tick.
//
// Each element is checked against its range and a refusal names it ("shooter: input
// [keys, aim, fire]: keys 500 not in 0..255"): the engine checks the fields of an input
// struct itself, but not those of a type that decodes itself, and the decoder's
// DecodeUint8 would take 500 as 244 without a word.
//
// It refuses a longer array rather than skipping what it does not know: skipping a str or
// bin whose header claims more bytes than the message holds makes vmihailenco/msgpack
// (v5.4.1) grow the decoder's buffer, which the engine reuses for the connection's every
// message, by a quarter or more each time, so a client could exhaust the server's memory
// in a few dozen messages. Every element read here is a number, at most 9 bytes.
func (in *Input) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return err
	}
	if n != 3 {
		return fmt.Errorf("shooter: input of %d elements, want [keys, aim, fire] (the view goes on the input message since rallypoint.v1 inputs carry one)", n)
	}
	*in = Input{}
	if in.Keys, err = decodeByte(dec, "keys"); err != nil {
		return err
	}
	if in.Aim, err = decodeNumber(dec); err != nil {
		return err
	}
	in.Fire, err = decodeByte(dec, "fire")
	return err
}

// maxAim bounds the aim a client may send, in milliradians: far above ±π·1000, which is
// all a page sends, and far below what an int holds on any platform.
const maxAim = math.MaxInt32

// decodeByte reads a bitmask element of the input, an integer in 0..255.
func decodeByte(dec *msgpack.Decoder, name string) (uint8, error) {
	c, err := dec.PeekCode()
	if err != nil {
		return 0, err
	}
	if c == msgpcode.Float || c == msgpcode.Double {
		return 0, fmt.Errorf("shooter: input [keys, aim, fire]: %s must be an integer in 0..255, not a float", name)
	}
	v, err := dec.DecodeInt64()
	if err != nil {
		return 0, fmt.Errorf("shooter: input [keys, aim, fire]: %s must be an integer in 0..255: %w", name, err)
	}
	if c == msgpcode.Uint64 && v < 0 { // above MaxInt64: DecodeInt64 wrapped it
		return 0, fmt.Errorf("shooter: input [keys, aim, fire]: %s %d not in 0..255", name, uint64(v))
	}
	if v < 0 || v > math.MaxUint8 {
		return 0, fmt.Errorf("shooter: input [keys, aim, fire]: %s %d not in 0..255", name, v)
	}
	return uint8(v), nil
}

// decodeNumber reads the aim: an integer, or a float rounded to the nearest integer.
func decodeNumber(dec *msgpack.Decoder) (int, error) {
	c, err := dec.PeekCode()
	if err != nil {
		return 0, err
	}
	if c == msgpcode.Float || c == msgpcode.Double {
		f, err := dec.DecodeFloat64()
		if err != nil {
			return 0, err
		}
		if math.IsNaN(f) || math.Abs(f) > maxAim {
			return 0, fmt.Errorf("shooter: input [keys, aim, fire]: aim %v not in ±%d", f, maxAim)
		}
		return int(math.Round(f)), nil
	}
	v, err := dec.DecodeInt64()
	if err != nil {
		return 0, fmt.Errorf("shooter: input [keys, aim, fire]: aim must be a number: %w", err)
	}
	if (c == msgpcode.Uint64 && v < 0) || v < -maxAim || v > maxAim {
		return 0, fmt.Errorf("shooter: input [keys, aim, fire]: aim not in ±%d", maxAim)
	}
	return int(v), nil
}

// Entity kinds of the replicated state, declared with their fields in Schema.
const (
	// KindPlayer is a player, human or bot. A human's id is their engine player id.
	KindPlayer uint8 = 1
	// KindRocket is a rocket in flight: where it was launched from, at the end of its launch
	// tick, and its velocity in units/s. Rockets fly straight at constant speed, so these
	// never change: the page computes where a rocket is at any tick, and only its launch and
	// its end (removal, and the "boom" event) travel.
	KindRocket uint8 = 2
)

// Schema declares the replicated state, in the order AppendFields writes it: the page reads
// the fields by these names, and web/types.d.ts is generated from it (go generate).
var Schema = &state.Schema{Kinds: []state.KindSpec{
	{Kind: KindPlayer, Name: "player", Fields: []state.Field{
		{Name: "x", Type: state.Uint},      // x·Grid: on the grid Step keeps positions on
		{Name: "y", Type: state.Uint},      // y·Grid
		{Name: "aim", Type: state.Uint},    // one of AimDirections directions
		{Name: "health", Type: state.Int},  // 0 to MaxHealth
		{Name: "alive", Type: state.Bool},  // false while waiting to respawn
		{Name: "frags", Type: state.Int},   // kills
		{Name: "deaths", Type: state.Int},  // deaths
		{Name: "name", Type: state.String}, // as the player chose it (a bot's from names.go)
		{Name: "color", Type: state.String},
		{Name: "bot", Type: state.Bool},
	}},
	{Kind: KindRocket, Name: "rocket", Fields: []state.Field{
		{Name: "x", Type: state.Uint},     // x·Grid where it was launched from
		{Name: "y", Type: state.Uint},     // y·Grid
		{Name: "vx", Type: state.Int},     // units per second
		{Name: "vy", Type: state.Int},     // units per second
		{Name: "owner", Type: state.Uint}, // the id of the player who fired it
		{Name: "tick", Type: state.Uint},  // the launch tick: it is at (x, y) at its end, and flies on from the next
	}},
},
	// The events the game broadcasts: on rallypoint.v2 each travels as its index here, a
	// byte where its name takes five (about 40 bytes a second per player in a busy room).
	Events: []string{"shot", "boom", "kill"},
}

// AimDirections is how many directions a replicated aim tells apart: a player's aim is
// drawn at round(angle/2π·AimDirections) mod AimDirections, one MessagePack byte (a
// positive fixint holds 0 to 127), about 2.8° apart.
const AimDirections = 128

// Id ranges of the entities that are not humans.
const (
	BotBase    state.ID = 1 << 24 // a server bot's id is BotBase + n
	RocketBase state.ID = 1 << 25 // a rocket's id is RocketBase + n
)

// The reliable events the game broadcasts, with their payloads. Ids are entity ids; 0 is
// nobody. Each payload is a MessagePack array of its fields in the order below, not a map:
// every player hears every shot, several a second, and the keys would be half the bytes.
type (
	// ShotEvent ("shot", [by, x1, y1, x2, y2, hit]): a blaster tracer from (X1, Y1) to
	// where it stopped, in whole units.
	ShotEvent struct {
		_msgpack struct{} `msgpack:",as_array"` //lint:ignore U1000 read by msgpack's reflection
		By       uint32
		X1       int
		Y1       int
		X2       int
		Y2       int
		Hit      uint32
	}
	// BoomEvent ("boom", [x, y, by, hit]): a rocket exploded, on a wall, the border, a
	// player, or at the end of its life.
	BoomEvent struct {
		_msgpack struct{} `msgpack:",as_array"` //lint:ignore U1000 read by msgpack's reflection
		X        int
		Y        int
		By       uint32
		Hit      uint32
	}
	// KillEvent ("kill", [killer, victim, weapon, killer_name, victim_name]): a player
	// died. Weapon is "blaster" or "rocket".
	KillEvent struct {
		_msgpack   struct{} `msgpack:",as_array"` //lint:ignore U1000 read by msgpack's reflection
		Killer     uint32
		Victim     uint32
		Weapon     string
		KillerName string
		VictimName string
	}
)

// MapInfo is the answer to the request "map": what the page needs to draw the arena and
// to predict movement with the same walls, in the same order, as Step.
type MapInfo struct {
	Width    int      `msgpack:"width"`
	Height   int      `msgpack:"height"`
	Radius   int      `msgpack:"radius"`
	Speed    int      `msgpack:"speed"`
	TickRate int      `msgpack:"tick_rate"`
	Walls    [][4]int `msgpack:"walls"` // [x, y, w, h] each
}

// Map returns the arena as the request "map" answers it.
func Map() MapInfo {
	m := MapInfo{Width: Width, Height: Height, Radius: Radius, Speed: Speed, TickRate: TickRate,
		Walls: make([][4]int, len(Walls))}
	for i, w := range Walls {
		m.Walls[i] = [4]int{int(w.X), int(w.Y), int(w.W), int(w.H)}
	}
	return m
}
