package engine_test

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// churn replicates churnEntities entities and changes churnPerTick of them every tick, in
// turn, each to the tick: the state at any tick is known without the server (churnWant),
// so a client's mirror can be checked entity by entity, and a delta's size grows with how
// old its baseline is while a full snapshot is many times larger.
type churn struct {
	engine.Hooks[tallyInput]
	vals [churnEntities]uint32
}

const (
	churnEntities = 1000
	churnPerTick  = 4
)

type stamp uint32

func (s stamp) AppendFields(f *state.Fields) { f.Uint(uint64(s)) }

func (g *churn) Update(r *engine.Room[tallyInput], _ []engine.Input[tallyInput]) {
	t := r.Tick()
	for k := range uint32(churnPerTick) {
		g.vals[(t*churnPerTick+k)%churnEntities] = t
	}
}

func (g *churn) Snapshot(r *engine.Room[tallyInput], b *state.Builder) {
	for i, v := range g.vals {
		b.Add(state.ID(i+1), 1, stamp(v))
	}
}

// churnWant is the value of every entity at tick.
func churnWant(tick uint32) (vals [churnEntities]uint32) {
	for t := uint32(1); t <= tick; t++ {
		for k := range uint32(churnPerTick) {
			vals[(t*churnPerTick+k)%churnEntities] = t
		}
	}
	return vals
}

// throttled is a link that delivers at most 384 bytes every 16 ms (24 KB/s): a client on a
// starved machine or a thin link, slower than the room's snapshots for it. It hides the
// socket's descriptor, so that net/ws reads through it.
type throttled struct{ net.Conn }

func (c throttled) Read(p []byte) (int, error) {
	time.Sleep(16 * time.Millisecond)
	return c.Conn.Read(p[:min(len(p), 384)])
}

// received is what one player saw of one snapshot.
type received struct {
	tick, baseline uint32
	size           int // bytes of the message
}

// churnPlayer joins the churn room and applies every snapshot to a mirror, checking the
// state against churnWant, and acknowledges each after ackDelay. Its records go to the
// returned channel; a failure to apply or a wrong state is a test error.
func churnPlayer(t *testing.T, url string, slow bool, ackDelay time.Duration, stop <-chan struct{}) <-chan received {
	t.Helper()
	opts := &ws.DialOptions{
		Subprotocols: []string{engine.Subprotocol},
		Compression:  ws.CompressionOptions{Mode: ws.CompressionDisabled}, // sizes as encoded
		Limits:       ws.Limits{MaxMessageSize: 1 << 20},
	}
	if slow {
		d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		}}
		opts.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return throttled{c}, nil
		}
	}
	c, _, err := ws.Dial(ctx5(t), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	send := func(v ...any) {
		b, _ := engine.Marshal(v)
		_ = c.WriteMessage(ws.MessageBinary, b)
	}
	send(engine.KindJoin, 1, engine.JoinOptions{Game: "churn"})
	out := make(chan received, 4096)
	go func() {
		defer close(out)
		m := state.NewMirror(128)
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				select {
				case <-stop:
				default:
					t.Errorf("slow=%v: connection ended: %v", slow, err)
				}
				return
			}
			if len(p) < 2 || p[1] != engine.KindSnapshot {
				continue
			}
			var head []msgpack.RawMessage // [tick, baseline, added, removed, changed]
			var baseline uint32
			if err := msgpack.Unmarshal(p[2:], &head); err != nil || len(head) != 5 || msgpack.Unmarshal(head[1], &baseline) != nil {
				t.Errorf("slow=%v: undecodable snapshot body: %v", slow, err)
				return
			}
			tick, err := m.Apply(p[2:])
			if err != nil {
				t.Errorf("slow=%v: snapshot did not apply: %v", slow, err)
				return
			}
			want := churnWant(uint32(tick))
			ents := m.Entities()
			if len(ents) != churnEntities {
				t.Errorf("slow=%v: tick %d: %d entities, want %d", slow, tick, len(ents), churnEntities)
				return
			}
			for _, e := range ents {
				var v uint32
				if err := e.Decode(0, &v); err != nil || v != want[e.ID-1] {
					t.Errorf("slow=%v: tick %d: entity %d is %d, want %d (%v): the state diverged", slow, tick, e.ID, v, want[e.ID-1], err)
					return
				}
			}
			out <- received{tick: uint32(tick), baseline: baseline, size: len(p)}
			if ackDelay == 0 {
				send(engine.KindAck, uint32(tick))
			} else {
				time.AfterFunc(ackDelay, func() { send(engine.KindAck, uint32(tick)) })
			}
		}
	}()
	return out
}

// TestSlowPlayerGetsFewerSmallSnapshotsAndOthersAreUnaffected: in a room with fast players,
// one player reads through a link slower than its snapshots and acknowledges each 300 ms
// late, longer than the room keeps snapshots (8 at 30 Hz, 267 ms). It must get fewer
// snapshots (latest-wins), never be closed, apply every one of them to the exact state of
// its tick, and, once it has acknowledged one, get deltas against its last acknowledgement
// rather than full snapshots: a baseline outlives the ring while the client holds it. The
// fast players see every snapshot as a small delta, untouched by the slow one.
func TestSlowPlayerGetsFewerSmallSnapshotsAndOthersAreUnaffected(t *testing.T) {
	wm := new(ws.Metrics)
	e := engine.New(engine.Options{Logger: slog.New(slog.DiscardHandler), Accept: ws.AcceptOptions{Metrics: wm}})
	if err := engine.Register(e, "churn", engine.RoomConfig{TickRate: 30, SnapshotRate: 30, SnapshotHistory: 8},
		func() engine.Game[tallyInput] { return &churn{} }); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(e)
	srv.Listener = smallBufListener{srv.Listener}
	srv.Start()
	defer srv.Close()
	defer e.Shutdown(context.Background())
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	stop := make(chan struct{})
	defer close(stop)
	const fastPlayers = 3
	var fast []<-chan received
	for range fastPlayers {
		fast = append(fast, churnPlayer(t, url, false, 0, stop))
	}
	slow := churnPlayer(t, url, true, 300*time.Millisecond, stop)

	// The slow player's records, until it has had enough deltas: a hang detector bounds it.
	const wantDeltas = 12
	var slowRecs []received
	deltas := 0
	deadline := time.After(60 * time.Second)
	for deltas < wantDeltas {
		select {
		case r, ok := <-slow:
			if !ok {
				t.Fatalf("slow player stopped after %d snapshots", len(slowRecs))
			}
			slowRecs = append(slowRecs, r)
			if r.baseline != 0 {
				deltas++
			}
		case <-deadline:
			t.Fatalf("slow player got %d deltas in 60 s (of %d snapshots, %d lost baselines): full snapshots instead of deltas against its late acknowledgements",
				deltas, len(slowRecs), e.Metrics().BaselinesLost.Load())
		}
	}
	last := slowRecs[len(slowRecs)-1].tick

	// Full snapshot size, from the fast players' first snapshots; every fast player must see
	// the slow player's last tick, every snapshot after its first delta a delta.
	var fullSize int
	fastCounts := make([]int, fastPlayers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, ch := range fast {
		wg.Go(func() {
			n, deltas := 0, false
			for r := range ch {
				n++
				mu.Lock()
				switch {
				case r.baseline == 0 && !deltas: // before its first acknowledgement came back
					fullSize = max(fullSize, r.size)
				case r.baseline == 0:
					t.Errorf("fast player %d: full snapshot at tick %d after deltas had started", i, r.tick)
				}
				mu.Unlock()
				deltas = deltas || r.baseline != 0
				if r.tick >= last {
					break
				}
			}
			fastCounts[i] = n
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	// After its first delta the slow player gets only deltas, each far smaller than a full
	// snapshot: against its last acknowledgement, not a full snapshot nor an old baseline.
	firstDelta := -1
	maxDelta := 0
	for i, r := range slowRecs {
		if r.baseline != 0 && firstDelta < 0 {
			firstDelta = i
		}
		if firstDelta >= 0 {
			if r.baseline == 0 {
				t.Errorf("slow player: full snapshot at tick %d after deltas had started", r.tick)
			}
			maxDelta = max(maxDelta, r.size)
		}
	}
	if maxDelta > fullSize/2 {
		t.Errorf("slow player's largest delta is %d bytes, a full snapshot %d: deltas must stay small", maxDelta, fullSize)
	}
	for i, n := range fastCounts {
		if len(slowRecs) >= n {
			t.Errorf("slow player got %d snapshots, fast player %d got %d: latest-wins should send the slow one fewer", len(slowRecs), i, n)
		}
	}
	t.Logf("slow: %d snapshots up to tick %d, largest delta %d B; full snapshot %d B; fast: %v snapshots; lost baselines %d, replaced unsent %d",
		len(slowRecs), last, maxDelta, fullSize, fastCounts, e.Metrics().BaselinesLost.Load(), wm.LatestReplaced.Load())
}

// TestAckZeroAsksForAFullSnapshot: a client that got a delta against a baseline it does not
// hold sends [4, 0]; the next snapshot is full, and acknowledgements then work as before.
func TestAckZeroAsksForAFullSnapshot(t *testing.T) {
	te := startEngine(t, engine.RoomConfig{TickRate: 30, SnapshotRate: 30}, engine.Options{})
	rp := te.rawJoin(t)
	tick, _ := rp.snapshot()
	rp.send(engine.KindAck, tick)
	for { // deltas once the acknowledgement is in
		if _, base := rp.snapshot(); base != 0 {
			break
		}
	}
	before := te.e.Metrics().BaselineResets.Load()
	rp.send(engine.KindAck, 0)
	full := 0
	for i := 0; full == 0; i++ { // deltas already on their way, then a full snapshot
		if i == 100 {
			t.Fatal("no full snapshot in the 100 after [4, 0]")
		}
		if tk, base := rp.snapshot(); base == 0 {
			full = tk
		}
	}
	if got := te.e.Metrics().BaselineResets.Load() - before; got != 1 {
		t.Errorf("BaselineResets rose by %d, want 1", got)
	}
	rp.send(engine.KindAck, full)
	for {
		if tk, base := rp.snapshot(); base != 0 {
			if base < full {
				t.Fatalf("delta of tick %d against %d, from before the reset at %d", tk, base, full)
			}
			break
		}
	}
}
