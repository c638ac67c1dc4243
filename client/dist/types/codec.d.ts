/** Encodes one protocol message (an array whose first element is the kind) to msgpack. */
export declare function encodeMessage(msg: readonly unknown[]): Uint8Array;
/** Decodes one msgpack message from the server. */
export declare function decodeMessage(data: ArrayBuffer | ArrayBufferView): unknown;
