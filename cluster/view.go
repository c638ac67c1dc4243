package cluster

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rallypoint/rallypoint/match"
)

// The view: the nodes and rooms buckets, watched, folded into Node.peers, Node.remote and the
// match.Directory that lists the rooms of the live nodes.

// watch is one bucket watcher and the goroutine applying its entries.
type watch struct {
	w     jetstream.KeyWatcher
	ready chan struct{} // closed once the current values are applied
	done  chan struct{} // closed when the goroutine has returned
}

// startWatch watches every key of kv. apply gets the current values as one batch (initial),
// then each change as it comes.
//
// The watch lives until stopWatchers: not bound to ctx, which only bounds the resync (a watch
// given a context ends with it).
func (n *Node) startWatch(kv jetstream.KeyValue, apply func(batch []jetstream.KeyValueEntry, initial bool)) (*watch, error) {
	kw, err := kv.WatchAll(context.Background())
	if err != nil {
		return nil, err
	}
	w := &watch{w: kw, ready: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var batch []jetstream.KeyValueEntry
		initial := true
		for e := range kw.Updates() {
			switch {
			case e == nil && initial:
				apply(batch, true)
				batch, initial = nil, false
				close(w.ready)
			case e == nil:
			case initial:
				batch = append(batch, e)
			default:
				apply([]jetstream.KeyValueEntry{e}, false)
			}
		}
		// The watcher ended: stopped by us, or its subscription closed under it. In the
		// second case the view is no longer being kept: resync at the next tick.
		n.mu.Lock()
		if !n.closed {
			n.synced = false
		}
		n.mu.Unlock()
		n.log.Debug("cluster: watcher ended", "bucket", kv.Bucket())
	}()
	return w, nil
}

// stopWatchers stops the current watchers and waits for their goroutines. The synced flag they
// clear on the way out is set again by the resync that follows.
func (n *Node) stopWatchers() {
	n.mu.Lock()
	ws := n.watchers
	n.watchers = nil
	n.mu.Unlock()
	for _, w := range ws {
		_ = w.w.Stop()
		<-w.done
	}
}

// applyNodes folds heartbeats and removals into the view. The initial batch replaces the view.
// A heartbeat of a node already live touches nothing but its record: the directory and the
// lobby feeds change only when a node comes or goes.
func (n *Node) applyNodes(batch []jetstream.KeyValueEntry, initial bool) {
	now := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	was := make(map[string]bool)
	if initial {
		for id := range n.peers {
			was[id] = true
		}
		clear(n.peers)
	}
	for _, e := range batch {
		id := e.Key()
		if id == n.opts.ID {
			// Our own records: we are the truth about ourselves. One we did not write means
			// two nodes were given one id, and they will overwrite each other's records.
			var info NodeInfo
			// (A restart under the same id sees its previous life's record, older: no alarm.)
			if e.Operation() == jetstream.KeyValuePut && json.Unmarshal(e.Value(), &info) == nil &&
				info.Started.After(n.self.Started) {
				n.log.Error("cluster: another node announces itself with this node's id", "url", info.URL)
			}
			continue
		}
		if _, ok := was[id]; !ok {
			_, was[id] = n.peers[id]
		}
		if e.Operation() != jetstream.KeyValuePut {
			delete(n.peers, id) // goodbye, or the server's MaxAge marker
			continue
		}
		var info NodeInfo
		if err := json.Unmarshal(e.Value(), &info); err != nil || info.ID != id {
			n.log.Warn("cluster: bad node record", "key", id, "err", err)
			continue
		}
		n.peers[id] = &peer{info: info, seen: now}
	}
	for id, before := range was {
		if _, live := n.peers[id]; live != before {
			n.showLocked(id)
			if !live && !initial {
				n.sweepLocked(id)
			}
		}
	}
}

// applyRooms folds room records into the directory. The initial batch replaces what we had.
func (n *Node) applyRooms(batch []jetstream.KeyValueEntry, initial bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if initial {
		for node, rs := range n.remote {
			for room := range rs {
				if n.where[room] == node {
					n.dir.Remove(room)
					delete(n.where, room)
				}
			}
		}
		clear(n.remote)
	}
	touched := make(map[string]bool)
	for _, e := range batch {
		node, room, ok := strings.Cut(e.Key(), ".")
		if !ok {
			continue
		}
		if node == n.opts.ID && !initial {
			// Our own rooms are listed from n.own. A record of ours deleted by another node
			// (its janitor took us for gone: a long pause, a cut link) is written again.
			if _, mine := n.own[room]; mine && e.Operation() != jetstream.KeyValuePut {
				n.restoreLocked(room)
			}
			continue
		}
		if e.Operation() != jetstream.KeyValuePut {
			delete(n.remote[node], room)
			if n.where[room] == node {
				n.dir.Remove(room)
				delete(n.where, room)
			}
			continue
		}
		var rec roomRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil || rec.Entry.ID != room {
			n.log.Warn("cluster: bad room record", "key", e.Key(), "err", err)
			continue
		}
		rec.revision = e.Revision()
		rs := n.remote[node]
		if rs == nil {
			rs = make(map[string]roomRecord)
			n.remote[node] = rs
		}
		rs[room] = rec
		if initial {
			touched[node] = true
		} else {
			n.listLocked(node, rec.Entry)
		}
	}
	for node := range touched {
		n.showLocked(node)
	}
}

// listLocked lists a remote room in the directory if its node is live. n.mu is held.
func (n *Node) listLocked(node string, e match.Entry) {
	if _, live := n.peers[node]; !live || node == n.opts.ID {
		return
	}
	if w, ok := n.where[e.ID]; ok && w != node {
		return // the same id on two nodes: the first one listed keeps it
	}
	n.dir.Update(e)
	n.where[e.ID] = node
}

// showLocked makes the directory list a remote node's rooms if the node is live, and none of
// them if not. Cost: O(rooms of that node). n.mu is held.
func (n *Node) showLocked(node string) {
	if node == n.opts.ID {
		return
	}
	rs := n.remote[node]
	if _, live := n.peers[node]; live {
		for _, rec := range rs {
			n.listLocked(node, rec.Entry)
		}
		return
	}
	for room := range rs {
		if n.where[room] == node {
			n.dir.Remove(room)
			delete(n.where, room)
		}
	}
}
