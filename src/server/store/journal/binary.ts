/**
 * Byte-level helpers of the journal's binary records (job-record.ts): a
 * growable scratch buffer that framed records are written into, and a cursor
 * that reads one record back. Strings are
 * a u32 byte length and UTF-8; numbers are float64 (every JS number, exactly).
 */
import { crc32Range } from "./crc32.js";

// Node's Buffer has a native UTF-8 slice (what buf.toString("utf8", ...) ends in) without
// toString's argument handling: a start-up decodes two strings of each of a million records.
interface NativeUtf8 {
  utf8Slice(this: Buffer, start: number, end: number): string;
}
const nativeSlice = (Buffer.prototype as unknown as Partial<NativeUtf8>).utf8Slice;
const utf8Slice: NativeUtf8["utf8Slice"] =
  typeof nativeSlice === "function"
    ? nativeSlice
    : function (this: Buffer, start: number, end: number): string {
        return this.toString("utf8", start, end);
      };

/** Frame header: u32 LE payload length, u32 LE CRC-32 of the payload (records.ts). */
const FRAME_HEADER = 8;

/** Bytes a scratch buffer keeps between uses; one grown past it (a very large job) is let go after use. */
const SCRATCH_KEEP = 4 * 1024 * 1024;

/**
 * Framed records written one after another into one growing buffer, taken
 * out as one Buffer: a batch of a thousand jobs is one allocation and one
 * entry of the write, not a thousand.
 */
export class ScratchWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;
  /** Where the record being written starts (its frame header). */
  private start = 0;

  /** Bytes of whole records written and not yet taken. */
  get size(): number {
    return this.start;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Starts a record: room for its frame header (a record begun and never ended is dropped). */
  begin(): void {
    this.pos = this.start;
    this.room(FRAME_HEADER);
    this.start = this.pos;
    this.pos += FRAME_HEADER;
  }

  /** Ends the record begun last: its length and checksum go in its header. */
  end(): void {
    const at = this.start;
    this.buf.writeUInt32LE(this.pos - at - FRAME_HEADER, at);
    // Most records are short (a step: ~120 bytes): crc32Range sums those in JavaScript, with no view made for zlib.
    this.buf.writeUInt32LE(crc32Range(this.buf, at + FRAME_HEADER, this.pos), at + 4);
    this.start = this.pos;
  }

  /** Drops the record begun last (one that turned out not to fit its format). */
  rollback(): void {
    this.pos = this.start;
  }

  /** Drops everything not yet taken (what a write that failed half-way left). */
  reset(): void {
    this.pos = this.start = 0;
  }

  /** The whole records written since the last take, in a buffer of their own; undefined when there are none. */
  take(): Buffer | undefined {
    if (this.start === 0) return undefined;
    const out = Buffer.allocUnsafe(this.start);
    this.buf.copy(out, 0, 0, this.start);
    this.pos = this.start = 0;
    if (this.buf.length > SCRATCH_KEEP) this.buf = Buffer.allocUnsafe(64 * 1024);
    return out;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
  }

  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** A whole JSON record (its payload `json`, UTF-8), framed as frame() in records.ts frames it. */
  jsonRecord(json: string): void {
    this.begin();
    this.room(3 * json.length);
    this.pos += this.buf.write(json, this.pos, "utf8");
    this.end();
  }

  str(s: string): void {
    const n = s.length;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.room(4 + 3 * n);
    const at = this.pos + 4;
    const buf = this.buf;
    let i = 0;
    // Short ASCII (ids, types, queues) byte by byte: cheaper than a call into the encoder.
    if (n <= 64)
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at + i] = c;
      }
    const len = i === n ? n : buf.write(s, at, "utf8");
    buf.writeUInt32LE(len, this.pos);
    this.pos = at + len;
  }
}

/** Reads one record's fields in order; reading past the record's end throws (a record that cannot be read). */
export class Cursor {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;

  at(buf: Buffer, start: number, end: number): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  private take(n: number): number {
    const p = this.pos;
    if (p + n > this.end) throw new RangeError("a field runs past the end of its record");
    this.pos = p + n;
    return p;
  }

  u8(): number {
    return this.buf[this.take(1)]!;
  }

  u16(): number {
    return this.buf.readUInt16LE(this.take(2));
  }

  f64(): number {
    return this.buf.readDoubleLE(this.take(8));
  }

  /**
   * f64(), with an integral value in the int32 range given back as a small
   * integer: what the job's counters hold when made live (`attempt: 0`). A
   * double read from bytes is a heap number to V8, and one stored in a field
   * of a job turns that field of every job's shape into a boxed double: a
   * restart of a million jobs then allocates (and the collector copies) a few
   * million more objects. -0 stays -0 (exactness).
   */
  num(): number {
    const v = this.f64();
    const i = v | 0;
    return i === v && (i !== 0 || !Object.is(v, -0)) ? i : v;
  }

  /** The next string's bytes as [start, end) of `buf` (skipped over). */
  span(): number {
    const len = this.buf.readUInt32LE(this.take(4));
    return this.take(len);
  }

  str(): string {
    const start = this.span();
    return utf8Slice.call(this.buf, start, this.pos);
  }

  json(): unknown {
    return JSON.parse(this.str());
  }

  /** True when every byte of the record was read (a record with bytes left over is not what its kind says). */
  done(): boolean {
    return this.pos === this.end;
  }
}

/**
 * Strings that repeat from record to record (job types, queue names, the spec
 * version): the last few of one field, found again by their bytes, so a
 * million records of one queue share one string instead of making a million.
 */
export class Interner {
  private readonly bytes: Buffer[] = [];
  private readonly strings: string[] = [];
  private next = 0;

  constructor(private readonly size = 16) {}

  read(c: Cursor): string {
    const start = c.span();
    const end = c.pos;
    const len = end - start;
    const buf = c.buf;
    for (let i = 0; i < this.bytes.length; i++) {
      const b = this.bytes[i]!;
      if (b.length !== len) continue;
      let j = 0;
      while (j < len && b[j] === buf[start + j]) j++;
      if (j === len) return this.strings[i]!;
    }
    const s = utf8Slice.call(buf, start, end);
    // Long strings are not worth keeping (nor comparing against).
    if (len <= 256) {
      const slot = this.next;
      this.next = (slot + 1) % this.size;
      this.bytes[slot] = Buffer.from(buf.subarray(start, end));
      this.strings[slot] = s;
    }
    return s;
  }
}
