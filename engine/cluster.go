package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rallypoint/rallypoint/cluster"
	"github.com/rallypoint/rallypoint/match"
	"github.com/rallypoint/rallypoint/net/ws"
)

// A cluster of engines
//
// EnableCluster joins the engine to a cluster.Node: several gameserver processes share one
// room directory, place new rooms by load, and send a client whose room lives elsewhere to
// that room's node (PROTOCOL.md, "A cluster of nodes"; ARCHITECTURE.md, "Cluster").
//
// The room's node is the only authority over its seats. Another node that wants a seat for
// its client asks it with a NATS request (subject "<prefix>.seat.<node>"), and the room
// reserves the seat in its own goroutine, in the same step as it admits local joins: so a
// seat is never granted twice, whichever nodes the joins arrive through, without a
// distributed lock, and a reservation dies with its node. The cost is one NATS round trip
// (well under a millisecond on a LAN) before a redirected join, and a node that cannot be
// reached cannot seat anyone in its rooms, which is right: its players could not reach it
// either.

// ClusterOptions configure EnableCluster.
type ClusterOptions struct {
	// Node is this process's membership of the cluster (cluster.Connect or cluster.Join). Its
	// Options.Load should be Engine.Load, so that placement sees this engine's players.
	Node *cluster.Node
	// ReservationTTL is how long a seat reserved for a redirected client waits for it;
	// default 15 s (match.DefaultReservationTTL): a browser opens a new WebSocket in well
	// under a second, but a phone on a bad link may take several.
	ReservationTTL time.Duration
	// RequestTimeout bounds a request to another node (a seat); default 2 s. A node that
	// does not answer in time is passed over for the join.
	RequestTimeout time.Duration
}

// clusterLink is the engine's side of a cluster: the seat service it answers, and the
// publisher that keeps its rooms in the directory.
type clusterLink struct {
	e       *Engine
	node    *cluster.Node
	id      string
	subject string // where other nodes ask this one for seats
	ttl     time.Duration
	timeout time.Duration
	sub     *nats.Subscription
	// matchedSub receives the match notices for this node's sessions (cluster_match.go).
	matchedSub *nats.Subscription
	sem        chan struct{} // bounds the seat requests served at once

	mu    sync.Mutex
	dirty map[string]*match.Entry // room id → its latest entry, nil once it ended
	wake  chan struct{}
	stop  context.CancelFunc
	done  chan struct{}

	draining atomic.Bool

	placedMu sync.Mutex
	placed   []placement           // recent new rooms sent to nodes (place)
	recent   map[string]recentRoom // rooms of other nodes quick play sent players to lately
}

// ErrClusterEnabled refuses a second EnableCluster.
var ErrClusterEnabled = errors.New("engine: cluster already enabled")

// EnableCluster makes this engine a node of a cluster. Call it once, after registering the
// games and before serving: from then on its rooms are listed on every node, its quick play
// and room creation go by the cluster's load, and joins for rooms elsewhere are answered
// with a redirect (0x1B). Resume tokens and session ids carry the node id, so that any node
// can tell where a seat lives. Shutdown leaves the directory; it does not close the Node.
func (e *Engine) EnableCluster(opts ClusterOptions) error {
	if opts.Node == nil {
		return errors.New("engine: EnableCluster needs a Node")
	}
	if e.cl != nil {
		return ErrClusterEnabled
	}
	if opts.ReservationTTL <= 0 {
		opts.ReservationTTL = match.DefaultReservationTTL
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 2 * time.Second
	}
	n := opts.Node
	cl := &clusterLink{
		e: e, node: n, id: n.ID(), subject: seatSubject(n.Prefix(), n.ID()),
		ttl: opts.ReservationTTL, timeout: opts.RequestTimeout,
		sem:   make(chan struct{}, 256),
		dirty: make(map[string]*match.Entry),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	sub, err := n.Conn().Subscribe(cl.subject, cl.serveSeat)
	if err != nil {
		return fmt.Errorf("engine: cluster seat service: %w", err)
	}
	cl.sub = sub
	if cl.matchedSub, err = cl.listenMatched(); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("engine: cluster match notices: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cl.stop = cancel
	e.idPrefix = cl.id + "."
	e.cl = cl
	e.mu.Lock()
	for _, rc := range e.rooms {
		cl.touch(rc.entry(rc.info.Load()))
	}
	e.mu.Unlock()
	go cl.publish(ctx)
	return nil
}

// Load is what this engine carries, for cluster.Options.Load: seated players (connected or
// held) and rooms.
func (e *Engine) Load() cluster.Load {
	return cluster.Load{Players: int(e.metrics.Players.Load()), Rooms: int(e.metrics.Rooms.Load())}
}

func seatSubject(prefix, node string) string { return prefix + ".seat." + node }

// seatRequest asks a node for seats: in a room (Room), or in a room of Game it picks or
// makes (Create for a new one, Private for a private one).
type seatRequest struct {
	Room   string `json:"room,omitempty"`
	Game   string `json:"game,omitempty"`
	Create bool   `json:"create,omitempty"`
	// State and Seats move a room with its state (cluster_move.go): the game's marshalled
	// state, and for each of Players the Player.ID and Meta it had.
	State   []byte      `json:"state,omitempty"`
	Seats   []movedSeat `json:"seats,omitempty"`
	Private bool        `json:"private,omitempty"`
	ByCode  bool        `json:"byCode,omitempty"` // the client gave the private room's code
	Players []string    `json:"players"`          // the asking node's session ids
	Probe   bool        `json:"probe,omitempty"`  // only: are you there? (remoteResume)
	Client  string      `json:"client,omitempty"` // the client key, for the room-creation budget
}

// seatReply is a node's answer: the room and a reservation token per player, or a refusal
// with the code and message the client gets.
type seatReply struct {
	Room   string   `json:"room,omitempty"`
	URL    string   `json:"url,omitempty"`
	Tokens []string `json:"tokens,omitempty"`
	TTLms  int64    `json:"ttlMs,omitempty"`
	// The room's seats taken (players, held and reserved, these included) and its capacity,
	// after this reservation: quick play counts them before the directory shows them.
	Taken   int    `json:"taken,omitempty"`
	Max     int    `json:"max,omitempty"`
	Code    Code   `json:"code"`
	Message string `json:"message,omitempty"`
}

// serveSeat answers a seat request on its own goroutine: reserving waits for the room's
// next tick, and one slow room must not hold up requests for the others.
func (cl *clusterLink) serveSeat(m *nats.Msg) {
	select {
	case cl.sem <- struct{}{}:
	default:
		cl.respond(m, seatReply{Code: CodeRateLimited, Message: "the room's node is busy; try again"})
		return
	}
	go func() {
		defer func() { <-cl.sem }()
		var req seatRequest
		err := json.Unmarshal(m.Data, &req)
		switch {
		case err == nil && req.Probe:
			cl.respond(m, seatReply{Code: CodeOK})
			return
		case err != nil || len(req.Players) == 0 || len(req.Players) > maxParty*8:
			cl.respond(m, seatReply{Code: CodeMalformed, Message: "bad seat request"})
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), cl.timeout)
		defer cancel()
		cl.respond(m, cl.e.reserveSeats(ctx, req))
	}()
}

func (cl *clusterLink) respond(m *nats.Msg, r seatReply) {
	b, _ := json.Marshal(r)
	_ = m.Respond(b)
}

// reserveSeats is the room's node granting seats to another node's clients.
func (e *Engine) reserveSeats(ctx context.Context, req seatRequest) seatReply {
	cl := e.cl
	var rc *roomCore
	switch {
	case e.closing.Load():
		return seatReply{Code: CodeShutdown, Message: "the node is shutting down"}
	case req.Room != "":
		if rc = e.room(req.Room); rc == nil {
			return seatReply{Code: CodeNotFound, Message: "no room " + req.Room}
		}
		if rc.private && !req.ByCode {
			return seatReply{Code: CodePrivate, Message: "room " + req.Room + " is private: join it with its code"}
		}
	case cl.draining.Load():
		return seatReply{Code: CodeShutdown, Message: "the node is draining: it takes no new rooms"}
	case req.Create:
		by := creator{rated: true, key: req.Client}
		if len(req.Seats) > 0 {
			m, err := checkMoved(req)
			if err != nil {
				return seatReply{Code: CodeMalformed, Message: err.Error()}
			}
			by.moved = m
		}
		var err error
		if rc, err = e.createRoom(req.Game, CreateOptions{Private: req.Private}, by); err != nil {
			return seatReply{Code: createErrCode(err), Message: err.Error()}
		}
	default:
		var err error
		if rc, err = e.quickPlay(req.Game, nil); err != nil {
			return seatReply{Code: createErrCode(err), Message: err.Error()}
		}
		defer e.doneJoining(rc)
	}
	reply := make(chan seatReply, 1)
	if !rc.enqueue(command{kind: cmdReserve, seats: &seatAsk{players: req.Players, ttl: cl.ttl, byCode: req.ByCode, reply: reply}}) {
		return seatReply{Code: CodeRoomEnded, Message: "the room has ended"}
	}
	select {
	case r := <-reply:
		if r.Code == CodeOK {
			r.URL, r.TTLms = cl.node.Self().URL, cl.ttl.Milliseconds()
		}
		return r
	case <-rc.finished:
		return seatReply{Code: CodeRoomEnded, Message: "the room has ended"}
	case <-ctx.Done():
		return seatReply{Code: CodeRateLimited, Message: "the room did not answer in time"}
	}
}

// seatAsk is a cmdReserve's payload.
type seatAsk struct {
	players []string
	ttl     time.Duration
	byCode  bool
	reply   chan seatReply
}

// handleReserve reserves seats for another node's clients, counted against the room's
// capacity in the same step as local joins are: players seated, seats held for those who
// dropped, and reservations whose players are not seated yet (reservedSeats).
func (rc *roomCore) handleReserve(c *command) {
	a := c.seats
	switch {
	case rc.ended:
		a.reply <- seatReply{Code: CodeRoomEnded, Message: "the room has ended"}
		return
	case rc.locked:
		a.reply <- seatReply{Code: CodeLocked, Message: "the room is locked"}
		return
	case len(rc.players)+rc.reservedSeats()+len(a.players) > rc.cfg.MaxPlayers:
		a.reply <- seatReply{Code: CodeFull, Message: fmt.Sprintf("the room is full (%d players)", rc.cfg.MaxPlayers)}
		return
	}
	rs, err := rc.e.lobby.res.Reserve(rc.id, a.players, a.ttl)
	if err != nil {
		a.reply <- seatReply{Code: CodeBusy, Message: err.Error()}
		return
	}
	tokens := make([]string, len(rs))
	for i, r := range rs {
		tokens[i] = r.Token
	}
	rc.publishInfo()
	a.reply <- seatReply{Room: rc.id, Tokens: tokens, Code: CodeOK, Taken: len(rc.players) + rc.reservedSeats(), Max: rc.cfg.MaxPlayers}
}

// ask sends a seat request to node and waits for its answer. A node that does not answer
// (gone, or too slow) is an error, for the caller to try elsewhere.
func (cl *clusterLink) ask(ctx context.Context, node string, req seatRequest) (seatReply, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return seatReply{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, cl.timeout)
	defer cancel()
	m, err := cl.node.Conn().RequestWithContext(ctx, seatSubject(cl.node.Prefix(), node), b)
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			// A live node always holds its seat subject: this one died (SIGKILL, a crash)
			// and the view need not wait for its heartbeats to time out.
			cl.node.Suspect(node)
		}
		return seatReply{}, fmt.Errorf("node %s did not answer: %w", node, err)
	}
	var r seatReply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		return seatReply{}, fmt.Errorf("node %s answered nonsense: %w", node, err)
	}
	if r.Code == CodeOK && len(r.Tokens) != len(req.Players) {
		return seatReply{}, fmt.Errorf("node %s answered %d seats for %d players", node, len(r.Tokens), len(req.Players))
	}
	e := cl.e
	e.metrics.ClusterRequests.Add(1)
	return r, nil
}

// SessionNode is the id of the node that a session id (the player id the matchmaker sees)
// or a resume token names: "" outside a cluster. cluster.MatchmakerOptions.Owner takes it,
// so that the matcher withdraws the tickets of players whose node died.
func SessionNode(id string) string { return nodeOf(id) }

// nodeOf is the node id a session id or resume token names ("" without one).
func nodeOf(id string) string {
	node, _, ok := strings.Cut(id, ".")
	if !ok {
		return ""
	}
	return node
}

// foreign reports whether a session id belongs to another node of the cluster: a seat
// reserved for it is claimed here by whoever brings its token (match.ClaimTransfer).
func (cl *clusterLink) foreign(id string) bool {
	n := nodeOf(id)
	return n != "" && n != cl.id
}

// touch queues a room's entry for the directory; nil entry: the room ended.
func (cl *clusterLink) touch(en match.Entry) {
	cl.mu.Lock()
	cl.dirty[en.ID] = &en
	cl.mu.Unlock()
	select {
	case cl.wake <- struct{}{}:
	default:
	}
}

func (cl *clusterLink) removed(id string) {
	cl.mu.Lock()
	cl.dirty[id] = nil
	cl.mu.Unlock()
	select {
	case cl.wake <- struct{}{}:
	default:
	}
}

// publishEvery is how often at most the directory hears of one room's changes: a room
// that 50 players join in one second costs 10 writes, not 50, and other nodes see its
// seats at most this late (a join they send meanwhile is refused by the room itself).
const publishEvery = 100 * time.Millisecond

// publish writes the rooms' changes to the directory, coalesced.
func (cl *clusterLink) publish(ctx context.Context) {
	defer close(cl.done)
	t := time.NewTicker(publishEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-cl.wake:
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cl.mu.Lock()
		batch := cl.dirty
		cl.dirty = make(map[string]*match.Entry, len(batch))
		cl.mu.Unlock()
		for id, en := range batch {
			wctx, cancel := context.WithTimeout(ctx, cl.timeout)
			var err error
			if en == nil {
				err = cl.node.RemoveRoom(wctx, id)
			} else {
				err = cl.node.PublishRoom(wctx, *en)
			}
			cancel()
			if err != nil && ctx.Err() == nil {
				// The node republishes its rooms when NATS is back (cluster.Node's resync).
				cl.e.log.Debug("cluster: directory write failed", "room", id, "err", err)
			}
		}
	}
}

// close leaves the cluster's directory: the rooms are ended by now.
func (cl *clusterLink) close() {
	cl.stop()
	<-cl.done
	if cl.sub != nil {
		_ = cl.sub.Unsubscribe()
		_ = cl.matchedSub.Unsubscribe()
	}
	if !cl.node.Synced() {
		return // NATS is away: the node's records expire with it
	}
	ctx, cancel := context.WithTimeout(context.Background(), cl.timeout)
	defer cancel()
	cl.mu.Lock()
	batch := cl.dirty
	cl.dirty = map[string]*match.Entry{}
	cl.mu.Unlock()
	for id := range batch {
		_ = cl.node.RemoveRoom(ctx, id)
	}
}

// registerCode gives a private room its join code: in a cluster, one no room of any node
// holds (cluster.Node.CreateCode), drawn again on a collision.
func (e *Engine) registerCode(room string) (string, error) {
	code, err := e.lobby.codes.Register(room)
	if err != nil || e.cl == nil {
		return code, err
	}
	for range 8 {
		ctx, cancel := context.WithTimeout(context.Background(), e.cl.timeout)
		err = e.cl.node.CreateCode(ctx, code, room)
		cancel()
		if !errors.Is(err, cluster.ErrCodeTaken) {
			break
		}
		e.lobby.codes.Unregister(room)
		if code, err = e.lobby.codes.Register(room); err != nil {
			return "", err
		}
	}
	if err != nil {
		// Without NATS the code still works through this node; the cluster cannot resolve
		// it until the room is created again.
		e.log.Warn("cluster: private code not shared with the cluster", "room", room, "err", err)
	}
	return code, nil
}

// releaseCode frees an ended room's code in the cluster.
func (cl *clusterLink) releaseCode(code string) {
	ctx, cancel := context.WithTimeout(context.Background(), cl.timeout)
	defer cancel()
	_ = cl.node.ReleaseCode(ctx, code)
}

// acceptFor lets a page served by another node of the cluster connect here: the SDK of a
// page loaded from node A follows a redirect to node B with A's Origin, which B would
// refuse as a foreign origin. An Origin whose host is a live node's public host is added to
// the allowed patterns for this request; any other Origin meets the usual policy.
func (cl *clusterLink) acceptFor(r *http.Request, base *ws.AcceptOptions) *ws.AcceptOptions {
	o := r.Header.Get("Origin")
	if o == "" {
		return base
	}
	ou, err := url.Parse(o)
	if err != nil || ou.Host == "" || strings.EqualFold(ou.Host, r.Host) {
		return base
	}
	for _, ni := range cl.node.Nodes() {
		nu, err := url.Parse(ni.URL)
		if err == nil && strings.EqualFold(nu.Host, ou.Host) {
			opts := *base
			exact := strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`).Replace(strings.ToLower(ou.Host))
			opts.OriginPatterns = append(slices.Clip(base.OriginPatterns), exact)
			return &opts
		}
	}
	return base
}
