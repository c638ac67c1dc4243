import { decode, encode } from "@msgpack/msgpack";

/** Encodes one protocol message (an array whose first element is the kind) to msgpack. */
export function encodeMessage(msg: readonly unknown[]): Uint8Array {
  return encode(msg, { ignoreUndefined: true });
}

/** Decodes one msgpack message from the server. */
export function decodeMessage(data: ArrayBuffer | ArrayBufferView): unknown {
  return decode(data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}
