package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rallypoint/rallypoint/cluster"
	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/match"
)

// clusterOptions are the -nats* flags: empty natsURL and natsListen keep the server a single
// node with no NATS at all.
type clusterOptions struct {
	natsURL    string        // -nats: join the cluster of this NATS server
	natsListen string        // -nats-listen: run an embedded NATS server here, and join it
	natsDir    string        // -nats-dir: the embedded server's JetStream files
	nodeID     string        // -node-id
	publicURL  string        // -public-url: the WebSocket URL browsers reach this node at
	drain      time.Duration // -drain: how long rooms may play on after SIGTERM
	maxPlayers int           // -node-max-players: placement sends no new room past this many players here (0: no cap)
	maxRooms   int           // -max-rooms: placement's cap on rooms here too
}

func (o clusterOptions) enabled() bool { return o.natsURL != "" || o.natsListen != "" }

// clusterNode is this process's part of a cluster.
type clusterNode struct {
	node         *cluster.Node
	mm           *cluster.Matchmaker // nil with -matchmaking=false
	stopEmbedded func()              // nil without -nats-listen
}

// joinCluster starts the embedded NATS server if asked, connects to NATS and makes the
// engine a node of the cluster. addr is the address the server listens on, to derive the
// defaults of the node id and public URL.
func joinCluster(ctx context.Context, e *engine.Engine, addr net.Addr, o clusterOptions, tls bool, log *slog.Logger) (*clusterNode, error) {
	cn := &clusterNode{}
	url := o.natsURL
	if o.natsListen != "" {
		dir := o.natsDir
		if dir == "" {
			dir = filepath.Join(os.TempDir(), "rallypoint-nats-"+strings.NewReplacer(":", "_", "[", "", "]", "").Replace(o.natsListen))
		}
		u, stop, err := cluster.Embedded(cluster.EmbeddedOptions{Addr: o.natsListen, Dir: dir})
		if err != nil {
			return nil, fmt.Errorf("embedded NATS on %s: %w", o.natsListen, err)
		}
		cn.stopEmbedded = stop
		if url == "" {
			url = u
		}
		log.Info("embedded NATS listening", "url", u, "dir", dir)
	}
	id, public := o.nodeID, o.publicURL
	host, port, _ := net.SplitHostPort(addr.String())
	if id == "" {
		name, _ := os.Hostname()
		id = sanitizeID(name + "-" + port)
	}
	if public == "" {
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			host = "127.0.0.1" // a node on every interface: a local cluster; set -public-url for others
		}
		scheme := "ws"
		if tls {
			scheme = "wss"
		}
		public = scheme + "://" + net.JoinHostPort(host, port) + "/play"
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cpu := new(cpuMeter)
	load := func() cluster.Load {
		l := e.Load()
		l.CPU = cpu.share()
		return l
	}
	n, err := cluster.Connect(cctx, url, cluster.Options{ID: id, URL: public, Load: load, Logger: log, MaxPlayers: o.maxPlayers, MaxRooms: o.maxRooms})
	if err != nil {
		cn.close()
		return nil, err
	}
	cn.node = n
	if err := e.EnableCluster(engine.ClusterOptions{Node: n}); err != nil {
		cn.close()
		return nil, err
	}
	log.Info("joined the cluster", "node", id, "url", public, "nats", url, "nodes", len(n.Nodes()))
	return cn, nil
}

// sanitizeID keeps the characters a node id may have (cluster.Options.ID).
func sanitizeID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	if len(b) > 64 {
		b = b[len(b)-64:]
	}
	return string(b)
}

// close leaves the cluster and stops the embedded NATS server, in that order.
func (cn *clusterNode) close() {
	if cn == nil {
		return
	}
	if cn.node != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = cn.node.Close(ctx)
		cancel()
	}
	if cn.stopEmbedded != nil {
		cn.stopEmbedded()
	}
}

// clusterCollector exports the cluster's view as Prometheus series.
type clusterCollector struct {
	n                            *cluster.Node
	e                            *engine.Metrics
	nodes, remoteRooms, draining *prometheus.Desc
	redirects, requests, synced  *prometheus.Desc
	leading                      *prometheus.Desc
	mm                           func() *cluster.Matchmaker
}

func newClusterCollector(n *cluster.Node, e *engine.Metrics) *clusterCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("rallypoint_cluster_"+name, help, nil, nil)
	}
	return &clusterCollector{
		n: n, e: e,
		nodes:       d("nodes", "Live nodes of the cluster, this one included."),
		remoteRooms: d("remote_rooms", "Public rooms of the other nodes in this node's directory."),
		draining:    d("draining_nodes", "Live nodes that are draining."),
		redirects:   d("redirects_total", "Joins answered with a redirect to another node (0x1B)."),
		requests:    d("seat_requests_total", "Seat requests sent to other nodes."),
		synced:      d("synced", "1 while this node's view of the cluster is current (NATS reachable)."),
		leading: prometheus.NewDesc("rallypoint_cluster_matcher_leader", "1 for the node that holds the matchmaker's lease (label: its id, as this node sees it).",
			[]string{"leader"}, nil),
	}
}

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.nodes, c.remoteRooms, c.draining, c.redirects, c.requests, c.synced, c.leading} {
		ch <- d
	}
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	nodes := c.n.Nodes()
	draining := 0
	for _, ni := range nodes {
		if ni.Draining {
			draining++
		}
	}
	remote := 0
	for _, r := range c.n.Rooms(matchAll) {
		if r.Node != c.n.ID() {
			remote++
		}
	}
	synced := 0.0
	if c.n.Synced() {
		synced = 1
	}
	ch <- prometheus.MustNewConstMetric(c.nodes, prometheus.GaugeValue, float64(len(nodes)))
	ch <- prometheus.MustNewConstMetric(c.remoteRooms, prometheus.GaugeValue, float64(remote))
	ch <- prometheus.MustNewConstMetric(c.draining, prometheus.GaugeValue, float64(draining))
	ch <- prometheus.MustNewConstMetric(c.redirects, prometheus.CounterValue, float64(c.e.Redirects.Load()))
	ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(c.e.ClusterRequests.Load()))
	ch <- prometheus.MustNewConstMetric(c.synced, prometheus.GaugeValue, synced)
	if c.mm != nil {
		if mm := c.mm(); mm != nil {
			leading := 0.0
			if mm.Leading() {
				leading = 1
			}
			ch <- prometheus.MustNewConstMetric(c.leading, prometheus.GaugeValue, leading, mm.Leader())
		}
	}
}

// matchAll is a directory filter that passes every public room.
var matchAll = match.Filter{}
