package main

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rallypoint/rallypoint/examples/shooter"
	"github.com/rallypoint/rallypoint/state"
)

// wirePlayer is a shooter player as the game replicates it.
type wirePlayer struct {
	shPlayer
	frags int
}

func (p *wirePlayer) AppendFields(f *state.Fields) {
	f.Int(int64(math.Round(p.x * shooter.Grid)))
	f.Int(int64(math.Round(p.y * shooter.Grid)))
	f.Int(1234) // aim
	f.Int(int64(p.health))
	f.Bool(p.alive)
	f.Int(int64(p.frags))
	f.Int(0)
	f.String("bot")
	f.String("#aabbcc")
	f.Bool(false)
}

// wireRocket is a rocket: [x·Grid, y·Grid, vx, vy, owner, tick].
type wireRocket struct{ x int64 }

func (r wireRocket) AppendFields(f *state.Fields) {
	f.Int(r.x)
	f.Int(16)
	f.Int(700)
	f.Int(0)
	f.Int(1)
	f.Int(1)
}

// TestViewsFollowTheServerState plays a random game on a server-side ring and sends each
// tick as a delta against a tick the client acknowledged a while ago, as a lagging client
// gets them, on either wire, and on v2 and v3 also against a second baseline (predicted;
// on v3, players where the prediction put them are left out): every view must equal the
// server's players at its tick.
func TestViewsFollowTheServerState(t *testing.T) {
	for _, c := range []struct{ withMirror, v2, predicted, v3 bool }{
		{true, false, false, false}, {false, false, false, false}, {true, true, false, false}, {false, true, false, false},
		{true, true, true, false}, {false, true, true, false}, {true, true, true, true}, {false, true, true, true},
	} {
		withMirror := c.withMirror
		rng := rand.New(rand.NewPCG(3, 4))
		ring := state.NewRing(64)
		b := ring.Builder()
		var vs views
		var m *state.Mirror
		if withMirror {
			m = state.NewMirror(64)
		}
		players := map[uint32]*wirePlayer{}
		var applied []uint32 // ticks the client holds
		misses, predicted := 0, 0
		for tick := uint32(1); tick <= 400; tick++ {
			// The world changes: players come and go, move, die; rockets fly.
			if rng.IntN(10) == 0 || len(players) < 2 {
				id := uint32(1 + rng.IntN(12))
				if rng.IntN(3) == 0 {
					id += uint32(shooter.BotBase)
				}
				players[id] = &wirePlayer{shPlayer: shPlayer{id: id, x: 100, y: 100, health: 100, alive: true}}
			}
			for id, p := range players {
				switch rng.IntN(20) {
				case 0:
					delete(players, id)
				case 1:
					p.alive, p.health = !p.alive, 100*rng.IntN(2)
				default:
					p.x = math.Round((p.x+float64(rng.IntN(3)-1)*4.33)*shooter.Grid) / shooter.Grid // as Step rounds
					p.y += float64(rng.IntN(3) - 1)
				}
			}
			b.Begin(state.Tick(tick))
			for id, p := range players {
				b.Add(state.ID(id), shooter.KindPlayer, p)
			}
			for i := range rng.IntN(3) {
				b.Add(shooter.RocketBase+state.ID(i), shooter.KindRocket, wireRocket{int64(tick)})
			}
			ring.Push(b.Finish())

			// The baseline: a tick the client holds, often not its latest; sometimes one
			// older than its history, or none (a full snapshot).
			var baseline uint32
			if len(applied) > 0 && rng.IntN(50) != 0 {
				k := rng.IntN(min(len(applied), 4))
				if rng.IntN(40) == 0 {
					k = min(len(applied)-1, viewHistory+rng.IntN(8))
				}
				baseline = applied[len(applied)-1-k]
			}
			s := snapMsg{v2: c.v2, v3: c.v3}
			var err error
			var second uint32 // a tick the client acknowledged before the baseline
			if c.predicted && baseline != 0 && rng.IntN(4) != 0 {
				for i := len(applied) - 1; i >= 0; i-- {
					if applied[i] < baseline {
						second = applied[max(0, i-rng.IntN(3))]
						break
					}
				}
			}
			switch {
			case c.v3:
				s.b, _ = state.AppendDeltaV3(nil, ring.Get(state.Tick(second)), ring.Get(state.Tick(baseline)), nil, ring.Latest(), nil)
				if m != nil {
					_, err = m.ApplyV3(s.b)
				}
			case c.v2:
				s.b, _ = state.AppendDeltaV2Predicted(nil, ring.Get(state.Tick(second)), ring.Get(state.Tick(baseline)), nil, ring.Latest(), nil)
				if m != nil {
					_, err = m.ApplyV2(s.b)
				}
			default:
				s.b = state.AppendDelta(nil, ring.Get(state.Tick(baseline)), ring.Latest(), nil)
				if m != nil {
					_, err = m.Apply(s.b)
				}
			}
			if err != nil {
				t.Fatalf("%+v, tick %d: mirror: %v", c, tick, err)
			}
			stale := vs.stale
			err = vs.apply(s, m)
			if err == nil && second != 0 && len(s.b) > 0 && vs.stale == stale {
				predicted++
			}
			if errors.Is(err, errBaselineMiss) && m == nil {
				misses++
				continue // the bot acknowledges its latest again; the server resends
			}
			if err != nil {
				t.Fatalf("%+v: tick %d (baseline %d): %v", c, tick, baseline, err)
			}
			applied = append(applied, tick)
			v := vs.latest()
			if v.tick != tick || len(v.players) != len(players) {
				t.Fatalf("tick %d: view of tick %d with %d players, want %d", tick, v.tick, len(v.players), len(players))
			}
			for _, p := range v.players {
				w := players[p.id]
				if w == nil || p.id != w.id || p.x != w.x || p.y != w.y || p.health != w.health || p.alive != w.alive {
					t.Fatalf("%+v: tick %d: player %+v, want %+v", c, tick, p, w)
				}
			}
		}
		if withMirror && vs.stale == 0 {
			t.Error("no delta was against a baseline older than the history: the rebuild is untested")
		}
		if !withMirror && misses == 0 {
			t.Error("no baseline miss without a mirror")
		}
		if c.predicted && predicted < 100 {
			t.Errorf("mirror %v: %d views built from predicted snapshots, want 100 or more", withMirror, predicted)
		}
	}
}

func TestViewAt(t *testing.T) {
	var vs views
	for _, tick := range []uint32{10, 12, 14, 16} {
		vs.ring[vs.n%viewHistory].tick = tick
		vs.n++
	}
	tests := map[uint32]uint32{16: 16, 15: 14, 12: 12, 11: 10, 3: 10}
	for at, want := range tests {
		if got := vs.at(at).tick; got != want {
			t.Errorf("at(%d) = view of %d, want %d", at, got, want)
		}
	}
	if vs.get(13) != nil || vs.get(14) == nil {
		t.Error("get found a tick that is not held, or missed one that is")
	}
}

// TestViewPutFindRemove: the view's players stay sorted by id and each is found where it
// was put, through inserts at either end and in the middle, replacements and removals,
// against a map as the reference.
func TestViewPutFindRemove(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var v shView
	ref := map[uint32]int{}
	for i := range 2000 {
		id := uint32(rng.IntN(40))
		switch rng.IntN(3) {
		case 0, 1:
			v.put(shPlayer{id: id, health: i})
			if _, ok := ref[id]; ok || len(ref) < maxPlayers {
				ref[id] = i
			}
		default:
			v.remove(id)
			delete(ref, id)
		}
		if len(v.players) != len(ref) {
			t.Fatalf("step %d: %d players, want %d", i, len(v.players), len(ref))
		}
		for k := 1; k < len(v.players); k++ {
			if v.players[k-1].id >= v.players[k].id {
				t.Fatalf("step %d: not sorted: %v", i, v.players)
			}
		}
		for id := range uint32(40) {
			p := v.find(id)
			h, want := ref[id]
			if (p != nil) != want || (want && p.health != h) {
				t.Fatalf("step %d: find(%d) = %v, want present %v with health %d", i, id, p, want, h)
			}
		}
	}
}
