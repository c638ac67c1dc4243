package engine_test

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/net/ws"
)

// wire builds a message element by element: each is encoded compactly (engine.Marshal)
// unless it is a raw []byte already.
func wire(t *testing.T, elems ...any) []byte {
	t.Helper()
	if len(elems) > 15 {
		t.Fatal("wire: fixarray only")
	}
	b := []byte{0x90 | byte(len(elems))}
	for _, e := range elems {
		if raw, ok := e.([]byte); ok {
			b = append(b, raw...)
			continue
		}
		enc, err := engine.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, enc...)
	}
	return b
}

// wide encodes v in its declared width (uint64 as 0xcf, int64 as 0xd3), which the
// protocol allows for any integer.
func wide(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := msgpack.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestOutOfRangeNumbersAreMalformedNeverWrapped sends, through a real socket, inputs,
// acknowledgements, views and request ids whose numbers are out of range (negative, above
// 32 bits, above 64 bits, floats): each is answered with [22, 1, ...] and reaches no game,
// never wrapped into a number an honest client could not send (before: -1 and 2^64-1 were
// taken as seq 4294967295 and 2^32 as seq 0, ignored without a word). Integers in range
// are taken in any encoding.
func TestOutOfRangeNumbersAreMalformedNeverWrapped(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{})
	rp := te.rawJoin(t)
	input := tallyInput{Add: 1}
	tests := []struct {
		name    string
		msg     []byte
		wantErr bool   // answered [22, 1, ...]
		applied uint32 // the seq the game gets, 0 for none
	}{
		{"seq in range", wire(t, engine.KindInput, 7, input), false, 7},
		{"seq as int64", wire(t, engine.KindInput, wide(t, int64(8)), input), false, 8},
		{"seq as uint64", wire(t, engine.KindInput, wide(t, uint64(9)), input), false, 9},
		{"seq max uint32", wire(t, engine.KindInput, uint32(math.MaxUint32), input), false, math.MaxUint32},
		{"seq -1", wire(t, engine.KindInput, -1, input), true, 0},
		{"seq -1 as int64", wire(t, engine.KindInput, wide(t, int64(-1)), input), true, 0},
		{"seq 2^32", wire(t, engine.KindInput, uint64(1)<<32, input), true, 0},
		{"seq 2^64-1", wire(t, engine.KindInput, uint64(math.MaxUint64), input), true, 0},
		{"seq float", wire(t, engine.KindInput, 10.0, input), true, 0},
		{"seq string", wire(t, engine.KindInput, "11", input), true, 0},
		{"ack -1", wire(t, engine.KindInput, 12, input, -1), true, 0},
		{"ack 2^32", wire(t, engine.KindInput, 13, input, uint64(1)<<32), true, 0},
		{"ack 2^64-1", wire(t, engine.KindInput, 14, input, uint64(math.MaxUint64)), true, 0},
		{"view from -1", wire(t, engine.KindInput, 15, input, nil, []any{-1, 2, 250}), true, 0},
		{"view from 2^32", wire(t, engine.KindInput, 16, input, nil, []any{uint64(1) << 32, 2, 250}), true, 0},
		{"view blend 2^64-1", wire(t, engine.KindInput, 17, input, nil, []any{5, 2, uint64(math.MaxUint64)}), true, 0},
		{"separate ack -1", wire(t, engine.KindAck, -1), true, 0},
		{"separate ack 2^32", wire(t, engine.KindAck, uint64(1)<<32), true, 0},
		{"request id -1", wire(t, engine.KindRequest, -1, "total", nil), true, 0},
		{"join request id -1", wire(t, engine.KindJoin, -1, map[string]any{"game": "tally"}), true, 0},
		{"kind -3", wire(t, -3, 18, input), true, 0},
		{"kind 2^64-1", wire(t, uint64(math.MaxUint64), 19, input), true, 0},
	}
	var want []uint32
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := rp.c.WriteMessage(ws.MessageBinary, tt.msg); err != nil {
				t.Fatal(err)
			}
			// The pong is answered after everything before it: the errors in between are
			// this message's.
			marker := float64(i + 1000)
			rp.send(engine.KindPing, marker)
			var errs [][]any
			for {
				m := rp.read()
				if m[0] == engine.KindError || (m[0] == engine.KindResponse && toInt(m[2]) != 0) {
					errs = append(errs, m)
				}
				if m[0] == engine.KindPong && m[1] == marker {
					break
				}
			}
			switch {
			case tt.wantErr && (len(errs) != 1 || errs[0][0] != engine.KindError || toInt(errs[0][1]) != int(engine.CodeMalformed)):
				t.Fatalf("% x answered %v, want one [22, 1, ...]", tt.msg, errs)
			case !tt.wantErr && len(errs) != 0:
				t.Fatalf("% x answered %v, want no error", tt.msg, errs)
			}
			if tt.applied != 0 {
				want = append(want, tt.applied)
				waitFor(t, "the input applied", func() bool { return slices.Contains(te.log.inputSeqs(), tt.applied) })
			}
		})
	}
	// One last input behind everything: once it is applied, every earlier one was too, and
	// none but the wanted ones reached the game.
	rp.send(engine.KindInput, 99, input)
	want = append(want, 99)
	waitFor(t, "the last input applied", func() bool { return slices.Contains(te.log.inputSeqs(), 99) })
	if got := te.log.inputSeqs(); !slices.Equal(got, want) {
		t.Fatalf("the game applied seqs %v, want %v", got, want)
	}
}
