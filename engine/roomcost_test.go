package engine_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/examples/shooter"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// liveBytes is the heap in use plus goroutine stacks after a full collection: what the
// process holds, not what it allocated on the way.
func liveBytes() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse)
}

// drainedConn returns the server side of a Unix socket pair whose client side is read and
// discarded with a small buffer: a player's connection without a client's work or memory.
func drainedConn(tb testing.TB, m *ws.Metrics) *ws.Conn {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		tb.Fatal(err)
	}
	mk := func(fd int) net.Conn {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	srv, cli := mk(fds[0]), mk(fds[1])
	go func() {
		var buf [512]byte
		for {
			if _, err := cli.Read(buf[:]); err != nil {
				return
			}
		}
	}()
	tb.Cleanup(func() { srv.Close(); cli.Close() })
	return ws.NewConn(srv, true, engine.Subprotocol, ws.Limits{PingInterval: -1, IdleTimeout: -1}, m)
}

// costEngine is an engine with the shooter (three bots fill an empty room, as served) and
// an idle game that replicates nothing, on the real clock.
func costEngine(tb testing.TB) *engine.Engine {
	e := engine.New(engine.Options{Logger: slog.New(slog.DiscardHandler), MaxRooms: 100000})
	if err := shooter.Register(e); err != nil {
		tb.Fatal(err)
	}
	if err := engine.Register(e, "idle", engine.RoomConfig{}, func() engine.Game[int] { return &idleGame{} }); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	return e
}

type idleGame struct{ engine.Hooks[int] }

func (*idleGame) Update(*engine.Room[int], []engine.Input[int]) {}
func (*idleGame) Snapshot(*engine.Room[int], *state.Builder)    {}

// roomCost creates n rooms of game with players seated in each (on drained socket pairs
// made before the first reading, so that a connection's own buffers are not counted),
// lets them run for settle, and returns the memory each costs.
func roomCost(tb testing.TB, e *engine.Engine, game string, n, players int, settle time.Duration) int64 {
	wm := new(ws.Metrics)
	conns := make([]*ws.Conn, n*players)
	for i := range conns {
		conns[i] = drainedConn(tb, wm)
	}
	time.Sleep(50 * time.Millisecond) // the drains have started
	before := liveBytes()
	// Seated room by room in parallel: a join waits for the room's next tick.
	var wg sync.WaitGroup
	errs := make(chan error, n*players)
	for i := range n {
		info, err := e.CreateRoom(game, engine.CreateOptions{})
		if err != nil {
			tb.Fatal(err)
		}
		wg.Go(func() {
			for j := range players {
				if err := engine.SeatForTest(e, info.ID, conns[i*players+j]); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	time.Sleep(settle)
	after := liveBytes()
	if path := os.Getenv("RP_ROOM_HEAPPROFILE"); path != "" {
		// The rooms are still alive here, unlike at the end of the benchmark (-memprofile).
		f, err := os.Create(path)
		if err != nil {
			tb.Fatal(err)
		}
		_ = pprof.WriteHeapProfile(f)
		f.Close()
	}
	runtime.KeepAlive(conns)
	return (after - before) / int64(n)
}

// BenchmarkRoomMemory reports the memory one room holds in steady state: empty rooms (the
// ones a hostile client creates by the thousand) and rooms of 8 players (a shooter match).
// Run with -benchtime=1x; each case creates RP_BENCH_ROOMS rooms (default 200) and reads
// the heap and stacks after a full collection, 3 s after the last room started (longer
// than a 64-snapshot ring takes to fill at 30 snapshots a second).
func BenchmarkRoomMemory(b *testing.B) {
	n := benchRoomCount()
	for _, c := range []struct {
		name    string
		game    string
		players int
	}{
		{"empty/idle", "idle", 0},
		{"empty/shooter", shooter.Name, 0},
		{"8players/shooter", shooter.Name, 8},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				e := costEngine(b)
				per := roomCost(b, e, c.game, n, c.players, 3*time.Second)
				b.ReportMetric(float64(per)/1024, "KiB/room")
			}
		})
	}
}

// BenchmarkEmptyRoomsCPU reports the CPU that RP_BENCH_ROOMS (default 600) empty shooter
// rooms burn: process CPU time (user + system) over a fixed 5 s window, in cores.
func BenchmarkEmptyRoomsCPU(b *testing.B) {
	n := benchRoomCount()
	if os.Getenv("RP_BENCH_ROOMS") == "" {
		n = 600
	}
	for range b.N {
		e := costEngine(b)
		for range n {
			if _, err := e.CreateRoom(shooter.Name, engine.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(time.Second)
		var ru0, ru1 syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		start := time.Now()
		time.Sleep(5 * time.Second)
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
		b.ReportMetric(float64(cpu)/float64(time.Since(start)), "cores")
		b.ReportMetric(float64(e.Metrics().Ticks.Load()), "ticks")
	}
}

func benchRoomCount() int {
	if v := os.Getenv("RP_BENCH_ROOMS"); v != "" {
		var n int
		for _, r := range v {
			n = n*10 + int(r-'0')
		}
		return n
	}
	return 200
}

// TestEmptyRoomCostsAtMost32KiB: a client that creates rooms and leaves them empty must not
// be able to hold much memory with each (issue 11: 330 KiB per empty room, 1.9 GiB for
// 5,538 of them). Empty rooms sleep, so they are measured once all are asleep.
func TestEmptyRoomCostsAtMost32KiB(t *testing.T) {
	const n, budget = 200, 32 << 10
	for _, game := range []string{"idle", shooter.Name} {
		e := costEngine(t)
		before := liveBytes()
		for range n {
			if _, err := e.CreateRoom(game, engine.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "every empty room asleep", func() bool { return e.Metrics().RoomsAsleep.Load() == n })
		per := (liveBytes() - before) / n
		t.Logf("%s: %.1f KiB per empty room", game, float64(per)/1024)
		if per > budget {
			t.Errorf("%s: an empty room holds %d bytes, more than %d", game, per, budget)
		}
	}
}
