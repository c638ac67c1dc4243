package engine

import (
	"bytes"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/state"
)

type pos struct {
	x, y float32
	hp   int64
}

func (p *pos) AppendFields(f *state.Fields) { f.Float32(p.x); f.Float32(p.y); f.Int(p.hp) }

type unit struct {
	x  float32
	hp int64
}

func (u unit) AppendFields(f *state.Fields) { f.Float32(u.x); f.Int(u.hp) }

// withLastSeq returns a player's own copy of the shared v2 snapshot msg, with last_seq seq.
func withLastSeq(msg []byte, seq uint32) []byte {
	return append(appendV2SnapshotHead(nil, msg[0], seq), msg[v2SnapshotHead:]...)
}

type clock uint64

func (c clock) AppendFields(f *state.Fields) { f.Uint(uint64(c)) }

// protocolExamples encodes each example of PROTOCOL.md the way the engine and the Go client
// encode it.
func protocolExamples(t *testing.T) map[string][]byte {
	marshal := func(v ...any) []byte {
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	r := state.NewRing(8)
	b := r.Builder()
	b.Begin(30)
	b.Add(1, 1, &pos{1, 2, 100})
	b.Add(2, 1, &pos{5, 5, 100})
	s30 := b.Finish()
	r.Push(s30)
	b = r.Builder()
	b.Begin(32)
	b.Add(1, 1, &pos{1.5, 2, 100})
	b.Add(3, 2, &pos{0, 0, 1})
	s32 := b.Finish()
	// The schema of PROTOCOL.md's "Schema" example, and a snapshot with the room state.
	schema := &state.Schema{
		Room:  []state.Field{{Name: "clock", Type: state.Uint}},
		Kinds: []state.KindSpec{{Kind: 1, Name: "unit", Fields: []state.Field{{Name: "x", Type: state.Float}, {Name: "hp", Type: state.Int}}}},
	}
	b = state.NewRing(2).Builder()
	b.CheckSchema(schema)
	b.Begin(5)
	b.Room(clock(90))
	b.Add(1, 1, unit{1.5, 100})
	if m := b.Mismatches(); len(m) != 0 {
		t.Fatalf("the example does not fit its schema: %v", m)
	}
	room5 := b.Finish()
	// An integer field that goes from 100 to 103: on v2, a difference. From 97 at tick 28
	// it was predicted to be at 103 at tick 32, so 104 is 1 from the prediction.
	r = state.NewRing(4)
	b = r.Builder()
	b.Begin(28)
	b.Add(1, 1, clock(97))
	i28 := b.Finish()
	r.Push(i28)
	b = r.Builder()
	b.Begin(30)
	b.Add(1, 1, clock(100))
	i30 := b.Finish()
	r.Push(i30)
	b = r.Builder()
	b.Begin(32)
	b.Add(1, 1, clock(103))
	i32 := b.Finish()
	r.Push(i32)
	b = r.Builder()
	b.Begin(32)
	b.Add(1, 1, clock(104))
	p32 := b.Finish()
	return map[string][]byte{
		"snapshot-v2-delta":     appendV2Snapshot(nil, nil, s30, nil, s32, false),
		"snapshot-v2-intdiff":   withLastSeq(appendV2Snapshot(nil, nil, i30, nil, i32, false), 7),
		"snapshot-v2-predicted": withLastSeq(appendV2Snapshot(nil, i28, i30, nil, p32, false), 7),
		"snapshot-v3-steady":    appendV2Snapshot(nil, i28, i30, nil, i32, true),
		"joined-schema": marshal(KindJoined, uint64(1), "R", uint64(1), "T", uint64(0), uint64(60), uint64(30), "",
			msgpack.RawMessage(schema.AppendMsgpack(nil))),
		"snapshot-room":  state.AppendDelta([]byte{0x92, KindSnapshot}, nil, room5, nil),
		"join":           marshal(KindJoin, 1, JoinOptions{Game: "tally"}),
		"join-resume":    marshal(KindJoin, 2, JoinOptions{Token: "abc"}),
		"leave":          marshal(KindLeave),
		"input":          marshal(KindInput, 7, map[string]int{"add": 3}),
		"ack":            marshal(KindAck, 30),
		"input-ack":      marshal(KindInput, 8, map[string]int{"add": 3}, 30),
		"input-view":     marshal(KindInput, 9, map[string]int{"add": 3}, nil, []int{100, 2, 500}),
		"request":        marshal(KindRequest, 3, "total", nil),
		"ping":           marshal(KindPing, 1500.25),
		"joined":         marshal(KindJoined, uint64(1), "R", uint64(1), "T", uint64(0), uint64(60), uint64(30), ""),
		"joined-private": marshal(KindJoined, uint64(1), "R", uint64(1), "T", uint64(0), uint64(60), uint64(30), "K7QX2M"),
		"join-code":      marshal(KindJoin, 2, JoinOptions{Code: "k7qx2m"}),
		"join-reserved":  marshal(KindJoin, 3, JoinOptions{Reservation: "abc"}),
		"match":          marshal(KindMatch, 4, MatchOptions{Game: "duel", Numbers: map[string]float64{"rating": 1500}}),
		"cancel":         marshal(KindCancel, 5, "t1"),
		"lobby":          marshal(KindLobby, 6, "duel"),
		"matched":        marshal(KindMatched, "t1", "R", "abc", uint64(15000)),
		"room":           marshal(KindRoom, uint64(0), roomJSON{ID: "R", Game: "duel", Players: 1, MaxPlayers: 2}),
		"snapshot-full":  state.AppendDelta([]byte{0x92, KindSnapshot}, nil, s30, nil),
		"snapshot-delta": state.AppendDelta([]byte{0x92, KindSnapshot}, s30, s32, nil),
		"inputack":       appendInputAck(nil, 7, 30),
		"event":          marshal(KindEvent, "solved", "CAT"),
		"response":       marshal(KindResponse, uint64(3), uint64(CodeOK), 30),
		"error":          marshal(KindError, uint64(CodeMalformed), "bad"),
		"pong":           marshal(KindPong, 1500.25, 1700000000000.5, uint64(30)),
		"left":           marshal(KindLeft, uint64(CodeRoomEnded), "room empty"),
	}
}

// TestProtocolDocExamplesMatchTheEncoder keeps PROTOCOL.md true: every byte example in it
// must be what the code sends, and every example the code defines must be in it.
func TestProtocolDocExamplesMatchTheEncoder(t *testing.T) {
	doc, err := os.ReadFile("../PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- example ([a-z0-9-]+) -->\\s*```\\s*\\n(.*?)```")
	found := map[string][]byte{}
	for _, m := range re.FindAllSubmatch(doc, -1) {
		b, err := hex.DecodeString(strings.Join(strings.Fields(string(m[2])), ""))
		if err != nil {
			t.Fatalf("example %s: %v", m[1], err)
		}
		found[string(m[1])] = b
	}
	want := protocolExamples(t)
	for name, b := range want {
		got, ok := found[name]
		if !ok {
			t.Errorf("PROTOCOL.md lacks example %q: % x", name, b)
			continue
		}
		if !bytes.Equal(got, b) {
			t.Errorf("PROTOCOL.md example %q is\n% x\nthe encoder says\n% x", name, got, b)
		}
	}
	for name := range found {
		if _, ok := want[name]; !ok {
			t.Errorf("PROTOCOL.md example %q is not checked", name)
		}
	}
}
