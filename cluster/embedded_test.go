package cluster_test

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rallypoint/rallypoint/cluster"
)

func TestEmbeddedServesJetStreamOnLoopback(t *testing.T) {
	s := startNATS(t)
	nc, err := nats.Connect(s.url)
	if err != nil {
		t.Fatalf("connect %s: %v", s.url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	info, err := js.AccountInfo(ctxT(t))
	if err != nil {
		t.Fatalf("JetStream not enabled: %v", err)
	}
	if info.API.Level < 1 {
		t.Errorf("JetStream API level %d: limit markers (level 1) are needed", info.API.Level)
	}
}

func TestEmbeddedRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts cluster.EmbeddedOptions
	}{
		{"no dir", cluster.EmbeddedOptions{Addr: "127.0.0.1:0"}},
		{"no port", cluster.EmbeddedOptions{Addr: "127.0.0.1", Dir: t.TempDir()}},
		{"bad port", cluster.EmbeddedOptions{Addr: "127.0.0.1:http", Dir: t.TempDir()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, shutdown, err := cluster.Embedded(tc.opts); err == nil {
				shutdown()
				t.Fatal("no error")
			}
		})
	}
}

func TestEmbeddedOnAGivenAddress(t *testing.T) {
	addr := freeAddr(t)
	url, shutdown, err := cluster.Embedded(cluster.EmbeddedOptions{Addr: addr, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown()
	if url != "nats://"+addr {
		t.Errorf("url %q, want nats://%s", url, addr)
	}
}
