/** The connection: joins, snapshots, inputs, requests, ping/pong and reconnection. */
import { type BackoffOptions } from "./backoff.js";
import { ServerClock } from "./clock.js";
import { InterpolationBuffer, type InterpolationOptions, type InterpolationSample, type LerpFields } from "./interpolation.js";
import { SnapshotMirror, type State } from "./mirror.js";
import { Schema, type AnyValues, type Entity, type EntityOf } from "./schema.js";
import { InputBuffer, type PendingInput } from "./prediction.js";
import { RallypointError } from "./protocol.js";
/** The part of the browser WebSocket the SDK uses (Node's `ws` package fits too). */
export interface WebSocketLike {
    binaryType: string;
    readonly protocol: string;
    readonly readyState: number;
    onopen: ((ev: unknown) => void) | null;
    onmessage: ((ev: {
        data: unknown;
    }) => void) | null;
    onclose: ((ev: {
        code: number;
        reason: string;
    }) => void) | null;
    onerror: ((ev: unknown) => void) | null;
    send(data: Uint8Array): void;
    close(code?: number, reason?: string): void;
}
/** A WebSocket constructor: the browser's, or e.g. `ws`'s WebSocket in Node. */
export type WebSocketConstructor = new (url: string, protocols: string | string[]) => WebSocketLike;
/** Options of {@link connect}. */
export interface ConnectOptions {
    /** The WebSocket class (default: globalThis.WebSocket). */
    WebSocket?: WebSocketConstructor;
    /** Reconnect after an unexpected drop, resuming the seat with the token (default true). */
    reconnect?: boolean;
    /**
     * Give up after this many failed attempts in a row (default: never). A player on a train
     * wants the game back when the tunnel ends, however long it was; the page shows the
     * attempts ("state" events) and may call {@link Client.close}.
     */
    maxReconnectAttempts?: number;
    /** The reconnection backoff schedule (default 250 ms doubling to 2 s, with jitter). */
    backoff?: BackoffOptions;
    /** Ping every this many ms while open (default 1000; 0 disables). */
    pingInterval?: number;
    /**
     * A connection that has heard nothing from the server for this long (ms, default 3000),
     * with a ping unanswered, is dead: a Wi-Fi link that went silent says nothing else. The
     * client abandons it and reconnects at once, resuming the seat.
     */
    silenceTimeout?: number;
    /**
     * In a room, no snapshot for this long (ms; default the larger of 500 and three snapshot
     * intervals) means the link is stalled: {@link Client.sendInput} sends nothing until
     * snapshots flow again ("stall" events say when), since inputs queued behind a stall
     * would reach the server all at once, stale.
     */
    stallAfter?: number;
    /**
     * A connection attempt not open within this long (ms, default 5000) is given up on and
     * another made at once. The one given up on is not closed yet: it may still open for as long
     * again, beside the new one, and whichever opens first is kept. A fresh attempt every few
     * seconds is what gets through soonest when a dead link comes back (an old attempt's lost
     * packets wait for the kernel's retransmission, 1, 3, 7 s apart); the lingering one is what
     * lets a handshake that needs more than this (a busy server, a slow link) open at all.
     * What it costs: two sockets at most while connecting.
     */
    connectTimeout?: number;
    /**
     * When a resume finds the seat gone (the grace period ran out, the room ended), join
     * again the way the last join did (quick play again, a new room again, the same room or
     * code again; not a resume token or a reservation, whose seat is what was lost), instead
     * of leaving the page to offer a new game (default false). The "left" event comes first,
     * with `rejoining: true`; a refused join comes as an "error" event.
     */
    autoRejoin?: boolean;
    /**
     * After applying a snapshot, wait up to this many ms for {@link Client.sendInput} to carry
     * its acknowledgement (`[3, seq, input, tick]`) before sending `[4, tick]` alone (default
     * 20, about one input interval at 60 Hz; 0 acknowledges every snapshot at once). Every
     * message costs the server a wake-up and a read, so a client that sends inputs at least this
     * often sends no separate acknowledgements; one that sends none (a turn-based or puzzle
     * game) acknowledges each snapshot this much later, and a snapshot arriving sooner is a
     * delta against an older baseline: still correct, a little larger.
     */
    ackDelay?: number;
    /**
     * Send inputs at most this many times a second (Hz; default 0: each input goes at once).
     * Inputs made in between wait and go together in one message, up to MAX_INPUT_BATCH
     * (`[10, first_seq, [input, ...], ack_tick, [view, ...]]`, PROTOCOL.md), so the server
     * reads, wakes and parses once for several: with inputs made at 60 Hz, an inputRate of 30
     * halves the messages a player sends (about a fifth less server CPU for the shooter). An
     * input made after a quiet spell goes at once. What it costs: an input waits up to
     * 1000/inputRate ms before it goes (at 30 Hz with inputs at 60 Hz, 17 ms for every other
     * input, 8 ms on average); prediction hides it from the player's own view, not from the
     * others'.
     */
    inputRate?: number;
    /** States kept as delta baselines (default 128). */
    baselines?: number;
    /**
     * Where to keep the seat across a page reload (`localStorage` or `sessionStorage` in a
     * browser; default none): the resume token of the room joined is saved under
     * `storageKey`, and {@link Client.resumeSaved} takes the seat back after the reload, as the
     * same player, within the room's grace period (30 s by default). Leaving the room, or
     * being told it is over, forgets it.
     */
    storage?: SeatStorage;
    /** The key of the saved seat in `storage` (default "rallypoint:" and the URL). */
    storageKey?: string;
    /** Interpolation buffer tuning. */
    interpolation?: InterpolationOptions;
    /** Local clock in ms (default performance.now). */
    now?: () => number;
    /** Random numbers in [0, 1) for backoff jitter (default Math.random). */
    random?: () => number;
    /**
     * How many redirects one join follows in a cluster (default 3; PROTOCOL.md, "A cluster of
     * nodes"). A cluster sends one (the entry node reserved the seat on the room's node); a
     * second happens when a node's view is a moment old. Past this many the join is rejected
     * (code `Code.Disconnected`, "too many redirects") rather than bounce between nodes, each
     * hop costing a handshake and a round trip.
     */
    maxRedirects?: number;
}
/** The part of the Web Storage API the saved seat needs (localStorage has it). */
export interface SeatStorage {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
}
/** A seat saved in {@link ConnectOptions.storage}. */
export interface SavedSeat {
    room: string;
    token: string;
    /** When it was saved (ms since the epoch). */
    savedAt: number;
}
/** Options of {@link Client.join}; one of game, room, code, token or reservation is needed. */
export interface JoinOptions {
    /** The game to play; without `room`, quick play. */
    game?: string;
    /** A room id. */
    room?: string;
    /** The join code of a private room (case-insensitive). */
    code?: string;
    /** A resume token from an earlier join. */
    token?: string;
    /** A seat reservation from a match. */
    reservation?: string;
    /** With `game`: always make a new room. */
    create?: boolean;
    /** With `create`: the new room is private (joined by its code). */
    private?: boolean;
    /** Handed to the game's Join hook. */
    meta?: unknown;
}
/** The answer to a successful join (or resume). */
export interface Joined {
    room: string;
    /** Your player id in the room, stable across resumes. */
    player: number;
    /** The resume token (the SDK uses it to reconnect). */
    token: string;
    /** The room's tick when you joined. */
    tick: number;
    /** Simulation rate (Hz). */
    tickRate: number;
    /** Snapshot rate (Hz). */
    snapshotRate: number;
    /** The join code if the room is private, else "". */
    code: string;
    /** True when this was an automatic resume after a reconnection. */
    resumed: boolean;
    /**
     * The game's declared entity kinds, field names and types (PROTOCOL.md, "Schema"), or
     * undefined when the game declares none: entities then have fields by index only.
     */
    schema: Schema | undefined;
    /**
     * The names of the game's events, by index, which a rallypoint.v2 event may send in place
     * of its name (PROTOCOL.md, "Schema"); empty when the game lists none. The "event" event
     * always has the name.
     */
    events: readonly string[];
}
/**
 * The entities of a game whose kinds are `E` (state/tsgen's generated `Entities`), and the
 * room state: what {@link Client.entities} returns when given `E`.
 */
export type EntitiesOf<E> = ReadonlyMap<number, EntityOf<E> | Entity<AnyValues, "room">>;
/** Options of {@link Client.match}. */
export interface MatchOptions {
    /** The queue (game). */
    game: string;
    /** e.g. `{region: "eu"}`. */
    strings?: Record<string, string>;
    /** e.g. `{rating: 1500}`. */
    numbers?: Record<string, number>;
    /** A random id shared by every member of a party. */
    party?: string;
    /** The number of party members. */
    partySize?: number;
}
/** {@link Client.findMatch}'s options: the queue's, and what the seat is then joined with. */
export interface FindMatchOptions extends MatchOptions {
    /** The join's `meta` (a name, say), as {@link JoinOptions.meta}; not sent to the queue. */
    meta?: unknown;
}
/** A match: join with `{reservation}` within `ttlMs`, at `url` when it is not "". */
export interface Matched {
    ticket: string;
    room: string;
    reservation: string;
    ttlMs: number;
    /** The node of the room in a cluster; "" when it is the node this client is on. */
    url: string;
}
/**
 * A waiting ticket that ended unmatched (`[22, 5, message, ticket]`): the server could not
 * seat its match, nor put it back in the queue. Queue again. findMatch rejects with it.
 */
export interface MatchFailed {
    ticket: string;
    code: number;
    message: string;
}
/**
 * A join sent on to another node of a cluster (0x1B), which the SDK follows by itself: the
 * "redirect" event only says so (for a page's diagnostics, or a test).
 */
export interface RedirectEvent {
    /** The node the join goes to now. */
    url: string;
    /** The room the seat is in. */
    room: string;
    /** Redirects followed for this join so far (1 for the first). */
    hops: number;
    /** True for the automatic resume after a reconnection (the seat's token goes to `url`). */
    resume: boolean;
}
/**
 * The room's node is draining (a deploy, 0x1C): the room will end there, and a seat waits
 * in `room` at `url`. The SDK leaves the old room quietly and takes that seat by itself; a
 * "joined" event follows (or an "error" if the seat was refused). A page may say "moving
 * you to another server".
 */
export interface MovedEvent {
    url: string;
    reservation: string;
    ttlMs: number;
    room: string;
}
/** A room of the lobby listing. */
export interface RoomInfo {
    id: string;
    game: string;
    /** Players connected now. */
    players: number;
    /** Seats held but not connected: players dropped within their grace period, and seats reserved for a match that nobody has claimed yet. They are taken: free seats are max_players - players - held. */
    held: number;
    max_players: number;
    locked: boolean;
    metadata: unknown;
}
/** A lobby feed change. */
export interface RoomChange {
    /** 0 added, 1 updated, 2 removed. */
    change: number;
    room: RoomInfo;
}
/** An applied snapshot. */
export interface SnapshotEvent {
    tick: number;
    baseline: number;
    state: State;
    /** The highest input seq the server had applied at this tick (0 if none). */
    lastInputSeq: number;
}
/**
 * A snapshot dropped because its delta names a baseline the mirror does not hold, and what
 * the client did about it (PROTOCOL.md, "Recovering a lost baseline"). The state shown
 * stays that of the latest applied tick until the recovery brings a newer one.
 */
export interface BaselineMissEvent {
    /** The dropped snapshot's tick. */
    tick: number;
    /** The baseline it named. */
    baseline: number;
    /** The latest applied tick. */
    latest: number;
    /**
     * "reack": the baseline is at or below `latest`, which was acknowledged again (the next
     * delta is against it). "reset": the baseline is newer than anything applied, so
     * `[4, 0]` asked the server for a full snapshot. "wait": the same was done already and
     * its answer is on the way, so nothing was sent.
     */
    action: "reack" | "reset" | "wait";
}
/** Counts of a {@link Client}'s snapshots, for a page's diagnostics. */
export interface SnapshotStats {
    /** Snapshot bodies applied. */
    snapshots: number;
    /** Deltas dropped because the mirror did not hold their baseline. */
    baselineMisses: number;
    /** `[4, 0]` sent for a full snapshot after such a miss. */
    baselineResets: number;
}
/** Connection states. */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";
/** A connection state change. */
export interface StateChange {
    state: ConnectionState;
    previous: ConnectionState;
    /** The reconnection attempt (from 1) while reconnecting. */
    attempt?: number;
    /** The delay before that attempt (ms). */
    delay?: number;
    /**
     * Why the connection was lost, when it was: "silent" (nothing heard for silenceTimeout),
     * "connect timeout", "closed" (the socket closed; see `code`), "refused" (it closed before
     * it ever opened: the server refused the handshake, for a page on an origin it does not
     * allow, a full server or too many connections from this address, or nothing listens
     * there; a browser does not tell which), "offline"; and, state "connecting", "redirect"
     * (a join followed to another node of a cluster), "moved" (the room's node drains) or
     * "entry" (the room's node failed twice in a row: resuming through the entry URL).
     */
    reason?: string;
    /** The WebSocket close code, for reason "closed". */
    code?: number;
}
/** A stall of the link while in a room: snapshots stopped (stalled true) or flow again. */
export interface StallChange {
    stalled: boolean;
    /** How long nothing has been heard from the server (ms). */
    silentMs: number;
}
/** Leaving the room, or finding the seat gone when resuming. */
export interface LeftEvent {
    code: number;
    message: string;
    /** True when a resume after a reconnection found the seat gone. */
    resume?: boolean;
    /** True when the client joins again by itself (`autoRejoin`). */
    rejoining?: boolean;
}
/** Events of a {@link Client} and their payloads. */
export interface ClientEvents {
    joined: Joined;
    snapshot: SnapshotEvent;
    event: {
        name: string;
        payload: unknown;
    };
    left: LeftEvent;
    error: RallypointError;
    matched: Matched;
    matchFailed: MatchFailed;
    room: RoomChange;
    redirect: RedirectEvent;
    moved: MovedEvent;
    state: StateChange;
    pong: {
        rtt: number;
        smoothedRtt: number;
        tick: number;
    };
    stall: StallChange;
    baselineMiss: BaselineMissEvent;
}
type Handler<T> = (value: T) => void;
/**
 * Opens a connection to a Rallypoint engine endpoint (e.g. `wss://host/play`) offering the
 * `rallypoint.v3`, `rallypoint.v2` and `rallypoint.v1` subprotocols (the server picks; it
 * prefers v3). The
 * returned client is "connecting"; calls made before it opens are sent once it does.
 */
export declare function connect(url: string, options?: ConnectOptions): Client;
/**
 * One connection to a Rallypoint server. See {@link connect}.
 *
 * Snapshots are applied to a mirror and acknowledged (on the next input when one follows
 * within `ackDelay`, else alone); inputs are numbered and kept until the server
 * acknowledges them, and carry the frame last drawn with {@link Client.interpolated} (lag
 * compensation). A ping every `pingInterval` measures RTT and the server tick, and proves
 * the link alive: a connection silent for `silenceTimeout` is abandoned. After any drop that
 * another attempt may fix, it reconnects with backoff and resumes the seat with the resume
 * token.
 */
export declare class Client {
    /** The URL the page gave: the cluster's entry, where a dead node's players come back through. */
    private readonly url;
    /** The node this client joins on and resumes at: `url`, or where a redirect or a move sent it. */
    private node;
    /** Connection attempts to `node` in a row that failed without opening. */
    private nodeFailures;
    /** Redirects the automatic resume followed since the last seat (bounded as a join's are). */
    private resumeHops;
    private readonly WS;
    private readonly opts;
    private readonly now;
    private ws;
    private connState;
    private readonly handlers;
    private readonly pending;
    /** Requests and joins made while not connected, sent once open. Nothing else is queued. */
    private outbox;
    private nextReq;
    private closing;
    private attempt;
    /** An attempt that timed out and may still open (see {@link ClientOptions.connectTimeout}). */
    private lingering;
    private lingerTimer;
    private timer;
    private connectTimer;
    private pinger;
    private watchdog;
    private resumeToken;
    private joinedInfo;
    /**
     * Makes the last join again (quick play, a new room, the same room or code, the same
     * matchmaking), for autoRejoin; undefined after a join by token or reservation alone.
     */
    private rejoin;
    /** The meta of the last join, sent with a seat taken on the player's behalf (a move). */
    private seatMeta;
    private lastInputSeq;
    /** Inputs made and not sent yet (inputRate), oldest first, with when the last batch went. */
    private batch;
    private batchTimer;
    private batchSentAt;
    /** The applied snapshot tick not acknowledged yet (0: none); the next input carries it. */
    private unacked;
    private ackTimer;
    /** Local time of the last message from the server, and of the last snapshot. */
    private lastHeard;
    private lastSnapshot;
    /** Local time of the oldest ping sent since the server was last heard (0: none). */
    private unanswered;
    private isStalled;
    /** Recovery from a delta against a baseline not held: when [4, 0] went out (undefined: no full snapshot asked for), and the latest tick acknowledged again. */
    private resetAt;
    private reacked;
    private readonly snapStats;
    /** The frame last drawn, [from_tick, span, t_milli], sent with inputs. */
    private view;
    private readonly wake;
    /** The replicated state mirror. */
    readonly mirror: SnapshotMirror;
    /** Inputs sent and not yet acknowledged. */
    readonly inputs: InputBuffer<unknown>;
    /** RTT, clock offset and server tick estimates. */
    readonly clock: ServerClock;
    /** The interpolation buffer, fed with every applied snapshot. */
    readonly buffer: InterpolationBuffer;
    /** Use {@link connect}. */
    constructor(url: string, options?: ConnectOptions);
    /** The connection state. */
    get state(): ConnectionState;
    /** True while in a room and no snapshot has come for `stallAfter`: inputs are not sent. */
    get stalled(): boolean;
    /** The last join answer, while in a room. */
    get joined(): Joined | undefined;
    /** The URL given to {@link connect}: in a cluster, the entry node. */
    get entryUrl(): string;
    /**
     * The node this client is on: the entry URL, or the node a redirect, a match or a move sent
     * it to. Reconnections resume here; after two failed attempts in a row, through the entry.
     */
    get nodeUrl(): string;
    /** The agreed subprotocol ("rallypoint.v3", "rallypoint.v2" or "rallypoint.v1") while open, else "". */
    get protocol(): string;
    /** The negotiated WebSocket extensions (e.g. "permessage-deflate"), when known. */
    get extensions(): string;
    /** Subscribes to an event; returns a function that unsubscribes. */
    on<K extends keyof ClientEvents>(event: K, handler: Handler<ClientEvents[K]>): () => void;
    /**
     * Subscribes to the game's events of one name (`Room.Send`, `Broadcast` and
     * `BroadcastTo` on the server): `client.onEvent("solved", (word) => ...)`. Returns a
     * function that unsubscribes.
     */
    onEvent<T = unknown>(name: string, handler: (payload: T) => void): () => void;
    /** Unsubscribes a handler. */
    off<K extends keyof ClientEvents>(event: K, handler: Handler<ClientEvents[K]>): void;
    private emit;
    private setState;
    /**
     * Takes a seat; resolves with the join answer, rejects with a {@link RallypointError}. In
     * a cluster, a join whose seat is on another node is followed there (up to
     * `maxRedirects` hops): the answer is the seat on that node, and the client stays on it.
     */
    join(options: JoinOptions): Promise<Joined>;
    /** Sends a join; `rejoin` is what autoRejoin does when the seat is later found gone. */
    private joinSeat;
    /** The seat saved in {@link ConnectOptions.storage} by an earlier page, if any. */
    savedSeat(): SavedSeat | undefined;
    /**
     * Takes back the seat an earlier page saved (see {@link ConnectOptions.storage}): after a
     * reload, the same player in the same room, if its grace period has not run out. Resolves
     * with the join answer, or undefined when no seat was saved; a refused resume (the seat is
     * gone) forgets the saved seat and rejects, and the page offers a new game. With `room`
     * (a page opened for a given room), a seat saved in another room is left alone.
     */
    resumeSaved(room?: string | null): Promise<Joined | undefined>;
    private get storageKey();
    private saveSeat;
    private forgetSeat;
    /** Quick play: the fullest public room of `game` with a free seat, or a new one. */
    quickPlay(game: string, meta?: unknown): Promise<Joined>;
    /** Joins the private room with this join code. */
    joinByCode(code: string, meta?: unknown): Promise<Joined>;
    /** Leaves the room for good (the seat is released at once); the connection stays open. */
    leave(): void;
    /** Sends a request to the game; resolves with its result. */
    request<T = unknown>(name: string, payload?: unknown): Promise<T>;
    /** Queues for matchmaking; resolves with the ticket ("" for a party member before the last). The match arrives as a "matched" event. */
    match(options: MatchOptions): Promise<string>;
    /**
     * Matchmaking in one call: queues with `options`, waits for the match and takes the seat
     * reserved in it. Resolves with the join answer. Rejects when the queue refuses
     * (`Code.Refused`, say), when the reserved seat is refused (it expired: `ttlMs` passed
     * before the join reached the server), or when `signal` aborts, which withdraws the ticket.
     * A party member before the last gets the ticket "" and waits for the match like the rest.
     * `options.meta` goes with the join, as a join's meta does (the queue never sees it). In
     * a cluster, a match on another node (its `url`) is joined there, and autoRejoin queues
     * again with the same options when the seat is later found gone.
     */
    findMatch(options: FindMatchOptions, signal?: AbortSignal): Promise<Joined>;
    /** Withdraws a waiting matchmaking ticket. */
    cancelMatch(ticket: string): Promise<void>;
    /** Follows the room listing of a game: resolves with the rooms now, then "room" events; "" stops. */
    followLobby(game: string): Promise<RoomInfo[]>;
    private call;
    /**
     * Whether an input sent now would go out: connected, in a room, and the link not stalled.
     * While it is false, {@link Client.sendInput} sends nothing (and returns 0): a game that
     * predicts should not predict an input that was not sent, and one whose inputs matter
     * one by one (a crossword letter) keeps them and sends them when this is true again.
     */
    get canSendInput(): boolean;
    /**
     * Sends one input; returns its seq, or 0 when it was not sent (see
     * {@link Client.canSendInput}). A sent input stays pending until the server acknowledges
     * it. It also acknowledges the latest applied snapshot, if that is not acknowledged yet
     * (see `ackDelay`), and says which frame {@link Client.interpolated} drew last, so that
     * the server can judge what the input aimed at where the player saw it.
     */
    sendInput<I = unknown>(input: I): number;
    /** Sends the inputs waiting for inputRate's next turn, if any. */
    private flushInputs;
    /** Forgets the inputs not sent yet: the connection they were numbered for is gone. */
    private dropBatch;
    /**
     * Sends inputs of consecutive seqs, with the acknowledgement due: one as `[3, ...]`,
     * several as one `[10, ...]`.
     */
    private sendInputs;
    /**
     * The frame the next input will say was drawn, `[from_tick, span, t_milli]` as PROTOCOL.md
     * writes it (the last {@link Client.interpolated}); undefined before one in this room.
     */
    get drawnView(): readonly [number, number, number] | undefined;
    /** The inputs the server has not acknowledged yet, oldest first. */
    pendingInputs(): PendingInput[];
    /**
     * Prediction: the authoritative state with every unacknowledged input re-applied on top
     * with the game's `applyInput`. Call it on each "snapshot" event.
     */
    reconcile<S>(authoritativeState: S, applyInput: (state: S, input: unknown, seq: number) => S): S;
    /**
     * The latest replicated state: entity id → entity ({kind, kindName, fields, values}).
     * Give it the game's generated `Entities` type (state/tsgen) for named, typed values:
     * `for (const e of client.entities<Entities>().values()) if (e.kindName === "player") e.values.x`.
     * The room state is in it too, as the entity of id ROOM_ID (see {@link Client.room}).
     */
    entities(): State;
    entities<E>(): EntitiesOf<E>;
    /** The room's declared kinds, from the join answer (undefined: none declared, or not in a room). */
    get schema(): Schema | undefined;
    /**
     * The room state (PROTOCOL.md, "Schema"): the entity of id ROOM_ID, kind 0, for what
     * belongs to the whole room; undefined if the game has none or no snapshot came yet.
     */
    get room(): Entity | undefined;
    /** The room state's values by name, typed with the game's generated `RoomState`. */
    roomState<R = AnyValues>(): Readonly<R> | undefined;
    /** Counts of snapshots applied and of baselines missed (a copy). */
    get stats(): SnapshotStats;
    /** The latest applied snapshot tick. */
    get tick(): number;
    /** Smoothed round-trip time (ms, 0 before the first pong). */
    get rtt(): number;
    /** The room's estimated current tick (fractional), once a pong from inside the room arrived. */
    serverTick(now?: number): number | undefined;
    /**
     * The frame to draw: the two snapshots around the render time (estimated server time −
     * interpolation delay) and the blend factor, extrapolated for up to 100 ms when the next
     * snapshot is late; with `fields`, also the entities with those numeric fields blended
     * (indexes, or declared names: `(kind, name) => name === "player" ? ["x", "y"] : []`).
     * Call it once per drawn frame: it advances the render clock, counts the frame in
     * `buffer.stats`, and is what the next input says was on the screen.
     */
    interpolated(now?: number): InterpolationSample | undefined;
    interpolated<E = never>(now: number | undefined, fields: LerpFields): (InterpolationSample & {
        entities: Map<number, [E] extends [never] ? Entity : EntityOf<E> | Entity<AnyValues, "room">>;
    }) | undefined;
    /**
     * Pings now, three more times 250 ms apart (the clock's warm-up keeps the fastest round
     * trip, so one ping delayed by page load does not skew the first estimates), then every
     * pingInterval.
     */
    private startPinging;
    private get pingInterval();
    /** Sends a ping now (one is sent every pingInterval anyway). */
    ping(): void;
    /** Closes the connection for good (no reconnection); the seat is held for the grace period unless you {@link Client.leave} first. */
    close(): void;
    private isOpen;
    /** Sends msg now if connected; else queues it for the next connection if `queue`, or drops it. */
    private send;
    private open;
    /**
     * The watchdog, every 250 ms while open: a link silent for silenceTimeout, with a ping
     * unanswered for most of it, is dead; a room without snapshots for stallAfter is stalled.
     * The unanswered ping is what keeps a background tab, whose timers the browser runs once a
     * minute, from being judged on the silence of its own sleep.
     */
    private check;
    private setStalled;
    /** Cuts a backoff wait short (the browser is online again, the tab is visible again). */
    private retryNow;
    /** Keeps ws, an attempt that timed out, for one more connectTimeout in case it opens. */
    private linger;
    /** Closes a lingering attempt, if any. */
    private endLinger;
    private stopTimers;
    /** Returns the tick to acknowledge (0 for none) and forgets it, with its timer. */
    private takeAck;
    /**
     * Notes that tick needs acknowledging: the next input takes it, or `[4, tick]` goes alone
     * after `ackDelay`. The delay runs from the oldest tick not yet acknowledged, so a newer
     * snapshot does not postpone it.
     */
    private queueAck;
    private failPending;
    /**
     * The connection is gone (reason "closed" with the close code, "silent" or "connect
     * timeout"): reconnect unless it was closed on purpose or a new attempt would fail the
     * same way. An attempt that timed out, or a link found silent, has already cost seconds:
     * the next attempt goes at once; one refused at once waits for the backoff.
     */
    private dropped;
    /**
     * Moves this client to another node: lets go of the current connection (requests waiting
     * on it are rejected, except the join `keep` names, which goes on at the new node) and
     * connects to `url` at once. Whatever is sent next waits in the outbox for the new
     * connection.
     */
    private switchNode;
    /**
     * A join was answered with a redirect (0x1B): the seat is on the node at `url`. A page's
     * join goes on there with the reservation (or its resume token), its promise still
     * waiting; the automatic resume reconnects there and resumes with the same token.
     */
    private onRedirect;
    /**
     * The room's node drains (0x1C): leave quietly (the room ends there anyway) and take the
     * seat reserved at `url`, with the last join's meta. autoRejoin's way of joining again
     * stays that of the first join (a new quick play, a new match), not the reservation.
     */
    private onMoved;
    /** A resume found the seat gone: say so, and join again if autoRejoin and the last join can be made again. */
    private seatLost;
    private dispatch;
    private take;
    /** `[19, last_seq, tick]`: inputs up to last_seq were applied before tick. */
    private onInputAck;
    /**
     * A snapshot message: v1's `[18, body]` or v2's `[18, last_seq, tick, offset, changed,
     * added, removed]` (5 to 7 elements: empty lists at the end are left out), told apart by
     * length (each is what it is whatever the subprotocol).
     * Applied, it is acknowledged and shown; a delta against a baseline not held starts the
     * recovery. A v2 last_seq, when not nil, is the `[19, last_seq, tick]` that would have come
     * right before the snapshot (once added to the seq known at its baseline), and is taken
     * first as that message would have been: even when the snapshot then cannot be applied
     * (the inputs were applied all the same), unless its baseline is not held.
     */
    private onSnapshot;
    /**
     * A snapshot's delta names a baseline the mirror does not hold: drop it (a guessed state
     * would diverge silently) and recover. A baseline at or below the latest applied tick
     * means the server encodes against an older acknowledgement than the latest one (which is
     * on its way, or the mirror let the old state go): acknowledge the latest tick again, once.
     * A newer one means the server believes this client holds a state it never applied, which
     * no acknowledgement can mend: `[4, 0]` asks for a full snapshot, once, and again only if
     * none came within RESET_INTERVALS snapshot intervals and a round trip.
     */
    private onBaselineMiss;
}
export {};
