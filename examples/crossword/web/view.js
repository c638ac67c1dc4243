// The page's DOM: the grid, the other players' cursors, the clue lists, the scoreboard, the
// status pills and the toasts. View.paint draws a model (see crossword.js) and touches only
// the elements whose content changed, so calling it on every snapshot costs little. Player
// names come from other players: they are only ever set as text, never as HTML.

import { ACROSS, DOWN, color } from "./puzzle.js";

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function dot(id, c = color(id)) {
  const d = el("i", "dot");
  d.style.setProperty("--c", c);
  return d;
}

export class View {
  constructor() {
    this.grid = $("grid");
    this.board = $("board");
    this.peersLayer = $("peers");
    this.keys = $("keys"); // the hidden input a phone's keyboard types into (typing.js)
    this.keysAt = "";
    /**
     * What the last pointer was: "mouse", "touch" or "pen". A tap reaches the squares as an
     * emulated mousedown, like a click; this tells the page that a finger made it.
     */
    this.pointer = "mouse";
    document.addEventListener(
      "pointerdown",
      (e) => {
        this.pointer = e.pointerType || "mouse";
        if (this.pointer !== "mouse") this.setTouch();
      },
      { capture: true, passive: true },
    );
    if (window.matchMedia?.("(pointer: coarse)").matches) this.setTouch();
    this.cells = []; // per square: {el, letter, key}, undefined for black squares
    this.peerEls = new Map(); // player id → element
    this.clueEls = []; // per clue index: {li, ans, key}
    this.scoreKey = "";
    this.activeClue = -1;
    this.puzzle = undefined;
  }

  /** Shows the controls for fingers (html.touch): on a phone from the start, elsewhere from the first touch. */
  setTouch() {
    document.documentElement.classList.add("touch");
  }

  /** Whether the pointer that made the last press was a finger (or a pen), not a mouse. */
  touched() {
    return this.pointer !== "mouse";
  }

  /** Builds the grid and the clue lists of a new puzzle. */
  build(pz, onCell, onClue) {
    this.puzzle = pz;
    $("title").textContent = pz.title;
    $("author").textContent = pz.author ? `by ${pz.author}` : "";
    document.title = `${pz.title} · Crossword · Rallypoint`;
    $("play").style.setProperty("--w", String(pz.width));
    $("play").style.setProperty("--h", String(pz.height));

    this.grid.replaceChildren();
    this.cells = [];
    for (let row = 0; row < pz.height; row++) {
      for (let col = 0; col < pz.width; col++) {
        const sq = pz.index(row, col);
        const black = pz.black(row, col);
        const c = el("div", black ? "cell black" : "cell");
        c.dataset.row = String(row);
        c.dataset.col = String(col);
        c.setAttribute("role", "gridcell");
        if (col === pz.width - 1) c.classList.add("edge-r");
        if (row === pz.height - 1) c.classList.add("edge-b");
        this.grid.append(c);
        if (black) continue;
        if (pz.numbers[sq]) c.append(el("span", "num", String(pz.numbers[sq])));
        const letter = el("span", "letter");
        c.append(letter);
        c.addEventListener("mousedown", (e) => {
          e.preventDefault(); // keep focus where the keyboard goes
          onCell(row, col);
        });
        this.cells[sq] = { el: c, letter, key: "", base: c.className };
      }
    }

    for (const p of this.peerEls.values()) p.remove();
    this.peerEls.clear();

    const lists = [$("across"), $("down")];
    for (const l of lists) l.replaceChildren();
    this.clueEls = pz.clues.map((clue) => {
      const li = el("li");
      li.append(el("span", "n", String(clue.number)), el("span", "t", clue.text));
      const ans = el("span", "ans");
      li.append(ans);
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        onClue(clue);
      });
      lists[clue.dir].append(li);
      return { li, ans, key: "" };
    });
    this.activeClue = -1;
    this.scoreKey = "";
    this.showSolved(undefined);
  }

  /** Draws the model: letters, highlights, cursors, clues, scores. */
  paint(m) {
    const pz = m.puzzle;
    if (pz === undefined || pz !== this.puzzle) return;
    const cur = m.cursor;
    const word = pz.wordAt(cur.row, cur.col, cur.dir);
    const cross = pz.wordAt(cur.row, cur.col, cur.dir === ACROSS ? DOWN : ACROSS);
    const inWord = new Set(word?.cells ?? []);
    const here = pz.index(cur.row, cur.col);

    for (let sq = 0; sq < this.cells.length; sq++) {
      const c = this.cells[sq];
      if (c === undefined) continue;
      const placed = m.letters[sq];
      const pending = placed ? undefined : m.pending.get(sq);
      const by = placed ? m.by[sq] : 0;
      const state = sq === here ? "cursor" : inWord.has(sq) ? "word" : "";
      const key = `${placed}|${by}|${pending?.letter ?? ""}|${state}`;
      if (key === c.key) continue;
      const wasEmpty = c.key === "" || c.key.startsWith("|");
      c.key = key;
      let cls = c.base;
      if (placed) cls += " filled";
      else if (pending) cls += " pending";
      if (state) cls += ` ${state}`;
      c.el.className = cls;
      if (placed) c.el.style.setProperty("--c", color(by));
      c.letter.textContent = placed || pending?.letter || "";
      if (placed && wasEmpty && m.painted) {
        c.letter.animate([{ transform: "scale(1.5)", opacity: 0.3 }, { transform: "scale(1)", opacity: 1 }], { duration: 220, easing: "ease-out" });
      }
    }

    this.paintPeers(pz, m.peers);

    const activeIndex = word === undefined ? -1 : pz.clues.indexOf(word);
    pz.clues.forEach((clue, i) => {
      const ce = this.clueEls[i];
      const done = clue.cells.every((sq) => m.letters[sq]);
      const key = `${i === activeIndex ? "active" : clue === cross ? "cross" : ""} ${done ? "done" : ""}`;
      if (key === ce.key) return;
      ce.key = key;
      ce.li.className = key.trim();
      ce.ans.textContent = done ? clue.cells.map((sq) => m.letters[sq]).join("") : "";
    });
    if (activeIndex !== this.activeClue) {
      this.activeClue = activeIndex;
      if (activeIndex >= 0) scrollInto(this.clueEls[activeIndex].li);
    }
    $("clue-key").textContent = word ? `${word.number} ${word.dir === DOWN ? "Down" : "Across"}` : "";
    $("clue-text").textContent = word ? word.text : "";

    // The hidden input sits on your square: focusing it scrolls that square into view
    // above the phone's keyboard, as the browser does for the field being typed into.
    const at = `${cur.row},${cur.col}`;
    if (at !== this.keysAt) {
      this.keysAt = at;
      const s = this.keys.style;
      s.left = `${(100 * cur.col) / pz.width}%`;
      s.top = `${(100 * cur.row) / pz.height}%`;
      s.width = `${100 / pz.width}%`;
      s.height = `${100 / pz.height}%`;
    }

    const filled = m.letters.filter((l) => l).length;
    $("progress-bar").style.width = `${(100 * filled) / pz.white}%`;
    $("progress-text").textContent = `${filled} of ${pz.white} squares`;

    this.paintScores(m);
    $("players").textContent = `${m.board.players} ${m.board.players === 1 ? "player" : "players"}`;
    m.painted = true;
  }

  paintPeers(pz, peers) {
    for (const [id, e] of this.peerEls) {
      if (!peers.has(id)) {
        e.remove();
        this.peerEls.delete(id);
      }
    }
    for (const [id, p] of peers) {
      let e = this.peerEls.get(id);
      if (e === undefined) {
        e = el("div", "peer");
        e.append(el("span", "tag"));
        e.style.width = `${100 / pz.width}%`;
        e.style.height = `${100 / pz.height}%`;
        this.peersLayer.append(e);
        this.peerEls.set(id, e);
      }
      const key = `${p.row},${p.col},${p.dir},${p.color},${p.name}`;
      if (e.dataset.key === key) continue;
      e.dataset.key = key;
      e.className = `peer${p.dir === DOWN ? " down" : ""}${p.row === 0 ? " first-row" : ""}`;
      e.style.left = `${(100 * p.col) / pz.width}%`;
      e.style.top = `${(100 * p.row) / pz.height}%`;
      e.style.setProperty("--c", p.color);
      e.firstChild.textContent = p.name;
    }
  }

  paintScores(m) {
    const me = m.me;
    $("you-name").textContent = me.name || "…";
    $("you-dot").style.setProperty("--c", me.color || "#bbb");
    $("you-score").textContent = String(me.score);
    const ranked = me.rank > 0 && me.score > 0;
    $("you-rank").textContent = ranked ? `#${me.rank}` : "–";
    $("you-of").textContent = ranked ? `of ${m.board.players} ${m.board.players === 1 ? "player" : "players"}` : "no rank yet";

    const sb = m.board.scoreboard;
    const key = JSON.stringify(sb) + me.id;
    if (key === this.scoreKey) return;
    this.scoreKey = key;
    $("scoreboard").replaceChildren(
      ...sb.map((e) => {
        const li = el("li", e.id === me.id ? "me" : "");
        li.append(dot(e.id), el("span", "name", e.id === me.id ? `${e.name} (you)` : e.name), el("span", "score", String(e.score)));
        return li;
      }),
    );
  }

  /** Shakes a square red: the letter typed there was wrong. */
  flashWrong(sq) {
    const c = this.cells[sq];
    if (c === undefined) return;
    c.el.animate(
      [
        { backgroundColor: "#ff8a8d", transform: "translateX(0)" },
        { backgroundColor: "#ff8a8d", transform: "translateX(-4px)", offset: 0.2 },
        { transform: "translateX(4px)", offset: 0.4 },
        { transform: "translateX(-3px)", offset: 0.6 },
        { transform: "translateX(0)" },
      ],
      { duration: 450, easing: "ease-out" },
    );
  }

  /** Lights up the squares of a word just completed, in the finisher's color. */
  flashWord(cells, c) {
    cells.forEach((sq, i) => {
      this.cells[sq]?.el.animate([{ backgroundColor: c, color: "#fff" }, {}], { duration: 700, delay: i * 40, easing: "ease-out" });
    });
  }

  /** Pulses your score: +points in green, a penalty in red. */
  flashScore(delta) {
    if (delta === 0) return;
    $("you-score").animate([{ color: delta > 0 ? "#1f9d55" : "#e5484d", transform: "scale(1.25)" }, {}], { duration: 600, easing: "ease-out" });
  }

  /**
   * Shows a toast made of parts: strings, or {text, color, cls} for a colored span. kind is
   * "", "mine", "bad" or "win".
   */
  toast(parts, kind = "", ms = 4000) {
    const t = el("div", `toast ${kind}`.trim());
    for (const p of parts) {
      if (typeof p === "string") {
        t.append(document.createTextNode(p));
        continue;
      }
      const s = el("span", p.cls ?? "", p.text);
      if (p.color) s.style.setProperty("--c", p.color);
      t.append(s);
    }
    const box = $("toasts");
    box.append(t);
    while (box.children.length > 5) box.firstChild.remove();
    setTimeout(() => {
      t.classList.add("out");
      setTimeout(() => t.remove(), 300);
    }, ms);
    return t;
  }

  /**
   * Covers the grid between puzzles with the final scoreboard and a countdown, or hides the
   * cover when info is undefined. info: {title, scoreboard, until (performance.now() ms)}.
   */
  showSolved(info, me = 0) {
    const box = $("solved");
    clearInterval(this.countdown);
    if (info === undefined) {
      box.hidden = true;
      return;
    }
    const next = el("div", "muted");
    const tick = () => {
      const s = Math.max(0, Math.ceil((info.until - performance.now()) / 1000));
      next.textContent = info.until ? `Next puzzle in ${s} s` : "Next puzzle soon";
    };
    tick();
    this.countdown = setInterval(tick, 250);
    const list = el("ol");
    for (const e of info.scoreboard.slice(0, 5)) {
      const li = el("li");
      li.append(dot(e.id), el("span", "", e.id === me ? `${e.name} (you)` : e.name), el("span", "score", String(e.score)));
      list.append(li);
    }
    box.replaceChildren(el("div", "muted", "Solved together"), el("div", "big", info.title), ...(info.scoreboard.length ? [list] : []), next);
    box.hidden = false;
  }

  /** The connection pill: "connecting", "open", "reconnecting", "closed" or "left". */
  setConnection(state, text) {
    const c = $("conn");
    c.dataset.state = state;
    c.lastChild.textContent = text;
  }

  setExtensions(ext) {
    const e = $("ext");
    e.textContent = ext ? ext.split(";")[0].trim() : "no extensions";
    e.title = `negotiated WebSocket extensions: ${ext || "none"}`;
  }

  setRtt(ms) {
    $("rtt").textContent = `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  }

  /** Shows the "Join again" button with this action, or hides it (undefined). */
  /** Shows the header's button with label ("Join again" unless said) running action; undefined hides it. */
  setRejoin(action, label = "Join again") {
    const b = $("rejoin");
    b.hidden = action === undefined;
    b.textContent = label;
    b.onclick = action ?? null;
  }
}

/** Scrolls a clue into view inside its list, without scrolling the page. */
function scrollInto(li) {
  const list = li.parentElement; // position: relative, so offsetTop is from its top
  const top = li.offsetTop;
  if (top < list.scrollTop) list.scrollTop = top - 4;
  else if (top + li.offsetHeight > list.scrollTop + list.clientHeight) list.scrollTop = top + li.offsetHeight - list.clientHeight + 4;
}
