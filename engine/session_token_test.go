package engine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/net/ws"
)

// rawDial opens a connection that speaks the protocol by hand and has not joined.
func (te *testEngine) rawDial(t *testing.T) *rawPlayer {
	t.Helper()
	c, _, err := ws.Dial(ctx5(t), te.url, &ws.DialOptions{Subprotocols: []string{engine.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &rawPlayer{t: t, c: c}
}

// joinAnswer sends a join and returns the 0x11 or the refusal's code.
func (rp *rawPlayer) joinAnswer(opts engine.JoinOptions) (joined []any, code engine.Code) {
	rp.t.Helper()
	rp.send(engine.KindJoin, 1, opts)
	for {
		switch m := rp.read(); m[0] {
		case engine.KindJoined:
			return m, engine.CodeOK
		case engine.KindResponse:
			return nil, engine.Code(toInt(m[2]))
		}
	}
}

// ackUntilDelta acknowledges the next snapshot and reads on until a snapshot is a delta
// against it: the room has then taken the acknowledgement.
func (rp *rawPlayer) ackUntilDelta() {
	rp.t.Helper()
	tick, _ := rp.snapshot()
	rp.send(engine.KindAck, tick)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, base := rp.snapshot(); base == tick {
			return
		}
		if time.Now().After(deadline) {
			rp.t.Fatalf("no delta against the acknowledged tick %d", tick)
		}
	}
}

// TestResumeTokenRotates checks, through real sockets, that every resume answers with a new
// token and that the one used dies once the client shows it has the new one (it
// acknowledged a snapshot of the resumed connection): a token seen once cannot take the
// seat over later. Until then the used token still works, so that a client whose link
// dropped again before the answer arrived keeps its seat.
func TestResumeTokenRotates(t *testing.T) {
	type step struct {
		use  int  // which token to resume with: 0 is the join's, i the one the i-th resume got
		ack  bool // acknowledge a snapshot on the resumed connection before dropping it
		want engine.Code
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"the used token dies once the new one is confirmed", []step{
			{use: 0, ack: true, want: engine.CodeOK},
			{use: 0, want: engine.CodeNotFound},
			{use: 1, ack: true, want: engine.CodeOK},
			{use: 1, want: engine.CodeNotFound},
			{use: 0, want: engine.CodeNotFound},
			{use: 2, want: engine.CodeOK},
		}},
		{"the used token is honoured until the answer is confirmed", []step{
			{use: 0, want: engine.CodeOK},             // the answer (token 1) is "lost"
			{use: 0, ack: true, want: engine.CodeOK},  // so the client resumes with token 0 again
			{use: 1, want: engine.CodeNotFound},       // token 1 died with that resume
			{use: 0, want: engine.CodeNotFound},       // and token 0 once token 2 was confirmed
			{use: 2, ack: true, want: engine.CodeOK},  // the client's current token works
			{use: 3, ack: false, want: engine.CodeOK}, // and so on
		}},
		{"an unconfirmed token dies when an older one is used", []step{
			{use: 0, want: engine.CodeOK},
			{use: 0, want: engine.CodeOK},
			{use: 1, want: engine.CodeNotFound},
			{use: 2, want: engine.CodeOK},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := startEngine(t, engine.RoomConfig{Grace: 10 * time.Second}, engine.Options{})
			first := te.rawDial(t)
			m, code := first.joinAnswer(engine.JoinOptions{Game: "tally"})
			if code != engine.CodeOK {
				t.Fatalf("join: code %d", code)
			}
			player := toInt(m[3])
			tokens := []string{m[4].(string)}
			held := first // the connection holding the seat
			for i, s := range tt.steps {
				held.c.CloseNow() // the link drops; the seat is held
				rp := te.rawDial(t)
				m, code := rp.joinAnswer(engine.JoinOptions{Token: tokens[s.use]})
				if code != s.want {
					t.Fatalf("step %d: resume with token %d answered code %d, want %d", i, s.use, code, s.want)
				}
				if code != engine.CodeOK {
					continue
				}
				tok, _ := m[4].(string)
				if toInt(m[3]) != player || tok == "" || slices.Contains(tokens, tok) {
					t.Fatalf("step %d: resumed as player %v with token %q; want player %d and a new token (had %q)", i, m[3], tok, player, tokens)
				}
				tokens = append(tokens, tok)
				held = rp
				if s.ack {
					rp.ackUntilDelta()
				}
			}
		})
	}
}
