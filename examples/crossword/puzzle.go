package crossword

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A puzzle file is UTF-8 text in three parts separated by blank lines; lines that start
// with ';' are comments and are skipped everywhere:
//
//	; a comment
//	title: Small Change          header: "key: value" lines; title is required,
//	author: Rallypoint           author optional, nothing else allowed
//
//	HAT#                         grid: one line per row, all the same width, 'A'-'Z' for
//	ORES                         the solution of a white square, '#' for a black square
//	TEN#
//
//	A1. Tipped to greet | HAT    clues: A (across) or D (down), the number, ". ", the text,
//	D1. Like a desert afternoon  and optionally " | ANSWER", which must match the grid
//
// Numbers are not written in the grid: they follow from it by the standard rule (see
// numberGrid). Every word (a run of two or more white squares, across or down) must have
// exactly one clue, every clue must name a word, and every white square must belong to a
// word.

// Limits of the format.
const (
	MaxSize     = 25  // width and height, in squares
	MaxClueText = 200 // bytes of one clue's text
)

// Errors of Parse, to test with errors.Is; a *ParseError wraps them with the line.
var (
	ErrHeader     = errors.New("crossword: bad header line")
	ErrNoTitle    = errors.New("crossword: no title")
	ErrGrid       = errors.New("crossword: bad grid")
	ErrClue       = errors.New("crossword: bad clue line")
	ErrNoWord     = errors.New("crossword: clue for a word the grid does not have")
	ErrDuplicate  = errors.New("crossword: word clued twice")
	ErrMissing    = errors.New("crossword: word without a clue")
	ErrAnswer     = errors.New("crossword: clue answer does not match the grid")
	ErrLoneSquare = errors.New("crossword: white square in no word")
)

// ParseError says where a puzzle file is wrong. Line is 1-based, 0 when the error is about
// the puzzle as a whole.
type ParseError struct {
	Line int
	Err  error
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%v: %s", e.Err, e.Msg)
	}
	return fmt.Sprintf("line %d: %v: %s", e.Line, e.Err, e.Msg)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Direction is across or down.
type Direction uint8

const (
	Across Direction = 0
	Down   Direction = 1
)

func (d Direction) String() string {
	if d == Down {
		return "down"
	}
	return "across"
}

// letter is the prefix of a clue line: 'A' or 'D'.
func (d Direction) letter() byte { return "AD"[d] }

// Clue is one word of the puzzle and its clue.
type Clue struct {
	Dir      Direction
	Number   int
	Row, Col int    // first square
	Len      int    // squares
	Text     string // the clue
	Answer   string // the word, from the grid
}

// cells returns the square indexes (row*Width+col) of the word, in order.
func (c *Clue) cells(width int) []int {
	out := make([]int, c.Len)
	step := 1
	if c.Dir == Down {
		step = width
	}
	for i := range out {
		out[i] = c.Row*width + c.Col + i*step
	}
	return out
}

// Puzzle is a parsed crossword. It is immutable once Parse returns it.
type Puzzle struct {
	ID       string // the file name without its extension
	Title    string
	Author   string
	Width    int
	Height   int
	Solution string // row-major, one byte per square: 'A'-'Z', or '#' for black
	Clues    []Clue // across in number order, then down in number order
	Numbers  []int  // per square, its number, 0 if none

	words [2][]int // per square and direction, the index in Clues of its word, -1 if none
	white int
}

// Black reports whether the square at (row, col) is black; squares off the grid count as black.
func (p *Puzzle) Black(row, col int) bool {
	return row < 0 || col < 0 || row >= p.Height || col >= p.Width || p.Solution[row*p.Width+col] == '#'
}

// WordAt returns the index in Clues of the word in direction d through square i, or -1.
func (p *Puzzle) WordAt(i int, d Direction) int { return p.words[d][i] }

// White is the number of white squares.
func (p *Puzzle) White() int { return p.white }

// Clue returns the clue of number n in direction d.
func (p *Puzzle) Clue(d Direction, n int) (Clue, bool) {
	for _, c := range p.Clues {
		if c.Dir == d && c.Number == n {
			return c, true
		}
	}
	return Clue{}, false
}

// Format writes the puzzle in the file format; Parse(p.ID, p.Format()) gives p back.
func (p *Puzzle) Format() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "title: %s\n", p.Title)
	if p.Author != "" {
		fmt.Fprintf(&b, "author: %s\n", p.Author)
	}
	b.WriteByte('\n')
	for r := range p.Height {
		b.WriteString(p.Solution[r*p.Width : (r+1)*p.Width])
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	for _, c := range p.Clues {
		fmt.Fprintf(&b, "%c%d. %s | %s\n", c.Dir.letter(), c.Number, c.Text, c.Answer)
	}
	return b.Bytes()
}

// word is a run of white squares found by numberGrid.
type word struct {
	dir           Direction
	number        int
	row, col, len int
}

// numberGrid numbers a grid by the standard crossword rule: scanning rows top to bottom and
// each row left to right, a white square gets the next number if it starts a word, that is
// if it has a black square (or the edge) on its left and a white one on its right (an across
// word), or a black square (or the edge) above and a white one below (a down word). A run
// of one white square is not a word. It returns the words, across then down, each in number
// order, and each square's number.
func numberGrid(w, h int, grid string) (words []word, numbers []int) {
	black := func(r, c int) bool { return r < 0 || c < 0 || r >= h || c >= w || grid[r*w+c] == '#' }
	numbers = make([]int, w*h)
	var down []word
	n := 0
	for r := range h {
		for c := range w {
			if black(r, c) {
				continue
			}
			startsAcross := black(r, c-1) && !black(r, c+1)
			startsDown := black(r-1, c) && !black(r+1, c)
			if !startsAcross && !startsDown {
				continue
			}
			n++
			numbers[r*w+c] = n
			if startsAcross {
				l := 0
				for !black(r, c+l) {
					l++
				}
				words = append(words, word{Across, n, r, c, l})
			}
			if startsDown {
				l := 0
				for !black(r+l, c) {
					l++
				}
				down = append(down, word{Down, n, r, c, l})
			}
		}
	}
	return append(words, down...), numbers
}

// Parse reads a puzzle file (the format is described at the top of this file) and checks
// that it is a complete crossword. id names the puzzle.
func Parse(id string, data []byte) (*Puzzle, error) {
	if !utf8.Valid(data) {
		return nil, &ParseError{Err: ErrHeader, Msg: "the file is not UTF-8"}
	}
	p := &Puzzle{ID: id}
	lines := strings.Split(string(data), "\n")
	i := 0
	// next returns the next line that is not a comment, trimmed on the right, or ok=false
	// at the end of the file.
	next := func() (line string, num int, ok bool) {
		for i < len(lines) {
			l := strings.TrimRight(lines[i], " \t\r")
			i++
			if strings.HasPrefix(l, ";") {
				continue
			}
			return l, i, true
		}
		return "", i, false
	}
	skipBlank := func() (line string, num int, ok bool) {
		for {
			line, num, ok = next()
			if !ok || line != "" {
				return line, num, ok
			}
		}
	}

	// Header.
	line, num, ok := skipBlank()
	seen := map[string]bool{}
	for ok && line != "" {
		key, val, found := strings.Cut(line, ":")
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		switch {
		case !found:
			return nil, &ParseError{num, ErrHeader, fmt.Sprintf("%q is not \"key: value\"", line)}
		case seen[key]:
			return nil, &ParseError{num, ErrHeader, "duplicate " + key}
		case len(val) > MaxClueText:
			return nil, &ParseError{num, ErrHeader, key + " is too long"}
		case key == "title":
			p.Title = val
		case key == "author":
			p.Author = val
		default:
			return nil, &ParseError{num, ErrHeader, fmt.Sprintf("unknown key %q (want title or author)", key)}
		}
		seen[key] = true
		line, num, ok = next()
	}
	if p.Title == "" {
		return nil, &ParseError{num, ErrNoTitle, "the header needs a \"title: ...\" line"}
	}

	// Grid.
	var grid strings.Builder
	line, num, ok = skipBlank()
	for ok && line != "" {
		if p.Width == 0 {
			p.Width = len(line)
			if p.Width > MaxSize {
				return nil, &ParseError{num, ErrGrid, fmt.Sprintf("%d squares wide, at most %d", p.Width, MaxSize)}
			}
		}
		if len(line) != p.Width {
			return nil, &ParseError{num, ErrGrid, fmt.Sprintf("row of %d squares, the first has %d", len(line), p.Width)}
		}
		if p.Height++; p.Height > MaxSize {
			return nil, &ParseError{num, ErrGrid, fmt.Sprintf("more than %d rows", MaxSize)}
		}
		for j := 0; j < len(line); j++ {
			if c := line[j]; c != '#' && (c < 'A' || c > 'Z') {
				return nil, &ParseError{num, ErrGrid, fmt.Sprintf("square %q: want A-Z or #", line[j:j+1])}
			}
		}
		grid.WriteString(line)
		line, num, ok = next()
	}
	if p.Height == 0 {
		return nil, &ParseError{num, ErrGrid, "no grid after the header"}
	}
	p.Solution = grid.String()
	words, numbers := numberGrid(p.Width, p.Height, p.Solution)
	p.Numbers = numbers
	p.Clues = make([]Clue, len(words))
	index := map[[2]int]int{} // (dir, number) -> index in words
	for k, w := range words {
		c := Clue{Dir: w.dir, Number: w.number, Row: w.row, Col: w.col, Len: w.len}
		ans := make([]byte, 0, w.len)
		for _, sq := range c.cells(p.Width) {
			ans = append(ans, p.Solution[sq])
		}
		c.Answer = string(ans)
		p.Clues[k] = c
		index[[2]int{int(w.dir), w.number}] = k
	}

	// Clues.
	for line, num, ok = skipBlank(); ok; line, num, ok = skipBlank() {
		d, n, text, answer, err := parseClueLine(line)
		if err != nil {
			return nil, &ParseError{num, ErrClue, err.Error()}
		}
		k, found := index[[2]int{int(d), n}]
		switch {
		case !found:
			return nil, &ParseError{num, ErrNoWord, fmt.Sprintf("%c%d", d.letter(), n)}
		case p.Clues[k].Text != "":
			return nil, &ParseError{num, ErrDuplicate, fmt.Sprintf("%c%d", d.letter(), n)}
		case answer != "" && answer != p.Clues[k].Answer:
			return nil, &ParseError{num, ErrAnswer, fmt.Sprintf("%c%d is %s in the grid, not %s", d.letter(), n, p.Clues[k].Answer, answer)}
		}
		p.Clues[k].Text = text
	}
	for _, c := range p.Clues {
		if c.Text == "" {
			return nil, &ParseError{Err: ErrMissing, Msg: fmt.Sprintf("%c%d (%s)", c.Dir.letter(), c.Number, c.Answer)}
		}
	}

	// Every white square in a word.
	for d := range p.words {
		p.words[d] = make([]int, len(p.Solution))
		for sq := range p.words[d] {
			p.words[d][sq] = -1
		}
	}
	for k := range p.Clues {
		c := &p.Clues[k]
		for _, sq := range c.cells(p.Width) {
			p.words[c.Dir][sq] = k
		}
	}
	for sq := range len(p.Solution) {
		if p.Solution[sq] == '#' {
			continue
		}
		p.white++
		if p.words[Across][sq] < 0 && p.words[Down][sq] < 0 {
			return nil, &ParseError{Err: ErrLoneSquare, Msg: fmt.Sprintf("row %d, column %d", sq/p.Width+1, sq%p.Width+1)}
		}
	}
	return p, nil
}

// parseClueLine reads "A12. text" or "D3. text | ANSWER".
func parseClueLine(line string) (d Direction, n int, text, answer string, err error) {
	if len(line) < 2 {
		return 0, 0, "", "", fmt.Errorf("%q: want \"A1. text\" or \"D1. text\"", line)
	}
	switch line[0] {
	case 'A':
		d = Across
	case 'D':
		d = Down
	default:
		return 0, 0, "", "", fmt.Errorf("%q: starts with neither A nor D", line)
	}
	num, rest, ok := strings.Cut(line[1:], ". ")
	if !ok {
		return 0, 0, "", "", fmt.Errorf("%q: want \"A1. text\" (a number, a dot and a space)", line)
	}
	n, err = strconv.Atoi(num)
	if err != nil || n < 1 || num[0] == '0' || num[0] == '+' {
		return 0, 0, "", "", fmt.Errorf("%q: bad number %q", line, num)
	}
	text = rest
	if j := strings.LastIndex(rest, " | "); j >= 0 {
		text, answer = rest[:j], rest[j+3:]
		for k := 0; k < len(answer); k++ {
			if answer[k] < 'A' || answer[k] > 'Z' {
				return 0, 0, "", "", fmt.Errorf("%q: answer %q is not A-Z", line, answer)
			}
		}
		if answer == "" {
			return 0, 0, "", "", fmt.Errorf("%q: empty answer after \" | \"", line)
		}
	}
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return 0, 0, "", "", fmt.Errorf("%q: empty clue", line)
	case len(text) > MaxClueText:
		return 0, 0, "", "", fmt.Errorf("clue of %d bytes, at most %d", len(text), MaxClueText)
	}
	return d, n, text, answer, nil
}

//go:embed puzzles/*.txt
var builtin embed.FS

// Builtin returns the puzzles shipped with the game (puzzles/*.txt), in file-name order.
func Builtin() ([]*Puzzle, error) {
	names, err := fs.Glob(builtin, "puzzles/*.txt") // sorted
	if err != nil {
		return nil, err
	}
	out := make([]*Puzzle, 0, len(names))
	for _, name := range names {
		data, err := builtin.ReadFile(name)
		if err != nil {
			return nil, err
		}
		p, err := Parse(strings.TrimSuffix(path.Base(name), ".txt"), data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, p)
	}
	return out, nil
}
