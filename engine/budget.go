package engine

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// Room creation budgets. A room costs little while empty (it sleeps) but not nothing, and a
// room with players costs hundreds of KiB; one address once created 10,450 rooms in 47 s
// (issue 11). So creating rooms is rationed twice, by token buckets on the engine's clock:
//
//   - per client, for explicit creates ({"create": true}): Options.ClientRoomBurst rooms at
//     once, then one more every Options.ClientRoomEvery. The client is its address, the key
//     join-code guessing is limited by, so reconnecting does not refill the bucket.
//   - server-wide, for every room a client causes (explicit creates, quick play when every
//     room is full, matchmaking): Options.RoomBurst at once, then one every Options.RoomEvery.
//
// Quick play and matchmaking are not charged to the client: they create a room only when
// every room of the game is full, so their rooms are bounded by the seats a client holds
// (its connections, which have budgets of their own), and a load generator or a crowd behind
// one address (a campus NAT) must not be refused for filling rooms. Rooms made by the Go API
// (Engine.CreateRoom) are the embedder's choice and only bounded by Options.MaxRooms.
//
// A refused client gets a join answer [21, req, 18, message] naming the wait, and keeps its
// connection. Metrics.RoomsRefusedClient and RoomsRefusedRate count the refusals.

// ErrClientRoomBudget is returned when one client creates rooms faster than its budget.
var ErrClientRoomBudget = errors.New("engine: this client is creating rooms too fast")

// ErrRoomRate is returned when clients together create rooms faster than the server's budget.
var ErrRoomRate = errors.New("engine: the server is creating rooms too fast")

// creator says who asks for a room, for the creation budgets.
type creator struct {
	rated bool       // counts against the server-wide rate (a client caused it)
	key   string     // the client's key for the per-client budget; "" for none
	moved *movedRoom // a room moving in from another node with its state (cluster_move.go)
}

// bucket is a token bucket: up to burst tokens, one more every interval.
type bucket struct {
	tokens float64
	last   time.Duration
}

// rate is a bucket's parameters; burst < 0 disables it.
type rate struct {
	burst int
	every time.Duration
}

// refill adds what has accrued since b.last, up to the burst.
func (r rate) refill(b *bucket, now time.Duration) {
	if now > b.last {
		b.tokens = math.Min(float64(r.burst), b.tokens+float64(now-b.last)/float64(r.every))
		b.last = now
	}
}

// wait is how long until b holds a whole token.
func (r rate) wait(b *bucket) time.Duration {
	return time.Duration((1-b.tokens)*float64(r.every)).Round(time.Second) + time.Second
}

// full is how long an unused bucket takes to refill completely.
func (r rate) full() time.Duration { return time.Duration(r.burst) * r.every }

// roomBudget holds the buckets.
type roomBudget struct {
	client, server rate

	mu        sync.Mutex
	clients   map[string]*bucket
	all       bucket
	lastSweep time.Duration
}

func newRoomBudget(client, server rate, now time.Duration) *roomBudget {
	return &roomBudget{
		client: client, server: server,
		clients: make(map[string]*bucket),
		all:     bucket{tokens: float64(server.burst), last: now},
	}
}

// take charges one room to c, or says why not. Nothing is charged when refused, and a
// client's bucket exists only while it is not full, so the map holds at most the clients
// that created a room within the last ClientRoomBurst × ClientRoomEvery.
func (rb *roomBudget) take(c creator, now time.Duration) error {
	if !c.rated {
		return nil
	}
	rb.mu.Lock()
	defer rb.mu.Unlock()
	rb.sweep(now)
	var cb *bucket
	if c.key != "" && rb.client.burst >= 0 {
		cb = rb.clients[c.key]
		if cb == nil {
			cb = &bucket{tokens: float64(rb.client.burst), last: now}
		}
		rb.client.refill(cb, now)
		if cb.tokens < 1 {
			return fmt.Errorf("%w: wait %v", ErrClientRoomBudget, rb.client.wait(cb))
		}
	}
	if rb.server.burst >= 0 {
		rb.server.refill(&rb.all, now)
		if rb.all.tokens < 1 {
			return fmt.Errorf("%w: wait %v", ErrRoomRate, rb.server.wait(&rb.all))
		}
		rb.all.tokens--
	}
	if cb != nil {
		cb.tokens--
		rb.clients[c.key] = cb
	}
	return nil
}

// sweep forgets the clients whose buckets have refilled, at most once per refill time.
func (rb *roomBudget) sweep(now time.Duration) {
	if now-rb.lastSweep < rb.client.full() {
		return
	}
	rb.lastSweep = now
	for k, b := range rb.clients {
		if rb.client.refill(b, now); b.tokens >= float64(rb.client.burst) {
			delete(rb.clients, k)
		}
	}
}

// tracked is how many clients have a bucket, for tests.
func (rb *roomBudget) tracked() int {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return len(rb.clients)
}
