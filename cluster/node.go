package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rallypoint/rallypoint/match"
)

// Options configure a Node. ID and URL are required; the rest have useful zero values.
type Options struct {
	// ID names the node in the cluster: unique, stable across restarts of the same node (a
	// restarted node then takes back its own records), letters, digits, '-', '_' and '='
	// only (it is part of NATS subjects), at most 64 characters.
	ID string
	// URL is the public WebSocket URL browsers use to reach this node: where a client is sent
	// when its room lives here.
	URL string
	// Games this node serves; empty serves every game. PickNode skips a node that does not
	// serve the game asked for.
	Games []string
	// MaxRooms and MaxPlayers cap what placement sends here; 0 is no cap.
	MaxRooms, MaxPlayers int
	// Load reports this node's load at each heartbeat (the engine provides it). It must be
	// quick and safe to call from another goroutine. Nil counts the rooms published with
	// PublishRoom and their players and held seats, with no CPU figure.
	Load func() Load
	// Interval between heartbeats; default 1 s. Each heartbeat is one small JetStream write
	// (about 200 bytes) per node, so a shorter interval costs little but buys nothing unless
	// Timeout shrinks with it.
	Interval time.Duration
	// Timeout after which a node that stopped heartbeating is gone from every view; default
	// 3 s, at least 2 Intervals (one late heartbeat must not make a live node vanish). It is
	// also the nodes bucket's MaxAge: it should be the same on every node (the last node to
	// start sets the bucket's), since each node also expires the others by its own Timeout.
	Timeout time.Duration
	// Prefix names the JetStream buckets (Prefix_nodes, _rooms, _codes) so that two
	// clusters can share a NATS account; default "rallypoint".
	Prefix string
	// Replicas of each bucket in a NATS cluster (1 to 5); default 1, right for one NATS server.
	// With 3, the cluster's state survives the loss of a NATS server, at three times the
	// writes.
	Replicas int
	// Logger for what goes wrong in the background (a failed heartbeat, a resync); default
	// slog.Default().
	Logger *slog.Logger
}

// Load is what a node carries now.
type Load struct {
	Players int     `json:"players"` // players connected plus seats held for them
	Rooms   int     `json:"rooms"`
	CPU     float64 `json:"cpu"` // share of the machine in use, 0 to 1; informative
}

// NodeInfo is a node as the cluster sees it: what it announced in its last heartbeat.
type NodeInfo struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	Games      []string  `json:"games,omitempty"`
	MaxRooms   int       `json:"maxRooms,omitempty"`
	MaxPlayers int       `json:"maxPlayers,omitempty"`
	Load       Load      `json:"load"`
	Draining   bool      `json:"draining,omitempty"`
	Started    time.Time `json:"started"`
	// At is when the node measured Load (its heartbeat), by its clock: a placement made
	// after it is not in Load yet (engine: recent placements count on top).
	At time.Time `json:"at"`
}

// Serves reports whether the node takes rooms of game.
func (ni NodeInfo) Serves(game string) bool {
	return len(ni.Games) == 0 || slices.Contains(ni.Games, game)
}

// Errors of a Node. They come wrapped with what was being done; test them with errors.Is.
var (
	ErrBadID       = errors.New("cluster: bad id (want 1 to 64 of A-Z a-z 0-9 - _ =)")
	ErrClosed      = errors.New("cluster: node closed")
	ErrNotSynced   = errors.New("cluster: not connected to NATS; the node's view of the cluster is not current")
	ErrNoNode      = errors.New("cluster: no live node has room for this")
	ErrNodeGone    = errors.New("cluster: the room's node is gone")
	ErrCodeTaken   = errors.New("cluster: private code already in use")
	ErrCodeUnknown = errors.New("cluster: no room with that code")
)

// validID reports whether s can be a node, room or code id: it becomes (part of) a JetStream
// key, which allows only these characters, and '.' separates node and room in a key.
func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '=') {
			return false
		}
	}
	return true
}

// Node is one gameserver in the cluster: it heartbeats its NodeInfo, keeps a live view of the
// other nodes and of every room of the cluster, places rooms and resolves
// private codes, all through NATS. Its methods are safe for concurrent use.
//
// # Liveness: JetStream KV with MaxAge, and a local expiry
//
// Each node Puts its NodeInfo under its id in the nodes bucket every Interval. The bucket's
// MaxAge is Timeout, with limit markers on: a record not refreshed within Timeout is removed
// by the NATS server, and every watcher is told at once. Each node also watches the bucket,
// and drops a peer it has not heard from within Timeout by its own clock.
//
// The alternative, heartbeats on a plain NATS subject with only the local expiry, writes
// nothing to disk or memory on the server, but a node that starts hears of the others only
// as their next heartbeats arrive, and a dead node is judged by each node on its own. The KV
// watch gives a late joiner the current set at once (Join returns with it), and the server's
// MaxAge makes a dead node vanish for everyone at the same moment. The local expiry is still
// needed for the one case the server cannot cover: this node cut off from NATS, when no
// marker can reach it; its peers then fade from its view, and it stops offering their rooms.
// The cost is one JetStream write per node per Interval and a bucket of Timeout-old records.
//
// The nodes and rooms buckets are soft state kept in memory: if NATS restarts without them,
// every node re-creates them and re-announces itself and its rooms on reconnecting. Private
// codes are hard state kept on disk (a restart must not hand out a code twice).
type Node struct {
	opts    Options
	nc      *nats.Conn
	ownConn bool
	js      jetstream.JetStream
	log     *slog.Logger

	kvMu                      sync.RWMutex
	nodesKV, roomsKV, codesKV jetstream.KeyValue

	mu       sync.Mutex
	self     NodeInfo
	peers    map[string]*peer
	remote   map[string]map[string]roomRecord // node → room → record, as in the bucket
	own      map[string]match.Entry           // this node's rooms, the truth for its records
	dir      *match.Directory                 // the rooms of live nodes, this one included
	where    map[string]string                // room → node, for the rooms in dir
	synced   bool                             // the view is being kept, since the reconnect numbered syncedAt
	syncedAt uint64                           // n.nc.Stats().Reconnects when the last resync began
	watchers []*watch
	closed   bool

	bg        sync.WaitGroup // sweeps and restores under way; Close waits for them
	wake      chan struct{}  // an early heartbeat (draining, a resync wanted)
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type peer struct {
	info NodeInfo
	seen time.Time
}

type roomRecord struct {
	Entry    match.Entry `json:"entry"`
	revision uint64
}

// Connect dials NATS at url and joins the cluster (see Join). The connection reconnects
// forever, every half second: a NATS restart must not leave the node cut off. nopts add to or
// override those dial options. Close closes the connection.
func Connect(ctx context.Context, url string, opts Options, nopts ...nats.Option) (*Node, error) {
	all := append([]nats.Option{
		nats.Name("rallypoint " + opts.ID),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
	}, nopts...)
	nc, err := nats.Connect(url, all...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect %s: %w", url, err)
	}
	n, err := Join(ctx, nc, opts)
	if err != nil {
		nc.Close()
		return nil, err
	}
	n.ownConn = true
	return n, nil
}

// Join joins the cluster over an existing connection, which stays the caller's (Close leaves
// it open). It returns once the node has announced itself and holds the current set of nodes
// and rooms, or with an error if NATS or JetStream cannot be reached. The connection should
// reconnect forever (nats.MaxReconnects(-1)): a node watches the connection's reconnects and
// re-announces itself after each.
func Join(ctx context.Context, nc *nats.Conn, opts Options) (*Node, error) {
	if !validID(opts.ID) {
		return nil, fmt.Errorf("cluster: node id %q: %w", opts.ID, ErrBadID)
	}
	if opts.URL == "" {
		return nil, errors.New("cluster: node needs its public URL")
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 3 * time.Second
	}
	if opts.Timeout < 2*opts.Interval {
		return nil, fmt.Errorf("cluster: timeout %v is less than two heartbeat intervals (%v)", opts.Timeout, opts.Interval)
	}
	if opts.Prefix == "" {
		opts.Prefix = "rallypoint"
	}
	if !validID(opts.Prefix) {
		return nil, fmt.Errorf("cluster: bucket prefix %q: %w", opts.Prefix, ErrBadID)
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	n := &Node{
		opts: opts,
		nc:   nc,
		js:   js,
		log:  opts.Logger.With("node", opts.ID),
		self: NodeInfo{
			ID: opts.ID, URL: opts.URL, Games: slices.Clone(opts.Games),
			MaxRooms: opts.MaxRooms, MaxPlayers: opts.MaxPlayers, Started: time.Now().UTC(),
		},
		peers:  make(map[string]*peer),
		remote: make(map[string]map[string]roomRecord),
		own:    make(map[string]match.Entry),
		dir:    match.NewDirectory(match.DirectoryOptions{}),
		where:  make(map[string]string),
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if err := n.resync(ctx); err != nil {
		n.stopWatchers()
		return nil, err
	}
	if err := n.heartbeat(ctx); err != nil {
		n.stopWatchers()
		return nil, err
	}
	go n.run()
	return n, nil
}

// ID is the node's id.
func (n *Node) ID() string { return n.opts.ID }

// Prefix is the cluster's name (Options.Prefix): the engine's subjects start with it.
func (n *Node) Prefix() string { return n.opts.Prefix }

// Conn is the node's NATS connection.
func (n *Node) Conn() *nats.Conn { return n.nc }

// Synced reports whether the node is connected to NATS and its view is current. A node that
// is not should take no cluster joins: its view of rooms and nodes may be stale.
func (n *Node) Synced() bool {
	return n.isSynced() && n.nc.IsConnected()
}

// Self is what this node announces, with its load as of the last heartbeat.
func (n *Node) Self() NodeInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.self
}

// Nodes is the live view: this node and every node heard from within Timeout, by id.
func (n *Node) Nodes() []NodeInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]NodeInfo, 0, len(n.peers)+1)
	out = append(out, n.self)
	for _, p := range n.peers {
		out = append(out, p.info)
	}
	slices.SortFunc(out, func(a, b NodeInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// NodeByID returns a live node of the view.
func (n *Node) NodeByID(id string) (NodeInfo, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nodeLocked(id)
}

func (n *Node) nodeLocked(id string) (NodeInfo, bool) {
	if id == n.self.ID {
		return n.self, true
	}
	if p, ok := n.peers[id]; ok {
		return p.info, true
	}
	return NodeInfo{}, false
}

// Suspect drops node id from the view at once, as Timeout would later: the caller found it
// unreachable the way only a dead node is (NATS had no subscriber for a subject the node
// serves while it lives). Its rooms leave the directory and the janitor sweeps its records,
// as on expiry. A wrong suspicion heals itself: the node's next heartbeat brings it back,
// and it writes again the room records swept from under it; what it costs is a heartbeat
// interval out of the others' placement. It reports whether id was in the view.
func (n *Node) Suspect(id string) bool {
	n.mu.Lock()
	_, live := n.peers[id]
	if live {
		delete(n.peers, id)
		n.showLocked(id)
		n.sweepLocked(id)
	}
	n.mu.Unlock()
	if live {
		n.log.Info("cluster: node gone (unreachable)", "peer", id)
	}
	return live
}

// SetDraining says whether this node takes new rooms. A draining node is announced at once
// (not at the next heartbeat) and PickNode passes it over on every node; its rooms stay
// listed until they end.
func (n *Node) SetDraining(draining bool) {
	n.mu.Lock()
	n.self.Draining = draining
	n.mu.Unlock()
	n.poke()
}

func (n *Node) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Close leaves the cluster with a goodbye: this node's record and its rooms are deleted, so
// the others drop it at once rather than after Timeout, and the janitor deletes its seat
// records. Its codes are left to the caller (ReleaseCode), which ends its rooms first. Close
// is idempotent.
func (n *Node) Close(ctx context.Context) error {
	var err error
	n.closeOnce.Do(func() {
		close(n.stop)
		<-n.done
		n.mu.Lock()
		n.closed = true
		n.mu.Unlock()
		n.bg.Wait()
		n.mu.Lock()
		own := make([]string, 0, len(n.own))
		for id := range n.own {
			own = append(own, id)
		}
		n.mu.Unlock()
		if n.ownConn && !n.nc.IsConnected() {
			// NATS is away: there is no one to say goodbye to, and stopping the watchers on a
			// live connection would wait for the server to delete their consumers, a request
			// timeout each. Closed, the connection fails them at once.
			n.nc.Close()
		}
		n.stopWatchers()
		if n.nc.IsConnected() {
			nodes, rooms, _ := n.buckets()
			if nodes != nil {
				err = nodes.Delete(ctx, n.opts.ID)
			}
			if rooms != nil {
				for _, id := range own {
					err = errors.Join(err, rooms.Delete(ctx, n.opts.ID+"."+id))
				}
			}
		}
		if n.ownConn {
			n.nc.Close()
		}
		if err != nil {
			err = fmt.Errorf("cluster: goodbye: %w", err)
		}
	})
	return err
}

// run heartbeats, expires silent peers and resyncs after a reconnect, until Close.
func (n *Node) run() {
	defer close(n.done)
	t := time.NewTicker(n.opts.Interval)
	defer t.Stop()
	exp := time.NewTicker(n.expiryCheck())
	defer exp.Stop()
	purge := time.NewTicker(purgeEvery)
	defer purge.Stop()
	for {
		select {
		case <-n.stop:
			return
		case now := <-exp.C:
			n.expire(now)
			continue
		case <-purge.C:
			n.mu.Lock()
			janitor := n.janitorLocked()
			n.mu.Unlock()
			if janitor && n.nc.IsConnected() {
				ctx, cancel := context.WithTimeout(context.Background(), n.opts.Timeout)
				if err := n.purgeMarkers(ctx, markerAge); err != nil {
					n.log.Warn("cluster: purge delete markers", "err", err)
				}
				cancel()
			}
			continue
		case <-t.C:
		case <-n.wake:
		}
		ctx, cancel := context.WithTimeout(context.Background(), n.opts.Timeout)
		if n.nc.IsConnected() {
			if !n.isSynced() {
				if err := n.resync(ctx); err != nil {
					n.log.Warn("cluster: resync failed", "err", err)
				} else {
					n.log.Info("cluster: resynced with NATS")
				}
			}
			if n.isSynced() {
				if err := n.heartbeat(ctx); err != nil {
					n.log.Warn("cluster: heartbeat failed", "err", err)
					n.setSynced(false)
				}
			}
		}
		cancel()
	}
}

// isSynced reports whether the view has been kept since the last reconnect. After a reconnect
// the server may have restarted without our buckets, and our watchers' consumers with it:
// the next tick rebuilds everything from what NATS holds now.
func (n *Node) isSynced() bool {
	reconnects := n.nc.Stats().Reconnects
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.synced && n.syncedAt == reconnects
}

func (n *Node) setSynced(v bool) {
	n.mu.Lock()
	n.synced = v
	n.mu.Unlock()
}

func (n *Node) buckets() (nodes, rooms, codes jetstream.KeyValue) {
	n.kvMu.RLock()
	defer n.kvMu.RUnlock()
	return n.nodesKV, n.roomsKV, n.codesKV
}

// heartbeat announces this node with its load now.
func (n *Node) heartbeat(ctx context.Context) error {
	var load Load
	if n.opts.Load != nil {
		load = n.opts.Load()
	}
	n.mu.Lock()
	if n.opts.Load == nil {
		load = Load{Rooms: len(n.own)}
		for _, e := range n.own {
			load.Players += e.Taken()
		}
	}
	n.self.Load, n.self.At = load, time.Now().UTC()
	data, err := json.Marshal(n.self)
	n.mu.Unlock()
	if err != nil {
		return err
	}
	nodes, _, _ := n.buckets()
	if _, err := nodes.Put(ctx, n.opts.ID, data); err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	return nil
}

// expiryCheck is how often the local expiry looks: a quarter Interval. A peer is dropped once
// silent for Timeout minus that, so that it is gone within Timeout of its last heartbeat, never
// later; with Timeout at least two Intervals, one late heartbeat is still forgiven.
func (n *Node) expiryCheck() time.Duration { return max(n.opts.Interval/4, time.Millisecond) }

// expire drops the peers not heard from within Timeout (see expiryCheck).
func (n *Node) expire(now time.Time) {
	limit := n.opts.Timeout - n.expiryCheck()
	n.mu.Lock()
	var gone []string
	for id, p := range n.peers {
		if now.Sub(p.seen) >= limit {
			delete(n.peers, id)
			n.showLocked(id)
			n.sweepLocked(id)
			gone = append(gone, id)
		}
	}
	n.mu.Unlock()
	for _, id := range gone {
		n.log.Info("cluster: node gone (silent)", "peer", id)
	}
}

// bucketConfigs are the four buckets. Nodes and rooms live in memory (soft state rebuilt by
// their owners after a NATS restart); seats and codes on disk.
func (n *Node) bucketConfigs() []jetstream.KeyValueConfig {
	p, r := n.opts.Prefix, n.opts.Replicas
	return []jetstream.KeyValueConfig{
		{Bucket: p + "_nodes", Description: "Rallypoint nodes: one heartbeat record per live node",
			TTL: n.opts.Timeout, LimitMarkerTTL: max(time.Second, n.opts.Timeout), Storage: jetstream.MemoryStorage, Replicas: r},
		{Bucket: p + "_rooms", Description: "Rallypoint room directory: key node.room",
			Storage: jetstream.MemoryStorage, Replicas: r},
		{Bucket: p + "_codes", Description: "Rallypoint private room codes",
			Storage: jetstream.FileStorage, Replicas: r},
	}
}

// resync (re)creates the buckets, rebuilds the view from them, and re-publishes this node's
// rooms: after Join, and after every reconnect to NATS.
func (n *Node) resync(ctx context.Context) error {
	reconnects := n.nc.Stats().Reconnects
	var kvs [3]jetstream.KeyValue
	for i, cfg := range n.bucketConfigs() {
		kv, err := n.js.CreateOrUpdateKeyValue(ctx, cfg)
		if err != nil {
			return fmt.Errorf("cluster: bucket %s: %w", cfg.Bucket, err)
		}
		kvs[i] = kv
	}
	n.kvMu.Lock()
	n.nodesKV, n.roomsKV, n.codesKV = kvs[0], kvs[1], kvs[2]
	n.kvMu.Unlock()

	n.stopWatchers()
	nw, err := n.startWatch(kvs[0], n.applyNodes)
	if err != nil {
		return fmt.Errorf("cluster: watch nodes: %w", err)
	}
	rw, err := n.startWatch(kvs[1], n.applyRooms)
	if err != nil {
		_ = nw.w.Stop()
		<-nw.done
		return fmt.Errorf("cluster: watch rooms: %w", err)
	}
	n.mu.Lock()
	n.watchers = []*watch{nw, rw}
	n.mu.Unlock()
	for _, w := range []*watch{nw, rw} {
		select {
		case <-w.ready:
		case <-w.done:
			return errors.New("cluster: watcher ended before the current values arrived")
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for the current values: %w", ctx.Err())
		}
	}

	// Re-publish our rooms (the bucket may be new) and delete our records of a previous life
	// (a restart with the same id) that name rooms we do not have.
	n.mu.Lock()
	stale := n.remote[n.opts.ID]
	delete(n.remote, n.opts.ID)
	own := make([]match.Entry, 0, len(n.own))
	for _, e := range n.own {
		own = append(own, e)
	}
	n.mu.Unlock()
	for _, e := range own {
		if err := n.putRoom(ctx, kvs[1], e); err != nil {
			return err
		}
	}
	for id, rec := range stale {
		if _, mine := n.ownRoom(id); !mine {
			err := kvs[1].Delete(ctx, n.opts.ID+"."+id, jetstream.LastRevision(rec.revision))
			if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				return fmt.Errorf("cluster: delete stale room %s: %w", id, err)
			}
		}
	}
	n.mu.Lock()
	n.synced, n.syncedAt = true, reconnects
	n.mu.Unlock()
	return nil
}

func (n *Node) ownRoom(id string) (match.Entry, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.own[id]
	return e, ok
}
