import { decode, encode } from "@msgpack/msgpack";

/** Encodes one protocol message (an array whose first element is the kind) to msgpack. */
export function encodeMessage(msg: readonly unknown[]): Uint8Array {
  return encode(msg, { ignoreUndefined: true });
}

/** Decodes one msgpack message from the server. */
export function decodeMessage(data: ArrayBuffer | ArrayBufferView): unknown {
  if (data instanceof Uint8Array) return decode(data); // the client's own view: no other made
  return decode(data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/**
 * A cursor over msgpack bytes that reads integers exactly and skips every other value,
 * without decoding it. The v2 snapshot needs what a decoded value cannot tell: whether a
 * value was a msgpack integer (a float 2.0 decodes as 2, like the integer 2, but only the
 * integer is a difference), and an integer beyond 2^53 exactly (decodeMessage rounds it).
 * It never throws and never allocates but for a bigint: a value it cannot read sets `bad`.
 *
 * @internal
 */
export class IntReader {
  private b: Uint8Array = new Uint8Array(0);
  /** The offset of the next value. */
  off = 0;
  /** Set once the bytes ended early or held a byte msgpack does not define (0xc1). */
  bad = false;

  /** Starts reading `b` from its first byte. */
  reset(b: Uint8Array): void {
    this.b = b;
    this.off = 0;
    this.bad = false;
  }

  /** True if every byte was read, and read well. */
  get done(): boolean {
    return !this.bad && this.off === this.b.length;
  }

  /** Reads an array header and returns its length, or -1 (and `bad`) if the value is not an array. */
  arrayLen(): number {
    const c = this.b[this.off]; // undefined past the end: not an array
    if (c >= 0x90 && c <= 0x9f) {
      this.off++;
      return c & 0x0f;
    }
    if (c === 0xdc || c === 0xdd) {
      const n = c === 0xdc ? 2 : 4;
      const len = this.uintN(this.off + 1, n);
      this.off += 1 + n;
      if (this.off > this.b.length) this.bad = true;
      return this.bad ? -1 : len;
    }
    this.bad = true;
    return -1;
  }

  /**
   * Reads one value: a msgpack integer as a number when it is a safe integer, else as a
   * bigint; any other value is skipped and gives undefined (so does a bad one, setting `bad`).
   */
  int(): number | bigint | undefined {
    const b = this.b;
    const at = this.off;
    if (at >= b.length) {
      this.bad = true;
      return undefined;
    }
    const c = b[at];
    if (c <= 0x7f) {
      this.off = at + 1;
      return c;
    }
    if (c >= 0xe0) {
      this.off = at + 1;
      return c - 0x100;
    }
    let v: number | bigint;
    switch (c) {
      case 0xcc:
      case 0xcd:
      case 0xce: {
        const n = 1 << (c - 0xcc);
        v = this.uintN(at + 1, n);
        this.off = at + 1 + n;
        break;
      }
      case 0xd0:
      case 0xd1:
      case 0xd2: {
        const n = 1 << (c - 0xd0);
        const u = this.uintN(at + 1, n);
        const top = 2 ** (8 * n);
        v = u >= top / 2 ? u - top : u;
        this.off = at + 1 + n;
        break;
      }
      case 0xcf:
      case 0xd3: {
        const hi = this.uintN(at + 1, 4);
        const lo = this.uintN(at + 5, 4);
        this.off = at + 9;
        const shi = c === 0xd3 && hi >= 0x80000000 ? hi - 0x100000000 : hi;
        const near = shi * 0x100000000 + lo; // exact while the high word is below 2^21 either way
        if (shi >= -0x200000 && shi < 0x200000 && Number.isSafeInteger(near)) v = near;
        else {
          const u = (BigInt(hi) << 32n) | BigInt(lo);
          v = c === 0xd3 ? BigInt.asIntN(64, u) : u;
        }
        break;
      }
      default:
        this.skip();
        return undefined;
    }
    if (this.off > b.length) {
      this.bad = true;
      return undefined;
    }
    return v;
  }

  /** Skips one value, whatever it holds (iteratively: nesting costs no stack). */
  skip(): void {
    const b = this.b;
    let off = this.off;
    for (let left = 1; left > 0; left--) {
      if (off >= b.length) {
        this.bad = true;
        return;
      }
      const c = b[off++];
      if (c <= 0x7f || c >= 0xe0 || c === 0xc0 || c === 0xc2 || c === 0xc3) continue;
      if (c <= 0x8f) left += 2 * (c & 0x0f); // fixmap
      else if (c <= 0x9f) left += c & 0x0f; // fixarray
      else if (c <= 0xbf) off += c & 0x1f; // fixstr
      else {
        switch (c) {
          case 0xc4: // bin 8, 16, 32
          case 0xc5:
          case 0xc6:
          case 0xd9: // str 8, 16, 32
          case 0xda:
          case 0xdb: {
            const n = c <= 0xc6 ? 1 << (c - 0xc4) : 1 << (c - 0xd9);
            off += n + this.uintN(off, n);
            break;
          }
          case 0xc7: // ext 8, 16, 32: length, type, data
          case 0xc8:
          case 0xc9: {
            const n = 1 << (c - 0xc7);
            off += n + 1 + this.uintN(off, n);
            break;
          }
          case 0xca:
          case 0xce:
          case 0xd2:
            off += 4;
            break;
          case 0xcb:
          case 0xcf:
          case 0xd3:
            off += 8;
            break;
          case 0xcc:
          case 0xd0:
            off += 1;
            break;
          case 0xcd:
          case 0xd1:
            off += 2;
            break;
          case 0xd4: // fixext 1, 2, 4, 8, 16: type and data
          case 0xd5:
          case 0xd6:
          case 0xd7:
          case 0xd8:
            off += 1 + (1 << (c - 0xd4));
            break;
          case 0xdc: // array 16, 32
          case 0xdd: {
            const n = c === 0xdc ? 2 : 4;
            left += this.uintN(off, n);
            off += n;
            break;
          }
          case 0xde: // map 16, 32
          case 0xdf: {
            const n = c === 0xde ? 2 : 4;
            left += 2 * this.uintN(off, n);
            off += n;
            break;
          }
          default: // 0xc1, never used
            this.bad = true;
            return;
        }
      }
    }
    if (off > b.length) this.bad = true;
    this.off = off;
  }

  /** The big-endian unsigned integer of n (1, 2 or 4) bytes at `at` (bytes past the end read as 0). */
  private uintN(at: number, n: number): number {
    const b = this.b;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + (b[at + i] ?? 0);
    return v;
  }
}
