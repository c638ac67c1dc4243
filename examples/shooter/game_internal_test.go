package shooter

import (
	"bytes"
	"math"
	"testing"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/state"
)

// snapshot builds the replicated state of a's game as the engine would.
func (a *arena) snapshot(ring *state.Ring) []state.MirrorEntity {
	b := ring.Builder()
	b.Begin(state.Tick(a.tick))
	a.g.Snapshot(nil, b)
	s := b.Finish()
	ring.Push(s)
	return state.SnapshotEntities(s, nil)
}

func TestSnapshotHasTheSpecsFieldsInOrder(t *testing.T) {
	a := newArena(t, Options{Bots: 2})
	ada := a.join(7, "ada", 805.25, 600.5)
	ada.aim = -1571
	ada.frags, ada.deaths = 3, 2
	bot := a.g.bots[0]
	a.step(input(ada, Input{Aim: 0, Fire: FireRocket}))
	ents := a.snapshot(state.NewRing(4))
	if len(ents) != 3 {
		t.Fatalf("%d entities, want ada, a bot and a rocket", len(ents))
	}
	type player struct {
		x, y, aim, health int
		alive             bool
		frags, deaths     int
		name, color       string
		bot               bool
	}
	decode := func(e state.MirrorEntity) (p player) {
		t.Helper()
		for i, v := range []any{&p.x, &p.y, &p.aim, &p.health, &p.alive, &p.frags, &p.deaths, &p.name, &p.color, &p.bot} {
			if err := e.Decode(i, v); err != nil {
				t.Fatalf("entity %d field %d: %v", e.ID, i, err)
			}
		}
		if len(e.Fields) != 10 {
			t.Fatalf("entity %d has %d fields", e.ID, len(e.Fields))
		}
		return p
	}
	// Sorted by id: humans, then bots, then rockets.
	if e := ents[0]; e.ID != 7 || e.Kind != KindPlayer {
		t.Fatalf("first entity %d of kind %d", e.ID, e.Kind)
	}
	want := player{x: 12884, y: 9608, aim: 0, health: 100, alive: true, frags: 3, deaths: 2, name: "ada", color: Color(7)}
	if got := decode(ents[0]); got != want {
		t.Fatalf("ada %+v, want %+v", got, want)
	}
	if e := ents[1]; e.ID != state.ID(bot.id) || e.Kind != KindPlayer {
		t.Fatalf("second entity %d of kind %d", e.ID, e.Kind)
	}
	if got := decode(ents[1]); !got.bot || got.name != bot.name || got.x != int(bot.x*Grid) || got.aim != int(AimDirection(bot.aim)) {
		t.Fatalf("bot %+v", got)
	}
	// The rocket is where it was launched from, at the end of the tick it was launched in.
	rocketFields := func(e state.MirrorEntity) (r [6]int) {
		t.Helper()
		for i := range r {
			if err := e.Decode(i, &r[i]); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	e := ents[2]
	if r := rocketFields(e); e.ID != RocketBase+1 || e.Kind != KindRocket || len(e.Fields) != 6 ||
		r != [6]int{12884, 9608, RocketSpeed, 0, 7, 1} {
		t.Fatalf("rocket %d kind %d: %v", e.ID, e.Kind, r)
	}
	// It flies on, but its fields do not change: the page computes where it is.
	a.run(10)
	if ents := a.snapshot(state.NewRing(4)); len(ents) != 3 || rocketFields(ents[2]) != [6]int{12884, 9608, RocketSpeed, 0, 7, 1} {
		t.Fatalf("10 ticks later: %+v", ents)
	}
	if rk := a.g.rockets[0]; math.Abs(rk.x-(805.25+10*rocketStep)) > 1e-9 || rk.y != 600.5 {
		t.Fatalf("10 ticks after its launch the rocket is at (%v, %v)", rk.x, rk.y)
	}

	// An absent player is not shown; the dead are, with alive false.
	a.g.Drop(nil, ada.p)
	bot.alive = false
	ents = a.snapshot(state.NewRing(4))
	if len(ents) != 2 || ents[0].ID != state.ID(bot.id) || decode(ents[0]).alive {
		t.Fatalf("after ada dropped and the bot died: %+v", ents)
	}
	a.g.Rejoin(nil, ada.p)
	if ents = a.snapshot(state.NewRing(4)); len(ents) != 3 {
		t.Fatalf("after ada came back: %d entities", len(ents))
	}
}

// What the snapshots cost: a player who moved and turned since the baseline is a changed
// entry of 10 bytes, [id, mask, x·16, y·16, aim], and one who did not costs nothing. A
// rocket costs its launch and its removal, nothing while it flies.
func TestSnapshotDeltasAreSmall(t *testing.T) {
	a := newArena(t, Options{})
	ada := a.join(1, "ada", 500, 150)
	a.join(2, "bob", 1500, 1050)
	ring := state.NewRing(8)
	snap := func() *state.Snapshot {
		b := ring.Builder()
		b.Begin(state.Tick(a.tick))
		a.g.Snapshot(nil, b)
		s := b.Finish()
		ring.Push(s)
		return s
	}
	a.step()
	base := snap()
	a.step(input(ada, Input{Keys: KeyDown | KeyRight, Aim: 700, Fire: FireRocket}))
	a.step(input(ada, Input{Keys: KeyDown | KeyRight, Aim: 700}))
	launched := snap()
	a.step()
	a.step()
	flying := snap()
	cases := []struct {
		name     string
		from, to *state.Snapshot
		want     []byte // the body, after [tick, baseline
	}{
		{"ada moved diagonally and turned; a rocket was launched", base, launched, []byte{
			// added: the rocket, [id, kind, [x·16, y·16, vx, vy, owner, tick]]: launched in tick
			// 2 from (503.0625, 153.0625), where ada's first step took her, along 0.7 rad:
			// 8049, 2449, round(700·cos 0.7) = 535, round(700·sin 0.7) = 451.
			0x91,
			0x93, 0xce, 0x02, 0x00, 0x00, 0x01, 0x02, 0x96, 0xcd, 0x1f, 0x71, 0xcd, 0x09, 0x91, 0xcd, 0x02, 0x17, 0xcd, 0x01, 0xc3, 0x01, 0x02,
			0x90, // removed: nothing
			// changed: ada, [id, mask 0b111, x·16, y·16, aim] after two steps: (506.125,
			// 156.125) is 8098, 2498; 0.7 rad is 14.26 128ths of a turn.
			0x91,
			0x95, 0x01, 0x07, 0xcd, 0x1f, 0xa2, 0xcd, 0x09, 0xc2, 0x0e,
		}},
		{"nobody moved, the rocket flew on", launched, flying, []byte{0x90, 0x90, 0x90}},
	}
	for _, c := range cases {
		body := state.AppendDelta(nil, c.from, c.to, nil)
		head := []byte{0x95, byte(c.to.Tick()), byte(c.from.Tick())}
		if !bytes.Equal(body, append(head, c.want...)) {
			t.Errorf("%s: body\n% x, want\n% x", c.name, body, append(head, c.want...))
		}
	}
}

// The replicated aim is a direction in 128ths of a turn from +x towards +y, 0 to 127.
func TestAimDirection(t *testing.T) {
	cases := []struct {
		aim  int // milliradians
		want uint8
	}{
		{0, 0},
		{24, 0},    // 0.49 of a 128th
		{25, 1},    // 0.51
		{-24, 0},   // -0.49
		{-25, 127}, // -0.51: just above +x, the last direction
		{1571, 32}, // down (y grows down)
		{-1571, 96},
		{3142, 64}, // both ends of [-π, π] are left
		{-3142, 64},
		{785, 16},
		{-2356, 80},
		{6283, 0}, // a whole turn, as an input may say
		{-7854, 96},
	}
	for _, c := range cases {
		if got := AimDirection(c.aim); got != c.want {
			t.Errorf("AimDirection(%d) = %d, want %d", c.aim, got, c.want)
		}
	}
}

func TestAnAbsentPlayerIsNeitherHitNorMoved(t *testing.T) {
	a := newArena(t, Options{})
	ada := a.join(1, "ada", 200, 100)
	bob := a.join(2, "bob", 700, 100)
	a.g.Drop(nil, bob.p)
	a.step(input(ada, Input{Fire: FireBlaster | FireRocket}))
	a.run(RocketLifetime)
	if bob.health != MaxHealth || a.rec.shots[0].Hit != 0 || len(a.rec.booms) != 1 || a.rec.booms[0].Hit != 0 {
		t.Fatalf("an absent player was hit: %+v %+v", a.rec.shots, a.rec.booms)
	}
	a.g.Rejoin(nil, bob.p)
	a.run(BlasterCooldown, input(ada, Input{Fire: FireBlaster}))
	if bob.x != 700 || bob.health != MaxHealth-BlasterDamage {
		t.Fatalf("back: bob at %v with %d health", bob.x, bob.health)
	}
}

func TestNormAim(t *testing.T) {
	cases := []struct{ in, want int }{
		{0, 0}, {3142, 3142}, {-3142, -3142}, {1571, 1571},
		{3200, 3200 - 6283}, {-3200, 6283 - 3200}, {6283 + 100, 100}, {-31416 - 100, -100}, // five turns are 31415.9 mrad
	}
	for _, c := range cases {
		if got := normAim(c.in); got != c.want {
			t.Errorf("normAim(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestUnknownRequestIsRejected(t *testing.T) {
	g := newGame(Options{})
	if v, err := g.Request(nil, nil, "map", nil); err != nil || v.(MapInfo).Width != Width {
		t.Fatalf("map: %v, %v", v, err)
	}
	if _, err := g.Request(nil, nil, "cheat", nil); err == nil {
		t.Fatal("an unknown request was answered")
	}
}

func TestOptionsDefaultsAndChecks(t *testing.T) {
	o, err := Options{}.withDefaults()
	if err != nil || o.Name != Name || o.Bots != 3 || o.Room.TickRate != 60 || o.Room.SnapshotRate != 30 ||
		o.Room.MaxPlayers != 8 || o.Room.Grace != 0 || len(o.Spawns) != len(Spawns) {
		t.Fatalf("defaults %+v, %v", o, err)
	}
	if o, _ := (Options{Bots: -1}).withDefaults(); o.Bots != 0 {
		t.Fatalf("Bots -1 gives %d bots", o.Bots)
	}
	for _, bad := range []Options{
		{Room: engine.RoomConfig{TickRate: 30}},
		{Spawns: []Point{}},
		{Spawns: []Point{{1000, 600}}}, // in the centre pillar
		{Spawns: []Point{{5, 100}}},    // half outside
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
