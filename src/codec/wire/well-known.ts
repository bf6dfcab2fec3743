/**
 * The google.protobuf well-known types of the wire codec on their own: Value,
 * Struct, ListValue, Timestamp and Duration.
 */
import type { JsonObject, JsonValue } from "../../model/json.js";
import {
  readDurationMs,
  readListBody,
  readStructBody,
  readTimestampMs,
  readValue,
  writeDurationField,
  writeListBody,
  writeStructBody,
  writeTimestampField,
  writeValueBody,
} from "./json.js";
import { LEAF } from "./merge.js";
import { decode, w } from "./two-pass.js";

// --- building blocks: google.protobuf well-known types -----------------------------------------

/** Timestamp and Duration are written as a field of some message, whose tag and length are then cut off. */
const ANY_FIELD = (1 << 3) | 2; // field 1, wire type LEN

/** google.protobuf.Value of any JSON value (numbers as doubles; -0, NaN and ±Infinity kept bit for bit). */
export function encodeValue(v: JsonValue): Uint8Array {
  w.reset();
  writeValueBody(w, v);
  return w.finish();
}
/** google.protobuf.Value; one with no kind reads as null. */
export function decodeValue(bytes: Uint8Array): JsonValue {
  return decode(bytes, LEAF, (r, end) => readValue(r, end, null));
}

export function encodeStruct(o: JsonObject): Uint8Array {
  w.reset();
  writeStructBody(w, o);
  return w.finish();
}
export function decodeStruct(bytes: Uint8Array): JsonObject {
  return decode(bytes, LEAF, (r, end) => readStructBody(r, end, {}));
}

export function encodeListValue(list: readonly JsonValue[]): Uint8Array {
  w.reset();
  writeListBody(w, list);
  return w.finish();
}
export function decodeListValue(bytes: Uint8Array): JsonValue[] {
  return decode(bytes, LEAF, (r, end) => readListBody(r, end, []));
}

/** google.protobuf.Timestamp of a Date (milliseconds; throws RangeError on an invalid Date). */
export function encodeTimestamp(d: Date): Uint8Array {
  w.reset();
  writeTimestampField(w, ANY_FIELD, d);
  // Written as a field of tag + length: the message is what follows them (always < 128 bytes).
  return w.finish().subarray(2);
}
/** google.protobuf.Timestamp to a Date; digits finer than a millisecond are dropped. */
export function decodeTimestamp(bytes: Uint8Array): Date {
  return new Date(decode(bytes, LEAF, readTimestampMs));
}

/** google.protobuf.Duration of milliseconds (nanos rounded, as durationFromMs). */
export function encodeDuration(ms: number): Uint8Array {
  w.reset();
  writeDurationField(w, ANY_FIELD, ms);
  return w.finish().subarray(2);
}
/** google.protobuf.Duration to milliseconds (fractional below a millisecond). */
export function decodeDuration(bytes: Uint8Array): number {
  return decode(bytes, LEAF, readDurationMs);
}
