// The shooter's arena and movement, ported line for line from examples/shooter/world.go so
// that the Colyseus room does exactly the per-step work Rallypoint's shooter does. Change
// the numbers only together with world.go (run.sh checks the wall list against it).

/** Arena size in units; origin top-left, y grows down. The border is clamped, not a wall. */
export const WIDTH = 2000;
export const HEIGHT = 1200;
/** Half-size of a player's movement box, and the radius of the circle shots hit. */
export const RADIUS = 16;
/** Movement speed in units per second. */
export const SPEED = 260;
/** Simulation steps per second: one input is one step of 1/TICK_RATE s. */
export const TICK_RATE = 60;
/** State patches per second. */
export const PATCH_RATE = 30;
/** Positions are multiples of 1/GRID unit (shooter.Grid): step rounds them to that grid. */
export const GRID = 16;

export const KEY_UP = 1;
export const KEY_DOWN = 2;
export const KEY_LEFT = 4;
export const KEY_RIGHT = 8;

export const FIRE_BLASTER = 1;
export const FIRE_ROCKET = 2;

/**
 * Walls in the order step() tests them, the same rectangles as shooter.Walls (written here
 * as [x, y, w, h] rows so run.sh can compare them with world.go).
 */
export const WALLS = [
  [940, 540, 120, 120],
  [300, 240, 360, 40],
  [1340, 240, 360, 40],
  [300, 920, 360, 40],
  [1340, 920, 360, 40],
  [460, 460, 40, 280],
  [1500, 460, 40, 280],
  [980, 120, 40, 220],
  [980, 860, 40, 220],
  [720, 380, 140, 40],
  [1140, 780, 140, 40],
  [140, 560, 60, 80],
  [1800, 560, 60, 80],
].map(([x, y, w, h]) => ({ x, y, w, h }));

/** Spawn points, the same as shooter.Spawns. */
export const SPAWNS = [
  [100, 100], [1900, 100], [100, 1100], [1900, 1100],
  [620, 140], [1380, 1060], [1380, 140], [620, 1060],
  [320, 600], [1680, 600],
].map(([x, y]) => ({ x, y }));

const STEP_LEN = 260 / 60;

function clamp(v, lo, hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * step moves the box at (pos.x, pos.y) by one input step with the key bits keys, in place:
 * x axis first against every wall, clamp, then y, then round to the 1/GRID grid, in the
 * operation order of shooter.Step (bit-exact with it). It writes into pos instead of returning a pair
 * so that 60 steps a second per player allocate nothing.
 */
export function step(pos, keys) {
  let dx = ((keys & KEY_RIGHT) ? 1 : 0) - ((keys & KEY_LEFT) ? 1 : 0);
  let dy = ((keys & KEY_DOWN) ? 1 : 0) - ((keys & KEY_UP) ? 1 : 0);
  if (dx !== 0 && dy !== 0) {
    dx *= Math.SQRT1_2;
    dy *= Math.SQRT1_2;
  }
  let x = pos.x + dx * STEP_LEN;
  let y = pos.y;
  for (let i = 0; i < WALLS.length; i++) {
    const w = WALLS[i];
    if (x + RADIUS > w.x && x - RADIUS < w.x + w.w && y + RADIUS > w.y && y - RADIUS < w.y + w.h) {
      if (dx > 0) x = w.x - RADIUS;
      else if (dx < 0) x = w.x + w.w + RADIUS;
    }
  }
  x = clamp(x, RADIUS, WIDTH - RADIUS);
  y = y + dy * STEP_LEN;
  for (let i = 0; i < WALLS.length; i++) {
    const w = WALLS[i];
    if (x + RADIUS > w.x && x - RADIUS < w.x + w.w && y + RADIUS > w.y && y - RADIUS < w.y + w.h) {
      if (dy > 0) y = w.y - RADIUS;
      else if (dy < 0) y = w.y + w.h + RADIUS;
    }
  }
  y = clamp(y, RADIUS, HEIGHT - RADIUS);
  pos.x = Math.round(x * GRID) / GRID;
  pos.y = Math.round(y * GRID) / GRID;
}

/**
 * rayRect intersects the ray from (ox, oy) along the unit vector (dx, dy) with the wall r by
 * the slab method: the distance where it enters r, or -1 when it does not within maxT.
 */
export function rayRect(ox, oy, dx, dy, r, maxT) {
  let tmin = 0;
  let tmax = maxT;
  // x slab
  if (dx === 0) {
    if (!(ox > r.x && ox < r.x + r.w)) return -1;
  } else {
    let t1 = (r.x - ox) / dx;
    let t2 = (r.x + r.w - ox) / dx;
    if (t1 > t2) { const t = t1; t1 = t2; t2 = t; }
    if (t1 > tmin) tmin = t1;
    if (t2 < tmax) tmax = t2;
    if (tmin > tmax) return -1;
  }
  // y slab
  if (dy === 0) {
    if (!(oy > r.y && oy < r.y + r.h)) return -1;
  } else {
    let t1 = (r.y - oy) / dy;
    let t2 = (r.y + r.h - oy) / dy;
    if (t1 > t2) { const t = t1; t1 = t2; t2 = t; }
    if (t1 > tmin) tmin = t1;
    if (t2 < tmax) tmax = t2;
    if (tmin > tmax) return -1;
  }
  return tmin;
}

/**
 * rayCircle intersects the ray from (ox, oy) along the unit vector (dx, dy) with the circle
 * (cx, cy, r): the entry distance, 0 when starting inside, or -1 when it misses within maxT.
 */
export function rayCircle(ox, oy, dx, dy, cx, cy, r, maxT) {
  const fx = ox - cx;
  const fy = oy - cy;
  const c = fx * fx + fy * fy - r * r;
  if (c <= 0) return 0;
  const b = fx * dx + fy * dy;
  if (b >= 0) return -1;
  const disc = b * b - c;
  if (disc < 0) return -1;
  const t = -b - Math.sqrt(disc);
  return t > maxT ? -1 : t;
}

/** rayBorder is the distance from (ox, oy) along the unit vector (dx, dy) to the border. */
export function rayBorder(ox, oy, dx, dy) {
  let t = Infinity;
  if (dx > 0) t = (WIDTH - ox) / dx;
  else if (dx < 0) t = -ox / dx;
  if (dy > 0) t = Math.min(t, (HEIGHT - oy) / dy);
  else if (dy < 0) t = Math.min(t, -oy / dy);
  return Math.max(t, 0);
}

/**
 * wallHit is the distance along the ray to the first wall within maxT, or -1 when the ray
 * meets none.
 */
export function wallHit(ox, oy, dx, dy, maxT) {
  let best = maxT;
  let hit = false;
  for (let i = 0; i < WALLS.length; i++) {
    const t = rayRect(ox, oy, dx, dy, WALLS[i], best);
    if (t >= 0) {
      best = t;
      hit = true;
    }
  }
  return hit ? best : -1;
}

/** visible reports whether the segment from (ax, ay) to (bx, by) crosses no wall. */
export function visible(ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const d = Math.hypot(dx, dy);
  if (d === 0) return true;
  return wallHit(ax, ay, dx / d, dy / d, d) < 0;
}
