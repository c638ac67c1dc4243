// sim.js: the shooter's movement step, bit-exact with the Go server's shooter.Step.
//
// Client-side prediction only works if the browser computes the very same float64 numbers
// the server does: a prediction that is off by one ulp is corrected at every snapshot and
// the player jitters. So this file follows Step in ../world.go operation for operation;
// change one only together with the other. web_test.go replays thousands of steps through
// both and checks that they still agree to the last bit.

/** Arena size in world units; origin top-left, y grows down. */
export const WIDTH = 2000;
export const HEIGHT = 1200;
/** Half-size of a player's movement box, and the radius of the circle that is hit. */
export const RADIUS = 16;
/** Movement speed in units per second. */
export const SPEED = 260;
/** Simulation steps per second: one input is one step. */
export const TICK_RATE = 60;
/** Positions are multiples of 1/GRID unit; snapshots carry x·GRID and y·GRID. */
export const GRID = 16;
/** A replicated aim is one of AIM_DIRECTIONS directions, numbered from +x towards +y. */
export const AIM_DIRECTIONS = 128;
/** Key bits of an input: W, S, A, D. */
export const UP = 1;
export const DOWN = 2;
export const LEFT = 4;
export const RIGHT = 8;
/** Fire bits of an input: left mouse button, right mouse button or Space. */
export const FIRE_BLASTER = 1;
export const FIRE_ROCKET = 2;
/** Weapon cooldowns in steps, as the server counts them. */
export const BLASTER_COOLDOWN = 15;
export const ROCKET_COOLDOWN = 48;
/** Health of a fresh player, and the steps from death to respawn. */
export const MAX_HEALTH = 100;
export const RESPAWN_STEPS = 120;

// 260 / 60 is correctly rounded by IEEE division, exactly as Go rounds its untyped constant
// 260.0 / 60.0 to float64, so both sides start from the same double.
const STEP_LEN = SPEED / TICK_RATE;

/**
 * Moves the position `pos` ({x, y}, updated in place) by one step of input `keys` against
 * `walls` (an array of [x, y, w, h], in the server's order). It allocates nothing, so the
 * page can re-apply dozens of pending inputs at every snapshot for free.
 */
export function stepInto(pos, keys, walls) {
  let dx = (keys & RIGHT ? 1 : 0) - (keys & LEFT ? 1 : 0);
  let dy = (keys & DOWN ? 1 : 0) - (keys & UP ? 1 : 0);
  if (dx !== 0 && dy !== 0) {
    dx *= Math.SQRT1_2;
    dy *= Math.SQRT1_2;
  }
  let x = pos.x;
  let y = pos.y;
  // X axis first: move, push out of any wall the box now overlaps, clamp to the arena.
  x = x + dx * STEP_LEN;
  for (let i = 0; i < walls.length; i++) {
    const w = walls[i];
    if (x + RADIUS > w[0] && x - RADIUS < w[0] + w[2] && y + RADIUS > w[1] && y - RADIUS < w[1] + w[3]) {
      if (dx > 0) x = w[0] - RADIUS;
      else if (dx < 0) x = w[0] + w[2] + RADIUS;
    }
  }
  x = clamp(x, RADIUS, WIDTH - RADIUS);
  // Then Y, with the new x.
  y = y + dy * STEP_LEN;
  for (let i = 0; i < walls.length; i++) {
    const w = walls[i];
    if (x + RADIUS > w[0] && x - RADIUS < w[0] + w[2] && y + RADIUS > w[1] && y - RADIUS < w[1] + w[3]) {
      if (dy > 0) y = w[1] - RADIUS;
      else if (dy < 0) y = w[1] + w[3] + RADIUS;
    }
  }
  y = clamp(y, RADIUS, HEIGHT - RADIUS);
  // Positions are kept on a 1/GRID grid, the precision the snapshots carry (x·GRID).
  // Math.round and Go's math.Round differ only on negative halves; positions are ≥ RADIUS.
  pos.x = Math.round(x * GRID) / GRID;
  pos.y = Math.round(y * GRID) / GRID;
  return pos;
}

const scratch = { x: 0, y: 0 };

/** One movement step from (x, y) with input `keys`; returns the new [x, y]. */
export function step(x, y, keys, walls) {
  scratch.x = x;
  scratch.y = y;
  stepInto(scratch, keys, walls);
  return [scratch.x, scratch.y];
}

function clamp(v, lo, hi) {
  return v < lo ? lo : v > hi ? hi : v;
}
