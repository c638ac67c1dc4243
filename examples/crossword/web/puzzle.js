// The crossword as the page sees it, without any DOM: the board (the room state) decoded, the
// words through each square, and how a cursor moves. The replicated state is read by the
// names the server declares (crossword.Schema in Go, sent with the join answer; types.d.ts
// has them, generated from the Go declarations); the id base below is the server's.

export const ACROSS = 0;
export const DOWN = 1;

/** A cursor's entity id is CURSOR_BASE plus its player's id. */
export const CURSOR_BASE = 1 << 17;

/** "across" or "down", as inputs and events spell a direction. */
export function dirName(dir) {
  return dir === DOWN ? "down" : "across";
}

// Integers arrive as numbers, or as bigints if a decoder chose so: the page wants numbers.
const num = (v) => (typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : 0);
const str = (v) => (typeof v === "string" ? v : "");

/**
 * Reads the room state's values (puzzle, title, author, width, height, mask, clues,
 * scoreboard, next, players): the puzzle (built once per puzzle by the caller, see Puzzle)
 * and the parts that change during one.
 * @param {Partial<import("./types").RoomState>} v
 */
export function readBoard(v) {
  return {
    puzzle: str(v.puzzle),
    scoreboard: (Array.isArray(v.scoreboard) ? v.scoreboard : []).map((e) => ({ id: num(e[0]), name: str(e[1]), score: num(e[2]) })),
    next: num(v.next),
    players: num(v.players),
  };
}

/**
 * Reads a cell entity's values: its letter ("" when empty) and the id of the player who
 * placed it (0 for none).
 * @param {Partial<import("./types").CellValues>} v
 */
export function readCell(v) {
  return { letter: str(v.letter), by: num(v.by) };
}

/**
 * Reads a cursor entity's values (row, col, dir, color, name).
 * @param {Partial<import("./types").CursorValues>} v
 */
export function readCursor(v) {
  return { row: num(v.row), col: num(v.col), dir: num(v.dir) === DOWN ? DOWN : ACROSS, color: str(v.color), name: str(v.name) };
}

/**
 * One puzzle: its grid and clues from the room state, with every square's number and the
 * words through it. A square is addressed by its index row*width+col; the cell entity of a
 * white square has id index+1.
 */
export class Puzzle {
  /** @param {Partial<import("./types").RoomState>} v the room state's values */
  constructor(v) {
    this.id = str(v.puzzle);
    this.title = str(v.title);
    this.author = str(v.author);
    this.width = num(v.width);
    this.height = num(v.height);
    this.mask = str(v.mask);
    const n = this.width * this.height;
    if (this.width < 1 || this.height < 1 || this.mask.length !== n) {
      throw new Error(`crossword: bad board ${this.width}x${this.height} with a mask of ${this.mask.length}`);
    }
    this.numbers = new Array(n).fill(0);
    this.words = [new Array(n).fill(-1), new Array(n).fill(-1)]; // per direction: index in clues
    this.clues = [];
    for (const c of Array.isArray(v.clues) ? v.clues : []) {
      // The direction is 0/1 on the wire; accept its name too.
      const dir = c[0] === "down" || num(c[0]) === DOWN ? DOWN : ACROSS;
      const clue = { dir, number: num(c[1]), row: num(c[2]), col: num(c[3]), len: num(c[4]), text: str(c[5]), cells: [] };
      clue.key = `${clue.number}${dir === DOWN ? "D" : "A"}`;
      const start = clue.row * this.width + clue.col;
      const step = dir === DOWN ? this.width : 1;
      for (let i = 0; i < clue.len; i++) clue.cells.push(start + i * step);
      if (clue.cells.some((sq) => sq < 0 || sq >= n || this.mask[sq] === "#")) continue; // not a word of this grid
      for (const sq of clue.cells) this.words[dir][sq] = this.clues.length;
      this.numbers[start] = clue.number;
      this.clues.push(clue);
    }
    this.white = [...this.mask].filter((c) => c !== "#").length;
  }

  index(row, col) {
    return row * this.width + col;
  }

  inside(row, col) {
    return row >= 0 && col >= 0 && row < this.height && col < this.width;
  }

  black(row, col) {
    return !this.inside(row, col) || this.mask[this.index(row, col)] === "#";
  }

  /** The clue of the word through (row, col) in direction dir, or undefined. */
  wordAt(row, col, dir) {
    if (this.black(row, col)) return undefined;
    return this.clues[this.words[dir][this.index(row, col)]];
  }

  /** The first white square, reading row by row: where a cursor starts. */
  first() {
    const sq = this.mask.indexOf(".");
    return { row: Math.floor(sq / this.width), col: sq % this.width };
  }

  /**
   * The next white square from (row, col) going (dr, dc), jumping over black squares, or
   * undefined at the edge of the grid.
   */
  step(row, col, dr, dc) {
    for (let r = row + dr, c = col + dc; this.inside(r, c); r += dr, c += dc) {
      if (!this.black(r, c)) return { row: r, col: c };
    }
    return undefined;
  }

  /**
   * Where the cursor goes after typing at (row, col): the next square of the word that is
   * still empty (filled(sq) false), else the next square of the word, else nowhere new.
   */
  advance(row, col, dir, filled) {
    const w = this.wordAt(row, col, dir);
    if (w === undefined) return this.step(row, col, dir === DOWN ? 1 : 0, dir === DOWN ? 0 : 1) ?? { row, col };
    const at = w.cells.indexOf(this.index(row, col));
    const rest = w.cells.slice(at + 1);
    const sq = rest.find((s) => !filled(s)) ?? rest[0];
    return sq === undefined ? { row, col } : this.at(sq);
  }

  /** Where Backspace takes the cursor: the previous white square in the direction. */
  back(row, col, dir) {
    return this.step(row, col, dir === DOWN ? -1 : 0, dir === DOWN ? 0 : -1) ?? { row, col };
  }

  at(sq) {
    return { row: Math.floor(sq / this.width), col: sq % this.width };
  }
}

/**
 * A player's color, "#rrggbb", computed exactly as the server's crossword.Color: hues a
 * golden angle apart from the player id. The page colors a placed letter by the id in its
 * cell, including players whose cursor is not replicated.
 */
export function color(id) {
  const h = ((id * 137.50776405) % 360) / 60;
  const s = 0.65;
  const l = 0.5;
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs((h % 2) - 1));
  const [r, g, b] = [[c, x, 0], [x, c, 0], [0, c, x], [0, x, c], [x, 0, c]][Math.floor(h)] ?? [c, 0, x];
  const m = l - c / 2;
  const hex = (v) => Math.round((v + m) * 255).toString(16).padStart(2, "0");
  return `#${hex(r)}${hex(g)}${hex(b)}`;
}
