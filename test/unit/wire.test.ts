/**
 * The hand-written codec (src/codec/wire) against the protobuf-es path
 * (toBinary/fromBinary + src/codec/proto.ts), property by property:
 *   bytes:  encode(x) is byte for byte toBinary(Schema, xToProto(x));
 *   (1)     decode(encode(x)) equals x;
 *   (2)     protobuf-es decodes encode(x) to x;
 *   (3)     decode(protobuf-es bytes of x) equals x;
 *   (4)     any other valid encoding of the same message (fields shuffled,
 *           unknown fields and groups inserted, repeated fields interleaved,
 *           packed enums unpacked, singular messages split in two, overlong
 *           varints) decodes to the same thing;
 *   merge:  decode(a ++ b) equals what protobuf-es makes of a ++ b.
 * "x" is drawn from arbitraries whose values are fixed points of the proto
 * mapping; "any" arbitraries (zero values, reserved meta keys, ...) are compared
 * with the protobuf-es path instead of with themselves.
 */
import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { DurationSchema, ListValueSchema, StructSchema, TimestampSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EnqueueBatchRequestSchema, EnqueueBatchResponseSchema, EnqueueRequestSchema, JobSchema } from "../../gen/ojs/v1/job_pb.js";
import { AckRequestSchema, AckResponseSchema, FetchResponseSchema, NackRequestSchema, NackResponseSchema } from "../../gen/ojs/v1/worker_pb.js";
import {
  EnqueueStreamRequestSchema,
  EnqueueStreamResponseSchema,
  SettleStreamRequestSchema,
  SettleStreamResponseSchema,
  type CallError as PbCallError,
} from "../../gen/ojsconnect/v1/fastpath_pb.js";
import * as proto from "../../src/codec/proto.js";
import * as values from "../../src/codec/values.js";
import * as wire from "../../src/codec/wire/index.js";
import type { EnqueueCall, EnqueueOutcome, SettleCall, SettleOutcome, WireCallError } from "../../src/codec/wire/index.js";
import type { Job, JobError, JobState, NormalizedJobRequest, RetryPolicy, UniquePolicy } from "../../src/model/job.js";
import type { JsonObject, JsonValue } from "../../src/model/json.js";
import type { NackResult } from "../../src/model/system.js";
import { jsonValues } from "../support/json-arbitrary.js";

const RUNS = 120;
const NOW = 1_790_000_000_000;

// --- arbitraries -------------------------------------------------------------------------

// Strings of every kind of UTF-8 sequence, and long ones that put a length prefix on
// either side of 128 bytes. A leading U+FEFF is left to wire-edges.test.ts: protobuf-es drops it.
const longText = fc.array(fc.constantFrom("a", "é", "€", "𝄞", " "), { minLength: 20, maxLength: 400 }).map((a) => a.join(""));
const text = fc
  .oneof(
    { weight: 5, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 12 }) },
    { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constantFrom("", "0", "false", "null", "é", "𝄞", "\u0000", "a\nb", "\uffff", "\u{10ffff}", "x".repeat(127), "x".repeat(128)) },
    { weight: 1, arbitrary: longText },
  )
  .filter((s) => !s.startsWith("\ufeff"));
const nonEmpty = text.filter((s) => s !== "");
const key = text.filter((k) => k !== "__proto__");
// Every double a Value can carry: the binary paths keep -0, NaN and the infinities bit for bit.
const num = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1, -1, 0.1, Number.MAX_SAFE_INTEGER + 2, -(2 ** 53) - 2, 1e308, 5e-324, Number.MAX_VALUE, 2 ** 63, NaN, Infinity, -Infinity),
);
const jsonValue = jsonValues(fc.oneof(fc.constant(null), fc.boolean(), num, text), key);
const jsonObject = fc.dictionary(key, jsonValue, { maxKeys: 6 }) as fc.Arbitrary<JsonObject>;
const nonEmptyObject = fc.dictionary(key, jsonValue, { minKeys: 1, maxKeys: 4 }) as fc.Arbitrary<JsonObject>;
const args = fc.array(jsonValue, { maxLength: 6 });

const STATES: JobState[] = ["scheduled", "available", "pending", "active", "completed", "retryable", "cancelled", "discarded"];
const state = fc.constantFrom(...STATES);
// Before and after 1970: negative seconds are ten-byte varints.
const date = fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true });
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const nonZeroInt32 = int32.filter((n) => n !== 0);
// Whole milliseconds survive the seconds/nanos split exactly, negative ones too.
const durationMs = fc.oneof(fc.integer({ min: 0, max: 3_600_000 }), fc.integer({ min: -1e13, max: 1e13 }), fc.constantFrom(0, 1, 999, 1000, 1001, 1.5));

const retry: fc.Arbitrary<RetryPolicy> = fc.record(
  {
    maxAttempts: nonZeroInt32,
    initialInterval: durationMs,
    backoffCoefficient: fc.double({ noNaN: true }).filter((d) => d !== 0),
    maxInterval: durationMs,
    jitter: fc.boolean(),
    nonRetryableErrors: fc.array(text, { minLength: 1, maxLength: 3 }),
    onExhaustion: fc.constantFrom("discard" as const, "dead_letter" as const),
  },
  { requiredKeys: ["jitter"] },
);
const unique: fc.Arbitrary<UniquePolicy> = fc.record(
  {
    keys: fc.array(text, { minLength: 1, maxLength: 3 }),
    argsKeys: fc.array(text, { minLength: 1, maxLength: 2 }),
    metaKeys: fc.array(text, { minLength: 1, maxLength: 2 }),
    period: durationMs,
    onConflict: fc.constantFrom("reject" as const, "replace" as const, "ignore" as const, "replace_except_schedule" as const),
    states: fc.array(state, { minLength: 1, maxLength: 4 }),
  },
  { requiredKeys: [] },
);
const jobError: fc.Arbitrary<JobError> = fc.record(
  {
    code: text,
    message: text,
    retryable: fc.boolean(),
    attempt: nonZeroInt32,
    occurredAt: date,
    backtrace: nonEmpty,
    details: nonEmptyObject,
  },
  { requiredKeys: ["code", "message", "retryable"] },
);

/** Jobs that jobFromProto(jobToProto(j)) gives back unchanged. */
const job: fc.Arbitrary<Job> = fc
  .record(
    {
      id: text,
      type: text,
      queue: text,
      args,
      meta: fc.oneof(fc.constant({}), jsonObject),
      state,
      priority: fc.oneof(fc.constant(0), int32),
      attempt: fc.oneof(fc.constant(0), int32),
      maxAttempts: nonZeroInt32,
      retry,
      unique,
      result: jsonValue,
      errors: fc.array(jobError, { maxLength: 3 }),
      createdAt: date,
      enqueuedAt: date,
      scheduledAt: date,
      startedAt: date,
      completedAt: date,
      cancelledAt: date,
      expiresAt: date,
      timeout: durationMs,
      visibilityTimeout: durationMs,
      tags: fc.oneof(
        fc.constant(null).map((): string[] => []),
        fc.array(text, { maxLength: 3 }),
      ),
      workflowId: nonEmpty,
      retryDelayMs: num,
      parentResults: jsonObject,
      specversion: nonEmpty,
    },
    { requiredKeys: ["id", "type", "queue", "args", "meta", "state", "priority", "attempt", "errors", "tags", "specversion"] },
  )
  .map((j) => {
    // One "finished" timestamp on the wire: the state says whether it is completedAt or cancelledAt.
    const { completedAt, cancelledAt, ...rest } = j;
    if (j.state === "cancelled") return cancelledAt ? { ...rest, cancelledAt } : rest;
    return completedAt ? { ...rest, completedAt } : rest;
  });

/** Jobs with zero values, reserved meta keys, unset jitter and the like: compared with the protobuf-es path. */
const anyJob: fc.Arbitrary<Job> = fc.record(
  {
    id: text,
    type: text,
    queue: text,
    args,
    meta: fc.oneof(jsonObject, fc.dictionary(fc.constantFrom("ojs.parent_results", "ojs.retry_delay_ms", "a", "1"), jsonValue) as fc.Arbitrary<JsonObject>),
    state,
    priority: fc.oneof(fc.constant(0), int32),
    attempt: fc.oneof(fc.constant(0), int32),
    maxAttempts: fc.oneof(fc.constant(0), int32),
    retry: fc.record(
      {
        maxAttempts: fc.oneof(fc.constant(0), int32),
        initialInterval: fc.double({ min: -1e12, max: 1e12, noNaN: true }),
        backoffCoefficient: fc.oneof(fc.constant(-0), fc.double()),
        maxInterval: fc.double({ min: 0, max: 1e9, noNaN: true }),
        jitter: fc.boolean(),
        nonRetryableErrors: fc.array(text, { maxLength: 2 }),
        onExhaustion: fc.constantFrom("discard" as const, "dead_letter" as const, "" as "discard", "other" as "discard"),
      },
      { requiredKeys: [] },
    ),
    unique: fc.record({ keys: fc.array(text, { maxLength: 2 }), states: fc.array(state, { maxLength: 3 }), period: fc.constant(0) }, { requiredKeys: [] }),
    result: fc.oneof(jsonValue, fc.constantFrom<JsonValue>({ $value: 1 }, { $value: { $value: null } }, {})),
    errors: fc.array(
      fc.record(
        { code: text, message: text, retryable: fc.boolean(), attempt: fc.constant(0), occurredAt: date, backtrace: fc.constant(""), details: jsonObject },
        { requiredKeys: ["code", "message"] },
      ),
      { maxLength: 2 },
    ),
    createdAt: date,
    completedAt: date,
    cancelledAt: date,
    timeout: fc.double({ min: -1e12, max: 1e12, noNaN: true }),
    tags: fc.array(text, { maxLength: 2 }),
    workflowId: text,
    retryDelayMs: num,
    parentResults: jsonValue as fc.Arbitrary<JsonObject>,
    specversion: text,
  },
  { requiredKeys: ["id", "type", "queue", "args", "meta", "state", "priority", "attempt", "errors", "tags", "specversion"] },
);

/**
 * Requests that requestFromProto(requestToProto(r)) gives back with the same
 * meaning: proto3 cannot tell priority 0, empty meta or empty tags from absent,
 * so those come back absent (see `meaning`). The zero values are generated often.
 */
const request: fc.Arbitrary<NormalizedJobRequest> = fc.record(
  {
    id: text,
    type: text,
    args,
    queue: nonEmpty,
    priority: fc.oneof(fc.constant(0), nonZeroInt32),
    timeout: durationMs,
    scheduledAt: date,
    expiresAt: fc.date({ min: new Date(0), max: new Date(8.64e15), noInvalidDate: true }),
    retry: fc.oneof(
      retry.map((r) => ({ ...r, backoffStrategy: "linear" as const })),
      retry,
      fc.constantFrom<RetryPolicy>(
        { maxAttempts: 3, jitter: true },
        { jitter: false, backoffStrategy: "constant" },
        { maxAttempts: 2, jitter: true, backoffStrategy: "polynomial" },
      ),
    ),
    unique,
    tags: fc.oneof(
      fc.constant(null).map((): string[] => []),
      fc.array(text, { minLength: 1, maxLength: 3 }),
    ),
    meta: fc.oneof(fc.constant({}), nonEmptyObject),
    visibilityTimeout: durationMs,
    schema: text,
    rateLimit: fc.record(
      {
        key: fc.constantFrom("api.stripe.com", "tenant:acme"),
        concurrency: fc.integer({ min: 0, max: 100 }),
        rate: fc.record({ limit: fc.integer({ min: 1, max: 1000 }), period: fc.integer({ min: 1, max: 3600 }).map((x) => x * 1000) }),
        onLimit: fc.constantFrom("wait" as const, "drop" as const),
      },
      { requiredKeys: ["key", "concurrency"] },
    ),
  },
  { requiredKeys: ["type", "args"] },
);

/** A request as it means: absent priority, meta and tags are 0, {} and []. */
function meaning<T extends Pick<NormalizedJobRequest, "priority" | "meta" | "tags">>(r: T): T {
  return { ...r, priority: r.priority ?? 0, meta: r.meta ?? {}, tags: r.tags ?? [] };
}
const batchMeaning = (b: { jobs: NormalizedJobRequest[]; defaults?: Omit<NormalizedJobRequest, "type" | "args"> }) => ({
  jobs: b.jobs.map(meaning),
  ...(b.defaults ? { defaults: meaning(b.defaults) } : {}),
});
const callsMeaning = (calls: EnqueueCall[]) => calls.map((c) => (c.request ? { ...c, request: meaning(c.request) } : c));

const anyRequest: fc.Arbitrary<NormalizedJobRequest> = fc.record(
  {
    id: text,
    type: text,
    args,
    queue: text,
    priority: fc.oneof(fc.constant(0), int32),
    timeout: fc.double({ min: 0, max: 1e10, noNaN: true }),
    scheduledAt: date,
    expiresAt: date,
    retry: fc.record(
      { maxAttempts: fc.oneof(fc.constant(0), int32), jitter: fc.boolean(), backoffStrategy: fc.constantFrom("exponential" as const, "linear" as const) },
      { requiredKeys: [] },
    ),
    unique: fc.record({ keys: fc.array(text, { maxLength: 2 }), onConflict: fc.constantFrom("ignore" as const) }, { requiredKeys: [] }),
    tags: fc.array(text, { maxLength: 2 }),
    meta: fc.oneof(
      jsonObject,
      fc.dictionary(
        fc.constantFrom("ojs.id", "ojs.schema", "ojs.expires_at", "ojs.backoff_strategy", "ojs.rate_limit", "x"),
        jsonValue,
      ) as fc.Arbitrary<JsonObject>,
    ),
    visibilityTimeout: fc.double({ min: 0, max: 1e10, noNaN: true }),
    schema: text,
  },
  { requiredKeys: ["type", "args"] },
);

const seq = fc.oneof(fc.constantFrom(0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1), fc.nat());
const callError: fc.Arbitrary<WireCallError> = fc.record(
  { code: text, message: text, retryable: fc.boolean(), details: fc.dictionary(key, text, { minKeys: 1, maxKeys: 3 }) },
  { requiredKeys: ["code", "message", "retryable"] },
);
const canonicalError = jobError; // jobErrorFromProto always says retryable
const enqueueCalls: fc.Arbitrary<EnqueueCall[]> = fc.array(
  fc.oneof({ weight: 5, arbitrary: fc.record({ seq, request }) }, { weight: 1, arbitrary: fc.record({ seq }) }),
  { maxLength: 4 },
);
const enqueueOutcomes: fc.Arbitrary<EnqueueOutcome[]> = fc.array(fc.oneof(fc.record({ seq, job }), fc.record({ seq, error: callError }), fc.record({ seq })), {
  maxLength: 4,
});
const workerId = fc.option(nonEmpty, { nil: undefined });
const settleCalls: fc.Arbitrary<SettleCall[]> = fc.array(
  fc.oneof(
    fc.record({ seq, workerId, ack: fc.record({ jobId: text, result: jsonValue }, { requiredKeys: ["jobId"] }) }, { requiredKeys: ["seq", "ack"] }),
    fc.record({ seq, workerId, nack: fc.record({ jobId: text, error: canonicalError }, { requiredKeys: ["jobId"] }) }, { requiredKeys: ["seq", "nack"] }),
    fc.record({ seq, workerId, started: fc.record({ jobId: text }) }, { requiredKeys: ["seq", "started"] }),
    fc.record({ seq, workerId }, { requiredKeys: ["seq"] }),
  ),
  { maxLength: 6 },
);
const nackResult: fc.Arbitrary<NackResult> = fc.record({ state, nextAttemptAt: date }, { requiredKeys: ["state"] });
const settleOutcomes: fc.Arbitrary<SettleOutcome[]> = fc.array(
  fc.oneof(
    fc.record({ seq, ack: fc.record({ acknowledged: fc.boolean() }) }),
    fc.record({ seq, nack: nackResult }),
    fc.record({ seq, error: callError }),
    fc.record({ seq, started: fc.constant(true as const) }),
    fc.record({ seq }),
  ),
  { maxLength: 6 },
);

// --- the protobuf-es path, domain <-> bytes ------------------------------------------------

const pb = {
  encodeJob: (j: Job) => toBinary(JobSchema, proto.jobToProto(j)),
  decodeJob: (b: Uint8Array) => proto.jobFromProto(fromBinary(JobSchema, b)),
  encodeRequest: (r: NormalizedJobRequest) => toBinary(EnqueueRequestSchema, proto.requestToProto(r, NOW)),
  decodeRequest: (b: Uint8Array) => {
    const p = fromBinary(EnqueueRequestSchema, b);
    return proto.requestFromProto(p.type, p.args, p.options, NOW);
  },
  ackRequest: (a: wire.WireAckRequest) =>
    create(AckRequestSchema, { jobId: a.jobId, ...(a.result !== undefined ? { result: proto.resultToStruct(a.result) } : {}) }),
  nackRequest: (n: wire.WireNackRequest) => create(NackRequestSchema, { jobId: n.jobId, ...(n.error ? { error: proto.jobErrorToProto(n.error) } : {}) }),
  nackResponse: (n: NackResult) =>
    create(NackResponseSchema, {
      state: proto.jobStateToProto(n.state),
      ...(n.nextAttemptAt ? { nextAttemptAt: values.timestampFromDate(n.nextAttemptAt) } : {}),
    }),
  callError: (e: WireCallError) => ({ code: e.code, message: e.message, retryable: e.retryable, details: { ...(e.details ?? {}) } }),
};
const pbAckFrom = (p: ReturnType<typeof pb.ackRequest>): wire.WireAckRequest =>
  p.result ? { jobId: p.jobId, result: proto.resultFromStruct(p.result) } : { jobId: p.jobId };
const pbNackFrom = (p: ReturnType<typeof pb.nackRequest>): wire.WireNackRequest =>
  p.error ? { jobId: p.jobId, error: proto.jobErrorFromProto(p.error) } : { jobId: p.jobId };
const pbNackResultFrom = (p: ReturnType<typeof pb.nackResponse>): NackResult => {
  const n: NackResult = { state: proto.jobStateFromProto(p.state) ?? "retryable" };
  if (p.nextAttemptAt) n.nextAttemptAt = values.dateFromTimestamp(p.nextAttemptAt);
  return n;
};
const pbCallErrorFrom = (e: PbCallError): WireCallError => {
  const out: WireCallError = { code: e.code, message: e.message, retryable: e.retryable };
  if (Object.keys(e.details).length) out.details = { ...e.details };
  return out;
};

const pbFrames = {
  encodeEnqueueRequest: (calls: EnqueueCall[]) =>
    toBinary(
      EnqueueStreamRequestSchema,
      create(EnqueueStreamRequestSchema, {
        calls: calls.map((c) => ({ seq: c.seq, ...(c.request ? { request: proto.requestToProto(c.request, NOW) } : {}) })),
      }),
    ),
  decodeEnqueueRequest: (b: Uint8Array): EnqueueCall[] =>
    fromBinary(EnqueueStreamRequestSchema, b).calls.map((c) =>
      c.request ? { seq: c.seq, request: proto.requestFromProto(c.request.type, c.request.args, c.request.options, NOW) } : { seq: c.seq },
    ),
  encodeEnqueueResponse: (os: EnqueueOutcome[]) =>
    toBinary(
      EnqueueStreamResponseSchema,
      create(EnqueueStreamResponseSchema, {
        outcomes: os.map((o) => ({
          seq: o.seq,
          result: o.job
            ? { case: "job" as const, value: proto.jobToProto(o.job) }
            : o.error
              ? { case: "error" as const, value: pb.callError(o.error) }
              : { case: undefined },
        })),
      }),
    ),
  decodeEnqueueResponse: (b: Uint8Array): EnqueueOutcome[] =>
    fromBinary(EnqueueStreamResponseSchema, b).outcomes.map((o) =>
      o.result.case === "job"
        ? { seq: o.seq, job: proto.jobFromProto(o.result.value) }
        : o.result.case === "error"
          ? { seq: o.seq, error: pbCallErrorFrom(o.result.value) }
          : { seq: o.seq },
    ),
  encodeSettleRequest: (calls: SettleCall[]) =>
    toBinary(
      SettleStreamRequestSchema,
      create(SettleStreamRequestSchema, {
        calls: calls.map((c) => ({
          seq: c.seq,
          workerId: c.workerId ?? "",
          op: c.ack
            ? { case: "ack" as const, value: pb.ackRequest(c.ack) }
            : c.nack
              ? { case: "nack" as const, value: pb.nackRequest(c.nack) }
              : c.started
                ? { case: "started" as const, value: { jobId: c.started.jobId } }
                : { case: undefined },
        })),
      }),
    ),
  decodeSettleRequest: (b: Uint8Array): SettleCall[] =>
    fromBinary(SettleStreamRequestSchema, b).calls.map((c) => {
      const out: SettleCall =
        c.op.case === "ack"
          ? { seq: c.seq, ack: pbAckFrom(c.op.value) }
          : c.op.case === "nack"
            ? { seq: c.seq, nack: pbNackFrom(c.op.value) }
            : c.op.case === "started"
              ? { seq: c.seq, started: { jobId: c.op.value.jobId } }
              : { seq: c.seq };
      if (c.workerId) out.workerId = c.workerId;
      return out;
    }),
  encodeSettleResponse: (os: SettleOutcome[]) =>
    toBinary(
      SettleStreamResponseSchema,
      create(SettleStreamResponseSchema, {
        outcomes: os.map((o) => ({
          seq: o.seq,
          result: o.ack
            ? { case: "ack" as const, value: { acknowledged: o.ack.acknowledged } }
            : o.nack
              ? { case: "nack" as const, value: pb.nackResponse(o.nack) }
              : o.error
                ? { case: "error" as const, value: pb.callError(o.error) }
                : o.started
                  ? { case: "started" as const, value: {} as Record<string, never> }
                  : { case: undefined },
        })),
      }),
    ),
  decodeSettleResponse: (b: Uint8Array): SettleOutcome[] =>
    fromBinary(SettleStreamResponseSchema, b).outcomes.map((o) =>
      o.result.case === "ack"
        ? { seq: o.seq, ack: { acknowledged: o.result.value.acknowledged } }
        : o.result.case === "nack"
          ? { seq: o.seq, nack: pbNackResultFrom(o.result.value) }
          : o.result.case === "error"
            ? { seq: o.seq, error: pbCallErrorFrom(o.result.value) }
            : o.result.case === "started"
              ? { seq: o.seq, started: true as const }
              : { seq: o.seq },
    ),
};

// --- other valid encodings of the same message --------------------------------------------

interface Raw {
  no: number;
  wt: number;
  /** Payload: varint bytes, fixed bytes, or the contents of a length-delimited field. */
  data: Uint8Array;
}

function readVarint(b: Uint8Array, p: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const c = b[p++]!;
    v += (c & 0x7f) * mul;
    mul *= 128;
    if (!(c & 0x80)) return [v, p];
  }
}

/** Past the end tag of the group that starts at `p`: a group's data is its fields and its end tag. */
function skipGroup(b: Uint8Array, p: number, no: number): number {
  for (;;) {
    const [tag, q] = readVarint(b, p);
    p = q;
    const wt = tag % 8;
    if (wt === 4) {
      if (Math.floor(tag / 8) !== no) throw new Error("mismatched group in a test fixture");
      return p;
    }
    if (wt === 0) while (b[p++]! & 0x80);
    else if (wt === 1) p += 8;
    else if (wt === 5) p += 4;
    else if (wt === 2) {
      const [n, q2] = readVarint(b, p);
      p = q2 + n;
    } else p = skipGroup(b, p, Math.floor(tag / 8));
  }
}

function parseRaw(b: Uint8Array): Raw[] {
  const out: Raw[] = [];
  let p = 0;
  while (p < b.length) {
    const [tag, q] = readVarint(b, p);
    p = q;
    const no = Math.floor(tag / 8);
    const wt = tag % 8;
    let start = p;
    if (wt === 0) while (b[p++]! & 0x80);
    else if (wt === 1) p += 8;
    else if (wt === 5) p += 4;
    else if (wt === 2) {
      const [n, q2] = readVarint(b, p);
      start = q2;
      p = q2 + n;
    } else if (wt === 3) p = skipGroup(b, p, no);
    else throw new Error(`unexpected wire type ${wt} in a test fixture`);
    out.push({ no, wt, data: b.subarray(start, p) });
  }
  return out;
}

/** A varint, sometimes one byte longer than it needs to be (still valid, up to ten bytes). */
function varint(v: number, rnd: () => number, overlong: boolean): number[] {
  const out: number[] = [];
  while (v > 0x7f) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  if (overlong && out.length < 5 && rnd() < 0.1) {
    out[out.length - 1]! |= 0x80;
    out.push(0);
  }
  return out;
}

function serialize(fields: Raw[], rnd: () => number): Uint8Array {
  const parts: number[] = [];
  for (const f of fields) {
    parts.push(...varint(f.no * 8 + f.wt, rnd, true));
    if (f.wt === 2) parts.push(...varint(f.data.length, rnd, true));
    parts.push(...f.data);
  }
  return new Uint8Array(parts);
}

function unknownField(rnd: () => number): Raw {
  const no = 1000 + Math.floor(rnd() * 50);
  switch (Math.floor(rnd() * 5)) {
    case 0:
      return { no, wt: 0, data: new Uint8Array([0xff, 0xff, 0x01]) };
    case 1:
      return { no, wt: 1, data: new Uint8Array(8).fill(7) };
    case 2:
      return { no, wt: 5, data: new Uint8Array([1, 2, 3, 4]) };
    case 3:
      // Length-delimited, shaped like a message with a field of the same number as a real one.
      return { no, wt: 2, data: new Uint8Array([0x0a, 0x02, 0x68, 0x69]) };
    default: {
      // A group: start tag (written by serialize), a varint field, a nested group, the end tag.
      const end = varint(no * 8 + 4, rnd, false);
      const inner = [0x08, 0x01, ...varint(7 * 8 + 3, rnd, false), 0x10, 0x02, ...varint(7 * 8 + 4, rnd, false)];
      return { no, wt: 3, data: new Uint8Array([...inner, ...end]) };
    }
  }
}

/**
 * Another encoding of `bytes` (a message of type `desc`) with the same meaning.
 * Fields with the same number keep their relative order (it matters for repeated
 * fields); everything else may move.
 */
function reencode(bytes: Uint8Array, desc: DescMessage, rnd: () => number): Uint8Array {
  const out: Raw[] = [];
  for (const f of parseRaw(bytes)) {
    const fd = desc.fields.find((x) => x.number === f.no);
    if (!fd || f.wt !== 2) {
      out.push(f);
      continue;
    }
    if (fd.fieldKind === "message") {
      const body = reencode(f.data, fd.message, rnd);
      if (rnd() < 0.3) {
        // Split a singular message in two occurrences: the decoder must merge them.
        const sub = parseRaw(body);
        const cut = Math.floor(rnd() * (sub.length + 1));
        out.push({ no: f.no, wt: 2, data: serialize(sub.slice(0, cut), rnd) }, { no: f.no, wt: 2, data: serialize(sub.slice(cut), rnd) });
      } else out.push({ no: f.no, wt: 2, data: body });
    } else if (fd.fieldKind === "list" && fd.listKind === "message") {
      out.push({ no: f.no, wt: 2, data: reencode(f.data, fd.message, rnd) });
    } else if (fd.fieldKind === "list" && fd.listKind === "enum") {
      // Packed to unpacked, or two packed runs.
      const items: Uint8Array[] = [];
      for (let p = 0; p < f.data.length;) {
        const s = p;
        while (f.data[p++]! & 0x80);
        items.push(f.data.subarray(s, p));
      }
      if (rnd() < 0.5) for (const it of items) out.push({ no: f.no, wt: 0, data: it });
      else {
        const cut = Math.floor(rnd() * (items.length + 1));
        const run = (xs: Uint8Array[]) => new Uint8Array(xs.flatMap((x) => [...x]));
        out.push({ no: f.no, wt: 2, data: run(items.slice(0, cut)) }, { no: f.no, wt: 2, data: run(items.slice(cut)) });
      }
    } else if (fd.fieldKind === "map" && fd.mapKind === "message") {
      const entry = parseRaw(f.data).map((e) => (e.no === 2 && e.wt === 2 ? { ...e, data: reencode(e.data, fd.message, rnd) } : e));
      if (rnd() < 0.5) entry.reverse();
      if (rnd() < 0.2) entry.splice(Math.floor(rnd() * (entry.length + 1)), 0, unknownField(rnd));
      out.push({ no: f.no, wt: 2, data: serialize(entry, rnd) });
    } else out.push(f);
  }
  // Interleave the fields at random, keeping each field number's own order.
  const queues = new Map<number, Raw[]>();
  for (const f of out) queues.set(f.no, [...(queues.get(f.no) ?? []), f]);
  const mixed: Raw[] = [];
  const live = [...queues.values()];
  while (live.length) {
    const i = Math.floor(rnd() * live.length);
    mixed.push(live[i]!.shift()!);
    if (live[i]!.length === 0) live.splice(i, 1);
  }
  const unknowns = Math.floor(rnd() * 3);
  for (let k = 0; k < unknowns; k++) mixed.splice(Math.floor(rnd() * (mixed.length + 1)), 0, unknownField(rnd));
  return serialize(mixed, rnd);
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): void {
  expect(Buffer.from(a).toString("hex")).toBe(Buffer.from(b).toString("hex"));
}

// --- ojs.v1.Job --------------------------------------------------------------------------

describe("wire codec: ojs.v1.Job", () => {
  it("writes the bytes protobuf-es writes, and each codec reads the other's bytes back to the same Job", () => {
    fc.assert(
      fc.property(job, (j) => {
        const bytes = wire.encodeJob(j);
        sameBytes(bytes, pb.encodeJob(j));
        expect(wire.decodeJob(bytes)).toEqual(j); // (1)
        expect(pb.decodeJob(bytes)).toEqual(j); // (2)
        expect(wire.decodeJob(pb.encodeJob(j))).toEqual(j); // (3)
      }),
      { numRuns: RUNS },
    );
  });

  it("means what jobToProto/jobFromProto mean for jobs that are not fixed points (zero values, reserved meta keys, cancelled, wrapped results)", () => {
    fc.assert(
      fc.property(anyJob, (j) => {
        const bytes = wire.encodeJob(j);
        sameBytes(bytes, pb.encodeJob(j));
        expect(wire.decodeJob(bytes)).toEqual(pb.decodeJob(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it("(4) reads any other valid encoding of the same Job the same way", () => {
    fc.assert(
      fc.property(job, fc.integer(), (j, seed) => {
        const other = reencode(pb.encodeJob(j), JobSchema, mulberry32(seed));
        expect(wire.decodeJob(other)).toEqual(j);
      }),
      { numRuns: RUNS },
    );
  });

  it("merges two concatenated Jobs as protobuf-es does (singular messages merged, repeated appended, scalars last)", () => {
    fc.assert(
      fc.property(anyJob, anyJob, (a, b) => {
        const bytes = concat(wire.encodeJob(a), wire.encodeJob(b));
        expect(wire.decodeJob(bytes)).toEqual(pb.decodeJob(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it("FetchResponse: a list of jobs, both ways", () => {
    fc.assert(
      fc.property(fc.array(job, { maxLength: 3 }), fc.integer(), (jobs, seed) => {
        const bytes = wire.encodeFetchResponse(jobs);
        sameBytes(bytes, toBinary(FetchResponseSchema, create(FetchResponseSchema, { jobs: jobs.map(proto.jobToProto) })));
        expect(wire.decodeFetchResponse(bytes)).toEqual(jobs);
        expect(fromBinary(FetchResponseSchema, bytes).jobs.map(proto.jobFromProto)).toEqual(jobs);
        expect(wire.decodeFetchResponse(reencode(bytes, FetchResponseSchema, mulberry32(seed)))).toEqual(jobs);
      }),
      { numRuns: 40 },
    );
  });
});

// --- ojs.v1.EnqueueRequest ----------------------------------------------------------------

describe("wire codec: ojs.v1.EnqueueRequest", () => {
  it("writes the bytes protobuf-es writes, and each codec reads the other's bytes back to the same request (zero values included)", () => {
    const zeros = { priority: 0, meta: 0, tags: 0 };
    fc.assert(
      fc.property(request, (r) => {
        if (r.priority === 0) zeros.priority++;
        if (r.meta && Object.keys(r.meta).length === 0) zeros.meta++;
        if (r.tags?.length === 0) zeros.tags++;
        const bytes = wire.encodeEnqueueRequest(r, NOW);
        sameBytes(bytes, pb.encodeRequest(r));
        expect(meaning(wire.decodeEnqueueRequest(bytes, NOW))).toEqual(meaning(r));
        expect(meaning(pb.decodeRequest(bytes))).toEqual(meaning(r));
        expect(meaning(wire.decodeEnqueueRequest(pb.encodeRequest(r), NOW))).toEqual(meaning(r));
      }),
      { numRuns: RUNS },
    );
    for (const [k, n] of Object.entries(zeros)) expect(n, k).toBeGreaterThan(RUNS / 10);
  });

  it("means what requestToProto/requestFromProto mean for any request (empty meta, reserved keys, ttl only, unset jitter)", () => {
    fc.assert(
      fc.property(anyRequest, (r) => {
        const bytes = wire.encodeEnqueueRequest(r, NOW);
        sameBytes(bytes, pb.encodeRequest(r));
        expect(wire.decodeEnqueueRequest(bytes, NOW)).toEqual(pb.decodeRequest(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it("(4) reads any other valid encoding of the same request the same way, and merges concatenations", () => {
    fc.assert(
      fc.property(request, anyRequest, fc.integer(), (r, s, seed) => {
        expect(meaning(wire.decodeEnqueueRequest(reencode(pb.encodeRequest(r), EnqueueRequestSchema, mulberry32(seed)), NOW))).toEqual(meaning(r));
        const both = concat(pb.encodeRequest(s), pb.encodeRequest(r));
        expect(wire.decodeEnqueueRequest(both, NOW)).toEqual(pb.decodeRequest(both));
      }),
      { numRuns: RUNS },
    );
  });
});

// --- ojs.v1.EnqueueBatchRequest / EnqueueBatchResponse ----------------------------------------------

describe("wire codec: EnqueueBatchRequest, EnqueueBatchResponse", () => {
  const defaults = fc.option(
    request.map(({ type: _t, args: _a, ...o }) => o),
    { nil: undefined },
  );
  const batchErrors = fc.dictionary(fc.oneof(fc.nat(1000), int32).map(String), fc.record({ code: text, message: text }), { maxKeys: 3 }) as fc.Arbitrary<
    Record<number, wire.WireBatchJobError>
  >;

  it("requests: entries and default options, both ways, and other encodings", () => {
    fc.assert(
      fc.property(fc.array(request, { maxLength: 3 }), defaults, fc.integer(), (jobs, d, seed) => {
        const bytes = wire.encodeEnqueueBatchRequest(jobs, d, NOW);
        const theirs = toBinary(
          EnqueueBatchRequestSchema,
          create(EnqueueBatchRequestSchema, {
            jobs: jobs.map((q) => ({ type: q.type, args: q.args.map(values.valueFromJson), options: proto.optionsToProto(q, NOW) })),
            ...(d ? { defaultOptions: proto.optionsToProto(d, NOW) } : {}),
          }),
        );
        sameBytes(bytes, theirs);
        const expected = batchMeaning(d ? { jobs, defaults: d } : { jobs });
        expect(batchMeaning(wire.decodeEnqueueBatchRequest(bytes, NOW))).toEqual(expected);
        const p = fromBinary(EnqueueBatchRequestSchema, bytes);
        expect(p.jobs.map((e) => meaning(proto.requestFromProto(e.type, e.args, e.options, NOW)))).toEqual(jobs.map(meaning));
        if (d) expect(meaning(proto.optionsFromProto(p.defaultOptions, NOW))).toEqual(meaning(d));
        expect(batchMeaning(wire.decodeEnqueueBatchRequest(reencode(bytes, EnqueueBatchRequestSchema, mulberry32(seed)), NOW))).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it("responses: jobs, count and per-entry errors, both ways, and other encodings", () => {
    fc.assert(
      fc.property(fc.array(job, { maxLength: 3 }), fc.option(int32, { nil: undefined }), batchErrors, fc.integer(), (jobs, count, errors, seed) => {
        const bytes = wire.encodeEnqueueBatchResponse(jobs, { ...(count !== undefined ? { count } : {}), errors });
        sameBytes(
          bytes,
          toBinary(EnqueueBatchResponseSchema, create(EnqueueBatchResponseSchema, { jobs: jobs.map(proto.jobToProto), count: count ?? jobs.length, errors })),
        );
        const expected = { jobs, count: count ?? jobs.length, errors };
        expect(wire.decodeEnqueueBatchResponse(bytes)).toEqual(expected);
        const p = fromBinary(EnqueueBatchResponseSchema, bytes);
        expect({
          jobs: p.jobs.map(proto.jobFromProto),
          count: p.count,
          errors: Object.fromEntries(Object.entries(p.errors).map(([k, v]) => [k, { code: v.code, message: v.message }])),
        }).toEqual(expected);
        expect(wire.decodeEnqueueBatchResponse(reencode(bytes, EnqueueBatchResponseSchema, mulberry32(seed)))).toEqual(expected);
      }),
      { numRuns: 40 },
    );
  });
});

// --- ojs.v1 worker messages ------------------------------------------------------------------

describe("wire codec: AckRequest, AckResponse, NackRequest, NackResponse", () => {
  it("AckRequest: any result, wrapped in {$value} unless a plain object (objects shaped like the wrapper too)", () => {
    const result = fc.option(fc.oneof(jsonValue, fc.constantFrom<JsonValue>({ $value: 1 }, { $value: { $value: null } }, {}, [], 0, "", false, null)), {
      nil: undefined,
    });
    fc.assert(
      fc.property(text, result, (jobId, r) => {
        const a: wire.WireAckRequest = r === undefined ? { jobId } : { jobId, result: r };
        const bytes = wire.encodeAckRequest(a);
        sameBytes(bytes, toBinary(AckRequestSchema, pb.ackRequest(a)));
        expect(wire.decodeAckRequest(bytes)).toEqual(a);
        expect(pbAckFrom(fromBinary(AckRequestSchema, bytes))).toEqual(a);
      }),
      { numRuns: RUNS },
    );
  });

  it("NackRequest: the error as jobErrorToProto writes it; an unset retryable goes out as false", () => {
    fc.assert(
      fc.property(text, fc.option(jobError, { nil: undefined }), fc.integer(), (jobId, error, seed) => {
        const n: wire.WireNackRequest = error ? { jobId, error } : { jobId };
        const bytes = wire.encodeNackRequest(n);
        sameBytes(bytes, toBinary(NackRequestSchema, pb.nackRequest(n)));
        expect(wire.decodeNackRequest(bytes)).toEqual(n);
        expect(pbNackFrom(fromBinary(NackRequestSchema, bytes))).toEqual(n);
        expect(wire.decodeNackRequest(reencode(bytes, NackRequestSchema, mulberry32(seed)))).toEqual(n);
      }),
      { numRuns: RUNS },
    );
    const { retryable: _, ...unset } = { code: "c", message: "m", retryable: true };
    expect(wire.decodeNackRequest(wire.encodeNackRequest({ jobId: "j", error: unset as JobError })).error?.retryable).toBe(false);
  });

  it("AckResponse and NackResponse, both ways", () => {
    fc.assert(
      fc.property(fc.boolean(), nackResult, (acknowledged, n) => {
        const a = wire.encodeAckResponse({ acknowledged });
        sameBytes(a, toBinary(AckResponseSchema, create(AckResponseSchema, { acknowledged })));
        expect(wire.decodeAckResponse(a)).toEqual({ acknowledged });
        const b = wire.encodeNackResponse(n);
        sameBytes(b, toBinary(NackResponseSchema, pb.nackResponse(n)));
        expect(wire.decodeNackResponse(b)).toEqual(n);
        expect(pbNackResultFrom(fromBinary(NackResponseSchema, b))).toEqual(n);
      }),
      { numRuns: RUNS },
    );
  });
});

// --- ojsconnect.v1 fast-path frames --------------------------------------------------------------

describe("wire codec: fast-path frames", () => {
  it("EnqueueStreamRequest: calls of {seq, request}", () => {
    fc.assert(
      fc.property(enqueueCalls, fc.integer(), (calls, seed) => {
        const bytes = wire.encodeEnqueueStreamRequest(calls, NOW);
        sameBytes(bytes, pbFrames.encodeEnqueueRequest(calls));
        expect(callsMeaning(wire.decodeEnqueueStreamRequest(bytes, NOW))).toEqual(callsMeaning(calls));
        expect(callsMeaning(pbFrames.decodeEnqueueRequest(bytes))).toEqual(callsMeaning(calls));
        expect(callsMeaning(wire.decodeEnqueueStreamRequest(reencode(bytes, EnqueueStreamRequestSchema, mulberry32(seed)), NOW))).toEqual(callsMeaning(calls));
      }),
      { numRuns: 60 },
    );
  });

  it("EnqueueStreamResponse: outcomes of {seq, job | error}", () => {
    fc.assert(
      fc.property(enqueueOutcomes, fc.integer(), (outcomes, seed) => {
        const bytes = wire.encodeEnqueueStreamResponse(outcomes);
        sameBytes(bytes, pbFrames.encodeEnqueueResponse(outcomes));
        expect(wire.decodeEnqueueStreamResponse(bytes)).toEqual(outcomes);
        expect(pbFrames.decodeEnqueueResponse(bytes)).toEqual(outcomes);
        expect(wire.decodeEnqueueStreamResponse(reencode(bytes, EnqueueStreamResponseSchema, mulberry32(seed)))).toEqual(outcomes);
      }),
      { numRuns: 60 },
    );
  });

  it("SettleStreamRequest: calls of {seq, ack | nack | started, workerId}", () => {
    fc.assert(
      fc.property(settleCalls, fc.integer(), (calls, seed) => {
        const bytes = wire.encodeSettleStreamRequest(calls);
        sameBytes(bytes, pbFrames.encodeSettleRequest(calls));
        expect(wire.decodeSettleStreamRequest(bytes)).toEqual(calls);
        expect(pbFrames.decodeSettleRequest(bytes)).toEqual(calls);
        expect(wire.decodeSettleStreamRequest(pbFrames.encodeSettleRequest(calls))).toEqual(calls);
        expect(wire.decodeSettleStreamRequest(reencode(bytes, SettleStreamRequestSchema, mulberry32(seed)))).toEqual(calls);
      }),
      { numRuns: RUNS },
    );
  });

  it("SettleStreamResponse: outcomes of {seq, ack | nack | error | started}", () => {
    fc.assert(
      fc.property(settleOutcomes, fc.integer(), (outcomes, seed) => {
        const bytes = wire.encodeSettleStreamResponse(outcomes);
        sameBytes(bytes, pbFrames.encodeSettleResponse(outcomes));
        expect(wire.decodeSettleStreamResponse(bytes)).toEqual(outcomes);
        expect(pbFrames.decodeSettleResponse(bytes)).toEqual(outcomes);
        expect(wire.decodeSettleStreamResponse(reencode(bytes, SettleStreamResponseSchema, mulberry32(seed)))).toEqual(outcomes);
      }),
      { numRuns: RUNS },
    );
  });

  it("a oneof member that follows another replaces it; the same member again merges (as protobuf-es reads them)", () => {
    fc.assert(
      fc.property(settleOutcomes, settleOutcomes, enqueueOutcomes, enqueueOutcomes, (a, b, c, d) => {
        // Re-tag every outcome with seq 1 and concatenate their bodies into one outcome.
        const squash = (bytes: Uint8Array) => {
          const bodies = parseRaw(bytes).map((f) => f.data);
          const body = concat(new Uint8Array([0x08, 0x01]), bodies.reduce(concat, new Uint8Array()));
          return serialize([{ no: 1, wt: 2, data: body }], () => 1);
        };
        const s = squash(concat(wire.encodeSettleStreamResponse(a), wire.encodeSettleStreamResponse(b)));
        expect(wire.decodeSettleStreamResponse(s)).toEqual(pbFrames.decodeSettleResponse(s));
        const e = squash(concat(wire.encodeEnqueueStreamResponse(c), wire.encodeEnqueueStreamResponse(d)));
        expect(wire.decodeEnqueueStreamResponse(e)).toEqual(pbFrames.decodeEnqueueResponse(e));
      }),
      { numRuns: 60 },
    );
  });
});

// --- building blocks -----------------------------------------------------------------------------

describe("wire codec: Value, Struct, ListValue, Timestamp, Duration", () => {
  it("Value / Struct / ListValue: protobuf-es's bytes, both ways, and other encodings", () => {
    fc.assert(
      fc.property(jsonValue, jsonObject, args, fc.integer(), (v, o, list, seed) => {
        const vb = wire.encodeValue(v);
        sameBytes(vb, toBinary(ValueSchema, values.valueFromJson(v)));
        expect(wire.decodeValue(vb)).toEqual(v);
        expect(values.valueToJson(fromBinary(ValueSchema, vb))).toEqual(v);
        expect(wire.decodeValue(reencode(vb, ValueSchema, mulberry32(seed)))).toEqual(v);
        const sb = wire.encodeStruct(o);
        sameBytes(sb, toBinary(StructSchema, values.structFromJson(o)));
        expect(wire.decodeStruct(sb)).toEqual(o);
        expect(wire.decodeStruct(reencode(sb, StructSchema, mulberry32(seed)))).toEqual(o);
        const lb = wire.encodeListValue(list);
        sameBytes(lb, toBinary(ListValueSchema, create(ListValueSchema, { values: list.map(values.valueFromJson) })));
        expect(wire.decodeListValue(lb)).toEqual(list);
      }),
      { numRuns: RUNS },
    );
  });

  it("two Values concatenated merge as protobuf-es merges them (struct into struct, list onto list, anything else replaces)", () => {
    fc.assert(
      fc.property(jsonValue, jsonValue, jsonObject, jsonObject, (a, b, o, p) => {
        const v = concat(wire.encodeValue(a), wire.encodeValue(b));
        expect(wire.decodeValue(v)).toEqual(values.valueToJson(fromBinary(ValueSchema, v)));
        const st = concat(wire.encodeStruct(o), wire.encodeStruct(p));
        expect(wire.decodeStruct(st)).toEqual(values.structToJson(fromBinary(StructSchema, st)));
      }),
      { numRuns: RUNS },
    );
  });

  it("Timestamp / Duration: the millisecond split of values.ts, both ways", () => {
    fc.assert(
      fc.property(date, fc.oneof(durationMs, fc.double({ min: -1e15, max: 1e15, noNaN: true })), (d, ms) => {
        const tb = wire.encodeTimestamp(d);
        sameBytes(tb, toBinary(TimestampSchema, values.timestampFromDate(d)));
        expect(wire.decodeTimestamp(tb)).toEqual(d);
        const db = wire.encodeDuration(ms);
        sameBytes(db, toBinary(DurationSchema, values.durationFromMs(ms)));
        expect(Object.is(wire.decodeDuration(db), values.msFromDuration(fromBinary(DurationSchema, db)))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("int64 seconds anywhere in their range read as Number(bigint) does (rounded beyond 2^53)", () => {
    const int64 = fc.oneof(
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.constantFrom(2n ** 53n + 1n, 2n ** 53n + 3n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), -1n, 0n),
    );
    fc.assert(
      fc.property(int64, int32, (seconds, nanos) => {
        const d = toBinary(DurationSchema, create(DurationSchema, { seconds, nanos }));
        expect(Object.is(wire.decodeDuration(d), values.msFromDuration(fromBinary(DurationSchema, d)))).toBe(true);
        const t = toBinary(TimestampSchema, create(TimestampSchema, { seconds, nanos }));
        expect(Object.is(wire.decodeTimestamp(t).getTime(), values.dateFromTimestamp(fromBinary(TimestampSchema, t)).getTime())).toBe(true);
        // In a Job too: timeout is a Duration, created_at a Timestamp.
        const j = toBinary(JobSchema, create(JobSchema, { timeout: { seconds, nanos }, createdAt: { seconds, nanos } }));
        const mine = wire.decodeJob(j);
        const theirs = pb.decodeJob(j);
        expect(Object.is(mine.timeout, theirs.timeout)).toBe(true);
        expect(Object.is(mine.createdAt?.getTime(), theirs.createdAt?.getTime())).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
