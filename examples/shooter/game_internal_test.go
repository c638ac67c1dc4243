package shooter

import (
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
	want := player{x: 80525, y: 60050, aim: 0, health: 100, alive: true, frags: 3, deaths: 2, name: "ada", color: Color(7)}
	if got := decode(ents[0]); got != want {
		t.Fatalf("ada %+v, want %+v", got, want)
	}
	if e := ents[1]; e.ID != state.ID(bot.id) || e.Kind != KindPlayer {
		t.Fatalf("second entity %d of kind %d", e.ID, e.Kind)
	}
	if got := decode(ents[1]); !got.bot || got.name != bot.name || got.x != int(bot.x*100+0.5) {
		t.Fatalf("bot %+v", got)
	}
	e := ents[2]
	var x, y, vx, vy int
	var owner uint32
	for i, v := range []any{&x, &y, &vx, &vy, &owner} {
		if err := e.Decode(i, v); err != nil {
			t.Fatal(err)
		}
	}
	if e.ID != RocketBase+1 || e.Kind != KindRocket || x != 805 || y != 601 || vx != RocketSpeed || vy != 0 || owner != 7 || len(e.Fields) != 5 {
		t.Fatalf("rocket %d kind %d: [%d %d %d %d %d]", e.ID, e.Kind, x, y, vx, vy, owner)
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

func TestJoinReadsTheName(t *testing.T) {
	cases := []struct {
		meta any
		want string
	}{
		{"ada", "ada"},
		{map[string]any{"name": "  bob  "}, "bob"},
		{"a\x00b\nc", "abc"},
		{"an extremely long name indeed", "an extremely long name i"},
		{"   ", "player 9"},
		{nil, "player 9"},
		{42, "player 9"},
	}
	for _, c := range cases {
		meta, _ := engine.Marshal(c.meta)
		if c.meta == nil {
			meta = nil
		}
		if got := playerName(&engine.Player{ID: 9, Meta: meta}); got != c.want {
			t.Errorf("meta %q: name %q, want %q", c.meta, got, c.want)
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
		o.Room.MaxPlayers != 8 || o.Room.Grace.Seconds() != 10 || len(o.Spawns) != len(Spawns) {
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
