/** The connection: joins, snapshots, inputs, requests, ping/pong and reconnection. */

import { decodeMessage, encodeMessage } from "./codec.js";
import { backoffDelay, type BackoffOptions } from "./backoff.js";
import { ServerClock } from "./clock.js";
import { InterpolationBuffer, interpolate, type InterpolationOptions, type InterpolationSample, type LerpFields } from "./interpolation.js";
import { SnapshotError, SnapshotMirror, type AppliedSnapshot, type State } from "./mirror.js";
import { ROOM_ID, Schema, type AnyValues, type Entity, type EntityOf } from "./schema.js";
import { InputBuffer, type PendingInput } from "./prediction.js";
import { Code, Kind, MAX_INPUT_BATCH, RallypointError, SUBPROTOCOL, SUBPROTOCOL_V2, SUBPROTOCOL_V3 } from "./protocol.js";

/** The part of the browser WebSocket the SDK uses (Node's `ws` package fits too). */
export interface WebSocketLike {
  binaryType: string;
  readonly protocol: string;
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
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

/**
 * After `[4, 0]`, how many snapshot intervals (plus the smoothed round trip) the client
 * waits for the full snapshot before it may ask again. Deltas against the unknown baseline
 * keep coming until the server has read the request, and each further ask costs the server
 * a full snapshot; but a request can be lost to a resume that moved the seat, and then
 * asking again is the only way out.
 */
const RESET_INTERVALS = 4;

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
  event: { name: string; payload: unknown };
  left: LeftEvent;
  error: RallypointError;
  matched: Matched;
  matchFailed: MatchFailed;
  room: RoomChange;
  redirect: RedirectEvent;
  moved: MovedEvent;
  state: StateChange;
  pong: { rtt: number; smoothedRtt: number; tick: number };
  stall: StallChange;
  baselineMiss: BaselineMissEvent;
}

type Handler<T> = (value: T) => void;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** The automatic resume after a reconnection. */
  resume: boolean;
  /** For a join: the options sent, and the redirects followed to get here. */
  join?: { options: Record<string, unknown>; hops: number };
}

const OPEN = 1;

/** Redirects one join follows by default (ConnectOptions.maxRedirects). */
const MAX_REDIRECTS = 3;

/**
 * Connection attempts in a row that must fail, none opening, before a client on another node
 * than its entry goes back through the entry URL: one may be a blip; two in a row on a link
 * that was working say the node is gone. It costs a player whose node died the two attempts'
 * time (a quarter then half a second of backoff, more if they time out) before the entry
 * node tells it the seat is gone, or where it is now.
 */
const NODE_FAILURES = 2;

/** What a connection that closed before it opened is reported as (StateChange reason "refused"). */
const REFUSED_MESSAGE =
  "rallypoint: the server refused the connection before it opened (a page on an origin it does not allow, a full server, too many connections from this address, or nothing listening); the server's log says which";

/**
 * Close codes after which reconnecting would fail the same way: a protocol error, data the
 * server cannot accept, a missing extension. Every other close (1008 for a flood or a
 * replaced connection, 1001 for a restart, 1006 for a dead link, 1011 for a failed room) is
 * worth another attempt.
 */
const FINAL_CLOSES = new Set([1002, 1003, 1007, 1010]);

function uint(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return 0;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The subprotocols offered, the preferred first: a server without v3 picks v2, one without v2 v1. */
const SUBPROTOCOLS = [SUBPROTOCOL_V3, SUBPROTOCOL_V2, SUBPROTOCOL];

/**
 * Opens a connection to a Rallypoint engine endpoint (e.g. `wss://host/play`) offering the
 * `rallypoint.v3`, `rallypoint.v2` and `rallypoint.v1` subprotocols (the server picks; it
 * prefers v3). The
 * returned client is "connecting"; calls made before it opens are sent once it does.
 */
export function connect(url: string, options: ConnectOptions = {}): Client {
  return new Client(url, options);
}

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
export class Client {
  /** The URL the page gave: the cluster's entry, where a dead node's players come back through. */
  private readonly url: string;
  /** The node this client joins on and resumes at: `url`, or where a redirect or a move sent it. */
  private node: string;
  /** Connection attempts to `node` in a row that failed without opening. */
  private nodeFailures = 0;
  /** Redirects the automatic resume followed since the last seat (bounded as a join's are). */
  private resumeHops = 0;
  private readonly WS: WebSocketConstructor;
  private readonly opts: ConnectOptions;
  private readonly now: () => number;
  private ws: WebSocketLike | undefined;
  private connState: ConnectionState = "connecting";
  private readonly handlers = new Map<keyof ClientEvents, Set<Handler<never>>>();
  private readonly pending = new Map<number, Pending>();
  /** Requests and joins made while not connected, sent once open. Nothing else is queued. */
  private outbox: Uint8Array[] = [];
  private nextReq = 1;
  private closing = false;
  private attempt = 0;
  /** An attempt that timed out and may still open (see {@link ClientOptions.connectTimeout}). */
  private lingering: WebSocketLike | undefined;
  private lingerTimer: ReturnType<typeof setTimeout> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private pinger: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private resumeToken = "";
  private joinedInfo: Joined | undefined;
  /**
   * Makes the last join again (quick play, a new room, the same room or code, the same
   * matchmaking), for autoRejoin; undefined after a join by token or reservation alone.
   */
  private rejoin: (() => Promise<Joined>) | undefined;
  /** The meta of the last join, sent with a seat taken on the player's behalf (a move). */
  private seatMeta: unknown;
  private lastInputSeq = 0;
  /** Inputs made and not sent yet (inputRate), oldest first, with when the last batch went. */
  private batch: { seq: number; input: unknown; view: readonly [number, number, number] | undefined }[] = [];
  private batchTimer: ReturnType<typeof setTimeout> | undefined;
  private batchSentAt = -Infinity;
  /** The applied snapshot tick not acknowledged yet (0: none); the next input carries it. */
  private unacked = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** Local time of the last message from the server, and of the last snapshot. */
  private lastHeard = 0;
  private lastSnapshot = 0;
  /** Local time of the oldest ping sent since the server was last heard (0: none). */
  private unanswered = 0;
  private isStalled = false;
  /** Recovery from a delta against a baseline not held: when [4, 0] went out (undefined: no full snapshot asked for), and the latest tick acknowledged again. */
  private resetAt: number | undefined;
  private reacked = 0;
  private readonly snapStats: SnapshotStats = { snapshots: 0, baselineMisses: 0, baselineResets: 0 };
  /** The frame last drawn, [from_tick, span, t_milli], sent with inputs. */
  private view: [number, number, number] | undefined;
  private readonly wake = () => this.retryNow();

  /** The replicated state mirror. */
  readonly mirror: SnapshotMirror;
  /** Inputs sent and not yet acknowledged. */
  readonly inputs = new InputBuffer();
  /** RTT, clock offset and server tick estimates. */
  readonly clock = new ServerClock();
  /** The interpolation buffer, fed with every applied snapshot. */
  readonly buffer: InterpolationBuffer;

  /** Use {@link connect}. */
  constructor(url: string, options: ConnectOptions = {}) {
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (WS === undefined) throw new Error("rallypoint: no WebSocket class: pass options.WebSocket");
    this.url = url;
    this.node = url;
    this.WS = WS;
    this.opts = options;
    this.now = options.now ?? (() => performance.now());
    this.mirror = new SnapshotMirror(options.baselines ?? 128);
    this.buffer = new InterpolationBuffer(0, 0, options.interpolation);
    // A browser that says it is online again, or a tab shown again, is a good moment to try
    // at once rather than at the end of a backoff delay.
    const g = globalThis as { addEventListener?: (type: string, fn: () => void) => void };
    g.addEventListener?.("online", this.wake);
    (globalThis as { document?: { addEventListener?: (type: string, fn: () => void) => void } }).document?.addEventListener?.("visibilitychange", this.wake);
    this.open();
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.connState;
  }

  /** True while in a room and no snapshot has come for `stallAfter`: inputs are not sent. */
  get stalled(): boolean {
    return this.isStalled;
  }

  /** The last join answer, while in a room. */
  get joined(): Joined | undefined {
    return this.joinedInfo;
  }

  /** The URL given to {@link connect}: in a cluster, the entry node. */
  get entryUrl(): string {
    return this.url;
  }

  /**
   * The node this client is on: the entry URL, or the node a redirect, a match or a move sent
   * it to. Reconnections resume here; after two failed attempts in a row, through the entry.
   */
  get nodeUrl(): string {
    return this.node;
  }

  /** The agreed subprotocol ("rallypoint.v3", "rallypoint.v2" or "rallypoint.v1") while open, else "". */
  get protocol(): string {
    return this.isOpen() ? this.ws!.protocol : "";
  }

  /** The negotiated WebSocket extensions (e.g. "permessage-deflate"), when known. */
  get extensions(): string {
    return str((this.ws as { extensions?: unknown } | undefined)?.extensions);
  }

  /** Subscribes to an event; returns a function that unsubscribes. */
  on<K extends keyof ClientEvents>(event: K, handler: Handler<ClientEvents[K]>): () => void {
    let set = this.handlers.get(event);
    if (set === undefined) this.handlers.set(event, (set = new Set()));
    set.add(handler as Handler<never>);
    return () => this.off(event, handler);
  }

  /**
   * Subscribes to the game's events of one name (`Room.Send`, `Broadcast` and
   * `BroadcastTo` on the server): `client.onEvent("solved", (word) => ...)`. Returns a
   * function that unsubscribes.
   */
  onEvent<T = unknown>(name: string, handler: (payload: T) => void): () => void {
    return this.on("event", (e) => {
      if (e.name === name) handler(e.payload as T);
    });
  }

  /** Unsubscribes a handler. */
  off<K extends keyof ClientEvents>(event: K, handler: Handler<ClientEvents[K]>): void {
    this.handlers.get(event)?.delete(handler as Handler<never>);
  }

  private emit<K extends keyof ClientEvents>(event: K, value: ClientEvents[K]): void {
    const set = this.handlers.get(event);
    if (set === undefined) return;
    for (const h of [...set]) {
      try {
        (h as Handler<ClientEvents[K]>)(value);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  private setState(state: ConnectionState, extra: Partial<StateChange> = {}): void {
    const previous = this.connState;
    if (previous === state && extra.attempt === undefined) return;
    this.connState = state;
    this.emit("state", { state, previous, ...extra });
  }

  // ---- requests ------------------------------------------------------------------------

  /**
   * Takes a seat; resolves with the join answer, rejects with a {@link RallypointError}. In
   * a cluster, a join whose seat is on another node is followed there (up to
   * `maxRedirects` hops): the answer is the seat on that node, and the client stays on it.
   */
  join(options: JoinOptions): Promise<Joined> {
    // A join by token or reservation names a seat: once that is gone there is nothing to repeat.
    const again = options.token === undefined && options.reservation === undefined ? { ...options } : undefined;
    return this.joinSeat(options, again === undefined ? undefined : () => this.join(again));
  }

  /** Sends a join; `rejoin` is what autoRejoin does when the seat is later found gone. */
  private joinSeat(options: JoinOptions, rejoin: (() => Promise<Joined>) | undefined): Promise<Joined> {
    const o: Record<string, unknown> = {};
    for (const k of ["game", "room", "code", "token", "reservation", "create", "private", "meta"] as const) {
      if (options[k] !== undefined) o[k] = options[k];
    }
    this.rejoin = rejoin;
    this.seatMeta = options.meta;
    const req = this.nextReq++;
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(req, { resolve, reject, resume: false, join: { options: o, hops: 0 } });
      this.send([Kind.Join, req, o], true);
    }) as Promise<Joined>;
  }

  /** The seat saved in {@link ConnectOptions.storage} by an earlier page, if any. */
  savedSeat(): SavedSeat | undefined {
    const st = this.opts.storage;
    if (st === undefined) return undefined;
    try {
      const v = JSON.parse(st.getItem(this.storageKey) ?? "null") as Partial<SavedSeat> | null;
      if (v !== null && typeof v.token === "string" && v.token !== "" && typeof v.room === "string") {
        return { room: v.room, token: v.token, savedAt: typeof v.savedAt === "number" ? v.savedAt : 0 };
      }
    } catch {
      // unreadable: as good as none
    }
    return undefined;
  }

  /**
   * Takes back the seat an earlier page saved (see {@link ConnectOptions.storage}): after a
   * reload, the same player in the same room, if its grace period has not run out. Resolves
   * with the join answer, or undefined when no seat was saved; a refused resume (the seat is
   * gone) forgets the saved seat and rejects, and the page offers a new game. With `room`
   * (a page opened for a given room), a seat saved in another room is left alone.
   */
  async resumeSaved(room?: string | null): Promise<Joined | undefined> {
    const seat = this.savedSeat();
    if (seat === undefined || (room != null && seat.room !== room)) return undefined;
    try {
      return await this.join({ token: seat.token });
    } catch (e) {
      this.forgetSeat();
      throw e;
    }
  }

  private get storageKey(): string {
    return this.opts.storageKey ?? `rallypoint:${this.url}`;
  }

  private saveSeat(room: string, token: string): void {
    try {
      this.opts.storage?.setItem(this.storageKey, JSON.stringify({ room, token, savedAt: Date.now() }));
    } catch {
      // storage full or denied: the seat is simply not kept across a reload
    }
  }

  private forgetSeat(): void {
    try {
      this.opts.storage?.removeItem(this.storageKey);
    } catch {
      // as above
    }
  }

  /** Quick play: the fullest public room of `game` with a free seat, or a new one. */
  quickPlay(game: string, meta?: unknown): Promise<Joined> {
    return this.join({ game, meta });
  }

  /** Joins the private room with this join code. */
  joinByCode(code: string, meta?: unknown): Promise<Joined> {
    return this.join({ code, meta });
  }

  /** Leaves the room for good (the seat is released at once); the connection stays open. */
  leave(): void {
    this.resumeToken = "";
    this.forgetSeat();
    this.joinedInfo = undefined;
    this.rejoin = undefined;
    this.send([Kind.Leave]);
  }

  /** Sends a request to the game; resolves with its result. */
  request<T = unknown>(name: string, payload: unknown = null): Promise<T> {
    return this.call(false, (req) => [Kind.Request, req, name, payload ?? null]) as Promise<T>;
  }

  /** Queues for matchmaking; resolves with the ticket ("" for a party member before the last). The match arrives as a "matched" event. */
  match(options: MatchOptions): Promise<string> {
    const o: Record<string, unknown> = { game: options.game };
    if (options.strings !== undefined) o.strings = options.strings;
    if (options.numbers !== undefined) o.numbers = options.numbers;
    if (options.party !== undefined) o.party = options.party;
    if (options.partySize !== undefined) o.party_size = options.partySize;
    return this.call(false, (req) => [Kind.Match, req, o]).then(str);
  }

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
  findMatch(options: FindMatchOptions, signal?: AbortSignal): Promise<Joined> {
    const { meta, ...queue } = options;
    return new Promise<Joined>((resolve, reject) => {
      let ticket: string | undefined;
      let done = false;
      const finish = (f: () => void) => {
        if (done) return;
        done = true;
        off();
        offFailed();
        signal?.removeEventListener("abort", onAbort);
        f();
      };
      const off = this.on("matched", (m) => {
        // Only one ticket of ours waits at a time; until the answer with it comes, the
        // first match is ours.
        if (ticket !== undefined && ticket !== "" && m.ticket !== ticket) return;
        finish(() => {
          if (m.url !== "" && m.url !== this.node) this.switchNode(m.url, "redirect");
          const seat = meta === undefined ? { reservation: m.reservation } : { reservation: m.reservation, meta };
          this.joinSeat(seat, () => this.findMatch(options)).then(resolve, reject);
        });
      });
      // The ticket ended unmatched: the match could not be seated nor the ticket queued again.
      const offFailed = this.on("matchFailed", (f) => {
        if (ticket !== undefined && ticket !== "" && f.ticket !== ticket) return;
        finish(() => reject(new RallypointError(f.code, f.message)));
      });
      const onAbort = () =>
        finish(() => {
          if (ticket !== undefined && ticket !== "") this.cancelMatch(ticket).catch(() => undefined);
          reject(new RallypointError(Code.Disconnected, "rallypoint: matchmaking aborted"));
        });
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort);
      this.match(queue).then(
        (t) => {
          ticket = t;
          if (done && t !== "" && signal?.aborted) this.cancelMatch(t).catch(() => undefined);
        },
        (e: unknown) => finish(() => reject(e)),
      );
    });
  }

  /** Withdraws a waiting matchmaking ticket. */
  cancelMatch(ticket: string): Promise<void> {
    return this.call(false, (req) => [Kind.Cancel, req, ticket]).then(() => undefined);
  }

  /** Follows the room listing of a game: resolves with the rooms now, then "room" events; "" stops. */
  followLobby(game: string): Promise<RoomInfo[]> {
    return this.call(false, (req) => [Kind.Lobby, req, game]).then((v) => (Array.isArray(v) ? (v as RoomInfo[]) : []));
  }

  private call(resume: boolean, msg: (req: number) => unknown[]): Promise<unknown> {
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject, resume });
      this.send(msg(req), true);
    });
  }

  // ---- inputs and state ----------------------------------------------------------------

  /**
   * Whether an input sent now would go out: connected, in a room, and the link not stalled.
   * While it is false, {@link Client.sendInput} sends nothing (and returns 0): a game that
   * predicts should not predict an input that was not sent, and one whose inputs matter
   * one by one (a crossword letter) keeps them and sends them when this is true again.
   */
  get canSendInput(): boolean {
    return this.ws !== undefined && this.ws.readyState === OPEN && this.connState === "open" && this.joinedInfo !== undefined && !this.isStalled;
  }

  /**
   * Sends one input; returns its seq, or 0 when it was not sent (see
   * {@link Client.canSendInput}). A sent input stays pending until the server acknowledges
   * it. It also acknowledges the latest applied snapshot, if that is not acknowledged yet
   * (see `ackDelay`), and says which frame {@link Client.interpolated} drew last, so that
   * the server can judge what the input aimed at where the player saw it.
   */
  sendInput<I = unknown>(input: I): number {
    if (!this.canSendInput) return 0;
    const now = this.now();
    const seq = this.inputs.add(input, now);
    const rate = this.opts.inputRate ?? 0;
    if (rate <= 0) {
      this.sendInputs([{ seq, input, view: this.view }]);
      return seq;
    }
    this.batch.push({ seq, input, view: this.view });
    const interval = 1000 / rate;
    if (this.batch.length >= MAX_INPUT_BATCH || now - this.batchSentAt >= interval) {
      this.flushInputs();
    } else if (this.batchTimer === undefined) {
      this.batchTimer = setTimeout(() => this.flushInputs(), this.batchSentAt + interval - now);
    }
    return seq;
  }

  /** Sends the inputs waiting for inputRate's next turn, if any. */
  private flushInputs(): void {
    if (this.batchTimer !== undefined) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    if (this.batch.length === 0) return;
    this.batchSentAt = this.now();
    const batch = this.batch;
    this.batch = [];
    this.sendInputs(batch);
  }

  /** Forgets the inputs not sent yet: the connection they were numbered for is gone. */
  private dropBatch(): void {
    if (this.batchTimer !== undefined) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    this.batch = [];
    this.batchSentAt = -Infinity;
  }

  /**
   * Sends inputs of consecutive seqs, with the acknowledgement due: one as `[3, ...]`,
   * several as one `[10, ...]`.
   */
  private sendInputs(batch: { seq: number; input: unknown; view: readonly [number, number, number] | undefined }[]): void {
    const ack = this.takeAck();
    if (batch.length === 1) {
      const { seq, input, view } = batch[0]!;
      if (view !== undefined) this.send([Kind.Input, seq, input, ack === 0 ? null : ack, view]);
      else this.send(ack === 0 ? [Kind.Input, seq, input] : [Kind.Input, seq, input, ack]);
      return;
    }
    const inputs = batch.map((b) => b.input);
    if (batch.some((b) => b.view !== undefined)) {
      this.send([Kind.Inputs, batch[0]!.seq, inputs, ack === 0 ? null : ack, batch.map((b) => b.view ?? null)]);
    } else {
      this.send(ack === 0 ? [Kind.Inputs, batch[0]!.seq, inputs] : [Kind.Inputs, batch[0]!.seq, inputs, ack]);
    }
  }

  /**
   * The frame the next input will say was drawn, `[from_tick, span, t_milli]` as PROTOCOL.md
   * writes it (the last {@link Client.interpolated}); undefined before one in this room.
   */
  get drawnView(): readonly [number, number, number] | undefined {
    return this.view;
  }

  /** The inputs the server has not acknowledged yet, oldest first. */
  pendingInputs(): PendingInput[] {
    return this.inputs.pending();
  }

  /**
   * Prediction: the authoritative state with every unacknowledged input re-applied on top
   * with the game's `applyInput`. Call it on each "snapshot" event.
   */
  reconcile<S>(authoritativeState: S, applyInput: (state: S, input: unknown, seq: number) => S): S {
    return this.inputs.reconcile(authoritativeState, applyInput);
  }

  /**
   * The latest replicated state: entity id → entity ({kind, kindName, fields, values}).
   * Give it the game's generated `Entities` type (state/tsgen) for named, typed values:
   * `for (const e of client.entities<Entities>().values()) if (e.kindName === "player") e.values.x`.
   * The room state is in it too, as the entity of id ROOM_ID (see {@link Client.room}).
   */
  entities(): State;
  entities<E>(): EntitiesOf<E>;
  entities(): State {
    return this.mirror.state;
  }

  /** The room's declared kinds, from the join answer (undefined: none declared, or not in a room). */
  get schema(): Schema | undefined {
    return this.joinedInfo?.schema;
  }

  /**
   * The room state (PROTOCOL.md, "Schema"): the entity of id ROOM_ID, kind 0, for what
   * belongs to the whole room; undefined if the game has none or no snapshot came yet.
   */
  get room(): Entity | undefined {
    return this.mirror.state.get(ROOM_ID);
  }

  /** The room state's values by name, typed with the game's generated `RoomState`. */
  roomState<R = AnyValues>(): Readonly<R> | undefined {
    return this.mirror.state.get(ROOM_ID)?.values as Readonly<R> | undefined;
  }

  /** Counts of snapshots applied and of baselines missed (a copy). */
  get stats(): SnapshotStats {
    return { ...this.snapStats };
  }

  /** The latest applied snapshot tick. */
  get tick(): number {
    return this.mirror.tick;
  }

  /** Smoothed round-trip time (ms, 0 before the first pong). */
  get rtt(): number {
    return this.clock.rtt;
  }

  /** The room's estimated current tick (fractional), once a pong from inside the room arrived. */
  serverTick(now = this.now()): number | undefined {
    return this.clock.serverTick(now);
  }

  /**
   * The frame to draw: the two snapshots around the render time (estimated server time −
   * interpolation delay) and the blend factor, extrapolated for up to 100 ms when the next
   * snapshot is late; with `fields`, also the entities with those numeric fields blended
   * (indexes, or declared names: `(kind, name) => name === "player" ? ["x", "y"] : []`).
   * Call it once per drawn frame: it advances the render clock, counts the frame in
   * `buffer.stats`, and is what the next input says was on the screen.
   */
  interpolated(now?: number): InterpolationSample | undefined;
  interpolated<E = never>(now: number | undefined, fields: LerpFields): (InterpolationSample & { entities: Map<number, [E] extends [never] ? Entity : EntityOf<E> | Entity<AnyValues, "room">> }) | undefined;
  interpolated(now: number = this.now(), fields?: LerpFields): (InterpolationSample & { entities?: Map<number, Entity> }) | undefined {
    const s = this.buffer.sample(now);
    if (s !== undefined && this.joinedInfo !== undefined) {
      this.view = [s.from.tick, s.to.tick - s.from.tick, Math.min(65535, Math.max(0, Math.round(s.t * 1000)))];
    }
    if (s === undefined || fields === undefined) return s;
    return { ...s, entities: interpolate(s, fields) };
  }

  /**
   * Pings now, three more times 250 ms apart (the clock's warm-up keeps the fastest round
   * trip, so one ping delayed by page load does not skew the first estimates), then every
   * pingInterval.
   */
  private startPinging(): void {
    const interval = this.pingInterval;
    this.ping();
    if (interval <= 0) return;
    let warmup = 3;
    const next = () => {
      this.pinger = setTimeout(() => {
        this.ping();
        next();
      }, warmup-- > 0 ? Math.min(250, interval) : interval);
    };
    next();
  }

  private get pingInterval(): number {
    return this.opts.pingInterval ?? 1000;
  }

  /** Sends a ping now (one is sent every pingInterval anyway). */
  ping(): void {
    if (!this.isOpen()) return;
    const now = this.now();
    if (this.unanswered === 0) this.unanswered = now;
    this.send([Kind.Ping, now]);
  }

  /** Closes the connection for good (no reconnection); the seat is held for the grace period unless you {@link Client.leave} first. */
  close(): void {
    this.closing = true;
    this.stopTimers();
    this.endLinger();
    const g = globalThis as { removeEventListener?: (type: string, fn: () => void) => void };
    g.removeEventListener?.("online", this.wake);
    (globalThis as { document?: { removeEventListener?: (type: string, fn: () => void) => void } }).document?.removeEventListener?.("visibilitychange", this.wake);
    const ws = this.ws;
    this.ws = undefined;
    if (ws !== undefined) abandon(ws, 1000, "bye");
    this.failPending();
    this.outbox = [];
    this.setState("closed");
  }

  // ---- the socket ----------------------------------------------------------------------

  private isOpen(): boolean {
    return this.ws !== undefined && this.ws.readyState === OPEN && this.connState === "open";
  }

  /** Sends msg now if connected; else queues it for the next connection if `queue`, or drops it. */
  private send(msg: unknown[], queue = false): void {
    const data = encodeMessage(msg);
    if (this.isOpen()) this.ws!.send(data);
    else if (queue && !this.closing) this.outbox.push(data);
  }

  private open(): void {
    let ws: WebSocketLike;
    try {
      ws = new this.WS(this.node, SUBPROTOCOLS);
    } catch (e) {
      this.emit("error", new RallypointError(Code.Disconnected, `rallypoint: ${String(e)}`));
      this.dropped("closed", 1006);
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    let opened = false;
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      if (this.ws !== ws || ws.readyState === OPEN) return;
      this.ws = undefined;
      this.linger(ws);
      this.dropped("connect timeout", 1006);
    }, this.opts.connectTimeout ?? 5000);
    ws.onopen = () => {
      if (this.ws !== ws) {
        if (this.lingering !== ws) return abandon(ws, 1000, "superseded");
        // An attempt given up on opened first: keep it, and drop the newer one.
        this.stopTimers();
        if (this.ws !== undefined) abandon(this.ws, 1000, "superseded");
        this.ws = ws;
      }
      opened = true;
      this.endLinger();
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
      if (!SUBPROTOCOLS.includes(ws.protocol)) {
        this.emit("error", new RallypointError(Code.Disconnected, `rallypoint: server agreed to none of ${SUBPROTOCOLS.join(", ")}`));
        this.closing = true;
        ws.close(1002, "subprotocol");
        return;
      }
      this.attempt = 0;
      this.nodeFailures = 0;
      this.lastHeard = this.now();
      this.unanswered = 0;
      const resume = this.resumeToken;
      this.setState("open");
      this.startPinging();
      this.watchdog = setInterval(() => this.check(), 250);
      if (resume !== "") {
        this.call(true, (req) => [Kind.Join, req, { token: resume }]).then(
          () => undefined,
          (e: unknown) => this.seatLost(e),
        );
      }
      const queued = this.outbox;
      this.outbox = [];
      for (const m of queued) ws.send(m);
    };
    ws.onmessage = (ev) => {
      this.lastHeard = this.now();
      this.unanswered = 0;
      const d = ev.data;
      if (!(d instanceof ArrayBuffer) && !ArrayBuffer.isView(d)) return; // text: not ours
      // The bytes stay at hand: a v2 snapshot's mirror reads them besides the decoded message.
      const bytes = d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
      let msg: unknown;
      try {
        msg = decodeMessage(bytes);
      } catch {
        this.emit("error", new RallypointError(Code.Malformed, "rallypoint: undecodable server message"));
        return;
      }
      if (Array.isArray(msg) && msg.length > 0) this.dispatch(msg, bytes);
    };
    ws.onerror = () => {
      // onclose follows with the details.
    };
    ws.onclose = (ev) => {
      if (this.lingering === ws) this.lingering = undefined;
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (!opened) {
        // The browser hides the HTTP status of a refused handshake (a 403 for the origin,
        // 429 or 503 for limits): all a page sees is 1006 before open. Say that much.
        this.emit("error", new RallypointError(Code.Disconnected, REFUSED_MESSAGE));
        this.dropped("refused", ev.code);
        return;
      }
      this.dropped("closed", ev.code);
    };
  }

  /**
   * The watchdog, every 250 ms while open: a link silent for silenceTimeout, with a ping
   * unanswered for most of it, is dead; a room without snapshots for stallAfter is stalled.
   * The unanswered ping is what keeps a background tab, whose timers the browser runs once a
   * minute, from being judged on the silence of its own sleep.
   */
  private check(): void {
    const ws = this.ws;
    if (ws === undefined || !this.isOpen()) return;
    const now = this.now();
    const silent = now - this.lastHeard;
    const timeout = this.opts.silenceTimeout ?? 3000;
    const interval = this.pingInterval > 0 ? this.pingInterval : 1000;
    if (silent >= timeout && this.unanswered !== 0 && now - this.unanswered >= timeout - interval) {
      this.ws = undefined;
      abandon(ws, 4000, "silent");
      this.dropped("silent", 1006);
      return;
    }
    if (this.joinedInfo !== undefined && this.lastSnapshot > 0) {
      const stallAfter = this.opts.stallAfter ?? Math.max(500, 3 * this.buffer.interval);
      const stalled = now - this.lastSnapshot >= stallAfter;
      if (stalled !== this.isStalled) this.setStalled(stalled, silent);
    }
  }

  private setStalled(stalled: boolean, silentMs: number): void {
    if (this.isStalled === stalled) return;
    this.isStalled = stalled;
    this.emit("stall", { stalled, silentMs });
  }

  /** Cuts a backoff wait short (the browser is online again, the tab is visible again). */
  private retryNow(): void {
    if (this.closing || this.timer === undefined || this.connState !== "reconnecting") return;
    const hidden = (globalThis as { document?: { hidden?: boolean } }).document?.hidden === true;
    if (hidden) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.open();
  }

  /** Keeps ws, an attempt that timed out, for one more connectTimeout in case it opens. */
  private linger(ws: WebSocketLike): void {
    this.endLinger();
    this.lingering = ws;
    this.lingerTimer = setTimeout(() => {
      if (this.lingering === ws) abandon(ws, 4000, "connect timeout");
      this.lingering = this.lingerTimer = undefined;
    }, this.opts.connectTimeout ?? 5000);
  }

  /** Closes a lingering attempt, if any. */
  private endLinger(): void {
    clearTimeout(this.lingerTimer);
    const ws = this.lingering;
    this.lingering = this.lingerTimer = undefined;
    if (ws !== undefined && ws !== this.ws) abandon(ws, 4000, "connect timeout");
  }

  private stopTimers(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    if (this.pinger !== undefined) clearTimeout(this.pinger);
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    this.timer = this.connectTimer = this.pinger = this.watchdog = undefined;
    this.dropBatch();
    this.takeAck();
  }

  /** Returns the tick to acknowledge (0 for none) and forgets it, with its timer. */
  private takeAck(): number {
    const tick = this.unacked;
    this.unacked = 0;
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    return tick;
  }

  /**
   * Notes that tick needs acknowledging: the next input takes it, or `[4, tick]` goes alone
   * after `ackDelay`. The delay runs from the oldest tick not yet acknowledged, so a newer
   * snapshot does not postpone it.
   */
  private queueAck(tick: number): void {
    const delay = this.opts.ackDelay ?? 20;
    this.unacked = tick;
    if (delay <= 0) {
      this.send([Kind.Ack, this.takeAck()]);
      return;
    }
    if (this.ackTimer !== undefined) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      if (this.batch.length > 0) return; // inputs wait for their turn (inputRate): they carry it
      const t = this.takeAck();
      if (t !== 0) this.send([Kind.Ack, t]);
    }, delay);
  }

  private failPending(reason = "closed"): void {
    const err = new RallypointError(Code.Disconnected, reason === "refused" ? REFUSED_MESSAGE : "rallypoint: connection closed");
    const p = [...this.pending.values()];
    this.pending.clear();
    for (const x of p) x.reject(err);
  }

  /**
   * The connection is gone (reason "closed" with the close code, "silent" or "connect
   * timeout"): reconnect unless it was closed on purpose or a new attempt would fail the
   * same way. An attempt that timed out, or a link found silent, has already cost seconds:
   * the next attempt goes at once; one refused at once waits for the backoff.
   */
  private dropped(reason: string, code: number): void {
    this.stopTimers();
    this.failPending(reason);
    this.outbox = [];
    // seq counts per connection: the pending inputs cannot be matched any more.
    this.inputs.reset();
    this.lastInputSeq = 0;
    this.isStalled = false;
    const max = this.opts.maxReconnectAttempts ?? Infinity;
    if (this.closing || this.opts.reconnect === false || FINAL_CLOSES.has(code) || this.attempt >= max) {
      this.closing = true;
      this.setState("closed", { reason, code });
      return;
    }
    const slow = reason === "silent" || reason === "connect timeout";
    const delay = slow ? 0 : backoffDelay(this.attempt, this.opts.backoff, this.opts.random);
    this.attempt++;
    if (reason === "refused" || reason === "connect timeout") this.nodeFailures++;
    this.setState("reconnecting", { attempt: this.attempt, delay, reason, ...(reason === "closed" ? { code } : {}) });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closing) return;
      if (this.node !== this.url && this.nodeFailures >= NODE_FAILURES) {
        // The room's node is gone, most likely: the entry node knows where the seat is now
        // (a redirect), or that it is gone (code 5, and autoRejoin joins afresh there).
        this.node = this.url;
        this.nodeFailures = 0;
      }
      this.open();
    }, delay);
  }

  /**
   * Moves this client to another node: lets go of the current connection (requests waiting
   * on it are rejected, except the join `keep` names, which goes on at the new node) and
   * connects to `url` at once. Whatever is sent next waits in the outbox for the new
   * connection.
   */
  private switchNode(url: string, reason: "redirect" | "moved" | "entry", keep?: number): void {
    const ws = this.ws;
    this.ws = undefined;
    this.stopTimers();
    this.endLinger();
    if (ws !== undefined) abandon(ws, 1000, reason);
    const kept = keep === undefined ? undefined : this.take(keep);
    this.failPending();
    if (kept !== undefined) this.pending.set(keep!, kept);
    this.outbox = [];
    this.dropBatch();
    this.inputs.reset();
    this.lastInputSeq = 0;
    this.isStalled = false;
    this.attempt = 0;
    this.nodeFailures = 0;
    this.node = url;
    this.setState("connecting", { reason });
    this.open();
  }

  /**
   * A join was answered with a redirect (0x1B): the seat is on the node at `url`. A page's
   * join goes on there with the reservation (or its resume token), its promise still
   * waiting; the automatic resume reconnects there and resumes with the same token.
   */
  private onRedirect(req: number, url: string, reservation: string, room: string): void {
    const p = this.take(req);
    if (p === undefined) return;
    const max = this.opts.maxRedirects ?? MAX_REDIRECTS;
    if (p.resume) {
      this.resumeHops++;
      if (url === "" || this.resumeToken === "" || this.resumeHops > max) {
        p.reject(new RallypointError(Code.Disconnected, "rallypoint: redirected")); // the resume's handler ignores it
        this.seatLost(new RallypointError(Code.NotFound, `rallypoint: too many redirects (${max}) resuming the seat; the last to ${url}`));
        return;
      }
      p.reject(new RallypointError(Code.Disconnected, "rallypoint: redirected"));
      this.emit("redirect", { url, room, hops: this.resumeHops, resume: true });
      this.switchNode(url, "redirect");
      return;
    }
    const join = p.join;
    if (join === undefined || url === "") {
      p.reject(new RallypointError(Code.Malformed, "rallypoint: a redirect that answers no join"));
      return;
    }
    const hops = join.hops + 1;
    if (hops > max) {
      p.reject(new RallypointError(Code.Disconnected, `rallypoint: too many redirects (${max}) for one join; the last to ${url}`));
      return;
    }
    const meta = join.options.meta;
    let next: Record<string, unknown>;
    if (reservation !== "") next = { reservation };
    else if (typeof join.options.token === "string") next = { token: join.options.token };
    else {
      p.reject(new RallypointError(Code.Malformed, `rallypoint: a redirect to ${url} without a reservation`));
      return;
    }
    if (meta !== undefined) next.meta = meta;
    this.pending.set(req, { ...p, join: { options: next, hops } });
    this.emit("redirect", { url, room, hops, resume: false });
    this.switchNode(url, "redirect", req);
    this.send([Kind.Join, req, next], true);
  }

  /**
   * The room's node drains (0x1C): leave quietly (the room ends there anyway) and take the
   * seat reserved at `url`, with the last join's meta. autoRejoin's way of joining again
   * stays that of the first join (a new quick play, a new match), not the reservation.
   */
  private onMoved(url: string, reservation: string, ttlMs: number, room: string): void {
    if (this.joinedInfo === undefined || url === "" || reservation === "") return;
    this.emit("moved", { url, reservation, ttlMs, room });
    this.send([Kind.Leave]);
    this.resumeToken = "";
    this.forgetSeat();
    this.joinedInfo = undefined;
    this.view = undefined;
    const rejoin = this.rejoin;
    this.switchNode(url, "moved");
    const seat: JoinOptions = this.seatMeta === undefined ? { reservation } : { reservation, meta: this.seatMeta };
    this.joinSeat(seat, rejoin).catch((e: unknown) => {
      this.emit("error", e instanceof RallypointError ? e : new RallypointError(Code.Internal, String(e)));
      if (e instanceof RallypointError && e.code === Code.Disconnected) return; // reconnecting: nothing to resume, the page decides
      this.seatLost(e);
    });
  }

  /** A resume found the seat gone: say so, and join again if autoRejoin and the last join can be made again. */
  private seatLost(e: unknown): void {
    const code = e instanceof RallypointError ? e.code : Code.Internal;
    if (code === Code.Disconnected) return; // the connection dropped again: the next one resumes
    this.resumeToken = "";
    this.resumeHops = 0;
    this.joinedInfo = undefined;
    const again = this.opts.autoRejoin === true ? this.rejoin : undefined;
    this.emit("left", { code, message: String((e as Error).message), resume: true, rejoining: again !== undefined });
    if (again === undefined) return;
    // Afresh goes through the entry, as the first join did: the node the seat was on may be
    // the one that failed.
    if (this.node !== this.url) this.switchNode(this.url, "entry");
    again().catch((err: unknown) => this.emit("error", err instanceof RallypointError ? err : new RallypointError(Code.Internal, String(err))));
  }

  private dispatch(m: unknown[], bytes: Uint8Array): void {
    switch (uint(m[0])) {
      case Kind.Snapshot:
        this.onSnapshot(m, bytes);
        break;
      case Kind.InputAck:
        this.onInputAck(m[1], m[2]);
        break;
      case Kind.Joined: {
        const j: Joined = {
          room: str(m[2]),
          player: uint(m[3]),
          token: str(m[4]),
          tick: uint(m[5]),
          tickRate: uint(m[6]),
          snapshotRate: uint(m[7]),
          code: str(m[8]),
          resumed: false,
          schema: Schema.parse(m[9]),
          events: Array.isArray(m[10]) ? Object.freeze(m[10].map((e) => (typeof e === "string" ? e : ""))) : [],
        };
        // A (re)join starts from a full snapshot, which follows this message; a tick of the
        // room left behind is not acknowledged in the new one, nor a frame of it drawn.
        this.takeAck();
        this.view = undefined;
        this.lastSnapshot = 0;
        this.setStalled(false, 0);
        this.mirror.reset();
        this.mirror.schema = j.schema;
        this.resetAt = undefined;
        this.reacked = 0;
        this.buffer.reset(j.tickRate, j.snapshotRate);
        this.clock.setTickRate(j.tickRate);
        this.clock.resetTick();
        this.resumeToken = j.token;
        this.resumeHops = 0;
        this.joinedInfo = j;
        this.saveSeat(j.room, j.token);
        const p = this.take(uint(m[1]));
        j.resumed = p?.resume ?? false;
        p?.resolve(j);
        this.emit("joined", j);
        this.ping(); // learn the tick soon
        break;
      }
      case Kind.Response: {
        const p = this.take(uint(m[1]));
        const code = uint(m[2]);
        if (p === undefined) break;
        if (code === Code.OK) p.resolve(m[3]);
        else p.reject(new RallypointError(code, str(m[3])));
        break;
      }
      case Kind.Event: {
        // v2 may send a listed name as its index in the join answer's events.
        const i = typeof m[1] === "number" ? m[1] : undefined;
        const name = i === undefined ? str(m[1]) : this.joinedInfo?.events[i];
        if (name === undefined) {
          this.emit("error", new RallypointError(Code.Malformed, `rallypoint: event ${String(m[1])} names no listed event`));
          break;
        }
        this.emit("event", { name, payload: m[2] });
        break;
      }
      case Kind.Error:
        if (typeof m[3] === "string") this.emit("matchFailed", { ticket: m[3], code: uint(m[1]), message: str(m[2]) });
        this.emit("error", new RallypointError(uint(m[1]), str(m[2])));
        break;
      case Kind.Pong: {
        const s = this.clock.onPong(uint(m[1]), uint(m[2]), uint(m[3]), this.now()) /* times may be floats */;
        this.emit("pong", { rtt: s.rtt, smoothedRtt: s.smoothedRtt, tick: uint(m[3]) });
        break;
      }
      case Kind.Left:
        this.resumeToken = "";
        this.forgetSeat();
        this.joinedInfo = undefined;
        this.view = undefined;
        this.emit("left", { code: uint(m[1]), message: str(m[2]) });
        break;
      case Kind.Matched:
        this.emit("matched", { ticket: str(m[1]), room: str(m[2]), reservation: str(m[3]), ttlMs: uint(m[4]), url: str(m[5]) });
        break;
      case Kind.Redirect:
        this.onRedirect(uint(m[1]), str(m[2]), str(m[3]), str(m[5]));
        break;
      case Kind.Moved:
        this.onMoved(str(m[1]), str(m[2]), uint(m[3]), str(m[4]));
        break;
      case Kind.Room:
        this.emit("room", { change: uint(m[1]), room: m[2] as RoomInfo });
        break;
      default:
      // Unknown kinds are ignored: a newer server may send more.
    }
  }

  private take(req: number): Pending | undefined {
    const p = this.pending.get(req);
    if (p !== undefined) this.pending.delete(req);
    return p;
  }

  /** `[19, last_seq, tick]`: inputs up to last_seq were applied before tick. */
  private onInputAck(seq: unknown, tick: unknown): void {
    this.lastInputSeq = uint(seq);
    this.inputs.ack(this.lastInputSeq, uint(tick));
  }

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
  private onSnapshot(m: unknown[], bytes: Uint8Array): void {
    const v2 = m.length >= 5;
    const seq = v2 ? this.mirror.lastSeq(m) : undefined; // a difference on the wire, decoded
    if (seq !== undefined && typeof m[2] === "number" && m[2] > 0) {
      this.onInputAck(seq, m[2]);
    }
    let applied: AppliedSnapshot;
    try {
      applied = v2 ? this.mirror.applyV2(bytes, m, this.ws?.protocol === SUBPROTOCOL_V3) : this.mirror.apply(m[1]);
    } catch (e) {
      if (e instanceof SnapshotError) {
        if (e.reason === "baseline") this.onBaselineMiss(e.tick, e.baseline);
        else if (e.reason !== "stale") this.emit("error", new RallypointError(Code.Malformed, e.message));
        return;
      }
      throw e;
    }
    this.snapStats.snapshots++;
    if (applied.baseline === 0) this.resetAt = undefined; // the full snapshot asked for, if one was
    const now = this.now();
    this.lastSnapshot = now;
    if (this.isStalled) this.setStalled(false, 0);
    // Acknowledge, so that the next delta is against this tick: on the next input, or alone
    // after ackDelay. Before the event, so that an input sent from a handler carries it.
    this.queueAck(applied.tick);
    this.buffer.push(applied.tick, applied.state, now);
    this.emit("snapshot", { tick: applied.tick, baseline: applied.baseline, state: applied.state, lastInputSeq: this.lastInputSeq });
  }

  /**
   * A snapshot's delta names a baseline the mirror does not hold: drop it (a guessed state
   * would diverge silently) and recover. A baseline at or below the latest applied tick
   * means the server encodes against an older acknowledgement than the latest one (which is
   * on its way, or the mirror let the old state go): acknowledge the latest tick again, once.
   * A newer one means the server believes this client holds a state it never applied, which
   * no acknowledgement can mend: `[4, 0]` asks for a full snapshot, once, and again only if
   * none came within RESET_INTERVALS snapshot intervals and a round trip.
   */
  private onBaselineMiss(tick: number, baseline: number): void {
    this.snapStats.baselineMisses++;
    const latest = this.mirror.tick;
    let action: BaselineMissEvent["action"] = "wait";
    if (baseline <= latest) {
      if (latest > this.reacked) {
        this.reacked = latest;
        if (this.unacked === latest) this.takeAck(); // it goes now
        this.send([Kind.Ack, latest]);
        action = "reack";
      }
    } else {
      const now = this.now();
      const rate = this.joinedInfo?.snapshotRate || 30;
      if (this.resetAt === undefined || now - this.resetAt >= (RESET_INTERVALS * 1000) / rate + this.clock.rtt) {
        this.resetAt = now;
        this.reacked = 0;
        this.snapStats.baselineResets++;
        this.send([Kind.Ack, 0]);
        action = "reset";
      }
    }
    this.emit("baselineMiss", { tick, baseline, latest, action });
  }
}

/** Lets go of a socket for good: no more events from it, and a close if it can take one. */
function abandon(ws: WebSocketLike, code: number, reason: string): void {
  ws.onopen = ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = () => {}; // closing a socket still connecting errors it (Node's ws throws without a listener)
  try {
    ws.close(code, reason);
  } catch {
    // already closed
  }
}
