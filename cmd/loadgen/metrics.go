package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/rallypoint/rallypoint/internal/promtext"
)

// latenessMetric is the gameserver's histogram of how late room ticks started against their
// schedule: with many rooms on few cores, the first thing to suffer.
const latenessMetric = "rallypoint_tick_lateness_seconds"

// scraper reads the server's Prometheus endpoint at the start and the end of the measured
// phase and reports the tick lateness of the ticks in between, from the histogram's bucket
// deltas. A nil scraper does nothing.
type scraper struct {
	url           string
	before, after promtext.Histogram
	err           error
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
	d, err := s.after.Minus(s.before)
	if err != nil {
		return []row{{"server metrics", "unusable: " + err.Error()}}
	}
	n := d.Total()
	if n == 0 {
		return []row{{"server tick lateness", "no ticks in the measured phase"}}
	}
	return []row{{"server tick lateness", fmt.Sprintf("p50 %.2f ms  p99 %.2f ms  (%.0f ticks)",
		d.Quantile(0.50)*1e3, d.Quantile(0.99)*1e3, n)}}
}

// scrape fetches url and returns the histogram name.
func scrape(ctx context.Context, url, name string) (promtext.Histogram, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return promtext.Histogram{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return promtext.Histogram{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return promtext.Histogram{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	m, err := promtext.Parse(resp.Body)
	if err != nil {
		return promtext.Histogram{}, err
	}
	h, ok := m.Histograms[name]
	if !ok {
		return promtext.Histogram{}, fmt.Errorf("metrics: no histogram %s at %s", name, url)
	}
	return h, nil
}
