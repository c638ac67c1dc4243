package client

import (
	"path/filepath"
	"testing"

	"github.com/rallypoint/rallypoint/internal/peertest"
)

// TestTypedUsageChecks type-checks test/typed/usage.ts with tsc: the SDK's generics
// (entities<E>, roomState<R>, sendInput<I>, interpolated<E>, onEvent) over the declarations
// generated for both examples, including a field name that must not exist. It catches a
// change to the SDK's types or to a generated file that breaks a typed page.
func TestTypedUsageChecks(t *testing.T) {
	node := nodeTools(t)
	peertest.NPM(t, ".", "typescript")
	runNode(t, node, filepath.Join("node_modules", "typescript", "bin", "tsc"), "-p", filepath.Join("test", "typed"))
}
