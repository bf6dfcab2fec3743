import { ScalarType, type DescField } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CancelJobResponseSchema, GetJobResponseSchema, EnqueueRequestSchema, BatchJobEntrySchema } from "../../gen/ojs/v1/job_pb.js";
import { MAP_ENTRY, TAG_TABLES, UNIQUE, JOB_RESPONSE, tagsOf } from "../../src/codec/wire/tags.js";

// The wire type protobuf says a field is written with, spelled out here apart from tags.ts.
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

describe("wire codec field tags", () => {
  it("every tag of every table is its descriptor's field number and wire type", () => {
    for (const [schema, table] of TAG_TABLES) {
      const names = Object.keys(table).sort();
      expect(names, schema.typeName).toEqual(schema.fields.map((f) => f.localName).sort());
      for (const f of schema.fields) {
        expect({ field: `${schema.typeName}.${f.name}`, tag: table[f.localName] }).toEqual({
          field: `${schema.typeName}.${f.name}`,
          tag: (f.number << 3) | expectedWireType(f),
        });
      }
    }
  });

  it("the tables are frozen: nothing can change a tag at run time", () => {
    for (const [, table] of TAG_TABLES) expect(Object.isFrozen(table)).toBe(true);
    expect(Object.isFrozen(MAP_ENTRY)).toBe(true);
  });

  it("the messages the codec reads with one table have the same tags", () => {
    // One reader serves EnqueueResponse, GetJobResponse and CancelJobResponse; one writer serves EnqueueRequest and BatchJobEntry.
    expect(tagsOf(GetJobResponseSchema)).toEqual(JOB_RESPONSE);
    expect(tagsOf(CancelJobResponseSchema)).toEqual(JOB_RESPONSE);
    expect(tagsOf(BatchJobEntrySchema)).toEqual(tagsOf(EnqueueRequestSchema));
  });

  it("UniquePolicy.states is packed, as the codec writes it", () => {
    expect(UNIQUE.states & 7).toBe(2);
  });

  it("no tag literal is left in the message modules of the codec", async () => {
    const { readFileSync, readdirSync } = await import("node:fs");
    const dir = new URL("../../src/codec/wire/", import.meta.url);
    // The generic layers (buffers, JSON Value/Struct and well-known types, merging) know no ojs message.
    const generic = new Set(["buffer.ts", "reader.ts", "json.ts", "merge.ts", "well-known.ts", "tags.ts", "fields.ts", "enums.ts"]);
    for (const name of readdirSync(dir)) {
      if (!name.endsWith(".ts") || generic.has(name)) continue;
      const src = readFileSync(new URL(name, dir), "utf8");
      expect({ name, literals: src.match(/case 0x[0-9a-f]+|w\.byte2?\(0x|t2? === 0x/g) ?? [] }).toEqual({ name, literals: [] });
    }
  });
});
