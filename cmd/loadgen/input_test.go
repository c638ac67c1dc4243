package main

import (
	"bytes"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/examples/shooter"
	"github.com/rallypoint/rallypoint/protocol"
)

// TestShooterInputEncoding: the bots write exactly what msgpack makes of shooter.Input.
func TestShooterInputEncoding(t *testing.T) {
	for _, in := range []shooter.Input{
		{Keys: shooter.KeyUp | shooter.KeyLeft, Aim: -3141, Fire: shooter.FireBlaster},
		{Keys: 0, Aim: 0, Fire: 0},
		{Keys: shooter.KeyDown, Aim: 3141, Fire: shooter.FireBlaster | shooter.FireRocket},
	} {
		want, err := protocol.Marshal([]any{protocol.KindInput, 300, in})
		if err != nil {
			t.Fatal(err)
		}
		b := protocol.AppendUint(protocol.AppendUint(protocol.AppendArray(nil, 3), protocol.KindInput), 300)
		b = protocol.AppendArray(b, 3)
		b = protocol.AppendUint(b, uint64(in.Keys))
		b = protocol.AppendInt(b, int64(in.Aim))
		b = protocol.AppendUint(b, uint64(in.Fire))
		if !bytes.Equal(b, want) {
			t.Errorf("%+v: % x, want % x", in, b, want)
		}
	}
}

// TestCrosswordInputEncoding: the game decodes the bots' letters and cursor moves.
func TestCrosswordInputEncoding(t *testing.T) {
	b := &bot{r: &runner{}}
	letter := b.beginInput(0)
	letter = protocol.AppendMap(letter, 4)
	letter = protocol.AppendStr(protocol.AppendStr(letter, "kind"), "letter")
	letter = protocol.AppendInt(protocol.AppendStr(letter, "row"), 3)
	letter = protocol.AppendInt(protocol.AppendStr(letter, "col"), 12)
	letter = append(protocol.AppendStr(letter, "letter"), 0xa1, 'Q')
	var msg struct {
		_msgpack struct{} `msgpack:",as_array"`
		Kind     int
		Seq      uint32
		Input    crossword.Input
	}
	if err := msgpack.Unmarshal(letter, &msg); err != nil {
		t.Fatal(err)
	}
	want := crossword.Input{Kind: "letter", Row: 3, Col: 12, Letter: "Q"}
	if msg.Kind != protocol.KindInput || msg.Seq != 1 || msg.Input != want {
		t.Errorf("decoded %+v, want [3, 1, %+v]", msg, want)
	}
}
