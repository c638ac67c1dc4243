package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// latenessMetric is the gameserver's histogram of how late room ticks started against their
// schedule: with many rooms on few cores, the first thing to suffer.
const latenessMetric = "rallypoint_tick_lateness_seconds"

// scraper reads the server's Prometheus endpoint at the start and the end of the measured
// phase and reports the tick lateness of the ticks in between, from the histogram's bucket
// deltas. A nil scraper does nothing.
type scraper struct {
	url           string
	before, after histogram
	err           error
}

// histogram is a Prometheus histogram: cumulative counts by upper bound, +Inf last.
type histogram struct {
	bounds []float64
	counts []float64
}

func (s *scraper) begin(ctx context.Context) {
	if s != nil {
		s.before, s.err = scrape(ctx, s.url, latenessMetric)
	}
}

func (s *scraper) end(ctx context.Context) {
	if s != nil && s.err == nil {
		s.after, s.err = scrape(ctx, s.url, latenessMetric)
	}
}

// rows are the report's lines about the server.
func (s *scraper) rows() []row {
	if s.err != nil {
		return []row{{"server metrics", "unavailable: " + s.err.Error()}}
	}
	d, err := s.after.minus(s.before)
	if err != nil {
		return []row{{"server metrics", "unusable: " + err.Error()}}
	}
	n := d.total()
	return []row{{"server tick lateness", fmt.Sprintf("p50 %.2f ms  p99 %.2f ms  (%.0f ticks)",
		d.quantile(0.50)*1e3, d.quantile(0.99)*1e3, n)}}
}

// scrape fetches url and parses the buckets of the histogram name.
func scrape(ctx context.Context, url, name string) (histogram, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return histogram{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return histogram{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return histogram{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseHistogram(resp.Body, name)
}

// parseHistogram reads the Prometheus text format and returns the buckets of the histogram
// name (a series without other labels than le, as the gameserver exports it).
func parseHistogram(r io.Reader, name string) (histogram, error) {
	type bucket struct{ le, count float64 }
	var bs []bucket
	prefix := name + `_bucket{le="`
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		le, value, ok := strings.Cut(rest, `"} `)
		if !ok {
			return histogram{}, fmt.Errorf("metrics: cannot read %q", line)
		}
		bound, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
		if err != nil {
			return histogram{}, fmt.Errorf("metrics: bucket bound in %q: %w", line, err)
		}
		value, _, _ = strings.Cut(value, " ") // an optional timestamp follows
		count, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return histogram{}, fmt.Errorf("metrics: bucket count in %q: %w", line, err)
		}
		bs = append(bs, bucket{bound, count})
	}
	if err := sc.Err(); err != nil {
		return histogram{}, err
	}
	if len(bs) == 0 {
		return histogram{}, fmt.Errorf("metrics: no histogram %s", name)
	}
	slices.SortFunc(bs, func(a, b bucket) int {
		switch {
		case a.le < b.le:
			return -1
		case a.le > b.le:
			return 1
		}
		return 0
	})
	if !math.IsInf(bs[len(bs)-1].le, 1) {
		return histogram{}, fmt.Errorf("metrics: histogram %s has no +Inf bucket", name)
	}
	var h histogram
	for _, b := range bs {
		h.bounds = append(h.bounds, b.le)
		h.counts = append(h.counts, b.count)
	}
	return h, nil
}

// minus returns the histogram of the observations made between old and h.
func (h histogram) minus(old histogram) (histogram, error) {
	if !slices.Equal(h.bounds, old.bounds) {
		return histogram{}, fmt.Errorf("the bucket bounds changed between the scrapes")
	}
	d := histogram{bounds: h.bounds, counts: make([]float64, len(h.counts))}
	for i := range h.counts {
		d.counts[i] = h.counts[i] - old.counts[i]
		if d.counts[i] < 0 {
			return histogram{}, fmt.Errorf("the counts went down between the scrapes (server restarted?)")
		}
	}
	return d, nil
}

func (h histogram) total() float64 {
	if len(h.counts) == 0 {
		return 0
	}
	return h.counts[len(h.counts)-1]
}

// quantile estimates the q-quantile as Prometheus's histogram_quantile does: linear
// interpolation inside the bucket where the rank falls, the lower bound of the first bucket
// being 0; in the +Inf bucket, the highest finite bound.
func (h histogram) quantile(q float64) float64 {
	n := h.total()
	if n == 0 {
		return 0
	}
	rank := q * n
	for i, c := range h.counts {
		if c < rank {
			continue
		}
		if math.IsInf(h.bounds[i], 1) {
			if i == 0 {
				return 0
			}
			return h.bounds[i-1]
		}
		lo, prev := 0.0, 0.0
		if i > 0 {
			lo, prev = h.bounds[i-1], h.counts[i-1]
		}
		if c == prev {
			return h.bounds[i]
		}
		return lo + (h.bounds[i]-lo)*(rank-prev)/(c-prev)
	}
	return 0 // unreachable: the last count is n >= rank
}
