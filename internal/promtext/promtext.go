// Package promtext reads one scrape of a Prometheus text endpoint for the project's load
// tools (cmd/loadgen, bench/capacity): the unlabelled samples by name, and histograms as
// cumulative bucket counts, with what a tool needs to judge a window between two scrapes
// (Minus) and a quantile estimated as PromQL's histogram_quantile does. The text format is
// parsed by the Prometheus project's own parser (expfmt), not by hand.
package promtext

import (
	"fmt"
	"io"
	"math"
	"slices"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is one read of an endpoint: the samples without labels, by name (counters,
// gauges, untyped), and every histogram without labels other than le.
type Scrape struct {
	Values     map[string]float64
	Histograms map[string]Histogram
}

// Histogram is a Prometheus histogram: cumulative counts by upper bound, +Inf last.
type Histogram struct {
	Bounds []float64
	Counts []float64
}

// Parse reads the Prometheus text format (0.0.4). Labelled samples other than a histogram's
// buckets are left out: the tools read the server's own unlabelled series.
func Parse(r io.Reader) (Scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return Scrape{}, fmt.Errorf("metrics: %w", err)
	}
	s := Scrape{Values: map[string]float64{}, Histograms: map[string]Histogram{}}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) > 0 {
				continue
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				s.Values[name] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s.Values[name] = m.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				s.Values[name] = m.GetUntyped().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := histogramOf(m.GetHistogram())
				s.Histograms[name] = h
			}
		}
	}
	return s, nil
}

// histogramOf turns the parser's buckets (finite bounds, ascending, cumulative) and sample
// count (the +Inf bucket) into a Histogram.
func histogramOf(m *dto.Histogram) Histogram {
	var h Histogram
	for _, b := range m.GetBucket() {
		if math.IsInf(b.GetUpperBound(), 1) {
			continue
		}
		h.Bounds = append(h.Bounds, b.GetUpperBound())
		h.Counts = append(h.Counts, float64(b.GetCumulativeCount()))
	}
	h.Bounds = append(h.Bounds, math.Inf(1))
	h.Counts = append(h.Counts, float64(m.GetSampleCount()))
	return h
}

// Minus is the histogram of what was observed between old and h (old scraped first). An
// empty old (a server that had observed nothing yet) leaves h.
func (h Histogram) Minus(old Histogram) (Histogram, error) {
	if len(old.Bounds) == 0 {
		return h, nil
	}
	if !slices.Equal(h.Bounds, old.Bounds) {
		return Histogram{}, fmt.Errorf("metrics: the histogram's buckets changed between the scrapes")
	}
	d := Histogram{Bounds: h.Bounds, Counts: make([]float64, len(h.Counts))}
	for i := range h.Counts {
		d.Counts[i] = h.Counts[i] - old.Counts[i]
		if d.Counts[i] < 0 {
			return Histogram{}, fmt.Errorf("metrics: the histogram went backwards between the scrapes (a restarted server?)")
		}
	}
	return d, nil
}

// Total is the number of observations.
func (h Histogram) Total() float64 {
	if len(h.Counts) == 0 {
		return 0
	}
	return h.Counts[len(h.Counts)-1]
}

// Quantile estimates the q-quantile as PromQL's histogram_quantile does: linear
// interpolation inside the bucket that holds the rank, the lowest bucket starting at 0,
// and the largest finite bound when the rank falls in the +Inf bucket. So a p99 below a
// bucket bound b means at least 99% of the observations were at most b. NaN when empty.
func (h Histogram) Quantile(q float64) float64 {
	n := h.Total()
	if n == 0 {
		return math.NaN()
	}
	rank := q * n
	for i, c := range h.Counts {
		if c < rank {
			continue
		}
		if math.IsInf(h.Bounds[i], 1) {
			if i == 0 {
				return math.NaN()
			}
			return h.Bounds[i-1]
		}
		lo, below := 0.0, 0.0
		if i > 0 {
			lo, below = h.Bounds[i-1], h.Counts[i-1]
		}
		if c == below {
			return h.Bounds[i]
		}
		return lo + (h.Bounds[i]-lo)*(rank-below)/(c-below)
	}
	return h.Bounds[len(h.Bounds)-1]
}
