package match

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lithammer/shortuuid/v4"
)

// DefaultReservationTTL is how long a reserved seat waits for its player.
const DefaultReservationTTL = 15 * time.Second

// Errors of the reservation table.
var (
	// ErrSeatHeld refuses to reserve for a player who already holds a reservation or a seat.
	ErrSeatHeld           = errors.New("match: player already holds a seat")
	ErrUnknownToken       = errors.New("match: unknown reservation token")
	ErrWrongPlayer        = errors.New("match: reservation belongs to another player")
	ErrReservationExpired = errors.New("match: reservation expired")
	ErrAlreadyClaimed     = errors.New("match: reservation already claimed")
)

// Reservation is a seat held for a player in a room.
type Reservation struct {
	// Token is what the player presents to take the seat: a random v4 UUID (122 bits from
	// crypto/rand) in shortuuid form, so it cannot be guessed.
	Token   string
	Room    string
	Player  string
	Expires time.Time // when an unclaimed seat is released
	Claimed bool      // the player took the seat; it no longer expires
	// Origin is the player the seat was reserved for when ClaimTransfer gave it to another
	// id (a player's session on another node of a cluster); "" otherwise.
	Origin string
}

// ReleaseReason says why a seat was released.
type ReleaseReason int

const (
	ReleaseExpired   ReleaseReason = iota // the player did not claim it in time
	ReleaseLeft                           // Release: the player left, or the match was called off
	ReleaseRoomEnded                      // ReleaseRoom: the room ended
)

func (r ReleaseReason) String() string {
	switch r {
	case ReleaseExpired:
		return "expired"
	case ReleaseLeft:
		return "left"
	case ReleaseRoomEnded:
		return "room ended"
	}
	return fmt.Sprintf("ReleaseReason(%d)", int(r))
}

// ReservationOptions configure a Reservations table. The zero value is usable.
type ReservationOptions struct {
	// TTL is the default time a player has to claim a seat; zero is DefaultReservationTTL.
	TTL time.Duration
	// OnRelease is told of every seat that ends, claimed or not: tell the room that the seat
	// is free, and Release the player in the matchmaker. It is called without the table's
	// lock held, on the goroutine that caused the release (Expire, Claim, Release,
	// ReleaseRoom), so it may call back into the table.
	OnRelease func(r Reservation, why ReleaseReason)
	// Clock drives Claim's expiry check and Run; nil is the wall clock.
	Clock Clock
}

// Reservations is the table of seats: the seats a match reserved for its players, and the
// seats they took. A player holds at most one seat at a time, which, with the matchmaker's
// hold between match and seat, keeps every player in at most one match.
//
// A seat costs about 250 bytes. Reserve, Claim and Release are O(players · log seats), Expire
// is O(expired · log seats): unclaimed seats wait in a heap ordered by expiry.
type Reservations struct {
	clock     Clock
	ttl       time.Duration
	onRelease func(Reservation, ReleaseReason)

	mu       sync.Mutex
	byToken  map[string]*seat
	byPlayer map[string]*seat
	byRoom   map[string]*roomSeats
	expiry   seatHeap // unclaimed seats
}

type seat struct {
	Reservation
	index int // in the expiry heap, -1 once claimed
}

type roomSeats struct {
	seats   map[string]*seat // by player
	claimed int
}

// NewReservations makes an empty table.
func NewReservations(opts ReservationOptions) *Reservations {
	r := &Reservations{
		clock:     clockOrSystem(opts.Clock),
		ttl:       opts.TTL,
		onRelease: opts.OnRelease,
		byToken:   make(map[string]*seat),
		byPlayer:  make(map[string]*seat),
		byRoom:    make(map[string]*roomSeats),
	}
	if r.ttl <= 0 {
		r.ttl = DefaultReservationTTL
	}
	return r
}

// Reserve holds a seat in room for each player, for ttl (zero: the table's default). It is
// all or nothing: if any player already holds a seat, or is named twice, nothing is
// reserved and the error names the player.
func (r *Reservations) Reserve(room string, players []string, ttl time.Duration) ([]Reservation, error) {
	if room == "" {
		return nil, errors.New("match: reserve in an unnamed room")
	}
	if ttl <= 0 {
		ttl = r.ttl
	}
	for i, p := range players {
		if p == "" || slices.Contains(players[:i], p) {
			return nil, fmt.Errorf("match: reserve: empty or repeated player %q", p)
		}
	}
	expires := r.clock.Now().Add(ttl)
	out := make([]Reservation, len(players))
	for i, p := range players {
		out[i] = Reservation{Token: shortuuid.New(), Room: room, Player: p, Expires: expires}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range players {
		if s := r.byPlayer[p]; s != nil {
			return nil, fmt.Errorf("%w: %q in room %q", ErrSeatHeld, p, s.Room)
		}
	}
	rs := r.byRoom[room]
	if rs == nil {
		rs = &roomSeats{seats: make(map[string]*seat, len(players))}
		r.byRoom[room] = rs
	}
	for _, res := range out {
		s := &seat{Reservation: res}
		r.byToken[s.Token] = s
		r.byPlayer[s.Player] = s
		rs.seats[s.Player] = s
		heap.Push(&r.expiry, s)
	}
	return out, nil
}

// Claim takes the seat reserved under token for player, once, and returns its room. A token
// presented after its expiry releases the seat (ReleaseExpired) even if Expire has not run
// yet. A wrong player does not spend the token.
func (r *Reservations) Claim(token, player string) (room string, err error) {
	now := r.clock.Now()
	r.mu.Lock()
	s := r.byToken[token]
	switch {
	case s == nil:
		err = ErrUnknownToken
	case s.Player != player:
		err = ErrWrongPlayer
	case s.Claimed:
		err = ErrAlreadyClaimed
	case !now.Before(s.Expires):
		r.remove(s)
		r.mu.Unlock()
		r.released([]Reservation{s.Reservation}, ReleaseExpired)
		return "", ErrReservationExpired
	default:
		s.Claimed = true
		heap.Remove(&r.expiry, s.index)
		r.byRoom[s.Room].claimed++
		room = s.Room
	}
	r.mu.Unlock()
	return room, err
}

// ClaimTransfer is Claim for a seat that may have been reserved for a player id of another
// process: in a cluster, the node of the room reserves a seat for the player's session on
// the node the player asked, and the player claims it here from a new session. A seat whose
// player differs from player is claimed, and re-keyed to player, when transferable says the
// reserved id may move (it names another node's session); otherwise ErrWrongPlayer, as
// Claim. The token is then the only credential: 122 random bits, told to one client.
func (r *Reservations) ClaimTransfer(token, player string, transferable func(reserved string) bool) (room string, err error) {
	r.mu.Lock()
	if s := r.byToken[token]; s != nil && s.Player != player && !s.Claimed && transferable(s.Player) {
		if r.byPlayer[player] != nil {
			r.mu.Unlock()
			return "", fmt.Errorf("%w: %q", ErrSeatHeld, player)
		}
		rs := r.byRoom[s.Room]
		delete(r.byPlayer, s.Player)
		delete(rs.seats, s.Player)
		s.Origin, s.Player = s.Player, player
		r.byPlayer[player] = s
		rs.seats[player] = s
	}
	r.mu.Unlock()
	return r.Claim(token, player)
}

// Expire releases every unclaimed seat whose time is up at now and reports each to
// OnRelease (ReleaseExpired). It returns how many it released. Call it periodically (Run
// does), every second or so: a seat outlives its expiry by up to that period, except that
// Claim never honours an expired token.
func (r *Reservations) Expire(now time.Time) int {
	var gone []Reservation
	r.mu.Lock()
	for len(r.expiry) > 0 && !now.Before(r.expiry[0].Expires) {
		s := r.expiry[0]
		r.remove(s)
		gone = append(gone, s.Reservation)
	}
	r.mu.Unlock()
	r.released(gone, ReleaseExpired)
	return len(gone)
}

// Release frees the player's seat or reservation (ReleaseLeft): the player left the room,
// or the match was called off. It reports whether the player held one.
func (r *Reservations) Release(player string) bool {
	r.mu.Lock()
	s := r.byPlayer[player]
	if s != nil {
		r.remove(s)
	}
	r.mu.Unlock()
	if s == nil {
		return false
	}
	r.released([]Reservation{s.Reservation}, ReleaseLeft)
	return true
}

// ReleaseRoom frees every seat of a room that ended (ReleaseRoomEnded) and returns how many.
func (r *Reservations) ReleaseRoom(room string) int {
	var gone []Reservation
	r.mu.Lock()
	if rs := r.byRoom[room]; rs != nil {
		for _, s := range rs.seats {
			gone = append(gone, s.Reservation)
		}
		for _, g := range gone {
			r.remove(r.byPlayer[g.Player])
		}
	}
	r.mu.Unlock()
	slices.SortFunc(gone, func(a, b Reservation) int { return cmpString(a.Player, b.Player) })
	r.released(gone, ReleaseRoomEnded)
	return len(gone)
}

// Holds reports whether the player holds a reservation or a seat. It suits Options.Seated.
func (r *Reservations) Holds(player string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byPlayer[player] != nil
}

// Seat returns the player's reservation or seat, if any.
func (r *Reservations) Seat(player string) (Reservation, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.byPlayer[player]; s != nil {
		return s.Reservation, true
	}
	return Reservation{}, false
}

// Count returns the seats of a room: reserved and waiting for their player, and claimed.
// A room's free seats for backfill are its capacity minus its players minus pending (or
// minus pending and claimed, if every join goes through this table).
func (r *Reservations) Count(room string) (pending, claimed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rs := r.byRoom[room]; rs != nil {
		return len(rs.seats) - rs.claimed, rs.claimed
	}
	return 0, 0
}

// Run calls Expire every interval at the Clock's time until ctx ends; it returns ctx.Err().
func (r *Reservations) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			r.Expire(r.clock.Now())
		}
	}
}

// remove deletes s from every index; r.mu is held.
func (r *Reservations) remove(s *seat) {
	delete(r.byToken, s.Token)
	delete(r.byPlayer, s.Player)
	if rs := r.byRoom[s.Room]; rs != nil {
		delete(rs.seats, s.Player)
		if s.Claimed {
			rs.claimed--
		}
		if len(rs.seats) == 0 {
			delete(r.byRoom, s.Room)
		}
	}
	if s.index >= 0 && !s.Claimed {
		heap.Remove(&r.expiry, s.index)
	}
}

func (r *Reservations) released(rs []Reservation, why ReleaseReason) {
	if r.onRelease == nil {
		return
	}
	for _, res := range rs {
		r.onRelease(res, why)
	}
}

// seatHeap orders unclaimed seats by expiry (container/heap).
type seatHeap []*seat

func (h seatHeap) Len() int           { return len(h) }
func (h seatHeap) Less(i, j int) bool { return h[i].Expires.Before(h[j].Expires) }
func (h seatHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *seatHeap) Push(x any) {
	s := x.(*seat)
	s.index = len(*h)
	*h = append(*h, s)
}
func (h *seatHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	s.index = -1
	*h = old[:len(old)-1]
	return s
}
