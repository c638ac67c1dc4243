package engine_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/net/ws"
)

// TestReadAtTickPlaysAsReadingOnArrival runs a player's life through rooms that read their
// players at the tick (RoomConfig.ReadAtTick), over real sockets: inputs applied and
// acknowledged, a request and a ping answered from inside the room, leaving and joining
// another room on the same connection (the join is read on the connection's goroutine
// again), and a resume after a dropped connection. With reading on arrival it plays the
// same, which the subtests show side by side.
func TestReadAtTickPlaysAsReadingOnArrival(t *testing.T) {
	for _, readAtTick := range []bool{true, false} {
		name := map[bool]string{true: "read at tick", false: "read on arrival"}[readAtTick]
		t.Run(name, func(t *testing.T) {
			m := new(ws.Metrics)
			te := startEngine(t, engine.RoomConfig{TickRate: 60, SnapshotRate: 30, Grace: 5 * time.Second, ReadAtTick: readAtTick},
				engine.Options{Accept: ws.AcceptOptions{Metrics: m}})
			a, b := te.dial(t), te.dial(t)
			ja, err := a.Join(ctx5(t), engine.JoinOptions{Game: "tally", Create: true})
			if err != nil {
				t.Fatal(err)
			}
			jb, err := b.Join(ctx5(t), engine.JoinOptions{Room: ja.Room})
			if err != nil {
				t.Fatal(err)
			}
			var last uint32
			for range 20 {
				if last, err = a.SendInput(tallyInput{Add: 2}); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "a's 20 inputs, seen by b and acknowledged to a", func() bool {
				v, _ := scoreOf(b, ja.Player)
				seq, _ := a.InputAck()
				return v == 40 && seq == last
			})
			var total int64
			if err := a.Request(ctx5(t), "total", nil, &total); err != nil || total != 40 {
				t.Fatalf("request total: %d, %v", total, err)
			}
			if _, err := a.Ping(ctx5(t)); err != nil {
				t.Fatal(err)
			}

			// Leave, then join a new room on the same connection.
			if err := a.Leave(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "a's leave", func() bool { return te.log.has("leave:left") })
			j2, err := a.Join(ctx5(t), engine.JoinOptions{Game: "tally", Create: true})
			if err != nil {
				t.Fatalf("join after leaving: %v", err)
			}
			if j2.Room == ja.Room {
				t.Fatalf("created room %s is the room a left", j2.Room)
			}
			if last, err = a.SendInput(tallyInput{Add: 5}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "a's input in its new room", func() bool {
				v, _ := scoreOf(a, j2.Player)
				seq, _ := a.InputAck()
				return v == 5 && seq == last
			})

			// Drop b's connection and resume its seat on a new one.
			_ = b.Conn().CloseNow()
			waitFor(t, "b's drop", func() bool { return te.log.has("drop") })
			c := te.dial(t)
			jc, err := c.Join(ctx5(t), engine.JoinOptions{Token: jb.Token})
			if err != nil || jc.Player != jb.Player {
				t.Fatalf("resume: %+v, %v; want player %d", jc, err, jb.Player)
			}
			if last, err = c.SendInput(tallyInput{Add: 1}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the resumed player's input", func() bool {
				v, _ := scoreOf(c, jb.Player)
				seq, _ := c.InputAck()
				return v == 1 && seq == last
			})
			// The inputs, acknowledgements, pings and requests were read by the rooms when
			// they read at the tick (on Linux: elsewhere net/ws has no poller); never otherwise.
			pulls := readAtTick && runtime.GOOS == "linux"
			if pulled := m.PulledMessages.Load(); (pulled >= 22) != pulls || (pulled == 0) == pulls {
				t.Fatalf("%d messages pulled by the rooms", pulled)
			}
		})
	}
}

// TestReadAtTickHostilePlayerHurtsOnlyItself: in a room that reads its players at the tick, a
// player that floods inputs as fast as its socket takes them, or sends half a frame and
// stops, costs the room no more than it would reading on arrival: the honest player in the
// same room has every input applied and acknowledged, and keeps getting snapshots.
func TestReadAtTickHostilePlayerHurtsOnlyItself(t *testing.T) {
	for _, attack := range []string{"flood", "half a frame"} {
		t.Run(attack, func(t *testing.T) {
			te := startEngine(t, engine.RoomConfig{TickRate: 60, SnapshotRate: 30, ReadAtTick: true}, engine.Options{})
			honest, hostile := te.dial(t), te.dial(t)
			jh, err := honest.Join(ctx5(t), engine.JoinOptions{Game: "tally", Create: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := hostile.Join(ctx5(t), engine.JoinOptions{Room: jh.Room}); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				switch attack {
				case "flood":
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := hostile.SendInput(tallyInput{Add: 1}); err != nil {
							return // closed for its flood: fine
						}
					}
				case "half a frame":
					// A masked binary frame announcing 100 bytes, of which 10 come.
					_, _ = hostile.Conn().NetConn().Write(append([]byte{0x82, 0x80 | 100, 1, 2, 3, 4}, make([]byte, 10)...))
				}
			}()
			_, tick0 := honest.InputAck()
			var last uint32
			for range 30 {
				if last, err = honest.SendInput(tallyInput{Add: 1}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Second / 60)
			}
			waitFor(t, "the honest player's 30 inputs applied and acknowledged", func() bool {
				v, _ := scoreOf(honest, jh.Player)
				seq, _ := honest.InputAck()
				return v == 30 && seq == last
			})
			_, tick1 := honest.InputAck()
			if tick1 <= tick0 {
				t.Fatalf("no newer snapshot acknowledged (%d, then %d)", tick0, tick1)
			}
			if attack == "flood" {
				// The attack was real: it met the bound on queued inputs or the rate limit.
				waitFor(t, "the flood met the limits", func() bool {
					select {
					case <-hostile.Done():
						return true
					default:
						return te.e.Metrics().InputsDropped.Load() > 0
					}
				})
			}
			close(stop)
			<-done
		})
	}
}
