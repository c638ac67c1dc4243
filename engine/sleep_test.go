package engine

import (
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/state"
)

// ticker is a game that records the tick of every Update.
type ticker struct {
	Hooks[int]
	mu    sync.Mutex
	ticks []uint32
}

func (g *ticker) Update(r *Room[int], _ []Input[int]) {
	g.mu.Lock()
	g.ticks = append(g.ticks, r.Tick())
	g.mu.Unlock()
}

// Snapshot replicates nothing: the tests watch ticks, not state.
func (g *ticker) Snapshot(*Room[int], *state.Builder) {}

func (g *ticker) seen() []uint32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.ticks)
}

func tickerRoom(t *testing.T, clock Clock, cfg RoomConfig) (*roomCore, *ticker) {
	t.Helper()
	e := New(Options{Clock: clock, Logger: slog.New(slog.DiscardHandler)})
	g := &ticker{}
	if err := Register(e, "ticker", cfg, func() Game[int] { return g }); err != nil {
		t.Fatal(err)
	}
	rc, err := e.createRoom("ticker", CreateOptions{}, creator{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rc.requestStop(EndReason{Code: CodeShutdown})
		<-rc.finished
		e.lobby.stop()
	})
	return rc, g
}

// waitUntil polls cond; the deadline only detects a hang.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (rc *roomCore) seat(t *testing.T) *Player {
	t.Helper()
	reply := make(chan joinResult, 1)
	if !rc.enqueue(command{kind: cmdJoin, conn: socketPair(t, nil), reply: reply}) {
		t.Fatal("the room has ended")
	}
	res := <-reply
	if res.err != nil {
		t.Fatal(res.err)
	}
	return res.player
}

// TestEmptyRoomSleepsAndResumesItsTicks: a room nobody is in runs no tick and holds no
// snapshots or frames, however long it sleeps; when someone joins, its ticks go on from
// where they stopped, with nothing counted late or skipped (issue 11: 600 empty shooter
// rooms burnt 0.38 cores). The fake clock jumps an hour while the room sleeps: a schedule
// that did not resume would report an hour of lateness and skip ahead.
func TestEmptyRoomSleepsAndResumesItsTicks(t *testing.T) {
	clock := &FakeClock{}
	rc, g := tickerRoom(t, clock, RoomConfig{TickRate: 60, SnapshotRate: 30, EmptyTimeout: -1})
	m := rc.e.metrics
	waitUntil(t, "the new empty room sleeps", func() bool { return m.RoomsAsleep.Load() == 1 })
	if ticks := g.seen(); len(ticks) != 0 {
		t.Fatalf("an empty room ran ticks %v", ticks)
	}
	for round := range 3 {
		clock.Advance(time.Hour)
		p := rc.seat(t)
		waitUntil(t, "snapshots are sent", func() bool { return len(g.seen()) > 10 })
		if m.RoomsAsleep.Load() != 0 {
			t.Fatal("a room with a player counts as asleep")
		}
		rc.enqueue(command{kind: cmdLeave, player: p, why: LeftByChoice})
		waitUntil(t, "the room sleeps again", func() bool { return m.RoomsAsleep.Load() == 1 })
		// The room is parked: what it holds can be read without a race.
		if rc.ring.Len() != 0 || rc.frames.Len() != 0 || rc.buf != nil {
			t.Fatalf("round %d: asleep, the room holds %d snapshots, %d frames, a %d-byte buffer",
				round, rc.ring.Len(), rc.frames.Len(), cap(rc.buf))
		}
	}
	ticks := g.seen()
	for i, tick := range ticks {
		if tick != uint32(i+1) {
			t.Fatalf("tick %d followed tick %d: ticks must stay consecutive across sleeps", tick, ticks[i-1])
		}
	}
	if rc.sched.skipped != 0 {
		t.Errorf("%d ticks counted as skipped", rc.sched.skipped)
	}
	for i, l := range rc.stats.Lateness() {
		if l != 0 {
			t.Fatalf("tick %d counted %v late: time asleep is not lateness", i+1, l)
		}
	}
}

func TestEmptyRoomTicksWhenTheGameAsks(t *testing.T) {
	rc, g := tickerRoom(t, NewRealClock(), RoomConfig{TickRate: 100, EmptyTimeout: -1, TickWhenEmpty: true})
	waitUntil(t, "the empty room ticks", func() bool { return len(g.seen()) >= 5 })
	if n := rc.e.metrics.RoomsAsleep.Load(); n != 0 {
		t.Fatalf("RoomsAsleep = %d for a room that ticks when empty", n)
	}
}

// TestSleepingRoomEndsAtItsEmptyTimeout: sleeping does not keep a room alive.
func TestSleepingRoomEndsAtItsEmptyTimeout(t *testing.T) {
	for _, seated := range []bool{false, true} {
		rc, _ := tickerRoom(t, NewRealClock(), RoomConfig{TickRate: 30, EmptyTimeout: 50 * time.Millisecond})
		if seated {
			p := rc.seat(t)
			rc.enqueue(command{kind: cmdLeave, player: p, why: LeftByChoice})
		}
		select {
		case <-rc.finished:
		case <-time.After(10 * time.Second):
			t.Fatalf("seated=%v: a sleeping room outlived its EmptyTimeout", seated)
		}
		if rc.endedWhy.Message != "room empty" {
			t.Fatalf("seated=%v: room ended with %q", seated, rc.endedWhy.Message)
		}
	}
}

// TestRoomWithoutConnectionsBuildsNoSnapshots: a seat held for a dropped player keeps the
// room awake (its grace timer runs), but nobody receives snapshots, so none are built.
func TestRoomWithoutConnectionsBuildsNoSnapshots(t *testing.T) {
	rc, _ := benchRoom(t, 1, 0)
	p := rc.players[0]
	rc.enqueue(command{kind: cmdDrop, player: p, conn: p.conn.Load()})
	rc.step(false)
	n := rc.ring.Len()
	for range 10 {
		rc.step(false)
	}
	if rc.ring.Len() != n {
		t.Fatalf("with nobody connected the ring grew from %d to %d snapshots", n, rc.ring.Len())
	}
}

// TestFrameCacheHoldsOnlyTheCurrentTick: in a room with players on different baselines,
// the frames of past ticks are let go (issue 11: 256 stale frames were pinned per room).
// They are let go at the end of their own tick, when the room releases its prepared
// messages to ws's pools, and within the tick players with the same view and baseline
// still share one.
func TestFrameCacheHoldsOnlyTheCurrentTick(t *testing.T) {
	rc, players := benchRoom(t, 8, 2)
	hits0, misses0 := rc.frames.Stats()
	for i := range 60 {
		rc.step(false)
		for j, p := range players {
			if j%2 == 0 { // half acknowledge, half never do: two baselines a tick
				p.ackTick.Store(rc.tick - uint32(i%2))
			}
		}
	}
	if n := rc.frames.Len(); n != 0 {
		t.Fatalf("the frame cache holds %d frames after its tick; want none", n)
	}
	hits, misses := rc.frames.Stats()
	hits, misses = hits-hits0, misses-misses0
	snapTicks := uint64(60 / rc.cfg.snapshotEvery())
	if misses > 4*snapTicks || hits < 4*snapTicks { // 2 views × 2 baselines, 8 players
		t.Fatalf("over %d snapshot ticks the cache had %d hits and %d misses; want at most 4 misses (2 views × 2 baselines) and the other players' hits in each", snapTicks, hits, misses)
	}
}
