/**
 * Field tags of the wire codec, read from the generated descriptors (gen/) once,
 * when this module loads: `JOB.retryPolicy` is the tag (field number << 3 | wire
 * type) protobuf-es writes for ojs.v1.Job.retry_policy. The codec never spells a
 * tag as a literal, so a field renumbered in the .proto moves with it, and
 * test/unit/wire-tags.test.ts checks every table here against the descriptors.
 */
import { ScalarType, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
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
} from "../../../gen/ojs/v1/job_pb.js";
import { AckRequestSchema, AckResponseSchema, FetchResponseSchema, NackRequestSchema, NackResponseSchema } from "../../../gen/ojs/v1/worker_pb.js";
import {
  CallErrorSchema,
  EnqueueCallSchema,
  EnqueueOutcomeSchema,
  EnqueueStreamRequestSchema,
  EnqueueStreamResponseSchema,
  SettleCallSchema,
  SettleOutcomeSchema,
  SettleStreamRequestSchema,
  SettleStreamResponseSchema,
  StartedRequestSchema,
} from "../../../gen/ojsconnect/v1/fastpath_pb.js";

/** Protobuf wire types. */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;

/** The field names of a generated message type: its properties, and the members of its oneofs. */
type FieldName<T> = {
  [K in keyof T]: K extends `$${string}` ? never : T[K] extends { case: infer C } ? Exclude<C, undefined> : K;
}[keyof T] &
  string;

/** A message's tags by field name (the generated camelCase name). */
export type Tags<T> = Readonly<Record<FieldName<T>, number>>;

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

/** Every field's tag, by its generated name; call once per message at module load, never per message coded. */
export function tagsOf<T extends Message>(schema: GenMessage<T>): Tags<T> {
  const out: Record<string, number> = {};
  for (const f of (schema as DescMessage).fields) out[f.localName] = (f.number << 3) | wireTypeOf(f);
  // Rebuilt through JSON.parse before freezing: freezing an object grown key by key turns it into a
  // dictionary (a hash lookup per `case JOB.x`, several times slower); JSON.parse makes a fast one.
  return Object.freeze(JSON.parse(JSON.stringify(out)) as Record<string, number>) as Tags<T>;
}

/** The same field with another wire type: a packed field sent unpacked (`withWireType(t, VARINT)`). */
export function withWireType(tag: number, wireType: number): number {
  return (tag & ~7) | wireType;
}

// --- the tables the codec uses --------------------------------------------------------------

export const JOB = tagsOf(JobSchema);
export const JOB_ERROR = tagsOf(JobErrorSchema);
export const RETRY = tagsOf(RetryPolicySchema);
export const UNIQUE = tagsOf(UniquePolicySchema);
export const OPTIONS = tagsOf(EnqueueOptionsSchema);
export const ENQUEUE_REQUEST = tagsOf(EnqueueRequestSchema);
/** EnqueueResponse, GetJobResponse and CancelJobResponse: the job is field 1 of each (checked by the test). */
export const JOB_RESPONSE = tagsOf(EnqueueResponseSchema);
export const BATCH_REQUEST = tagsOf(EnqueueBatchRequestSchema);
export const BATCH_ENTRY = tagsOf(BatchJobEntrySchema);
export const BATCH_RESPONSE = tagsOf(EnqueueBatchResponseSchema);
export const BATCH_ERROR = tagsOf(BatchJobErrorSchema);
export const ACK_REQUEST = tagsOf(AckRequestSchema);
export const ACK_RESPONSE = tagsOf(AckResponseSchema);
export const NACK_REQUEST = tagsOf(NackRequestSchema);
export const NACK_RESPONSE = tagsOf(NackResponseSchema);
export const FETCH_RESPONSE = tagsOf(FetchResponseSchema);
export const CALL_ERROR = tagsOf(CallErrorSchema);
export const ENQUEUE_STREAM_REQUEST = tagsOf(EnqueueStreamRequestSchema);
export const ENQUEUE_CALL = tagsOf(EnqueueCallSchema);
export const ENQUEUE_STREAM_RESPONSE = tagsOf(EnqueueStreamResponseSchema);
export const ENQUEUE_OUTCOME = tagsOf(EnqueueOutcomeSchema);
export const SETTLE_STREAM_REQUEST = tagsOf(SettleStreamRequestSchema);
export const SETTLE_CALL = tagsOf(SettleCallSchema);
export const SETTLE_STREAM_RESPONSE = tagsOf(SettleStreamResponseSchema);
export const SETTLE_OUTCOME = tagsOf(SettleOutcomeSchema);
export const STARTED_REQUEST = tagsOf(StartedRequestSchema);

/** Map entries (map<K, V>) are not generated messages: key 1, value 2, both LEN here (string keys, message or string values). */
export const MAP_ENTRY = Object.freeze({ key: (1 << 3) | LEN, value: (2 << 3) | LEN, intKey: (1 << 3) | VARINT });

/** The tables, by message type name, for the test that checks them against the descriptors. */
export const TAG_TABLES: ReadonlyArray<readonly [DescMessage, Readonly<Record<string, number>>]> = [
  [JobSchema, JOB],
  [JobErrorSchema, JOB_ERROR],
  [RetryPolicySchema, RETRY],
  [UniquePolicySchema, UNIQUE],
  [EnqueueOptionsSchema, OPTIONS],
  [EnqueueRequestSchema, ENQUEUE_REQUEST],
  [EnqueueResponseSchema, JOB_RESPONSE],
  [EnqueueBatchRequestSchema, BATCH_REQUEST],
  [BatchJobEntrySchema, BATCH_ENTRY],
  [EnqueueBatchResponseSchema, BATCH_RESPONSE],
  [BatchJobErrorSchema, BATCH_ERROR],
  [AckRequestSchema, ACK_REQUEST],
  [AckResponseSchema, ACK_RESPONSE],
  [NackRequestSchema, NACK_REQUEST],
  [NackResponseSchema, NACK_RESPONSE],
  [FetchResponseSchema, FETCH_RESPONSE],
  [CallErrorSchema, CALL_ERROR],
  [EnqueueStreamRequestSchema, ENQUEUE_STREAM_REQUEST],
  [EnqueueCallSchema, ENQUEUE_CALL],
  [EnqueueStreamResponseSchema, ENQUEUE_STREAM_RESPONSE],
  [EnqueueOutcomeSchema, ENQUEUE_OUTCOME],
  [SettleStreamRequestSchema, SETTLE_STREAM_REQUEST],
  [SettleCallSchema, SETTLE_CALL],
  [SettleStreamResponseSchema, SETTLE_STREAM_RESPONSE],
  [SettleOutcomeSchema, SETTLE_OUTCOME],
  [StartedRequestSchema, STARTED_REQUEST],
];
