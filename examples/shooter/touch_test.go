package shooter_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rallypoint/rallypoint/internal/peertest"
)

// touchScript drives the page's touch.js and render.js under Node with a fake window and
// canvas: for each case of the JSON file argv[2] it sizes the window, makes a Renderer and
// its TouchControls, dispatches the case's pointer events on the canvas, and prints one line
// with what the controls then hold ({keys, aim (mrad or null), fire, held, enabled}) and the
// layout ({turned, compact, scale, ox, oy, roundTrip: the largest error of toWorld(toScreen(p))
// over a grid of points, dirError: the largest angle between worldDir(d) and where the same
// screen step lands in the world}).
const touchScript = `
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const dir = process.argv[3];
let coarse = false;
globalThis.window = {
  innerWidth: 0, innerHeight: 0, devicePixelRatio: 1,
  matchMedia: (q) => ({ matches: q === "(pointer: coarse)" && coarse }),
  addEventListener() {},
};
const { TouchControls } = await import(pathToFileURL(dir + "/touch.js").href);
const { Renderer } = await import(pathToFileURL(dir + "/render.js").href);

for (const c of JSON.parse(readFileSync(process.argv[2], "utf8"))) {
  window.innerWidth = c.w;
  window.innerHeight = c.h;
  coarse = c.coarse;
  const canvas = new EventTarget();
  canvas.getContext = () => ({});
  canvas.setPointerCapture = () => {};
  const r = new Renderer(canvas);
  const t = new TouchControls(canvas, r);
  r.touch = t;
  t.onEnable = () => r.resize();
  r.resize();
  for (const f of c.events) {
    const at = f.at === "rocket" ? r.rocketButton() : f;
    const e = new Event("pointer" + f.type, { cancelable: true });
    Object.assign(e, { pointerId: f.id, pointerType: f.kind || "touch", clientX: at.x, clientY: at.y, button: 0 });
    canvas.dispatchEvent(e);
  }
  const aim = t.aimAngle();
  let roundTrip = 0;
  let dirError = 0;
  for (let x = 0; x <= 2000; x += 250) {
    for (let y = 0; y <= 1200; y += 200) {
      const s = r.toScreen(x, y);
      const w = r.toWorld(s.x, s.y);
      roundTrip = Math.max(roundTrip, Math.hypot(w.x - x, w.y - y));
      for (const [dx, dy] of [[1, 0], [0, 1], [-0.6, 0.8]]) {
        const a = r.toWorld(s.x + dx * 10, s.y + dy * 10);
        const d = r.worldDir(dx, dy);
        const err = Math.abs(Math.atan2(a.y - w.y, a.x - w.x) - Math.atan2(d.y, d.x));
        dirError = Math.max(dirError, Math.min(err, 2 * Math.PI - err));
      }
    }
  }
  console.log(JSON.stringify({
    name: c.name, keys: t.keys(), aim: aim === null ? null : Math.round(aim * 1000), fire: t.fire(),
    held: [t.move && "move", t.aim && "aim", t.rocket !== null && "rocket"].filter(Boolean), enabled: t.enabled,
    turned: r.turned, compact: r.compact, scale: r.scale, ox: r.ox, oy: r.oy, roundTrip, dirError,
  }));
}
`

// pointer is one pointer event for touchScript: type "down", "move" or "up", at (x, y) in
// CSS pixels or at the rocket button ("rocket"); kind is the pointerType, "touch" if empty.
type pointer struct {
	Type string  `json:"type"`
	ID   int     `json:"id"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	At   string  `json:"at,omitempty"`
	Kind string  `json:"kind,omitempty"`
}

// lean is a thumb that lands at (x, y) and leans by (dx, dy) in a few moves.
func lean(id int, x, y, dx, dy float64) []pointer {
	return []pointer{
		{Type: "down", ID: id, X: x, Y: y},
		{Type: "move", ID: id, X: x + dx/2, Y: y + dy/2},
		{Type: "move", ID: id, X: x + dx, Y: y + dy},
	}
}

func mrad(a float64) *int {
	v := int(math.Round(a * 1000))
	return &v
}

// TestTouchControlsTurnThumbsIntoInputs checks the twin sticks (web/touch.js) with the
// renderer's layout (web/render.js): a stick gives the 8 directions of WASD in equal slices,
// nothing inside its dead zone, follows a thumb dragged beyond its reach; the aim stick aims
// and fires, the rocket button fires rockets, two thumbs work at once, a mouse is left to
// input.js; and on an upright phone, where the arena is drawn a quarter turn round, a thumb
// pushed right on the screen walks the way the arena shows as right (world up), and the
// screen-to-world mapping inverts exactly. The desktop layout keeps its numbers.
func TestTouchControlsTurnThumbsIntoInputs(t *testing.T) {
	node := peertest.Node(t)
	const up, down, left, right = 1, 2, 4, 8
	// A phone on its side: the left half moves, the right half aims.
	const w, h = 844, 390
	lx, ly, rx, ry := 100.0, 300.0, 700.0, 300.0
	cases := []struct {
		name    string
		w, h    int
		coarse  bool
		events  []pointer
		keys    int
		aim     *int
		fire    int
		held    []string
		enabled bool
		turned  bool
	}{
		{name: "nothing touched on a phone", w: w, h: h, coarse: true, enabled: true, held: []string{}},
		{name: "right", w: w, h: h, coarse: true, events: lean(1, lx, ly, 40, 0), keys: right, held: []string{"move"}, enabled: true},
		{name: "up and left", w: w, h: h, coarse: true, events: lean(1, lx, ly, -30, -30), keys: up | left, held: []string{"move"}, enabled: true},
		{name: "20° above right is right", w: w, h: h, coarse: true, events: lean(1, lx, ly, 40*math.Cos(0.35), -40*math.Sin(0.35)), keys: right, held: []string{"move"}, enabled: true},
		{name: "25° above right is diagonal", w: w, h: h, coarse: true, events: lean(1, lx, ly, 40*math.Cos(0.44), -40*math.Sin(0.44)), keys: up | right, held: []string{"move"}, enabled: true},
		{name: "down", w: w, h: h, coarse: true, events: lean(1, lx, ly, 2, 40), keys: down, held: []string{"move"}, enabled: true},
		{name: "inside the dead zone", w: w, h: h, coarse: true, events: lean(1, lx, ly, 8, 5), keys: 0, held: []string{"move"}, enabled: true},
		// Dragged 120 px right, the base follows to 68 px (52 px of reach behind the thumb):
		// back at 40 px the stick leans left, where a fixed base would still lean right.
		{name: "the base follows a thumb beyond reach", w: w, h: h, coarse: true,
			events: append(lean(1, lx, ly, 120, 0), pointer{Type: "move", ID: 1, X: lx + 40, Y: ly}), keys: left, held: []string{"move"}, enabled: true},
		{name: "lifted", w: w, h: h, coarse: true, events: append(lean(1, lx, ly, 40, 0), pointer{Type: "up", ID: 1, X: lx + 40, Y: ly}), keys: 0, held: []string{}, enabled: true},
		{name: "aim down fires", w: w, h: h, coarse: true, events: lean(2, rx, ry, 0, 30), aim: mrad(math.Pi / 2), fire: 1, held: []string{"aim"}, enabled: true},
		{name: "aim stick at rest neither aims nor fires", w: w, h: h, coarse: true, events: lean(2, rx, ry, 3, 3), held: []string{"aim"}, enabled: true},
		{name: "two thumbs at once", w: w, h: h, coarse: true, events: append(lean(1, lx, ly, 40, 0), lean(2, rx, ry, -30, -30)...),
			keys: right, aim: mrad(-3 * math.Pi / 4), fire: 1, held: []string{"move", "aim"}, enabled: true},
		{name: "rocket button", w: w, h: h, coarse: true, events: []pointer{{Type: "down", ID: 3, At: "rocket"}}, fire: 2, held: []string{"rocket"}, enabled: true},
		{name: "a mouse is not a thumb", w: w, h: h, events: []pointer{{Type: "down", ID: 1, X: lx, Y: ly, Kind: "mouse"}, {Type: "move", ID: 1, X: lx + 40, Y: ly, Kind: "mouse"}}, held: []string{}},
		{name: "the first touch turns the controls on", w: w, h: h, events: lean(1, lx, ly, 40, 0), keys: right, held: []string{"move"}, enabled: true},
		// Upright, the arena is turned a quarter clockwise: world +x points down the screen,
		// world +y to the left.
		{name: "upright: right on the screen is up in the world", w: 390, h: 844, coarse: true, events: lean(1, 100, 750, 40, 0), keys: up, held: []string{"move"}, enabled: true, turned: true},
		{name: "upright: down on the screen is right in the world", w: 390, h: 844, coarse: true, events: lean(1, 100, 750, 0, 40), keys: right, held: []string{"move"}, enabled: true, turned: true},
		{name: "upright: aim left on the screen is down in the world", w: 390, h: 844, coarse: true, events: lean(2, 300, 750, -40, 0), aim: mrad(math.Pi / 2), fire: 1, held: []string{"aim"}, enabled: true, turned: true},
		{name: "upright window without touch is not turned", w: 390, h: 844, held: []string{}},
	}
	in, err := json.Marshal(func() []any {
		var out []any
		for _, c := range cases {
			out = append(out, map[string]any{"name": c.name, "w": c.w, "h": c.h, "coarse": c.coarse, "events": append([]pointer{}, c.events...)})
		}
		return out
	}())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(path, in, 0o600); err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs("web")
	if err != nil {
		t.Fatal(err)
	}
	lines := runNode(t, node, touchScript, path, dir)
	if len(lines) != len(cases) {
		t.Fatalf("node printed %d lines for %d cases: %v", len(lines), len(cases), lines)
	}
	for i, c := range cases {
		var got struct {
			Name      string   `json:"name"`
			Keys      int      `json:"keys"`
			Aim       *int     `json:"aim"`
			Fire      int      `json:"fire"`
			Held      []string `json:"held"`
			Enabled   bool     `json:"enabled"`
			Turned    bool     `json:"turned"`
			RoundTrip float64  `json:"roundTrip"`
			DirError  float64  `json:"dirError"`
		}
		if err := lines[i].Decode(&got); err != nil {
			t.Fatal(err)
		}
		if got.Name != c.name {
			t.Fatalf("line %d is %q, want %q", i, got.Name, c.name)
		}
		aim := func(p *int) string {
			if p == nil {
				return "none"
			}
			return fmt.Sprint(*p)
		}
		if got.Keys != c.keys || got.Fire != c.fire || !equalAim(got.Aim, c.aim) || got.Enabled != c.enabled || got.Turned != c.turned ||
			!slices.Equal(got.Held, c.held) {
			t.Errorf("%s: keys %d, aim %s mrad, fire %d, held %v, enabled %v, turned %v; want keys %d, aim %s, fire %d, held %v, enabled %v, turned %v",
				c.name, got.Keys, aim(got.Aim), got.Fire, got.Held, got.Enabled, got.Turned, c.keys, aim(c.aim), c.fire, c.held, c.enabled, c.turned)
		}
		if got.RoundTrip > 1e-9 || got.DirError > 1e-9 {
			t.Errorf("%s: toWorld(toScreen(p)) is off by up to %g units, worldDir by %g rad", c.name, got.RoundTrip, got.DirError)
		}
	}
}

// TestDesktopLayoutKeepsItsNumbers pins the desktop layout (a 1280 × 800 window, no touch):
// the arena's scale and offset are what they were before phones had a layout of their own.
func TestDesktopLayoutKeepsItsNumbers(t *testing.T) {
	node := peertest.Node(t)
	in := `[{"name": "desktop", "w": 1280, "h": 800, "coarse": false, "events": []}]`
	path := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs("web")
	if err != nil {
		t.Fatal(err)
	}
	lines := runNode(t, node, touchScript, path, dir)
	if len(lines) != 1 {
		t.Fatalf("node printed %v", lines)
	}
	var got struct {
		Compact, Turned, Enabled bool
		Scale, Ox, Oy            float64
	}
	if err := lines[0].Decode(&got); err != nil {
		t.Fatal(err)
	}
	// The desktop formula: the arena as large as fits with 8 px margins above a 60 px HUD.
	scale := math.Min((1280-16)/2000.0, (800-16-60)/1200.0)
	if got.Compact || got.Turned || got.Enabled || got.Scale != scale || got.Ox != (1280-2000*scale)/2 || got.Oy != math.Max(8, (800-60-1200*scale)/2) {
		t.Errorf("desktop layout %+v, want not compact, not turned, no touch controls, scale %v, ox %v, oy %v",
			got, scale, (1280-2000*scale)/2, math.Max(8, (800-60-1200*scale)/2))
	}
}

func equalAim(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
