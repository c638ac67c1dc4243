package match

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestEnqueueAndCancelConcurrentlyWithPasses hammers a matchmaker from several goroutines
// while another runs passes back to back and releases players at random; run it with -race.
// It checks that a cancelled ticket is never matched, that no ticket is matched twice, that
// no player is in two matches at once, and that the books balance at the end.
func TestEnqueueAndCancelConcurrentlyWithPasses(t *testing.T) {
	const workers, perWorker, playersPerWorker, minPasses = 4, 600, 12, 50
	cfg := QueueConfig{Mode: "m", MinPlayers: 2, MaxPlayers: 4, RatingKey: "rating", Window: WindowCurve{Initial: 1000}}
	l, err := NewLocal(Options{Queues: []QueueConfig{cfg}})
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu        sync.Mutex
		enqueued  = map[string]bool{}
		cancelled = map[string]bool{}
	)
	done := make(chan struct{})
	var matched []Match
	var passes atomic.Int64
	passer := make(chan struct{})
	go func() {
		defer close(passer)
		held := map[string]bool{}
		r := rand.New(rand.NewPCG(7, 7))
		seen := map[string]bool{}
		for last := false; !last; {
			select {
			case <-done:
				last = true // one more pass after the workers are done
			default:
			}
			for _, m := range l.Pass(time.Now()) {
				for _, x := range m.Tickets {
					if seen[x.ID] {
						t.Errorf("ticket %s matched twice", x.ID)
					}
					seen[x.ID] = true
				}
				for _, p := range m.Players() {
					if held[p] {
						t.Errorf("player %s in two matches at once", p)
					}
					held[p] = true
				}
				matched = append(matched, m)
			}
			passes.Add(1)
			for p := range held { // players leave their rooms at random
				if r.IntN(3) == 0 {
					delete(held, p)
					l.Release(p)
				}
			}
		}
	}()

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			var mine []string
			// Keep going until enough passes ran alongside, however the goroutines are scheduled.
			for i := 0; i < perWorker || passes.Load() < minPasses; i++ {
				id := fmt.Sprintf("w%d-t%d", w, i)
				players := []string{fmt.Sprintf("w%d-p%d", w, r.IntN(playersPerWorker))}
				if r.IntN(4) == 0 {
					if p := fmt.Sprintf("w%d-p%d", w, r.IntN(playersPerWorker)); p != players[0] {
						players = append(players, p)
					}
				}
				err := l.Enqueue(Ticket{ID: id, Mode: "m", Players: players, Numbers: map[string]float64{"rating": r.NormFloat64() * 300}})
				switch {
				case err == nil:
					mu.Lock()
					enqueued[id] = true
					mu.Unlock()
					mine = append(mine, id)
				case !errors.Is(err, ErrPlayerBusy):
					t.Error(err)
				}
				if len(mine) > 0 && r.IntN(5) == 0 {
					k := r.IntN(len(mine))
					if l.Cancel(mine[k]) == nil {
						mu.Lock()
						cancelled[mine[k]] = true
						mu.Unlock()
					}
					mine = append(mine[:k], mine[k+1:]...)
				}
				runtime.Gosched() // let the passes have their share of the two cores
			}
		})
	}
	wg.Wait()
	close(done)
	<-passer

	n := 0
	for _, m := range matched {
		for _, x := range m.Tickets {
			n++
			if cancelled[x.ID] {
				t.Errorf("cancelled ticket %s was matched", x.ID)
			}
			if !enqueued[x.ID] {
				t.Errorf("ticket %s was never enqueued", x.ID)
			}
		}
	}
	s := l.Stats()
	if got := n + len(cancelled) + s.Queues["m"].Tickets; got != len(enqueued) {
		t.Errorf("%d matched + %d cancelled + %d waiting != %d enqueued", n, len(cancelled), s.Queues["m"].Tickets, len(enqueued))
	}
	if n == 0 || len(cancelled) == 0 {
		t.Errorf("%d matched and %d cancelled: the test exercised nothing", n, len(cancelled))
	}
	t.Logf("%d enqueued, %d matched in %d matches (%d dissolved), %d cancelled, %d passes, longest lock hold %v",
		len(enqueued), n, len(matched), s.Dissolved, len(cancelled), s.Passes, s.MaxLockHold)
}

// TestRunHandsOutMatchesUntilCancelled: Run passes periodically and stops with its context.
func TestRunHandsOutMatchesUntilCancelled(t *testing.T) {
	l, err := NewLocal(Options{Queues: []QueueConfig{{Mode: "m", MinPlayers: 2, MaxPlayers: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan Match, 1)
	ran := make(chan error)
	go func() { ran <- l.Run(ctx, time.Millisecond, func(m Match) { got <- m }) }()
	mustEnqueue(t, l, tk("m", "a", 0, "", "p1"), tk("m", "b", 0, "", "p2"))
	if m := <-got; len(m.Tickets) != 2 {
		t.Fatalf("match %+v", m)
	}
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
}
