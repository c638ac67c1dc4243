package main

import (
	"math"
	"strings"
	"testing"
)

const sampleMetrics = `# HELP rallypoint_tick_lateness_seconds How late room ticks started against their schedule.
# TYPE rallypoint_tick_lateness_seconds histogram
rallypoint_tick_lateness_seconds_bucket{le="0.001"} 50
rallypoint_tick_lateness_seconds_bucket{le="0.002"} 80
rallypoint_tick_lateness_seconds_bucket{le="0.005"} 95
rallypoint_tick_lateness_seconds_bucket{le="0.01"} 100
rallypoint_tick_lateness_seconds_bucket{le="+Inf"} 100
rallypoint_tick_lateness_seconds_sum 0.2
rallypoint_tick_lateness_seconds_count 100
rallypoint_rooms 3
`

func TestParseHistogram(t *testing.T) {
	h, err := parseHistogram(strings.NewReader(sampleMetrics), latenessMetric)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.bounds) != 5 || !math.IsInf(h.bounds[4], 1) || h.counts[1] != 80 || h.total() != 100 {
		t.Errorf("parsed %+v", h)
	}
	if _, err := parseHistogram(strings.NewReader("rallypoint_rooms 3\n"), latenessMetric); err == nil {
		t.Error("a page without the histogram parsed")
	}
}

func TestHistogramDeltaQuantiles(t *testing.T) {
	before := histogram{bounds: []float64{0.001, 0.002, 0.005, 0.01, math.Inf(1)}, counts: []float64{10, 10, 10, 10, 10}}
	after := histogram{bounds: before.bounds, counts: []float64{60, 90, 105, 110, 110}}
	d, err := after.minus(before)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ q, want float64 }{
		{0.25, 0.0005}, // rank 25 of 100, half way through the first bucket [0, 1ms]
		{0.5, 0.001},   // rank 50: the end of the first bucket
		{0.65, 0.0015}, // rank 65: half way through [1ms, 2ms]
		{0.99, 0.009},  // rank 99: 4 of the 5 in [5ms, 10ms]
		{1, 0.01},
	}
	for _, tt := range tests {
		if got := d.quantile(tt.q); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("q%v = %v, want %v", tt.q, got, tt.want)
		}
	}
	overflow := histogram{bounds: []float64{0.001, math.Inf(1)}, counts: []float64{1, 10}}
	if got := overflow.quantile(0.99); got != 0.001 {
		t.Errorf("a quantile in the +Inf bucket is %v, want the highest finite bound", got)
	}
	if _, err := before.minus(after); err == nil {
		t.Error("counts going down were accepted")
	}
}
