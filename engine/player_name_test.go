package engine_test

import (
	"testing"

	"github.com/rallypoint/rallypoint/engine"
)

func TestPlayerName(t *testing.T) {
	cases := []struct {
		meta any
		want string
	}{
		{"ada", "ada"},
		{map[string]any{"name": "  bob  "}, "bob"},
		{"a\x00b\nc\x7f", "abc"},
		{"an extremely long name indeed", "an extremely long name i"},
		{"héllo wörld ✓", "héllo wörld ✓"},
		{"bad \xff utf-8", "bad  utf-8"},
		{"   ", "player 9"},
		{map[string]any{"nick": "x"}, "player 9"},
		{nil, "player 9"},
		{42, "player 9"},
	}
	for _, c := range cases {
		meta, _ := engine.Marshal(c.meta)
		if c.meta == nil {
			meta = nil
		}
		if got := (&engine.Player{ID: 9, Meta: meta}).Name(24); got != c.want {
			t.Errorf("meta %q: name %q, want %q", c.meta, got, c.want)
		}
	}
	if got := (&engine.Player{ID: 1, Meta: []byte{0xc1}}).Name(24); got != "player 1" {
		t.Errorf("undecodable meta: name %q", got)
	}
}
