/**
 * Message kinds and codes of the rallypoint.v1 and rallypoint.v2 wire protocols (see
 * PROTOCOL.md at the repository root). Every message is one binary WebSocket message holding
 * one msgpack array whose first element is the kind.
 *
 * @packageDocumentation
 */
/** The WebSocket subprotocol v1, which the SDK speaks with a server that has no v2. */
export declare const SUBPROTOCOL = "rallypoint.v1";
/**
 * The WebSocket subprotocol v2: v1 with a smaller snapshot message, `[18, last_seq, tick,
 * offset, changed, added, removed]`, the last two left out when empty (PROTOCOL.md, "The v2
 * snapshot"). The SDK offers it after v3, then v1.
 */
export declare const SUBPROTOCOL_V2 = "rallypoint.v2";
/**
 * rallypoint.v2 whose snapshots against two baselines leave out what they predict exactly
 * (PROTOCOL.md, "The v3 snapshot"): a player moving steadily costs nothing. The client
 * offers it first.
 */
export declare const SUBPROTOCOL_V3 = "rallypoint.v3";
/** The most inputs one Inputs (0x0A) message may carry (the Go package protocol's MaxInputBatch). */
export declare const MAX_INPUT_BATCH = 8;
/** Message kinds, client to server and server to client. */
export declare const Kind: {
    readonly Join: 1;
    readonly Leave: 2;
    readonly Input: 3;
    readonly Ack: 4;
    readonly Request: 5;
    readonly Ping: 6;
    readonly Match: 7;
    readonly Cancel: 8;
    readonly Lobby: 9;
    readonly Inputs: 10;
    readonly Joined: 17;
    readonly Snapshot: 18;
    readonly InputAck: 19;
    readonly Event: 20;
    readonly Response: 21;
    readonly Error: 22;
    readonly Pong: 23;
    readonly Left: 24;
    readonly Matched: 25;
    readonly Room: 26;
    readonly Redirect: 27;
    readonly Moved: 28;
};
/**
 * Result and error codes carried by responses (0x15), errors (0x16) and departures (0x18).
 * The names are the Go package protocol's without their `Code` prefix (`protocol.CodeRefused`
 * is `Code.Refused`); a Go test (protocol/sdk_test.go) fails if the two tables differ. 14 is
 * reserved and never sent.
 */
export declare const Code: {
    readonly OK: 0;
    /** The message could not be decoded. */
    readonly Malformed: 1;
    /** The message kind is not one this server knows. */
    readonly UnknownKind: 2;
    /** The message needs a joined room. */
    readonly NotJoined: 3;
    /** The game refused the join (or a matchmaking queue refused the ticket); the message says why. */
    readonly Refused: 4;
    /** No such game, room, join code or resume token. */
    readonly NotFound: 5;
    /** The room has no free seat. */
    readonly Full: 6;
    /** The room accepts no new players. */
    readonly Locked: 7;
    /** Too many requests waiting for an answer; the connection stays open. */
    readonly RateLimited: 8;
    /** The room ended (the game ended it or the server is stopping). */
    readonly RoomEnded: 9;
    /** The game failed; the room ended. */
    readonly Internal: 10;
    /** A connection is in one room at a time. */
    readonly AlreadyJoined: 11;
    /** The game rejected a request. */
    readonly BadRequest: 12;
    /** The server is shutting down. */
    readonly Shutdown: 13;
    /** Already queued, matched or seated. */
    readonly Busy: 15;
    /** Too many wrong join codes from this address; wait a minute. */
    readonly TooManyGuesses: 16;
    /** The room is private: join it with its code (or a reservation), not its room id. */
    readonly Private: 17;
    /** Rooms created too fast, by this address or by all clients; the message says how long to wait. */
    readonly TooManyRooms: 18;
    /** Not a server code: the connection closed before an answer arrived. */
    readonly Disconnected: -1;
};
/** An error answer from the server (or {@link Code.Disconnected} from the SDK itself). */
export declare class RallypointError extends Error {
    /** One of {@link Code}. */
    readonly code: number;
    constructor(code: number, message: string);
}
