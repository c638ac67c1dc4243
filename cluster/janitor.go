package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The janitor
//
// When a node leaves the view without a goodbye, its records stay in the buckets: its rooms
// (no longer listed, since the node is not live) and its rooms' seat records (reservations
// into it are refused with ErrNodeGone). The live node with the smallest id deletes them,
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
		_, roomsKV, seatsKV, _ := n.buckets()
		swept := 0
		for room, rev := range rooms {
			if _, back := n.NodeByID(gone); back || !n.Synced() {
				return
			}
			// The seat record first: a node that was only slow rewrites both when it sees its
			// room record deleted, and would miss a seat record deleted after that.
			if e, err := seatsKV.Get(ctx, room); err == nil {
				var rec seatRecord
				if json.Unmarshal(e.Value(), &rec) == nil && rec.Node == gone {
					_ = seatsKV.Delete(ctx, room, jetstream.LastRevision(e.Revision()))
				}
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

// restoreLocked writes again, in the background, the room record and seat record of a room
// of this node that another node deleted. n.mu is held.
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

// restore writes again the records of a room of this node that may be missing from the
// buckets. The seat record's outstanding reservations, if it was deleted, are lost: their
// players are refused on arrival (ErrNoSeat) and sent elsewhere.
func (n *Node) restore(ctx context.Context, room string) error {
	n.mu.Lock()
	e, ok := n.own[room]
	n.mu.Unlock()
	if !ok {
		return nil
	}
	_, roomsKV, _, _ := n.buckets()
	if err := n.putRoom(ctx, roomsKV, e); err != nil {
		return err
	}
	return n.restoreSeats(ctx, room)
}

// restoreSeats writes again the seat record of a room of this node if it is missing.
func (n *Node) restoreSeats(ctx context.Context, room string) error {
	n.mu.Lock()
	counts, seated := n.seats[room]
	n.mu.Unlock()
	if !seated {
		return nil
	}
	return n.updateSeats(ctx, room, func(rec *seatRecord, exists bool) error {
		if exists && rec.Node == n.opts.ID {
			return errNoWrite
		}
		rec.Node, rec.Max, rec.Taken = n.opts.ID, counts[0], counts[1]
		return nil
	})
}

// purgeMarkers removes the delete markers older than olderThan (negative: all) from the rooms, seats and codes
// buckets: each ended room leaves one (about 100 bytes), which every watcher would otherwise
// be sent when it starts.
func (n *Node) purgeMarkers(ctx context.Context, olderThan time.Duration) error {
	_, rooms, seats, codes := n.buckets()
	var err error
	for _, kv := range []jetstream.KeyValue{rooms, seats, codes} {
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
