package engine

import (
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/state"
)

// TestAckWindowGivesASlowClientFewerSnapshots drives a room by hand (60 Hz, snapshots at
// 30 Hz, AckWindow 1 s = 60 ticks) with a player who acknowledges every snapshot at once
// and one who falls behind: the second gets a second's worth of snapshots, then one a
// second, and the full rate again as soon as it acknowledges, or asks for a full snapshot
// with [4, 0]. The first is never held back.
func TestAckWindowGivesASlowClientFewerSnapshots(t *testing.T) {
	rc, players := benchRoom(t, 2, 0)
	fast, slow := players[0], players[1]
	run := func(ticks int, ackSlow bool) (fastN, slowN int) {
		f0, s0 := fast.sentN, slow.sentN
		for range ticks {
			rc.step(false)
			if latest := rc.ring.Latest(); latest != nil {
				fast.ackTick.Store(uint32(latest.Tick()))
				if ackSlow {
					slow.ackTick.Store(uint32(latest.Tick()))
				}
			}
		}
		return fast.sentN - f0, slow.sentN - s0
	}
	lastSent := func(p *Player) state.Tick { return p.sent[(p.sentN-1)%len(p.sent)].snap.Tick() }

	// The slow player acknowledges nothing for 10 s: 30 snapshots in its first second,
	// then one a second.
	held0 := rc.e.metrics.SnapshotsHeld.Load()
	f, s := run(600, false)
	if f != 300 {
		t.Fatalf("fast player: %d snapshots in 10 s, want 300", f)
	}
	if s < 38 || s > 40 {
		t.Fatalf("slow player: %d snapshots in 10 s without an acknowledgement, want 30 and then 1 a second", s)
	}
	if held := rc.e.metrics.SnapshotsHeld.Load() - held0; held != int64(300-s) {
		t.Fatalf("SnapshotsHeld counted %d, want %d", held, 300-s)
	}

	// It acknowledges the latest snapshot it got: the full rate again at once.
	slow.ackTick.Store(uint32(lastSent(slow)))
	if _, s := run(30, false); s != 15 {
		t.Fatalf("after an acknowledgement: %d snapshots in half a second, want 15", s)
	}

	// An acknowledgement of an older snapshot than the latest is progress too: what was sent
	// after it stays in flight, so the window closes a second after that one was sent.
	_, _ = run(120, false)
	old := slow.sent[(slow.sentN-10)%len(slow.sent)].snap.Tick()
	slow.ackTick.Store(uint32(old))
	if _, s := run(2, false); s != 0 {
		t.Fatalf("after acknowledging a snapshot sent a second and more ago: %d snapshots, want none yet", s)
	}

	// [4, 0] (a client that lost its state asks for a full snapshot): it is sent at once.
	slow.ackTick.Store(0)
	rc.step(false)
	rc.step(false)
	if b := slow.base; b != nil {
		t.Fatalf("after [4, 0]: baseline %d, want a full snapshot", b.Tick())
	}
	if got := lastSent(slow); got != state.Tick(rc.tick) && got != state.Tick(rc.tick-1) {
		t.Fatalf("after [4, 0]: latest snapshot sent is of tick %d, room at %d", got, rc.tick)
	}

	// Acknowledging everything, both players get every snapshot.
	if f, s := run(600, true); f != 300 || s != 300 {
		t.Fatalf("both acknowledging: %d and %d snapshots in 10 s, want 300 each", f, s)
	}
}

// TestAckWindowInTicks: AckWindow is counted in ticks, rounded up; negative turns it off,
// and a room without it sends every snapshot, acknowledged or not.
func TestAckWindowInTicks(t *testing.T) {
	for _, tc := range []struct {
		window string
		cfg    RoomConfig
		want   state.Tick
	}{
		{"default", RoomConfig{TickRate: 60}, 60},
		{"half a second at 30 Hz", RoomConfig{TickRate: 30, AckWindow: 500 * time.Millisecond}, 15},
		{"rounded up", RoomConfig{TickRate: 10, AckWindow: 150 * time.Millisecond}, 2},
		{"off", RoomConfig{TickRate: 60, AckWindow: -1}, 0},
	} {
		cfg, err := tc.cfg.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.ackWindow(); got != tc.want {
			t.Errorf("%s: window %d ticks, want %d", tc.window, got, tc.want)
		}
	}
	rc, players := benchRoom(t, 1, 0)
	rc.cfg.AckWindow = -1
	for range 600 {
		rc.step(false)
	}
	if n := players[0].sentN; n != 300 {
		t.Fatalf("AckWindow off: %d snapshots in 10 s without an acknowledgement, want 300", n)
	}
}
