package engine

import (
	"bytes"
	"math"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestDecodeTickTakesUnsignedIntegersOfAnyWidthOrNil(t *testing.T) {
	wide := func(v any) []byte { // the widest encodings, which the protocol allows
		var buf bytes.Buffer
		if err := msgpack.NewEncoder(&buf).Encode(v); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	compact := func(v any) []byte {
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want uint32
		ok   bool
	}{
		{"fixint", compact(30), 30, true},
		{"uint16", compact(40000), 40000, true},
		{"max uint32", compact(uint32(math.MaxUint32)), math.MaxUint32, true},
		{"uint64 encoding", wide(uint64(30)), 30, true},
		{"int64 encoding", wide(int64(30)), 30, true},
		{"nil is none", compact(nil), 0, true},
		{"negative", compact(-1), 0, false},
		{"above 32 bits", compact(uint64(1) << 32), 0, false},
		{"above int64", wide(uint64(math.MaxUint64)), 0, false},
		{"float", compact(30.0), 0, false},
		{"string", compact("30"), 0, false},
		{"array", compact([]int{30}), 0, false},
		{"bool", compact(true), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeTick(msgpack.NewDecoder(bytes.NewReader(tt.in)))
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("% x: decodeTick = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

// TestInputAckLeavesTheInputToTheRoom checks peekInputAck's rewind: the room decodes the
// same input whether or not an acknowledgement follows it.
func TestInputAckLeavesTheInputToTheRoom(t *testing.T) {
	rc, players := benchRoom(t, 1, 0)
	p := players[0]
	s := &session{e: rc.e, c: p.conn.Load(), player: p}
	rc.publicTick.Store(100)
	for _, msg := range [][]any{
		{KindInput, 1, arenaInput{DX: 1, DY: -1}},
		{KindInput, 2, arenaInput{DX: -1, DY: 1}, 40},
		{KindInput, 3, arenaInput{DX: 1, DY: 1}, nil},
	} {
		b, err := Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		s.handle(b)
	}
	r := rc.sim.(*Room[arenaInput])
	want := []Input[arenaInput]{
		{Player: p, Seq: 1, Value: arenaInput{DX: 1, DY: -1}},
		{Player: p, Seq: 2, Value: arenaInput{DX: -1, DY: 1}},
		{Player: p, Seq: 3, Value: arenaInput{DX: 1, DY: 1}},
	}
	if len(r.pending) != len(want) {
		t.Fatalf("%d inputs queued, want %d", len(r.pending), len(want))
	}
	for i := range want {
		if r.pending[i] != want[i] {
			t.Errorf("input %d queued as %+v, want %+v", i, r.pending[i], want[i])
		}
	}
	if got := p.ackTick.Load(); got != 40 {
		t.Fatalf("acknowledged tick %d, want 40", got)
	}
}

// benchSession feeds one player's session the messages msg(0..63) makes, round and round,
// a tick taking the inputs every 8 messages when tick is set.
func benchSession(b *testing.B, tick bool, msg func(i int) []any) {
	rc, players := benchRoom(b, 1, 0)
	s := &session{e: rc.e, c: players[0].conn.Load(), player: players[0]}
	rc.publicTick.Store(1 << 20)
	msgs := make([][]byte, 64)
	for i := range msgs {
		msgs[i], _ = Marshal(msg(i))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.handle(msgs[i%len(msgs)])
		if tick && i%8 == 7 { // a tick takes the batch
			rc.sim.update()
		}
	}
}

// BenchmarkSessionInputWithAck is BenchmarkSessionInput for a client that acknowledges
// snapshots on its inputs, [3, seq, input, ack_tick]. It must not allocate either.
func BenchmarkSessionInputWithAck(b *testing.B) {
	benchSession(b, true, func(i int) []any { return []any{KindInput, 1, arenaInput{DX: 1, DY: -1}, 1000 + i} })
}

// BenchmarkSessionInputWithView is the input path of a browser shooter client: each input
// acknowledges a snapshot and says what the client drew, [3, seq, input, ack_tick, view].
// It must not allocate either.
func BenchmarkSessionInputWithView(b *testing.B) {
	benchSession(b, true, func(i int) []any {
		return []any{KindInput, 1, arenaInput{DX: 1, DY: -1}, 1000 + i, []int{990 + i, 2, 17 * i}}
	})
}

// BenchmarkSessionAck is the decoding side of a separate [4, tick], for comparison with
// BenchmarkSessionInputWithAck: what the acknowledgement costs beyond the wake-up and read
// its own message takes.
func BenchmarkSessionAck(b *testing.B) {
	benchSession(b, false, func(i int) []any { return []any{KindAck, 1000 + i} })
}
