/**
 * Rallypoint browser SDK: the rallypoint.v3 (or v2, v1) protocol over WebSocket, with a snapshot
 * mirror, an interpolation buffer, input prediction and reconciliation, RTT and server
 * tick estimation, and reconnection with the resume token.
 *
 * ```js
 * import { connect } from "/client/rallypoint.js";
 * const client = connect(`ws://${location.host}/play`);
 * client.on("snapshot", (s) => render(client.reconcile(s.state, applyInput)));
 * const me = await client.quickPlay("shooter");
 * client.sendInput({ dx: 1 });
 * ```
 *
 * @packageDocumentation
 */

export { connect, Client } from "./client.js";
export type {
  BaselineMissEvent,
  ClientEvents,
  ConnectOptions,
  ConnectionState,
  EntitiesOf,
  FindMatchOptions,
  JoinOptions,
  Joined,
  LeftEvent,
  MatchOptions,
  Matched,
  MovedEvent,
  RedirectEvent,
  RoomChange,
  RoomInfo,
  SavedSeat,
  SeatStorage,
  SnapshotEvent,
  SnapshotStats,
  StallChange,
  StateChange,
  WebSocketConstructor,
  WebSocketLike,
} from "./client.js";
export { SnapshotMirror, SnapshotError } from "./mirror.js";
export type { AppliedSnapshot, State } from "./mirror.js";
export { Schema, ROOM_ID, ROOM_KIND } from "./schema.js";
export type { AnyValues, Entity, EntityOf, FieldInfo, FieldType, KindInfo } from "./schema.js";
export { InterpolationBuffer, interpolate } from "./interpolation.js";
export type { BufferedSnapshot, InterpolationOptions, InterpolationSample, InterpolationStats, LerpFields } from "./interpolation.js";
export { InputBuffer } from "./prediction.js";
export type { PendingInput } from "./prediction.js";
export { ServerClock } from "./clock.js";
export type { ClockSample } from "./clock.js";
export { backoffDelay } from "./backoff.js";
export type { BackoffOptions } from "./backoff.js";
export { Code, Kind, MAX_INPUT_BATCH, RallypointError, SUBPROTOCOL, SUBPROTOCOL_V2, SUBPROTOCOL_V3 } from "./protocol.js";
/** msgpack encoding and decoding as the SDK does it (bundled @msgpack/msgpack). */
export { encodeMessage, decodeMessage } from "./codec.js";
