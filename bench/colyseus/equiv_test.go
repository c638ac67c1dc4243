// Package colyseus holds no Go code: the Colyseus side of the benchmark is JavaScript. This
// test is its equivalence check: the room's port of the shooter (world.mjs, rules.mjs) must
// use the same numbers as examples/shooter and compute the same movement and rays, bit for
// bit, or the comparison would not be of the same game. world.mjs and rules.mjs import no
// npm package, so the test needs Node but not this folder's node_modules.
package colyseus

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/examples/shooter"
	"github.com/rallypoint/rallypoint/internal/peertest"
)

// runNode runs script (an ES module) with the absolute paths of world.mjs and rules.mjs,
// feeding it in as JSON and decoding its JSON stdout into out.
func runNode(t *testing.T, script string, in, out any) {
	t.Helper()
	node := peertest.Node(t)
	dir := t.TempDir()
	abs := func(name string) string {
		// Reading the module here, not only in node, lets go test's cache see it: an edit to
		// it reruns the test instead of replaying a cached pass.
		if _, err := os.ReadFile(name); err != nil {
			t.Fatal(err)
		}
		p, err := filepath.Abs(name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	scriptPath := filepath.Join(dir, "check.mjs")
	inPath := filepath.Join(dir, "in.json")
	outPath := filepath.Join(dir, "out.json")
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(scriptPath, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := peertest.Run(ctx, t, node, scriptPath, abs("world.mjs"), abs("rules.mjs"), inPath, outPath); err != nil {
		t.Fatalf("node %s: %v", scriptPath, err)
	}
	res, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(res, out); err != nil {
		t.Fatalf("decode node output: %v", err)
	}
}

// scriptHead imports the two modules as w and r and reads the input as in.
const scriptHead = `
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const w = await import(pathToFileURL(process.argv[2]).href);
const r = await import(pathToFileURL(process.argv[3]).href);
const input = JSON.parse(readFileSync(process.argv[4], "utf8"));
const done = (v) => writeFileSync(process.argv[5], JSON.stringify(v));
`

// TestPortUsesTheShooterNumbers compares every constant, wall and spawn point of the port
// with examples/shooter's.
func TestPortUsesTheShooterNumbers(t *testing.T) {
	var got struct {
		Consts map[string]float64 `json:"consts"`
		Walls  [][4]float64       `json:"walls"`
		Spawns [][2]float64       `json:"spawns"`
	}
	runNode(t, scriptHead+`
done({
  consts: {
    Width: w.WIDTH, Height: w.HEIGHT, Radius: w.RADIUS, Speed: w.SPEED, TickRate: w.TICK_RATE, Grid: w.GRID,
    AimDirections: r.AIM_DIRECTIONS,
    SnapshotRate: w.PATCH_RATE, KeyUp: w.KEY_UP, KeyDown: w.KEY_DOWN, KeyLeft: w.KEY_LEFT,
    KeyRight: w.KEY_RIGHT, FireBlaster: w.FIRE_BLASTER, FireRocket: w.FIRE_ROCKET,
    MaxHealth: r.MAX_HEALTH, RespawnTicks: r.RESPAWN_TICKS, BlasterDamage: r.BLASTER_DAMAGE,
    BlasterCooldown: r.BLASTER_COOLDOWN, BlasterRange: r.BLASTER_RANGE, RocketSpeed: r.ROCKET_SPEED,
    RocketDamage: r.ROCKET_DAMAGE, RocketRadius: r.ROCKET_RADIUS, RocketCooldown: r.ROCKET_COOLDOWN,
    RocketLifetime: r.ROCKET_LIFETIME, MaxRewind: r.MAX_REWIND,
  },
  walls: w.WALLS.map((v) => [v.x, v.y, v.w, v.h]),
  spawns: w.SPAWNS.map((p) => [p.x, p.y]),
});
`, struct{}{}, &got)

	want := map[string]float64{
		"Width": shooter.Width, "Height": shooter.Height, "Radius": shooter.Radius, "Speed": shooter.Speed,
		"TickRate": shooter.TickRate, "SnapshotRate": shooter.SnapshotRate, "Grid": shooter.Grid,
		"AimDirections": shooter.AimDirections,
		"KeyUp":         float64(shooter.KeyUp), "KeyDown": float64(shooter.KeyDown),
		"KeyLeft": float64(shooter.KeyLeft), "KeyRight": float64(shooter.KeyRight),
		"FireBlaster": float64(shooter.FireBlaster), "FireRocket": float64(shooter.FireRocket),
		"MaxHealth": shooter.MaxHealth, "RespawnTicks": shooter.RespawnTicks,
		"BlasterDamage": shooter.BlasterDamage, "BlasterCooldown": shooter.BlasterCooldown,
		"BlasterRange": shooter.BlasterRange, "RocketSpeed": shooter.RocketSpeed,
		"RocketDamage": shooter.RocketDamage, "RocketRadius": shooter.RocketRadius,
		"RocketCooldown": shooter.RocketCooldown, "RocketLifetime": shooter.RocketLifetime,
		// The engine's default rewind limit (1 s) in ticks; the port judges one view tick, as
		// loadgen's bots send a view of one snapshot.
		"MaxRewind": shooter.TickRate,
	}
	for name, v := range want {
		g, ok := got.Consts[name]
		if !ok {
			t.Errorf("%s: missing from the port", name)
		} else if g != v {
			t.Errorf("%s: port has %v, examples/shooter %v", name, g, v)
		}
	}
	if len(got.Walls) != len(shooter.Walls) {
		t.Fatalf("port has %d walls, examples/shooter %d", len(got.Walls), len(shooter.Walls))
	}
	for i, w := range shooter.Walls {
		if got.Walls[i] != [4]float64{w.X, w.Y, w.W, w.H} {
			t.Errorf("wall %d: port has %v, examples/shooter %v", i, got.Walls[i], w)
		}
	}
	if len(got.Spawns) != len(shooter.Spawns) {
		t.Fatalf("port has %d spawns, examples/shooter %d", len(got.Spawns), len(shooter.Spawns))
	}
	for i, s := range shooter.Spawns {
		if got.Spawns[i] != [2]float64{s.X, s.Y} {
			t.Errorf("spawn %d: port has %v, examples/shooter %v", i, got.Spawns[i], s)
		}
	}
}

// stepRun is a start position and the keys held at each step from it.
type stepRun struct {
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	Keys []int   `json:"keys"`
}

// TestStepIsBitExact replays random key sequences from every spawn point and beside every
// wall through both Steps: runs of 1 to 120 steps of one of the 16 key combinations, long
// enough to cross into walls and the border. JSON carries the shortest decimal of each
// double, so equality here is equality of the bits.
func TestStepIsBitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var starts [][2]float64
	for _, s := range shooter.Spawns {
		starts = append(starts, [2]float64{s.X, s.Y})
	}
	for _, w := range shooter.Walls {
		starts = append(starts, [2]float64{max(w.X-shooter.Radius-3, shooter.Radius), w.Y + w.H/2})
	}
	runs := make([]stepRun, 0, len(starts))
	for _, st := range starts {
		r := stepRun{X: st[0], Y: st[1]}
		for len(r.Keys) < 1500 {
			k := rng.IntN(16)
			for n := 1 + rng.IntN(120); n > 0 && len(r.Keys) < 1500; n-- {
				r.Keys = append(r.Keys, k)
			}
		}
		runs = append(runs, r)
	}
	var got [][]float64
	runNode(t, scriptHead+`
done(input.map((run) => {
  const pos = { x: run.x, y: run.y };
  const out = [];
  for (const k of run.keys) { w.step(pos, k); out.push(pos.x, pos.y); }
  return out;
}));
`, runs, &got)
	if len(got) != len(runs) {
		t.Fatalf("node returned %d runs, want %d", len(got), len(runs))
	}
	for i, run := range runs {
		x, y := run.X, run.Y
		for j, k := range run.Keys {
			x, y = shooter.Step(x, y, uint8(k))
			if got[i][2*j] != x || got[i][2*j+1] != y {
				t.Fatalf("run %d step %d (keys %d): port at (%v, %v), shooter.Step at (%v, %v)",
					i, j, k, got[i][2*j], got[i][2*j+1], x, y)
			}
		}
	}
}

// ray is one ray query: origin, unit direction, a circle to test and a range.
type ray struct {
	OX, OY, DX, DY, CX, CY, MaxT float64
}

// TestRaysMatch compares the blaster's and the rockets' geometry (ray against the walls, a
// circle and the border, and line of sight) on random rays through the arena.
func TestRaysMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	rays := make([]ray, 2000)
	for i := range rays {
		a := rng.Float64() * 2 * math.Pi
		rays[i] = ray{
			OX: 16 + rng.Float64()*(shooter.Width-32), OY: 16 + rng.Float64()*(shooter.Height-32),
			DX: math.Cos(a), DY: math.Sin(a),
			CX: rng.Float64() * shooter.Width, CY: rng.Float64() * shooter.Height,
			MaxT: rng.Float64() * 1600,
		}
	}
	var got [][4]float64 // wallHit (-1 for none), rayCircle (-1 for a miss), rayBorder, visible (0/1)
	runNode(t, scriptHead+`
done(input.map((q) => [
  w.wallHit(q.OX, q.OY, q.DX, q.DY, q.MaxT),
  w.rayCircle(q.OX, q.OY, q.DX, q.DY, q.CX, q.CY, w.RADIUS, q.MaxT),
  w.rayBorder(q.OX, q.OY, q.DX, q.DY),
  w.visible(q.OX, q.OY, q.CX, q.CY) ? 1 : 0,
]));
`, rays, &got)
	for i, q := range rays {
		wall := -1.0
		if d, ok := shooter.WallHit(q.OX, q.OY, q.DX, q.DY, q.MaxT); ok {
			wall = d
		}
		circle := -1.0
		if d, ok := shooter.RayCircle(q.OX, q.OY, q.DX, q.DY, q.CX, q.CY, shooter.Radius, q.MaxT); ok {
			circle = d
		}
		vis := 0.0
		if shooter.Visible(shooter.Point{X: q.OX, Y: q.OY}, shooter.Point{X: q.CX, Y: q.CY}) {
			vis = 1
		}
		want := [4]float64{wall, circle, shooter.RayBorder(q.OX, q.OY, q.DX, q.DY), vis}
		if got[i] != want {
			t.Errorf("ray %d %+v: port %v, shooter %v (wallHit, rayCircle, rayBorder, visible)", i, q, got[i], want)
		}
	}
}

// TestAimDirectionsMatch compares the aim the state carries, a direction in 128ths of a
// turn, on every milliradian of a turn and a half each way (inputs may say any angle).
func TestAimDirectionsMatch(t *testing.T) {
	aims := make([]int, 0, 18851)
	for a := -9425; a <= 9425; a++ {
		aims = append(aims, a)
	}
	var got []int
	runNode(t, scriptHead+`done(input.map((a) => r.aimDirection(a)));`, aims, &got)
	if len(got) != len(aims) {
		t.Fatalf("node returned %d directions, want %d", len(got), len(aims))
	}
	for i, a := range aims {
		if want := int(shooter.AimDirection(a)); got[i] != want {
			t.Errorf("aim %d mrad: port says direction %d, shooter.AimDirection %d", a, got[i], want)
		}
	}
}
