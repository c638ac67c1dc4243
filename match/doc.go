// Package match is how players find a game: queues of tickets and the matcher that groups
// them, seat reservations, private rooms joined by a short code, the room directory with its
// live feed, and quick play. It holds everything in memory and knows nothing of the engine:
// the host (the engine's adapter, or any Go server) connects the two, so that a distributed
// Matchmaker can replace Local without a change to game code.
//
// # The pieces
//
//   - Local (a Matchmaker): queues per game mode (QueueConfig), Enqueue and Cancel, and Pass
//     or Run, which make Matches: new rooms of MinPlayers..MaxPlayers, or backfill of open
//     rooms first. Ratings match within windows that widen with waiting time
//     (WindowCurve), regions relax with time, parties are never split, and a game may bring
//     its own MatchFunc.
//   - Reservations: the seats a match reserved (a token each, 15 s to claim), the seats
//     taken, and their release, told through OnRelease.
//   - Codes: six-character join codes for private rooms (CodeAlphabet), case-insensitive,
//     with wrong guesses rate-limited per client.
//   - Directory: the listing of rooms (List with a Filter) and a live feed (Subscribe).
//   - QuickPlay: the room to join now, or "create one".
//
// # A match, end to end
//
//  1. A player asks to play: the host makes a Ticket (NewTicket; a party is one ticket) and
//     calls Enqueue, which refuses a player who is waiting, matched, or seated.
//  2. Run makes a pass every interval and calls onMatch for each Match.
//  3. onMatch makes a room when Match.Room is "", reserves the seats with
//     Reservations.Reserve(room, m.Players(), 0), and sends each player its room and token.
//     If Reserve refuses (a player got a seat elsewhere meanwhile), the host Releases the
//     match's players and enqueues the other tickets again.
//  4. The player joins with the token: Claim returns the room and takes the seat, once.
//  5. A seat not claimed in time is released by Expire; a seated player who leaves is
//     released by Reservations.Release; a room that ends releases its seats with
//     ReleaseRoom. Each release reaches OnRelease, which tells the room and calls
//     Local.Release so that the player may queue again. Until then the matchmaker holds the
//     player: that hold, then the seat, are what keep a player out of two matches.
//
// # Concurrency
//
// Every type is safe for concurrent use. Local's Enqueue, Cancel and Release take one lock
// for a few map operations; a pass holds that lock only to take the new tickets and to
// commit its matches a few at a time (tens of microseconds each), and does its sorting and
// sweeping on its own copies, so an Enqueue waits at most for one such section, never for a
// pass. BenchmarkEnqueueDuringPass measures this. The callbacks a pass makes (OpenRooms,
// MatchFunc, onMatch) run on the pass's goroutine with no lock held. OnRelease runs without
// the reservation table's lock, on the goroutine that caused the release. A Directory never
// waits for a subscriber: one that falls behind is dropped and its channel closed.
//
// # Costs
//
// A pass over n waiting tickets costs O(n log n): it merges the tickets that arrived since
// the last pass into sorted slices and sweeps them once, looking at O(MaxPlayers) neighbours
// per match (see matcher.go). BenchmarkMatch100k reports a pass over 100,000 tickets. A
// waiting ticket with a region and a rating costs about 900 bytes, a reservation about 250
// bytes, a listed room its Entry.
package match
