/** Encodes one protocol message (an array whose first element is the kind) to msgpack. */
export declare function encodeMessage(msg: readonly unknown[]): Uint8Array;
/** Decodes one msgpack message from the server. */
export declare function decodeMessage(data: ArrayBuffer | ArrayBufferView): unknown;
/**
 * A cursor over msgpack bytes that reads integers exactly and skips every other value,
 * without decoding it. The v2 snapshot needs what a decoded value cannot tell: whether a
 * value was a msgpack integer (a float 2.0 decodes as 2, like the integer 2, but only the
 * integer is a difference), and an integer beyond 2^53 exactly (decodeMessage rounds it).
 * It never throws and never allocates but for a bigint: a value it cannot read sets `bad`.
 *
 * @internal
 */
export declare class IntReader {
    private b;
    /** The offset of the next value. */
    off: number;
    /** Set once the bytes ended early or held a byte msgpack does not define (0xc1). */
    bad: boolean;
    /** Starts reading `b` from its first byte. */
    reset(b: Uint8Array): void;
    /** True if every byte was read, and read well. */
    get done(): boolean;
    /** Reads an array header and returns its length, or -1 (and `bad`) if the value is not an array. */
    arrayLen(): number;
    /**
     * Reads one value: a msgpack integer as a number when it is a safe integer, else as a
     * bigint; any other value is skipped and gives undefined (so does a bad one, setting `bad`).
     */
    int(): number | bigint | undefined;
    /** Skips one value, whatever it holds (iteratively: nesting costs no stack). */
    skip(): void;
    /** The big-endian unsigned integer of n (1, 2 or 4) bytes at `at` (bytes past the end read as 0). */
    private uintN;
}
