/**
 * What every encode and decode of the wire codec shares: one writer whose slabs
 * every encoder writes into (encoders are synchronous, so one at a time), and
 * the decode that reads in one pass and falls back to a second over merged
 * input when a singular message field repeats (NEEDS_MERGE).
 */
import { NEEDS_MERGE, WireFormatError, Writer } from "./buffer.js";
import { Reader } from "./reader.js";
import { normalize, type Shape } from "./merge.js";

/** The writer every encoder of the codec writes into. */
export const w = new Writer();

/**
 * Reads `bytes` with `read`; input where a singular message field repeats is merged along `s` first.
 * `now` is passed on to readers that turn a relative ttl into an instant.
 */
export function decode<T>(bytes: Uint8Array, s: Shape, read: (r: Reader, end: number, now: number) => T, now = 0): T {
  try {
    return read(new Reader(bytes), bytes.length, now);
  } catch (e) {
    if (e !== NEEDS_MERGE) throw e;
  }
  return again(normalize(bytes, s), read, now);
}

/** The second pass, over input where no singular message field repeats. */
export function again<T>(flat: Uint8Array, read: (r: Reader, end: number, now: number) => T, now = 0): T {
  try {
    return read(new Reader(flat), flat.length, now);
  } catch (e) {
    // Cannot happen while the shapes list every field a decoder merges; never let the sentinel out.
    if (e === NEEDS_MERGE) throw new WireFormatError("a repeated message field could not be merged");
    throw e;
  }
}

/** Encodes one message: `writeBody` writes its fields into the shared writer. */
export function encodeWith<A>(writeBody: (w: Writer, a: A) => void, a: A): Uint8Array {
  w.reset();
  writeBody(w, a);
  return w.finish();
}

/** The encode and decode of a message that needs no more than its value: `encodeWith` and `decode` bound to it. */
export function messageCodec<A, T>(
  writeBody: (w: Writer, a: A) => void,
  s: Shape,
  read: (r: Reader, end: number) => T,
): { encode: (a: A) => Uint8Array; decode: (bytes: Uint8Array) => T } {
  return { encode: (a) => encodeWith(writeBody, a), decode: (bytes) => decode(bytes, s, read) };
}
