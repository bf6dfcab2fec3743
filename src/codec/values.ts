import { create } from "@bufbuild/protobuf";
import {
  DurationSchema,
  ListValueSchema,
  NullValue,
  StructSchema,
  TimestampSchema,
  ValueSchema,
  type Duration,
  type Struct,
  type Timestamp,
  type Value,
} from "@bufbuild/protobuf/wkt";
import { instantFromText, instantText } from "../model/instant.js";
import type { JsonObject, JsonValue } from "../model/json.js";
import { CODEC_MAX_DEPTH } from "../model/limits.js";

// Hand-written instead of toJson/fromJson(ValueSchema): these run for every arg
// of every job on the hot path, and the reflective versions are several times slower.
// They recurse once per level of nesting, so past CODEC_MAX_DEPTH they throw a
// plain Error instead: input must not be able to overflow the stack.

function tooDeep(): Error {
  return new Error(`a value nests deeper than ${CODEC_MAX_DEPTH} levels`);
}

export function valueFromJson(v: JsonValue): Value {
  return valueFromJsonAt(v, 0);
}

function valueFromJsonAt(v: JsonValue, depth: number): Value {
  switch (typeof v) {
    case "string":
      return create(ValueSchema, { kind: { case: "stringValue", value: v } });
    case "number":
      return create(ValueSchema, { kind: { case: "numberValue", value: v } });
    case "boolean":
      return create(ValueSchema, { kind: { case: "boolValue", value: v } });
    default:
      if (v === null) return create(ValueSchema, { kind: { case: "nullValue", value: NullValue.NULL_VALUE } });
      if (depth >= CODEC_MAX_DEPTH) throw tooDeep();
      if (Array.isArray(v))
        return create(ValueSchema, { kind: { case: "listValue", value: create(ListValueSchema, { values: v.map((x) => valueFromJsonAt(x, depth + 1)) }) } });
      return create(ValueSchema, { kind: { case: "structValue", value: structFromJsonAt(v, depth + 1) } });
  }
}

export function structFromJson(o: JsonObject): Struct {
  return structFromJsonAt(o, 0);
}

function structFromJsonAt(o: JsonObject, depth: number): Struct {
  const fields: Record<string, Value> = {};
  for (const k of Object.keys(o)) fields[k] = valueFromJsonAt(o[k]!, depth);
  return create(StructSchema, { fields });
}

/** An unset Value (no kind) reads as null: proto3 cannot say "absent" inside a list. */
export function valueToJson(v: Value): JsonValue {
  return valueToJsonAt(v, 0);
}

function valueToJsonAt(v: Value, depth: number): JsonValue {
  const k = v.kind;
  switch (k.case) {
    case "stringValue":
    case "numberValue":
    case "boolValue":
      return k.value;
    case "listValue":
      if (depth >= CODEC_MAX_DEPTH) throw tooDeep();
      return k.value.values.map((x) => valueToJsonAt(x, depth + 1));
    case "structValue":
      if (depth >= CODEC_MAX_DEPTH) throw tooDeep();
      return structToJsonAt(k.value, depth + 1);
    default:
      return null;
  }
}

export function structToJson(s: Struct): JsonObject {
  return structToJsonAt(s, 0);
}

function structToJsonAt(s: Struct, depth: number): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(s.fields)) out[k] = valueToJsonAt(s.fields[k]!, depth);
  return out;
}

export function timestampFromDate(d: Date): Timestamp {
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  return create(TimestampSchema, { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 });
}

/** Millisecond precision, as JavaScript dates have; finer digits are dropped. */
export function dateFromTimestamp(t: Timestamp): Date {
  return new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1_000_000));
}

export function durationFromMs(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return create(DurationSchema, { seconds: BigInt(seconds), nanos: Math.round((ms - seconds * 1000) * 1_000_000) });
}

export function msFromDuration(d: Duration): number {
  return Number(d.seconds) * 1000 + d.nanos / 1_000_000;
}

/**
 * RFC 3339 as its author wrote it when the Date came from text (an offset or
 * whole seconds stay, JSON format §5.3), else in UTC with a Z suffix.
 */
export function formatInstant(d: Date): string {
  return instantText(d) ?? d.toISOString();
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** Parses RFC 3339 (any precision, any offset) to a Date; undefined when it is not a timestamp. */
export function parseInstant(v: unknown): Date | undefined {
  if (typeof v !== "string" || !RFC3339.test(v)) return undefined;
  return instantFromText(v);
}
