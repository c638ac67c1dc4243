package cluster_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rallypoint/rallypoint/cluster"
)

// The tests run heartbeats five times faster than the defaults, so that a node's death is
// seen within a second, and keep the ratio of timeout to interval (5) near the default's (3)
// with room for a busy machine under -race.
const (
	testInterval = 200 * time.Millisecond
	testTimeout  = time.Second
)

// natsServer is an embedded NATS server on loopback, with JetStream in a temp dir.
type natsServer struct {
	url, addr, dir string
	shutdown       func()
}

func startNATS(t *testing.T) *natsServer {
	t.Helper()
	s := &natsServer{dir: t.TempDir()}
	s.start(t, "127.0.0.1:0")
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *natsServer) start(t *testing.T, addr string) {
	t.Helper()
	url, shutdown, err := cluster.Embedded(cluster.EmbeddedOptions{Addr: addr, Dir: s.dir})
	if err != nil {
		t.Fatalf("embedded NATS: %v", err)
	}
	s.url, s.shutdown = url, shutdown
	s.addr = url[len("nats://"):]
}

func (s *natsServer) stop() {
	if s.shutdown != nil {
		s.shutdown()
		s.shutdown = nil
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// join connects a node with the test timings; more may change the options.
func join(t *testing.T, s *natsServer, id string, more func(*cluster.Options)) *cluster.Node {
	t.Helper()
	opts := cluster.Options{
		ID: id, URL: "ws://" + id + ".example:8080/ws",
		Interval: testInterval, Timeout: testTimeout, Logger: quiet,
	}
	if more != nil {
		more(&opts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := cluster.Connect(ctx, s.url, opts)
	if err != nil {
		t.Fatalf("join %s: %v", id, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = n.Close(ctx)
	})
	return n
}

func ids(nodes []cluster.NodeInfo) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.ID
	}
	sort.Strings(out)
	return out
}

// waitFor polls cond every 10 ms until it holds or within passes, and reports how long it took.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// rawBucket opens a bucket of the cluster over a connection of the test's own, to look at or
// tamper with what the nodes keep there.
func rawBucket(t *testing.T, s *natsServer, bucket string) jetstream.KeyValue {
	t.Helper()
	nc, err := nats.Connect(s.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctxT(t), bucket)
	if err != nil {
		t.Fatalf("bucket %s: %v", bucket, err)
	}
	return kv
}

// bucketKeys lists the keys of a bucket (none is an empty list).
func bucketKeys(t *testing.T, s *natsServer, bucket string) []string {
	t.Helper()
	keys, err := rawBucket(t, s, bucket).Keys(ctxT(t))
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		t.Fatal(err)
	}
	return keys
}

// threeNodes joins nodes a, b and c and waits until each sees the three.
func threeNodes(t *testing.T, s *natsServer) []*cluster.Node {
	t.Helper()
	nodes := []*cluster.Node{join(t, s, "a", nil), join(t, s, "b", nil), join(t, s, "c", nil)}
	for _, n := range nodes {
		waitFor(t, testTimeout, n.ID()+" sees all", func() bool { return len(n.Nodes()) == 3 })
	}
	return nodes
}
