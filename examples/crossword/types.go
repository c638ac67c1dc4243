package crossword

import (
	"reflect"

	"github.com/rallypoint/rallypoint/state/tsgen"
)

//go:generate go test -run ^TestTypesFileIsGenerated$ -update-types .

// TypeScript is what web/types.d.ts declares, for the page's editor and type checks: the
// replicated state (Schema), the input, the events and the answers to "me" and "grid".
// ScoreEntry encodes itself as an array, which tsgen cannot read, so its TypeScript is
// given here.
var TypeScript = tsgen.Spec{
	Game:   "examples/crossword",
	Schema: Schema,
	Input:  reflect.TypeFor[Input](),
	Events: map[string]reflect.Type{
		"wrong":  reflect.TypeFor[WrongEvent](),
		"word":   reflect.TypeFor[WordEvent](),
		"score":  reflect.TypeFor[ScoreEvent](),
		"solved": reflect.TypeFor[SolvedEvent](),
	},
	Requests: map[string]reflect.Type{"me": reflect.TypeFor[Me](), "grid": reflect.TypeFor[Grid]()},
	Override: map[reflect.Type]string{reflect.TypeFor[ScoreEntry](): "[id: number, name: string, score: number]"},
}
