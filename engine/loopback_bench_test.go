package engine_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/state"
)

// mover is the loopback benchmark's game: 64 entities moving every tick, like the shooter.
type mover struct {
	engine.Hooks[tallyInput]
	ents [64]struct{ x, y float32 }
}

type xy struct{ x, y float32 }

func (p *xy) AppendFields(f *state.Fields) { f.Float32(p.x); f.Float32(p.y) }

func (g *mover) Update(r *engine.Room[tallyInput], inputs []engine.Input[tallyInput]) {
	for i := range g.ents {
		g.ents[i].x += float32(i%5) - 2
		g.ents[i].y += float32(i%3) - 1
	}
}

func (g *mover) Snapshot(r *engine.Room[tallyInput], b *state.Builder) {
	for i := range g.ents {
		b.Add(state.ID(i+1), 1, &xy{g.ents[i].x, g.ents[i].y})
	}
}

// BenchmarkLoopbackRooms stands for a shooter server with its players as real WebSocket
// clients on loopback: rooms of 8 players at 60 Hz / 30 Hz, every client applying and
// acknowledging each snapshot and sending an input every other tick. Client and server
// share this process and its 2 cores, so the cores reported cover both. Run with
// -benchtime=1x; RP_BENCH_ROOMS sets the number of rooms (default 100).
func BenchmarkLoopbackRooms(b *testing.B) {
	rooms := 100
	if v, err := strconv.Atoi(os.Getenv("RP_BENCH_ROOMS")); err == nil {
		rooms = v
	}
	e := engine.New(engine.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := engine.Register(e, "mover", engine.RoomConfig{TickRate: 60, SnapshotRate: 30, MaxPlayers: 8},
		func() engine.Game[tallyInput] { return &mover{} }); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var clients []*gameclient.Client
	for range rooms {
		var room string
		for i := range 8 {
			c, err := gameclient.Dial(ctx, url, nil)
			if err != nil {
				b.Fatal(err)
			}
			opts := engine.JoinOptions{Game: "mover", Create: i == 0, Room: room}
			if i > 0 {
				opts.Game = ""
			}
			j, err := c.Join(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			room = j.Room
			clients = append(clients, c)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(time.Second / 30)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					c.SendInput(tallyInput{Add: 1})
				}
			}
		}()
	}
	time.Sleep(2 * time.Second) // settle
	m := e.Metrics()
	before := snapshotHist(&m.TickLateness)
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	time.Sleep(10 * time.Second)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	wall := time.Since(start)
	after := snapshotHist(&m.TickLateness)
	close(stop)
	wg.Wait()
	for _, c := range clients {
		c.Conn().CloseNow()
	}
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu)/float64(wall), "cores")
	p50, p99, ticks := quantiles(before, after)
	b.ReportMetric(p50, "p50-late-ms≤")
	b.ReportMetric(p99, "p99-late-ms≤")
	b.ReportMetric(float64(ticks)/wall.Seconds(), "ticks/s")
}

type histSnap struct {
	bounds []time.Duration
	cum    []int64
}

func snapshotHist(h *engine.Histogram) histSnap {
	b, c := h.Buckets()
	return histSnap{b, c}
}

// quantiles returns the upper bounds (ms) of the buckets holding the 50th and 99th
// percentile of what was observed between two snapshots of a histogram.
func quantiles(before, after histSnap) (p50, p99 float64, n int64) {
	n = after.cum[len(after.cum)-1] - before.cum[len(before.cum)-1]
	q := func(f float64) float64 {
		for i := range after.cum {
			if float64(after.cum[i]-before.cum[i]) >= f*float64(n) {
				return float64(after.bounds[i]) / 1e6
			}
		}
		return -1
	}
	return q(0.5), q(0.99), n
}
