package main

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/internal/peertest"
)

// TestBrowserPlaysTag plays the tag page in headless Chromium: Ada on a desktop page with
// the arrow keys, Bob on a phone-sized touch page with a finger held on her. Both run (the
// server's positions move), Ada tags Bob, Bob's page gets the "tagged" event, and its
// snapshots then show Bob as it, through the room state.
func TestBrowserPlaysTag(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	chromium := peertest.Chromium(t)
	node := peertest.Node(t)
	e, handler, err := newServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(func() { srv.Close(); _ = e.Shutdown(context.Background()) })
	script, err := filepath.Abs(filepath.Join("testdata", "play.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lines, err := peertest.Run(ctx, t, node, script, "--url", srv.URL, "--chromium", chromium, "--peers", peertest.PeersDir(t))
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	type runner struct {
		X, Y float64
		It   bool
	}
	var r struct {
		Error              string
		Errors             []string
		AdaFirst, BobFirst *runner
		AdaLast, BobLast   *runner
		Tagged             *struct{ By, It string }
		Ms                 float64
		Tags               int
	}
	if len(lines) == 0 {
		t.Fatal("the driver printed nothing")
	}
	if err := lines[len(lines)-1].Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.Error != "" {
		t.Fatalf("the driver failed: %s", r.Error)
	}
	for _, e := range r.Errors {
		t.Errorf("page error: %s", e)
	}
	if r.AdaFirst == nil || r.BobFirst == nil || !r.AdaFirst.It || r.BobFirst.It {
		t.Fatalf("at the start Ada %+v, Bob %+v: want both on the field, Ada it", r.AdaFirst, r.BobFirst)
	}
	if r.Tagged == nil {
		t.Fatalf("no tag within 20 s: Ada %+v → %+v, Bob %+v → %+v", r.AdaFirst, r.AdaLast, r.BobFirst, r.BobLast)
	}
	t.Logf("%s tagged %s after %.0f ms; Ada %+v → %+v, Bob %+v → %+v", r.Tagged.By, r.Tagged.It, r.Ms, *r.AdaFirst, r.AdaLast, *r.BobFirst, r.BobLast)
	if r.Tagged.By != "Ada" || r.Tagged.It != "Bob" {
		t.Errorf("tagged %+v, want Ada tagging Bob", *r.Tagged)
	}
	if r.Tags != 1 || r.AdaLast == nil || r.BobLast == nil || !r.BobLast.It || r.AdaLast.It {
		t.Errorf("after the tag Bob's page shows %d tags, Ada %+v, Bob %+v: want one tag, Bob it", r.Tags, r.AdaLast, r.BobLast)
	}
	if r.BobLast != nil && math.Hypot(r.BobLast.X-r.BobFirst.X, r.BobLast.Y-r.BobFirst.Y) < 2*Speed {
		t.Errorf("Bob's finger did not move him: %+v → %+v", *r.BobFirst, *r.BobLast)
	}
}
