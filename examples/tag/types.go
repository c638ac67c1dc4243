package main

import (
	"reflect"

	"github.com/rallypoint/rallypoint/state/tsgen"
)

//go:generate go test -run ^TestTypesFileIsGenerated$ -update-types .

// TypeScript is what web/types.d.ts declares for the page: the runners and the room state
// (Schema), the input and the "tagged" event.
var TypeScript = tsgen.Spec{
	Game:   "examples/tag",
	Schema: Schema,
	Input:  reflect.TypeFor[Input](),
	Events: map[string]reflect.Type{"tagged": reflect.TypeFor[Tagged]()},
}
