package crossword

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
)

// A crossword room moves with its state when its node drains (engine.Movable): a puzzle with
// thousands of players at it must not start over because of a deploy. What moves is what the
// players would miss: the puzzle, its placed letters and who placed them, each player's score
// and cursor, and the pause before the next puzzle. The scoreboard and the cursors shown are
// rebuilt from those. The new node must know the puzzle (nodes run the same build); one that
// does not starts its next puzzle instead and keeps the scores.

var _ engine.Movable = (*Game)(nil)

// movedState is the crossword's state on its way to another node, in msgpack.
type movedState struct {
	Round    int           `msgpack:"round"`
	Puzzle   string        `msgpack:"puzzle"`
	Fill     []byte        `msgpack:"fill"`
	FilledBy []uint32      `msgpack:"by"`
	NextIn   uint32        `msgpack:"nextIn"` // ticks to the next puzzle while solved, else 0
	Seq      uint64        `msgpack:"seq"`
	Players  []movedPlayer `msgpack:"players"`
}

type movedPlayer struct {
	ID       uint32    `msgpack:"id"`
	Score    int       `msgpack:"score"`
	ScoredAt uint64    `msgpack:"at"`
	Row      int       `msgpack:"row"`
	Col      int       `msgpack:"col"`
	Dir      Direction `msgpack:"dir"`
}

// MarshalState implements engine.Movable: the room's state, on its goroutine.
func (g *Game) MarshalState() ([]byte, error) {
	m := movedState{Round: g.round, Puzzle: g.pz.ID, Fill: g.fill, FilledBy: g.filledBy, Seq: g.seq}
	if g.nextAt != 0 {
		m.NextIn = g.nextAt - min(g.nextAt, g.room.Tick())
	}
	m.Players = make([]movedPlayer, 0, len(g.players))
	for _, pl := range g.players {
		m.Players = append(m.Players, movedPlayer{ID: pl.p.ID, Score: pl.score, ScoredAt: pl.scoredAt,
			Row: pl.row, Col: pl.col, Dir: pl.dir})
	}
	return engine.Marshal(m)
}

// RestoreState implements engine.Movable: the room moving in takes the state, after Start
// (which loaded a first puzzle) and before its first tick. players are the players moving in,
// away until each takes its seat (Rejoin).
func (g *Game) RestoreState(b []byte, players []*engine.Player) error {
	var m movedState
	if err := msgpack.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("crossword: a moved room's state: %w", err)
	}
	byID := make(map[uint32]*movedPlayer, len(m.Players))
	for i := range m.Players {
		byID[m.Players[i].ID] = &m.Players[i]
	}
	g.seq = m.Seq
	g.round = m.Round
	pz := g.puzzle(m.Puzzle)
	known := pz != nil && len(m.Fill) == len(pz.Solution) && len(m.FilledBy) == len(pz.Solution)
	if known {
		g.load(pz)
		for sq, c := range m.Fill {
			if c != 0 && c == pz.Solution[sq] { // only right letters are ever placed
				g.fill[sq], g.filledBy[sq] = c, m.FilledBy[sq]
				g.filled++
			}
		}
		if m.NextIn != 0 {
			g.nextAt = g.room.Tick() + m.NextIn
		}
	} else {
		g.next() // not a puzzle of this build: the next one, with the scores kept
	}
	for _, p := range players {
		pl := &player{p: p, name: p.Name(maxName), color: Color(p.ID), away: true}
		if mp := byID[p.ID]; mp != nil {
			pl.score, pl.scoredAt = mp.Score, mp.ScoredAt
			if known && !pz.Black(mp.Row, mp.Col) {
				pl.row, pl.col, pl.dir = mp.Row, mp.Col, mp.Dir
			}
		}
		g.players[p] = pl
		g.away++
	}
	g.topDirty = true
	return nil
}

// puzzle finds a puzzle of this build by its id.
func (g *Game) puzzle(id string) *Puzzle {
	for _, pz := range g.opts.Puzzles {
		if pz.ID == id {
			return pz
		}
	}
	return nil
}
