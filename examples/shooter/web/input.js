// input.js: what the player holds down, read by the fixed-step loop as input bits.
//
// The loop samples the controls 60 times a second; these listeners only keep the current
// state of the keys, the buttons and the pointer. Keys are listened for on window, so the
// game takes WASD without a click into the page first (and tests can press keys at once).
// Fingers are touch.js's: the mouse handlers here ignore touch pointers, so a tap neither
// fires nor moves the mouse aim, and the two sets of controls add up.

import { UP, DOWN, LEFT, RIGHT, FIRE_BLASTER, FIRE_ROCKET } from "./sim.js";
import { TouchControls } from "./touch.js";

// Physical key positions (KeyboardEvent.code), so WASD is where it is on any layout
// (ZQSD on AZERTY); arrow keys move too.
const KEY_BITS = new Map([
  ["KeyW", UP],
  ["ArrowUp", UP],
  ["KeyS", DOWN],
  ["ArrowDown", DOWN],
  ["KeyA", LEFT],
  ["ArrowLeft", LEFT],
  ["KeyD", RIGHT],
  ["ArrowRight", RIGHT],
]);

// KeyboardEvent.key fallbacks, for synthetic events that carry no code.
const KEY_NAMES = new Map([
  ["w", "KeyW"],
  ["a", "KeyA"],
  ["s", "KeyS"],
  ["d", "KeyD"],
  [" ", "Space"],
]);

/** Keyboard, mouse and touch state: held keys, held fire buttons, the pointer on the page, the sticks. */
export class Controls {
  /**
   * @param {HTMLCanvasElement} canvas - where mouse buttons fire and fingers play (clicks
   *   on the page's overlays do not)
   * @param {ConstructorParameters<typeof TouchControls>[1]} layout - the renderer: where the
   *   touch controls' button is, and screen directions turned into the world's
   */
  constructor(canvas, layout) {
    /** Codes of the held keys we use. */
    this.held = new Set();
    /** Held mouse buttons as fire bits. */
    this.buttons = 0;
    /** The mouse (or pen) in CSS pixels of the viewport, or null before it moved over the page. */
    this.pointer = null;
    /** The twin sticks and the rocket button for fingers. */
    this.touch = new TouchControls(canvas, layout);

    const code = (e) => e.code || KEY_NAMES.get(e.key.toLowerCase()) || "";
    window.addEventListener("keydown", (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return; // leave browser shortcuts alone
      const c = code(e);
      if (!KEY_BITS.has(c) && c !== "Space") return;
      this.held.add(c);
      e.preventDefault(); // no page scrolling on arrows and Space
    });
    window.addEventListener("keyup", (e) => {
      this.held.delete(code(e));
    });
    // A key released while the page had no focus never sends keyup: let go of everything.
    window.addEventListener("blur", () => this.release());
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) this.release();
    });

    window.addEventListener("pointermove", (e) => {
      if (e.pointerType === "touch") return;
      this.pointer = { x: e.clientX, y: e.clientY };
    });
    canvas.addEventListener("pointerdown", (e) => {
      if (e.pointerType === "touch") return;
      this.pointer = { x: e.clientX, y: e.clientY };
      if (e.button === 0) this.buttons |= FIRE_BLASTER;
      else if (e.button === 2) this.buttons |= FIRE_ROCKET;
      canvas.focus();
      e.preventDefault();
    });
    window.addEventListener("pointerup", (e) => {
      if (e.pointerType === "touch") return;
      if (e.button === 0) this.buttons &= ~FIRE_BLASTER;
      else if (e.button === 2) this.buttons &= ~FIRE_ROCKET;
    });
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  /** The movement bits of the held keys and the move stick (W 1, S 2, A 4, D 8). */
  keys() {
    let k = this.touch.keys();
    for (const c of this.held) k |= KEY_BITS.get(c) ?? 0;
    // Opposite directions cancel out in Step; a key and the stick pulling apart do too.
    return k;
  }

  /** The fire bits: 1 blaster (left button, aim stick), 2 rocket (right button, Space, rocket button). */
  fire() {
    return this.buttons | (this.held.has("Space") ? FIRE_ROCKET : 0) | this.touch.fire();
  }

  /** Lets go of every key, button and finger. */
  release() {
    this.held.clear();
    this.buttons = 0;
    this.touch.release();
  }
}
