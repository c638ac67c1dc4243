package gameclient_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/protocol"
	"github.com/rallypoint/rallypoint/state"
)

// full is a full snapshot body of tick: entity id -> its one field.
func full(tick int, ents map[int]int) []any {
	added := []any{}
	for _, id := range sortedKeys(ents) {
		added = append(added, []any{id, 1, []any{ents[id]}})
	}
	return []any{tick, 0, added, []any{}, []any{}}
}

// delta is a delta body of tick against base: entities whose field changed.
func delta(tick, base int, changed map[int]int) []any {
	ch := []any{}
	for _, id := range sortedKeys(changed) {
		ch = append(ch, []any{id, 1, changed[id]})
	}
	return []any{tick, base, []any{}, []any{}, ch}
}

func sortedKeys(m map[int]int) []int { return slices.Sorted(maps.Keys(m)) }

// mirrorOf is the client's latest tick and state, entity id -> its one field.
func mirrorOf(t *testing.T, c *gameclient.Client) (int, map[int]int) {
	t.Helper()
	got := map[int]int{}
	var tick int
	c.State(func(m *state.Mirror, tk uint32) {
		tick = int(tk)
		for _, e := range m.Entities() {
			var v int
			if err := e.Decode(0, &v); err != nil {
				t.Fatal(err)
			}
			got[int(e.ID)] = v
		}
	})
	return tick, got
}

// recoverStep delivers a snapshot body and checks what the client sends in answer: want,
// in order. A step whose answer is nothing is checked by the next step's answer, which
// the client cannot send before it (it handles messages in order). wait, if set, passes
// before the step.
type recoverStep struct {
	wait time.Duration
	body []any
	want [][]any // [4, tick] or [4, 0]
}

func ack(tick int) []any { return []any{int64(protocol.KindAck), int64(tick)} }

// TestClientRecoversFromAnUnknownBaseline: a delta against a baseline the client does not
// hold is dropped, never applied and never a reason to close; a baseline at or below the
// latest applied tick is answered by acknowledging that tick again (once), one above it by
// [4, 0] (once, until a full snapshot or the timeout), and the full snapshot that follows
// is applied. The state ends exactly as the server's.
func TestClientRecoversFromAnUnknownBaseline(t *testing.T) {
	tests := []struct {
		name     string
		snapRate int // announced in the join answer: sets the [4, 0] timeout
		steps    []recoverStep
		tick     int
		state    map[int]int
		stats    gameclient.Stats
		resets   []bool // the Reset of each KindBaselineMiss event, in order
	}{
		{
			name:     "newer unknown baseline asks for a full snapshot once",
			snapRate: 1, // a 4 s timeout: the second miss must not ask again
			steps: []recoverStep{
				{body: full(10, map[int]int{1: 1, 2: 2}), want: [][]any{ack(10)}},
				{body: delta(12, 10, map[int]int{1: 3}), want: [][]any{ack(12)}},
				{body: delta(16, 14, map[int]int{2: 9}), want: [][]any{ack(0)}}, // 14 never applied
				{body: delta(18, 14, map[int]int{2: 10})},                       // on its way before [4, 0]: dropped, nothing sent
				{body: full(20, map[int]int{1: 5, 2: 6, 3: 7}), want: [][]any{ack(20)}},
				{body: delta(22, 20, map[int]int{3: 8}), want: [][]any{ack(22)}},
			},
			tick:   22,
			state:  map[int]int{1: 5, 2: 6, 3: 8},
			stats:  gameclient.Stats{Snapshots: 4, BaselineMisses: 2, BaselineResets: 1},
			resets: []bool{true, true},
		},
		{
			name:     "older unknown baseline acknowledges the latest tick again",
			snapRate: 1,
			steps: []recoverStep{
				{body: full(10, map[int]int{1: 1}), want: [][]any{ack(10)}},
				{body: full(20, map[int]int{1: 2}), want: [][]any{ack(20)}},
				{body: delta(24, 15, map[int]int{1: 4}), want: [][]any{ack(20)}}, // 15 never applied, below 20
				{body: delta(26, 15, map[int]int{1: 5})},                         // 20 acknowledged again already
				{body: delta(28, 20, map[int]int{1: 6}), want: [][]any{ack(28)}},
			},
			tick:   28,
			state:  map[int]int{1: 6},
			stats:  gameclient.Stats{Snapshots: 3, BaselineMisses: 2},
			resets: []bool{false, false},
		},
		{
			name:     "before any snapshot a delta asks for a full one",
			snapRate: 1,
			steps: []recoverStep{
				{body: delta(8, 6, map[int]int{1: 1}), want: [][]any{ack(0)}},
				{body: full(10, map[int]int{1: 2}), want: [][]any{ack(10)}},
			},
			tick:   10,
			state:  map[int]int{1: 2},
			stats:  gameclient.Stats{Snapshots: 1, BaselineMisses: 1, BaselineResets: 1},
			resets: []bool{true},
		},
		{
			name:     "no full snapshot within the timeout: ask again",
			snapRate: 100, // 40 ms
			steps: []recoverStep{
				{body: full(10, map[int]int{1: 1}), want: [][]any{ack(10)}},
				{body: delta(14, 12, map[int]int{1: 2}), want: [][]any{ack(0)}},
				{wait: 100 * time.Millisecond, body: delta(16, 12, map[int]int{1: 3}), want: [][]any{ack(0)}},
				{body: full(18, map[int]int{1: 4}), want: [][]any{ack(18)}},
			},
			tick:   18,
			state:  map[int]int{1: 4},
			stats:  gameclient.Stats{Snapshots: 2, BaselineMisses: 2, BaselineResets: 2},
			resets: []bool{true, true},
		},
		{
			name:     "a full snapshot ends the wait: the next miss asks at once",
			snapRate: 1,
			steps: []recoverStep{
				{body: full(10, map[int]int{1: 1}), want: [][]any{ack(10)}},
				{body: delta(14, 12, map[int]int{1: 2}), want: [][]any{ack(0)}},
				{body: full(16, map[int]int{1: 3}), want: [][]any{ack(16)}},
				{body: delta(20, 18, map[int]int{1: 4}), want: [][]any{ack(0)}},
				{body: full(22, map[int]int{1: 5}), want: [][]any{ack(22)}},
			},
			tick:   22,
			state:  map[int]int{1: 5},
			stats:  gameclient.Stats{Snapshots: 3, BaselineMisses: 2, BaselineResets: 2},
			resets: []bool{true, true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var zero time.Duration // acknowledge at once: the answers are in order with the steps
			fs, c := startFakeAt(t, &zero, tt.snapRate)
			for i, st := range tt.steps {
				if st.wait > 0 {
					time.Sleep(st.wait) // at least this long: the timeout has passed
				}
				fs.send(protocol.KindSnapshot, st.body)
				for _, want := range st.want {
					if m := fs.read(); len(m) != len(want) || m[0] != want[0] || m[1] != want[1] {
						t.Fatalf("step %d (snapshot %v): the client sent %v, want %v", i, st.body[:2], m, want)
					}
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.WaitSnapshot(ctx, uint32(tt.tick)); err != nil {
				t.Fatal(err)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("connection ended: %v", err)
			}
			tick, got := mirrorOf(t, c)
			if tick != tt.tick || !maps.Equal(got, tt.state) {
				t.Errorf("state at tick %d is %v, want %v at tick %d", tick, got, tt.state, tt.tick)
			}
			if s := c.Stats(); s != tt.stats {
				t.Errorf("stats %+v, want %+v", s, tt.stats)
			}
			var resets []bool
			for len(resets) < len(tt.resets) {
				select {
				case ev := <-c.Events():
					if ev.Kind != gameclient.KindBaselineMiss {
						t.Fatalf("event %+v, want only baseline misses", ev)
					}
					if ev.Tick == 0 || ev.Baseline == 0 || ev.Message == "" {
						t.Errorf("event %+v does not say what was dropped", ev)
					}
					resets = append(resets, ev.Reset)
				case <-ctx.Done():
					t.Fatalf("baseline miss events %v, want %v", resets, tt.resets)
				}
			}
			if !slices.Equal(resets, tt.resets) {
				t.Errorf("baseline miss events with Reset %v, want %v", resets, tt.resets)
			}
			select {
			case ev := <-c.Events():
				t.Errorf("one more event: %+v", ev)
			default:
			}
		})
	}
}
