import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { DurationSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { BatchJobEntrySchema, CancelJobResponseSchema, EnqueueRequestSchema, GetJobResponseSchema } from "../../gen/ojs/v1/job_pb.js";
import { ANNOTATED, codecModules, outOfDate, stampSource, TABLES } from "../../scripts/wire-tags.js";
import * as generated from "../../src/codec/wire/tags.generated.js";
import { JobSchema } from "../../gen/ojs/v1/job_pb.js";
import { NackRequestSchema } from "../../gen/ojs/v1/worker_pb.js";
import { fieldTable, Kind, type FieldTable } from "../../src/codec/wire/field-table.js";
import { BATCH_ERROR_FIELDS } from "../../src/codec/wire/batch.js";
import { CALL_ERROR_FIELDS } from "../../src/codec/wire/fastpath.js";
import { RETRY_FIELDS, UNIQUE_FIELDS } from "../../src/codec/wire/policies.js";

// The wire type protobuf says a field is written with, spelled out here apart from scripts/wire-tags.ts.
function expectedWireType(f: DescField): number {
  if (f.fieldKind === "message" || f.fieldKind === "map") return 2;
  if (f.fieldKind === "list") {
    if (f.listKind === "message" || f.packed) return 2;
    if (f.listKind === "enum") return 0;
  }
  if (f.fieldKind === "enum") return 0;
  const scalar = f.fieldKind === "scalar" || f.fieldKind === "list" ? f.scalar : undefined;
  if (scalar === ScalarType.STRING || scalar === ScalarType.BYTES) return 2;
  if (scalar === ScalarType.DOUBLE || scalar === ScalarType.FIXED64 || scalar === ScalarType.SFIXED64) return 1;
  if (scalar === ScalarType.FLOAT || scalar === ScalarType.FIXED32 || scalar === ScalarType.SFIXED32) return 5;
  return 0;
}

function tagsOf(schema: DescMessage): Record<string, number> {
  return Object.fromEntries(schema.fields.map((f) => [f.localName, (f.number << 3) | expectedWireType(f)]));
}

const tables = generated as unknown as Record<string, Record<string, number>>;

describe("wire codec field tags", () => {
  it("every tag of every generated table is its descriptor's field number and wire type", () => {
    expect(TABLES.length).toBeGreaterThan(20);
    for (const [name, schema] of TABLES) {
      expect({ table: name, tags: tables[name] }).toEqual({ table: name, tags: tagsOf(schema) });
      expect(generated.TAG_TABLE_TYPES[name as keyof typeof generated.TAG_TABLE_TYPES]).toBe(schema.typeName);
    }
    expect(generated.MAP_ENTRY).toEqual({ key: 0x0a, value: 0x12, intKey: 0x08 });
  });

  it("tags.generated.ts and every stamped tag in the codec are what scripts/wire-tags.ts makes from gen/ (npm run generate)", () => {
    expect(outOfDate().map((s) => s.file)).toEqual([]);
  });

  it("every tag literal in the codec agrees with the generated table it names", () => {
    let count = 0;
    for (const file of codecModules()) {
      for (const m of readFileSync(file, "utf8").matchAll(ANNOTATED)) {
        const [, literal, table, field, unpacked] = m;
        const tag = tables[table!]?.[field!];
        expect({ at: `${basename(file)} ${m[0]}`, known: tag !== undefined }).toEqual({ at: `${basename(file)} ${m[0]}`, known: true });
        expect({ at: `${basename(file)} ${m[0]}`, value: Number(literal) }).toEqual({ at: `${basename(file)} ${m[0]}`, value: unpacked ? tag! & ~7 : tag });
        count++;
      }
    }
    // Job alone has 24 fields read and written: a parse that finds nothing must not pass.
    expect(count).toBeGreaterThan(150);
  });

  it("a stamped literal that disagrees with the descriptor is rewritten, and an unknown name is refused", () => {
    expect(stampSource("case 0x99 /* JOB.retryPolicy */:", "x.ts")).toBe("case 0x52 /* JOB.retryPolicy */:");
    expect(stampSource("case 0x22 /* UNIQUE.states unpacked */:", "x.ts")).toBe("case 0x20 /* UNIQUE.states unpacked */:");
    expect(() => stampSource("case 0x52 /* JOB.retryPolcy */:", "x.ts")).toThrow(/JOB\.retryPolcy/);
  });

  it("the messages the codec reads with one table have the same tags", () => {
    // One reader serves EnqueueResponse, GetJobResponse and CancelJobResponse; one writer serves EnqueueRequest and BatchJobEntry;
    // one body reader serves Timestamp and Duration.
    expect(tagsOf(GetJobResponseSchema)).toEqual(generated.JOB_RESPONSE);
    expect(tagsOf(CancelJobResponseSchema)).toEqual(generated.JOB_RESPONSE);
    expect(tagsOf(BatchJobEntrySchema)).toEqual(tagsOf(EnqueueRequestSchema));
    expect(tagsOf(DurationSchema)).toEqual(tagsOf(TimestampSchema));
    // One reader serves AckRequest and NackRequest: job id in field 1, result or error in field 2.
    expect(Object.values(generated.NACK_REQUEST)).toEqual(Object.values(generated.ACK_REQUEST));
    // One loop reads SettleCall and SettleOutcome: seq, ack, nack, started, and field 4 (workerId or error).
    const { workerId, ...call } = generated.SETTLE_CALL;
    const { error, ...outcome } = generated.SETTLE_OUTCOME;
    expect({ ...outcome, field4: error }).toEqual({ ...call, field4: workerId });
  });

  it("UniquePolicy.states is packed, as the codec writes it", () => {
    expect(generated.UNIQUE.states & 7).toBe(2);
  });

  it("no tag literal without its field name is left in the codec", () => {
    // A tag (never 0-9) in a tag position: a case label, a comparison with the tag read, a tag byte written, a field writer's tag argument.
    const unnamed = /(?:case |\bt2? === |w\.byte2?\(|writeTag\(w, |Fields?\(w, )(0x[0-9a-f]+|[1-9]\d+)\b(?! \/\*)/g;
    for (const file of codecModules()) {
      const src = readFileSync(file, "utf8");
      expect({ file: basename(file), literals: [...src.matchAll(unnamed)].map((m) => m[0]) }).toEqual({ file: basename(file), literals: [] });
    }
  });

  // The cold messages are read through field tables made from the descriptors (field-table.ts): no literal to stamp,
  // so their tags and kinds are checked here against the generated tables and the proto's field types.
  const COLD: Record<string, FieldTable> = {
    RETRY: RETRY_FIELDS,
    UNIQUE: UNIQUE_FIELDS,
    BATCH_ERROR: BATCH_ERROR_FIELDS,
    CALL_ERROR: CALL_ERROR_FIELDS,
  };

  it("every field table of a cold message has the generated table's tags, one slot per field in its order", () => {
    for (const [name, table] of Object.entries(COLD)) {
      expect({ name, tags: table.fields.map(([tag]) => tag) }).toEqual({ name, tags: Object.values(tables[name]!) });
      for (const [slot, [tag]] of table.fields.entries()) expect({ name, tag, slot: table.byTag[tag]?.slot }).toEqual({ name, tag, slot });
    }
  });

  it("every field of a cold message is read as its proto type says (kinds spelled out here apart from kindOf)", () => {
    const { String: S, Bool, Int32, Double, Duration, Strings, Enums, StringMap } = Kind;
    const kinds = Object.fromEntries(Object.entries(COLD).map(([name, t]) => [name, t.fields.map(([, kind]) => kind)]));
    expect(kinds).toEqual({
      RETRY: [Int32, Duration, Double, Duration, Bool, Strings, S],
      UNIQUE: [Strings, Duration, Int32, Enums, Strings, Strings],
      BATCH_ERROR: [S, S],
      CALL_ERROR: [S, S, Bool, StringMap],
    });
    // UniquePolicy.states is packed; its unpacked form (wire type 0) lands in the same slot.
    expect(UNIQUE_FIELDS.byTag[generated.UNIQUE.states & ~7]).toEqual(UNIQUE_FIELDS.byTag[generated.UNIQUE.states]);
  });

  it("a field the field table cannot read, or a message field without its reader, is refused when the table is made", () => {
    expect(() => fieldTable(JobSchema)).toThrow(/cannot read ojs\.v1\.Job\.args/);
    expect(() => fieldTable(NackRequestSchema)).toThrow(/no reader for ojs\.v1\.NackRequest\.error/);
  });
});
