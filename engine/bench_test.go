package engine

import (
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"reflect"
	"syscall"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/internal/msgcheck"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// arena is the benchmark's game: 64 entities wandering a 2D arena, as in the shooter, with
// each player's input steering one of them.
type arena struct {
	Hooks[arenaInput]
	ents  [64]arenaEnt
	views int // number of distinct views; 0 = everyone sees everything
	// onUpdate, if set, sees each tick's inputs (tests of what reaches the game).
	onUpdate func([]Input[arenaInput])
}

type arenaInput struct {
	DX, DY float32
}

type arenaEnt struct {
	x, y, vx, vy float32
	hp           int64
	name         string
}

func (e *arenaEnt) AppendFields(f *state.Fields) {
	f.Float32(e.x)
	f.Float32(e.y)
	f.Int(e.hp)
	f.String(e.name)
}

func (g *arena) Start(r *Room[arenaInput]) error {
	for i := range g.ents {
		g.ents[i] = arenaEnt{x: float32(i * 13 % 800), y: float32(i * 29 % 600), vx: float32(i%7) - 3, vy: float32(i%5) - 2, hp: 100, name: "bot"}
	}
	return nil
}

func (g *arena) Update(r *Room[arenaInput], inputs []Input[arenaInput]) {
	if g.onUpdate != nil {
		g.onUpdate(inputs)
	}
	for _, in := range inputs {
		e := &g.ents[in.Player.ID%64]
		e.vx, e.vy = in.Value.DX, in.Value.DY
	}
	dt := float32(r.DT().Seconds())
	for i := range g.ents {
		e := &g.ents[i]
		e.x = float32(math.Mod(float64(e.x+e.vx*dt*60+800), 800))
		e.y = float32(math.Mod(float64(e.y+e.vy*dt*60+600), 600))
	}
	if r.Tick()%97 == 0 { // now and then someone is hit
		g.ents[r.Tick()%64].hp--
	}
}

func (g *arena) Snapshot(r *Room[arenaInput], b *state.Builder) {
	for i := range g.ents {
		b.Add(state.ID(i+1), 1, &g.ents[i])
	}
}

var viewFilters = [8]state.Filter{}

func init() {
	for v := range viewFilters {
		viewFilters[v] = func(id state.ID, kind uint8) bool { return int(id)%len(viewFilters) != v }
	}
}

func (g *arena) View(r *Room[arenaInput], p *Player) (state.ViewKey, state.Filter) {
	if g.views == 0 {
		return 0, nil
	}
	v := int(p.ID) % g.views
	return state.ViewKey(v + 1), viewFilters[v]
}

// socketPair returns a server-side ws.Conn over a Unix socket pair whose other end is drained
// and discarded: a player connection minus the client's work.
func socketPair(tb testing.TB, m *ws.Metrics) *ws.Conn {
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
	go io.Copy(io.Discard, cli)
	tb.Cleanup(func() { srv.Close(); cli.Close() })
	return ws.NewConn(srv, true, Subprotocol, ws.Limits{PingInterval: -1, IdleTimeout: -1}, m)
}

// benchRoom builds a room driven by hand (no goroutine, fake clock) with n players.
func benchRoom(tb testing.TB, n, views int) (*roomCore, []*Player) {
	e := New(Options{Clock: &FakeClock{}, Logger: slog.New(slog.DiscardHandler)})
	cfg, _ := RoomConfig{TickRate: 60, SnapshotRate: 30, MaxPlayers: n, EmptyTimeout: -1, MaxInputsPerTick: 1 << 20}.withDefaults()
	rc := newRoomCore(e, "arena", cfg, CreateOptions{})
	rc.sim = &Room[arenaInput]{core: rc, game: &arena{views: views}, schema: msgcheck.For(reflect.TypeFor[arenaInput]())}
	if err := rc.sim.start(); err != nil {
		tb.Fatal(err)
	}
	wm := new(ws.Metrics)
	replies := make([]chan joinResult, n)
	for i := range n {
		replies[i] = make(chan joinResult, 1)
		rc.enqueue(command{kind: cmdJoin, conn: socketPair(tb, wm), reply: replies[i]})
	}
	rc.step(false)
	players := make([]*Player, n)
	for i := range players {
		res := <-replies[i]
		if res.err != nil {
			tb.Fatal(res.err)
		}
		players[i] = res.player
	}
	return rc, players
}

// tick runs one tick with one input per player, and has every player acknowledge the newest
// snapshot at once (a client on a fast network).
func benchTick(tb testing.TB, rc *roomCore, players []*Player, input []byte, dec *msgpack.Decoder, br *byteReader) {
	for _, p := range players {
		br.reset(input)
		dec.Reset(br)
		if err := rc.sim.pushInput(p, rc.tick+1, state.View{}, input, dec, &br.scratch); err != nil {
			tb.Fatal(err)
		}
	}
	rc.step(false)
	if latest := rc.ring.Latest(); latest != nil {
		for _, p := range players {
			p.ackTick.Store(uint32(latest.Tick()))
		}
	}
}

type byteReader struct {
	b       []byte
	i       int
	scratch any // the session's reusable input space
}

func (r *byteReader) reset(b []byte) { r.b, r.i = b, 0 }
func (r *byteReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}
func (r *byteReader) ReadByte() (byte, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	r.i++
	return r.b[r.i-1], nil
}
func (r *byteReader) UnreadByte() error { r.i--; return nil }

// BenchmarkRoomTick stands for one shooter room: 8 players, 60 Hz simulation, 30 Hz
// snapshots of 64 moving entities, one input per player per tick. One op is one tick;
// allocs/op is allocations per tick per room.
func BenchmarkRoomTick(b *testing.B) {
	rc, players := benchRoom(b, 8, 0)
	input, _ := msgpack.Marshal(arenaInput{DX: 1, DY: -1})
	dec := msgpack.NewDecoder(nil)
	br := &byteReader{}
	for range 120 { // warm up: pools, ring, caches
		benchTick(b, rc, players, input, dec, br)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		benchTick(b, rc, players, input, dec, br)
	}
}

// BenchmarkSharedViews stands for a crowded room: 100 players in 4 views. Players with the
// same view and baseline share one encoded frame, so a snapshot tick encodes 4 frames, not 100.
func BenchmarkSharedViews(b *testing.B) {
	const views = 4
	rc, players := benchRoom(b, 100, views)
	input, _ := msgpack.Marshal(arenaInput{DX: 1})
	dec := msgpack.NewDecoder(nil)
	br := &byteReader{}
	for range 60 {
		benchTick(b, rc, players, input, dec, br)
	}
	enc0 := rc.e.metrics.Encodes.Load()
	hits0, misses0 := rc.frames.Stats()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		benchTick(b, rc, players, input, dec, br)
	}
	b.StopTimer()
	snapTicks := float64(b.N) / float64(rc.cfg.snapshotEvery())
	hits, misses := rc.frames.Stats()
	hits, misses = hits-hits0, misses-misses0
	b.ReportMetric(float64(rc.e.metrics.Encodes.Load()-enc0)/snapTicks/views, "encodes/view/snapshot")
	b.ReportMetric(float64(hits)/float64(hits+misses), "cache-hit-rate")
}

// TestSharedViewsEncodeOncePerView checks the target: at most 2 encodes per distinct
// view per snapshot tick, with 100 players.
func TestSharedViewsEncodeOncePerView(t *testing.T) {
	const views = 4
	rc, players := benchRoom(t, 100, views)
	input, _ := msgpack.Marshal(arenaInput{DX: 1})
	dec := msgpack.NewDecoder(nil)
	br := &byteReader{}
	for range 10 {
		benchTick(t, rc, players, input, dec, br)
	}
	before := rc.e.metrics.Encodes.Load()
	const ticks = 60
	for range ticks {
		benchTick(t, rc, players, input, dec, br)
	}
	perView := float64(rc.e.metrics.Encodes.Load()-before) / (ticks / 2) / views
	if perView > 2 {
		t.Fatalf("%.2f encodes per view per snapshot tick, want ≤ 2", perView)
	}
	hits, misses := rc.frames.Stats()
	t.Logf("encodes per view per snapshot: %.2f; frame cache hit rate %.3f", perView, float64(hits)/float64(hits+misses))
}
