/**
 * One decode loop for the cold messages (errors, policies, the worker's ack/nack
 * messages). A message's table is made from its generated descriptor (gen/): each
 * field's tag and how to read it (`Kind`) come from the field's number and type, so
 * a cold message has no tag of its own to keep in step and a field added to it is
 * read (into a slot nobody uses yet) with no change here. `readFields` reads the
 * fields into an array of slots, one per field in the descriptor's order, with a
 * `switch` on the kind. The hot readers (Job, the enqueue options, the fast-path
 * frames, Value/Struct) keep their own `switch` over literal tags: a table costs a
 * lookup per field, which on Job was measured at ~2.5x.
 *
 * A tag whose wire type is not the field's finds no entry and is skipped, as the
 * `default:` of a hand-written switch skips it.
 */
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { NEEDS_MERGE, WireFormatError } from "./buffer.js";
import { expectEnd, type Reader } from "./reader.js";
import { fieldEnd, readDurationMs, readStructBody, readTimestampMs, setKey } from "./json.js";
import type { JsonObject } from "../../model/json.js";
import { MAP_ENTRY } from "./tags.generated.js";

/**
 * How a field is read (the numbers are the `case`s of readFields' switch, kept literal there
 * for V8's jump table); the test checks each table's kinds against the descriptors.
 */
export const Kind = {
  /** string: the last one wins. */
  String: 0,
  Bool: 1,
  /** int32, uint32 or an enum number. */
  Int32: 2,
  Double: 3,
  /** google.protobuf.Timestamp, in ms; a second one needs the merging pass. */
  Timestamp: 4,
  /** google.protobuf.Duration, in ms; as Timestamp. */
  Duration: 5,
  /** google.protobuf.Struct, merged into the previous one. */
  Struct: 6,
  /** repeated string, into a list. */
  Strings: 7,
  /** repeated enum, packed (and, under the tag with wire type 0, unpacked), into a list of numbers. */
  Enums: 8,
  /** map<string, string>, into an object (a "__proto__" key stays an own key). */
  StringMap: 9,
  /** a singular message read by the entry's `read`; as Timestamp. */
  Message: 10,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export interface FieldEntry {
  readonly kind: Kind;
  readonly slot: number;
  readonly read: ((r: Reader, end: number) => unknown) | undefined;
}

/** A message's fields by tag. */
export interface FieldTable {
  readonly byTag: readonly (FieldEntry | undefined)[];
  /** As many `undefined`s as the message has slots: what readFields copies to start from. */
  readonly empty: readonly unknown[];
  /** [tag, kind] of each slot, for the test against the descriptors. */
  readonly fields: readonly (readonly [tag: number, kind: Kind])[];
}

type ReadMessage = (r: Reader, end: number) => unknown;

/**
 * The table of `schema`: a slot per field, in the descriptor's order. `messages` reads
 * each message field that is not a Timestamp, Duration or Struct, by its localName.
 */
export function fieldTable(schema: DescMessage, messages: Readonly<Record<string, ReadMessage>> = {}): FieldTable {
  return tableOf(
    schema.fields.map((f) => {
      const kind = kindOf(f);
      const read = messages[f.localName];
      if (kind === Kind.Message && !read) throw new Error(`fieldTable: no reader for ${schema.typeName}.${f.name}`);
      return [(f.number << 3) | wireType(kind), kind, read] as const;
    }),
  );
}

function tableOf(fields: readonly (readonly [tag: number, kind: Kind, read: ReadMessage | undefined])[]): FieldTable {
  let size = 0;
  for (const [tag] of fields) size = Math.max(size, tag + 1);
  // Filled (not holey), so that a read past a field is a plain `undefined`.
  const byTag: (FieldEntry | undefined)[] = Array.from({ length: size }, () => undefined);
  fields.forEach(([tag, kind, read], slot) => {
    byTag[tag] = { kind, slot, read };
    // A packed repeated enum may also come unpacked: one varint per element, wire type 0.
    if (kind === Kind.Enums) byTag[tag & ~7] = { kind, slot, read };
  });
  return { byTag, empty: fields.map(() => undefined), fields: fields.map(([tag, kind]) => [tag, kind] as const) };
}

/** How `f` is read; a type no cold message has yet is refused when the module loads. */
export function kindOf(f: DescField): Kind {
  if (f.fieldKind === "scalar") {
    if (f.scalar === ScalarType.STRING) return Kind.String;
    if (f.scalar === ScalarType.BOOL) return Kind.Bool;
    if (f.scalar === ScalarType.INT32 || f.scalar === ScalarType.UINT32) return Kind.Int32;
    if (f.scalar === ScalarType.DOUBLE) return Kind.Double;
  } else if (f.fieldKind === "enum") return Kind.Int32;
  else if (f.fieldKind === "message") {
    const name = f.message.typeName;
    return name === "google.protobuf.Timestamp"
      ? Kind.Timestamp
      : name === "google.protobuf.Duration"
        ? Kind.Duration
        : name === "google.protobuf.Struct"
          ? Kind.Struct
          : Kind.Message;
  } else if (f.fieldKind === "list") {
    if (f.listKind === "scalar" && f.scalar === ScalarType.STRING) return Kind.Strings;
    if (f.listKind === "enum" && f.packed) return Kind.Enums;
  } else if (f.mapKey === ScalarType.STRING && f.mapKind === "scalar" && f.scalar === ScalarType.STRING) return Kind.StringMap;
  throw new Error(`fieldTable cannot read ${f.parent.typeName}.${f.name}: add its kind to field-table.ts`);
}

/** The wire type a field of `kind` is written with (a packed list: 2). */
function wireType(kind: Kind): number {
  return kind === Kind.Bool || kind === Kind.Int32 ? 0 : kind === Kind.Double ? 1 : 2;
}

/** Reads a message's fields up to `end`: the value of each slot, undefined where the field was absent. */
export function readFields(r: Reader, end: number, table: FieldTable): unknown[] {
  const out = table.empty.slice();
  const byTag = table.byTag;
  while (r.pos < end) {
    const t = r.tag();
    const f = t < byTag.length ? byTag[t] : undefined;
    if (f === undefined) {
      r.skip(t);
      continue;
    }
    const i = f.slot;
    switch (f.kind) {
      case 0 /* Kind.String */:
        out[i] = r.string();
        break;
      case 1 /* Kind.Bool */:
        out[i] = r.bool();
        break;
      case 2 /* Kind.Int32 */:
        out[i] = r.uint32() | 0;
        break;
      case 3 /* Kind.Double */:
        out[i] = r.double();
        break;
      case 4 /* Kind.Timestamp */:
        if (out[i] !== undefined) throw NEEDS_MERGE;
        out[i] = readTimestampMs(r, fieldEnd(r));
        break;
      case 5 /* Kind.Duration */:
        if (out[i] !== undefined) throw NEEDS_MERGE;
        out[i] = readDurationMs(r, fieldEnd(r));
        break;
      case 6 /* Kind.Struct */:
        out[i] = readStructBody(r, fieldEnd(r), (out[i] as JsonObject | undefined) ?? {});
        break;
      case 7 /* Kind.Strings */:
        ((out[i] ??= []) as string[]).push(r.string());
        break;
      case 8 /* Kind.Enums */:
        readEnums(r, t, (out[i] ??= []) as number[]);
        break;
      case 9 /* Kind.StringMap */:
        readStringEntry(r, fieldEnd(r), (out[i] ??= {}) as JsonObject);
        break;
      case 10 /* Kind.Message */:
        if (out[i] !== undefined) throw NEEDS_MERGE;
        out[i] = f.read!(r, fieldEnd(r));
        break;
    }
  }
  expectEnd(r, end);
  return out;
}

/** One element (wire type 0) or a packed run of them (wire type 2). */
function readEnums(r: Reader, t: number, list: number[]): void {
  if ((t & 7) === 0) {
    list.push(r.uint32() | 0);
    return;
  }
  const e = fieldEnd(r);
  while (r.pos < e) list.push(r.uint32() | 0);
  if (r.pos !== e) throw new WireFormatError("a packed field runs past its length");
}

/** A map<string, string> entry: missing key or value is "". */
function readStringEntry(r: Reader, end: number, into: JsonObject): void {
  const [k = "", v = ""] = readFields(r, end, STRING_ENTRY) as [string?, string?];
  setKey(into, k, v);
}

// A map<string, string> entry (CallError.details'): key and value, both strings.
const STRING_ENTRY = tableOf([
  [MAP_ENTRY.key, Kind.String, undefined],
  [MAP_ENTRY.value, Kind.String, undefined],
]);
