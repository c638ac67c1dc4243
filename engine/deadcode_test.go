package engine

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestEveryCodeAndLeaveReasonIsUsed: each protocol code and leave reason the package
// declares is used by its code (not its tests) somewhere besides its declaration and its
// String method. CodeTimeout, LeftRoomEnded and LeftRateLimited were declared, documented
// and never sent (issue 12): a client or a game waiting for them waited for nothing.
func TestEveryCodeAndLeaveReasonIsUsed(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	used := map[string]int{}
	for _, en := range entries {
		if !strings.HasSuffix(en.Name(), ".go") || strings.HasSuffix(en.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, en.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for _, id := range n.Names {
					if strings.HasPrefix(id.Name, "Code") || strings.HasPrefix(id.Name, "Left") {
						declared[id.Name] = true
					}
				}
			case *ast.FuncDecl:
				// A String method names every constant; it is no use of them.
				if n.Recv != nil && n.Name.Name == "String" {
					return false
				}
			case *ast.Ident:
				used[n.Name]++
			}
			return true
		})
	}
	if len(declared) < 10 {
		t.Fatalf("found only %v: the test no longer sees the declarations", declared)
	}
	for name := range declared {
		if used[name] < 2 { // the declaration itself counts once
			t.Errorf("%s is declared but never used: send it where it belongs, or remove it", name)
		}
	}
}
