package engine

import (
	"fmt"
	"testing"

	"github.com/rallypoint/rallypoint/state"
)

// TestPlayingRoomKeepsFewSnapshots guards the memory of a room in play (issue 14, item 7:
// "the memory per room"). Its players' baselines stay pinned while they are in flight
// (Player.sent), so the room's ring need keep only its newest few snapshots
// (RoomConfig.SnapshotHistory). With the ring of 64 it used to keep, an 8-player room of
// 64 moving entities held about 290 KiB of snapshots that no one could use. Clients whose
// acknowledgements trail by 10 snapshots (a 330 ms round trip at 30 Hz), far past the
// ring, still get deltas: every acknowledgement finds its baseline.
func TestPlayingRoomKeepsFewSnapshots(t *testing.T) {
	const rooms, players, ticks = 20, 8, 240 // 120 snapshots: past the old ring of 64
	const budget = 96 << 10                  // a 64-entity snapshot is about 4.5 KiB
	for _, lag := range []int{0, 10} {
		t.Run(fmt.Sprintf("acknowledgements %d snapshots behind", lag), func(t *testing.T) {
			rcs := make([]*roomCore, rooms)
			seated := make([][]*Player, rooms)
			for i := range rcs {
				rcs[i], seated[i] = benchRoom(t, players, 0)
			}
			before := liveHeap()
			for range ticks {
				for i, rc := range rcs {
					rc.step(false)
					ackBehind(rc, seated[i], lag)
				}
			}
			per := (liveHeap() - before) / rooms
			t.Logf("%.1f KiB per room after %d snapshots", float64(per)/1024, ticks/2)
			if per > budget {
				t.Errorf("a room of %d players holds %d bytes more after %d snapshots, more than %d", players, per, ticks/2, budget)
			}
			for _, rc := range rcs {
				if lost := rc.e.metrics.BaselinesLost.Load(); lost != 0 {
					t.Errorf("%d acknowledgements found no baseline", lost)
				}
				for _, p := range rc.players {
					if p.base == nil {
						t.Errorf("player %d has no baseline: its next snapshot is a full one", p.ID)
					}
				}
			}
		})
	}
}

// ackBehind has each player acknowledge the snapshot lag snapshots older than the room's
// newest, as a client does whose acknowledgements take that long to arrive.
func ackBehind(rc *roomCore, players []*Player, lag int) {
	latest := rc.ring.Latest()
	if latest == nil {
		return
	}
	tick := latest.Tick() - state.Tick(lag*rc.cfg.snapshotEvery())
	if tick <= 0 || tick > latest.Tick() {
		return
	}
	for _, p := range players {
		p.ackTick.Store(uint32(tick))
	}
}
