package shooter

import (
	"reflect"

	"github.com/rallypoint/rallypoint/state/tsgen"
)

//go:generate go test -run ^TestTypesFileIsGenerated$ -update-types .

// TypeScript is what web/types.d.ts declares, for the page's editor and type checks: the
// replicated state (Schema), the input, the events and the answer to "map". Input encodes
// itself as an array, which tsgen cannot read, so its TypeScript is given here.
var TypeScript = tsgen.Spec{
	Game:   "examples/shooter",
	Schema: Schema,
	Input:  reflect.TypeFor[Input](),
	Events: map[string]reflect.Type{
		"shot": reflect.TypeFor[ShotEvent](),
		"boom": reflect.TypeFor[BoomEvent](),
		"kill": reflect.TypeFor[KillEvent](),
	},
	Requests: map[string]reflect.Type{"map": reflect.TypeFor[MapInfo]()},
	Override: map[reflect.Type]string{reflect.TypeFor[Input](): "[keys: number, aim: number, fire: number]"},
}
