package netsim

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestScheduleKeepsOrderAndBounds draws many chunks over a range of links and checks the
// model's rules for each: deliveries never go backwards (deliver_i >= deliver_{i-1}); no
// chunk is delivered before its read time plus the smallest delay the distribution allows
// (plus its serialization when the link is limited); without loss, a uniform link delivers
// no chunk later than both its own largest delay and the chunk before it.
func TestScheduleKeepsOrderAndBounds(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := map[string]Link{
		"uniform, jitter above delay": {Delay: 5 * ms, Jitter: 20 * ms},
		"uniform":                     {Delay: 50 * ms, Jitter: 20 * ms},
		"normal":                      {Delay: 50 * ms, Jitter: 20 * ms, Dist: Normal},
		"lossy":                       {Delay: 30 * ms, Jitter: 10 * ms, Loss: 0.1},
		"narrow":                      {Delay: 10 * ms, Jitter: 5 * ms, Bandwidth: 100_000},
		"no delay":                    {},
	}
	for name, l := range tests {
		t.Run(name, func(t *testing.T) {
			s := shaper{rng: rand.New(rand.NewPCG(1, 2))}
			r := rand.New(rand.NewPCG(3, 4))
			now := time.Unix(1000, 0)
			var prev, sent time.Time
			lost := 0
			for i := range 10000 {
				now = now.Add(time.Duration(r.IntN(int(3 * ms))))
				n := 1 + r.IntN(1500)
				at, isLost := s.schedule(now, n, l)
				if isLost {
					lost++
				}
				ser := time.Duration(0)
				if l.Bandwidth > 0 {
					ser = time.Duration(int64(n) * int64(time.Second) / l.Bandwidth)
					sent = later(sent, now).Add(ser)
				} else {
					sent = now
				}
				low := sent
				if l.Dist == Uniform {
					low = sent.Add(max(l.Delay-l.Jitter, 0))
				}
				if at.Before(low) {
					t.Fatalf("chunk %d delivered %v after its read, before the lower bound %v", i, at.Sub(now), low.Sub(now))
				}
				if at.Before(prev) {
					t.Fatalf("chunk %d delivered %v before the chunk ahead of it", i, prev.Sub(at))
				}
				if l.Dist == Uniform && !isLost {
					if high := later(prev, sent.Add(l.Delay+l.Jitter)); at.After(high) {
						t.Fatalf("chunk %d delivered %v after the upper bound", i, at.Sub(high))
					}
				}
				prev = at
			}
			if want := int(l.Loss * 10000); l.Loss > 0 && (lost < want/2 || lost > 2*want) {
				t.Errorf("%d chunks lost of 10000 at loss %v", lost, l.Loss)
			} else if l.Loss == 0 && lost != 0 {
				t.Errorf("%d chunks lost without loss", lost)
			}
		})
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestScheduleLossAddsRetransmit: a lost chunk arrives Retransmit late, 200ms + 2*Delay by
// default.
func TestScheduleLossAddsRetransmit(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		l    Link
		want time.Duration
	}{
		{Link{Delay: 40 * ms, Loss: 1}, 40*ms + 280*ms},
		{Link{Delay: 40 * ms, Loss: 1, Retransmit: 100 * ms}, 140 * ms},
		{Link{Loss: 1}, 200 * ms},
	}
	for _, tt := range tests {
		s := shaper{rng: rand.New(rand.NewPCG(1, 1))}
		now := time.Unix(1000, 0)
		at, lost := s.schedule(now, 100, tt.l)
		if !lost || at.Sub(now) != tt.want {
			t.Errorf("%+v: delivered after %v, lost %v; want %v, lost", tt.l, at.Sub(now), lost, tt.want)
		}
	}
}

// TestScheduleSerializes: chunks given to a limited link back to back leave it at its
// bandwidth, then take the delay.
func TestScheduleSerializes(t *testing.T) {
	t.Parallel()
	s := shaper{rng: rand.New(rand.NewPCG(1, 1))}
	l := Link{Delay: 10 * time.Millisecond, Bandwidth: 10_000}
	now := time.Unix(1000, 0)
	var at time.Time
	for range 10 {
		at, _ = s.schedule(now, 1000, l) // 100 ms each
	}
	if got, want := at.Sub(now), time.Second+10*time.Millisecond; got != want {
		t.Errorf("10 kB at 10 kB/s delivered after %v; want %v", got, want)
	}
	if got := s.backlog(now); got != time.Second {
		t.Errorf("backlog %v; want 1s", got)
	}
}

func TestSampleStaysInRange(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		l         Link
		low, high time.Duration
	}{
		{Link{Delay: 50 * ms, Jitter: 20 * ms}, 30 * ms, 70 * ms},
		{Link{Delay: 5 * ms, Jitter: 20 * ms}, 0, 25 * ms},
		{Link{Delay: 50 * ms, Jitter: 20 * ms, Dist: Normal}, 0, time.Hour},
		{Link{Delay: 50 * ms}, 50 * ms, 50 * ms},
	}
	for _, tt := range tests {
		r := rand.New(rand.NewPCG(7, 7))
		var sum time.Duration
		for range 20000 {
			d := tt.l.sample(r)
			if d < tt.low || d > tt.high {
				t.Fatalf("%+v: sampled %v outside [%v, %v]", tt.l, d, tt.low, tt.high)
			}
			sum += d
		}
		if mean := sum / 20000; tt.l.Delay >= tt.l.Jitter && (mean < tt.l.Delay-ms || mean > tt.l.Delay+ms) {
			t.Errorf("%+v: mean %v, want about %v", tt.l, mean, tt.l.Delay)
		}
	}
}

func TestReadSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bandwidth int64
		buf, want int
	}{
		{0, 32 << 10, 32 << 10},
		{125_000, 32 << 10, 2500}, // 1 mbit/s: 20 ms is 2500 bytes
		{1000, 32 << 10, 512},     // never below 512
		{100 << 20, 4096, 4096},   // never above the buffer
	}
	for _, tt := range tests {
		if got := readSize(Link{Bandwidth: tt.bandwidth}, tt.buf); got != tt.want {
			t.Errorf("readSize(%d B/s, %d) = %d; want %d", tt.bandwidth, tt.buf, got, tt.want)
		}
	}
}
