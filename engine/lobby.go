package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rallypoint/rallypoint/match"
	"github.com/rallypoint/rallypoint/net/ws"
)

// lobby connects the engine to the match package: the room directory (listing, lobby feed,
// quick play), join codes of private rooms, seat reservations and, once enabled, the
// matchmaker. Players are identified by their connection's id (session.id).
type lobby struct {
	e     *Engine
	dir   *match.Directory
	codes *match.Codes
	res   *match.Reservations
	mm    match.Matchmaker // nil until EnableMatchmaking
	stop  context.CancelFunc

	mu sync.Mutex
	// sessions are the open connections, by session id: for match notifications, and for
	// Shutdown to close (one map per connection, not two: bench/idlemem).
	sessions map[string]*session
	parties  map[string]*party // parties being gathered, by the id their members share

	// The last matches seated, by id: a cluster's matchmaker may hand one over twice (a
	// matcher that died between delivering it and clearing its record), and seating it
	// twice would reserve every player two seats.
	seenMatches map[string]struct{}
	seenOrder   []string
}

// maxSeenMatches bounds the remembered match ids (about 40 bytes each).
const maxSeenMatches = 4096

// conns returns the connections of the open sessions.
func (l *lobby) conns() []*ws.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	cs := make([]*ws.Conn, 0, len(l.sessions))
	for _, s := range l.sessions {
		cs = append(cs, s.c)
	}
	return cs
}

// firstTime reports whether match id is new, and remembers it.
func (l *lobby) firstTime(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, seen := l.seenMatches[id]; seen {
		return false
	}
	if l.seenMatches == nil {
		l.seenMatches = make(map[string]struct{})
	}
	if len(l.seenOrder) >= maxSeenMatches {
		delete(l.seenMatches, l.seenOrder[0])
		l.seenOrder = l.seenOrder[1:]
	}
	l.seenMatches[id] = struct{}{}
	l.seenOrder = append(l.seenOrder, id)
	return true
}

// party is a group gathering before it is queued as one ticket.
type party struct {
	size    int
	game    string
	members []string // session ids, in arrival order
}

func newLobby(e *Engine) *lobby {
	l := &lobby{e: e, sessions: make(map[string]*session), parties: make(map[string]*party)}
	l.dir = match.NewDirectory(match.DirectoryOptions{})
	l.codes, _ = match.NewCodes(match.CodeOptions{})
	l.res = match.NewReservations(match.ReservationOptions{OnRelease: l.released})
	ctx, cancel := context.WithCancel(context.Background())
	l.stop = cancel
	go func() { _ = l.res.Run(ctx, time.Second) }()
	return l
}

// released is told of every seat that ends: the room is told (its listing counts reserved
// seats) and the matchmaker lets the player queue again.
func (l *lobby) released(r match.Reservation, why match.ReleaseReason) {
	if l.mm != nil {
		l.mm.Release(r.Player)
		if r.Origin != "" {
			l.mm.Release(r.Origin) // the id the matchmaker knows, on the player's first node
		}
	}
	l.e.mu.Lock()
	rc := l.e.rooms[r.Room]
	l.e.mu.Unlock()
	if rc != nil && !r.Claimed {
		rc.enqueue(command{kind: cmdSeatReleased, name: r.Player})
	}
}

// MatchmakingOptions enables matchmaking over the engine's connections.
type MatchmakingOptions struct {
	// Queues are the game modes; a queue's Mode must be a registered game's name: matched
	// players get a room of that game.
	Queues []match.QueueConfig
	// Interval between matching passes; default 200 ms.
	Interval time.Duration
	// ReservationTTL is how long a matched player has to take their seat; default 15 s.
	ReservationTTL time.Duration
	// New makes the matchmaker from the options the engine fills in (the queues, the
	// engine's open rooms for backfill, its seat table for "already seated"); nil is
	// match.NewLocal, in memory on this node. A cluster passes its own (tickets in NATS,
	// one elected matcher): the engine talks to the match.Matchmaker interface only.
	New func(match.Options) (match.Matchmaker, error)
}

// EnableMatchmaking starts a matchmaker (in memory unless opts.New says otherwise). Clients
// then queue with [7, req, opts] and get [25, ticket, room, reservation, ttl_ms] when matched
// (PROTOCOL.md). Each queue must name a registered game whose rooms seat at least the queue's
// MaxPlayers. Call it once, before the engine serves connections.
func (e *Engine) EnableMatchmaking(opts MatchmakingOptions) error {
	l := e.lobby
	if l.mm != nil {
		return errors.New("engine: matchmaking is already enabled")
	}
	for _, q := range opts.Queues {
		e.mu.Lock()
		reg, ok := e.games[q.Mode]
		e.mu.Unlock()
		if !ok {
			return errors.New("engine: matchmaking queue " + strconv.Quote(q.Mode) + " names no registered game")
		}
		// A match is seated in one room: a queue that can match more players than a room
		// seats would reserve seats the room then refuses ("room full") to the players last
		// to arrive.
		if q.MaxPlayers > reg.cfg.MaxPlayers {
			return fmt.Errorf("engine: matchmaking queue %q: MaxPlayers %d exceeds the %d seats of a %q room (RoomConfig.MaxPlayers)",
				q.Mode, q.MaxPlayers, reg.cfg.MaxPlayers, q.Mode)
		}
	}
	newMM := opts.New
	if newMM == nil {
		newMM = func(o match.Options) (match.Matchmaker, error) { return match.NewLocal(o) }
	}
	mm, err := newMM(match.Options{
		Queues:    opts.Queues,
		OpenRooms: match.OpenRoomsFunc(l.openRooms),
		Seated:    l.res.Holds,
	})
	if err != nil {
		return err
	}
	if mm == nil {
		return errors.New("engine: MatchmakingOptions.New returned no matchmaker")
	}
	if opts.Interval <= 0 {
		opts.Interval = 200 * time.Millisecond
	}
	ttl := opts.ReservationTTL
	l.mm = mm
	ctx, cancel := context.WithCancel(context.Background())
	prev := l.stop
	l.stop = func() { prev(); cancel() }
	go func() { _ = mm.Run(ctx, opts.Interval, func(m match.Match) { l.matched(m, ttl) }) }()
	return nil
}

// Directory is the engine's room listing, for embedders that list rooms their own way.
func (e *Engine) Directory() *match.Directory { return e.lobby.dir }

// Reservations is the engine's seat table: a Go server that matches players by other means
// reserves seats here and hands the tokens to its players, who join with them.
func (e *Engine) Reservations() *match.Reservations { return e.lobby.res }

// Matchmaker is the running matchmaker, or nil before EnableMatchmaking.
func (e *Engine) Matchmaker() match.Matchmaker { return e.lobby.mm }

// openRooms lists the rooms backfill may fill: public, unlocked, with free seats (reserved
// seats already counted).
func (l *lobby) openRooms(mode string) []match.OpenRoom {
	if cl := l.e.cl; cl != nil {
		return cl.clusterOpenRooms(mode)
	}
	var out []match.OpenRoom
	for _, en := range l.dir.List(match.Filter{Game: mode, MinFreeSeats: 1}) {
		out = append(out, match.OpenRoom{ID: en.ID, FreeSeats: en.FreeSeats()})
	}
	return out
}

// matched reserves the seats of a match and tells its players.
func (l *lobby) matched(m match.Match, ttl time.Duration) {
	if m.ID != "" && !l.firstTime(m.ID) {
		l.e.log.Info("matchmaking: a match handed over again was ignored", "match", m.ID)
		return
	}
	if cl := l.e.cl; cl != nil {
		if !cl.clusterMatched(m) {
			l.requeue(m)
		}
		return
	}
	room := m.Room
	if room == "" {
		rc, err := l.e.createRoom(m.Mode, CreateOptions{}, creator{rated: true})
		if err != nil {
			l.e.log.Warn("matchmaking: cannot create a room", "mode", m.Mode, "err", err)
			l.requeue(m)
			return
		}
		room = rc.id
	}
	rs, err := l.res.Reserve(room, m.Players(), ttl)
	if err != nil {
		l.e.log.Warn("matchmaking: cannot reserve seats", "room", room, "err", err)
		l.requeue(m)
		return
	}
	if rc := l.e.room(room); rc != nil {
		rc.enqueue(command{kind: cmdSeatReleased}) // republish: free seats changed
	}
	ticketOf := map[string]string{}
	for _, t := range m.Tickets {
		for _, p := range t.Players {
			ticketOf[p] = t.ID
		}
	}
	for _, r := range rs {
		l.mu.Lock()
		s := l.sessions[r.Player]
		if s != nil {
			s.ticket = "" // matched: the connection may queue again once the seat is over
		}
		l.mu.Unlock()
		if s == nil {
			continue // gone; the seat expires
		}
		_ = l.e.writeMsg(s.c, KindMatched, ticketOf[r.Player], r.Room, r.Token, uint64(time.Until(r.Expires).Milliseconds()))
	}
}

func (e *Engine) room(id string) *roomCore {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rooms[id]
}

// entry is a room's directory entry: connected players, and the seats held for dropped
// players and reserved for matched ones (taken, not free).
func (rc *roomCore) entry(info *RoomInfo) match.Entry {
	return match.Entry{
		ID: rc.id, Game: rc.game, Players: info.Players, Held: info.Held, MaxPlayers: rc.cfg.MaxPlayers,
		Locked: rc.locked || rc.ended, Private: rc.private, Metadata: info.Metadata,
	}
}

// Listing page sizes of RoomsHandler: a request without limit gets DefaultRoomsPage rooms,
// and none gets more than MaxRoomsPage. The cost of a listing is one scan of the directory
// plus the page (selected without sorting everything, then encoded), so the page bounds
// what a client polling /rooms can make the server do.
const (
	DefaultRoomsPage = 100
	MaxRoomsPage     = 500
)

// RoomsHandler serves the room listing as JSON: GET ?game=G&free=N&sort=free|players|created
// &limit=N&meta.KEY=VALUE answers {"rooms": [...], "games": {G: {"rooms": n, "players": p,
// "held": h}}}: the first page of rooms (limit, default DefaultRoomsPage, at most
// MaxRoomsPage) and, for each game, how many rooms, connected players and held seats pass
// the filter in all, for a lobby that shows counts. Private rooms are never listed or
// counted.
func (e *Engine) RoomsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := match.Filter{Game: q.Get("game"), SortBy: match.SortKey(q.Get("sort"))}
		f.MinFreeSeats, _ = strconv.Atoi(q.Get("free"))
		f.Limit, _ = strconv.Atoi(q.Get("limit"))
		if f.Limit <= 0 {
			f.Limit = DefaultRoomsPage
		}
		f.Limit = min(f.Limit, MaxRoomsPage)
		for k, v := range q {
			if name, ok := strings.CutPrefix(k, "meta."); ok && len(v) > 0 {
				if f.Metadata == nil {
					f.Metadata = map[string]string{}
				}
				f.Metadata[name] = v[0]
			}
		}
		var rooms []roomJSON
		var totals map[string]match.Totals
		if e.cl != nil {
			list := e.cl.node.Rooms(f)
			rooms = make([]roomJSON, 0, len(list))
			for _, r := range list {
				j := toJSON(r.Entry)
				j.Node, j.URL = r.Node, r.URL
				rooms = append(rooms, j)
			}
			totals = e.cl.node.Totals(f)
		} else {
			list := e.lobby.dir.List(f)
			rooms = make([]roomJSON, 0, len(list))
			for _, en := range list {
				rooms = append(rooms, toJSON(en))
			}
			totals = e.lobby.dir.Totals(f)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			Rooms []roomJSON              `json:"rooms"`
			Games map[string]match.Totals `json:"games"`
		}{rooms, totals})
	})
}

// roomJSON is a room in /rooms and in the lobby feed: players connected, and the seats held
// for players who dropped (within their grace period) or were matched and have not joined.
type roomJSON struct {
	ID         string            `json:"id" msgpack:"id"`
	Game       string            `json:"game" msgpack:"game"`
	Players    int               `json:"players" msgpack:"players"`
	Held       int               `json:"held" msgpack:"held"`
	MaxPlayers int               `json:"max_players" msgpack:"max_players"`
	Locked     bool              `json:"locked" msgpack:"locked"`
	Metadata   map[string]string `json:"metadata" msgpack:"metadata"`
	// In a cluster: the room's node and the URL that reaches it.
	Node string `json:"node,omitempty" msgpack:"node,omitempty"`
	URL  string `json:"url,omitempty" msgpack:"url,omitempty"`
}

func toJSON(en match.Entry) roomJSON {
	return roomJSON{ID: en.ID, Game: en.Game, Players: en.Players, Held: en.Held, MaxPlayers: en.MaxPlayers, Locked: en.Locked, Metadata: en.Metadata}
}

// maxParty bounds a party's size (and so what one gathering can hold).
const maxParty = 16

// gather adds s to the party named in opts. done is true, with every member, when the party
// is complete and may be queued.
func (l *lobby) gather(s *session, opts MatchOptions) (members []string, done bool, err error) {
	if opts.PartySize < 2 || opts.PartySize > maxParty {
		return nil, false, errors.New("party_size must be 2.." + strconv.Itoa(maxParty))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.parties[opts.Party]
	if p == nil {
		p = &party{size: opts.PartySize, game: opts.Game}
		l.parties[opts.Party] = p
	}
	switch {
	case p.size != opts.PartySize || p.game != opts.Game:
		return nil, false, errors.New("this party was started with another size or game")
	case slices.Contains(p.members, s.id):
		return nil, false, errors.New("already in this party")
	}
	p.members = append(p.members, s.id)
	if len(p.members) < p.size {
		return nil, false, nil
	}
	delete(l.parties, opts.Party)
	return p.members, true, nil
}

// leaveParty takes a closed connection out of any party still gathering.
func (l *lobby) leaveParty(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, p := range l.parties {
		if i := slices.Index(p.members, id); i >= 0 {
			p.members = slices.Delete(p.members, i, i+1)
			if len(p.members) == 0 {
				delete(l.parties, name)
			}
		}
	}
}

// requeue puts the tickets of a match that could not be seated back in the queue, as they
// were (the same ids, so the players' tickets stay valid, and the same waiting time): a
// failure of ours (a node too busy to answer a seat request in time, a room that could not be
// made) must not end a player's wait without a word, which is what releasing the players alone
// did. Each ticket goes back through the node its players are connected to (all of a ticket's
// players queued on one node), which knows whether they still are. The cost: a match that
// keeps failing (no node will take its room) is proposed again at every pass, with a warning
// each time, until it can be seated or its players leave.
func (l *lobby) requeue(m match.Match) {
	l.mm.Release(m.Players()...)
	cl := l.e.cl
	for _, t := range m.Tickets {
		if cl != nil && len(t.Players) > 0 {
			if home := nodeOf(t.Players[0]); home != "" && home != cl.id {
				cl.sendRequeue(home, t)
				continue
			}
		}
		l.requeueTicket(t)
	}
}

// requeueTicket enqueues again a ticket of this node's players whose match failed. Players
// who left meanwhile are left out (a party plays on without them). If none is left there is
// nothing to do; if the matchmaker refuses the ticket, its players still connected are told
// with [22, NotFound, message] and may queue again.
func (l *lobby) requeueTicket(t match.Ticket) {
	var here []*session
	var kept []string
	l.mu.Lock()
	for _, p := range t.Players {
		if s := l.sessions[p]; s != nil && s.ticket == t.ID {
			here = append(here, s)
			kept = append(kept, p)
		}
	}
	l.mu.Unlock()
	if len(kept) == 0 {
		return
	}
	t.Players = kept
	err := l.mm.Enqueue(t)
	if err == nil {
		l.e.log.Info("matchmaking: a match could not be seated; its ticket waits again", "ticket", t.ID, "mode", t.Mode)
		return
	}
	l.e.log.Warn("matchmaking: a match could not be seated, nor its ticket queued again", "ticket", t.ID, "mode", t.Mode, "err", err)
	l.setTicket(kept, "")
	for _, s := range here {
		_ = l.e.writeMsg(s.c, KindError, uint64(CodeNotFound),
			"matchmaking: ticket "+t.ID+" ended unmatched ("+err.Error()+"); queue again", t.ID)
	}
}

// setTicket records the ticket on every member's connection, so that any of them can cancel
// it and a member who disconnects withdraws it.
func (l *lobby) setTicket(players []string, ticket string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range players {
		if s := l.sessions[id]; s != nil {
			s.ticket = ticket
		}
	}
}
