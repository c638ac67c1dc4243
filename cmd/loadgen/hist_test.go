package main

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestHistBucketsCoverEveryValueOnce(t *testing.T) {
	prevEnd := int64(0)
	for i := range histBuckets {
		lo, w := histBounds(i)
		if lo != prevEnd {
			t.Fatalf("bucket %d starts at %d, the previous one ended at %d", i, lo, prevEnd)
		}
		for _, v := range []int64{lo, lo + w/2, lo + w - 1} {
			if got := histIndex(v); got != i {
				t.Fatalf("histIndex(%d) = %d, want %d (bucket [%d, %d))", v, got, i, lo, lo+w)
			}
		}
		if i >= histSub && float64(w)/float64(lo) > 1.0/histHalf+1e-12 {
			t.Fatalf("bucket %d is %d wide at %d: more than 1/%d", i, w, lo, histHalf)
		}
		prevEnd = lo + w
	}
	if histIndex(math.MaxInt64) != histBuckets-1 || histIndex(-5) != 0 {
		t.Error("values out of range are not clamped to the end buckets")
	}
}

func TestNearestRank(t *testing.T) {
	tests := []struct {
		n    int64
		q    float64
		want int64
	}{
		{1, 0.5, 1}, {1, 0.99, 1}, {100, 0.5, 50}, {100, 0.99, 99}, {100, 1, 100},
		{101, 0.5, 51}, {1000, 0.999, 999}, {10, 0, 1}, {3, 0.99, 3},
	}
	for _, tt := range tests {
		if got := nearestRank(tt.n, tt.q); got != tt.want {
			t.Errorf("nearestRank(%d, %v) = %d, want %d", tt.n, tt.q, got, tt.want)
		}
	}
}

func TestQuantileSorted(t *testing.T) {
	vs := []int64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
	tests := []struct {
		q    float64
		want int64
	}{{0, 10}, {0.1, 10}, {0.5, 50}, {0.55, 60}, {0.9, 90}, {0.99, 100}, {1, 100}}
	for _, tt := range tests {
		if got := quantileSorted(vs, tt.q); got != tt.want {
			t.Errorf("q%v = %d, want %d", tt.q, got, tt.want)
		}
	}
	if quantileSorted(nil, 0.5) != 0 {
		t.Error("the quantile of nothing is not 0")
	}
}

// TestHistQuantilesWithinOnePercent compares the histogram's quantiles with the exact ones
// of the same samples, for distributions shaped like latencies.
func TestHistQuantilesWithinOnePercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() int64{
		"uniform small":  func() int64 { return rng.Int64N(100) },
		"uniform":        func() int64 { return 100 + rng.Int64N(100_000) },
		"exponential":    func() int64 { return int64(rng.ExpFloat64() * 400) },
		"long tail":      func() int64 { return int64(math.Exp(rng.NormFloat64()*1.5 + 6)) },
		"all the same":   func() int64 { return 12345 },
		"two far modes ": func() int64 { return []int64{300, 90_000_000}[rng.IntN(2)] },
	}
	for name, draw := range dists {
		t.Run(name, func(t *testing.T) {
			var h hist
			vs := make([]int64, 20000)
			for i := range vs {
				vs[i] = draw()
				h.Record(vs[i])
			}
			sorted := sortedCopy(vs)
			for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
				want := float64(quantileSorted(sorted, q))
				got := h.Quantile(q)
				if math.Abs(got-want) > max(want/100, 0.5) {
					t.Errorf("q%v = %.1f, exact %.0f", q, got, want)
				}
			}
			if h.Min() != sorted[0] || h.Max() != sorted[len(sorted)-1] || h.Count() != int64(len(vs)) {
				t.Errorf("min %d max %d count %d, want %d %d %d", h.Min(), h.Max(), h.Count(), sorted[0], sorted[len(sorted)-1], len(vs))
			}
		})
	}
	var empty hist
	if empty.Quantile(0.5) != 0 || empty.Min() != 0 || empty.Max() != 0 {
		t.Error("an empty histogram does not report zeros")
	}
}

func BenchmarkHistRecord(b *testing.B) {
	var h hist
	b.ReportAllocs()
	for i := range b.N {
		h.Record(int64(i % 100_000))
	}
}
