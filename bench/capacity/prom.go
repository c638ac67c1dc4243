package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// metrics is one scrape of a Prometheus text endpoint: the unlabelled samples by name and
// the buckets of every histogram. Only what the harness reads is kept; labelled samples
// other than buckets are skipped.
type metrics struct {
	values     map[string]float64
	histograms map[string]histogram
}

// histogram is a Prometheus histogram: cumulative counts by upper bound, +Inf last.
type histogram struct {
	bounds []float64
	counts []float64
}

// parseMetrics reads the Prometheus text format (version 0.0.4).
func parseMetrics(r io.Reader) (metrics, error) {
	m := metrics{values: map[string]float64{}, histograms: map[string]histogram{}}
	type bucket struct{ le, n float64 }
	buckets := map[string][]bucket{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			return metrics{}, fmt.Errorf("metrics: no value in %q", line)
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			return metrics{}, fmt.Errorf("metrics: %q: %w", line, err)
		}
		name, labels := line[:sp], ""
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name, labels = name[:i], name[i:]
		}
		switch {
		case labels == "":
			m.values[name] = v
		case strings.HasSuffix(name, "_bucket"):
			le, ok := label(labels, "le")
			if !ok {
				return metrics{}, fmt.Errorf("metrics: bucket without le: %q", line)
			}
			b, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
			if err != nil {
				return metrics{}, fmt.Errorf("metrics: bucket le %q: %w", le, err)
			}
			base := strings.TrimSuffix(name, "_bucket")
			buckets[base] = append(buckets[base], bucket{b, v})
		}
	}
	if err := sc.Err(); err != nil {
		return metrics{}, err
	}
	for name, bs := range buckets {
		sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
		var h histogram
		for _, b := range bs {
			h.bounds = append(h.bounds, b.le)
			h.counts = append(h.counts, b.n)
		}
		if !math.IsInf(h.bounds[len(h.bounds)-1], 1) {
			return metrics{}, fmt.Errorf("metrics: histogram %s has no +Inf bucket", name)
		}
		m.histograms[name] = h
	}
	return m, nil
}

// label returns the value of one label in a {a="x",b="y"} set.
func label(set, name string) (string, bool) {
	for _, kv := range strings.Split(strings.Trim(set, "{}"), ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.TrimSpace(k) == name {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

// minus is the histogram of what was observed between o and h (o taken first).
func (h histogram) minus(o histogram) (histogram, error) {
	if len(o.bounds) == 0 {
		return h, nil // nothing observed before: a server that had not ticked yet
	}
	if len(h.bounds) != len(o.bounds) {
		return histogram{}, fmt.Errorf("metrics: histogram buckets changed between scrapes")
	}
	d := histogram{bounds: h.bounds, counts: make([]float64, len(h.counts))}
	for i := range h.counts {
		if h.bounds[i] != o.bounds[i] {
			return histogram{}, fmt.Errorf("metrics: histogram buckets changed between scrapes")
		}
		d.counts[i] = h.counts[i] - o.counts[i]
		if d.counts[i] < 0 {
			return histogram{}, fmt.Errorf("metrics: histogram went backwards (a restarted server?)")
		}
	}
	return d, nil
}

// total is the number of observations.
func (h histogram) total() float64 {
	if len(h.counts) == 0 {
		return 0
	}
	return h.counts[len(h.counts)-1]
}

// quantile estimates the q-quantile as PromQL's histogram_quantile does: linear
// interpolation inside the bucket that holds the rank, the lowest bucket starting at 0,
// and the largest finite bound when the rank falls in the +Inf bucket. So a p99 below a
// bucket bound b means at least 99% of the observations were at most b. NaN when empty.
func (h histogram) quantile(q float64) float64 {
	n := h.total()
	if n == 0 {
		return math.NaN()
	}
	rank := q * n
	for i, c := range h.counts {
		if c < rank {
			continue
		}
		if math.IsInf(h.bounds[i], 1) {
			if i == 0 {
				return math.NaN()
			}
			return h.bounds[i-1]
		}
		lo, below := 0.0, 0.0
		if i > 0 {
			lo, below = h.bounds[i-1], h.counts[i-1]
		}
		if c == below {
			return h.bounds[i]
		}
		return lo + (h.bounds[i]-lo)*(rank-below)/(c-below)
	}
	return h.bounds[len(h.bounds)-1]
}
