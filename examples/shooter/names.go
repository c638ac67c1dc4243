package shooter

import (
	"fmt"
	"math"
)

// maxName bounds a player's name (engine.Player.Name), in runes: it is drawn above their
// head and in the kill feed (the page sends at most 24 too).
const maxName = 24

// botNames are the server bots' names, given in turn.
var botNames = []string{"Bolt", "Vex", "Rook", "Nova", "Kite", "Flux", "Moth", "Jinx", "Pike", "Zed", "Ash", "Quill"}

// botName names the n-th bot made in a room (from 1): a name from the list, numbered once
// the list comes round again.
func botName(n uint32) string {
	name := botNames[(n-1)%uint32(len(botNames))]
	if round := (n - 1) / uint32(len(botNames)); round > 0 {
		name = fmt.Sprintf("%s %d", name, round+1)
	}
	return "[bot] " + name
}

// Color is a player's color, "#rrggbb": hues a golden angle apart, so that players who
// joined one after the other get distinct colors.
func Color(id uint32) string {
	h := math.Mod(float64(id)*137.50776405, 360) / 60
	const s, l = 0.7, 0.55
	c := (1 - math.Abs(2*l-1)) * s
	x := c * (1 - math.Abs(math.Mod(h, 2)-1))
	var r, g, b float64
	switch int(h) {
	case 0:
		r, g, b = c, x, 0
	case 1:
		r, g, b = x, c, 0
	case 2:
		r, g, b = 0, c, x
	case 3:
		r, g, b = 0, x, c
	case 4:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	m := l - c/2
	to := func(v float64) int { return int(math.Round((v + m) * 255)) }
	return fmt.Sprintf("#%02x%02x%02x", to(r), to(g), to(b))
}
