/**
 * Message kinds and codes of the rallypoint.v1 wire protocol (see PROTOCOL.md at the
 * repository root). Every message is one binary WebSocket message holding one msgpack
 * array whose first element is the kind.
 *
 * @packageDocumentation
 */
/** The WebSocket subprotocol this SDK speaks. */
export declare const SUBPROTOCOL = "rallypoint.v1";
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
};
/** Result and error codes carried by responses (0x15), errors (0x16) and departures (0x18). */
export declare const Code: {
    readonly OK: 0;
    readonly Malformed: 1;
    readonly UnknownKind: 2;
    readonly NotJoined: 3;
    readonly JoinRefused: 4;
    readonly NotFound: 5;
    readonly RoomFull: 6;
    readonly RoomLocked: 7;
    readonly RateLimited: 8;
    readonly RoomEnded: 9;
    readonly Internal: 10;
    readonly AlreadyJoined: 11;
    readonly BadRequest: 12;
    readonly ShuttingDown: 13;
    readonly TimedOut: 14;
    readonly Busy: 15;
    readonly TooManyCodes: 16;
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
