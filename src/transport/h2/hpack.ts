/**
 * HPACK (RFC 7541). The decoder is complete: static and dynamic tables,
 * dynamic table size updates, Huffman-coded strings. The encoder indexes
 * what repeats from call to call (the method, path, content type, the
 * transport's own headers) in its dynamic table, so a call's headers after
 * the first are mostly one byte each; it writes strings as they are (no
 * Huffman) unless asked, which costs bytes on the wire but no CPU.
 */
import { HuffmanError, huffmanDecode, huffmanEncode, huffmanLength } from "./huffman.js";
import { STATIC_NAME_INDEX, STATIC_PAIR_INDEX, STATIC_TABLE } from "./hpack-static.js";

export class HpackError extends Error {}

/** Per-entry overhead of the dynamic table (RFC 7541 section 4.1). */
const ENTRY_OVERHEAD = 32;

export class HpackDecoder {
  /** Dynamic table, oldest first: index 62 is the last entry. */
  private names: string[] = [];
  private values: string[] = [];
  private head = 0;
  private size = 0;
  private maxSize: number;

  /**
   * @param limit the SETTINGS_HEADER_TABLE_SIZE this side announced: the most a size update may ask for.
   * @param maxListSize the most a header list may hold (names, values and 32 per field), against memory exhaustion.
   */
  constructor(
    private readonly limit = 4096,
    private readonly maxListSize = 1 << 20,
  ) {
    this.maxSize = limit;
  }

  /** Decodes one header block, appending name, value, name, value... to `out`. */
  decode(block: Buffer, out: string[]): void {
    let p = 0;
    let listSize = 0;
    let first = true;
    const end = block.length;
    while (p < end) {
      const b = block[p]!;
      let name: string;
      let value: string;
      if (b & 0x80) {
        const [index, q] = readInt(block, p, 7);
        p = q;
        [name, value] = this.entry(index);
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update: only before the first field of a block.
        if (!first) throw new HpackError("HPACK: table size update after a header field");
        const [size, q] = readInt(block, p, 5);
        p = q;
        if (size > this.limit) throw new HpackError(`HPACK: table size update to ${size}, over the limit of ${this.limit}`);
        this.maxSize = size;
        this.evict(0);
        continue;
      } else {
        const indexing = (b & 0xc0) === 0x40;
        const [index, q] = readInt(block, p, indexing ? 6 : 4);
        p = q;
        if (index === 0) [name, p] = readString(block, p);
        else name = this.entry(index)[0];
        [value, p] = readString(block, p);
        if (indexing) this.insert(name, value);
      }
      first = false;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > this.maxListSize) throw new HpackError(`HPACK: header list over ${this.maxListSize} bytes`);
      out.push(name, value);
    }
  }

  private entry(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError("HPACK: index 0");
    if (index < STATIC_TABLE.length) return STATIC_TABLE[index]!;
    const i = this.names.length - 1 - (index - STATIC_TABLE.length);
    if (i < this.head) throw new HpackError(`HPACK: index ${index} past the dynamic table`);
    return [this.names[i]!, this.values[i]!];
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    this.evict(size);
    // An entry larger than the table empties it and is not added (RFC 7541 section 4.4).
    if (size > this.maxSize) return;
    this.names.push(name);
    this.values.push(value);
    this.size += size;
  }

  /** Evicts the oldest entries until `room` more bytes fit. */
  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.head < this.names.length) {
      this.size -= this.names[this.head]!.length + this.values[this.head]!.length + ENTRY_OVERHEAD;
      this.head++;
    }
    // Compact now and then rather than shift() on every eviction.
    if (this.head > 64 && this.head * 2 > this.names.length) {
      this.names.splice(0, this.head);
      this.values.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** An HPACK integer with an N-bit prefix at `buf[p]`: [value, offset after it]. */
function readInt(buf: Uint8Array, p: number, n: number): [number, number] {
  const max = (1 << n) - 1;
  let v = buf[p++]! & max;
  if (v < max) return [v, p];
  let shift = 0;
  for (;;) {
    if (p >= buf.length) throw new HpackError("HPACK: truncated integer");
    const b = buf[p++]!;
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (v > 0x7fffffff) throw new HpackError("HPACK: integer too large");
    if ((b & 0x80) === 0) return [v, p];
  }
}

function readString(buf: Buffer, p: number): [string, number] {
  if (p >= buf.length) throw new HpackError("HPACK: truncated string");
  const huffman = (buf[p]! & 0x80) !== 0;
  const [len, q] = readInt(buf, p, 7);
  const end = q + len;
  if (end > buf.length) throw new HpackError("HPACK: truncated string");
  if (!huffman) return [buf.toString("latin1", q, end), end];
  try {
    return [huffmanDecode(buf, q, end), end];
  } catch (e) {
    if (e instanceof HuffmanError) throw new HpackError(e.message);
    throw e;
  }
}

/** Names whose values are never put in a table, here or by a proxy (RFC 7541 section 7.1.3). */
const NEVER_INDEXED = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);

/** Headers HTTP/2 forbids (RFC 9113 section 8.2.2): left out rather than sent. */
const CONNECTION_HEADERS = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"]);

export class HpackEncoder {
  /** Dynamic table as this side fills it: insertion number of each entry, by name and value. */
  private readonly index = new Map<string, Map<string, number>>();
  /** Entries in insertion order for eviction: [key name, wire name, value, size]. */
  private readonly order: Array<{ key: string; name: string; value: string; size: number; n: number }> = [];
  private orderHead = 0;
  private inserted = 0;
  private size = 0;
  private maxSize = 4096;
  /** A size update owed at the start of the next block. */
  private sizeUpdate = -1;
  private buf = Buffer.allocUnsafe(1024);
  private p = 0;

  /** @param huffman Huffman-code strings when it makes them shorter (for tests; costs CPU). */
  constructor(private readonly huffman = false) {}

  /** The peer's SETTINGS_HEADER_TABLE_SIZE: this side uses at most that much (and at most 4 KiB). */
  setMaxSize(peerLimit: number): void {
    const size = Math.min(peerLimit, 4096);
    if (size === this.maxSize) return;
    this.maxSize = size;
    this.evict(0);
    this.sizeUpdate = size;
  }

  begin(): void {
    this.p = 0;
    if (this.sizeUpdate >= 0) {
      this.int(0x20, 5, this.sizeUpdate);
      this.sizeUpdate = -1;
    }
  }

  /** One field; `key` as the caller spells it (lower-cased for the wire once, when first indexed). */
  add(key: string, value: string): void {
    const pair = this.index.get(key)?.get(value);
    if (pair !== undefined) return this.int(0x80, 7, STATIC_TABLE.length + this.inserted - 1 - pair);
    const st = STATIC_PAIR_INDEX.get(key)?.get(value);
    if (st !== undefined) return this.int(0x80, 7, st);
    const name = key.toLowerCase();
    if (CONNECTION_HEADERS.has(name)) return;
    const nameIndex = STATIC_NAME_INDEX.get(name) ?? 0;
    const size = name.length + value.length + 32;
    if (NEVER_INDEXED.has(name) || size > this.maxSize / 2) {
      this.int(NEVER_INDEXED.has(name) ? 0x10 : 0x00, 4, nameIndex);
    } else {
      this.int(0x40, 6, nameIndex);
      this.insert(key, name, value, size);
    }
    if (nameIndex === 0) this.str(name);
    this.str(value);
  }

  /** The block, valid until the next begin(). */
  end(): Buffer {
    return this.buf.subarray(0, this.p);
  }

  private insert(key: string, name: string, value: string, size: number): void {
    this.evict(size);
    const n = this.inserted++;
    this.order.push({ key, name, value, size, n });
    this.size += size;
    let byValue = this.index.get(key);
    if (!byValue) this.index.set(key, (byValue = new Map()));
    byValue.set(value, n);
  }

  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.orderHead < this.order.length) {
      const e = this.order[this.orderHead++]!;
      this.size -= e.size;
      const byValue = this.index.get(e.key);
      if (byValue?.get(e.value) === e.n) {
        byValue.delete(e.value);
        if (byValue.size === 0) this.index.delete(e.key);
      }
    }
    if (this.orderHead > 64 && this.orderHead * 2 > this.order.length) {
      this.order.splice(0, this.orderHead);
      this.orderHead = 0;
    }
  }

  private room(n: number): void {
    if (this.p + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.p + n));
    this.buf.copy(next, 0, 0, this.p);
    this.buf = next;
  }

  private int(bits: number, n: number, v: number): void {
    this.room(8);
    const max = (1 << n) - 1;
    if (v < max) {
      this.buf[this.p++] = bits | v;
      return;
    }
    this.buf[this.p++] = bits | max;
    v -= max;
    while (v >= 128) {
      this.buf[this.p++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.p++] = v;
  }

  private str(s: string): void {
    if (this.huffman) {
      const h = huffmanLength(s);
      if (h < s.length) {
        this.int(0x80, 7, h);
        this.room(h);
        this.p = huffmanEncode(s, this.buf, this.p);
        return;
      }
    }
    this.int(0, 7, s.length);
    this.room(s.length);
    this.p += this.buf.write(s, this.p, "latin1");
  }
}
