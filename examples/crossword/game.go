// Package crossword is a massively multiplayer online crossword written against Rallypoint's
// public API: one room holds thousands of players solving one puzzle together. The server
// checks every letter against the solution, credits completed words to whoever finished
// them, keeps a scoreboard, shows the cursors of the players who moved last, and moves on to
// the next puzzle when one is solved. README.md in this folder explains how it is built.
package crossword

import (
	"container/list"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/state"
)

// Name is the name the game is registered under.
const Name = "crossword"

// Entity kinds and ids of the replicated state, declared with their fields in Schema. Cells
// have ids 1..Width*Height (at most MaxSize², below CursorBase); cursors have CursorBase
// plus the player's id. The board (the puzzle, the scoreboard, the players at it) is the
// room state.
const (
	KindCell   uint8 = 1
	KindCursor uint8 = 2

	CursorBase state.ID = 1 << 17
)

// Schema declares the replicated state, in the order AppendFields writes it: the page reads
// the fields by these names, and web/types.d.ts is generated from it (go generate).
var Schema = &state.Schema{
	// The room state: the puzzle (the first seven fields change only with it), the
	// scoreboard, when the next puzzle comes, and the players connected.
	Room: []state.Field{
		{Name: "puzzle", Type: state.String}, // the puzzle's id
		{Name: "title", Type: state.String},
		{Name: "author", Type: state.String},
		{Name: "width", Type: state.Int},
		{Name: "height", Type: state.Int},
		{Name: "mask", Type: state.String},    // row-major, '#' black, '.' white
		{Name: "clues", Type: state.Any},      // [[dir, number, row, col, len, text], ...], dir 0 across, 1 down
		{Name: "scoreboard", Type: state.Any}, // [[id, name, score], ...], best first (ScoreEntry)
		{Name: "next", Type: state.Uint},      // the tick the next puzzle starts once this one is solved, else 0
		{Name: "players", Type: state.Int},    // connected: a seat held for a dropped player is no one at the board
	},
	Kinds: []state.KindSpec{
		{Kind: KindCell, Name: "cell", Fields: []state.Field{
			{Name: "letter", Type: state.String}, // "" when empty
			{Name: "by", Type: state.Uint},       // the id of the player who placed it, 0 for none
		}},
		{Kind: KindCursor, Name: "cursor", Fields: []state.Field{
			{Name: "row", Type: state.Int},
			{Name: "col", Type: state.Int},
			{Name: "dir", Type: state.Uint}, // 0 across, 1 down
			{Name: "color", Type: state.String},
			{Name: "name", Type: state.String},
		}},
	},
	// The events it sends: on rallypoint.v2 each travels as its index here.
	Events: []string{"score", "wrong", "word", "solved"},
}

// Input is what a client sends, as a msgpack map: [3, seq, {"kind": "letter", "row": 0,
// "col": 2, "letter": "A"}].
type Input struct {
	// Kind is "cursor" (move the cursor), "letter" (type Letter at the square and put the
	// cursor there) or "clear" (backspace: placed letters are correct and stay, so it only
	// moves the cursor).
	Kind   string `msgpack:"kind"`
	Row    int    `msgpack:"row"`
	Col    int    `msgpack:"col"`
	Letter string `msgpack:"letter,omitempty"` // one letter, either case
	Dir    string `msgpack:"dir,omitempty"`    // "across" or "down"; empty keeps the current one
}

// ScoreEntry is one line of the scoreboard, encoded as [id, name, score].
type ScoreEntry struct {
	ID    uint32
	Name  string
	Score int
}

// EncodeMsgpack writes the entry as [id, name, score].
func (s ScoreEntry) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeArrayLen(3); err != nil {
		return err
	}
	if err := enc.EncodeUint(uint64(s.ID)); err != nil {
		return err
	}
	if err := enc.EncodeString(s.Name); err != nil {
		return err
	}
	return enc.EncodeInt(int64(s.Score))
}

// DecodeMsgpack reads [id, name, score], ignoring elements a newer server may add.
func (s *ScoreEntry) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return err
	}
	if n < 3 {
		return fmt.Errorf("crossword: score entry of %d elements, want 3", n)
	}
	if err := dec.Decode(&s.ID); err != nil {
		return err
	}
	if err := dec.Decode(&s.Name); err != nil {
		return err
	}
	if err := dec.Decode(&s.Score); err != nil {
		return err
	}
	for range n - 3 {
		if err := dec.Skip(); err != nil {
			return err
		}
	}
	return nil
}

// The reliable events the game sends, with their payloads.
type (
	// WrongEvent ("wrong", to the player): the letter is not the solution's.
	WrongEvent struct {
		Row    int    `msgpack:"row"`
		Col    int    `msgpack:"col"`
		Letter string `msgpack:"letter"`
		Score  int    `msgpack:"score"` // the player's score after the penalty
	}
	// WordEvent ("word", to everyone): a word was completed.
	WordEvent struct {
		Dir    string `msgpack:"dir"`
		Number int    `msgpack:"number"`
		Answer string `msgpack:"answer"`
		By     uint32 `msgpack:"by"`
		Name   string `msgpack:"name"`
		Points int    `msgpack:"points"`
	}
	// ScoreEvent ("score", to the player): their score changed.
	ScoreEvent struct {
		Score int `msgpack:"score"`
	}
	// SolvedEvent ("solved", to everyone): the puzzle is complete.
	SolvedEvent struct {
		Puzzle     string       `msgpack:"puzzle"`
		Title      string       `msgpack:"title"`
		Scoreboard []ScoreEntry `msgpack:"scoreboard"`
		NextInMS   int64        `msgpack:"next_in_ms"`
	}
	// Me is the answer to the request "me".
	Me struct {
		ID    uint32 `msgpack:"id"`
		Name  string `msgpack:"name"`
		Color string `msgpack:"color"`
		Score int    `msgpack:"score"`
		Rank  int    `msgpack:"rank"` // 1 for the best score; players with equal scores rank by who got there first
	}
)

// Options change how the game runs; the zero value is the game as registered by Register.
type Options struct {
	Name       string            // default Name
	Room       engine.RoomConfig // default: 10 Hz ticks and snapshots, 20000 players; Schema default Schema
	Puzzles    []*Puzzle         // default: Builtin(), played in order, round and round
	Pause      int               // ticks between a solve and the next puzzle; default 50 (5 s)
	MaxCursors int               // cursors replicated, the most recently moved; default 200
	Penalty    int               // points a wrong letter costs (never below 0); default 1, negative none
	TopN       int               // scoreboard lines replicated; default 10
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = Name
	}
	if o.Room == (engine.RoomConfig{}) {
		o.Room = engine.RoomConfig{TickRate: 10, SnapshotRate: 10, MaxPlayers: 20000}
	}
	if o.Room.Schema == nil {
		o.Room.Schema = Schema
	}
	if o.Pause <= 0 {
		o.Pause = 50
	}
	if o.MaxCursors <= 0 {
		o.MaxCursors = 200
	}
	if o.Penalty == 0 {
		o.Penalty = 1
	}
	if o.TopN <= 0 {
		o.TopN = 10
	}
	return o
}

// Register registers the crossword as "crossword", with the puzzles shipped in puzzles/.
func Register(e *engine.Engine) error { return RegisterOptions(e, Options{}) }

// RegisterOptions registers the crossword with other options (puzzles, pause, limits).
func RegisterOptions(e *engine.Engine, o Options) error {
	o = o.withDefaults()
	if o.Puzzles == nil {
		ps, err := Builtin()
		if err != nil {
			return err
		}
		o.Puzzles = ps
	}
	if len(o.Puzzles) == 0 {
		return fmt.Errorf("crossword: no puzzles")
	}
	return engine.Register(e, o.Name, o.Room, func() engine.Game[Input] { return &Game{opts: o} })
}

// Game is one crossword room. All its methods run on the room's goroutine.
type Game struct {
	engine.Hooks[Input]
	opts Options
	room *engine.Room[Input] // for MarshalState and RestoreState, which are not given it

	round    int     // puzzles started so far; the current one is Puzzles[(round-1)%len]
	pz       *Puzzle // the current puzzle
	fill     []byte  // per square: the placed letter, 0 if empty
	filledBy []uint32
	filled   int    // squares filled
	nextAt   uint32 // while solved: the tick the next puzzle starts; 0 while playing
	mask     string // per square '#' or '.'
	clues    msgpack.RawMessage

	players map[*engine.Player]*player
	away    int       // players in g.players whose connection dropped (seat held for the grace period)
	cursors list.List // of *player: the shown cursors, the most recently moved first
	seq     uint64    // orders score changes, for ties

	top      []ScoreEntry
	topBytes msgpack.RawMessage
	topDirty bool
}

type player struct {
	p        *engine.Player
	name     string
	color    string
	score    int
	scoredAt uint64 // g.seq when score last rose
	row, col int
	dir      Direction
	shown    *list.Element // in g.cursors, nil if not shown
	away     bool          // dropped, seat held: not counted among the players shown
}

// Start loads the first puzzle.
func (g *Game) Start(r *engine.Room[Input]) error {
	g.room = r
	g.players = make(map[*engine.Player]*player)
	g.cursors.Init()
	g.next()
	return nil
}

// next loads the next puzzle and resets the round's scores and cursors.
func (g *Game) next() {
	g.round++
	g.load(g.opts.Puzzles[(g.round-1)%len(g.opts.Puzzles)])
	for _, pl := range g.players {
		pl.score, pl.scoredAt = 0, 0
		pl.row, pl.col, pl.dir, pl.shown = 0, 0, Across, nil
	}
	g.cursors.Init()
	g.topDirty = true
}

// load makes pz the current puzzle, with an empty grid.
func (g *Game) load(pz *Puzzle) {
	g.pz = pz
	g.fill = make([]byte, len(pz.Solution))
	g.filledBy = make([]uint32, len(pz.Solution))
	g.filled, g.nextAt = 0, 0
	g.mask = strings.Map(func(c rune) rune {
		if c == '#' {
			return '#'
		}
		return '.'
	}, pz.Solution)
	wire := make([][]any, len(pz.Clues)) // each [dir, number, row, col, len, text]
	for i, c := range pz.Clues {
		wire[i] = []any{c.Dir, c.Number, c.Row, c.Col, c.Len, c.Text}
	}
	g.clues, _ = engine.Marshal(wire) // strings and integers only: cannot fail
}

// Join seats a player. Meta may be a name (a string) or a map with "name".
func (g *Game) Join(r *engine.Room[Input], p *engine.Player) error {
	g.players[p] = &player{p: p, name: p.Name(maxName), color: Color(p.ID)}
	return nil
}

// Drop hides the player's cursor while they are away, and leaves them out of the players
// shown until they are back.
func (g *Game) Drop(r *engine.Room[Input], p *engine.Player) {
	if pl := g.players[p]; pl != nil {
		g.hide(pl)
		if !pl.away {
			pl.away = true
			g.away++
		}
	}
}

// Rejoin tells the player their score again: events sent while away were missed.
func (g *Game) Rejoin(r *engine.Room[Input], p *engine.Player) {
	if pl := g.players[p]; pl != nil {
		if pl.away {
			pl.away = false
			g.away--
		}
		_ = r.Send(p, "score", ScoreEvent{pl.score})
	}
}

// Leave forgets the player; the letters they placed stay theirs.
func (g *Game) Leave(r *engine.Room[Input], p *engine.Player, _ engine.LeaveReason) {
	if pl := g.players[p]; pl != nil {
		if pl.away {
			g.away--
		}
		g.hide(pl)
		if pl.score > 0 {
			g.topDirty = true
		}
		delete(g.players, p)
	}
}

// Update applies the tick's inputs in arrival order.
func (g *Game) Update(r *engine.Room[Input], inputs []engine.Input[Input]) {
	if g.nextAt != 0 && r.Tick() >= g.nextAt {
		g.next()
	}
	for _, in := range inputs {
		pl := g.players[in.Player]
		if pl == nil {
			continue
		}
		v := &in.Value
		switch v.Kind {
		case "cursor", "clear":
			g.move(pl, v)
		case "letter":
			if g.move(pl, v) {
				g.letter(r, pl, v)
			}
		}
	}
}

// move puts the player's cursor on (v.Row, v.Col) and makes it the most recently moved. It
// reports false, and changes nothing, if the square is not a white square of the puzzle.
func (g *Game) move(pl *player, v *Input) bool {
	if g.pz.Black(v.Row, v.Col) {
		return false
	}
	switch v.Dir {
	case "across":
		pl.dir = Across
	case "down":
		pl.dir = Down
	}
	pl.row, pl.col = v.Row, v.Col
	if !pl.p.Connected() {
		return true
	}
	if pl.shown != nil {
		g.cursors.MoveToFront(pl.shown)
		return true
	}
	pl.shown = g.cursors.PushFront(pl)
	if g.cursors.Len() > g.opts.MaxCursors {
		g.hide(g.cursors.Back().Value.(*player))
	}
	return true
}

func (g *Game) hide(pl *player) {
	if pl.shown != nil {
		g.cursors.Remove(pl.shown)
		pl.shown = nil
	}
}

// letter checks a typed letter against the solution, places it if right, and credits the
// words it completes.
func (g *Game) letter(r *engine.Room[Input], pl *player, v *Input) {
	sq := v.Row*g.pz.Width + v.Col
	if g.nextAt != 0 || g.fill[sq] != 0 {
		return // between puzzles, or already solved: placed letters are always right
	}
	c, size := utf8.DecodeRuneInString(v.Letter)
	if size != len(v.Letter) || c > 'z' {
		return // not one letter
	}
	if 'a' <= c && c <= 'z' {
		c -= 'a' - 'A'
	}
	if c < 'A' || c > 'Z' {
		return
	}
	if byte(c) != g.pz.Solution[sq] {
		if pl.score > 0 && g.opts.Penalty > 0 {
			pl.score = max(0, pl.score-g.opts.Penalty)
			g.topDirty = true
		}
		_ = r.Send(pl.p, "wrong", WrongEvent{Row: v.Row, Col: v.Col, Letter: string(c), Score: pl.score})
		return
	}
	g.fill[sq] = byte(c)
	g.filledBy[sq] = pl.p.ID
	g.filled++
	points := 0
	for d := Across; d <= Down; d++ {
		k := g.pz.WordAt(sq, d)
		if k < 0 || !g.complete(&g.pz.Clues[k]) {
			continue
		}
		cl := &g.pz.Clues[k]
		points += cl.Len
		_ = r.Broadcast("word", WordEvent{Dir: d.String(), Number: cl.Number, Answer: cl.Answer,
			By: pl.p.ID, Name: pl.name, Points: cl.Len})
	}
	if points > 0 {
		g.seq++
		pl.score += points
		pl.scoredAt = g.seq
		g.topDirty = true
		_ = r.Send(pl.p, "score", ScoreEvent{pl.score})
	}
	if g.filled == g.pz.White() {
		g.nextAt = r.Tick() + uint32(g.opts.Pause)
		g.updateTop()
		_ = r.Broadcast("solved", SolvedEvent{Puzzle: g.pz.ID, Title: g.pz.Title, Scoreboard: g.top,
			NextInMS: int64(g.opts.Pause) * r.DT().Milliseconds()})
	}
}

func (g *Game) complete(c *Clue) bool {
	sq, step := c.Row*g.pz.Width+c.Col, 1
	if c.Dir == Down {
		step = g.pz.Width
	}
	for range c.Len {
		if g.fill[sq] == 0 {
			return false
		}
		sq += step
	}
	return true
}

// better reports whether a ranks above b: higher score, then who reached it first.
func better(a, b *player) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	if a.scoredAt != b.scoredAt {
		return a.scoredAt < b.scoredAt
	}
	return a.p.ID < b.p.ID
}

// updateTop recomputes the replicated scoreboard if a score changed: one pass over the
// players, keeping the best TopN by insertion.
func (g *Game) updateTop() {
	if !g.topDirty {
		return
	}
	g.topDirty = false
	best := make([]*player, 0, g.opts.TopN+1)
	for _, pl := range g.players {
		if pl.score <= 0 {
			continue
		}
		i := len(best)
		for i > 0 && better(pl, best[i-1]) {
			i--
		}
		if i >= g.opts.TopN {
			continue
		}
		best = append(best, nil)
		copy(best[i+1:], best[i:])
		best[i] = pl
		if len(best) > g.opts.TopN {
			best = best[:g.opts.TopN]
		}
	}
	g.top = make([]ScoreEntry, len(best))
	for i, pl := range best {
		g.top[i] = ScoreEntry{ID: pl.p.ID, Name: pl.name, Score: pl.score}
	}
	g.topBytes, _ = engine.Marshal(g.top)
}

// Snapshot replicates the board (the room state), every white square and the shown cursors.
func (g *Game) Snapshot(r *engine.Room[Input], b *state.Builder) {
	g.updateTop()
	b.Room(board{g})
	for sq := range len(g.fill) {
		if g.pz.Solution[sq] != '#' {
			b.Add(state.ID(sq+1), KindCell, cell{g.fill[sq], g.filledBy[sq]})
		}
	}
	for e := g.cursors.Front(); e != nil; e = e.Next() {
		pl := e.Value.(*player)
		b.Add(CursorBase+state.ID(pl.p.ID), KindCursor, pl)
	}
}

// board is the room state: the fields of Schema.Room.
type board struct{ g *Game }

func (b board) AppendFields(f *state.Fields) {
	g := b.g
	f.String(g.pz.ID)
	f.String(g.pz.Title)
	f.String(g.pz.Author)
	f.Int(int64(g.pz.Width))
	f.Int(int64(g.pz.Height))
	f.String(g.mask)
	_ = f.Value(g.clues)
	_ = f.Value(g.topBytes)
	f.Uint(uint64(g.nextAt))
	f.Int(int64(len(g.players) - g.away)) // connected: a seat held for a dropped player is no one at the board
}

// cell is the entity of kind KindCell: [letter or "", id of the player who placed it or 0].
type cell struct {
	letter byte
	by     uint32
}

var letters = func() (s [256]string) {
	for c := 'A'; c <= 'Z'; c++ {
		s[c] = string(c)
	}
	return
}()

func (c cell) AppendFields(f *state.Fields) {
	f.String(letters[c.letter])
	f.Uint(uint64(c.by))
}

// AppendFields writes a cursor, the entity of kind KindCursor: [row, col, dir, color, name].
func (pl *player) AppendFields(f *state.Fields) {
	f.Int(int64(pl.row))
	f.Int(int64(pl.col))
	f.Uint(uint64(pl.dir))
	f.String(pl.color)
	f.String(pl.name)
}

// Grid is the answer to the request "grid": the board as the server holds it.
type Grid struct {
	Puzzle string `msgpack:"puzzle"`
	// Squares is row-major, one byte a square: '#' black, '.' empty, else the placed letter.
	Squares string `msgpack:"squares"`
}

// Request answers "me" (the player's id, name, color, score and rank) and "grid" (the
// board as text, for tools and tests: clients follow the replicated cells instead).
func (g *Game) Request(r *engine.Room[Input], p *engine.Player, name string, _ msgpack.RawMessage) (any, error) {
	switch name {
	case "me":
	case "grid":
		sq := []byte(g.mask)
		for i, c := range g.fill {
			if c != 0 {
				sq[i] = c
			}
		}
		return Grid{Puzzle: g.pz.ID, Squares: string(sq)}, nil
	default:
		return nil, engine.Reject("unknown request " + name + ` (the crossword answers "me" and "grid")`)
	}
	pl := g.players[p]
	if pl == nil {
		return nil, engine.Reject("not seated")
	}
	rank := 1
	for _, o := range g.players {
		if o != pl && better(o, pl) {
			rank++
		}
	}
	return Me{ID: p.ID, Name: pl.name, Color: pl.color, Score: pl.score, Rank: rank}, nil
}

// maxName bounds a player's name, in runes.
const maxName = 20

// Color is a player's cursor color, "#rrggbb": hues a golden angle apart, so that players
// who joined one after the other get distinct colors.
func Color(id uint32) string {
	h := math.Mod(float64(id)*137.50776405, 360) / 60
	const s, l = 0.65, 0.5
	c := (1 - math.Abs(2*l-1)) * s
	x := c * (1 - math.Abs(math.Mod(h, 2)-1))
	var r, g, b float64
	switch int(h) {
	case 0:
		r, g, b = c, x, 0
	case 1:
		r, g, b = x, c, 0
	case 2:
		r, g, b = 0, c, x
	case 3:
		r, g, b = 0, x, c
	case 4:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	m := l - c/2
	to := func(v float64) int { return int(math.Round((v + m) * 255)) }
	return fmt.Sprintf("#%02x%02x%02x", to(r), to(g), to(b))
}
