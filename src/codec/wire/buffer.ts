/**
 * The protobuf wire format at its lowest level: a writer that appends messages
 * to shared slabs and a cursor over the input. Everything above this file
 * writes and reads fields by hand with these primitives.
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

// Node's Buffer has native UTF-8 slice/write methods that skip the argument
// handling of buf.toString()/buf.write() and, unlike TextDecoder, keep a
// leading U+FEFF. They work on any Uint8Array. The fallbacks keep the codec
// usable where they are missing.
interface NativeUtf8 {
  utf8Write(this: Uint8Array, s: string, offset: number, length?: number): number;
  utf8Slice(this: Uint8Array, start: number, end: number): string;
}
const proto = Buffer.prototype as unknown as Partial<NativeUtf8>;
const textEncoder = new TextEncoder();
const utf8Write: NativeUtf8["utf8Write"] =
  typeof proto.utf8Write === "function"
    ? proto.utf8Write
    : function (this: Uint8Array, s: string, offset: number): number {
        return textEncoder.encodeInto(s, this.subarray(offset)).written;
      };
const lenientDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
const utf8Slice: NativeUtf8["utf8Slice"] =
  typeof proto.utf8Slice === "function"
    ? proto.utf8Slice
    : function (this: Uint8Array, start: number, end: number): string {
        return lenientDecoder.decode(this.subarray(start, end));
      };
// proto3 strings must be valid UTF-8; protobuf-es rejects invalid input, so do we.
// ignoreBOM: a leading U+FEFF is part of the string (protobuf-es drops it: a bug).
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// Doubles go through an 8-byte scratch: no DataView per buffer, no allocation.
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// Decoded short ASCII strings, by a hash of their bytes (see Reader.string).
const CACHED_MAX = 24;
const CACHE_MASK = 2047;
const cache: (string | undefined)[] = new Array<string | undefined>(CACHE_MASK + 1).fill(undefined);

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

/**
 * A cursor over one input. Bounds: a read past the end of a nested message is
 * caught when that message's loop ends (`pos` must land exactly on its end,
 * see expectEnd); a read past the input, by the check in each primitive.
 */
export class Reader {
  buf: Uint8Array;
  pos: number;

  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  /** A varint's low 32 bits, unsigned (tags, lengths, uint32, and via `| 0` int32 and enums). */
  uint32(): number {
    const b = this.buf;
    let p = this.pos;
    let c = b[p++]!;
    let v = c & 0x7f;
    if (c & 0x80) {
      c = b[p++]!;
      v |= (c & 0x7f) << 7;
      if (c & 0x80) {
        c = b[p++]!;
        v |= (c & 0x7f) << 14;
        if (c & 0x80) {
          c = b[p++]!;
          v |= (c & 0x7f) << 21;
          if (c & 0x80) {
            c = b[p++]!;
            v |= c << 28;
            // Bits above 32 are dropped, as int32 truncation of a 64-bit varint asks.
            for (let i = 5; c & 0x80; i++) {
              if (i === 10) throw new WireFormatError("invalid varint");
              c = b[p++]!;
            }
          }
        }
      }
    }
    if (p > b.length) throw new WireFormatError("premature end of input");
    this.pos = p;
    return v >>> 0;
  }

  /** A length prefix, checked against the input. */
  len(): number {
    const n = this.uint32();
    if (this.pos + n > this.buf.length) throw new WireFormatError("premature end of input");
    return n;
  }

  /** A varint as a boolean: any non-zero bit of the 64 counts. */
  bool(): boolean {
    const b = this.buf;
    let p = this.pos;
    let any = 0;
    for (let i = 0; ; i++) {
      if (i === 10) throw new WireFormatError("invalid varint");
      const c = b[p++]!;
      any |= c & 0x7f;
      if (!(c & 0x80)) break;
    }
    if (p > b.length) throw new WireFormatError("premature end of input");
    this.pos = p;
    return any !== 0;
  }

  /**
   * int64 as a double: exact up to 2^53, correctly rounded beyond (the same
   * value as Number(BigInt) on protobuf-es's bigint).
   */
  int64(): number {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    let c = 0;
    let shift = 0;
    for (; shift < 28; shift += 7) {
      c = b[p++]!;
      lo |= (c & 0x7f) << shift;
      if (!(c & 0x80)) break;
    }
    if (shift === 28) {
      c = b[p++]!;
      lo |= (c & 0x0f) << 28;
      hi = (c & 0x70) >> 4;
      if (c & 0x80) {
        for (shift = 3; ; shift += 7) {
          if (shift > 31) throw new WireFormatError("invalid varint");
          c = b[p++]!;
          hi |= (c & 0x7f) << shift;
          if (!(c & 0x80)) break;
        }
      }
    }
    if (p > b.length) throw new WireFormatError("premature end of input");
    this.pos = p;
    // hi as signed: the sum is the two's complement value, one rounding at most.
    return (hi | 0) * TWO_32 + (lo >>> 0);
  }

  double(): number {
    const b = this.buf;
    const p = this.pos;
    if (p + 8 > b.length) throw new WireFormatError("premature end of input");
    if (LITTLE_ENDIAN) {
      f64b[0] = b[p]!;
      f64b[1] = b[p + 1]!;
      f64b[2] = b[p + 2]!;
      f64b[3] = b[p + 3]!;
      f64b[4] = b[p + 4]!;
      f64b[5] = b[p + 5]!;
      f64b[6] = b[p + 6]!;
      f64b[7] = b[p + 7]!;
    } else {
      for (let i = 0; i < 8; i++) f64b[7 - i] = b[p + i]!;
    }
    this.pos = p + 8;
    return f64[0]!;
  }

  /** A length-prefixed string. */
  string(): string {
    const n = this.len();
    const b = this.buf;
    const s = this.pos;
    const e = s + n;
    this.pos = e;
    if (n !== 0 && n <= CACHED_MAX) {
      // Short ASCII strings (keys, names, codes) repeat from job to job: look them up
      // instead of building them. A string that came from the cache has been used as a
      // property key before, so V8 need not internalize it again, and that is where most
      // of the time of building objects with dynamic keys goes. The slot comes from a
      // few bytes only; the comparison checks them all.
      const h = Math.imul(n * 0x9e3779b1 + b[s]! * 31 + b[e - 1]!, 0x85ebca6b) ^ Math.imul(b[e - 2]! + (b[s + (n >> 1)]! << 8), 0xc2b2ae35);
      const slot = (h ^ (h >>> 15)) & CACHE_MASK;
      const hit = cache[slot];
      if (hit !== undefined && hit.length === n) {
        let k = 0;
        while (k < n && hit.charCodeAt(k) === b[s + k]) k++;
        if (k === n) return hit;
      }
      let i = s;
      while (i < e && b[i]! < 0x80) i++;
      if (i === e) {
        let out = "";
        if (n <= 12) for (i = s; i < e; i++) out += String.fromCharCode(b[i]!);
        else out = utf8Slice.call(b, s, e);
        cache[slot] = out;
        return out;
      }
    }
    const str = utf8Slice.call(b, s, e);
    // Invalid UTF-8 turns into U+FFFD: only then is the strict check worth its cost.
    if (str.indexOf("\ufffd") !== -1) {
      try {
        strictDecoder.decode(b.subarray(s, e));
      } catch {
        throw new WireFormatError("invalid UTF-8 in a string field");
      }
    }
    return str;
  }

  /** Skips the value of a field whose tag was just read. */
  skip(tag: number): void {
    switch (tag & 7) {
      case 0:
        this.bool();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2: {
        const n = this.len();
        this.pos += n;
        return;
      }
      case 5:
        this.pos += 4;
        break;
      case 3: {
        // A group (proto2 syntax some encoders still emit): skip to its matching end tag.
        // Groups nest as deep as the input says: kept on a list of open fields, not the stack.
        const open = [tag >>> 3];
        while (open.length > 0) {
          if (this.pos >= this.buf.length) throw new WireFormatError("unterminated group");
          const t = this.tag();
          const wt = t & 7;
          if (wt === 4) {
            if (t >>> 3 !== open.pop()) throw new WireFormatError("mismatched end group tag");
          } else if (wt === 3) open.push(t >>> 3);
          else this.skip(t);
        }
        return;
      }
      default:
        throw new WireFormatError(`unexpected wire type ${tag & 7} of field ${tag >>> 3}`);
    }
    if (this.pos > this.buf.length) throw new WireFormatError("premature end of input");
  }

  /** A tag: field number and wire type, validated. */
  tag(): number {
    const p = this.pos;
    const c = this.buf[p];
    // One-byte tags (fields 1-15) are nearly all of them.
    if (c !== undefined && c < 0x80 && c >= 8 && (c & 7) < 6) {
      this.pos = p + 1;
      return c;
    }
    const t = this.uint32();
    const n = this.pos - p;
    if (n > 5 || (n === 5 && this.buf[this.pos - 1]! > 0x0f) || t >>> 3 === 0 || (t & 7) > 5) throw new WireFormatError(`illegal tag ${t}`);
    return t;
  }
}

/** A nested message must end exactly where its length said. */
export function expectEnd(r: Reader, end: number): void {
  if (r.pos !== end) throw new WireFormatError("a field runs past the end of its message");
}
