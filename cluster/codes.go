package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Private codes
//
// A private room's short code is a key of the codes bucket, created with KV Create, which
// fails if the key exists: two nodes drawing the same code at once cannot both get it, with no
// lock and no coordinator. Any node resolves a code with one read. Codes are case-insensitive
// (kept in upper case, as match.Codes reads them) and live on disk, so a NATS restart keeps
// them.
//
// A code whose node is gone is free again: CreateCode takes it over (compare-and-set on its
// revision) rather than waiting for a cleanup. The cost: a node that drops out of the view for
// longer than Timeout (a long GC pause, a cut link) can lose its codes to a new room.

type codeRecord struct {
	Room string `json:"room"`
	Node string `json:"node"`
}

func codeKey(code string) (string, error) {
	key := strings.ToUpper(code)
	if !validID(key) {
		return "", fmt.Errorf("cluster: code %q: %w", code, ErrBadID)
	}
	return key, nil
}

// CreateCode makes code lead to room, a room of this node. It fails with ErrCodeTaken if a
// room of a live node holds the code already: the caller draws another.
func (n *Node) CreateCode(ctx context.Context, code, room string) error {
	key, err := codeKey(code)
	if err != nil {
		return err
	}
	if !validID(room) {
		return fmt.Errorf("cluster: code for room %q: %w", room, ErrBadID)
	}
	if !n.Synced() {
		return fmt.Errorf("cluster: create code %s: %w", key, ErrNotSynced)
	}
	data, err := json.Marshal(codeRecord{Room: room, Node: n.opts.ID})
	if err != nil {
		return err
	}
	_, _, codes := n.buckets()
	_, err = codes.Create(ctx, key, data)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("cluster: create code %s: %w", key, err)
	}
	// Taken, or being taken: by a live node it stays taken.
	e, err := codes.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("cluster: create code %s: %w", key, err)
	}
	var holder codeRecord
	if err := json.Unmarshal(e.Value(), &holder); err == nil {
		if _, live := n.NodeByID(holder.Node); live {
			return fmt.Errorf("cluster: create code %s: %w", key, ErrCodeTaken)
		}
	}
	if _, err := codes.Update(ctx, key, data, e.Revision()); err != nil {
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("cluster: create code %s: %w", key, ErrCodeTaken)
		}
		return fmt.Errorf("cluster: create code %s: %w", key, err)
	}
	return nil
}

// ResolveCode finds the room a code leads to, from any node. It fails with ErrCodeUnknown for a
// code no room holds and ErrNodeGone when the room's node is not live. The Room's Entry is the
// directory's if this node has it already, else only its ID is set.
func (n *Node) ResolveCode(ctx context.Context, code string) (Room, error) {
	key, err := codeKey(code)
	if err != nil {
		return Room{}, err
	}
	if !n.Synced() {
		return Room{}, fmt.Errorf("cluster: resolve code %s: %w", key, ErrNotSynced)
	}
	_, _, codes := n.buckets()
	e, err := codes.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Room{}, fmt.Errorf("cluster: resolve code %s: %w", key, ErrCodeUnknown)
	}
	if err != nil {
		return Room{}, fmt.Errorf("cluster: resolve code %s: %w", key, err)
	}
	var rec codeRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return Room{}, fmt.Errorf("cluster: resolve code %s: bad record: %w", key, err)
	}
	node, live := n.NodeByID(rec.Node)
	if !live {
		return Room{}, fmt.Errorf("cluster: resolve code %s: %w", key, ErrNodeGone)
	}
	if r, ok := n.Room(rec.Room); ok && r.Node == rec.Node {
		return r, nil
	}
	r := Room{Node: rec.Node, URL: node.URL}
	r.ID = rec.Room
	return r, nil
}

// ReleaseCode frees a code of this node (its room ended or became public). A code held by
// another node, or by no one, is left as it is.
func (n *Node) ReleaseCode(ctx context.Context, code string) error {
	key, err := codeKey(code)
	if err != nil {
		return err
	}
	_, _, codes := n.buckets()
	e, err := codes.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: release code %s: %w", key, err)
	}
	var rec codeRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil || rec.Node != n.opts.ID {
		return nil
	}
	err = codes.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("cluster: release code %s: %w", key, err)
	}
	return nil
}
