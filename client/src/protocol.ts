/**
 * Message kinds and codes of the rallypoint.v1 and rallypoint.v2 wire protocols (see
 * PROTOCOL.md at the repository root). Every message is one binary WebSocket message holding
 * one msgpack array whose first element is the kind.
 *
 * @packageDocumentation
 */

/** The WebSocket subprotocol v1, which the SDK speaks with a server that has no v2. */
export const SUBPROTOCOL = "rallypoint.v1";
/**
 * The WebSocket subprotocol v2: v1 with a smaller snapshot message, `[18, last_seq, tick,
 * offset, changed, added, removed]`, the last two left out when empty (PROTOCOL.md, "The v2
 * snapshot"). The SDK offers it after v3, then v1.
 */
export const SUBPROTOCOL_V2 = "rallypoint.v2";

/**
 * rallypoint.v2 whose snapshots against two baselines leave out what they predict exactly
 * (PROTOCOL.md, "The v3 snapshot"): a player moving steadily costs nothing. The client
 * offers it first.
 */
export const SUBPROTOCOL_V3 = "rallypoint.v3";

/** The most inputs one Inputs (0x0A) message may carry (the Go package protocol's MaxInputBatch). */
export const MAX_INPUT_BATCH = 8;

/** Message kinds, client to server and server to client. */
export const Kind = {
  Join: 0x01,
  Leave: 0x02,
  Input: 0x03,
  Ack: 0x04,
  Request: 0x05,
  Ping: 0x06,
  Match: 0x07,
  Cancel: 0x08,
  Lobby: 0x09,
  Inputs: 0x0a,
  Joined: 0x11,
  Snapshot: 0x12,
  InputAck: 0x13,
  Event: 0x14,
  Response: 0x15,
  Error: 0x16,
  Pong: 0x17,
  Left: 0x18,
  Matched: 0x19,
  Room: 0x1a,
  Redirect: 0x1b,
  Moved: 0x1c,
} as const;

/**
 * Result and error codes carried by responses (0x15), errors (0x16) and departures (0x18).
 * The names are the Go package protocol's without their `Code` prefix (`protocol.CodeRefused`
 * is `Code.Refused`); a Go test (protocol/sdk_test.go) fails if the two tables differ. 14 is
 * reserved and never sent.
 */
export const Code = {
  OK: 0,
  /** The message could not be decoded. */
  Malformed: 1,
  /** The message kind is not one this server knows. */
  UnknownKind: 2,
  /** The message needs a joined room. */
  NotJoined: 3,
  /** The game refused the join (or a matchmaking queue refused the ticket); the message says why. */
  Refused: 4,
  /** No such game, room, join code or resume token. */
  NotFound: 5,
  /** The room has no free seat. */
  Full: 6,
  /** The room accepts no new players. */
  Locked: 7,
  /** Too many requests waiting for an answer; the connection stays open. */
  RateLimited: 8,
  /** The room ended (the game ended it or the server is stopping). */
  RoomEnded: 9,
  /** The game failed; the room ended. */
  Internal: 10,
  /** A connection is in one room at a time. */
  AlreadyJoined: 11,
  /** The game rejected a request. */
  BadRequest: 12,
  /** The server is shutting down. */
  Shutdown: 13,
  /** Already queued, matched or seated. */
  Busy: 15,
  /** Too many wrong join codes from this address; wait a minute. */
  TooManyGuesses: 16,
  /** The room is private: join it with its code (or a reservation), not its room id. */
  Private: 17,
  /** Rooms created too fast, by this address or by all clients; the message says how long to wait. */
  TooManyRooms: 18,
  /** Not a server code: the connection closed before an answer arrived. */
  Disconnected: -1,
} as const;

/** An error answer from the server (or {@link Code.Disconnected} from the SDK itself). */
export class RallypointError extends Error {
  /** One of {@link Code}. */
  readonly code: number;
  constructor(code: number, message: string) {
    super(message === "" ? `rallypoint: code ${code}` : message);
    this.name = "RallypointError";
    this.code = code;
  }
}
