package promtext

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
# TYPE rallypoint_rooms gauge
rallypoint_rooms 3
# TYPE rallypoint_rooms_refused_total counter
rallypoint_rooms_refused_total{reason="rate"} 7
rallypoint_untyped 1.5
`

// scrapeB adds 1000 ticks: 980 within 1 ms, 10 in (1, 5] ms, 10 in (5, 10] ms.
const scrapeB = `# TYPE rallypoint_tick_lateness_seconds histogram
rallypoint_tick_lateness_seconds_bucket{le="0.001"} 1080
rallypoint_tick_lateness_seconds_bucket{le="0.005"} 1090
rallypoint_tick_lateness_seconds_bucket{le="0.01"} 1100
rallypoint_tick_lateness_seconds_bucket{le="+Inf"} 1100
rallypoint_tick_lateness_seconds_sum 1
rallypoint_tick_lateness_seconds_count 1100
`

const name = "rallypoint_tick_lateness_seconds"

func TestParseAndWindowQuantiles(t *testing.T) {
	a, err := Parse(strings.NewReader(scrapeA))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(strings.NewReader(scrapeB))
	if err != nil {
		t.Fatal(err)
	}
	if a.Values["rallypoint_rooms"] != 3 || a.Values["rallypoint_untyped"] != 1.5 {
		t.Errorf("values %v", a.Values)
	}
	if _, ok := a.Values["rallypoint_rooms_refused_total"]; ok {
		t.Error("a labelled counter was read as the unlabelled series")
	}
	h := a.Histograms[name]
	if len(h.Bounds) != 4 || !math.IsInf(h.Bounds[3], 1) || h.Total() != 100 {
		t.Fatalf("histogram %+v", h)
	}
	d, err := b.Histograms[name].Minus(a.Histograms[name])
	if err != nil {
		t.Fatal(err)
	}
	if d.Total() != 1000 {
		t.Fatalf("window total %v, want 1000", d.Total())
	}
	for _, c := range []struct{ q, want float64 }{
		{0.5, 0.001 * 500 / 980},       // rank 500 of 980 in the first bucket [0, 1 ms]
		{0.98, 0.001},                  // the end of the first bucket
		{0.985, 0.001 + 0.004*5/10},    // half way through (1, 5] ms
		{0.99, 0.005},                  // the end of (1, 5] ms
		{0.995, 0.005 + 0.005*5/10},    // half way through (5, 10] ms
		{1, 0.01},                      // the last finite bound
		{0.9999, 0.005 + 0.005*9.9/10}, // near the end
		{0.25, 0.001 * 250 / 980},
	} {
		if got := d.Quantile(c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("q%v = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestQuantileEdges(t *testing.T) {
	for _, c := range []struct {
		name string
		h    Histogram
		q    float64
		want float64 // NaN: none
	}{
		{"in the +Inf bucket: the highest finite bound", Histogram{[]float64{0.001, 0.005, math.Inf(1)}, []float64{1, 1, 100}}, 0.99, 0.005},
		{"empty", Histogram{}, 0.99, math.NaN()},
		{"nothing observed", Histogram{[]float64{0.001, math.Inf(1)}, []float64{0, 0}}, 0.5, math.NaN()},
		{"only +Inf", Histogram{[]float64{math.Inf(1)}, []float64{5}}, 0.5, math.NaN()},
	} {
		got := c.h.Quantile(c.q)
		if got != c.want && !(math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMinusRefusesWhatCannotBeAWindow(t *testing.T) {
	a := Histogram{[]float64{0.001, math.Inf(1)}, []float64{10, 10}}
	for _, c := range []struct {
		name string
		h    Histogram
	}{
		{"counts went down (a restarted server)", Histogram{[]float64{0.001, math.Inf(1)}, []float64{5, 5}}},
		{"other buckets", Histogram{[]float64{0.002, math.Inf(1)}, []float64{20, 20}}},
	} {
		if _, err := c.h.Minus(a); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if d, err := a.Minus(Histogram{}); err != nil || d.Total() != 10 {
		t.Errorf("minus nothing observed before: %+v, %v", d, err)
	}
}

func TestParseRefusesBrokenText(t *testing.T) {
	for _, in := range []string{
		"rallypoint_rooms three\n",
		"# TYPE x histogram\nx_bucket{le=\"zero\"} 3\n",
		"x{unclosed 1\n",
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(scrapeA)
	f.Add(scrapeB)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, h := range s.Histograms {
			if len(h.Bounds) != len(h.Counts) || len(h.Bounds) == 0 || !math.IsInf(h.Bounds[len(h.Bounds)-1], 1) {
				t.Fatalf("histogram %+v: not cumulative buckets ending at +Inf", h)
			}
			_ = h.Quantile(0.99)
		}
	})
}
