/**
 * Message kinds and codes of the rallypoint.v1 wire protocol (see PROTOCOL.md at the
 * repository root). Every message is one binary WebSocket message holding one msgpack
 * array whose first element is the kind.
 *
 * @packageDocumentation
 */

/** The WebSocket subprotocol this SDK speaks. */
export const SUBPROTOCOL = "rallypoint.v1";

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
} as const;

/** Result and error codes carried by responses (0x15), errors (0x16) and departures (0x18). */
export const Code = {
  OK: 0,
  Malformed: 1,
  UnknownKind: 2,
  NotJoined: 3,
  JoinRefused: 4,
  NotFound: 5,
  RoomFull: 6,
  RoomLocked: 7,
  RateLimited: 8,
  RoomEnded: 9,
  Internal: 10,
  AlreadyJoined: 11,
  BadRequest: 12,
  ShuttingDown: 13,
  TimedOut: 14,
  Busy: 15,
  TooManyCodes: 16,
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
