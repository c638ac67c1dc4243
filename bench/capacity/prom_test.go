package main

import (
	"math"
	"strings"
	"testing"
)

const scrapeA = `# HELP rallypoint_tick_lateness_seconds How late room ticks started against their schedule.
# TYPE rallypoint_tick_lateness_seconds histogram
rallypoint_tick_lateness_seconds_bucket{le="0.001"} 100
rallypoint_tick_lateness_seconds_bucket{le="0.005"} 100
rallypoint_tick_lateness_seconds_bucket{le="0.01"} 100
rallypoint_tick_lateness_seconds_bucket{le="+Inf"} 100
rallypoint_tick_lateness_seconds_sum 0.01
rallypoint_tick_lateness_seconds_count 100
rallypoint_rooms 3
rallypoint_rooms_refused_total{reason="rate"} 7
`

// scrapeB adds 1000 ticks: 980 within 1 ms, 10 in (1, 5] ms, 10 in (5, 10] ms.
const scrapeB = `rallypoint_tick_lateness_seconds_bucket{le="0.001"} 1080
rallypoint_tick_lateness_seconds_bucket{le="0.005"} 1090
rallypoint_tick_lateness_seconds_bucket{le="0.01"} 1100
rallypoint_tick_lateness_seconds_bucket{le="+Inf"} 1100
rallypoint_rooms 3
`

func TestParseMetricsAndWindowQuantiles(t *testing.T) {
	a, err := parseMetrics(strings.NewReader(scrapeA))
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseMetrics(strings.NewReader(scrapeB))
	if err != nil {
		t.Fatal(err)
	}
	if a.values["rallypoint_rooms"] != 3 {
		t.Errorf("rooms %v, want 3", a.values["rallypoint_rooms"])
	}
	const name = "rallypoint_tick_lateness_seconds"
	d, err := b.histograms[name].minus(a.histograms[name])
	if err != nil {
		t.Fatal(err)
	}
	if d.total() != 1000 {
		t.Fatalf("window ticks %v, want 1000", d.total())
	}
	cases := []struct {
		q, want float64
	}{
		{0.5, 0.001 * 500 / 980},            // inside the first bucket, from 0
		{0.98, 0.001},                       // the first bucket's bound exactly
		{0.99, 0.001 + 0.004*(990-980)/10},  // the top of (1, 5] ms
		{0.995, 0.005 + 0.005*(995-990)/10}, // halfway into (5, 10] ms
		{1, 0.01},                           // the largest finite bound
	}
	for _, c := range cases {
		if got := d.quantile(c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("q%.3f = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestQuantileOfTheInfBucketIsTheLargestBound(t *testing.T) {
	h := histogram{bounds: []float64{0.001, 0.005, math.Inf(1)}, counts: []float64{1, 1, 100}}
	if got := h.quantile(0.99); got != 0.005 {
		t.Errorf("p99 %v, want 0.005 (a p99 in the +Inf bucket is at least the largest bound)", got)
	}
	if got := (histogram{}).quantile(0.99); !math.IsNaN(got) {
		t.Errorf("empty histogram p99 %v, want NaN", got)
	}
}

func TestMinusRefusesAServerThatRestarted(t *testing.T) {
	a := histogram{bounds: []float64{0.001, math.Inf(1)}, counts: []float64{10, 10}}
	b := histogram{bounds: []float64{0.001, math.Inf(1)}, counts: []float64{5, 5}}
	if _, err := b.minus(a); err == nil {
		t.Error("a histogram that went backwards was accepted")
	}
	c := histogram{bounds: []float64{0.002, math.Inf(1)}, counts: []float64{20, 20}}
	if _, err := c.minus(a); err == nil {
		t.Error("histograms with different buckets were subtracted")
	}
}

func TestParseMetricsRejectsAHistogramWithoutInf(t *testing.T) {
	_, err := parseMetrics(strings.NewReader(`x_bucket{le="0.1"} 3` + "\n"))
	if err == nil {
		t.Error("a histogram without a +Inf bucket was accepted")
	}
}
