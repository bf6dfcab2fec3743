/**
 * Field tags of the wire codec (src/codec/wire), from the generated descriptors (gen/).
 * Run by `npm run generate` after buf:
 *
 *   npx tsx scripts/wire-tags.ts          # write tags.generated.ts, restamp the codec's tag literals
 *   npx tsx scripts/wire-tags.ts --check  # change nothing; exit 1 and list what is out of date
 *
 * Two outputs, both plain numbers at run time (a `case` on an imported constant or a
 * table property is several times slower in V8 than on a literal: no jump table):
 * - src/codec/wire/tags.generated.ts: every table below, each tag a numeric literal;
 * - in each codec module, every tag literal carries its name, `0x52 /* JOB.retryPolicy *\/`,
 *   and is rewritten here to the table's value. A tag literal without a name fails
 *   test/unit/wire-tags.test.ts, as does a stamped literal that disagrees with the descriptor.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { DurationSchema, ListValueSchema, StructSchema, TimestampSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import {
  BatchJobEntrySchema,
  BatchJobErrorSchema,
  EnqueueBatchRequestSchema,
  EnqueueBatchResponseSchema,
  EnqueueOptionsSchema,
  EnqueueRequestSchema,
  EnqueueResponseSchema,
  JobErrorSchema,
  JobSchema,
  RetryPolicySchema,
  UniquePolicySchema,
} from "../gen/ojs/v1/job_pb.js";
import { AckRequestSchema, AckResponseSchema, FetchResponseSchema, NackRequestSchema, NackResponseSchema } from "../gen/ojs/v1/worker_pb.js";
import {
  AssignedJobSchema,
  CallErrorSchema,
  EnqueueBatchAnswerSchema,
  EnqueueCallSchema,
  EnqueueOutcomeSchema,
  EnqueueStreamRequestSchema,
  EnqueueStreamResponseSchema,
  SettleCallSchema,
  SettleOutcomeSchema,
  SettleStreamRequestSchema,
  SettleStreamResponseSchema,
  StartedRequestSchema,
} from "../gen/ojsconnect/v1/fastpath_pb.js";

const root = join(fileURLToPath(import.meta.url), "..", "..");
export const CODEC_DIR = join(root, "src", "codec", "wire");
export const TAGS_FILE = join(CODEC_DIR, "tags.generated.ts");

/** The tables, by the name the codec's annotations use. */
export const TABLES: ReadonlyArray<readonly [string, DescMessage]> = [
  ["JOB", JobSchema],
  ["JOB_ERROR", JobErrorSchema],
  ["RETRY", RetryPolicySchema],
  ["UNIQUE", UniquePolicySchema],
  ["OPTIONS", EnqueueOptionsSchema],
  ["ENQUEUE_REQUEST", EnqueueRequestSchema],
  // EnqueueResponse, GetJobResponse and CancelJobResponse: one reader (the test checks they agree).
  ["JOB_RESPONSE", EnqueueResponseSchema],
  ["BATCH_REQUEST", EnqueueBatchRequestSchema],
  ["BATCH_ENTRY", BatchJobEntrySchema],
  ["BATCH_RESPONSE", EnqueueBatchResponseSchema],
  ["BATCH_ERROR", BatchJobErrorSchema],
  ["ACK_REQUEST", AckRequestSchema],
  ["ACK_RESPONSE", AckResponseSchema],
  ["NACK_REQUEST", NackRequestSchema],
  ["NACK_RESPONSE", NackResponseSchema],
  ["FETCH_RESPONSE", FetchResponseSchema],
  ["CALL_ERROR", CallErrorSchema],
  ["ENQUEUE_STREAM_REQUEST", EnqueueStreamRequestSchema],
  ["ENQUEUE_CALL", EnqueueCallSchema],
  ["ENQUEUE_STREAM_RESPONSE", EnqueueStreamResponseSchema],
  ["ENQUEUE_OUTCOME", EnqueueOutcomeSchema],
  ["SETTLE_STREAM_REQUEST", SettleStreamRequestSchema],
  ["SETTLE_CALL", SettleCallSchema],
  ["SETTLE_STREAM_RESPONSE", SettleStreamResponseSchema],
  ["SETTLE_OUTCOME", SettleOutcomeSchema],
  ["STARTED_REQUEST", StartedRequestSchema],
  ["BATCH_ANSWER", EnqueueBatchAnswerSchema],
  ["ASSIGNED_JOB", AssignedJobSchema],
  ["VALUE", ValueSchema],
  ["STRUCT", StructSchema],
  ["LIST_VALUE", ListValueSchema],
  ["TIMESTAMP", TimestampSchema],
  ["DURATION", DurationSchema],
];

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** The wire type protobuf-es writes a field with (a packed repeated scalar or enum as one LEN field). */
export function wireTypeOf(f: DescField): number {
  switch (f.fieldKind) {
    case "message":
      return f.delimitedEncoding ? 3 : LEN;
    case "map":
      return LEN;
    case "enum":
      return VARINT;
    case "list":
      if (f.listKind === "message") return f.delimitedEncoding ? 3 : LEN;
      return f.packed ? LEN : f.listKind === "enum" ? VARINT : scalarWireType(f.scalar);
    case "scalar":
      return scalarWireType(f.scalar);
  }
}

function scalarWireType(t: ScalarType): number {
  switch (t) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return LEN;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return I64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return I32;
    default:
      return VARINT;
  }
}

/** table name -> field (generated camelCase name) -> tag. Map entries (key 1, value 2) are MAP_ENTRY. */
export function tagTables(): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const [name, schema] of TABLES) {
    out.set(name, new Map(schema.fields.map((f) => [f.localName, (f.number << 3) | wireTypeOf(f)])));
  }
  // A map entry (map<K, V>): key 1 (a string, or an integer: intKey), value 2 (a message or string).
  out.set(
    "MAP_ENTRY",
    new Map([
      ["key", (1 << 3) | LEN],
      ["value", (2 << 3) | LEN],
      ["intKey", (1 << 3) | VARINT],
    ]),
  );
  return out;
}

export function hex(tag: number): string {
  return `0x${tag.toString(16).padStart(2, "0")}`;
}

/**
 * The ojs.v1.Job fields src/codec/wire/job.ts names nowhere: the codec codes them through
 * protobuf-es and ../proto.ts (job-generic.ts), so a new Job field needs no wire code.
 */
export function jobGenericFields(tables = tagTables()): number[] {
  const named = new Set<string>();
  for (const m of readOrEmpty(join(CODEC_DIR, "job.ts")).matchAll(ANNOTATED)) if (m[2] === "JOB") named.add(m[3]!);
  return [...tables.get("JOB")!].filter(([field]) => !named.has(field)).map(([, tag]) => tag >>> 3);
}

/** The text of tags.generated.ts. */
export function renderTagsModule(tables = tagTables()): string {
  const lines = [
    "// Generated by scripts/wire-tags.ts from the descriptors in gen/ (npm run generate). Do not edit.",
    "// A tag is field number << 3 | wire type; the codec's modules spell each as a literal",
    "// stamped from this table, `0x52 /* JOB.retryPolicy */` (test/unit/wire-tags.test.ts).",
    "",
  ];
  const typeNames = new Map(TABLES.map(([n, s]) => [n, s.typeName]));
  // One line a table (prettier-ignore keeps it so): a table is data to look up, not code to read down.
  for (const [name, fields] of tables) {
    lines.push(`/** ${typeNames.get(name) ?? "a map entry (map<K, V>)"} */`);
    lines.push("// prettier-ignore");
    lines.push(`export const ${name} = { ${[...fields].map(([field, tag]) => `${field}: ${hex(tag)}`).join(", ")} } as const;`);
  }
  lines.push("");
  lines.push("/** Numbers of the ojs.v1.Job fields src/codec/wire/job.ts does not code by hand (job-generic.ts codes them). */");
  lines.push(`export const JOB_GENERIC_FIELDS: readonly number[] = [${jobGenericFields(tables).join(", ")}];`);
  lines.push("");
  lines.push("/** The message type each table was read from. */");
  lines.push("// prettier-ignore");
  lines.push(`export const TAG_TABLE_TYPES = { ${TABLES.map(([name, schema]) => `${name}: "${schema.typeName}"`).join(", ")} } as const;`);
  return lines.join("\n") + "\n";
}

/**
 * A tag literal with its name: `0x52 /* JOB.retryPolicy *\/`, or `/* UNIQUE.states unpacked *\/`
 * for a packed field read in its unpacked form (wire type VARINT).
 */
export const ANNOTATED = /\b(0x[0-9a-f]+|\d+) \/\* ([A-Z_]+)\.([a-zA-Z0-9]+)( unpacked)? \*\//g;

/** `src` with every annotated tag literal set to its table's value; throws on an unknown name. */
export function stampSource(src: string, file: string, tables = tagTables()): string {
  return src.replace(ANNOTATED, (_all, _lit: string, table: string, field: string, unpacked: string | undefined) => {
    const tag = tables.get(table)?.get(field);
    if (tag === undefined) throw new Error(`${file}: no field ${table}.${field} in the descriptors`);
    return `${hex(unpacked ? (tag & ~7) | VARINT : tag)} /* ${table}.${field}${unpacked ?? ""} */`;
  });
}

/** The codec modules that hold annotated tags. */
export function codecModules(): string[] {
  return readdirSync(CODEC_DIR)
    .filter((n) => n.endsWith(".ts") && n !== "tags.generated.ts")
    .map((n) => join(CODEC_DIR, n));
}

/** The files that are out of date, with their new text. */
export function outOfDate(): Array<{ file: string; text: string }> {
  const tables = tagTables();
  const out: Array<{ file: string; text: string }> = [];
  const want = renderTagsModule(tables);
  if (readOrEmpty(TAGS_FILE) !== want) out.push({ file: TAGS_FILE, text: want });
  for (const file of codecModules()) {
    const src = readFileSync(file, "utf8");
    const text = stampSource(src, file, tables);
    if (text !== src) out.push({ file, text });
  }
  return out;
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const stale = outOfDate();
  if (process.argv.includes("--check")) {
    for (const { file } of stale) console.error(`out of date: ${file}`);
    process.exitCode = stale.length ? 1 : 0;
  } else {
    for (const { file, text } of stale) writeFileSync(file, text);
    console.log(stale.length ? `wrote ${stale.map((s) => s.file).join(", ")}` : "wire tags: up to date");
  }
}
