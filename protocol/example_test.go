package protocol_test

import (
	"fmt"

	"github.com/rallypoint/rallypoint/protocol"
)

// A bot reads the server's join answer, [17, req, room, player, token, tick, tick_rate,
// snapshot_rate, code], with a Reader it keeps for every message, and checks the error once.
func ExampleReader() {
	msg, _ := protocol.Marshal([]any{protocol.KindJoined, 1, "r-42", 7, "tok", 1200, 60, 30, ""})

	var r protocol.Reader
	r.Reset(msg)
	n := r.ArrayLen()
	kind := r.Uint()
	r.Uint() // req
	room, player, token := r.Str(), r.Uint(), r.Str()
	for range n - 5 {
		r.Skip() // tick, rates, code
	}
	if err := r.Err(); err != nil || kind != protocol.KindJoined {
		fmt.Println("malformed:", err)
		return
	}
	fmt.Printf("room %s, player %d, token %s\n", room, player, token)
	// Output: room r-42, player 7, token tok
}

// A sender on a hot path appends a message to a buffer it reuses: here [3, seq, input, ack]
// with the input [keys, aim, fire].
func ExampleAppendArray() {
	var buf []byte
	buf = protocol.AppendArray(buf[:0], 4)
	buf = protocol.AppendUint(buf, protocol.KindInput)
	buf = protocol.AppendUint(buf, 300) // seq
	buf = protocol.AppendArray(buf, 3)
	buf = protocol.AppendUint(buf, 5)
	buf = protocol.AppendInt(buf, -3141)
	buf = protocol.AppendUint(buf, 1)
	buf = protocol.AppendUint(buf, 1200) // the tick acknowledged
	fmt.Printf("% x\n", buf)
	// Output: 94 03 cd 01 2c 93 05 d1 f3 bb 01 cd 04 b0
}
