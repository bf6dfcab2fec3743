/**
 * JSON values straight to and from google.protobuf.Value / Struct / ListValue
 * bytes, plus Timestamp and Duration: the building blocks of every hot message.
 *
 * Value (struct.proto):  1 null_value (enum)  2 number_value (double)
 *   3 string_value  4 bool_value  5 struct_value (Struct)  6 list_value (ListValue)
 * Struct: 1 fields (map<string, Value>: entries of 1 key, 2 value)
 * ListValue: 1 values (repeated Value)
 * Timestamp / Duration: 1 seconds (int64)  2 nanos (int32)
 *
 * The encoder writes what protobuf-es writes for the same JSON (keys in
 * Object.keys order, every map entry with its key even when empty, oneof
 * members even when zero), so the bytes are identical.
 */
import type { JsonObject, JsonValue } from "../../model/json.js";
import { CODEC_MAX_DEPTH } from "../../model/limits.js";
import { WireFormatError, Writer, checkInt32, checkInt64 } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";

/**
 * Values nest as deep as their input says, and these functions recurse once
 * per level: past CODEC_MAX_DEPTH they throw instead, long before the stack
 * could overflow (an overflow in a stream's callback would end the process).
 * `depth` counts the Values (lists and structs) around the one at hand.
 */
function tooDeep(): WireFormatError {
  return new WireFormatError(`a value nests deeper than ${CODEC_MAX_DEPTH} levels`);
}

// --- encode ---------------------------------------------------------------------

/**
 * The body of a Value. Anything that is not JSON (undefined, a function, a
 * bigint) becomes a Value with no kind, which reads back as null: what
 * protobuf-es does for such members of a Struct, and what JSON.stringify does
 * inside an array.
 */
export function writeValueBody(w: Writer, v: unknown, depth = 0): void {
  switch (typeof v) {
    case "string":
      w.byte(0x1a /* VALUE.stringValue */);
      w.string(v);
      return;
    case "number":
      w.byte(0x11 /* VALUE.numberValue */);
      w.double(v);
      return;
    case "boolean":
      w.byte(0x20 /* VALUE.boolValue */);
      w.byte(v ? 1 : 0);
      return;
    case "object": {
      if (v === null) {
        w.byte(0x08 /* VALUE.nullValue */); // NULL_VALUE (0)
        w.byte(0);
        return;
      }
      if (depth >= CODEC_MAX_DEPTH) throw tooDeep();
      if (Array.isArray(v)) {
        w.byte(0x32 /* VALUE.listValue */);
        const at = w.open();
        writeListBody(w, v, depth + 1);
        w.close(at);
        return;
      }
      w.byte(0x2a /* VALUE.structValue */);
      const at = w.open();
      writeStructBody(w, v as JsonObject, depth + 1);
      w.close(at);
      return;
    }
    default:
      return;
  }
}

/** A Value as a length-delimited field with a one-byte tag. */
export function writeValueField(w: Writer, tag: number, v: unknown, depth = 0): void {
  w.byte(tag);
  const at = w.open();
  writeValueBody(w, v, depth);
  w.close(at);
}

export function writeListBody(w: Writer, list: readonly unknown[], depth = 0): void {
  for (let i = 0; i < list.length; i++) writeValueField(w, 0x0a /* LIST_VALUE.values */, list[i], depth);
}

/** One map entry of a Struct: key, then value, both always present (as protobuf-es writes them). */
export function writeStructEntry(w: Writer, key: string, v: unknown, depth = 0): void {
  w.byte(0x0a /* STRUCT.fields */);
  const at = w.open();
  w.byte(0x0a /* MAP_ENTRY.key */);
  w.string(key);
  w.byte(0x12 /* MAP_ENTRY.value */);
  const vat = w.open();
  writeValueBody(w, v, depth);
  w.close(vat);
  w.close(at);
}

export function writeStructBody(w: Writer, o: JsonObject, depth = 0): void {
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    writeStructEntry(w, k, o[k], depth);
  }
}

/** A Struct field; `tag` may take two bytes. */
export function writeStructField(w: Writer, tag: number, o: JsonObject): void {
  writeTag(w, tag);
  const at = w.open();
  writeStructBody(w, o);
  w.close(at);
}

/** Tags of fields 1-15 take one byte, 16-2047 two. */
export function writeTag(w: Writer, tag: number): void {
  if (tag < 0x80) w.byte(tag);
  else w.byte2((tag & 0x7f) | 0x80, tag >>> 7);
}

/** A non-empty string field (proto3 leaves "" out). */
export function writeStringField(w: Writer, tag: number, s: string): void {
  if (s === "") return;
  writeTag(w, tag);
  w.string(s);
}

/** A non-zero int32 or enum field. */
export function writeInt32Field(w: Writer, tag: number, v: number, what: string): void {
  checkInt32(v, what);
  if (v === 0) return;
  writeTag(w, tag);
  w.int32(v);
}

/** Timestamp: the milliseconds of a Date, as timestampFromDate splits them. */
export function writeTimestampField(w: Writer, tag: number, d: Date): void {
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  // protobuf-es's BigInt(NaN) throws a RangeError for an invalid Date: so do we.
  if (!Number.isFinite(seconds)) throw new RangeError(`cannot encode an invalid Date`);
  writeSecondsNanos(w, tag, seconds, (ms - seconds * 1000) * 1_000_000);
}

/** Duration: milliseconds, as durationFromMs splits them (nanos rounded). */
export function writeDurationField(w: Writer, tag: number, ms: number): void {
  const seconds = Math.floor(ms / 1000);
  if (!Number.isFinite(seconds)) throw new RangeError(`cannot encode the duration ${ms} ms`);
  checkInt64(seconds, "google.protobuf.Duration.seconds");
  const nanos = Math.round((ms - seconds * 1000) * 1_000_000);
  checkInt32(nanos, "google.protobuf.Duration.nanos");
  writeSecondsNanos(w, tag, seconds, nanos);
}

/** Timestamp and Duration share one body: seconds = 1, nanos = 2, zeros left out. */
function writeSecondsNanos(w: Writer, tag: number, seconds: number, nanos: number): void {
  writeTag(w, tag);
  const at = w.open();
  if (seconds !== 0) {
    w.byte(0x08 /* TIMESTAMP.seconds */);
    w.int64(seconds);
  }
  if (nanos !== 0) {
    w.byte(0x10 /* TIMESTAMP.nanos */);
    w.int32(nanos);
  }
  w.close(at);
}

// --- as decoded, without the bytes ------------------------------------------------

interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** What Reader.string returns for the bytes Writer.string writes of `s`: a lone surrogate becomes U+FFFD. */
export function decodedString(s: string): string {
  return (s as unknown as WellFormed).isWellFormed() ? s : (s as unknown as WellFormed).toWellFormed();
}

/**
 * What readValue returns for the bytes writeValueBody writes of `v`, made without them (a
 * client rebuilding what the server decoded of its request): new lists and objects, keys in
 * Object.keys order, strings as decodedString makes them, a non-JSON value null; the same
 * depth bound as the encoder. Checked against the round trip by test/unit/wire-enqueue-answer.test.ts.
 */
export function decodedValue(v: unknown, depth = 0): JsonValue {
  switch (typeof v) {
    case "string":
      return decodedString(v);
    case "number":
    case "boolean":
      return v;
    case "object": {
      if (v === null) return null;
      if (depth >= CODEC_MAX_DEPTH) throw tooDeep();
      if (Array.isArray(v)) {
        const out: JsonValue[] = [];
        for (let i = 0; i < v.length; i++) out.push(decodedValue(v[i], depth + 1));
        return out;
      }
      const out: JsonObject = {};
      const keys = Object.keys(v);
      for (let i = 0; i < keys.length; i++) setKey(out, decodedString(keys[i]!), decodedValue((v as JsonObject)[keys[i]!], depth + 1));
      return out;
    }
    default:
      return null;
  }
}

// --- decode ---------------------------------------------------------------------

/**
 * Puts `v` under `k` as an own property. A plain assignment of "__proto__"
 * would replace the object's prototype instead (protobuf-es loses such keys).
 */
export function setKey(o: JsonObject, k: string, v: JsonValue): void {
  if (k === "__proto__") Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

function isObject(v: JsonValue): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads a Value's body up to `end`. `prev` is the value this one merges into:
 * null for a new Value. A member of the kind oneof replaces the previous one,
 * except that a struct_value merges into a preceding struct_value and a
 * list_value appends to a preceding list_value, as protobuf merging says.
 * A Value without a kind reads as null, as valueToJson has it.
 */
export function readValue(r: Reader, end: number, prev: JsonValue, depth = 0): JsonValue {
  let v = prev;
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case 0x08 /* VALUE.nullValue */: // any enum number still means null
        r.bool();
        v = null;
        break;
      case 0x11 /* VALUE.numberValue */:
        v = r.double();
        break;
      case 0x1a /* VALUE.stringValue */:
        v = r.string();
        break;
      case 0x20 /* VALUE.boolValue */:
        v = r.bool();
        break;
      case 0x2a /* VALUE.structValue */: {
        const e = r.len() + r.pos;
        v = readStructBody(r, e, isObject(v) ? v : {}, depth + 1);
        break;
      }
      case 0x32 /* VALUE.listValue */: {
        const e = r.len() + r.pos;
        v = readListBody(r, e, Array.isArray(v) ? v : [], depth + 1);
        break;
      }
      default:
        r.skip(t);
    }
  }
  expectEnd(r, end);
  return v;
}

/** Reads a ListValue's body, appending to `out`. */
export function readListBody(r: Reader, end: number, out: JsonValue[], depth = 0): JsonValue[] {
  if (depth > CODEC_MAX_DEPTH) throw tooDeep();
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a /* LIST_VALUE.values */) {
      const e = r.len() + r.pos;
      out.push(readValue(r, e, null, depth));
    } else r.skip(t);
  }
  expectEnd(r, end);
  return out;
}

// What readEntry read: set after all nested reads, so nested entries cannot clobber it.
let entryKey = "";
let entryValue: JsonValue = null;

/** One map entry of a Struct (after its length): missing key is "", missing value null. */
export function readEntry(r: Reader, end: number, depth = 0): void {
  let k = "";
  let v: JsonValue = null;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a /* MAP_ENTRY.key */) k = r.string();
    else if (t === 0x12 /* MAP_ENTRY.value */) {
      const e = r.len() + r.pos;
      v = readValue(r, e, v, depth);
    } else r.skip(t);
  }
  expectEnd(r, end);
  entryKey = k;
  entryValue = v;
}

export function lastEntryKey(): string {
  return entryKey;
}
export function lastEntryValue(): JsonValue {
  return entryValue;
}

/** Reads a Struct's body into `out`: a key seen again takes the later value, in its first place. */
export function readStructBody(r: Reader, end: number, out: JsonObject, depth = 0): JsonObject {
  if (depth > CODEC_MAX_DEPTH) throw tooDeep();
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a /* STRUCT.fields */) {
      const e = r.len() + r.pos;
      readEntry(r, e, depth);
      setKey(out, entryKey, entryValue);
    } else r.skip(t);
  }
  expectEnd(r, end);
  return out;
}

// The nanos of the last Timestamp or Duration body read (read with its seconds, which are returned).
let lastNanos = 0;

/** A Timestamp or Duration body (both: 1 seconds, 2 nanos): returns seconds, leaves nanos in lastNanos. */
function readSecondsNanos(r: Reader, end: number): number {
  let seconds = 0;
  let nanos = 0;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x08 /* TIMESTAMP.seconds */) seconds = r.int64();
    else if (t === 0x10 /* TIMESTAMP.nanos */) nanos = r.uint32() | 0;
    else r.skip(t);
  }
  expectEnd(r, end);
  lastNanos = nanos;
  return seconds;
}

/** Timestamp body to epoch milliseconds, as dateFromTimestamp computes them (finer digits dropped). */
export function readTimestampMs(r: Reader, end: number): number {
  const seconds = readSecondsNanos(r, end);
  return seconds * 1000 + Math.floor(lastNanos / 1_000_000);
}

/** Duration body to milliseconds, as msFromDuration computes them. */
export function readDurationMs(r: Reader, end: number): number {
  const seconds = readSecondsNanos(r, end);
  return seconds * 1000 + lastNanos / 1_000_000;
}

/** The end of a length-delimited field whose tag was just read. */
export function fieldEnd(r: Reader): number {
  return r.len() + r.pos;
}
