package engine_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/protocol"
	"github.com/rallypoint/rallypoint/state"
)

// banner is tally with a long, repetitive field on every player's entity: its full
// snapshots are large enough for permessage-deflate, and compress well.
type banner struct{ tally }

type bannerScore struct{ v int64 }

func (s *bannerScore) AppendFields(f *state.Fields) {
	f.Int(s.v)
	f.String(strings.Repeat("rallypoint ", 30))
}

func (g *banner) Snapshot(r *engine.Room[tallyInput], b *state.Builder) {
	for p, v := range g.scores {
		b.Add(state.ID(p.ID), 1, &bannerScore{v})
	}
}

// v2Player speaks rallypoint.v2 (or v3, whose snapshots are laid out as v2's) by hand and
// keeps a mirror of what it was sent.
type v2Player struct {
	*rawPlayer
	mirror *state.Mirror
	v3     bool
}

func (te *testEngine) v2Join(t *testing.T, game string, opts *ws.DialOptions) *v2Player {
	t.Helper()
	return te.wireJoin(t, game, opts, engine.SubprotocolV2, engine.Subprotocol)
}

// v3Join is v2Join offering v3 first, as the SDKs do.
func (te *testEngine) v3Join(t *testing.T, game string, opts *ws.DialOptions) *v2Player {
	t.Helper()
	return te.wireJoin(t, game, opts, engine.SubprotocolV3, engine.SubprotocolV2, engine.Subprotocol)
}

// wireJoin joins game offering the subprotocols offer, and expects the server to choose the
// first.
func (te *testEngine) wireJoin(t *testing.T, game string, opts *ws.DialOptions, offer ...string) *v2Player {
	t.Helper()
	o := ws.DialOptions{}
	if opts != nil {
		o = *opts
	}
	o.Subprotocols = offer
	c, _, err := ws.Dial(ctx5(t), te.url, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if c.Subprotocol() != offer[0] {
		t.Fatalf("the server chose %q of %v, want the first", c.Subprotocol(), offer)
	}
	vp := &v2Player{rawPlayer: &rawPlayer{t: t, c: c}, mirror: state.NewMirror(64), v3: offer[0] == engine.SubprotocolV3}
	vp.send(engine.KindJoin, 1, engine.JoinOptions{Game: game})
	for {
		if m, _ := vp.next(); m[0] == engine.KindJoined {
			return vp
		}
	}
}

// v2Snap is a v2 snapshot as read: the inline input acknowledgement (seq, or -1 for nil),
// the tick, the offset back to the baseline and, for a predicted one, offset2 back from
// the baseline to the second baseline (0 for none).
type v2Snap struct {
	seq, tick, offset, offset2 int
	changed                    []any // the flat changed list, decoded
}

// next reads a message; a snapshot is applied to the mirror and described.
func (vp *v2Player) next() ([]any, *v2Snap) {
	vp.t.Helper()
	_ = vp.c.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
	_, p, err := vp.c.ReadMessage()
	if err != nil {
		vp.t.Fatal(err)
	}
	var m []any
	if err := msgpack.Unmarshal(p, &m); err != nil || len(m) == 0 {
		vp.t.Fatalf("undecodable server message % x: %v", p, err)
	}
	m[0] = toInt(m[0])
	if m[0] != engine.KindSnapshot {
		return m, nil
	}
	if len(m) < 5 || len(m) > 7 {
		vp.t.Fatalf("a v2 snapshot of %d elements, want 5 to 7: %v", len(m), m)
	}
	s := &v2Snap{seq: -1, tick: toInt(m[2])}
	s.changed, _ = m[4].([]any)
	if pair, ok := m[3].([]any); ok && len(pair) == 2 {
		s.offset, s.offset2 = toInt(pair[0]), toInt(pair[1])
	} else {
		s.offset = toInt(m[3])
	}
	if m[1] != nil {
		s.seq = toInt(m[1])
	}
	r := protocol.NewReader(p)
	r.ArrayLen()
	r.Uint()
	r.Skip()
	apply := vp.mirror.ApplyV2
	if vp.v3 {
		apply = vp.mirror.ApplyV3
	}
	if _, err := apply(r.Rest()); err != nil {
		vp.t.Fatalf("snapshot % x does not apply: %v", p, err)
	}
	return m, s
}

// snapshot reads up to the next snapshot; before says whether an input acknowledgement
// [19, seq, tick] came just before it (its seq, or -1).
func (vp *v2Player) snapshot() (s v2Snap, before int) {
	vp.t.Helper()
	before = -1
	for {
		m, snap := vp.next()
		switch {
		case snap != nil:
			return *snap, before
		case m[0] == engine.KindInputAck:
			before = toInt(m[1])
		default:
			before = -1
		}
	}
}

// TestV2SnapshotCarriesTheInputAck: on rallypoint.v2 the input acknowledgement rides inside
// the snapshot, [18, seq, tick, ...], where the snapshot goes uncompressed, and as v1's
// [19, seq, tick] just before it where the shared frame goes compressed (a copy of one's own
// would forgo the compression). It is repeated until a snapshot that carried it is
// acknowledged, then left out (nil). The offset is the tick minus the acknowledged tick.
func TestV2SnapshotCarriesTheInputAck(t *testing.T) {
	tests := []struct {
		name     string
		game     string
		compress bool
		ack      bool // acknowledge snapshots (deltas) or not (full snapshots, large)
	}{
		{"no compression, deltas", "tally", false, true},
		{"compression, small deltas", "banner", true, true},
		{"compression, large full snapshots", "banner", true, false},
		{"no compression, large full snapshots", "banner", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := ws.CompressionDisabled
			if tt.compress {
				mode = ws.CompressionNoContextTakeover
			}
			comp := ws.CompressionOptions{Mode: mode}
			te := startEngine(t, engine.RoomConfig{TickRate: 60, SnapshotRate: 30}, engine.Options{Accept: ws.AcceptOptions{Compression: comp}})
			if err := engine.Register(te.e, "banner", engine.RoomConfig{TickRate: 60, SnapshotRate: 30},
				func() engine.Game[tallyInput] { return &banner{tally{log: te.log}} }); err != nil {
				t.Fatal(err)
			}
			vp := te.v2Join(t, tt.game, &ws.DialOptions{Compression: comp})
			first, _ := vp.snapshot()
			if first.offset != 0 || first.seq != -1 {
				t.Fatalf("first snapshot %+v, want a full one (offset 0) with no seq", first)
			}
			acked := 0
			if tt.ack {
				acked = first.tick
			}
			vp.send(engine.KindInput, 1, tallyInput{Add: 5}, acked)
			// Large compressed snapshots take the acknowledgement apart; the others inline.
			apart := tt.compress && !tt.ack
			var carried v2Snap
			for deadline := time.Now().Add(5 * time.Second); ; {
				s, before := vp.snapshot()
				if s.seq == 1 || before == 1 {
					if apart != (before == 1) || apart != (s.seq == -1) {
						t.Fatalf("snapshot %+v after an input ack of seq %d: want the ack apart %v", s, before, apart)
					}
					carried = s
					break
				}
				if s.seq != -1 || before != -1 || time.Now().After(deadline) {
					t.Fatalf("snapshot %+v (ack before it: %d) while waiting for seq 1", s, before)
				}
			}
			if tt.ack && carried.offset != carried.tick-acked {
				t.Errorf("snapshot of tick %d has offset %d, want %d back to the acknowledged %d", carried.tick, carried.offset, carried.tick-acked, acked)
			}
			if !tt.ack {
				if carried.offset != 0 {
					t.Errorf("nothing acknowledged, yet snapshot %+v is a delta", carried)
				}
				// Unacknowledged, the acknowledgement goes with every snapshot.
				for range 3 {
					if s, before := vp.snapshot(); s.seq != 1 && before != 1 {
						t.Fatalf("snapshot %+v without the input ack, which no acknowledged snapshot carried", s)
					}
				}
				return
			}
			// Acknowledge the snapshot that carried it: the next ones leave it out.
			vp.send(engine.KindAck, carried.tick)
			quiet := 0
			for deadline := time.Now().Add(5 * time.Second); quiet < 3; {
				s, before := vp.snapshot()
				if s.seq == -1 && before == -1 {
					quiet++
				} else if quiet > 0 || time.Now().After(deadline) {
					t.Fatalf("snapshot %+v (ack before it: %d) after the one that carried seq 1 was acknowledged", s, before)
				}
			}
			ents := vp.mirror.Entities()
			if len(ents) != 1 {
				t.Fatalf("mirror holds %v, want the player's entity", ents)
			}
			var v int64
			if err := msgpack.Unmarshal(ents[0].Fields[0], &v); err != nil || v != 5 {
				t.Fatalf("score %d (%v), want 5", v, err)
			}
		})
	}
}

// TestV1AndV2PlayersShareARoom: a v1 and a v2 client in one room each get frames of their
// own wire and see the same world.
func TestV1AndV2PlayersShareARoom(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{TickRate: 60, SnapshotRate: 30}, engine.Options{})
	var clients []*gameclient.Client
	var rooms []string
	for _, proto := range []string{engine.Subprotocol, engine.SubprotocolV2} {
		c, err := gameclient.Dial(ctx5(t), te.url, &ws.DialOptions{Subprotocols: []string{proto}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Conn().CloseNow() })
		if c.Conn().Subprotocol() != proto {
			t.Fatalf("offered %s, got %s", proto, c.Conn().Subprotocol())
		}
		j, err := c.Join(ctx5(t), engine.JoinOptions{Game: "tally"})
		if err != nil {
			t.Fatal(err)
		}
		clients, rooms = append(clients, c), append(rooms, j.Room)
	}
	if rooms[0] != rooms[1] {
		t.Fatalf("the players are in rooms %v, want one", rooms)
	}
	for i, c := range clients {
		for range 3 {
			if _, err := c.SendInput(tallyInput{Add: int64(100 * (i + 1))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Both mirrors reach the state in which each player has its three inputs.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got [2]map[uint32]int64
		for i, c := range clients {
			got[i] = map[uint32]int64{}
			c.State(func(m *state.Mirror, _ uint32) {
				for _, e := range m.Entities() {
					var v int64
					_ = msgpack.Unmarshal(e.Fields[0], &v)
					got[i][uint32(e.ID)] = v
				}
			})
		}
		sum := int64(0)
		for _, v := range got[0] {
			sum += v
		}
		if sum == 900 && reflect.DeepEqual(got[0], got[1]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("v1 mirror %v, v2 mirror %v; want equal, 300 and 600", got[0], got[1])
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, c := range clients {
		if seq, _ := c.InputAck(); seq != 3 {
			t.Errorf("client %d (%s): input ack %d, want 3", i, c.Conn().Subprotocol(), seq)
		}
		if st := c.Stats(); st.BaselineMisses != 0 {
			t.Errorf("client %d: %d baseline misses", i, st.BaselineMisses)
		}
	}
}

// drift is a game whose players' entities move at a steady speed: [x, y] at tick t is
// [37·t, 5000 − 3·t], one field more for each player id so that players differ.
type drift struct{ tally }

type driftPos struct{ id, t int64 }

func (d *driftPos) AppendFields(f *state.Fields) {
	f.Int(37 * d.t)
	f.Int(5000 - 3*d.t + d.id)
}

func (g *drift) Snapshot(r *engine.Room[tallyInput], b *state.Builder) {
	for _, p := range r.Players() {
		b.Add(state.ID(p.ID), 1, &driftPos{int64(p.ID), int64(r.Tick())})
	}
}

// driftEngine starts an engine with the drift game registered in a PredictDeltas room, 60
// ticks and 30 snapshots a second.
func driftEngine(t *testing.T) *testEngine {
	t.Helper()
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	cfg := engine.RoomConfig{TickRate: 60, SnapshotRate: 30, PredictDeltas: true}
	if err := engine.Register(te.e, "drift", cfg, func() engine.Game[tallyInput] { return &drift{tally{log: te.log}} }); err != nil {
		t.Fatal(err)
	}
	return te
}

// TestV2PredictedSnapshots: in a room with PredictDeltas, once a client has acknowledged
// two snapshots its deltas name a second baseline, [offset, offset2], and its mirror,
// which predicts from the two, holds exactly the server's state at every tick; the
// steady movement is sent as residuals of 0, a byte a coordinate. A client that acknowledges nothing more gets
// plain deltas again once its second baseline is 12 snapshots old.
func TestV2PredictedSnapshots(t *testing.T) {
	te := driftEngine(t)
	vp := te.v2Join(t, "drift", nil)
	predicted := 0
	for predicted < 20 {
		s, _ := vp.snapshot()
		var x, y int64
		e, ok := vp.mirror.Entity(1)
		if !ok || e.Decode(0, &x) != nil || e.Decode(1, &y) != nil || x != 37*int64(s.tick) || y != 5000-3*int64(s.tick)+1 {
			t.Fatalf("tick %d: the mirror holds %v, want [%d %d]", s.tick, e.Fields, 37*s.tick, 5000-3*s.tick+1)
		}
		if s.offset2 != 0 {
			predicted++
			// [1, 0b11, x, y]: each a residual of 0, as the movement is exact.
			if len(s.changed) != 4 || toInt(s.changed[2]) != 0 || toInt(s.changed[3]) != 0 {
				t.Fatalf("tick %d: changed %v, want [1 3 0 0]", s.tick, s.changed)
			}
		}
		vp.send(engine.KindAck, s.tick)
	}
	// Unacknowledged from here: the baseline stays, and the second one ages out.
	for {
		s, _ := vp.snapshot()
		if s.offset2 == 0 {
			if back := s.offset + 2; back < 12*2 {
				t.Fatalf("tick %d: plain delta with the second baseline %d ticks back, want 24 or more", s.tick, back)
			}
			break
		}
		if back := s.offset + s.offset2; back > 12*2 {
			t.Fatalf("tick %d: second baseline %d ticks back, more than 12 snapshot intervals", s.tick, back)
		}
	}
}

// TestV3LeavesOutWhatItPredicts: in the same PredictDeltas room, a rallypoint.v3 player's
// predicted snapshots list nothing for an entity that moves steadily, where a v2 player's
// list it with residuals of 0, and each player's mirror holds exactly the server's state at
// every tick. A client that offers v3 first gets it.
func TestV3LeavesOutWhatItPredicts(t *testing.T) {
	te := driftEngine(t)
	v3 := te.v3Join(t, "drift", nil)
	v2 := te.v2Join(t, "drift", nil)
	for _, tt := range []struct {
		name string
		p    *v2Player
		want func(changed []any) bool // a predicted snapshot's changed list
	}{
		{"v3", v3, func(c []any) bool { return len(c) == 0 }},
		{"v2", v2, func(c []any) bool { return len(c) == 8 && toInt(c[2]) == 0 && toInt(c[3]) == 0 }},
	} {
		predicted := 0
		for predicted < 10 {
			s, _ := tt.p.snapshot()
			if _, ok := tt.p.mirror.Entity(2); !ok {
				tt.p.send(engine.KindAck, s.tick) // before the second player's join
				continue
			}
			for id := state.ID(1); id <= 2; id++ {
				var x, y int64
				e, ok := tt.p.mirror.Entity(id)
				if !ok || e.Decode(0, &x) != nil || e.Decode(1, &y) != nil || x != 37*int64(s.tick) || y != 5000-3*int64(s.tick)+int64(id) {
					t.Fatalf("%s: tick %d: the mirror holds %v for %d, want [%d %d]", tt.name, s.tick, e.Fields, id, 37*s.tick, 5000-3*s.tick+int(id))
				}
			}
			if s.offset2 != 0 {
				predicted++
				if !tt.want(s.changed) {
					t.Fatalf("%s: tick %d: changed %v", tt.name, s.tick, s.changed)
				}
			}
			tt.p.send(engine.KindAck, s.tick)
		}
	}
}

// TestV2LastSeqCountsFromTheBaseline: a v2 snapshot's last_seq is the number of inputs
// applied since the seq the client knew at the snapshot's baseline: from a full snapshot
// that carried none, the seq itself; against a snapshot that carried 3, the seq minus 3.
func TestV2LastSeqCountsFromTheBaseline(t *testing.T) {
	comp := ws.CompressionOptions{Mode: ws.CompressionDisabled}
	te := startEngine(t, engine.RoomConfig{TickRate: 60, SnapshotRate: 30}, engine.Options{Accept: ws.AcceptOptions{Compression: comp}})
	vp := te.v2Join(t, "tally", &ws.DialOptions{Compression: comp})
	first, _ := vp.snapshot()
	for seq := 1; seq <= 3; seq++ {
		vp.send(engine.KindInput, seq, tallyInput{Add: 1}, first.tick)
	}
	// awaitSeq reads snapshots until one against baseline carries want.
	awaitSeq := func(baseline, want int) v2Snap {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			s, _ := vp.snapshot()
			if s.tick-s.offset == baseline && s.seq == want {
				return s
			}
			if s.tick-s.offset == baseline && s.seq > want {
				t.Fatalf("snapshot %+v against %d: last_seq above %d", s, s.tick-s.offset, want)
			}
		}
		t.Fatalf("no snapshot against tick %d carried last_seq %d", baseline, want)
		return v2Snap{}
	}
	carried := awaitSeq(first.tick, 3) // known at the full snapshot: 0
	for seq := 4; seq <= 5; seq++ {
		vp.send(engine.KindInput, seq, tallyInput{Add: 1}, carried.tick)
	}
	awaitSeq(carried.tick, 2) // known at its baseline: 3
}

// herald is tally that says so: a "welcome" from Join (before the join answer), and for
// each input "added" to everyone and "yours" to its sender, and "unlisted", whose name the
// schema does not list.
type herald struct{ tally }

func (g *herald) Join(r *engine.Room[tallyInput], p *engine.Player) error {
	_ = r.Send(p, "welcome", nil)
	return g.tally.Join(r, p)
}

func (g *herald) Update(r *engine.Room[tallyInput], inputs []engine.Input[tallyInput]) {
	g.tally.Update(r, inputs)
	for _, in := range inputs {
		_ = r.Broadcast("added", in.Value.Add)
		_ = r.Send(in.Player, "yours", in.Seq)
		_ = r.Broadcast("unlisted", nil)
	}
}

// TestV2EventsTravelAsIndexes: a game whose schema lists its event names sends them to v2
// players as indexes into the list the join answer carries, and to v1 players, and before
// the join answer, as names; a name not listed travels as it is. The Go client gives every
// event its name.
func TestV2EventsTravelAsIndexes(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	schema := &state.Schema{Events: []string{"welcome", "added", "yours"}}
	if err := engine.Register(te.e, "herald", engine.RoomConfig{TickRate: 60, Schema: schema},
		func() engine.Game[tallyInput] { return &herald{tally{log: te.log}} }); err != nil {
		t.Fatal(err)
	}
	// By hand on v2: the raw event messages.
	vp := te.v2Join(t, "herald", nil)
	vp.send(engine.KindInput, 1, tallyInput{Add: 4})
	var names []any
	for len(names) < 3 {
		m, _ := vp.next()
		if m[0] == engine.KindEvent {
			names = append(names, m[1])
		}
	}
	if fmt.Sprint(names) != "[1 2 unlisted]" {
		t.Fatalf("v2 event names %v, want [1 2 unlisted] (added, yours by index)", names)
	}
	// Through the Go client, on each wire: every event by its name.
	for _, proto := range []string{engine.Subprotocol, engine.SubprotocolV2} {
		c, err := gameclient.Dial(ctx5(t), te.url, &ws.DialOptions{Subprotocols: []string{proto}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Conn().CloseNow() })
		if _, err := c.Join(ctx5(t), engine.JoinOptions{Game: "herald"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SendInput(tallyInput{Add: 1}); err != nil {
			t.Fatal(err)
		}
		var got []string
		for len(got) < 4 {
			ev := waitEvent(t, c, engine.KindEvent)
			if ev.Name == "added" && string(ev.Payload) != "\x01" {
				continue // another player's input
			}
			got = append(got, ev.Name)
		}
		if fmt.Sprint(got) != "[welcome added yours unlisted]" {
			t.Errorf("%s: events %v, want [welcome added yours unlisted]", proto, got)
		}
	}
}
