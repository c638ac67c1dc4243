package match

import (
	"maps"
	"slices"
	"time"

	"github.com/lithammer/shortuuid/v4"
)

// Ticket is a request to play: one player, or a party of players who must stay together.
//
// The matchmaker copies a ticket when it is enqueued (its slices and maps included), so the
// caller may reuse its own copy at once. A waiting ticket with a region and a rating costs
// about 900 bytes, most of it the copies of its two small maps.
type Ticket struct {
	// ID names the ticket for Cancel. NewTicket makes a random one.
	ID string
	// Mode is the queue the ticket waits in (QueueConfig.Mode).
	Mode string
	// Players are the player ids, one for a solo ticket, several for a party. A party is
	// matched whole or not at all.
	Players []string
	// Strings are string properties: the region, for instance (QueueConfig.RegionKey).
	Strings map[string]string
	// Numbers are numeric properties: the rating, for instance (QueueConfig.RatingKey). For a
	// party, the caller decides what the party's rating is (the mean, the max...).
	Numbers map[string]float64
	// Created is when the ticket started waiting; the zero value means "now" at Enqueue.
	// Rating windows and region relaxation grow with the time since Created.
	Created time.Time
}

// NewTicket returns a ticket with a random ID for mode and players.
func NewTicket(mode string, players ...string) Ticket {
	return Ticket{ID: shortuuid.New(), Mode: mode, Players: players}
}

// Size is the number of players on the ticket.
func (t Ticket) Size() int { return len(t.Players) }

func (t Ticket) clone() Ticket {
	t.Players = slices.Clone(t.Players)
	t.Strings = maps.Clone(t.Strings)
	t.Numbers = maps.Clone(t.Numbers)
	return t
}

// Match is the result of a pass: tickets that play together.
type Match struct {
	// ID is random and unique; it is the natural key for the seat reservations of the match.
	ID string
	// Mode is the queue the tickets came from.
	Mode string
	// Room is the running room to join (backfill), or "" when a new room must be made.
	Room string
	// Tickets are the matched tickets, whole: no party is ever split across matches.
	Tickets []Ticket
}

// Players lists every player of the match, ticket by ticket.
func (m Match) Players() []string {
	var n int
	for _, t := range m.Tickets {
		n += len(t.Players)
	}
	out := make([]string, 0, n)
	for _, t := range m.Tickets {
		out = append(out, t.Players...)
	}
	return out
}

// OpenRoom is a running room that accepts more players (join in progress), as the caller
// sees it when a pass starts.
type OpenRoom struct {
	ID string
	// FreeSeats is how many players the room takes now. It must already count seats that are
	// reserved but not yet claimed (see Reservations.Count), or rooms get overfilled.
	FreeSeats int
	// Strings are the room's string properties, compared with the tickets' under
	// QueueConfig.RegionKey: a ticket that still insists on its region joins only a room of
	// that region (a room without one suits everyone).
	Strings map[string]string
	// Numbers are the room's numeric properties: under QueueConfig.RatingKey, the rating the
	// room plays at (its players' mean, say). A ticket joins only a room whose rating is in
	// its window; a room without one suits every rating.
	Numbers map[string]float64
}

// OpenRooms supplies the rooms that backfill may fill. The matchmaker calls it once per
// queue with Backfill set, at the start of each pass, from the pass's goroutine.
type OpenRooms interface {
	OpenRooms(mode string) []OpenRoom
}

// OpenRoomsFunc adapts a function to OpenRooms.
type OpenRoomsFunc func(mode string) []OpenRoom

// OpenRooms calls f(mode).
func (f OpenRoomsFunc) OpenRooms(mode string) []OpenRoom { return f(mode) }
