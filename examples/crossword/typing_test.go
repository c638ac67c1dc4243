package crossword_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/internal/peertest"
)

// typingScript drives the page's typing.js under Node with a fake DOM, playing the events a
// browser fires for what a phone's keyboard does. For each case of the JSON file argv[3] it
// makes a Typing on a fresh input, pad and toggle, plays the steps, and prints one line:
// {actions: what the page was asked to do, value: the input's value after, cancelled: the
// steps whose beforeinput was cancelled, pad: the pad shown, inputMode}.
//
// Steps: {before, data} a beforeinput of that inputType, with the browser's default (insert
// or delete at the caret, then an input event) when it is not cancelled; {compose: text} a
// composition update to text (compositionstart first if none is going on), as Android
// keyboards type; {end: true} the composition committed; {pad: label} a finger on the pad
// key with that label; {toggle: true} a click on the pad's button.
const typingScript = `
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

class El extends EventTarget {
  constructor(tag) {
    super();
    this.tagName = tag;
    this.children = [];
    this.attrs = {};
    this.style = {};
    this.hidden = false;
    this.textContent = "";
  }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  append(...c) { this.children.push(...c); }
  prepend(...c) { this.children.unshift(...c); }
  replaceChildren(...c) { this.children = c; }
}
class Input extends El {
  constructor() {
    super("input");
    this.value = "";
    this.selectionStart = this.selectionEnd = 0;
    this.inputMode = "text";
  }
  setSelectionRange(a, b) { this.selectionStart = a; this.selectionEnd = b; }
  focus() { document.activeElement = this; }
  blur() { if (document.activeElement === this) document.activeElement = null; }
}
globalThis.document = {
  activeElement: null,
  createElement: (tag) => new El(tag),
  documentElement: { classList: { toggle() {} } },
};
const { Typing } = await import(pathToFileURL(process.argv[2]).href);

const event = (type, props = {}) => Object.assign(new Event(type, { cancelable: true }), props);
const keys = (el) => el.children.flatMap((c) => (c.tagName === "button" ? [c] : keys(c)));

for (const c of JSON.parse(readFileSync(process.argv[3], "utf8"))) {
  const input = new Input();
  const pad = new El("div");
  const toggle = new El("button");
  const actions = [];
  const typing = new Typing(input, pad, toggle, {
    letter: (ch) => actions.push(ch),
    backspace: () => actions.push("back"),
    turn: () => actions.push("turn"),
    next: (back) => actions.push(back ? "previous" : "next"),
  });
  typing.focus();
  let composing = null; // the value before the composition, while one goes on
  const cancelled = [];
  c.steps.forEach((s, i) => {
    if (s.before) {
      const e = event("beforeinput", { inputType: s.before, data: s.data ?? null, isComposing: false });
      input.dispatchEvent(e);
      if (e.defaultPrevented) {
        cancelled.push(i);
        return;
      }
      const at = input.selectionEnd;
      if (s.before.startsWith("insert")) input.value = input.value.slice(0, at) + (s.data ?? "") + input.value.slice(at);
      else if (s.before === "deleteContentBackward") input.value = input.value.slice(0, Math.max(0, at - 1)) + input.value.slice(at);
      input.selectionStart = input.selectionEnd = input.value.length;
      input.dispatchEvent(event("input"));
    } else if (s.compose !== undefined) {
      if (composing === null) {
        composing = input.value;
        input.dispatchEvent(event("compositionstart"));
      }
      input.dispatchEvent(event("beforeinput", { inputType: "insertCompositionText", data: s.compose, isComposing: true }));
      input.value = composing + s.compose;
      input.selectionStart = input.selectionEnd = input.value.length;
      input.dispatchEvent(event("input", { isComposing: true }));
    } else if (s.end) {
      composing = null;
      input.dispatchEvent(event("compositionend"));
    } else if (s.pad) {
      const k = keys(pad).find((b) => b.attrs["aria-label"] === s.pad);
      if (!k) throw new Error("no pad key " + s.pad);
      k.dispatchEvent(event("pointerdown"));
    } else if (s.toggle) {
      toggle.dispatchEvent(event("click"));
    }
  });
  console.log(JSON.stringify({ name: c.name, actions, value: input.value, cancelled, pad: !pad.hidden, inputMode: input.inputMode, focused: document.activeElement === input }));
}
`

// TestTypingTakesWhatPhoneKeyboardsSend plays the events of phone keyboards into the hidden
// input (web/typing.js): each letter acts exactly once whether it comes as a cancellable
// insertText (iOS, hardware keyboards, a paste) or as an Android IME composition that grows
// letter by letter and is committed at the end; Backspace works in a field that looks empty;
// Space turns and Enter goes to the next clue; the value goes back to one space so that the
// next Backspace has something to delete; and the letter pad types without the input.
func TestTypingTakesWhatPhoneKeyboardsSend(t *testing.T) {
	node := peertest.Node(t)
	type step struct {
		Before  string  `json:"before,omitempty"`
		Data    *string `json:"data,omitempty"`
		Compose *string `json:"compose,omitempty"`
		End     bool    `json:"end,omitempty"`
		Pad     string  `json:"pad,omitempty"`
		Toggle  bool    `json:"toggle,omitempty"`
	}
	str := func(s string) *string { return &s }
	compose := func(texts ...string) []step {
		var out []step
		for _, x := range texts {
			out = append(out, step{Compose: str(x)})
		}
		return append(out, step{End: true})
	}
	cases := []struct {
		name      string
		steps     []step
		actions   []string
		cancelled []int
		pad       bool
	}{
		{"insertText is a letter and changes nothing", []step{{Before: "insertText", Data: str("c")}}, []string{"c"}, []int{0}, false},
		{"capitals too", []step{{Before: "insertText", Data: str("Q")}}, []string{"Q"}, []int{0}, false},
		{"a space turns", []step{{Before: "insertText", Data: str(" ")}}, []string{"turn"}, []int{0}, false},
		{"digits and punctuation do nothing", []step{{Before: "insertText", Data: str("1,")}}, []string{}, []int{0}, false},
		{"Backspace in the field that looks empty", []step{{Before: "deleteContentBackward"}, {Before: "deleteContentBackward"}}, []string{"back", "back"}, []int{0, 1}, false},
		{"a word deleted is one Backspace", []step{{Before: "deleteWordBackward"}}, []string{"back"}, []int{0}, false},
		{"Enter goes to the next clue", []step{{Before: "insertLineBreak"}}, []string{"next"}, []int{0}, false},
		{"a paste types its letters", []step{{Before: "insertFromPaste", Data: str("ox")}}, []string{"o", "x"}, []int{0}, false},
		{"an Android composition, each letter as it comes", compose("c", "ca", "cat"), []string{"c", "a", "t"}, []int{}, false},
		{"a Backspace inside a composition", compose("c", "ca", "c", "cr"), []string{"c", "a", "back", "r"}, []int{}, false},
		{"a composition committed at once", compose("ab"), []string{"a", "b"}, []int{}, false},
		{"compositions one after another", append(compose("x"), compose("y", "yz")...), []string{"x", "y", "z"}, []int{}, false},
		{"a composition then Backspace", append(compose("e"), step{Before: "deleteContentBackward"}), []string{"e", "back"}, []int{2}, false},
		{"the pad types without the input", []step{{Pad: "Q"}, {Pad: "Backspace"}, {Pad: "Turn across / down"}, {Pad: "M"}}, []string{"Q", "back", "turn", "M"}, []int{}, false},
		{"its button shows the pad", []step{{Toggle: true}}, []string{}, []int{}, true},
		{"and hides it again", []step{{Toggle: true}, {Toggle: true}}, []string{}, []int{}, false},
	}
	var in []any
	for _, c := range cases {
		in = append(in, map[string]any{"name": c.name, "steps": c.steps})
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	casesPath := filepath.Join(dir, "cases.json")
	script := filepath.Join(dir, "typing.mjs")
	if err := os.WriteFile(casesPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte(typingScript), 0o600); err != nil {
		t.Fatal(err)
	}
	module, err := filepath.Abs(filepath.Join("web", "typing.js"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lines, err := peertest.Run(ctx, t, node, script, module, casesPath)
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	if len(lines) != len(cases) {
		t.Fatalf("node printed %d lines for %d cases: %v", len(lines), len(cases), lines)
	}
	for i, c := range cases {
		var got struct {
			Name      string   `json:"name"`
			Actions   []string `json:"actions"`
			Value     string   `json:"value"`
			Cancelled []int    `json:"cancelled"`
			Pad       bool     `json:"pad"`
			InputMode string   `json:"inputMode"`
			Focused   bool     `json:"focused"`
		}
		if err := lines[i].Decode(&got); err != nil {
			t.Fatal(err)
		}
		if got.Name != c.name {
			t.Fatalf("line %d is %q, want %q", i, got.Name, c.name)
		}
		if !slices.Equal(got.Actions, c.actions) {
			t.Errorf("%s: actions %q, want %q", c.name, got.Actions, c.actions)
		}
		if !slices.Equal(got.Cancelled, c.cancelled) {
			t.Errorf("%s: beforeinput cancelled at steps %v, want %v", c.name, got.Cancelled, c.cancelled)
		}
		if got.Value != " " {
			t.Errorf("%s: the input's value is %q after, want \" \" (one character for the next Backspace)", c.name, got.Value)
		}
		wantMode := "text"
		if c.pad {
			wantMode = "none" // focused, but no virtual keyboard over the pad
		}
		if got.Pad != c.pad || got.InputMode != wantMode || !got.Focused {
			t.Errorf("%s: pad shown %v, inputmode %q, input focused %v; want pad %v, inputmode %q, focused", c.name, got.Pad, got.InputMode, got.Focused, c.pad, wantMode)
		}
	}
}
