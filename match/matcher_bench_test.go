package match

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchQueue is a ranked 8-player mode: ratings around 1500, a window of ±50 that widens by
// 25 a second up to ±600, four regions that relax after 10 s.
func benchQueue() QueueConfig {
	return QueueConfig{
		Mode: "ranked", MinPlayers: 8, MaxPlayers: 8,
		RatingKey: "rating", Window: WindowCurve{Initial: 50, PerSecond: 25, Max: 600},
		RegionKey: "region", RegionRelaxAfter: 10 * time.Second,
	}
}

var benchRegions = []string{"eu", "us", "asia", "sa"}

// benchFeed makes tickets: normal ratings (mean 1500, sd 300), uniform regions, and with
// parties, 60% solo, 20% pairs, 10% trios and 10% quads (party ratings are normal too).
type benchFeed struct {
	r       *rand.Rand
	parties bool
	n       int
}

func (f *benchFeed) ticket(created time.Time) Ticket {
	f.n++
	size := 1
	if f.parties {
		switch x := f.r.IntN(10); {
		case x >= 9:
			size = 4
		case x >= 8:
			size = 3
		case x >= 6:
			size = 2
		}
	}
	ps := make([]string, size)
	id := strconv.Itoa(f.n)
	for i := range ps {
		ps[i] = id + "." + strconv.Itoa(i)
	}
	return Ticket{
		ID: id, Mode: "ranked", Players: ps, Created: created,
		Numbers: map[string]float64{"rating": 1500 + 300*f.r.NormFloat64()},
		Strings: map[string]string{"region": benchRegions[f.r.IntN(len(benchRegions))]},
	}
}

// fill tops the queue up to n tickets.
func (f *benchFeed) fill(b *testing.B, l *Local, n int, now time.Time) {
	for missing := n - l.Stats().Queues["ranked"].Tickets; missing > 0; missing-- {
		if err := l.Enqueue(f.ticket(now)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatch100k stands for a very busy ranked mode: 100,000 tickets waiting in one
// queue (benchQueue, benchFeed), a pass every 250 ms of simulated time, and arrivals that
// replace every matched ticket before each pass, so that every pass sees 100,000 tickets.
// One iteration is one pass; matched players leave at once (Release). After a warm-up of
// 40 passes (10 simulated seconds), it reports:
//
//   - tickets/s: tickets matched per second of pass time (the matcher's throughput);
//   - matched/pass;
//   - p50-wait-s ... max-wait-s: simulated time from enqueue to match of the matched tickets
//     (a ticket waits at least until the next pass, 250 ms);
//   - p50-lock-µs, p99.9-lock-µs, max-lock-µs: how long the passes held the queue lock, the
//     most they can delay an Enqueue. The work under the lock is bounded (commitTickets); a
//     maximum far above the p99.9 is the goroutine or the VM being descheduled mid-hold.
func BenchmarkMatch100k(b *testing.B) {
	for _, parties := range []bool{false, true} {
		name := "solo"
		if parties {
			name = "parties"
		}
		b.Run(name, func(b *testing.B) {
			clock := NewFakeClock(t0)
			l, err := NewLocal(Options{Queues: []QueueConfig{benchQueue()}, Clock: clock})
			if err != nil {
				b.Fatal(err)
			}
			feed := &benchFeed{r: rand.New(rand.NewPCG(1, 2)), parties: parties}
			pass := func() []Match {
				feed.fill(b, l, 100_000, clock.Now())
				now := clock.Advance(250 * time.Millisecond)
				return l.Pass(now)
			}
			release := func(ms []Match) {
				for _, m := range ms {
					l.Release(m.Players()...)
				}
			}
			for range 40 {
				release(pass())
			}
			var holds []time.Duration
			l.onHold = func(d time.Duration) { holds = append(holds, d) }
			var (
				waits   []float64
				matched int
				busy    time.Duration
			)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				feed.fill(b, l, 100_000, clock.Now())
				now := clock.Advance(250 * time.Millisecond)
				b.StartTimer()
				start := time.Now()
				ms := l.Pass(now)
				busy += time.Since(start)
				b.StopTimer()
				for _, m := range ms {
					matched += len(m.Tickets)
					for _, t := range m.Tickets {
						waits = append(waits, now.Sub(t.Created).Seconds())
					}
				}
				release(ms)
				b.StartTimer()
			}
			b.StopTimer()
			slices.Sort(waits)
			b.ReportMetric(float64(matched)/busy.Seconds(), "tickets/s")
			b.ReportMetric(float64(matched)/float64(b.N), "matched/pass")
			b.ReportMetric(percentile(waits, 0.50), "p50-wait-s")
			b.ReportMetric(percentile(waits, 0.99), "p99-wait-s")
			b.ReportMetric(percentile(waits, 0.999), "p99.9-wait-s")
			b.ReportMetric(percentile(waits, 1), "max-wait-s")
			slices.Sort(holds)
			b.ReportMetric(float64(holds[len(holds)/2].Nanoseconds())/1e3, "p50-lock-µs")
			b.ReportMetric(float64(holds[len(holds)*999/1000].Nanoseconds())/1e3, "p99.9-lock-µs")
			b.ReportMetric(float64(holds[len(holds)-1].Nanoseconds())/1e3, "max-lock-µs")
		})
	}
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// BenchmarkEnqueueDuringPass stands for players joining a busy queue while the matcher
// works: the benchmark's goroutine enqueues, one ticket per iteration, and another
// goroutine runs a pass whenever 100,000 tickets wait (benchQueue, benchFeed), so that
// most enqueues meet a pass in progress over a queue of 100,000. It reports the Enqueue
// latency (p99 and max), the part of it spent waiting for the queue lock (p99 and max), and
// the longest lock hold of the passes. What the latency has beyond the lock wait is
// scheduling and GC assists on a 2-core machine shared with the passes.
func BenchmarkEnqueueDuringPass(b *testing.B) {
	clock := NewFakeClock(t0)
	l, err := NewLocal(Options{Queues: []QueueConfig{benchQueue()}, Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	feed := &benchFeed{r: rand.New(rand.NewPCG(3, 4)), n: 1 << 40} // ids apart from the measured ones
	feed.fill(b, l, 100_000, clock.Now())
	var waits []time.Duration
	l.onWait = func(d time.Duration) { waits = append(waits, d) } // mu is held: no race

	var stop atomic.Bool
	var passes atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			if l.Stats().Queues["ranked"].Tickets < 100_000 {
				time.Sleep(time.Millisecond) // pacing, not measuring
				continue
			}
			for _, m := range l.Pass(clock.Advance(250 * time.Millisecond)) {
				l.Release(m.Players()...)
			}
			passes.Add(1)
		}
	})

	mine := &benchFeed{r: rand.New(rand.NewPCG(7, 8)), n: 1 << 50}
	var lat []time.Duration
	// No StopTimer in this loop: it reads the memory statistics, which stops the world.
	for b.Loop() {
		t := mine.ticket(clock.Now())
		runtime.Gosched()
		start := time.Now()
		err := l.Enqueue(t)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	stop.Store(true)
	wg.Wait()
	us := func(ds []time.Duration, p float64) float64 {
		slices.Sort(ds)
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(us(lat, 0.99), "p99-enqueue-µs")
	b.ReportMetric(us(lat, 1), "max-enqueue-µs")
	b.ReportMetric(us(waits, 0.99), "p99-wait-µs")
	b.ReportMetric(us(waits, 1), "max-wait-µs")
	b.ReportMetric(float64(l.Stats().MaxLockHold.Nanoseconds())/1e3, "max-lock-µs")
	b.ReportMetric(float64(passes.Load()), "passes")
}

// BenchmarkEnqueue is the cost of one Enqueue into a large queue with no pass running.
func BenchmarkEnqueue(b *testing.B) {
	l, _ := NewLocal(Options{Queues: []QueueConfig{benchQueue()}, Clock: NewFakeClock(t0)})
	feed := &benchFeed{r: rand.New(rand.NewPCG(1, 1))}
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Enqueue(feed.ticket(t0)); err != nil {
			b.Fatal(fmt.Sprint(err))
		}
	}
}

// BenchmarkMutexBaseline is the yardstick for BenchmarkEnqueueDuringPass's tails: a bare
// sync.Mutex that another goroutine holds for about 20 µs at a time, back to back (the
// length of a pass's commit section), and one Lock per iteration, timed. Its p99.9 and
// maximum are what this machine's scheduler does to any lock with that duty cycle, with no
// matchmaking involved.
func BenchmarkMutexBaseline(b *testing.B) {
	var mu sync.Mutex
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		m := make(map[int]int)
		i := 0
		for !stop.Load() {
			mu.Lock()
			for range 200 {
				m[i%100_000] = i
				i++
			}
			mu.Unlock()
			for j := range 200 {
				i += j % 7
			}
		}
	})
	var waits []time.Duration
	for b.Loop() {
		start := time.Now()
		mu.Lock()
		waits = append(waits, time.Since(start))
		mu.Unlock()
		runtime.Gosched()
	}
	stop.Store(true)
	wg.Wait()
	slices.Sort(waits)
	n := len(waits)
	b.ReportMetric(float64(waits[n*999/1000].Nanoseconds())/1e3, "p99.9-wait-µs")
	b.ReportMetric(float64(waits[n-1].Nanoseconds())/1e3, "max-wait-µs")
}
