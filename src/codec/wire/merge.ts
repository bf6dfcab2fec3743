/**
 * The slow path for one legal but rare encoding: a singular message field that
 * occurs more than once. Protobuf merges such occurrences (parsing the
 * concatenation of two encodings means merging the two messages), which a
 * single-pass decoder straight into domain objects cannot do once it has built
 * the first one. So the decoders throw NEEDS_MERGE when they meet a repeat, and
 * the top level rewrites the input with this function, so that every singular
 * message field occurs once with the concatenated (hence merged) contents of
 * its occurrences, recursively, and decodes that instead.
 *
 * Struct, ListValue and Value are left alone: their decoders merge natively.
 */
import { WireFormatError, varintSize } from "./buffer.js";
import { Reader } from "./reader.js";

export interface FieldShape {
  /** The message type of the field's elements. */
  readonly shape: Shape;
  readonly repeated: boolean;
  /** Members of one oneof share a non-zero number: a member clears the others. */
  readonly oneof: number;
}

/** The message-typed fields of a message type, by field number; other fields are copied as they are. */
export type Shape = ReadonlyMap<number, FieldShape>;

export function shape(fields: Record<number, FieldShape>): Shape {
  return new Map(Object.entries(fields).map(([k, v]) => [Number(k), v]));
}
export const LEAF: Shape = new Map();
export function one(s: () => Shape, oneof = 0): FieldShape {
  return lazy(s, false, oneof);
}
export function many(s: () => Shape): FieldShape {
  return lazy(s, true, 0);
}
// Shapes refer to each other before they are all defined: resolve on first use.
function lazy(s: () => Shape, repeated: boolean, oneof: number): FieldShape {
  let resolved: Shape | undefined;
  return {
    get shape() {
      return (resolved ??= s());
    },
    repeated,
    oneof,
  };
}

/** `bytes` (a whole message of type `s`) with every singular message field occurring once. */
export function normalize(bytes: Uint8Array, s: Shape): Uint8Array {
  return normalizeRange(bytes, 0, bytes.length, s);
}

function normalizeRange(buf: Uint8Array, start: number, end: number, s: Shape): Uint8Array {
  if (s.size === 0) return buf.subarray(start, end);
  const out: Uint8Array[] = [];
  const pending = new Map<number, Uint8Array[]>();
  const oneofMember = new Map<number, number>();
  const r = new Reader(buf, start);
  while (r.pos < end) {
    const from = r.pos;
    const t = r.tag();
    const field = t >>> 3;
    const f = s.get(field);
    if (f === undefined || (t & 7) !== 2) {
      r.skip(t);
      out.push(buf.subarray(from, r.pos));
      continue;
    }
    const n = r.len();
    const body = buf.subarray(r.pos, r.pos + n);
    r.pos += n;
    if (f.repeated) {
      out.push(lengthDelimited(field, normalizeRange(body, 0, body.length, f.shape)));
      continue;
    }
    if (f.oneof !== 0) {
      const current = oneofMember.get(f.oneof);
      if (current !== field) {
        if (current !== undefined) pending.delete(current);
        oneofMember.set(f.oneof, field);
      }
    }
    const parts = pending.get(field);
    if (parts) parts.push(body);
    else pending.set(field, [body]);
  }
  if (r.pos !== end) throw new WireFormatError("a field runs past the end of its message");
  for (const field of [...pending.keys()].sort((a, b) => a - b)) {
    const merged = concat(pending.get(field)!);
    out.push(lengthDelimited(field, normalizeRange(merged, 0, merged.length, s.get(field)!.shape)));
  }
  return concat(out);
}

function lengthDelimited(field: number, body: Uint8Array): Uint8Array {
  const tag = ((field << 3) | 2) >>> 0;
  const out = new Uint8Array(varintSize(tag) + varintSize(body.length) + body.length);
  let p = putVarint(out, 0, tag);
  p = putVarint(out, p, body.length);
  out.set(body, p);
  return out;
}

function putVarint(b: Uint8Array, p: number, v: number): number {
  while (v > 0x7f) {
    b[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[p++] = v;
  return p;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
