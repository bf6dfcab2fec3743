/**
 * The protobuf wire format at its lowest level, reading side: a cursor over
 * one input (the writing side is buffer.ts). Decoders read fields by hand with
 * these primitives.
 */
import { Buffer } from "node:buffer";
import { WireFormatError } from "./buffer.js";

// Node's Buffer has a native UTF-8 slice that skips the argument handling of
// buf.toString() and, unlike TextDecoder, keeps a leading U+FEFF. It works on
// any Uint8Array. The fallback keeps the codec usable where it is missing.
interface NativeUtf8 {
  utf8Slice(this: Uint8Array, start: number, end: number): string;
}
const proto = Buffer.prototype as unknown as Partial<NativeUtf8>;
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
