package engine

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
)

// Name is the display name the client sent as its join meta, a string or a map with a
// "name" string, made safe to show other players: control characters and invalid UTF-8
// dropped, surrounding spaces trimmed, cut to max runes. Without one it is "player N" (N the
// player's ID). Games show names to everyone, so they should take them from here rather than
// from Meta.
func (p *Player) Name(max int) string {
	var raw string
	if len(p.Meta) > 0 {
		var v any
		if msgpack.Unmarshal(p.Meta, &v) == nil {
			switch m := v.(type) {
			case string:
				raw = m
			case map[string]any:
				raw, _ = m["name"].(string)
			}
		}
	}
	var b strings.Builder
	n := 0
	for _, c := range strings.TrimSpace(raw) {
		if n == max {
			break
		}
		if c < ' ' || c == 0x7f || c == utf8.RuneError {
			continue
		}
		b.WriteRune(c)
		n++
	}
	if name := strings.TrimSpace(b.String()); name != "" {
		return name
	}
	return fmt.Sprintf("player %d", p.ID)
}
