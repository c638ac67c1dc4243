// Typing on a phone. A phone shows its keyboard only for a focused editable element, and the
// grid is made of divs: so the page keeps one real <input> (#keys), visually hidden over the
// cursor's square, focuses it when a finger taps a square or a clue, and turns what the
// keyboard puts into it into the same actions the desktop keys give. The on-screen letter
// pad (#pad) is the fallback for when the phone's keyboard is in the way or will not come:
// it types without any keyboard at all.
//
// What a phone keyboard sends is not what a desktop one does:
//
//   - iOS and hardware keyboards send keydown with the key ("a", "Backspace"): the page's
//     keydown handler takes those and cancels them, so nothing reaches the input.
//   - Android keyboards send keydown with key "Unidentified" (keyCode 229), then a
//     beforeinput and an input event. Often the letter arrives as an IME composition
//     (insertCompositionText), which cannot be cancelled and grows letter by letter ("c",
//     "ca", "cat") until the keyboard commits it.
//
// So: a cancellable beforeinput (insertText, deleteContentBackward) is acted on and
// cancelled, and the input's value never changes. A composition is followed through input
// events, diffing the new value against the one before, so each letter acts once, as it
// arrives; the value goes back to a single space when the composition ends. The space is
// there because an Android keyboard sends nothing for Backspace in an empty field: with
// one character in it, Backspace is a deleteContentBackward we can see.

const SENTINEL = " ";
const PAD_ROWS = ["QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"];
const PAD_PREF = "rallypoint.crossword.pad"; // localStorage: "1" when the player chose the pad

/**
 * What typing does, supplied by the page.
 * @typedef {{letter(ch: string): void, backspace(): void, turn(): void, next(back: boolean): void}} Actions
 */

/** The hidden input that the phone's keyboard types into, and the letter pad. */
export class Typing {
  /**
   * @param {HTMLInputElement} input - the hidden input (#keys)
   * @param {HTMLElement} pad - the letter pad's container (#pad), filled here
   * @param {HTMLButtonElement} toggle - the button that shows or hides the pad
   * @param {Actions} actions
   */
  constructor(input, pad, toggle, actions) {
    this.input = input;
    this.pad = pad;
    this.toggle = toggle;
    this.actions = actions;
    this.composing = false;
    /** The input's value when last seen: what a composition's next input event is diffed against. */
    this.seen = SENTINEL;
    /** Letters and Backspaces taken from the hidden input (the phone's keyboard), for tests. */
    this.count = 0;
    this.reset();

    input.addEventListener("beforeinput", (e) => this.beforeInput(e));
    input.addEventListener("input", () => this.onInput());
    input.addEventListener("compositionstart", () => {
      this.composing = true;
    });
    input.addEventListener("compositionend", () => {
      this.composing = false;
      this.onInput(); // the committed text, if it differs from the last update
      this.reset();
    });
    // A caret moved to the start would make the next Backspace delete nothing.
    input.addEventListener("select", () => this.caretToEnd());

    this.buildPad();
    toggle.addEventListener("pointerdown", (e) => e.preventDefault()); // keep the focus where it is
    toggle.addEventListener("click", () => this.showPad(this.pad.hidden));
    let chose = false;
    try {
      chose = localStorage.getItem(PAD_PREF) === "1";
    } catch {
      // storage refused (private mode): the default
    }
    this.showPad(chose, false);
  }

  /**
   * Brings up the phone's keyboard (with the pad on, the input is focused without one, so a
   * hardware keyboard still types). Call it from a tap's handler: phones open a keyboard
   * only for a focus that a user's gesture asked for.
   */
  focus() {
    if (document.activeElement !== this.input) this.input.focus({ preventScroll: true });
    this.caretToEnd();
  }

  /** Whether the hidden input has the focus (a phone's keyboard is up, or the pad is in use). */
  focused() {
    return document.activeElement === this.input;
  }

  /** Shows the letter pad (and keeps the phone's keyboard down) or hides it. */
  showPad(on, remember = true) {
    this.pad.hidden = !on;
    this.toggle.setAttribute("aria-pressed", String(on));
    this.toggle.textContent = on ? "Keyboard" : "ABC pad";
    this.toggle.title = on ? "Type with your phone's keyboard" : "Type with the letter pad";
    document.documentElement.classList.toggle("with-pad", on);
    // inputmode "none": focused, but no virtual keyboard over the pad.
    this.input.inputMode = on ? "none" : "text";
    if (remember) {
      try {
        localStorage.setItem(PAD_PREF, on ? "1" : "0");
      } catch {
        // not remembered, that is all
      }
    }
    if (this.focused()) {
      // The keyboard follows inputmode only on the next focus.
      this.input.blur();
      this.focus();
    }
  }

  beforeInput(e) {
    if (e.isComposing || e.inputType === "insertCompositionText") return; // not cancellable: onInput follows it
    const t = e.inputType;
    if (t === "insertText" || t === "insertReplacementText" || t === "insertFromPaste") {
      e.preventDefault();
      this.typeText(e.data ?? e.dataTransfer?.getData("text/plain") ?? "");
    } else if (t.startsWith("delete") && t.endsWith("Backward")) {
      e.preventDefault();
      this.count++;
      this.actions.backspace();
    } else if (t === "insertLineBreak" || t === "insertParagraph") {
      e.preventDefault();
      this.actions.next(false);
    } else if (t.startsWith("delete") || t.startsWith("insert") || t.startsWith("history") || t.startsWith("format")) {
      e.preventDefault(); // nothing else may change the value behind our back
    }
  }

  /** Follows the value through a composition (and anything a beforeinput did not cancel). */
  onInput() {
    const v = this.input.value;
    const was = this.seen;
    let same = 0;
    while (same < v.length && same < was.length && v[same] === was[same]) same++;
    // A composition that shrank ("cat" to "ca": a Backspace inside it) or replaced its tail.
    for (let i = same; i < was.length; i++) {
      this.count++;
      this.actions.backspace();
    }
    this.typeText(v.slice(same));
    this.seen = v;
    if (!this.composing) this.reset();
  }

  /** Types each letter of text; a space turns, as the Space key does. */
  typeText(text) {
    for (const ch of text) {
      if (/^[a-z]$/i.test(ch)) {
        this.count++;
        this.actions.letter(ch);
      } else if (ch === " ") {
        this.actions.turn();
      }
    }
  }

  reset() {
    this.input.value = SENTINEL;
    this.seen = SENTINEL;
    this.caretToEnd();
  }

  caretToEnd() {
    const n = this.input.value.length;
    if (this.input.selectionStart !== n || this.input.selectionEnd !== n) {
      try {
        this.input.setSelectionRange(n, n);
      } catch {
        // not a text input any more
      }
    }
  }

  /** The pad: three rows of letters, with turn and Backspace on the last. */
  buildPad() {
    const key = (label, cls, action, title) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = `key ${cls}`.trim();
      b.textContent = label;
      if (title) b.title = title;
      b.setAttribute("aria-label", title ?? label);
      // Act on pointerdown, with its default cancelled: no delay, no focus change (the
      // hidden input keeps it), no double-tap zoom, and a key can be hit again at once.
      b.addEventListener("pointerdown", (e) => {
        e.preventDefault();
        action();
      });
      // A keyboard or a screen reader presses it with click (detail 0), never a pointer.
      b.addEventListener("click", (e) => {
        if (e.detail === 0) action();
      });
      return b;
    };
    const rows = PAD_ROWS.map((letters) => {
      const row = document.createElement("div");
      row.className = "pad-row";
      for (const ch of letters) row.append(key(ch, "", () => this.actions.letter(ch)));
      return row;
    });
    rows[2].prepend(key("\u21c4", "wide", () => this.actions.turn(), "Turn across / down"));
    rows[2].append(key("\u232b", "wide", () => this.actions.backspace(), "Backspace"));
    this.pad.replaceChildren(...rows);
  }
}
