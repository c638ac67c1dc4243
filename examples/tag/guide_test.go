package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// snippet matches a code block of the guide with the file it is taken from named in the
// comment just above it: <!-- examples/tag/game.go --> then ```go ... ```.
var snippet = regexp.MustCompile("(?s)<!-- (examples/tag/[^ ]+) -->\n```[a-z]*\n(.*?)```")

// TestFirstGameGuideShowsTheSource keeps docs/first-game.md true: every code block it says
// comes from a file of examples/tag must appear in that file exactly as shown, so a change to
// the game that the guide does not follow fails here.
func TestFirstGameGuideShowsTheSource(t *testing.T) {
	root := filepath.Join("..", "..")
	guide, err := os.ReadFile(filepath.Join(root, "docs", "first-game.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := snippet.FindAllStringSubmatch(string(guide), -1)
	if len(blocks) < 10 {
		t.Fatalf("the guide shows %d snippets of examples/tag, want the game's whole walk-through (10 or more)", len(blocks))
	}
	files := map[string]int{}
	for i, b := range blocks {
		path, code := b[1], b[2]
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
		if err != nil {
			t.Errorf("snippet %d names %s: %v", i+1, path, err)
			continue
		}
		files[path]++
		if !strings.Contains(string(src), code) {
			t.Errorf("snippet %d is not in %s as the guide shows it:\n%s", i+1, path, code)
		}
	}
	for _, want := range []string{"examples/tag/game.go", "examples/tag/main.go", "examples/tag/web/tag.js"} {
		if files[want] == 0 {
			t.Errorf("the guide shows nothing of %s", want)
		}
	}
}
