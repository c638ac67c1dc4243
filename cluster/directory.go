package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rallypoint/rallypoint/match"
)

// Room is a room of the cluster: its lobby entry, the node it lives on and that node's
// public URL.
type Room struct {
	match.Entry
	Node string
	URL  string
}

// The room directory
//
// Each node writes one record per room under the key "node.room" of the rooms bucket, when
// the room starts or changes (players, lock, metadata) and deletes it when the room ends.
// Every node watches the bucket and keeps a match.Directory of the rooms of the live nodes,
// so a listing is local and uses today's filters and sorting (match.Filter), and the lobby
// feed (Subscribe) covers the whole cluster. A node that is gone takes its rooms out of every
// listing the moment it leaves the view, whatever is left in the bucket.
//
// The cost: one JetStream write per room change, fanned out to every node, and every node
// holds every public room in memory (about 300 bytes each). Room ids must be unique across the
// cluster (the engine's random ids are); of two nodes claiming one id, the first listed wins.

// PublishRoom lists a room of this node in the cluster's directory, or updates it. The entry
// is listed here at once and on the other nodes when the write reaches them. If NATS cannot be
// reached the error says so, and the room is published again on the next resync.
func (n *Node) PublishRoom(ctx context.Context, e match.Entry) error {
	if !validID(e.ID) {
		return fmt.Errorf("cluster: publish room %q: %w", e.ID, ErrBadID)
	}
	n.mu.Lock()
	if old, ok := n.own[e.ID]; ok && e.Created.IsZero() {
		e.Created = old.Created
	}
	if e.Created.IsZero() {
		e.Created = time.Now().UTC()
	}
	n.own[e.ID] = e
	if w, ok := n.where[e.ID]; !ok || w == n.opts.ID {
		n.dir.Update(e)
		n.where[e.ID] = n.opts.ID
	}
	n.mu.Unlock()
	_, rooms, _ := n.buckets()
	return n.putRoom(ctx, rooms, e)
}

func (n *Node) putRoom(ctx context.Context, rooms jetstream.KeyValue, e match.Entry) error {
	data, err := json.Marshal(roomRecord{Entry: e})
	if err != nil {
		return fmt.Errorf("cluster: publish room %s: %w", e.ID, err)
	}
	if _, err := rooms.Put(ctx, n.opts.ID+"."+e.ID, data); err != nil {
		return fmt.Errorf("cluster: publish room %s: %w", e.ID, err)
	}
	return nil
}

// RemoveRoom takes a room of this node out of the directory (it ended).
func (n *Node) RemoveRoom(ctx context.Context, id string) error {
	if !validID(id) {
		return fmt.Errorf("cluster: remove room %q: %w", id, ErrBadID)
	}
	n.mu.Lock()
	delete(n.own, id)
	if n.where[id] == n.opts.ID {
		n.dir.Remove(id)
		delete(n.where, id)
	}
	n.mu.Unlock()
	_, rooms, _ := n.buckets()
	if err := rooms.Delete(ctx, n.opts.ID+"."+id); err != nil {
		return fmt.Errorf("cluster: remove room %s: %w", id, err)
	}
	return nil
}

// Rooms lists the public rooms of the live nodes that pass f, as match.Directory.List does
// (f.Accept runs under the directory's lock and must not call into this Node).
func (n *Node) Rooms(f match.Filter) []Room {
	entries := n.dir.List(f)
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Room, 0, len(entries))
	for _, e := range entries {
		if r, ok := n.roomLocked(e); ok {
			out = append(out, r)
		}
	}
	return out
}

// Room finds a room of a live node by id, private rooms included.
func (n *Node) Room(id string) (Room, bool) {
	e, ok := n.dir.Get(id)
	if !ok {
		return Room{}, false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.roomLocked(e)
}

func (n *Node) roomLocked(e match.Entry) (Room, bool) {
	node, ok := n.where[e.ID]
	if !ok {
		return Room{}, false // left between the listing and now
	}
	info, ok := n.nodeLocked(node)
	if !ok {
		return Room{}, false
	}
	return Room{Entry: e, Node: node, URL: info.URL}, true
}

// Subscribe follows the public rooms of the whole cluster for game ("" for all), as
// match.Directory.Subscribe does; Room(id) tells where a room of a change lives.
func (n *Node) Subscribe(game string) (changes <-chan match.Change, cancel func()) {
	return n.dir.Subscribe(game)
}

// Totals counts the public rooms, connected players and held seats of the live nodes that
// pass f, by game, as match.Directory.Totals does.
func (n *Node) Totals(f match.Filter) map[string]match.Totals { return n.dir.Totals(f) }
