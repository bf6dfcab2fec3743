/**
 * The field shapes that recur across the wire codec's messages, each written
 * once: a nested message field, a singular message field read at most once
 * (a second one needs the merging pass), a repeated message field read into a list.
 */
import { NEEDS_MERGE, type Writer } from "./buffer.js";
import { expectEnd, type Reader } from "./reader.js";
import { fieldEnd, readDurationMs, readTimestampMs, writeTag } from "./json.js";

/** A message field: the tag, then `writeBody`'s fields behind their length. */
export function writeMessageField<A>(w: Writer, tag: number, writeBody: (w: Writer, a: A) => void, a: A): void {
  writeTag(w, tag);
  const at = w.open();
  writeBody(w, a);
  w.close(at);
}

/** A repeated message field: one message field per element. */
export function writeMessageFields<A>(w: Writer, tag: number, writeBody: (w: Writer, a: A) => void, list: readonly A[]): void {
  for (let i = 0; i < list.length; i++) writeMessageField(w, tag, writeBody, list[i]!);
}

/** A singular Timestamp field (its tag just read), in ms; `prev` set means it repeats and must be merged first. */
export function onceTimestamp(r: Reader, prev: number | undefined): number {
  if (prev !== undefined) throw NEEDS_MERGE;
  return readTimestampMs(r, fieldEnd(r));
}

/** A singular Duration field (its tag just read), in ms; as onceTimestamp. */
export function onceDuration(r: Reader, prev: number | undefined): number {
  if (prev !== undefined) throw NEEDS_MERGE;
  return readDurationMs(r, fieldEnd(r));
}

/** A singular message field (its tag just read) read by `read`; as onceTimestamp. */
export function onceMessage<T>(r: Reader, prev: T | undefined, read: (r: Reader, end: number) => T): T {
  if (prev !== undefined) throw NEEDS_MERGE;
  return read(r, fieldEnd(r));
}

/**
 * A singular message field (its tag just read) to be read after the others: skips it and
 * returns where it starts (its length), for `r.pos = at; read(r, fieldEnd(r))` later.
 * `prev` at or above 0 means it repeats and must be merged first.
 */
export function deferMessage(r: Reader, prev: number): number {
  if (prev >= 0) throw NEEDS_MERGE;
  const at = r.pos;
  r.pos = fieldEnd(r);
  return at;
}

/**
 * A message of one scalar field (StartedRequest, AckResponse): `read` reads it at `tag`, the last
 * one wins as in protobuf; `empty` when absent. Other fields are skipped.
 */
export function readLoneField<T>(r: Reader, end: number, tag: number, read: (r: Reader) => T, empty: T): T {
  let v = empty;
  while (r.pos < end) {
    const t = r.tag();
    if (t === tag) v = read(r);
    else r.skip(t);
  }
  expectEnd(r, end);
  return v;
}

/** A message whose only field of interest is the repeated message field `tag`. */
export function readRepeated<T>(r: Reader, end: number, tag: number, read: (r: Reader, end: number) => T): T[] {
  const out: T[] = [];
  while (r.pos < end) {
    const t = r.tag();
    if (t === tag) out.push(read(r, fieldEnd(r)));
    else r.skip(t);
  }
  expectEnd(r, end);
  return out;
}

/** An enum field; 0 (UNSPECIFIED) and the -1 of an unknown name are left out, as protobuf-es leaves out 0. */
export function writeEnumField(w: Writer, tag: number, n: number): void {
  if (n > 0) {
    writeTag(w, tag);
    w.uint32(n);
  }
}
