package engine_test

import (
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/state"
)

// teams is a game whose requests broadcast: "team" to the players of the sender's team
// (odd or even ids) plus a player of another room and nil, which must be skipped; "all" to
// everyone. It remembers the options its room was created with.
type teams struct {
	engine.Hooks[int]
	other   *atomic.Pointer[engine.Player] // a player of another room, once one has joined there
	created chan engine.CreateOptions
}

func (g *teams) Start(r *engine.Room[int]) error {
	o := r.CreateOptions()
	r.SetMetadata("map", "changed") // changes the listing, not the creation options
	o.Metadata["map"] = "mutated"   // a copy: r's are untouched
	g.created <- r.CreateOptions()
	return nil
}

func (g *teams) Update(*engine.Room[int], []engine.Input[int]) {}
func (g *teams) Snapshot(_ *engine.Room[int], b *state.Builder) {
	b.Add(1, 1, &score{1})
}

func (g *teams) Join(r *engine.Room[int], p *engine.Player) error {
	if r.CreateOptions().Metadata["side"] == "other" {
		g.other.CompareAndSwap(nil, p)
	}
	return nil
}

func (g *teams) Request(r *engine.Room[int], p *engine.Player, name string, _ msgpack.RawMessage) (any, error) {
	switch name {
	case "team":
		var team []*engine.Player
		for _, q := range r.Players() {
			if q.ID%2 == p.ID%2 {
				team = append(team, q)
			}
		}
		return nil, r.BroadcastTo(append(team, g.other.Load(), nil), "team", p.ID)
	case "all":
		return nil, r.Broadcast("all", p.ID)
	}
	return nil, engine.Reject("no such request")
}

// TestBroadcastToReachesTheListedPlayersOnly plays through real sockets: four players in a
// room, one of them dropped; a team broadcast from player 1 reaches players 1 and 3 (the
// odd ids, connected), not 2 and 4, nor the player of another room it also listed; a
// broadcast to all that follows is the next event everyone connected gets.
func TestBroadcastToReachesTheListedPlayersOnly(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	var other atomic.Pointer[engine.Player]
	created := make(chan engine.CreateOptions, 4)
	if err := engine.Register(te.e, "teams", engine.RoomConfig{Grace: time.Minute}, func() engine.Game[int] {
		return &teams{other: &other, created: created}
	}); err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{"map": "dust"}
	room, err := te.e.CreateRoom("teams", engine.CreateOptions{Metadata: meta})
	if err != nil {
		t.Fatal(err)
	}
	meta["map"] = "mutated by the caller"
	if o := <-created; o.Private || !maps.Equal(o.Metadata, map[string]string{"map": "dust"}) {
		t.Fatalf("CreateOptions() = %+v, want the metadata the room was created with", o)
	}
	elsewhere, err := te.e.CreateRoom("teams", engine.CreateOptions{Metadata: map[string]string{"side": "other"}})
	if err != nil {
		t.Fatal(err)
	}
	<-created
	outsider := te.dial(t)
	if _, err := outsider.Join(ctx5(t), engine.JoinOptions{Room: elsewhere.ID}); err != nil {
		t.Fatal(err)
	}
	c := make([]*gameclient.Client, 4)
	for i := range c {
		c[i] = te.dial(t)
		j, err := c[i].Join(ctx5(t), engine.JoinOptions{Room: room.ID})
		if err != nil || j.Player != uint32(i+1) {
			t.Fatalf("join %d: player %d, %v", i, j.Player, err)
		}
	}
	c[3].Conn().CloseNow() // player 4 drops; its seat is held
	waitFor(t, "player 4's seat held", func() bool { info, _ := te.e.Room(room.ID); return info.Held == 1 })
	if err := c[0].Request(ctx5(t), "team", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c[1].Request(ctx5(t), "all", nil, nil); err != nil {
		t.Fatal(err)
	}
	want := map[int][]string{0: {"team", "all"}, 1: {"all"}, 2: {"team", "all"}}
	for i, names := range want {
		for _, name := range names {
			if got := waitEvent(t, c[i], engine.KindEvent).Name; got != name {
				t.Fatalf("player %d's next event is %q, want %q (wants %v)", i+1, got, name, names)
			}
		}
	}
	// The outsider, listed by the team broadcast but in another room, got nothing: its
	// first event is one broadcast in its own room.
	if err := outsider.Request(ctx5(t), "all", nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := waitEvent(t, outsider, engine.KindEvent).Name; got != "all" {
		t.Fatalf("the player of another room got %q", got)
	}
}
