package shooter_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/examples/shooter"
	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/state"
)

// These tests play whole games over real sockets: an httptest server with the engine, and
// gameclient players that send inputs as the page does.

// quickClock runs the rooms' time speed times faster than the wall clock, so that a test
// waiting for a 2 s respawn waits 1 s, while the room still sleeps between ticks and
// clients still get every snapshot (engine.FakeClock would spin the loop flat out).
type quickClock struct {
	origin time.Time
	speed  float64
}

func (c *quickClock) Now() time.Duration {
	return time.Duration(float64(time.Since(c.origin)) * c.speed)
}

func (c *quickClock) SleepUntil(t time.Duration, done <-chan struct{}) bool {
	d := time.Duration(float64(t-c.Now()) / c.speed)
	if d <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-done:
		return false
	}
}

// startShooter serves the shooter with o, its rooms running speed times faster than real
// time, and returns the WebSocket URL.
func startShooter(t *testing.T, o shooter.Options, speed float64) string {
	t.Helper()
	e := engine.New(engine.Options{
		Logger: slog.New(slog.DiscardHandler),
		Clock:  &quickClock{origin: time.Now(), speed: speed},
	})
	if err := shooter.RegisterWith(e, o); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Shutdown(ctx)
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// seat is a connected player.
type seat struct {
	*gameclient.Client
	gameclient.Joined
}

// joinShooter dials and takes a seat by quick play (or with opts.Token, the same seat again).
func joinShooter(t *testing.T, url, name string, opts engine.JoinOptions) seat {
	t.Helper()
	c, err := gameclient.Dial(ctx10(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Conn().CloseNow() })
	if opts.Token == "" {
		opts.Game = shooter.Name
	}
	opts.Meta, _ = msgpack.Marshal(map[string]string{"name": name})
	j, err := c.Join(ctx10(t), opts)
	if err != nil {
		t.Fatalf("%s: join: %v", name, err)
	}
	return seat{c, j}
}

// playerView is a player entity as a client decodes it.
type playerView struct {
	x, y, aim, health int
	alive             bool
	frags, deaths     int
	name, color       string
	bot               bool
}

func decodePlayer(t *testing.T, e state.MirrorEntity) playerView {
	var p playerView
	for i, v := range []any{&p.x, &p.y, &p.aim, &p.health, &p.alive, &p.frags, &p.deaths, &p.name, &p.color, &p.bot} {
		if err := e.Decode(i, v); err != nil {
			t.Errorf("player %d field %d: %v", e.ID, i, err)
		}
	}
	return p
}

// players are the players in s's mirror, by id.
func (s seat) players(t *testing.T) map[uint32]playerView {
	out := map[uint32]playerView{}
	s.State(func(m *state.Mirror, _ uint32) {
		for _, e := range m.Entities() {
			if e.Kind == shooter.KindPlayer {
				out[uint32(e.ID)] = decodePlayer(t, e)
			}
		}
	})
	return out
}

func (s seat) bots(t *testing.T) map[uint32]playerView {
	out := map[uint32]playerView{}
	for id, p := range s.players(t) {
		if p.bot {
			out[id] = p
		}
	}
	return out
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// nextEvent returns the next game event called name (skipping others) decoded into out,
// false if none comes within the deadline.
func nextEvent(c *gameclient.Client, name string, out any, within time.Duration) bool {
	timeout := time.After(within)
	for {
		select {
		case ev := <-c.Events():
			if ev.Kind == engine.KindEvent && ev.Name == name {
				return msgpack.Unmarshal(ev.Payload, out) == nil
			}
		case <-timeout:
			return false
		}
	}
}

func TestAVisitorFindsBotsRunningAndShooting(t *testing.T) {
	url := startShooter(t, shooter.Options{Seed: 1}, 2) // 3 bots, as registered by default
	ada := joinShooter(t, url, "ada", engine.JoinOptions{})
	if ada.TickRate != 60 || ada.SnapshotRate != 30 {
		t.Fatalf("joined %+v", ada.Joined)
	}
	waitUntil(t, "ada and two bots", func() bool {
		ps := ada.players(t)
		me, ok := ps[ada.Player]
		return ok && me.name == "ada" && me.alive && me.health == 100 && len(ps) == 3 && len(ada.bots(t)) == 2
	})
	start := ada.bots(t)
	for id, b := range start {
		if id <= uint32(shooter.BotBase) || !strings.HasPrefix(b.name, "[bot] ") || b.color != shooter.Color(id) {
			t.Fatalf("bot %d: %+v", id, b)
		}
	}
	waitUntil(t, "both bots to move 100 units", func() bool {
		moved := 0
		for id, b := range ada.bots(t) {
			if s, ok := start[id]; ok && math.Hypot(float64(b.x-s.x), float64(b.y-s.y)) > 100*shooter.Grid {
				moved++
			}
		}
		return moved == 2
	})
	var shot shooter.ShotEvent
	for shot.By <= uint32(shooter.BotBase) {
		if !nextEvent(ada.Client, "shot", &shot, 15*time.Second) {
			t.Fatal("no bot fired in 30 s of game time")
		}
	}
}

// The client predicts its own movement with shooter.Step. After the server acknowledges
// input seq, the snapshot's x and y must equal, to the bit, the prediction replayed up to
// seq: here along a wall, into a corner, diagonally and against the border.
// TestTheServerMovesPlayersExactlyAsStepPredicts plays a route of inputs with rooms that read
// their players at the tick (the default) and with rooms that read each input as it arrives
// (Options.ReadOnArrival): the server's positions match Step's either way.
func TestTheServerMovesPlayersExactlyAsStepPredicts(t *testing.T) {
	for _, onArrival := range []bool{false, true} {
		t.Run(map[bool]string{false: "read at tick", true: "read on arrival"}[onArrival], func(t *testing.T) {
			movesAsStepPredicts(t, onArrival)
		})
	}
}

func movesAsStepPredicts(t *testing.T, onArrival bool) {
	url := startShooter(t, shooter.Options{Bots: -1, Spawns: []shooter.Point{{X: 880, Y: 600}}, ReadOnArrival: onArrival}, 1)
	ada := joinShooter(t, url, "ada", engine.JoinOptions{})
	waitUntil(t, "ada in the arena", func() bool { _, ok := ada.players(t)[ada.Player]; return ok })
	me := ada.players(t)[ada.Player]
	x, y := float64(me.x)/shooter.Grid, float64(me.y)/shooter.Grid
	if x != 880 || y != 600 {
		t.Fatalf("spawned at (%v, %v)", x, y)
	}
	type leg struct {
		keys  uint8
		steps int
	}
	legs := []leg{
		{shooter.KeyRight, 20},                   // into the centre pillar's left face
		{shooter.KeyRight | shooter.KeyDown, 30}, // sliding down the face, then past its corner
		{shooter.KeyUp | shooter.KeyRight, 25},   // under the pillar: pushed down by its bottom face
		{0, 5},
		{shooter.KeyLeft | shooter.KeyUp, 40},
		{shooter.KeyUp, 12},
		{shooter.KeyLeft, 10},
		{shooter.KeyDown | shooter.KeyLeft, 20},
	}
	var predicted [][2]float64 // after each input
	var inputs []shooter.Input
	for _, l := range legs {
		for range l.steps {
			x, y = shooter.Step(x, y, l.keys)
			predicted = append(predicted, [2]float64{x, y})
			inputs = append(inputs, shooter.Input{Keys: l.keys, Aim: 785})
		}
	}

	checked := map[uint32]bool{} // the snapshot ticks compared with the prediction
	check := func() {
		seq, tick := ada.InputAck()
		var got playerView
		var mirrorTick uint32
		found := false
		ada.State(func(m *state.Mirror, tk uint32) {
			mirrorTick = tk
			if e, ok := m.Entity(state.ID(ada.Player)); ok {
				got, found = decodePlayer(t, e), true
			}
		})
		if seq2, tick2 := ada.InputAck(); seq == 0 || seq2 != seq || tick2 != tick || mirrorTick != tick || !found {
			return // not a snapshot known to carry exactly the inputs up to seq
		}
		want := predicted[seq-1]
		if float64(got.x)/shooter.Grid != want[0] || float64(got.y)/shooter.Grid != want[1] {
			t.Fatalf("after input %d the server has (%v, %v), the prediction (%v, %v)",
				seq, float64(got.x)/shooter.Grid, float64(got.y)/shooter.Grid, want[0], want[1])
		}
		checked[tick] = true
	}
	tick := time.NewTicker(time.Second / 60)
	defer tick.Stop()
	var last uint32
	for _, in := range inputs {
		<-tick.C
		var err error
		if last, err = ada.SendInput(in); err != nil {
			t.Fatal(err)
		}
		check()
	}
	waitUntil(t, "every input applied", func() bool { seq, _ := ada.InputAck(); return seq == last })
	_, ackTick := ada.InputAck()
	if err := ada.WaitSnapshot(ctx10(t), ackTick); err != nil {
		t.Fatal(err)
	}
	check()
	final := ada.players(t)[ada.Player]
	// Aim 785 mrad is an eighth of a turn: direction 16 of 128.
	if want := predicted[len(predicted)-1]; float64(final.x)/shooter.Grid != want[0] || float64(final.y)/shooter.Grid != want[1] || final.aim != 16 {
		t.Fatalf("finally (%v, %v) aim %d, predicted %v and 16", float64(final.x)/shooter.Grid, float64(final.y)/shooter.Grid, final.aim, want)
	}
	if len(checked) < 10 {
		t.Fatalf("only %d snapshots checked against the prediction", len(checked))
	}
	t.Logf("%d inputs, %d snapshots checked against the prediction", len(inputs), len(checked))
}

func TestABlasterDuelKillsAndRespawns(t *testing.T) {
	url := startShooter(t, shooter.Options{Bots: -1, Spawns: []shooter.Point{{X: 200, Y: 100}, {X: 700, Y: 100}}}, 2)
	ada := joinShooter(t, url, "ada", engine.JoinOptions{})
	bob := joinShooter(t, url, "bob", engine.JoinOptions{})
	if ada.Room != bob.Room {
		t.Fatal("quick play put them in different rooms")
	}
	waitUntil(t, "both in the arena", func() bool { return len(ada.players(t)) == 2 })
	ps := ada.players(t)
	a, b := ps[ada.Player], ps[bob.Player]
	aim := int(math.Round(math.Atan2(float64(b.y-a.y), float64(b.x-a.x)) * 1000))

	var kill shooter.KillEvent
	got := make(chan shooter.KillEvent, 1)
	go func() {
		var k shooter.KillEvent
		if nextEvent(bob.Client, "kill", &k, 10*time.Second) {
			got <- k
		}
		close(got)
	}()
	fire := time.NewTicker(20 * time.Millisecond)
	defer fire.Stop()
	for done := false; !done; {
		select {
		case k, ok := <-got:
			if !ok {
				t.Fatal("no kill")
			}
			kill, done = k, true
		case <-fire.C:
			if _, err := ada.SendInput(shooter.Input{Aim: aim, Fire: shooter.FireBlaster}); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := shooter.KillEvent{Killer: ada.Player, Victim: bob.Player, Weapon: "blaster", KillerName: "ada", VictimName: "bob"}
	if kill != want {
		t.Fatalf("kill %+v, want %+v", kill, want)
	}
	hits := 0
	for hits < 4 {
		var s shooter.ShotEvent
		if !nextEvent(ada.Client, "shot", &s, time.Second) {
			t.Fatalf("ada heard %d hitting shots", hits)
		}
		if s.By != ada.Player || s.X1 != a.x/shooter.Grid || s.Y1 != a.y/shooter.Grid {
			t.Fatalf("shot %+v", s)
		}
		if s.Hit == bob.Player {
			hits++
		}
	}
	waitUntil(t, "the scores", func() bool {
		ps := bob.players(t)
		return ps[ada.Player].frags == 1 && ps[bob.Player].deaths == 1 && !ps[bob.Player].alive && ps[bob.Player].health == 0
	})
	// Respawn after 2 s of game time, at the spawn point farthest from ada: where bob began.
	waitUntil(t, "bob's respawn", func() bool { return bob.players(t)[bob.Player].alive })
	back := bob.players(t)[bob.Player]
	if back.health != 100 || back.x != b.x || back.y != b.y || back.deaths != 1 {
		t.Fatalf("bob respawned as %+v, was %+v", back, b)
	}
}

// A rocket is replicated once, with where and when it was launched and its velocity, and
// stays unchanged in every snapshot until it explodes: the client computes where it is.
func TestARocketFliesAndExplodesOnAWall(t *testing.T) {
	url := startShooter(t, shooter.Options{Bots: -1, Spawns: []shooter.Point{{X: 805, Y: 600}}}, 1)
	ada := joinShooter(t, url, "ada", engine.JoinOptions{})
	waitUntil(t, "ada in the arena", func() bool { _, ok := ada.players(t)[ada.Player]; return ok })
	if _, err := ada.SendInput(shooter.Input{Aim: 0, Fire: shooter.FireRocket}); err != nil {
		t.Fatal(err)
	}
	type rocketView struct{ x, y, vx, vy, owner, tick int }
	var seen []rocketView
	var ticks []uint32 // the snapshots it was in
	waitUntil(t, "the rocket to fly and go", func() bool {
		var rs []rocketView
		var tick uint32
		ada.State(func(m *state.Mirror, tk uint32) {
			tick = tk
			for _, e := range m.Entities() {
				if e.Kind == shooter.KindRocket {
					var r rocketView
					for i, v := range []any{&r.x, &r.y, &r.vx, &r.vy, &r.owner, &r.tick} {
						if err := e.Decode(i, v); err != nil {
							t.Error(err)
						}
					}
					if e.ID != shooter.RocketBase+1 {
						t.Errorf("rocket id %d", e.ID)
					}
					rs = append(rs, r)
				}
			}
		})
		if len(rs) > 0 && (len(ticks) == 0 || ticks[len(ticks)-1] != tick) {
			seen = append(seen, rs[0])
			ticks = append(ticks, tick)
		}
		return len(seen) > 0 && len(rs) == 0
	})
	if len(seen) < 3 {
		t.Fatalf("the rocket was in %d snapshots: %+v", len(seen), seen)
	}
	for i, r := range seen {
		if r != seen[0] || r.x != 805*shooter.Grid || r.y != 600*shooter.Grid || r.vx != shooter.RocketSpeed ||
			r.vy != 0 || r.owner != int(ada.Player) || r.tick <= 0 || uint32(r.tick) > ticks[0] {
			t.Fatalf("rocket fields %+v in the snapshots of ticks %v", seen, ticks)
		}
		// Where the client draws it at the snapshot's tick: short of the pillar it explodes on.
		if x := 805 + float64(r.vx)*float64(ticks[i]-uint32(r.tick))/shooter.TickRate; x >= 940 {
			t.Fatalf("at tick %d the rocket would be at x %v, inside the pillar", ticks[i], x)
		}
	}
	var boom shooter.BoomEvent
	if !nextEvent(ada.Client, "boom", &boom, 5*time.Second) || boom != (shooter.BoomEvent{X: 940, Y: 600, By: ada.Player}) {
		t.Fatalf("boom %+v", boom)
	}
}

func TestBotsMakeWayForHumansAndComeBack(t *testing.T) {
	url := startShooter(t, shooter.Options{Bots: 3}, 1)
	ada := joinShooter(t, url, "ada", engine.JoinOptions{})
	botsSeen := func(n int) func() bool {
		return func() bool { return len(ada.bots(t)) == n }
	}
	waitUntil(t, "2 bots with ada", botsSeen(2))
	bob := joinShooter(t, url, "bob", engine.JoinOptions{})
	waitUntil(t, "1 bot with ada and bob", botsSeen(1))
	cy := joinShooter(t, url, "cy", engine.JoinOptions{})
	dee := joinShooter(t, url, "dee", engine.JoinOptions{})
	// No bots is already true with 3 humans (cy took the last bot's place): wait for dee too.
	waitUntil(t, "no bots with 4 humans", func() bool { return len(ada.bots(t)) == 0 && len(ada.players(t)) == 4 })
	if n := len(ada.players(t)); n != 4 {
		t.Fatalf("%d players", n)
	}
	for _, s := range []seat{cy, dee} {
		if err := s.Leave(); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "a bot back for cy", botsSeen(1))
	if err := bob.Leave(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "2 bots with ada alone", botsSeen(2))
}

func TestADroppedPlayerLeavesTheArenaUntilTheyComeBack(t *testing.T) {
	url := startShooter(t, shooter.Options{Bots: -1}, 1)
	ada := joinShooter(t, url, "ada", engine.JoinOptions{})
	bob := joinShooter(t, url, "bob", engine.JoinOptions{})
	waitUntil(t, "bob in ada's arena", func() bool { _, ok := ada.players(t)[bob.Player]; return ok })
	before := ada.players(t)[bob.Player]
	bob.Conn().CloseNow()
	waitUntil(t, "bob gone from ada's arena", func() bool { _, ok := ada.players(t)[bob.Player]; return !ok })
	again := joinShooter(t, url, "bob", engine.JoinOptions{Token: bob.Token})
	if again.Player != bob.Player || again.Room != bob.Room {
		t.Fatalf("rejoined as %+v", again.Joined)
	}
	waitUntil(t, "bob back", func() bool {
		p, ok := ada.players(t)[bob.Player]
		return ok && p == before
	})
}

func TestTheMapRequest(t *testing.T) {
	url := startShooter(t, shooter.Options{Bots: -1}, 1)
	ada := joinShooter(t, url, "ada", engine.JoinOptions{})
	var m shooter.MapInfo
	if err := ada.Request(ctx10(t), "map", nil, &m); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, shooter.Map()) || len(m.Walls) != len(shooter.Walls) || m.Walls[0] != [4]int{940, 540, 120, 120} {
		t.Fatalf("map %+v", m)
	}
	// The page reads it as a generic map: the keys are the spec's.
	var raw map[string]any
	if err := ada.Request(ctx10(t), "map", nil, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"width", "height", "radius", "speed", "tick_rate", "walls"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("no %q in %v", k, raw)
		}
	}
	var e *engine.Error
	if err := ada.Request(ctx10(t), "cheat", nil, nil); !errors.As(err, &e) || e.Code != engine.CodeBadRequest {
		t.Fatalf("request cheat: %v", err)
	}
}
