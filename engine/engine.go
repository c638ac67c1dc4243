package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lithammer/shortuuid/v4"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/internal/msgcheck"
	"github.com/rallypoint/rallypoint/match"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// Options configures an Engine. The zero value is usable.
type Options struct {
	// Clock drives every room's loop; nil is the monotonic wall clock.
	Clock Clock
	// Logger receives structured logs; nil is slog.Default().
	Logger *slog.Logger
	// Accept configures the WebSocket handshake (Origin policy, compression, limits). The
	// engine sets Subprotocols itself. Zero limits get the engine's defaults: 64 KiB messages;
	// 240 messages per second per connection, sustained (a backlog of up to ten seconds'
	// worth, released after a stall, is not closed); and the keepalive of PeerTimeout.
	Accept ws.AcceptOptions
	// PeerTimeout is how soon a connection whose peer has gone silent (a dead Wi-Fi link, a
	// phone that lost its network, a crashed browser) is dropped and the player's grace
	// period begins: the engine pings a peer it has heard nothing from for half of it and
	// drops it if the other half passes without a word. The browser SDK pings every second
	// and acknowledges snapshots, so a live client is never near it. Default 8 s; it sets
	// Accept.Limits.PingInterval and PongTimeout where those are zero.
	PeerTimeout time.Duration
	// Metrics receives counters; nil makes a fresh one (see Engine.Metrics).
	Metrics *Metrics
	// MaxRooms bounds the rooms running at once, so that clients asking for new rooms cannot
	// exhaust the server; default 10000. Beyond it a join that would create a room is
	// answered with code 6 (room full); Metrics.RoomsRefusedMax counts them.
	MaxRooms int

	// MaxConnsPerClient bounds the WebSocket connections one client (ClientKey: an IPv4
	// address or an IPv6 /64, behind trusted proxies the address they forwarded for) holds
	// at once, handshakes included. One more is refused before the upgrade with 429 Too
	// Many Requests and Retry-After (Metrics.ConnsRefusedPerClient). Default 64: a family or
	// a LAN party behind one NAT, each player with a tab or two, stays far below it; a
	// school or a carrier-grade NAT may need more, which is what the option is for.
	// Loopback clients are not limited per client (a load generator on this host, or a
	// reverse proxy here that is not in TrustedProxies, behind which everyone shares one key).
	MaxConnsPerClient int
	// MaxConns bounds the engine's connections in all, handshakes included; one more is
	// refused with 503 Service Unavailable and Retry-After (Metrics.ConnsRefused). Default:
	// three quarters of the process's open-file limit (the rest is for listeners, logs and
	// the HTTP connections that are not games), at most 50,000, at least 64. Each idle
	// connection costs a file descriptor and a few KiB; a seated player, its share of the
	// room's work too, so set it to what the machine was measured to hold.
	MaxConns int

	// TrustedProxies are the reverse proxies (and load balancers) in front of the server,
	// as CIDR prefixes: a request from one of them is attributed to the address it says it
	// forwarded for (ForwardedHeader); see ClientKey. Empty: no proxy is believed, the peer
	// is the client. Never list a prefix clients can send from: they could then claim any
	// address, and every per-client limit would be theirs to multiply.
	TrustedProxies []netip.Prefix
	// ForwardedHeader is the header the trusted proxies write: "X-Forwarded-For" (the
	// default; nginx's $proxy_add_x_forwarded_for, HAProxy's forwardfor, most load
	// balancers) or "Forwarded" (RFC 7239). Only one is read: a proxy passes the other one
	// through untouched from the client, and believing it would let the client choose its
	// own key.
	ForwardedHeader string
	// IPv6Prefix is how many leading bits of an IPv6 address make a client key; default 64.
	IPv6Prefix int

	// PublicHosts pins the host names this server is reached under by browsers, e.g.
	// "play.example.com" or "*.example.com" (path.Match patterns; a pattern without a port
	// matches any port). When set, a browser request (one with an Origin header) must be
	// addressed to one of them (its Host) and come from a page on one of them or on
	// Accept.OriginPatterns, else it is refused with 403 and a reason
	// (Metrics.OriginsRefused, and a log line, rate-limited). Without it the check is
	// same-host (Origin equals Host) plus Accept.OriginPatterns, which a DNS-rebinding page
	// passes: its name resolves to this server, so its Origin and Host agree. Non-browser
	// clients send no Origin and are not affected. RFC 6455 §10.2.
	PublicHosts []string
	// ClientRoomBurst and ClientRoomEvery are one client's budget for explicit creates
	// ({"create": true}): ClientRoomBurst rooms at once, then one more every
	// ClientRoomEvery. Defaults 10 and 6 s (ten a minute, sustained): more than a player
	// hosting game after game needs, and a hostile address holds at most ten rooms plus one
	// per 6 s. Negative ClientRoomBurst turns the budget off. Beyond it the join is
	// answered with code 18 (too many rooms) and the wait; Metrics.RoomsRefusedClient.
	// See budget.go for who is charged what.
	ClientRoomBurst int
	ClientRoomEvery time.Duration
	// RoomBurst and RoomEvery are the server-wide budget for rooms clients cause (creates,
	// quick play, matchmaking): RoomBurst at once, then one every RoomEvery. Defaults 200
	// and 10 ms (100 rooms a second: a load generator starting 500 shooter players a second
	// needs 63). Negative RoomBurst turns it off. Beyond it: code 18 and the wait;
	// Metrics.RoomsRefusedRate.
	RoomBurst int
	RoomEvery time.Duration
}

// RoomConfig says how a game's rooms run. Zero fields take the defaults given.
type RoomConfig struct {
	TickRate     int // simulation ticks per second; default 30
	SnapshotRate int // snapshots per second, a divisor of TickRate; default TickRate
	MaxPlayers   int // default 16
	// Grace is how long a dropped player's seat is held for a reconnect, counted from when
	// the drop is noticed (at once for a closed connection, after Options.PeerTimeout for a
	// silent one); default 30 s, so that a player whose link went dead for half a minute
	// (a train through a tunnel) comes back to the same seat.
	Grace time.Duration
	// EmptyTimeout ends a room that has had no players this long; default 30s; negative never.
	EmptyTimeout time.Duration
	// TickWhenEmpty keeps the room ticking at TickRate while nobody holds a seat. By default
	// an empty room sleeps: it runs no tick (so no Update, no Snapshot) until someone joins,
	// it is stopped or its EmptyTimeout ends it, and it gives back its snapshot history and
	// frames. Tick numbers resume where they stopped, so the game's world is paused while
	// nobody is there. Set it for a game whose world must go on alone (a day-night cycle, a
	// scheduled event); it costs what an occupied room costs: 600 empty shooter rooms
	// ticking with their bots took 0.44 of a core (BenchmarkEmptyRoomsCPU), and a room's
	// snapshot history stays in memory. Metrics.RoomsAsleep counts the sleeping rooms.
	TickWhenEmpty bool
	// ReadAtTick makes the room read its players' messages at each tick (ws.Conn.Pull),
	// instead of each message as it arrives on the connection's goroutine. The game sees
	// every input at the same tick either way, since inputs wait for the tick; what changes
	// is the cost of receiving them: no wake-up and no goroutine hand-off per message, one
	// read(2) per player per tick however many messages came. What it costs is time for
	// what a player expects answered between ticks: a ping is answered up to one tick later
	// (16.7 ms at 60 Hz), which the player's measured round trip includes, and a request
	// waits for the tick as it does anyway. Set it for a game that ticks fast and whose
	// players send every tick (an action game); a slow-ticking room (a puzzle at 10 Hz)
	// would answer pings a tenth of a second late. Messages that must not wait for the
	// room (join, matchmaking, the lobby) are read on the connection's goroutine as usual,
	// as is everything over TLS or where net/ws has no poller (not Linux).
	ReadAtTick bool
	// MaxInputsPerTick bounds the inputs one player may have waiting for a tick; inputs
	// beyond it are dropped (Metrics.InputsDropped), the player is not. Default: one second
	// of inputs at one per tick (TickRate), at least 16. A client that sends one input per
	// tick still delivers them in bursts after any stall (a TCP retransmission, a paused
	// tab), and a room starved of CPU lets them pile up; neither is the player's fault.
	// Floods are stopped by the connection's message rate limit (1008, 240 messages/s
	// sustained).
	MaxInputsPerTick int
	// MaxPendingRequests bounds a player's requests ([5, req, name, payload]) waiting for the
	// room's next tick, where Game.Request answers them. One over the bound is answered at
	// once with [21, req, 8, "too many requests waiting"] and goes no further; the player and
	// the connection stay, since a burst after a stall is not an attack. A sustained flood
	// is closed by the connection's message rate limit (1008). Default 8: an honest client
	// waits for its answers, and 8 a tick at 30 Hz is already the 240 messages a second the
	// rate limit allows; each waiting request holds its payload (up to the 64 KiB message
	// limit), so the bound is also 512 KiB of memory per player at most.
	MaxPendingRequests int
	// MaxRewind bounds lag compensation: an input's View (what the client drew when it
	// made the input) is limited to this far before the tick that applies it, so that a
	// player on a bad link cannot hit someone who reached cover longer ago. Real views are
	// an interpolation delay plus half a round trip old: about 150 ms at 100 ms RTT, 300 ms
	// at 200 ms with jitter, and half a second or more while TCP recovers a lost segment at
	// 1% loss. Default 1 s, as Valve's Source engine (sv_maxunlag); negative turns rewinding
	// off (every View becomes the latest tick).
	MaxRewind time.Duration
	// AckWindow is how far a player's snapshots may run ahead of its acknowledgements. Once
	// the oldest snapshot the player has not acknowledged was sent AckWindow ago, it gets
	// one snapshot per AckWindow until an acknowledgement comes, then the full rate again:
	// a client that cannot keep up (a starved phone, a link slower than the snapshots)
	// gets fewer snapshots instead of a queue that grows in the sockets' buffers, where
	// latest-wins cannot replace them, until its pings time out and its deltas name
	// baselines it has long let go. It is flow control by acknowledgement, as TCP's window,
	// at the level where skipping a snapshot is harmless: every delta is against a tick
	// the client acknowledged, never against the one before it. Default 1 s, above any
	// round trip a game is played over (a 200 ms path with jitter and a TCP retransmission
	// acknowledges within about 600 ms); negative turns it off. A client must acknowledge
	// the snapshots it applies (PROTOCOL.md), or it gets one a window.
	// Metrics.SnapshotsHeld counts the snapshots held back.
	AckWindow time.Duration
	// PredictDeltas sends a v2 client's changed integers as differences from the value
	// predicted from the last two snapshots it acknowledged, not from the last one
	// (PROTOCOL.md, "The v2 snapshot"; state.AppendDeltaV2Predicted). Something moving at
	// a steady speed then costs a byte a coordinate where its movement costs two or
	// three: set it for a game whose state moves steadily (the shooter does). What it
	// costs: 2 bytes a snapshot for the second offset, one more snapshot pinned per
	// player, frames shared only by players with the same two baselines, and a field that
	// changes in steps (a score, a letter) costs more when it changes at two snapshots in
	// a row. Off, the 2 bytes are not spent: a game of steps (a crossword) saves nothing.
	PredictDeltas bool
	// MaxCatchUp is how many overdue ticks run back to back before the loop skips ahead.
	// Default 3.
	MaxCatchUp int
	// SnapshotHistory is how many of its newest snapshots a room keeps in its ring besides
	// those its players still need; default 4. A player's baselines do not depend on it:
	// each snapshot sent to a player stays pinned until the player acknowledges a newer one
	// (up to the last 64 sent), and the acknowledged one until the next acknowledgement,
	// however far the ring has moved on (PROTOCOL.md, "Late acknowledgements"). So a
	// larger ring buys nothing but memory: each snapshot it keeps is as large as the room's
	// largest scene (about 4.5 KiB for 64 moving entities), and the former default of 64
	// held about 290 KiB in every shooter room of BenchmarkManyRooms.
	SnapshotHistory int
	// FrameCacheSize is how many encoded snapshot frames of one tick a room shares between
	// its players (distinct views × baselines); default 256. Frames of past ticks are
	// released (state.FrameCache).
	FrameCacheSize int
	// Schema declares the game's entity kinds, with their field names and types, and the
	// fields of its room state (state.Schema). Register validates it and encodes it once;
	// every client gets it in its join answer (0x11, PROTOCOL.md "Schema") and reads fields
	// by name, and state/tsgen writes TypeScript types from it. Each snapshot then checks
	// that every entity wrote as many fields as its kind declares (one comparison per
	// entity): a mismatch, or a kind not declared, is logged once per game and kind, as an
	// error, and the room goes on, since the snapshots stay correct and only the names a
	// client reads are off; a game's tests catch it before that (state.Builder.CheckSchema).
	// nil: no schema, clients read fields by index.
	Schema *state.Schema
}

func (c RoomConfig) withDefaults() (RoomConfig, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.TickRate, 30)
	def(&c.SnapshotRate, c.TickRate)
	def(&c.MaxPlayers, 16)
	def(&c.MaxInputsPerTick, max(16, c.TickRate))
	def(&c.MaxPendingRequests, 8)
	def(&c.MaxCatchUp, 3)
	def(&c.SnapshotHistory, 4)
	def(&c.FrameCacheSize, 256)
	if c.Grace == 0 {
		c.Grace = 30 * time.Second
	}
	if c.MaxRewind == 0 {
		c.MaxRewind = time.Second
	}
	if c.AckWindow == 0 {
		c.AckWindow = time.Second
	}
	if c.EmptyTimeout == 0 {
		c.EmptyTimeout = 30 * time.Second
	}
	if c.TickRate < 1 || c.TickRate > 1000 || c.SnapshotRate < 1 || c.TickRate%c.SnapshotRate != 0 {
		return c, fmt.Errorf("engine: TickRate %d and SnapshotRate %d: the snapshot rate must divide the tick rate", c.TickRate, c.SnapshotRate)
	}
	if c.Schema != nil {
		if err := c.Schema.Validate(); err != nil {
			return c, fmt.Errorf("engine: RoomConfig.Schema: %w", err)
		}
	}
	if c.MaxPlayers < 1 || c.MaxInputsPerTick < 1 || c.MaxPendingRequests < 1 || c.MaxCatchUp < 0 || c.SnapshotHistory < 2 || c.FrameCacheSize < 1 {
		return c, errors.New("engine: RoomConfig has a negative or zero limit")
	}
	return c, nil
}

func (c RoomConfig) dt() time.Duration { return time.Second / time.Duration(c.TickRate) }

// rewindTicks is MaxRewind in ticks, rounded up (0 when rewinding is off).
func (c RoomConfig) rewindTicks() state.Tick {
	if c.MaxRewind <= 0 {
		return 0
	}
	return c.ticks(c.MaxRewind)
}

// ackWindow is AckWindow in ticks, rounded up (0 when off).
func (c RoomConfig) ackWindow() state.Tick {
	if c.AckWindow <= 0 {
		return 0
	}
	return c.ticks(c.AckWindow)
}

// ticks is d in ticks, rounded up.
func (c RoomConfig) ticks(d time.Duration) state.Tick {
	return state.Tick((d*time.Duration(c.TickRate) + time.Second - 1) / time.Second)
}

// maxExtrapolation is how far past the newer of its two snapshots an input's View may reach:
// the browser SDK extrapolates up to 100 ms when a snapshot is late, and this leaves a
// margin for a client that does a little more.
const maxExtrapolation = 150 * time.Millisecond

func (c RoomConfig) snapshotEvery() int { return c.TickRate / c.SnapshotRate }

// CreateOptions are given when a room is created.
type CreateOptions struct {
	// Private rooms are not listed, not chosen by quick play, and joined only by their code
	// or a seat reservation: a room id shows in logs, metrics and URLs, so it is no secret,
	// and a join by id is refused (CodePrivate). Code guesses are rate-limited; ids are not.
	Private  bool
	Metadata map[string]string
}

type registration struct {
	name    string
	cfg     RoomConfig
	newRoom func(rc *roomCore) sim
	// emptyWarned is set once a room of the game has sent its players a snapshot without
	// a single entity, and said so in the log (roomCore.sendSnapshots).
	emptyWarned atomic.Bool
	// schema is cfg.Schema as the join answer carries it, encoded once; nil without one.
	schema msgpack.RawMessage
	// events is cfg.Schema's event names, and eventIndex the index of each (state.Schema.Events).
	events     msgpack.RawMessage
	eventIndex map[string]uint8
	// schemaWarned has bit k set once a room of the game logged that an entity of kind k
	// does not match the schema.
	schemaWarned kindSet
}

// kindSet is a set of entity kinds, safe for concurrent use.
type kindSet [4]atomic.Uint64

// add adds k and reports whether it was not in the set.
func (s *kindSet) add(k uint8) bool {
	bit := uint64(1) << (k % 64)
	return s[k/64].Or(bit)&bit == 0
}

// Engine hosts rooms of registered games and serves players over WebSocket. It is an
// http.Handler: mount it on any mux, e.g. mux.Handle("/play", e).
type Engine struct {
	clock    Clock
	log      *slog.Logger
	maxRooms int
	accept   ws.AcceptOptions
	metrics  *Metrics

	mu      sync.Mutex
	games   map[string]*registration
	rooms   map[string]*roomCore
	closing atomic.Bool
	// phaseLoad counts the running rooms of each phase group, by tick length (takePhase).
	phaseMu   sync.Mutex
	phaseLoad map[time.Duration][]int
	// quickMu makes quick play's choice of room and its count of seats handed out but not
	// yet answered (joining, by room id) one step.
	quickMu sync.Mutex
	joining map[string]int

	sessions sessions
	lobby    *lobby

	panicLogs  *logLimiter // lines about inputs that made the game's decoder panic
	originLogs *logLimiter // lines about refused origins

	connLimit   connLimits
	proxies     []netip.Prefix
	fwdHeader   string
	v6Prefix    int
	publicHosts []string
	budget      *roomBudget

	// Set by EnableCluster, before serving; nil and "" for one node alone.
	cl       *clusterLink
	idPrefix string // "<node>." in a cluster: session ids and resume tokens name their node
}

// newID is a random id (a resume token, a session id) that names this node in a cluster.
func (e *Engine) newID() string { return e.idPrefix + shortuuid.New() }

// New makes an engine.
func New(opts Options) *Engine {
	e := &Engine{
		clock:   opts.Clock,
		log:     opts.Logger,
		accept:  opts.Accept,
		metrics: opts.Metrics,
		games:   make(map[string]*registration),
		rooms:   make(map[string]*roomCore),
		joining: make(map[string]int),
	}
	if e.clock == nil {
		e.clock = NewRealClock()
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.metrics == nil {
		e.metrics = new(Metrics)
	}
	e.maxRooms = opts.MaxRooms
	if e.maxRooms <= 0 {
		e.maxRooms = 10000
	}
	e.accept.Subprotocols = []string{SubprotocolV3, SubprotocolV2, Subprotocol}
	if e.accept.Limits.MaxMessageSize == 0 {
		e.accept.Limits.MaxMessageSize = 64 << 10
	}
	if e.accept.Limits.MaxFrameSize == 0 {
		e.accept.Limits.MaxFrameSize = 64 << 10
	}
	if e.accept.Limits.MaxMessagesPerSecond == 0 {
		e.accept.Limits.MaxMessagesPerSecond = 240
	}
	peer := opts.PeerTimeout
	if peer <= 0 {
		peer = 8 * time.Second
	}
	if e.accept.Limits.PingInterval == 0 {
		e.accept.Limits.PingInterval = peer / 2
	}
	if e.accept.Limits.PongTimeout == 0 {
		e.accept.Limits.PongTimeout = peer - peer/2
	}
	client, server := rate{opts.ClientRoomBurst, opts.ClientRoomEvery}, rate{opts.RoomBurst, opts.RoomEvery}
	if client.burst == 0 {
		client.burst = 10
	}
	if client.every <= 0 {
		client.every = 6 * time.Second
	}
	if server.burst == 0 {
		server.burst = 200
	}
	if server.every <= 0 {
		server.every = 10 * time.Millisecond
	}
	e.budget = newRoomBudget(client, server, e.clock.Now())
	e.sessions.byToken = make(map[string]*Player)
	e.panicLogs = newLogLimiter(5, 10*time.Second)
	e.originLogs = newLogLimiter(5, 10*time.Second)
	e.connLimit = connLimits{perClient: opts.MaxConnsPerClient, total: opts.MaxConns, byKey: make(map[string]int)}
	if e.connLimit.perClient <= 0 {
		e.connLimit.perClient = 64
	}
	if e.connLimit.total <= 0 {
		e.connLimit.total = 50000
		if fd := fdLimit(); fd > 0 {
			e.connLimit.total = max(64, min(e.connLimit.total, fd-fd/4))
		}
	}
	e.proxies = slices.Clone(opts.TrustedProxies)
	e.fwdHeader = http.CanonicalHeaderKey(opts.ForwardedHeader)
	if e.fwdHeader == "" {
		e.fwdHeader = "X-Forwarded-For"
	}
	e.v6Prefix = opts.IPv6Prefix
	if e.v6Prefix <= 0 || e.v6Prefix > 128 {
		e.v6Prefix = 64
	}
	e.publicHosts = slices.Clone(opts.PublicHosts)
	// A page on a pinned host may open connections addressed to another pinned host (the
	// site on www., the game server on play.).
	// ws matches an Origin's host with its port, so a name pinned without one allows any.
	e.accept.OriginPatterns = slices.Clip(opts.Accept.OriginPatterns)
	for _, h := range opts.PublicHosts {
		e.accept.OriginPatterns = append(e.accept.OriginPatterns, h)
		if _, _, err := net.SplitHostPort(h); err != nil {
			e.accept.OriginPatterns = append(e.accept.OriginPatterns, h+":*")
		}
	}
	e.lobby = newLobby(e)
	return e
}

// Metrics returns the engine's counters.
func (e *Engine) Metrics() *Metrics { return e.metrics }

// Register adds a game: rooms of it run with cfg, each with a Game made by newGame.
func Register[I any](e *Engine, name string, cfg RoomConfig, newGame func() Game[I]) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.games[name]; dup {
		return fmt.Errorf("engine: game %q registered twice", name)
	}
	schema := msgcheck.For(reflect.TypeFor[I]())
	reg := &registration{name: name, cfg: cfg, newRoom: func(rc *roomCore) sim {
		return &Room[I]{core: rc, game: newGame(), schema: schema}
	}}
	if cfg.Schema != nil {
		reg.schema = cfg.Schema.AppendMsgpack(nil)
		if len(cfg.Schema.Events) > 0 {
			reg.events = cfg.Schema.AppendEvents(nil)
			reg.eventIndex = make(map[string]uint8, len(cfg.Schema.Events))
			for i, name := range cfg.Schema.Events {
				reg.eventIndex[name] = uint8(i)
			}
		}
	}
	e.games[name] = reg
	return nil
}

// ErrUnknownGame is returned for a game name that was never registered.
var ErrUnknownGame = errors.New("engine: unknown game")

// ErrTooManyRooms is returned when Options.MaxRooms rooms are already running.
var ErrTooManyRooms = errors.New("engine: too many rooms")

// ErrShuttingDown is returned once Shutdown has begun.
var ErrShuttingDown = errors.New("engine: shutting down")

// CreateRoom starts a room of a registered game. It is bounded by Options.MaxRooms, not by
// the creation budgets, which ration what clients cause.
func (e *Engine) CreateRoom(game string, opts CreateOptions) (RoomInfo, error) {
	rc, err := e.createRoom(game, opts, creator{})
	if err != nil {
		return RoomInfo{}, err
	}
	return *rc.info.Load(), nil
}

func (e *Engine) createRoom(game string, opts CreateOptions, by creator) (*roomCore, error) {
	if e.closing.Load() {
		return nil, ErrShuttingDown
	}
	e.mu.Lock()
	reg, ok := e.games[game]
	if !ok {
		e.mu.Unlock()
		return nil, fmt.Errorf("%w %q", ErrUnknownGame, game)
	}
	if len(e.rooms) >= e.maxRooms {
		e.mu.Unlock()
		e.metrics.RoomsRefusedMax.Add(1)
		return nil, fmt.Errorf("%w (%d running)", ErrTooManyRooms, e.maxRooms)
	}
	if err := e.budget.take(by, e.clock.Now()); err != nil {
		e.mu.Unlock()
		if errors.Is(err, ErrClientRoomBudget) {
			e.metrics.RoomsRefusedClient.Add(1)
		} else {
			e.metrics.RoomsRefusedRate.Add(1)
		}
		return nil, err
	}
	rc := newRoomCore(e, game, reg.cfg, opts)
	rc.sim = reg.newRoom(rc)
	rc.emptyWarned = &reg.emptyWarned
	rc.schema, rc.schemaWarned = reg.schema, &reg.schemaWarned
	rc.events, rc.eventIndex = reg.events, reg.eventIndex
	rc.movedIn = by.moved
	e.rooms[rc.id] = rc
	e.mu.Unlock()
	if opts.Private {
		code, err := e.registerCode(rc.id)
		if err != nil {
			e.log.Warn("no join code for a private room", "room", rc.id, "err", err)
		}
		rc.code = code
	}
	rc.publishInfo()
	e.metrics.Rooms.Add(1)
	e.metrics.RoomsCreated.Add(1)
	go rc.run()
	return rc, nil
}

// forget removes an ended room from the directory.
func (e *Engine) forget(rc *roomCore) {
	e.mu.Lock()
	if e.rooms[rc.id] == rc {
		delete(e.rooms, rc.id)
		e.metrics.Rooms.Add(-1)
	}
	e.mu.Unlock()
	e.lobby.dir.Remove(rc.id)
	code, _ := e.lobby.codes.Code(rc.id)
	e.lobby.codes.Unregister(rc.id)
	if e.cl != nil {
		e.cl.removed(rc.id)
		if code != "" {
			go e.cl.releaseCode(code)
		}
	}
	e.lobby.res.ReleaseRoom(rc.id)
}

// Rooms lists the running rooms, sorted by id.
func (e *Engine) Rooms() []RoomInfo {
	e.mu.Lock()
	out := make([]RoomInfo, 0, len(e.rooms))
	for _, rc := range e.rooms {
		out = append(out, *rc.info.Load())
	}
	e.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Room returns one room's listing data.
func (e *Engine) Room(id string) (RoomInfo, bool) {
	e.mu.Lock()
	rc, ok := e.rooms[id]
	e.mu.Unlock()
	if !ok {
		return RoomInfo{}, false
	}
	return *rc.info.Load(), true
}

// EndRoom ends a room from outside (an admin action): players get the message.
func (e *Engine) EndRoom(id, message string) bool {
	e.mu.Lock()
	rc, ok := e.rooms[id]
	e.mu.Unlock()
	if ok {
		rc.requestStop(EndReason{Code: CodeRoomEnded, Message: message})
	}
	return ok
}

// quickPlay finds the fullest public, unlocked room of game with a free seat (match.QuickPlay),
// or creates one, and counts the seat as taken until the caller's join is answered
// (handleJoin, or doneJoining if the room ended first). The directory lists a room's
// players as of its last join, so without that count concurrent joins would all pick the
// same last seat and all but one be refused.
// Rooms in skip, which refused this player already, are passed over.
func (e *Engine) quickPlay(game string, skip []string) (*roomCore, error) {
	return e.quickPlayOr(game, skip, true)
}

// errNoOpenRoom is quickPlayOr's answer when no room has a free seat and it may not create
// one (in a cluster, placement decides where new rooms go).
var errNoOpenRoom = errors.New("engine: no open room")

// quickPlayOr is quickPlay that creates a room only if create is set.
func (e *Engine) quickPlayOr(game string, skip []string, create bool) (*roomCore, error) {
	e.quickMu.Lock()
	defer e.quickMu.Unlock()
	en, ok := match.QuickPlay(e.lobby.dir, game, match.Filter{Accept: func(en match.Entry) bool {
		return en.Taken()+e.joining[en.ID] < en.MaxPlayers && !slices.Contains(skip, en.ID)
	}})
	var rc *roomCore
	if ok {
		rc = e.room(en.ID)
	}
	if rc == nil {
		if !create {
			return nil, errNoOpenRoom
		}
		var err error
		if rc, err = e.createRoom(game, CreateOptions{}, creator{rated: true}); err != nil {
			return nil, err
		}
	}
	e.joining[rc.id]++
	return rc, nil
}

// doneJoining releases the seat quickPlay counted in rc when the room never answered the
// join (it ended first). A room that answers releases it itself, in handleJoin, in the same
// step as it lists the player.
func (e *Engine) doneJoining(rc *roomCore) {
	e.quickMu.Lock()
	e.releaseJoining(rc)
	e.quickMu.Unlock()
}

// releaseJoining is doneJoining with e.quickMu held.
func (e *Engine) releaseJoining(rc *roomCore) {
	if e.joining[rc.id]--; e.joining[rc.id] <= 0 {
		delete(e.joining, rc.id)
	}
}

// Shutdown ends every room (players get close 1001 after a last tick applies the inputs
// already received) and waits for them, or for ctx.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.closing.Store(true)
	e.mu.Lock()
	rooms := make([]*roomCore, 0, len(e.rooms))
	for _, rc := range e.rooms {
		rooms = append(rooms, rc)
	}
	e.mu.Unlock()
	conns := e.lobby.conns()
	for _, rc := range rooms {
		rc.requestStop(EndReason{Code: CodeShutdown, Message: "server shutting down"})
	}
	for _, rc := range rooms {
		select {
		case <-rc.finished:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	e.lobby.stop()
	if e.cl != nil {
		e.cl.close()
	}
	// Connections that were in no room.
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Close(ws.StatusGoingAway, "server shutting down") }()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sessions maps resume tokens to seats.
//
// A token is rotated on every resume (RFC 6749 §10.4 does the same with refresh tokens, for
// the same reason): the 0x11 answering a resume carries a new token and the one used dies,
// so a token seen once (a log line, a shared screen, a proxy) cannot take the seat over
// later. Killing the used token at once would cost a player whose link dropped again before
// the answer arrived the seat itself (they hold only the used token), and that is just when
// links drop: so the used token stays honoured until the new connection acknowledges a
// snapshot, which it can only have received after the 0x11 with the new token. The window
// in which a copied token still works is one round trip after each resume.
type sessions struct {
	mu      sync.Mutex
	byToken map[string]*Player
}

func (s *sessions) add(p *Player) {
	s.mu.Lock()
	s.byToken[p.token] = p
	s.mu.Unlock()
}

func (s *sessions) remove(p *Player) {
	s.mu.Lock()
	s.forget(p, p.token)
	s.forget(p, p.prevToken)
	s.mu.Unlock()
}

// forget drops token if it names p; s.mu is held.
func (s *sessions) forget(p *Player, token string) {
	if token != "" && s.byToken[token] == p {
		delete(s.byToken, token)
	}
}

// rotate gives p a new token after a resume made with used (p's token or its previous one):
// used stays valid until confirm, every other token of p dies.
func (s *sessions) rotate(p *Player, used, next string) {
	s.mu.Lock()
	s.forget(p, p.token)
	s.forget(p, p.prevToken)
	p.token, p.prevToken = next, used
	s.byToken[next] = p
	s.byToken[used] = p
	s.mu.Unlock()
}

// confirm retires p's previous token: the client has its new one.
func (s *sessions) confirm(p *Player) {
	s.mu.Lock()
	s.forget(p, p.prevToken)
	p.prevToken = ""
	s.mu.Unlock()
}

func (s *sessions) get(token string) *Player {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byToken[token]
}

// writeMsg encodes [kind, args...] and sends it on the ordered queue.
func (e *Engine) writeMsg(c *ws.Conn, kind int, args ...any) error {
	b, err := Marshal(append([]any{kind}, args...))
	if err != nil {
		return err
	}
	return c.WriteMessage(ws.MessageBinary, b)
}

// appendInputAck encodes [19, seq, tick].
func appendInputAck(b []byte, seq, tick uint32) []byte {
	b = append(b, 0x93, KindInputAck)
	b = appendUint32(b, seq)
	return appendUint32(b, tick)
}

// appendUint32 appends v as a msgpack unsigned integer in its shortest form.
func appendUint32(b []byte, v uint32) []byte {
	switch {
	case v < 128:
		return append(b, byte(v))
	case v < 256:
		return append(b, 0xcc, byte(v))
	case v < 65536:
		return append(b, 0xcd, byte(v>>8), byte(v))
	}
	return append(b, 0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// ServeHTTP upgrades the request to a rallypoint.v2 (or v1) WebSocket connection and serves it.
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.closing.Load() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	if !e.checkHost(w, r) {
		return
	}
	key := e.ClientKey(r)
	switch e.connLimit.acquire(key) {
	case http.StatusTooManyRequests:
		e.metrics.ConnsRefusedPerClient.Add(1)
		refuse(w, http.StatusTooManyRequests, connRetryClient,
			fmt.Sprintf("too many connections from your address (%d open); close one or try again later", e.connLimit.perClient))
		return
	case http.StatusServiceUnavailable:
		e.metrics.ConnsRefused.Add(1)
		refuse(w, http.StatusServiceUnavailable, connRetryServer,
			fmt.Sprintf("server full (%d connections); try again later", e.connLimit.total))
		return
	}
	e.metrics.Conns.Add(1)
	// The connection's slot is given back when its session ends (session.OnClose), or here
	// when it never became one.
	served := false
	defer func() {
		if !served {
			e.connLimit.release(key)
			e.metrics.Conns.Add(-1)
		}
	}()
	// A refused handshake closes its connection: the client came for a WebSocket, not to
	// reuse the connection for other requests (and ws.Dial reads a refusal's body to EOF).
	// A 101 is written on the hijacked connection, without this header.
	w.Header().Set("Connection", "close")
	accept := &e.accept
	if e.cl != nil {
		accept = e.cl.acceptFor(r, accept)
	}
	// net/ws owns the read loop (ws.Serve): this handler returns once the session is set up,
	// and an idle player's connection keeps neither net/http's goroutine nor its state.
	_, err := ws.Serve(w, r, accept, func(c *ws.Conn) ws.Handler {
		if p := c.Subprotocol(); p != SubprotocolV3 && p != SubprotocolV2 && p != Subprotocol {
			_ = c.Close(ws.StatusProtocolError, "this endpoint speaks the "+SubprotocolV3+", "+SubprotocolV2+" and "+Subprotocol+" subprotocols")
			return nil
		}
		served = true
		s := &session{e: e, c: c, key: key}
		s.open()
		return s
	})
	if err != nil {
		var he *ws.HandshakeError
		if errors.As(err, &he) && he.Status == http.StatusForbidden {
			e.originRefused(r, he.Reason)
		}
	}
}

// sessionEnded gives an ended session's connection slot back.
func (e *Engine) sessionEnded(key string) {
	e.connLimit.release(key)
	e.metrics.Conns.Add(-1)
}
