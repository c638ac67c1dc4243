package main

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/state"
)

func TestStepKeepsRunnersOnTheField(t *testing.T) {
	cases := []struct {
		name         string
		from         [2]float64
		dx, dy       int8
		wantX, wantY float64
	}{
		{"right", [2]float64{100, 100}, 1, 0, 100 + Speed, 100},
		{"diagonal runs no faster", [2]float64{100, 100}, -1, 1, 100 - Speed/math.Sqrt2, 100 + Speed/math.Sqrt2},
		{"stands still", [2]float64{100, 100}, 0, 0, 100, 100},
		{"stops at the left wall", [2]float64{Radius + 1, 50}, -1, 0, Radius, 50},
		{"stops at the bottom wall", [2]float64{50, Height - Radius - 1}, 0, 1, 50, Height - Radius},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &runner{x: tc.from[0], y: tc.from[1], dx: tc.dx, dy: tc.dy}
			step(r)
			if math.Abs(r.x-tc.wantX) > 1e-9 || math.Abs(r.y-tc.wantY) > 1e-9 {
				t.Errorf("at (%g, %g), want (%g, %g)", r.x, r.y, tc.wantX, tc.wantY)
			}
		})
	}
}

func TestClampKeepsDirectionsToOneStep(t *testing.T) {
	for in, want := range map[int8]int8{-128: -1, -1: -1, 0: 0, 1: 1, 127: 1} {
		if got := clamp(in); got != want {
			t.Errorf("clamp(%d) = %d, want %d", in, got, want)
		}
	}
}

// TestTwoPlayersPlayTag plays the game through the server main runs, over real sockets:
// the first player in is "it", runs at the second, and tags them; the snapshots then say
// so, and everyone gets the "tagged" event.
func TestTwoPlayersPlayTag(t *testing.T) {
	e, handler, err := newServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(func() { srv.Close(); _ = e.Shutdown(context.Background()) })
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/play"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	join := func(name string) (*gameclient.Client, uint32) {
		c, err := gameclient.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Conn().CloseNow() })
		meta, _ := msgpack.Marshal(map[string]string{"name": name})
		j, err := c.Join(ctx, engine.JoinOptions{Game: "tag", Meta: meta})
		if err != nil {
			t.Fatal(err)
		}
		return c, j.Player
	}
	ada, adaID := join("Ada")
	bob, bobID := join("Bob")

	// runnerOf reads a runner from a client's mirror, by its schema: x, y, name; "it" is the
	// room state's first field, the player id of whoever is it.
	type seen struct {
		x, y float64
		it   bool
		name string
	}
	runnerOf := func(c *gameclient.Client, id uint32) (r seen, ok bool) {
		c.State(func(m *state.Mirror, _ uint32) {
			e, found := m.Entity(state.ID(id))
			room, hasRoom := m.Entity(state.RoomID)
			if !found || !hasRoom || e.Kind != KindRunner {
				return
			}
			var x, y int64
			var it uint32
			ok = e.Decode(0, &x) == nil && e.Decode(1, &y) == nil && e.Decode(2, &r.name) == nil && room.Decode(0, &it) == nil
			r.x, r.y, r.it = float64(x), float64(y), it == id
		})
		return r, ok
	}

	// Ada (first in, so "it") runs at Bob until the event comes.
	for {
		select {
		case ev := <-bob.Events():
			if ev.Kind != engine.KindEvent || ev.Name != "tagged" {
				continue
			}
			var tagged struct {
				By string `msgpack:"by"`
				It string `msgpack:"it"`
			}
			if err := msgpack.Unmarshal(ev.Payload, &tagged); err != nil || tagged.By != "Ada" || tagged.It != "Bob" {
				t.Fatalf("tagged event %+v (%v), want Ada tagging Bob", tagged, err)
			}
			// The next snapshots say Bob is it and Ada is not.
			for {
				b, okB := runnerOf(ada, bobID)
				a, okA := runnerOf(ada, adaID)
				if okA && okB && b.it && !a.it && b.name == "Bob" {
					return
				}
				select {
				case <-ctx.Done():
					t.Fatalf("after the tag Ada's mirror says Ada %+v, Bob %+v", a, b)
				case <-time.After(20 * time.Millisecond):
				}
			}
		case <-ctx.Done():
			t.Fatal("no tag within 20 s")
		case <-time.After(30 * time.Millisecond):
			a, okA := runnerOf(ada, adaID)
			b, okB := runnerOf(ada, bobID)
			if !okA || !okB {
				continue
			}
			if !a.it {
				if b.it {
					// The tag's snapshot reached Ada before its event reached Bob: the
					// event case comes next, and checks who tagged whom.
					continue
				}
				t.Fatalf("the first player in is not it: %+v", a)
			}
			sign := func(v float64) int8 { return int8(max(-1, min(1, math.Round(v/Speed)))) }
			if _, err := ada.SendInput(Input{DX: sign(b.x - a.x), DY: sign(b.y - a.y)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
