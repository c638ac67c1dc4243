// touch.js: twin-stick controls for fingers on a phone or a tablet.
//
// The left thumb moves, the right thumb aims and fires. A stick appears where a thumb lands
// (on the left half of the screen it moves, on the right half it aims), so nobody has to
// find a fixed spot by feel, and its base follows a thumb that drags beyond its reach. The
// aim stick fires the blaster while it leans past a small dead zone, as a held mouse button
// does; the rocket button fires rockets while held, as Space does. Every finger is tracked
// by its pointer id, so moving, aiming and a rocket (a third finger) work at once.
//
// Only Pointer Events of pointerType "touch" are handled here: a mouse or a pen on the same
// canvas keeps the desktop controls of input.js. Sticks live in screen space; the renderer
// (the `layout` below) turns their directions into the world's, since the arena may be
// drawn a quarter turn round on a phone held upright.

import { UP, DOWN, LEFT, RIGHT, FIRE_BLASTER, FIRE_ROCKET } from "./sim.js";

/** How far a knob travels from its base, in CSS pixels. */
export const STICK_RADIUS = 52;
/** A stick leaning less than this (CSS px) neither moves nor aims: a thumb at rest. */
export const DEAD_ZONE = 12;
// Movement has 8 directions, like WASD: an axis counts when the stick leans more than
// 22.5° towards it, so each of the 8 gets an equal 45° slice.
const AXIS = Math.sin(Math.PI / 8);
// A touch this close outside the rocket button's circle still presses it: thumbs are wide.
const BUTTON_SLOP = 10;

/**
 * A stick: where the thumb landed (the base, which follows a thumb dragged beyond reach)
 * and where it is now.
 * @typedef {{id: number, x0: number, y0: number, x: number, y: number}} Stick
 */

/** The touch controls' state: which fingers are down and what they hold. */
export class TouchControls {
  /**
   * @param {HTMLCanvasElement} canvas - the surface the fingers touch
   * @param {{rocketButton(): {x: number, y: number, r: number}, worldDir(dx: number, dy: number): {x: number, y: number}}} layout
   *   - where the rocket button is, and a screen direction turned into the world's
   */
  constructor(canvas, layout) {
    this.layout = layout;
    /**
     * Whether the controls are shown and the layout is made for thumbs: from the start on a
     * device whose main pointer is a finger, else from the first touch.
     */
    this.enabled = window.matchMedia?.("(pointer: coarse)").matches ?? false;
    /** Called once when the first touch turns the controls on (the layout changes). */
    this.onEnable = null;
    /** @type {Stick | null} */
    this.move = null;
    /** @type {Stick | null} */
    this.aim = null;
    /** The pointer id of the finger on the rocket button, or null. */
    this.rocket = null;

    canvas.addEventListener("pointerdown", (e) => {
      if (e.pointerType !== "touch") return;
      e.preventDefault(); // no emulated mouse events, no focus change, no text selection
      this.enable();
      const b = this.layout.rocketButton();
      if (this.rocket === null && Math.hypot(e.clientX - b.x, e.clientY - b.y) <= b.r + BUTTON_SLOP) {
        this.rocket = e.pointerId;
      } else if (e.clientX < window.innerWidth / 2) {
        if (this.move === null) this.move = stick(e);
      } else if (this.aim === null) {
        this.aim = stick(e);
      }
      // Moves and the lift go on reaching the canvas when the finger leaves it.
      try {
        canvas.setPointerCapture(e.pointerId);
      } catch {
        // the pointer is already gone
      }
    });
    canvas.addEventListener("pointermove", (e) => {
      if (e.pointerType !== "touch") return;
      for (const s of [this.move, this.aim]) {
        if (s !== null && s.id === e.pointerId) follow(s, e.clientX, e.clientY);
      }
    });
    const lift = (e) => {
      if (e.pointerType !== "touch") return;
      if (this.move !== null && this.move.id === e.pointerId) this.move = null;
      if (this.aim !== null && this.aim.id === e.pointerId) this.aim = null;
      if (this.rocket === e.pointerId) this.rocket = null;
    };
    canvas.addEventListener("pointerup", lift);
    canvas.addEventListener("pointercancel", lift);
  }

  /** Turns the controls on (the first touch on a device that said its pointer is fine). */
  enable() {
    if (this.enabled) return;
    this.enabled = true;
    if (this.onEnable !== null) this.onEnable();
  }

  /** The movement bits of the move stick (UP, DOWN, LEFT, RIGHT as WASD), 0 when centred. */
  keys() {
    const d = this.worldLean(this.move);
    if (d === null) return 0;
    let k = 0;
    if (d.x > AXIS) k |= RIGHT;
    else if (d.x < -AXIS) k |= LEFT;
    if (d.y > AXIS) k |= DOWN;
    else if (d.y < -AXIS) k |= UP;
    return k;
  }

  /** The aim stick's direction in the world (radians, y down), or null while it is not leaning. */
  aimAngle() {
    const d = this.worldLean(this.aim);
    return d === null ? null : Math.atan2(d.y, d.x);
  }

  /** The fire bits: the blaster while the aim stick leans, a rocket while its button is held. */
  fire() {
    return (this.worldLean(this.aim) !== null ? FIRE_BLASTER : 0) | (this.rocket !== null ? FIRE_ROCKET : 0);
  }

  /** Lets go of everything (the page lost focus: a lift may never come). */
  release() {
    this.move = this.aim = null;
    this.rocket = null;
  }

  /** A stick's lean as a unit vector in the world, or null inside the dead zone. */
  worldLean(s) {
    if (s === null) return null;
    const dx = s.x - s.x0;
    const dy = s.y - s.y0;
    const len = Math.hypot(dx, dy);
    if (len < DEAD_ZONE) return null;
    return this.layout.worldDir(dx / len, dy / len);
  }
}

/** A new stick under the pointer of event e. */
function stick(e) {
  return { id: e.pointerId, x0: e.clientX, y0: e.clientY, x: e.clientX, y: e.clientY };
}

/** Moves a stick's knob to (x, y), dragging its base along when the thumb goes beyond reach. */
function follow(s, x, y) {
  s.x = x;
  s.y = y;
  const dx = x - s.x0;
  const dy = y - s.y0;
  const len = Math.hypot(dx, dy);
  if (len > STICK_RADIUS) {
    s.x0 = x - (dx / len) * STICK_RADIUS;
    s.y0 = y - (dy / len) * STICK_RADIUS;
  }
}
