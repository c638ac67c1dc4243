package shooter

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The expected positions were computed by an independent implementation of the spec's
// pseudo-code with the 1/16 grid (Python floats are IEEE doubles too), not by Step itself.
func TestStepFollowsTheSpec(t *testing.T) {
	cases := []struct {
		name   string
		x, y   float64
		keys   uint8
		wx, wy float64
	}{
		{"right", 100, 100, KeyRight, 104.3125, 100},
		{"left", 100, 100, KeyLeft, 95.6875, 100},
		{"up", 100, 100, KeyUp, 100, 95.6875},
		{"down", 100, 100, KeyDown, 100, 104.3125},
		{"diagonal down right is 1/√2 per axis", 100, 100, KeyDown | KeyRight, 103.0625, 103.0625},
		{"diagonal up left", 100, 100, KeyUp | KeyLeft, 96.9375, 96.9375},
		{"no keys", 100, 100, 0, 100, 100},
		{"left and right cancel", 100, 100, KeyLeft | KeyRight, 100, 100},
		{"all four cancel", 100, 100, 15, 100, 100},
		{"left and right cancel, up moves straight", 100, 100, KeyUp | KeyLeft | KeyRight, 100, 95.6875},
		{"standing still keeps a position on the grid", 123.4375, 678.875, 0, 123.4375, 678.875},
		{"into a wall's left side", 923, 600, KeyRight, 924, 600},
		{"into a wall's right side", 1077, 600, KeyLeft, 1076, 600},
		{"into a wall's top", 1000, 523, KeyDown, 1000, 524},
		{"into a wall's bottom", 1000, 677, KeyUp, 1000, 676},
		{"against a wall already", 924, 600, KeyRight, 924, 600},
		{"diagonal along a top face slides on x", 1000, 524, KeyDown | KeyRight, 1003.0625, 524},
		{"diagonal along a left face slides on y", 921, 545, KeyDown | KeyRight, 924, 548.0625},
		{"into a top-left corner: x first, y pushed", 921, 521, KeyDown | KeyRight, 924.0625, 524},
		{"into a bottom-right corner", 1079, 679, KeyUp | KeyLeft, 1075.9375, 676},
		{"into the left inner wall from the right", 519, 600, KeyLeft, 516, 600},
		{"into the right flank block", 1783, 600, KeyRight, 1784, 600},
		{"down into the top spine", 1000, 100, KeyDown, 1000, 104},
		{"clamped at the left border", 17, 600, KeyLeft, Radius, 600},
		{"clamped at the right border", 1983, 100, KeyRight, Width - Radius, 100},
		{"clamped at the top border", 100, 17, KeyUp, 100, Radius},
		{"clamped at the bottom border", 100, 1183, KeyDown, 100, Height - Radius},
		{"clamped in the top-left corner", Radius, Radius, KeyUp | KeyLeft, Radius, Radius},
		{"clamped in the bottom-right corner", Width - Radius, Height - Radius, KeyDown | KeyRight, Width - Radius, Height - Radius},
		{"rounding to sixteenths", 300.5, 900, KeyDown | KeyLeft, 297.4375, 903.0625},
		{"a start off the grid lands on it", 300.3, 900.01, KeyDown | KeyLeft, 297.25, 903.0625},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, y := Step(c.x, c.y, c.keys)
			if x != c.wx || y != c.wy {
				t.Fatalf("Step(%v, %v, %04b) = (%v, %v), want (%v, %v)", c.x, c.y, c.keys, x, y, c.wx, c.wy)
			}
		})
	}
}

func TestStepNeverEntersAWallOrLeavesTheArena(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range Spawns {
		x, y := s.X, s.Y
		keys := uint8(0)
		for i := range 20000 {
			if i%25 == 0 {
				keys = uint8(rng.IntN(16)) // hold a key combination for a while, as a player does
			}
			x, y = Step(x, y, keys)
			if !fits(Point{x, y}, 0) {
				t.Fatalf("from %v, step %d with keys %04b: (%v, %v) is in a wall or outside", s, i, keys, x, y)
			}
			if x != math.Round(x*Grid)/Grid || y != math.Round(y*Grid)/Grid || x*Grid > math.MaxUint16 || y*Grid > math.MaxUint16 {
				t.Fatalf("(%v, %v) is not on the 1/%d grid in 16 bits", x, y, Grid)
			}
		}
	}
}

// gap is the clearance between two rectangles along the axis that separates them best.
func gap(a, b Rect) float64 {
	gx := max(a.X-(b.X+b.W), b.X-(a.X+a.W))
	gy := max(a.Y-(b.Y+b.H), b.Y-(a.Y+a.H))
	return max(gx, gy)
}

func TestWallsLeaveRoomToPass(t *testing.T) {
	const minGap = 2*Radius + 60
	if n := len(Walls); n < 10 || n > 14 {
		t.Errorf("%d walls, want 10 to 14", n)
	}
	arena := Rect{0, 0, Width, Height}
	for i, w := range Walls {
		for _, v := range []float64{w.X, w.Y, w.W, w.H} {
			if v != math.Trunc(v) {
				t.Errorf("wall %d %v has a coordinate that is not an integer", i, w)
			}
		}
		if w.W <= 0 || w.H <= 0 || w.X < 0 || w.Y < 0 || w.X+w.W > Width || w.Y+w.H > Height {
			t.Errorf("wall %d %v is empty or not inside the arena", i, w)
		}
		if w.W < 2*stepLen || w.H < 2*stepLen {
			t.Errorf("wall %d %v is thin enough for a step to cross", i, w)
		}
		// To the border: touching it, or room to pass.
		for _, g := range []float64{w.X, w.Y, arena.W - w.X - w.W, arena.H - w.Y - w.H} {
			if g != 0 && g < minGap {
				t.Errorf("wall %d %v leaves a gap of %v to the border", i, w, g)
			}
		}
		for j := i + 1; j < len(Walls); j++ {
			if g := gap(w, Walls[j]); g < minGap {
				t.Errorf("walls %d %v and %d %v are %v apart, want at least %v", i, w, j, Walls[j], g, minGap)
			}
		}
	}
}

// The arena is fair: every wall has its twin turned half a turn about the centre.
func TestWallsAreSymmetricAboutTheCentre(t *testing.T) {
	for i, w := range Walls {
		twin := Rect{Width - w.X - w.W, Height - w.Y - w.H, w.W, w.H}
		found := false
		for _, v := range Walls {
			found = found || v == twin
		}
		if !found {
			t.Errorf("wall %d %v has no twin %v", i, w, twin)
		}
	}
}

func TestSpawnsAreOpenAndDistinct(t *testing.T) {
	if len(Spawns) < 8 {
		t.Fatalf("%d spawn points, want at least 8", len(Spawns))
	}
	for i, s := range Spawns {
		if s.X != math.Trunc(s.X) || s.Y != math.Trunc(s.Y) || !fits(s, 0) {
			t.Errorf("spawn %d %v is not an open integer position", i, s)
		}
		for j := range i {
			if math.Hypot(s.X-Spawns[j].X, s.Y-Spawns[j].Y) < 200 {
				t.Errorf("spawns %d %v and %d %v are close together", i, s, j, Spawns[j])
			}
		}
	}
}

func TestMapIsTheWallsInStepOrder(t *testing.T) {
	m := Map()
	if m.Width != 2000 || m.Height != 1200 || m.Radius != 16 || m.Speed != 260 || m.TickRate != 60 || len(m.Walls) != len(Walls) {
		t.Fatalf("map %+v", m)
	}
	for i, w := range Walls {
		if got := m.Walls[i]; got != [4]int{int(w.X), int(w.Y), int(w.W), int(w.H)} {
			t.Errorf("map wall %d is %v, want %v", i, got, w)
		}
	}
}

const diag = math.Sqrt2 / 2

func TestRayRect(t *testing.T) {
	r := Rect{100, 100, 50, 20} // x 100..150, y 100..120
	cases := []struct {
		name           string
		ox, oy, dx, dy float64
		maxT           float64
		want           float64
		hit            bool
	}{
		{"from the left", 0, 110, 1, 0, 1000, 100, true},
		{"from the right", 200, 110, -1, 0, 1000, 50, true},
		{"from above", 120, 0, 0, 1, 1000, 100, true},
		{"from below", 120, 200, 0, -1, 1000, 80, true},
		{"diagonal into the top-left corner", 50, 50, diag, diag, 1000, 50 * math.Sqrt2, true},
		{"diagonal through a side", 90, 90, diag, diag, 1000, 10 * math.Sqrt2, true},
		{"beyond reach", 0, 110, 1, 0, 99, 0, false},
		{"exactly at reach", 0, 110, 1, 0, 100, 100, true},
		{"pointing away", 0, 110, -1, 0, 1000, 0, false},
		{"passing above", 0, 90, 1, 0, 1000, 0, false},
		{"along the top edge's line", 0, 100, 1, 0, 1000, 0, false},
		{"diagonal passing a corner", 0, 70, diag, diag, 1000, 0, false},
		{"starting inside", 120, 110, 1, 0, 1000, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, hit := RayRect(c.ox, c.oy, c.dx, c.dy, r, c.maxT)
			if hit != c.hit || (hit && math.Abs(got-c.want) > 1e-9) {
				t.Fatalf("RayRect = %v, %v; want %v, %v", got, hit, c.want, c.hit)
			}
		})
	}
}

func TestRayCircle(t *testing.T) {
	const cx, cy, r = 100, 100, 16
	cases := []struct {
		name           string
		ox, oy, dx, dy float64
		maxT           float64
		want           float64
		hit            bool
	}{
		{"head on", 0, 100, 1, 0, 1000, 84, true},
		{"from below", 100, 300, 0, -1, 1000, 184, true},
		{"off centre", 0, 110, 1, 0, 1000, 100 - math.Sqrt(16*16-10*10), true},
		{"grazing", 0, 115.9, 1, 0, 1000, 100 - math.Sqrt(16*16-15.9*15.9), true},
		{"passing just outside", 0, 116.1, 1, 0, 1000, 0, false},
		{"diagonal", 0, 0, diag, diag, 1000, 100*math.Sqrt2 - 16, true},
		{"beyond reach", 0, 100, 1, 0, 83, 0, false},
		{"behind the origin", 200, 100, 1, 0, 1000, 0, false},
		{"starting inside", 105, 100, 1, 0, 1000, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, hit := RayCircle(c.ox, c.oy, c.dx, c.dy, cx, cy, r, c.maxT)
			if hit != c.hit || (hit && math.Abs(got-c.want) > 1e-9) {
				t.Fatalf("RayCircle = %v, %v; want %v, %v", got, hit, c.want, c.hit)
			}
		})
	}
}

func TestRayBorder(t *testing.T) {
	cases := []struct {
		ox, oy, dx, dy, want float64
	}{
		{100, 100, 1, 0, Width - 100},
		{100, 100, -1, 0, 100},
		{100, 300, 0, -1, 300},
		{100, 300, 0, 1, Height - 300},
		{100, 100, -diag, -diag, 100 * math.Sqrt2},
		{1900, 1000, diag, diag, 100 * math.Sqrt2},
	}
	for _, c := range cases {
		if got := RayBorder(c.ox, c.oy, c.dx, c.dy); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("RayBorder(%v, %v, %v, %v) = %v, want %v", c.ox, c.oy, c.dx, c.dy, got, c.want)
		}
	}
}

func TestVisible(t *testing.T) {
	cases := []struct {
		a, b Point
		want bool
	}{
		{Point{100, 100}, Point{1900, 100}, true},   // along the top corridor
		{Point{900, 600}, Point{1100, 600}, false},  // through the centre pillar
		{Point{900, 500}, Point{1100, 500}, true},   // just above it
		{Point{1000, 60}, Point{1000, 500}, false},  // through the top spine
		{Point{320, 600}, Point{1680, 600}, false},  // the inner walls hide the flanks from each other
		{Point{320, 600}, Point{320, 600}, true},    // itself
		{Point{100, 1100}, Point{1900, 1100}, true}, // along the bottom corridor
	}
	for _, c := range cases {
		if got := Visible(c.a, c.b); got != c.want {
			t.Errorf("Visible(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
