package main

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/rallypoint/rallypoint/net/ws"
)

// scheduler runs every seated bot's step at a fixed period from a few shared goroutines
// instead of a timer per bot: ten thousand timers firing at 60 Hz would cost more than the
// bots' work. Bots are dealt to shards round-robin, and shard i ticks at an offset of
// i/shards of the period, so that the bots' writes are spread over the period rather than
// sent in one burst.
type scheduler struct {
	shards []*shard
	next   atomic.Uint64
	quit   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

type shard struct {
	mu    sync.Mutex
	bots  []*bot
	batch ws.Batch // the round's writes (bot.stepWrite), sent as it fills and after the round
}

func newScheduler(n int, period time.Duration, mono func() int64) *scheduler {
	s := &scheduler{shards: make([]*shard, max(n, 1)), quit: make(chan struct{})}
	for i := range s.shards {
		sh := &shard{}
		s.shards[i] = sh
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			sh.run(period, period*time.Duration(i)/time.Duration(len(s.shards)), mono, s.quit)
		}()
	}
	return s
}

// add puts a seated bot on a shard.
func (s *scheduler) add(b *bot) {
	sh := s.shards[s.next.Add(1)%uint64(len(s.shards))]
	sh.mu.Lock()
	sh.bots = append(sh.bots, b)
	sh.mu.Unlock()
}

// stop ends the shards and waits for them; it may be called more than once.
func (s *scheduler) stop() {
	s.once.Do(func() { close(s.quit) })
	s.wg.Wait()
}

func (sh *shard) run(period, offset time.Duration, mono func() int64, quit <-chan struct{}) {
	select {
	case <-time.After(offset):
	case <-quit:
		return
	}
	t := time.NewTicker(period) // a ticker drops ticks it could not deliver: no bursts after a stall
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-quit:
			return
		}
		now := mono()
		sh.mu.Lock()
		for _, b := range sh.bots {
			b.out = &sh.batch
			b.tick(now)
			b.out = nil
		}
		sh.batch.Send() // failures end their connections, which their read loops see
		sh.mu.Unlock()
	}
}
