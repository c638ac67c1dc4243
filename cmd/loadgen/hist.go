package main

import (
	"math"
	"math/bits"
	"slices"
	"sync/atomic"
)

// hist is a concurrent histogram of non-negative values (the load generator records
// microseconds) in log-linear buckets, after HdrHistogram: values below 128 have a bucket
// each, and every power of two above is cut into 64 buckets, so a quantile is off by less
// than 1/128 of its value (the midpoint of a bucket 1/64 wide). Its memory is fixed, whatever
// the number of samples, and Record is a few atomic adds: thousands of bots record into one.
type hist struct {
	counts [histBuckets]atomic.Int64
	n      atomic.Int64
	min1   atomic.Int64 // the minimum plus one; 0 before the first value
	max    atomic.Int64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits // exact buckets below this value
	histHalf    = histSub / 2      // buckets per power of two above it
	histMaxExp  = 40               // values up to 2^47 (µs: four years)
	histBuckets = histSub + histMaxExp*histHalf
)

// histIndex returns the bucket of v.
func histIndex(v int64) int {
	if v < histSub {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - histSubBits // >= 1
	if e > histMaxExp {
		return histBuckets - 1
	}
	m := int(v >> e) // in [histHalf, histSub)
	return histSub + (e-1)*histHalf + m - histHalf
}

// histBounds returns the smallest value of bucket i and the bucket's width.
func histBounds(i int) (lo, width int64) {
	if i < histSub {
		return int64(i), 1
	}
	e := (i-histSub)/histHalf + 1
	m := int64((i-histSub)%histHalf + histHalf)
	return m << e, 1 << e
}

// Record adds one value; negative values count as 0.
func (h *hist) Record(v int64) {
	v = max(v, 0)
	h.counts[histIndex(v)].Add(1)
	h.n.Add(1)
	for {
		m := h.min1.Load()
		if (m != 0 && v+1 >= m) || h.min1.CompareAndSwap(m, v+1) {
			break
		}
	}
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// Count is the number of values recorded.
func (h *hist) Count() int64 { return h.n.Load() }

// Min is the smallest value recorded, exactly; 0 if none.
func (h *hist) Min() int64 { return max(h.min1.Load()-1, 0) }

// Max is the largest value recorded, exactly; 0 if none.
func (h *hist) Max() int64 { return h.max.Load() }

// Quantile returns the q-quantile (0 <= q <= 1) by the nearest-rank rule: the value of the
// ceil(q*n)-th smallest sample, as the midpoint of its bucket, clamped to the exact minimum
// and maximum. It returns 0 for an empty histogram. It may run while values are recorded,
// and then sees some of them.
func (h *hist) Quantile(q float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := nearestRank(n, q)
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen < rank {
			continue
		}
		lo, w := histBounds(i)
		v := float64(lo)
		if w > 1 {
			v += float64(w-1) / 2
		}
		return min(max(v, float64(h.Min())), float64(h.max.Load()))
	}
	return float64(h.max.Load()) // counts raced ahead of n
}

// nearestRank is the 1-based rank of the q-quantile among n values: ceil(q*n), at least 1.
func nearestRank(n int64, q float64) int64 {
	r := int64(math.Ceil(q * float64(n)))
	return min(max(r, 1), n)
}

// quantileSorted returns the q-quantile of sorted values by the nearest-rank rule, 0 for none.
func quantileSorted(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[nearestRank(int64(len(sorted)), q)-1]
}

// sortedCopy returns the values sorted, leaving vs as it was.
func sortedCopy(vs []int64) []int64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	return s
}
