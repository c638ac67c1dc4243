package gameclient_test

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// shifting is a game whose state at every tick is a known function of the tick (shiftWant):
// entities come and go and change value, so that a delta carries additions, removals and
// changes, and a client's mirror can be checked entity by entity without asking the server.
type shifting struct{ engine.Hooks[struct{}] }

const shiftEntities = 40

type shiftVal uint32

func (v shiftVal) AppendFields(f *state.Fields) { f.Uint(uint64(v)) }

func (shifting) Update(*engine.Room[struct{}], []engine.Input[struct{}]) {}

func (shifting) Snapshot(r *engine.Room[struct{}], b *state.Builder) {
	for id, v := range shiftWant(r.Tick()) {
		b.Add(state.ID(id), 1, shiftVal(v))
	}
}

// shiftWant is the state at tick: entity id -> its value. Entity id is absent for 8 ticks
// in every 40 and changes every 1 + id%4 ticks.
func shiftWant(tick uint32) map[int]int {
	m := make(map[int]int, shiftEntities)
	for id := 1; id <= shiftEntities; id++ {
		if (uint32(id)+tick)%40 < 8 {
			continue
		}
		m[id] = int(tick/uint32(1+id%4)) * id
	}
	return m
}

// losingProxy relays one client's connection to the engine, message by message, and on
// request loses one snapshot the way a broken client would: it swallows the snapshot and
// acknowledges its tick to the engine itself, so that the engine encodes the next deltas
// against a state the client never had.
type losingProxy struct {
	url  string
	arm  atomic.Bool   // lose the next delta
	lost atomic.Uint32 // the tick lost
	// resets counts the [4, 0] the client sent.
	resets atomic.Int32
}

func startLosingProxy(t *testing.T, engineURL string) *losingProxy {
	lp := &losingProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var up *ws.Conn
		down, err := ws.Serve(w, r, &ws.AcceptOptions{Subprotocols: []string{engine.Subprotocol}}, func(*ws.Conn) ws.Handler {
			var err error
			up, _, err = ws.Dial(r.Context(), engineURL, &ws.DialOptions{Subprotocols: []string{engine.Subprotocol}})
			if err != nil {
				up = nil
				return nil // drops the client's connection
			}
			return &toEngine{lp: lp, up: up}
		})
		if err != nil || up == nil {
			return
		}
		go lp.toClient(up, down)
	}))
	t.Cleanup(srv.Close)
	lp.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	return lp
}

// toEngine relays the client's messages to the engine (up), counting the [4, 0] among them.
// When the client's connection ends, or a write to the engine fails, up is dropped, and
// toClient then drops the client's connection.
type toEngine struct {
	lp *losingProxy
	up *ws.Conn
}

func (h *toEngine) OnMessage(_ *ws.Conn, typ ws.MessageType, p []byte) {
	var m []any
	if msgpack.Unmarshal(p, &m) == nil && len(m) == 2 && toInt64(m[0]) == int64(engine.KindAck) && toInt64(m[1]) == int64(0) {
		h.lp.resets.Add(1)
	}
	if h.up.WriteMessage(typ, p) != nil { // WriteMessage is done with p when it returns
		_ = h.up.CloseNow()
	}
}

func (h *toEngine) OnClose(*ws.Conn, error) { _ = h.up.CloseNow() }

// toClient relays the engine's messages to the client (down), losing the delta the proxy is
// armed for. up is the proxy's own client connection to the engine, so it reads it with
// ReadMessage. When either side ends, both connections are dropped.
func (lp *losingProxy) toClient(up, down *ws.Conn) {
	defer down.CloseNow()
	defer up.CloseNow()
	for {
		typ, p, err := up.ReadMessage()
		if err != nil {
			return
		}
		if tick, base, ok := snapshotTicks(p); ok && base != 0 && lp.arm.Load() {
			lp.arm.Store(false)
			lp.lost.Store(uint32(tick))
			ackMsg, _ := engine.Marshal([]any{engine.KindAck, tick})
			if up.WriteMessage(ws.MessageBinary, ackMsg) != nil {
				return
			}
			continue
		}
		if down.WriteMessage(typ, p) != nil {
			return
		}
	}
}

// snapshotTicks reads the tick and the baseline of [18, [tick, baseline, ...]].
func snapshotTicks(p []byte) (tick, base int64, ok bool) {
	var m []any
	if msgpack.Unmarshal(p, &m) != nil || len(m) != 2 || toInt64(m[0]) != int64(engine.KindSnapshot) {
		return 0, 0, false
	}
	body, _ := m[1].([]any)
	if len(body) != 5 {
		return 0, 0, false
	}
	tick, ok1 := toInt64(body[0]).(int64)
	base, ok2 := toInt64(body[1]).(int64)
	return tick, base, ok1 && ok2
}

// TestClientRecoversThroughTheEngine: a client whose engine encodes deltas against a tick
// it never applied (a proxy lost that snapshot after acknowledging it) drops them, sends
// [4, 0], applies the full snapshot that follows and keeps the exact server state from
// then on; the connection stays open throughout.
func TestClientRecoversThroughTheEngine(t *testing.T) {
	e := engine.New(engine.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := engine.Register(e, "shift", engine.RoomConfig{TickRate: 30, SnapshotRate: 30}, func() engine.Game[struct{}] { return shifting{} }); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Shutdown(ctx)
		srv.Close()
	})
	lp := startLosingProxy(t, "ws"+strings.TrimPrefix(srv.URL, "http"))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // a hang detector
	defer cancel()
	c, err := gameclient.Dial(ctx, lp.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Conn().CloseNow() })
	if _, err := c.Join(ctx, engine.JoinOptions{Game: "shift"}); err != nil {
		t.Fatal(err)
	}

	// checkAt waits for a snapshot at or after tick and checks the whole state against the
	// game's function; it returns the tick it checked.
	checkAt := func(tick uint32) uint32 {
		t.Helper()
		if err := c.WaitSnapshot(ctx, tick); err != nil {
			t.Fatalf("waiting for tick %d: %v (stats %+v)", tick, err, c.Stats())
		}
		var at uint32
		var got map[int]int
		c.State(func(m *state.Mirror, tk uint32) {
			at, got = tk, map[int]int{}
			for _, en := range m.Entities() {
				var v int
				if err := en.Decode(0, &v); err != nil {
					t.Fatal(err)
				}
				got[int(en.ID)] = v
			}
		})
		if want := shiftWant(at); !maps.Equal(got, want) {
			t.Fatalf("state at tick %d:\n got %v\nwant %v", at, got, want)
		}
		return at
	}

	// Deltas flow once the first acknowledgement is in.
	for tick := checkAt(1); ; {
		tick = checkAt(tick + 1)
		if c.Stats().Snapshots > 5 {
			break
		}
	}
	before := e.Metrics().BaselineResets.Load()
	lp.arm.Store(true)
	for lp.lost.Load() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the proxy lost no snapshot")
		}
		time.Sleep(5 * time.Millisecond)
	}
	lost := lp.lost.Load()

	// The client sees the miss and says so.
	for {
		select {
		case ev := <-c.Events():
			if ev.Kind != gameclient.KindBaselineMiss {
				continue
			}
			if !ev.Reset || ev.Baseline != lost {
				t.Fatalf("miss event %+v, want a reset for baseline %d", ev, lost)
			}
		case <-ctx.Done():
			t.Fatalf("no baseline miss event after tick %d was lost (stats %+v)", lost, c.Stats())
		}
		break
	}
	// It recovers: every state from here on is the server's, through many more snapshots.
	tick := checkAt(lost + 1)
	for range 30 {
		tick = checkAt(tick + 1)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("connection ended: %v", err)
	}
	// The client counts a reset before it sends it, the engine once it read it: one at
	// least, and (a second only if the full snapshot took longer than the client's timeout)
	// never more at the engine than the client sent.
	s := c.Stats()
	if s.BaselineMisses < 1 || s.BaselineResets < 1 || lp.resets.Load() < 1 {
		t.Errorf("stats %+v, proxy saw %d [4, 0]: want at least one miss and one reset sent", s, lp.resets.Load())
	}
	if got := e.Metrics().BaselineResets.Load() - before; got < 1 || got > s.BaselineResets {
		t.Errorf("engine counted %d baseline resets, the client sent %d", got, s.BaselineResets)
	}
	t.Logf("lost tick %d; recovered and checked up to tick %d; client stats %+v", lost, tick, s)
}
