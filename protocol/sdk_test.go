package protocol

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sdkFile is the TypeScript SDK's copy of the kinds and codes.
var sdkFile = filepath.Join("..", "client", "src", "protocol.ts")

// sdkOnly are names the SDK may hold that this package does not: Disconnected (-1) is the
// SDK's own answer when the connection closes before the server's, never on the wire.
var sdkOnly = map[string]int64{"Code.Disconnected": -1}

// subprotocols are the subprotocol names both sides declare: Go's constant, the SDK's.
type subprotocols struct{ v1, v2 string }

// goTables type-checks kind.go and code.go on their own (they import nothing, for this) and
// returns every constant whose name starts with Kind or Code, as the SDK would name it
// ("Kind.Join", "Code.Refused"), with its value, and the subprotocol names. Reading the
// declarations, rather than a list kept beside them, means a constant added here and not in
// the SDK fails the test.
func goTables(t *testing.T) (map[string]int64, subprotocols) {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range []string{"kind.go", "code.go"} {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	pkg, err := new(types.Config).Check("protocol", fset, files, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	var sub subprotocols
	for _, name := range pkg.Scope().Names() {
		c, ok := pkg.Scope().Lookup(name).(*types.Const)
		if !ok {
			continue
		}
		switch name {
		case "Subprotocol":
			sub.v1 = constant.StringVal(c.Val())
			continue
		case "SubprotocolV2":
			sub.v2 = constant.StringVal(c.Val())
			continue
		}
		for _, prefix := range []string{"Kind", "Code"} {
			if rest, ok := strings.CutPrefix(name, prefix); ok && rest != "" {
				v, exact := constant.Int64Val(c.Val())
				if !exact {
					t.Fatalf("%s is not an integer", name)
				}
				out[prefix+"."+rest] = v
			}
		}
	}
	return out, sub
}

var (
	tsTable = regexp.MustCompile(`(?s)export const (Kind|Code) = \{(.*?)\} as const;`)
	tsEntry = regexp.MustCompile(`^\s*([A-Za-z][A-Za-z0-9]*):\s*(-?(?:0x[0-9a-fA-F]+|[0-9]+)),\s*(?://.*)?$`)
	tsSub   = regexp.MustCompile(`export const SUBPROTOCOL = "([^"]*)";`)
	tsSubV2 = regexp.MustCompile(`export const SUBPROTOCOL_V2 = "([^"]*)";`)
	tsBatch = regexp.MustCompile(`export const MAX_INPUT_BATCH = ([0-9]+);`)
)

// sdkTables reads the Kind and Code objects of client/src/protocol.ts. Every line inside
// them must be an entry, a comment or blank: a line this parser does not understand fails
// the test rather than being skipped.
func sdkTables(t *testing.T) (map[string]int64, subprotocols) {
	t.Helper()
	src, err := os.ReadFile(sdkFile)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	tables := tsTable.FindAllStringSubmatch(string(src), -1)
	if len(tables) != 2 {
		t.Fatalf("%s: found %d of the Kind and Code tables", sdkFile, len(tables))
	}
	for _, m := range tables {
		for line := range strings.Lines(m[2]) {
			trimmed := strings.TrimSpace(line)
			if trimmed == "" || strings.HasPrefix(trimmed, "/**") || strings.HasPrefix(trimmed, "*") || strings.HasPrefix(trimmed, "//") {
				continue
			}
			e := tsEntry.FindStringSubmatch(line)
			if e == nil {
				t.Fatalf("%s: cannot read %q in %s", sdkFile, trimmed, m[1])
			}
			v, err := strconv.ParseInt(e[2], 0, 64)
			if err != nil {
				t.Fatal(err)
			}
			name := m[1] + "." + e[1]
			if _, dup := out[name]; dup {
				t.Fatalf("%s: %s twice", sdkFile, name)
			}
			out[name] = v
		}
	}
	sub := tsSub.FindStringSubmatch(string(src))
	if sub == nil {
		t.Fatalf("%s: no SUBPROTOCOL", sdkFile)
	}
	subV2 := tsSubV2.FindStringSubmatch(string(src))
	if subV2 == nil {
		t.Fatalf("%s: no SUBPROTOCOL_V2", sdkFile)
	}
	return out, subprotocols{v1: sub[1], v2: subV2[1]}
}

// TestSDKTablesMatch: the TypeScript SDK's Kind and Code tables hold exactly this package's
// kinds and codes, same names and values, both ways, and the same subprotocols (v1 and v2).
// Code 14 is reserved and so in neither.
func TestSDKTablesMatch(t *testing.T) {
	goNames, goSub := goTables(t)
	tsNames, tsSub := sdkTables(t)
	if len(goNames) < 30 {
		t.Fatalf("found only %d kinds and codes in kind.go and code.go", len(goNames))
	}
	if goSub.v1 != tsSub.v1 {
		t.Errorf("Subprotocol %q, the SDK's SUBPROTOCOL %q", goSub.v1, tsSub.v1)
	}
	if goSub.v2 != tsSub.v2 {
		t.Errorf("SubprotocolV2 %q, the SDK's SUBPROTOCOL_V2 %q", goSub.v2, tsSub.v2)
	}
	for _, name := range slices.Sorted(maps.Keys(goNames)) {
		v := goNames[name]
		switch got, ok := tsNames[name]; {
		case !ok:
			t.Errorf("%s = %d is missing from %s", name, v, sdkFile)
		case got != v:
			t.Errorf("%s is %d in Go, %d in %s", name, v, got, sdkFile)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tsNames)) {
		v := tsNames[name]
		if _, ok := goNames[name]; ok {
			continue
		}
		if want, ok := sdkOnly[name]; ok && want == v {
			continue
		}
		t.Errorf("%s = %d in %s has no Go constant %s", name, v, sdkFile, strings.Replace(name, ".", "", 1))
	}
	src, err := os.ReadFile(sdkFile)
	if err != nil {
		t.Fatal(err)
	}
	if m := tsBatch.FindSubmatch(src); m == nil || string(m[1]) != strconv.Itoa(MaxInputBatch) {
		t.Errorf("%s: MAX_INPUT_BATCH %q, want %d (MaxInputBatch)", sdkFile, m, MaxInputBatch)
	}
	for name, v := range goNames {
		if strings.HasPrefix(name, "Code.") && v == 14 {
			t.Errorf("%s uses the reserved code 14", name)
		}
	}
	for name, v := range tsNames {
		if strings.HasPrefix(name, "Code.") && v == 14 {
			t.Errorf("%s in %s uses the reserved code 14", name, sdkFile)
		}
	}
}

// TestCodeStrings: every code has its own description.
func TestCodeStrings(t *testing.T) {
	goNames, _ := goTables(t)
	seen := map[string]Code{}
	for name, v := range goNames {
		if !strings.HasPrefix(name, "Code.") {
			continue
		}
		s := Code(v).String()
		if s == "unknown" {
			t.Errorf("%s has no String", name)
		}
		if other, dup := seen[s]; dup {
			t.Errorf("codes %d and %d are both %q", other, v, s)
		}
		seen[s] = Code(v)
	}
	if s := Code(14).String(); s != "unknown" {
		t.Errorf("reserved code 14 is %q", s)
	}
	if got := (&Error{Code: CodeFull, Message: "4 of 4"}).Error(); got != "room full: 4 of 4" {
		t.Errorf("Error() = %q", got)
	}
}

// TestProtocolDocCodes: PROTOCOL.md's table of codes lists exactly the Go codes, by name and
// number, and 14 as reserved.
func TestProtocolDocCodes(t *testing.T) {
	goNames, _ := goTables(t)
	doc, err := os.ReadFile(filepath.Join("..", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n### Codes\n")
	if !ok {
		t.Fatal("PROTOCOL.md has no ### Codes section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile("(?m)^\\| (\\d+) \\| (?:`([A-Za-z]+)`|—) \\|")
	docNames := map[string]int64{}
	reserved := false
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		v, _ := strconv.ParseInt(m[1], 10, 64)
		if m[2] == "" {
			reserved = reserved || v == 14
			continue
		}
		docNames["Code."+m[2]] = v
	}
	if !reserved {
		t.Error("PROTOCOL.md does not list 14 as reserved")
	}
	for name, v := range goNames {
		if !strings.HasPrefix(name, "Code.") {
			continue
		}
		if got, ok := docNames[name]; !ok || got != v {
			t.Errorf("%s = %d: PROTOCOL.md says %d (listed: %v)", name, v, got, ok)
		}
	}
	for name, v := range docNames {
		if _, ok := goNames[name]; !ok {
			t.Errorf("PROTOCOL.md lists %s = %d, which has no Go constant", name, v)
		}
	}
}
