package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestScraperReportsTheWindowsLateness: the scraper reads the server's histogram at the
// start and the end of the measured phase and reports the quantiles of the ticks between.
func TestScraperReportsTheWindowsLateness(t *testing.T) {
	pages := []string{
		"# TYPE rallypoint_tick_lateness_seconds histogram\n" +
			"rallypoint_tick_lateness_seconds_bucket{le=\"0.001\"} 100\n" +
			"rallypoint_tick_lateness_seconds_bucket{le=\"0.01\"} 100\n" +
			"rallypoint_tick_lateness_seconds_bucket{le=\"+Inf\"} 100\n" +
			"rallypoint_tick_lateness_seconds_sum 0.01\nrallypoint_tick_lateness_seconds_count 100\n",
		// 100 more ticks, 50 within 1 ms and 50 in (1, 10] ms.
		"# TYPE rallypoint_tick_lateness_seconds histogram\n" +
			"rallypoint_tick_lateness_seconds_bucket{le=\"0.001\"} 150\n" +
			"rallypoint_tick_lateness_seconds_bucket{le=\"0.01\"} 200\n" +
			"rallypoint_tick_lateness_seconds_bucket{le=\"+Inf\"} 200\n" +
			"rallypoint_tick_lateness_seconds_sum 0.3\nrallypoint_tick_lateness_seconds_count 200\n",
	}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(pages[min(int(n.Add(1))-1, 1)]))
	}))
	defer srv.Close()
	s := &scraper{url: srv.URL}
	s.begin(context.Background())
	s.end(context.Background())
	rows := s.rows()
	if len(rows) != 1 || rows[0].value != "p50 1.00 ms  p99 9.82 ms  (100 ticks)" {
		t.Fatalf("rows %q", rows)
	}

	missing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("rallypoint_rooms 3\n"))
	}))
	defer missing.Close()
	s = &scraper{url: missing.URL}
	s.begin(context.Background())
	s.end(context.Background())
	if rows := s.rows(); len(rows) != 1 || !strings.Contains(rows[0].value, "no histogram rallypoint_tick_lateness_seconds") {
		t.Fatalf("a page without the histogram: %q", rows)
	}
}
