package engine_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/net/ws"
)

// A peer that goes silent (its link died: no data, no pongs, no FIN) is dropped within
// Options.PeerTimeout of the last thing heard from it, and its seat is held for the grace
// period counted from then, not from the silence: it resumes as the same player later than
// Grace after its last word.
func TestSilentPeerIsDroppedWithinPeerTimeoutAndResumesWithinGraceFromThen(t *testing.T) {
	const (
		peerTimeout = 800 * time.Millisecond
		grace       = 2 * time.Second
		tick        = 100 * time.Millisecond // the room notices a grace's end at its next step
	)
	te := startEngine(t, engine.RoomConfig{Grace: grace}, engine.Options{PeerTimeout: peerTimeout})
	rp := te.rawJoin(t)
	lastWord := time.Now() // the join: from here on the player reads and writes nothing
	waitFor(t, "the silent peer dropped", func() bool { return te.log.has("drop") })
	dropAt, _ := te.log.when("drop")
	noticed := dropAt.Sub(lastWord)
	// Half of the timeout without a word, a ping, the other half without a pong. The upper
	// bound leaves room for a busy machine.
	if noticed < peerTimeout/2 || noticed > peerTimeout+time.Second {
		t.Fatalf("a silent peer was dropped %v after its last word; PeerTimeout is %v", noticed, peerTimeout)
	}
	// Past Grace since the last word, within Grace since the drop: the seat is still held.
	time.Sleep(time.Until(lastWord.Add(grace + 100*time.Millisecond)))
	b := te.dial(t)
	_, err := b.Join(ctx5(t), engine.JoinOptions{Token: rp.token})
	if err == nil {
		if !te.log.has("rejoin") || te.log.has("leave:timed out") {
			t.Fatalf("resumed, but hooks: %v", te.log.events)
		}
		return
	}
	// The resume failed. Only a busy machine that ran the test late excuses that: the seat
	// must have been released no sooner than Grace after the drop.
	leftAt, ok := te.log.when("leave:timed out")
	if !ok {
		t.Fatalf("resume %v after the last word, %v after the drop: %v (and no release logged)", time.Since(lastWord), time.Since(dropAt), err)
	}
	if held := leftAt.Sub(dropAt); held < grace-tick {
		t.Fatalf("the seat was released %v after the drop (%v after the last word), before Grace (%v) from the drop", held, leftAt.Sub(lastWord), grace)
	}
	t.Logf("this machine ran the resume late (%v after the drop, past Grace); the release's time was checked instead: %v after the drop", time.Since(dropAt), leftAt.Sub(dropAt))
}

// A live peer that only reads and answers pings (a spectator, a crossword player thinking)
// is never dropped by the peer timeout: pongs are words too.
func TestQuietButLivePeerIsKept(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{}, engine.Options{PeerTimeout: 400 * time.Millisecond})
	rp := te.rawJoin(t)
	var reads atomic.Int64
	done := make(chan error, 1)
	go func() {
		for {
			if _, _, err := rp.c.ReadMessage(); err != nil { // answers the server's pings
				done <- err
				return
			}
			reads.Add(1)
		}
	}()
	select {
	case err := <-done:
		t.Fatalf("a reading peer was closed: %v", err)
	case <-time.After(1500 * time.Millisecond): // almost four peer timeouts
	}
	if te.log.has("drop") || reads.Load() == 0 {
		t.Fatalf("dropped %v, %d messages read", te.log.has("drop"), reads.Load())
	}
}

// A backlog released at once after a stall (five seconds of a 60 Hz client's inputs, each
// acknowledging a snapshot, and its pings) does not get an honest player closed: the
// message rate limit judges the sustained rate, and inputs beyond what one tick takes are
// dropped, not the player. Before, 240 messages in a burst closed it with 1008.
func TestBacklogAfterAStallDoesNotCloseThePlayer(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{TickRate: 30}, engine.Options{})
	rp := te.rawJoin(t)
	tick, _ := rp.snapshot()
	const inputs = 300
	for seq := 1; seq <= inputs; seq++ {
		rp.send(engine.KindInput, seq, tallyInput{Add: 1}, tick)
		if seq%120 == 0 {
			rp.send(engine.KindPing, float64(seq))
		}
	}
	rp.send(engine.KindPing, -1.0) // answered after everything before it
	for {
		m := rp.read() // fails the test if the connection was closed
		if m[0] == engine.KindPong && m[1] == -1.0 {
			break
		}
	}
	waitFor(t, "the backlog applied or dropped", func() bool {
		return int64(len(te.log.inputSeqs()))+te.e.Metrics().InputsDropped.Load() == inputs
	})
	if n := len(te.log.inputSeqs()); n < 30 {
		t.Fatalf("%d of %d inputs applied: at least a tick's bound (30) should be", n, inputs)
	}
	// Still seated, still heard.
	rp.send(engine.KindInput, inputs+1, tallyInput{Add: 1})
	waitFor(t, "the next input applied", func() bool {
		s := te.log.inputSeqs()
		return len(s) > 0 && s[len(s)-1] == inputs+1
	})
	if te.log.has("drop") || te.log.has("leave:left") {
		t.Fatalf("hooks: %v", te.log.events)
	}
	_ = rp.c.Close(ws.StatusNormalClosure, "")
}
