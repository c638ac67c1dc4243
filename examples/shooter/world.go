package shooter

import "math"

// The arena and its movers. The browser page (web/sim.js) and the load generator use the
// same numbers: change one only together with the others.
const (
	// Width and Height are the arena's size in units; the origin is the top-left corner and
	// y grows down. The border is not a wall: positions are clamped to it.
	Width  = 2000
	Height = 1200
	// Radius is the half-size of a player's square movement box and the radius of the
	// circle that shots hit.
	Radius = 16
	// Speed is a player's movement speed in units per second.
	Speed = 260
	// TickRate is the simulation rate: one input is one step of 1/TickRate s.
	TickRate = 60
	// SnapshotRate is how many snapshots a second the players get.
	SnapshotRate = 30
	// Grid is how finely positions are kept: Step rounds them to multiples of 1/Grid unit,
	// and snapshots carry x·Grid and y·Grid as integers, the very numbers the server holds
	// (a power of two, so x·Grid is exact). Every position of the arena then fits in 16
	// bits, three bytes on the wire (MessagePack uint16), where hundredths took five beyond
	// 655 units.
	Grid = 16
)

// Key bits of Input.Keys.
const (
	KeyUp    uint8 = 1 // W
	KeyDown  uint8 = 2 // S
	KeyLeft  uint8 = 4 // A
	KeyRight uint8 = 8 // D
)

// Fire bits of Input.Fire.
const (
	FireBlaster uint8 = 1 // left mouse button
	FireRocket  uint8 = 2 // right mouse button or Space
)

// Rect is an axis-aligned rectangle: its top-left corner and its size.
type Rect struct{ X, Y, W, H float64 }

// Point is a position in the arena.
type Point struct{ X, Y float64 }

// Walls are the arena's obstacles, in the order Step tests them (the order matters to
// bit-exact prediction: the page gets them in this order from the "map" request). All
// coordinates are integers. The layout is symmetric about both centre lines, except for
// two pieces of cover that are symmetric about the centre only; every gap between walls,
// and between a wall and the border, is at least 100 units, so that a player's 32-unit box
// never gets wedged.
var Walls = []Rect{
	{940, 540, 120, 120}, // the centre pillar
	{300, 240, 360, 40},  // top-left bar
	{1340, 240, 360, 40}, // top-right bar
	{300, 920, 360, 40},  // bottom-left bar
	{1340, 920, 360, 40}, // bottom-right bar
	{460, 460, 40, 280},  // left inner wall
	{1500, 460, 40, 280}, // right inner wall
	{980, 120, 40, 220},  // top-centre spine
	{980, 860, 40, 220},  // bottom-centre spine
	{720, 380, 140, 40},  // cover, upper left of centre
	{1140, 780, 140, 40}, // cover, lower right of centre (the one above turned about the centre)
	{140, 560, 60, 80},   // left flank block
	{1800, 560, 60, 80},  // right flank block
}

// Spawns are where players appear: a new player, or one respawning, at the one farthest
// from the live enemies. Integer positions, each with a clear box around it.
var Spawns = []Point{
	{100, 100}, {1900, 100}, {100, 1100}, {1900, 1100},
	{620, 140}, {1380, 1060}, {1380, 140}, {620, 1060},
	{320, 600}, {1680, 600},
}

// stepLen is the distance of one step along an axis. 260.0/60.0 rounds to the same double
// as JavaScript's 260 / 60.
const stepLen = 260.0 / 60.0

// Step moves a player's box from (x, y) by one input step with the key bits keys, against
// Walls, and returns the new position. Client-side prediction replays it in JavaScript and
// must get the same bits, so the operations are exactly those of the spec, in its order:
// move along x, push out of every wall the box then overlaps (in slice order), clamp to the
// arena; then the same along y with the new x; then round both to the 1/Grid grid.
//
// On the grid a step is 69/16 = 4.3125 units along an axis and 49/16 = 3.0625 along each
// axis diagonally (4.331 units): 258.75 and 259.9 units/s where Speed says 260.
//
// The explicit float64 conversions are load-bearing: the Go spec lets a compiler fuse x +
// a*b into one fused multiply-add (on arm64, ppc64, s390x), which rounds once instead of
// twice and would differ from JavaScript in the last bit; an explicit conversion forbids it.
func Step(x, y float64, keys uint8) (float64, float64) {
	var dx, dy float64
	if keys&KeyRight != 0 {
		dx++
	}
	if keys&KeyLeft != 0 {
		dx--
	}
	if keys&KeyDown != 0 {
		dy++
	}
	if keys&KeyUp != 0 {
		dy--
	}
	if dx != 0 && dy != 0 {
		dx *= 0.7071067811865476 // JavaScript's Math.SQRT1_2
		dy *= 0.7071067811865476
	}

	x = x + float64(dx*stepLen)
	for i := range Walls {
		w := &Walls[i]
		if x+Radius > w.X && x-Radius < w.X+w.W && y+Radius > w.Y && y-Radius < w.Y+w.H {
			if dx > 0 {
				x = w.X - Radius
			} else if dx < 0 {
				x = w.X + w.W + Radius
			}
		}
	}
	x = clamp(x, Radius, Width-Radius)

	y = y + float64(dy*stepLen)
	for i := range Walls {
		w := &Walls[i]
		if x+Radius > w.X && x-Radius < w.X+w.W && y+Radius > w.Y && y-Radius < w.Y+w.H {
			if dy > 0 {
				y = w.Y - Radius
			} else if dy < 0 {
				y = w.Y + w.H + Radius
			}
		}
	}
	y = clamp(y, Radius, Height-Radius)

	return math.Round(x*Grid) / Grid, math.Round(y*Grid) / Grid
}

func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// RayRect intersects the ray from (ox, oy) along the unit vector (dx, dy) with r, by the
// slab method: it returns the distance to where the ray enters r and whether it does
// within maxT. A ray that starts inside r hits it at distance 0. Touching an edge or a
// corner counts as a hit; a ray running along an edge's line does not enter the interior
// and misses.
func RayRect(ox, oy, dx, dy float64, r Rect, maxT float64) (float64, bool) {
	tmin, tmax := 0.0, maxT
	if !slab(ox, dx, r.X, r.X+r.W, &tmin, &tmax) || !slab(oy, dy, r.Y, r.Y+r.H, &tmin, &tmax) {
		return 0, false
	}
	return tmin, true
}

// slab narrows [tmin, tmax] to the part of the ray inside lo < o + t·d < hi on one axis,
// and reports whether anything is left.
func slab(o, d, lo, hi float64, tmin, tmax *float64) bool {
	if d == 0 {
		return o > lo && o < hi // parallel to the slab: inside it all along, or never
	}
	t1, t2 := (lo-o)/d, (hi-o)/d
	if t1 > t2 {
		t1, t2 = t2, t1
	}
	*tmin = max(*tmin, t1)
	*tmax = min(*tmax, t2)
	return *tmin <= *tmax
}

// RayCircle intersects the ray from (ox, oy) along the unit vector (dx, dy) with the circle
// of centre (cx, cy) and radius r: it returns the distance to where the ray enters the
// circle and whether it does within maxT. A ray that starts inside hits at distance 0.
func RayCircle(ox, oy, dx, dy, cx, cy, r, maxT float64) (float64, bool) {
	fx, fy := ox-cx, oy-cy
	c := fx*fx + fy*fy - r*r
	if c <= 0 {
		return 0, true
	}
	b := fx*dx + fy*dy // half the linear coefficient, for a unit direction
	if b >= 0 {
		return 0, false // outside and heading away
	}
	disc := b*b - c
	if disc < 0 {
		return 0, false
	}
	t := -b - math.Sqrt(disc)
	if t > maxT {
		return 0, false
	}
	return t, true
}

// RayBorder is the distance from (ox, oy), inside the arena, along the unit vector
// (dx, dy) to the arena's border.
func RayBorder(ox, oy, dx, dy float64) float64 {
	t := math.Inf(1)
	switch {
	case dx > 0:
		t = (Width - ox) / dx
	case dx < 0:
		t = -ox / dx
	}
	switch {
	case dy > 0:
		t = min(t, (Height-oy)/dy)
	case dy < 0:
		t = min(t, -oy/dy)
	}
	return max(t, 0)
}

// WallHit is the distance along the ray from (ox, oy) (unit vector (dx, dy)) to the first
// wall it meets within maxT, and whether it meets one.
func WallHit(ox, oy, dx, dy, maxT float64) (float64, bool) {
	best, hit := maxT, false
	for i := range Walls {
		if t, ok := RayRect(ox, oy, dx, dy, Walls[i], best); ok {
			best, hit = t, true
		}
	}
	return best, hit
}

// Visible reports whether the segment from a to b crosses no wall.
func Visible(a, b Point) bool {
	dx, dy := b.X-a.X, b.Y-a.Y
	d := math.Hypot(dx, dy)
	if d == 0 {
		return true
	}
	_, blocked := WallHit(a.X, a.Y, dx/d, dy/d, d)
	return !blocked
}

// fits reports whether a player's box at p, grown by margin on every side, is inside the
// arena and overlaps no wall.
func fits(p Point, margin float64) bool {
	r := Radius + margin
	if p.X-r < 0 || p.X+r > Width || p.Y-r < 0 || p.Y+r > Height {
		return false
	}
	for _, w := range Walls {
		if p.X+r > w.X && p.X-r < w.X+w.W && p.Y+r > w.Y && p.Y-r < w.Y+w.H {
			return false
		}
	}
	return true
}
