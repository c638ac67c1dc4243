/** The connection: joins, snapshots, inputs, requests, ping/pong and reconnection. */

import { decodeMessage, encodeMessage } from "./codec.js";
import { backoffDelay, type BackoffOptions } from "./backoff.js";
import { ServerClock } from "./clock.js";
import { InterpolationBuffer, interpolate, type InterpolationOptions, type InterpolationSample } from "./interpolation.js";
import { SnapshotError, SnapshotMirror, type Entity, type State } from "./mirror.js";
import { InputBuffer, type PendingInput } from "./prediction.js";
import { Code, Kind, RallypointError, SUBPROTOCOL } from "./protocol.js";

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
  /** Give up after this many failed attempts in a row (default 10). */
  maxReconnectAttempts?: number;
  /** The reconnection backoff schedule. */
  backoff?: BackoffOptions;
  /** Ping every this many ms while open (default 2000; 0 disables). */
  pingInterval?: number;
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
  /** States kept as delta baselines (default 128). */
  baselines?: number;
  /** Interpolation buffer tuning. */
  interpolation?: InterpolationOptions;
  /** Local clock in ms (default performance.now). */
  now?: () => number;
  /** Random numbers in [0, 1) for backoff jitter (default Math.random). */
  random?: () => number;
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
}

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

/** A match: join with `{reservation}` within `ttlMs`. */
export interface Matched {
  ticket: string;
  room: string;
  reservation: string;
  ttlMs: number;
}

/** A room of the lobby listing. */
export interface RoomInfo {
  id: string;
  game: string;
  players: number;
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
}

/** Events of a {@link Client} and their payloads. */
export interface ClientEvents {
  joined: Joined;
  snapshot: SnapshotEvent;
  event: { name: string; payload: unknown };
  left: { code: number; message: string };
  error: RallypointError;
  matched: Matched;
  room: RoomChange;
  state: StateChange;
  pong: { rtt: number; smoothedRtt: number; tick: number };
}

type Handler<T> = (value: T) => void;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** The automatic resume after a reconnection. */
  resume: boolean;
}

const OPEN = 1;

function uint(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return 0;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/**
 * Opens a connection to a Rallypoint engine endpoint (e.g. `wss://host/play`) with the
 * `rallypoint.v1` subprotocol. The returned client is "connecting"; calls made before it
 * opens are sent once it does.
 */
export function connect(url: string, options: ConnectOptions = {}): Client {
  return new Client(url, options);
}

/**
 * One connection to a Rallypoint server. See {@link connect}.
 *
 * Snapshots are applied to a mirror and acknowledged (on the next input when one follows
 * within `ackDelay`, else alone); inputs are numbered and kept until the server
 * acknowledges them; a ping measures RTT and the server tick every `pingInterval`; after an
 * unexpected drop it reconnects with backoff and resumes the seat with the resume token.
 */
export class Client {
  private readonly url: string;
  private readonly WS: WebSocketConstructor;
  private readonly opts: ConnectOptions;
  private readonly now: () => number;
  private ws: WebSocketLike | undefined;
  private connState: ConnectionState = "connecting";
  private readonly handlers = new Map<keyof ClientEvents, Set<Handler<never>>>();
  private readonly pending = new Map<number, Pending>();
  private outbox: Uint8Array[] = [];
  private nextReq = 1;
  private closing = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pinger: ReturnType<typeof setInterval> | undefined;
  private resumeToken = "";
  private joinedInfo: Joined | undefined;
  private lastInputSeq = 0;
  /** The applied snapshot tick not acknowledged yet (0: none); the next input carries it. */
  private unacked = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;

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
    this.WS = WS;
    this.opts = options;
    this.now = options.now ?? (() => performance.now());
    this.mirror = new SnapshotMirror(options.baselines ?? 128);
    this.buffer = new InterpolationBuffer(0, 0, options.interpolation);
    this.open();
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.connState;
  }

  /** The last join answer, while in a room. */
  get joined(): Joined | undefined {
    return this.joinedInfo;
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

  /** Takes a seat; resolves with the join answer, rejects with a {@link RallypointError}. */
  join(options: JoinOptions): Promise<Joined> {
    const o: Record<string, unknown> = {};
    for (const k of ["game", "room", "code", "token", "reservation", "create", "private", "meta"] as const) {
      if (options[k] !== undefined) o[k] = options[k];
    }
    return this.call(false, (req) => [Kind.Join, req, o]) as Promise<Joined>;
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
    this.joinedInfo = undefined;
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
      this.send(msg(req));
    });
  }

  // ---- inputs and state ----------------------------------------------------------------

  /**
   * Sends one input; returns its seq. It stays pending until the server acknowledges it. It
   * also acknowledges the latest applied snapshot, if that is not acknowledged yet (see
   * `ackDelay`).
   */
  sendInput(input: unknown): number {
    const seq = this.inputs.add(input, this.now());
    const ack = this.takeAck();
    this.send(ack === 0 ? [Kind.Input, seq, input] : [Kind.Input, seq, input, ack]);
    return seq;
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

  /** The latest replicated state: entity id → {kind, fields}. */
  entities(): State {
    return this.mirror.state;
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
   * The two snapshots around the render time (estimated server time − interpolation delay)
   * and the blend factor; with `fields`, also the entities with those numeric fields
   * interpolated.
   */
  interpolated(now?: number): InterpolationSample | undefined;
  interpolated(now: number | undefined, fields: readonly number[] | ((kind: number) => readonly number[])): (InterpolationSample & { entities: Map<number, Entity> }) | undefined;
  interpolated(now: number = this.now(), fields?: readonly number[] | ((kind: number) => readonly number[])): (InterpolationSample & { entities?: Map<number, Entity> }) | undefined {
    const s = this.buffer.sample(now);
    if (s === undefined || fields === undefined) return s;
    return { ...s, entities: interpolate(s, fields) };
  }

  /**
   * Pings now, three more times 250 ms apart (the clock's warm-up keeps the fastest round
   * trip, so one ping delayed by page load does not skew the first estimates), then every
   * pingInterval.
   */
  private startPinging(): void {
    const interval = this.opts.pingInterval ?? 2000;
    this.ping();
    if (interval <= 0) return;
    let warmup = 3;
    this.pinger = setInterval(() => {
      this.ping();
      if (--warmup > 0) return;
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.ping(), interval);
    }, Math.min(250, interval));
  }

  /** Sends a ping now (one is sent every pingInterval anyway). */
  ping(): void {
    this.send([Kind.Ping, this.now()]);
  }

  /** Closes the connection for good (no reconnection); the seat is held for the grace period unless you {@link Client.leave} first. */
  close(): void {
    this.closing = true;
    this.stopTimers();
    const ws = this.ws;
    this.ws = undefined;
    if (ws !== undefined) {
      ws.onopen = ws.onmessage = ws.onerror = null;
      ws.onclose = null;
      try {
        ws.close(1000, "bye");
      } catch {
        // already closed
      }
    }
    this.failPending();
    this.outbox = [];
    this.setState("closed");
  }

  // ---- the socket ----------------------------------------------------------------------

  private send(msg: unknown[]): void {
    const data = encodeMessage(msg);
    if (this.ws !== undefined && this.ws.readyState === OPEN && this.connState === "open") {
      this.ws.send(data);
    } else if (!this.closing) {
      this.outbox.push(data);
    }
  }

  private open(): void {
    let ws: WebSocketLike;
    try {
      ws = new this.WS(this.url, [SUBPROTOCOL]);
    } catch (e) {
      this.emit("error", new RallypointError(Code.Disconnected, `rallypoint: ${String(e)}`));
      this.dropped(1006);
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      if (ws.protocol !== SUBPROTOCOL) {
        this.emit("error", new RallypointError(Code.Disconnected, `rallypoint: server did not agree to ${SUBPROTOCOL}`));
        this.closing = true;
        ws.close(1002, "subprotocol");
        return;
      }
      this.attempt = 0;
      const resume = this.resumeToken;
      this.setState("open");
      this.startPinging();
      if (resume !== "") {
        this.call(true, (req) => [Kind.Join, req, { token: resume }]).then(
          () => undefined,
          (e: unknown) => {
            // The seat is gone (grace period over, room ended): say so and stay connected.
            this.emit("left", { code: e instanceof RallypointError ? e.code : Code.Internal, message: String((e as Error).message) });
          },
        );
      }
      const queued = this.outbox;
      this.outbox = [];
      for (const m of queued) ws.send(m);
    };
    ws.onmessage = (ev) => {
      const d = ev.data;
      if (!(d instanceof ArrayBuffer) && !ArrayBuffer.isView(d)) return; // text: not ours
      let msg: unknown;
      try {
        msg = decodeMessage(d as ArrayBuffer | ArrayBufferView);
      } catch {
        this.emit("error", new RallypointError(Code.Malformed, "rallypoint: undecodable server message"));
        return;
      }
      if (Array.isArray(msg) && msg.length > 0) this.dispatch(msg);
    };
    ws.onerror = () => {
      // onclose follows with the details.
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.dropped(ev.code);
    };
  }

  private stopTimers(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.pinger !== undefined) clearInterval(this.pinger);
    this.timer = this.pinger = undefined;
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
      const t = this.takeAck();
      if (t !== 0) this.send([Kind.Ack, t]);
    }, delay);
  }

  private failPending(): void {
    const err = new RallypointError(Code.Disconnected, "rallypoint: connection closed");
    const p = [...this.pending.values()];
    this.pending.clear();
    for (const x of p) x.reject(err);
  }

  private dropped(code: number): void {
    this.stopTimers();
    this.failPending();
    this.outbox = [];
    // seq counts per connection: the pending inputs cannot be matched any more.
    this.inputs.reset();
    this.lastInputSeq = 0;
    const max = this.opts.maxReconnectAttempts ?? 10;
    if (this.closing || this.opts.reconnect === false || code === 1002 || code === 1008 || this.attempt >= max) {
      this.closing = true;
      this.setState("closed");
      return;
    }
    const delay = backoffDelay(this.attempt, this.opts.backoff, this.opts.random);
    this.attempt++;
    this.setState("reconnecting", { attempt: this.attempt, delay });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closing) this.open();
    }, delay);
  }

  private dispatch(m: unknown[]): void {
    switch (uint(m[0])) {
      case Kind.Snapshot:
        this.onSnapshot(m[1]);
        break;
      case Kind.InputAck:
        this.lastInputSeq = uint(m[1]);
        this.inputs.ack(this.lastInputSeq, uint(m[2]));
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
        };
        // A (re)join starts from a full snapshot, which follows this message; a tick of the
        // room left behind is not acknowledged in the new one.
        this.takeAck();
        this.mirror.reset();
        this.buffer.reset(j.tickRate, j.snapshotRate);
        this.clock.setTickRate(j.tickRate);
        this.clock.resetTick();
        this.resumeToken = j.token;
        this.joinedInfo = j;
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
      case Kind.Event:
        this.emit("event", { name: str(m[1]), payload: m[2] });
        break;
      case Kind.Error:
        this.emit("error", new RallypointError(uint(m[1]), str(m[2])));
        break;
      case Kind.Pong: {
        const s = this.clock.onPong(uint(m[1]), uint(m[2]), uint(m[3]), this.now()) /* times may be floats */;
        this.emit("pong", { rtt: s.rtt, smoothedRtt: s.smoothedRtt, tick: uint(m[3]) });
        break;
      }
      case Kind.Left:
        this.resumeToken = "";
        this.joinedInfo = undefined;
        this.emit("left", { code: uint(m[1]), message: str(m[2]) });
        break;
      case Kind.Matched:
        this.emit("matched", { ticket: str(m[1]), room: str(m[2]), reservation: str(m[3]), ttlMs: uint(m[4]) });
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

  private onSnapshot(body: unknown): void {
    let applied;
    try {
      applied = this.mirror.apply(body);
    } catch (e) {
      if (e instanceof SnapshotError) {
        if (e.reason !== "stale") this.emit("error", new RallypointError(Code.Malformed, e.message));
        return;
      }
      throw e;
    }
    // Acknowledge, so that the next delta is against this tick: on the next input, or alone
    // after ackDelay. Before the event, so that an input sent from a handler carries it.
    this.queueAck(applied.tick);
    this.buffer.push(applied.tick, applied.state, this.now());
    this.emit("snapshot", { tick: applied.tick, baseline: applied.baseline, state: applied.state, lastInputSeq: this.lastInputSeq });
  }
}
