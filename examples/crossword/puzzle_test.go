package crossword_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/rallypoint/rallypoint/examples/crossword"
)

// TestBuiltinPuzzlesAreCompleteCrosswords checks every shipped puzzle independently of the
// parser: each white run of two or more squares has exactly one clue whose answer is the
// run's letters, and no clue is left over.
func TestBuiltinPuzzlesAreCompleteCrosswords(t *testing.T) {
	ps, err := crossword.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < 4 {
		t.Fatalf("%d puzzles shipped, want at least 4", len(ps))
	}
	for _, p := range ps {
		t.Run(p.ID, func(t *testing.T) {
			if p.Title == "" || p.Author == "" {
				t.Errorf("title %q, author %q", p.Title, p.Author)
			}
			clued := map[string]string{} // "A1" -> answer
			for _, c := range p.Clues {
				key := fmt.Sprintf("%c%d", "AD"[c.Dir], c.Number)
				if _, dup := clued[key]; dup {
					t.Errorf("%s clued twice", key)
				}
				if strings.TrimSpace(c.Text) == "" {
					t.Errorf("%s has no clue text", key)
				}
				clued[key] = c.Answer
			}
			runs := whiteRuns(p)
			if len(runs) != len(clued) {
				t.Errorf("%d runs in the grid, %d clues", len(runs), len(clued))
			}
			for key, answer := range runs {
				if got, ok := clued[key]; !ok || got != answer {
					t.Errorf("run %s = %s, clue answer %q (clued %v)", key, answer, got, ok)
				}
			}
			again, err := crossword.Parse(p.ID, p.Format())
			if err != nil || !reflect.DeepEqual(again, p) {
				t.Errorf("Format does not parse back to the puzzle: %v", err)
			}
		})
	}
}

// whiteRuns finds the words of a grid the slow way, numbering as a solver would by hand.
func whiteRuns(p *crossword.Puzzle) map[string]string {
	out := map[string]string{}
	n := 0
	for r := range p.Height {
		for c := range p.Width {
			if p.Black(r, c) {
				continue
			}
			var across, down string
			if p.Black(r, c-1) {
				for k := c; !p.Black(r, k); k++ {
					across += string(p.Solution[r*p.Width+k])
				}
			}
			if p.Black(r-1, c) {
				for k := r; !p.Black(k, c); k++ {
					down += string(p.Solution[k*p.Width+c])
				}
			}
			if len(across) < 2 && len(down) < 2 {
				continue
			}
			n++
			if p.Numbers[r*p.Width+c] != n {
				continue // reported by the caller as a missing run
			}
			if len(across) >= 2 {
				out[fmt.Sprintf("A%d", n)] = across
			}
			if len(down) >= 2 {
				out[fmt.Sprintf("D%d", n)] = down
			}
		}
	}
	return out
}

func puzzleText(grid string, clues ...string) string {
	return "title: T\n\n" + strings.ReplaceAll(grid, " ", "\n") + "\n\n" + strings.Join(clues, "\n") + "\n"
}

func TestNumbering(t *testing.T) {
	tests := []struct {
		name  string
		grid  string // rows separated by spaces
		clues []string
		want  []string // "A1@0,0:CAT"
	}{
		{
			name:  "SquareStartingBothWaysGetsOneNumber",
			grid:  "HAT ORE TEN",
			clues: []string{"A1. x", "A4. x", "A5. x", "D1. x", "D2. x", "D3. x"},
			want:  []string{"A1@0,0:HAT", "A4@1,0:ORE", "A5@2,0:TEN", "D1@0,0:HOT", "D2@0,1:ARE", "D3@0,2:TEN"},
		},
		{
			name:  "RunOfOneIsNotAWord",
			grid:  "HAT# ORES TEN#",
			clues: []string{"A1. x", "A4. x", "A5. x", "D1. x", "D2. x", "D3. x"},
			want:  []string{"A1@0,0:HAT", "A4@1,0:ORES", "A5@2,0:TEN", "D1@0,0:HOT", "D2@0,1:ARE", "D3@0,2:TEN"},
		},
		{
			name:  "NumbersFollowReadingOrder",
			grid:  "#AB CDE FG#",
			clues: []string{"A1. x", "A3. x", "A4. x", "D1. x", "D2. x", "D3. x"},
			want:  []string{"A1@0,1:AB", "A3@1,0:CDE", "A4@2,0:FG", "D1@0,1:ADG", "D2@0,2:BE", "D3@1,0:CF"},
		},
		{
			name:  "BlackSquareSplitsARow",
			grid:  "AB#CD EF#GH",
			clues: []string{"A1. x", "A3. x", "A5. x", "A6. x", "D1. x", "D2. x", "D3. x", "D4. x"},
			want:  []string{"A1@0,0:AB", "A3@0,3:CD", "A5@1,0:EF", "A6@1,3:GH", "D1@0,0:AE", "D2@0,1:BF", "D3@0,3:CG", "D4@0,4:DH"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := crossword.Parse("t", []byte(puzzleText(tt.grid, tt.clues...)))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range p.Clues {
				got = append(got, fmt.Sprintf("%c%d@%d,%d:%s", "AD"[c.Dir], c.Number, c.Row, c.Col, c.Answer))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("words\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		text string
		want error
	}{
		{"NoTitle", "author: me\n\nHAT ORE TEN\n", crossword.ErrNoTitle},
		{"UnknownHeaderKey", "title: T\ncolour: red\n\nAB\n\nA1. x\n", crossword.ErrHeader},
		{"DuplicateHeaderKey", "title: T\ntitle: U\n\nAB\n\nA1. x\n", crossword.ErrHeader},
		{"HeaderLineWithoutColon", "title: T\nnonsense\n\nAB\n\nA1. x\n", crossword.ErrHeader},
		{"NoGrid", "title: T\n", crossword.ErrGrid},
		{"RaggedGrid", puzzleText("AB ABC"), crossword.ErrGrid},
		{"LowercaseSquare", puzzleText("Ab"), crossword.ErrGrid},
		{"GridTooWide", puzzleText(strings.Repeat("A", crossword.MaxSize+1)), crossword.ErrGrid},
		{"GridTooTall", puzzleText(strings.TrimSpace(strings.Repeat("AB ", crossword.MaxSize+1))), crossword.ErrGrid},
		{"ClueWithoutDirection", puzzleText("AB", "X1. x"), crossword.ErrClue},
		{"ClueWithoutDot", puzzleText("AB", "A1 x"), crossword.ErrClue},
		{"ClueNumberZero", puzzleText("AB", "A0. x"), crossword.ErrClue},
		{"ClueNumberWithLeadingZero", puzzleText("AB", "A01. x"), crossword.ErrClue},
		{"EmptyClue", puzzleText("AB", "A1.  "), crossword.ErrClue},
		{"LowercaseAnswer", puzzleText("AB", "A1. x | ab"), crossword.ErrClue},
		{"ClueForNoWord", puzzleText("AB", "A1. x", "D1. x"), crossword.ErrNoWord},
		{"WordCluedTwice", puzzleText("AB", "A1. x", "A1. y"), crossword.ErrDuplicate},
		{"WordWithoutClue", puzzleText("AB CD", "A1. x", "A3. x", "D1. x"), crossword.ErrMissing},
		{"AnswerDiffersFromGrid", puzzleText("AB", "A1. x | BA"), crossword.ErrAnswer},
		{"LoneWhiteSquare", puzzleText("AB# ##C", "A1. x"), crossword.ErrLoneSquare},
		{"NotUTF8", "title: \xff\n\nAB\n\nA1. x\n", crossword.ErrHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := crossword.Parse("t", []byte(tt.text))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse: %v, want %v", err, tt.want)
			}
			var pe *crossword.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%T is not a *ParseError", err)
			}
		})
	}
}

func TestParseSkipsCommentsAndCRLF(t *testing.T) {
	text := "; a puzzle\r\ntitle: T \r\nauthor: A\r\n\r\n; the grid\r\nAB\r\n\r\nA1. Two letters | AB\r\n; end\r\n"
	p, err := crossword.Parse("t", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "T" || p.Author != "A" || p.Solution != "AB" || p.Clues[0].Text != "Two letters" {
		t.Fatalf("parsed %+v", p)
	}
}

// FuzzParse checks that Parse never panics, and that what it accepts is a consistent puzzle
// that Format writes back to the same puzzle.
func FuzzParse(f *testing.F) {
	ps, err := crossword.Builtin()
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range ps {
		f.Add(p.Format())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := crossword.Parse("f", data)
		if err != nil {
			return
		}
		if len(p.Solution) != p.Width*p.Height || len(p.Numbers) != len(p.Solution) {
			t.Fatalf("sizes: %dx%d, %d squares, %d numbers", p.Width, p.Height, len(p.Solution), len(p.Numbers))
		}
		for _, c := range p.Clues {
			if c.Len < 2 || c.Text == "" || len(c.Answer) != c.Len || p.Numbers[c.Row*p.Width+c.Col] != c.Number {
				t.Fatalf("clue %+v", c)
			}
		}
		again, err := crossword.Parse("f", p.Format())
		if err != nil {
			t.Fatalf("Format of an accepted puzzle does not parse: %v\n%s", err, p.Format())
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("round trip changed the puzzle:\n%+v\n%+v", p, again)
		}
	})
}
