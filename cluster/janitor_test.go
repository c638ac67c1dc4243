package cluster

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/match"
)

// TestPurgeMarkersLeavesNoTrace checks that the rooms and codes buckets hold nothing
// once the rooms that ended have their delete markers purged: a new watcher is sent nothing.
func TestPurgeMarkersLeavesNoTrace(t *testing.T) {
	url, shutdown, err := Embedded(EmbeddedOptions{Addr: "127.0.0.1:0", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := Connect(ctx, url, Options{ID: "a", URL: "ws://a", Interval: 200 * time.Millisecond,
		Timeout: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(ctx)
	for _, step := range []func() error{
		func() error { return n.PublishRoom(ctx, match.Entry{ID: "r", Game: "g", MaxPlayers: 2}) },
		func() error { return n.CreateCode(ctx, "ABCD", "r") },
		func() error { return n.ReleaseCode(ctx, "ABCD") },
		func() error { return n.RemoveRoom(ctx, "r") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	_, rooms, codes := n.buckets()
	values := func() (total uint64) {
		for _, b := range []string{rooms.Bucket(), codes.Bucket()} {
			kv, err := n.js.KeyValue(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			st, err := kv.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			total += st.Values()
		}
		return total
	}
	if v := values(); v != 2 {
		t.Fatalf("before the purge the buckets hold %d messages, want 2 delete markers", v)
	}
	if err := n.purgeMarkers(ctx, -1); err != nil {
		t.Fatal(err)
	}
	if v := values(); v != 0 {
		t.Errorf("after the purge the buckets hold %d messages", v)
	}
}
