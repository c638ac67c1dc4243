package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The janitor
//
// When a node leaves the view without a goodbye, its room records stay in the directory's
// bucket (no longer listed, since the node is not live). The live node with the smallest id deletes them,
// each only at the revision it saw (jetstream.LastRevision), so that a node that was only
// slow, and has written since, loses nothing; and a node that finds a record of its own
// deleted by someone else writes it again. Codes of a gone node are not swept: CreateCode
// takes them over when they are drawn again. Delete markers left by ended rooms are purged
// once they are a minute old (purgeMarkers), by the same node.

// janitorLocked reports whether this node is the janitor: synced, and the smallest id of
// its view. n.mu is held.
func (n *Node) janitorLocked() bool {
	if !n.synced {
		return false
	}
	for id := range n.peers {
		if id < n.opts.ID {
			return false
		}
	}
	return true
}

// sweepLocked deletes, in the background, the records of a node that left the view, if this
// node is the janitor. n.mu is held.
func (n *Node) sweepLocked(gone string) {
	if n.closed || !n.janitorLocked() {
		return
	}
	rooms := make(map[string]uint64, len(n.remote[gone]))
	for room, rec := range n.remote[gone] {
		rooms[room] = rec.revision
	}
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), n.opts.Timeout)
		defer cancel()
		_, roomsKV, _ := n.buckets()
		swept := 0
		for room, rev := range rooms {
			if _, back := n.NodeByID(gone); back || !n.Synced() {
				return
			}
			err := roomsKV.Delete(ctx, gone+"."+room, jetstream.LastRevision(rev))
			if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				n.log.Warn("cluster: sweep room", "peer", gone, "room", room, "err", err)
				return
			}
			swept++
		}
		if swept > 0 {
			n.log.Info("cluster: swept the records of a gone node", "peer", gone, "rooms", swept)
		}
	}()
}

// restoreLocked writes again, in the background, the room record of a room of this node that
// another node deleted. n.mu is held.
func (n *Node) restoreLocked(room string) {
	if n.closed {
		return
	}
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), n.opts.Timeout)
		defer cancel()
		if err := n.restore(ctx, room); err != nil {
			n.log.Warn("cluster: restore a room's records", "room", room, "err", err)
		}
	}()
}

// restore writes again the record of a room of this node that may be missing from the
// directory.
func (n *Node) restore(ctx context.Context, room string) error {
	n.mu.Lock()
	e, ok := n.own[room]
	n.mu.Unlock()
	if !ok {
		return nil
	}
	_, roomsKV, _ := n.buckets()
	return n.putRoom(ctx, roomsKV, e)
}

// purgeMarkers removes the delete markers older than olderThan (negative: all) from the rooms and codes
// buckets: each ended room leaves one (about 100 bytes), which every watcher would otherwise
// be sent when it starts.
func (n *Node) purgeMarkers(ctx context.Context, olderThan time.Duration) error {
	_, rooms, codes := n.buckets()
	var err error
	for _, kv := range []jetstream.KeyValue{rooms, codes} {
		err = errors.Join(err, kv.PurgeDeletes(ctx, jetstream.DeleteMarkersOlderThan(olderThan)))
	}
	return err
}

// markerAge is how old a delete marker must be to be purged; purgeEvery how often the janitor
// purges.
const (
	markerAge  = time.Minute
	purgeEvery = 5 * time.Minute
)
