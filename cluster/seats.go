package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Seat reservations
//
// Each room has one seat record in the seats bucket, under the room's id: its node, its
// capacity, the seats its node counts as taken (players in the room and seats held for those
// who dropped), and the reservations not yet claimed. Every change is a compare-and-set on the
// record's revision (JetStream KV Update): of two nodes writing at once, one fails and reads
// again, so the seats granted never exceed the capacity, whichever node grants them. The
// record lives on disk in JetStream, so a restart of NATS forgets no seat.
//
// The cost: each reservation, claim and change of a room's count is a JetStream round trip,
// and writers of one room queue behind each other (a burst of k joins into one room costs up
// to k rounds for the last one); rooms do not slow each other. Expiry is judged by the wall
// clock of the node that reads the record: nodes' clocks must agree to well within a
// reservation's TTL (NTP does).

// Reservation is a seat held in a room for a player, to be claimed on the room's node (and
// only there) before Expires.
type Reservation struct {
	Room    string
	Player  string
	Node    string // the room's node: the only one that accepts the reservation
	URL     string // that node's public URL, where the client goes
	Token   string // proves the reservation; the client hands it to the room's node
	Expires time.Time
}

type seatRecord struct {
	Node  string     `json:"node"`
	Max   int        `json:"max"`
	Taken int        `json:"taken"`
	Holds []seatHold `json:"holds,omitempty"`
}

type seatHold struct {
	Player  string    `json:"player"`
	Token   string    `json:"token"`
	By      string    `json:"by"` // the node that granted it
	Expires time.Time `json:"expires"`
}

// free is the seats left to reserve, never negative.
func (r *seatRecord) free() int { return max(r.Max-r.Taken-len(r.Holds), 0) }

// prune drops the reservations expired at now.
func (r *seatRecord) prune(now time.Time) {
	r.Holds = slices.DeleteFunc(r.Holds, func(h seatHold) bool { return !now.Before(h.Expires) })
}

// casAttempts bounds the compare-and-set rounds of one seat operation. Each round either
// writes or sees a newer record, which means another writer succeeded; 50 concurrent
// reservations into one room settle well within it.
const casAttempts = 200

// errNoWrite tells updateSeats that fn changed nothing worth writing.
var errNoWrite = errors.New("no write")

// updateSeats reads room's seat record, lets fn change it, and writes it back if its revision
// is still the one read, retrying from the read when it is not.
//
// A node that is not synced (cut off from NATS, or not yet caught up after a reconnect) fails
// at once with ErrNotSynced rather than wait for NATS: its view of which nodes live is stale,
// and a client is better sent elsewhere than kept waiting.
func (n *Node) updateSeats(ctx context.Context, room string, fn func(rec *seatRecord, exists bool) error) error {
	if !n.Synced() {
		return ErrNotSynced
	}
	_, _, seats, _ := n.buckets()
	for attempt := range casAttempts {
		var rec seatRecord
		var rev uint64
		e, err := seats.Get(ctx, room)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			if err := json.Unmarshal(e.Value(), &rec); err != nil {
				return fmt.Errorf("bad seat record: %w", err)
			}
			rev = e.Revision()
		}
		exists := rev != 0
		if err := fn(&rec, exists); err != nil {
			if errors.Is(err, errNoWrite) {
				return nil
			}
			return err
		}
		data, err := json.Marshal(&rec)
		if err != nil {
			return err
		}
		if exists {
			_, err = seats.Update(ctx, room, data, rev)
		} else {
			_, err = seats.Create(ctx, room, data)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
			return err
		}
		// Someone wrote between our read and our write. Wait a little, at random, so that
		// the losers of this round do not collide again in the next.
		wait := time.Duration(mrand.Int64N(int64(time.Millisecond) * int64(min(attempt+1, 10))))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return ErrContention
}

// SetSeats records, for a room of this node, its capacity and the seats its players take now
// (connected plus held for a reconnect): the engine calls it when a room starts and when its
// count changes. Reservations outstanding are kept; they come on top of taken.
func (n *Node) SetSeats(ctx context.Context, room string, maxPlayers, taken int) error {
	if !validID(room) {
		return fmt.Errorf("cluster: seats of %q: %w", room, ErrBadID)
	}
	err := n.updateSeats(ctx, room, func(rec *seatRecord, _ bool) error {
		rec.prune(time.Now())
		if rec.Node == n.opts.ID && rec.Max == maxPlayers && rec.Taken == taken {
			return errNoWrite
		}
		rec.Node, rec.Max, rec.Taken = n.opts.ID, maxPlayers, taken
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster: seats of %s: %w", room, err)
	}
	n.mu.Lock()
	n.seats[room] = [2]int{maxPlayers, taken}
	n.mu.Unlock()
	return nil
}

// CloseSeats deletes a room's seat record (the room ended): its reservations are void.
func (n *Node) CloseSeats(ctx context.Context, room string) error {
	if !validID(room) {
		return fmt.Errorf("cluster: close seats of %q: %w", room, ErrBadID)
	}
	n.mu.Lock()
	delete(n.seats, room)
	n.mu.Unlock()
	_, _, seats, _ := n.buckets()
	if err := seats.Delete(ctx, room); err != nil {
		return fmt.Errorf("cluster: close seats of %s: %w", room, err)
	}
	return nil
}

// Reserve holds a seat in room for player for ttl, from any node. It fails with ErrRoomFull
// when the room has no free seat left (counting the reservations of every node), ErrNoRoom
// when the room has no seat record, and ErrNodeGone when the room's node is not in this
// node's view. A player who already holds a reservation in the room gets it back, not a
// second seat.
func (n *Node) Reserve(ctx context.Context, room, player string, ttl time.Duration) (Reservation, error) {
	if !validID(room) {
		return Reservation{}, fmt.Errorf("cluster: reserve in %q: %w", room, ErrBadID)
	}
	if ttl <= 0 {
		return Reservation{}, fmt.Errorf("cluster: reserve in %s: ttl %v is not positive", room, ttl)
	}
	var res Reservation
	err := n.updateSeats(ctx, room, func(rec *seatRecord, exists bool) error {
		if !exists {
			return ErrNoRoom
		}
		node, live := n.NodeByID(rec.Node)
		if !live {
			return ErrNodeGone
		}
		now := time.Now()
		rec.prune(now)
		res = Reservation{Room: room, Player: player, Node: rec.Node, URL: node.URL}
		for _, h := range rec.Holds {
			if h.Player == player {
				res.Token, res.Expires = h.Token, h.Expires
				return errNoWrite
			}
		}
		if rec.free() == 0 {
			return ErrRoomFull
		}
		res.Token, res.Expires = newToken(), now.Add(ttl)
		rec.Holds = append(rec.Holds, seatHold{Player: player, Token: res.Token, By: n.opts.ID, Expires: res.Expires})
		return nil
	})
	if err != nil {
		return Reservation{}, fmt.Errorf("cluster: reserve a seat in %s for %q: %w", room, player, err)
	}
	return res, nil
}

// Claim turns a reservation into a taken seat, on the room's node: the client arrived with
// its token. It returns the player the seat was reserved for. It fails with ErrWrongNode on any
// other node, and with ErrNoSeat for an unknown or expired token.
func (n *Node) Claim(ctx context.Context, room, token string) (player string, err error) {
	if !validID(room) {
		return "", fmt.Errorf("cluster: claim in %q: %w", room, ErrBadID)
	}
	err = n.updateSeats(ctx, room, func(rec *seatRecord, exists bool) error {
		if !exists {
			return ErrNoRoom
		}
		if rec.Node != n.opts.ID {
			return ErrWrongNode
		}
		rec.prune(time.Now())
		i := slices.IndexFunc(rec.Holds, func(h seatHold) bool { return h.Token == token })
		if i < 0 {
			return ErrNoSeat
		}
		player = rec.Holds[i].Player
		rec.Holds = slices.Delete(rec.Holds, i, i+1)
		rec.Taken++ // until the engine's next SetSeats counts the player itself
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("cluster: claim a seat in %s: %w", room, err)
	}
	return player, nil
}

// Cancel gives back a reservation before it expires (the player gave up, or went elsewhere).
// Cancelling one that is gone already is not an error.
func (n *Node) Cancel(ctx context.Context, r Reservation) error {
	err := n.updateSeats(ctx, r.Room, func(rec *seatRecord, exists bool) error {
		i := slices.IndexFunc(rec.Holds, func(h seatHold) bool { return h.Token == r.Token })
		if !exists || i < 0 {
			return errNoWrite
		}
		rec.Holds = slices.Delete(rec.Holds, i, i+1)
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster: cancel a seat in %s: %w", r.Room, err)
	}
	return nil
}

// newToken is 128 random bits in hex: a reservation cannot be guessed from a room and a name.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
