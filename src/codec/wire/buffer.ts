/**
 * The protobuf wire format at its lowest level: a writer that appends messages
 * to shared slabs (here) and a cursor over the input (reader.ts). Everything
 * above these files writes and reads fields by hand with these primitives.
 *
 * Why not protobuf-es's BinaryWriter/BinaryReader: its writer collects bytes in
 * a JS array and in one chunk per nested message (fork/join), and its reader
 * returns [field, wireType] tuples; both allocate per field.
 */
import { Buffer } from "node:buffer";

/** Thrown for input that is not a valid encoding of the expected message. */
export class WireFormatError extends Error {
  override readonly name = "WireFormatError";
}

/**
 * Thrown by a decoder that met a singular message field a second time. The
 * top-level decode catches it, rewrites the input so that every such field
 * occurs once (see merge.ts) and decodes again; decoders stay single-pass.
 */
export const NEEDS_MERGE: unique symbol = Symbol("ojs.wire.needs-merge");

// Node's Buffer has native UTF-8 write (and slice: reader.ts) methods that skip the argument
// handling of buf.toString()/buf.write() and, unlike TextDecoder, keep a
// leading U+FEFF. They work on any Uint8Array. The fallbacks keep the codec
// usable where they are missing.
interface NativeUtf8 {
  utf8Write(this: Uint8Array, s: string, offset: number, length?: number): number;
}
const proto = Buffer.prototype as unknown as Partial<NativeUtf8>;
const textEncoder = new TextEncoder();
const utf8Write: NativeUtf8["utf8Write"] =
  typeof proto.utf8Write === "function"
    ? proto.utf8Write
    : function (this: Uint8Array, s: string, offset: number): number {
        return textEncoder.encodeInto(s, this.subarray(offset)).written;
      };

// Doubles go through an 8-byte scratch: no DataView per buffer, no allocation.
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const TWO_32 = 4294967296;
const TWO_63 = 9223372036854775808;
/**
 * Messages are written into slabs of this size and handed out as views: no
 * allocation of an ArrayBuffer per message (a fresh one costs more than
 * encoding a typical Job) and no copy. A slab lives as long as any message
 * written into it is referenced, as with Node's own Buffer pool.
 */
const SLAB_SIZE = 32 * 1024;
/** A slab that had to grow past this for one big message is not used for the next. */
const OVERSIZED = 4 * SLAB_SIZE;

/** Bytes of `v` (an unsigned 32-bit integer) as a varint. */
export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/**
 * Appends one message at a time to a slab and hands it out as a view of the
 * slab (finish). Nested messages are written in place behind a one-byte length;
 * the rare one of 128 bytes or more is moved right by the extra length bytes
 * when it is closed, so no size pass and no chunk list is needed. Positions
 * that open() returns are relative to the message's start, since a message that
 * outgrows its slab moves to a new one.
 */
export class Writer {
  buf: Buffer;
  /** Where the message being written starts in `buf`. */
  start = 0;
  pos = 0;

  constructor() {
    this.buf = Buffer.allocUnsafeSlow(SLAB_SIZE);
  }

  /** Starts a new message (dropping what a failed encode left behind). */
  reset(): this {
    this.pos = this.start;
    return this;
  }

  /**
   * The message written since reset(), as a view of the slab. The caller owns
   * those bytes (nothing writes there again) but not the rest of `.buffer`.
   */
  finish(): Uint8Array {
    const b = this.buf;
    const out = new Uint8Array(b.buffer, b.byteOffset + this.start, this.pos - this.start);
    if (b.length > OVERSIZED) {
      this.buf = Buffer.allocUnsafeSlow(SLAB_SIZE);
      this.pos = 0;
    }
    this.start = this.pos;
    return out;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  /** Moves the message so far to a new slab with room for `n` more bytes. */
  private grow(n: number): void {
    const used = this.pos - this.start;
    let size = SLAB_SIZE;
    while (size < used + n) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = used;
  }

  /** One byte, typically a tag of a field numbered below 16. */
  byte(b: number): void {
    if (this.pos >= this.buf.length) this.grow(1);
    this.buf[this.pos++] = b;
  }

  /** Two bytes, typically a tag of a field numbered 16 to 2047. */
  byte2(b0: number, b1: number): void {
    if (this.pos + 2 > this.buf.length) this.grow(2);
    this.buf[this.pos++] = b0;
    this.buf[this.pos++] = b1;
  }

  /** An unsigned 32-bit varint. */
  uint32(v: number): void {
    if (this.pos + 5 > this.buf.length) this.grow(5);
    const b = this.buf;
    let p = this.pos;
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** int32 / enum: negative values take ten bytes (sign-extended to 64 bits), as the spec says. */
  int32(v: number): void {
    if (v >= 0) this.uint32(v);
    else this.varint64(v >>> 0, 0xffffffff);
  }

  /** A 64-bit varint from two unsigned 32-bit halves. */
  varint64(lo: number, hi: number): void {
    if (this.pos + 10 > this.buf.length) this.grow(10);
    const b = this.buf;
    let p = this.pos;
    while (hi !== 0 || lo > 0x7f) {
      b[p++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    b[p++] = lo;
    this.pos = p;
  }

  /**
   * int64 from an integral double. Callers check the range (protobuf-es
   * throws "invalid int64" outside it, and so do they).
   */
  int64(v: number): void {
    if (v >= 0 && v < TWO_32) {
      this.uint32(v);
      return;
    }
    const m = v < 0 ? -v : v;
    let hi = Math.floor(m / TWO_32);
    let lo = m - hi * TWO_32;
    if (v < 0) {
      // Two's complement of the magnitude.
      lo = (~lo + 1) >>> 0;
      hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
    }
    this.varint64(lo >>> 0, hi >>> 0);
  }

  /** A double, little-endian (wire type I64). */
  double(v: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    f64[0] = v;
    const b = this.buf;
    const p = this.pos;
    if (LITTLE_ENDIAN) {
      b[p] = f64b[0]!;
      b[p + 1] = f64b[1]!;
      b[p + 2] = f64b[2]!;
      b[p + 3] = f64b[3]!;
      b[p + 4] = f64b[4]!;
      b[p + 5] = f64b[5]!;
      b[p + 6] = f64b[6]!;
      b[p + 7] = f64b[7]!;
    } else {
      for (let i = 0; i < 8; i++) b[p + i] = f64b[7 - i]!;
    }
    this.pos = p + 8;
  }

  /**
   * A length-prefixed UTF-8 string (lone surrogates become U+FFFD, as with
   * TextEncoder). Short ASCII strings are copied by hand: cheaper than any
   * native call for the ids, names and keys that make up most fields.
   */
  string(s: string): void {
    const n = s.length;
    // UTF-16 code units need at most 3 bytes each; plus 5 for the length.
    if (this.pos + n * 3 + 5 > this.buf.length) this.grow(n * 3 + 5);
    const b = this.buf;
    const p = this.pos;
    if (n < 64) {
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p + 1 + i] = c;
      }
      if (i === n) {
        b[p] = n;
        this.pos = p + 1 + n;
        return;
      }
    }
    // Guess the length prefix from the ASCII size; move the bytes if it was wrong.
    const guess = varintSize(n);
    const written = utf8Write.call(b, s, p + guess);
    const need = varintSize(written);
    if (need !== guess) b.copyWithin(p + need, p + guess, p + guess + written);
    putVarint(b, p, written);
    this.pos = p + need + written;
  }

  /**
   * Opens a nested message (after its tag): returns where its length goes,
   * relative to the message's start. Pair with close().
   */
  open(): number {
    if (this.pos >= this.buf.length) this.grow(1);
    return this.pos++ - this.start;
  }

  /** Closes the nested message opened at `rel`, writing its length. */
  close(rel: number): void {
    let at = this.start + rel;
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    const extra = varintSize(len) - 1;
    if (this.pos + extra > this.buf.length) {
      this.grow(extra);
      at = this.start + rel;
    }
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    putVarint(this.buf, at, len);
    this.pos += extra;
  }
}

/** A varint at `p`, in room the caller made. */
function putVarint(b: Uint8Array, p: number, v: number): void {
  while (v > 0x7f) {
    b[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[p] = v;
}

/** An int64 field carries -2^63 <= v < 2^63; protobuf-es throws outside, so do we. */
export function checkInt64(v: number, what: string): void {
  if (!(v >= -TWO_63 && v < TWO_63)) throw new Error(`cannot encode ${what}: invalid int64: ${v}`);
}

export function checkInt32(v: number, what: string): void {
  if ((v | 0) !== v) throw new Error(`cannot encode ${what}: invalid int32: ${v}`);
}
