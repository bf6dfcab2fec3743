/** Arbitraries of the domain model for the wire codec tests (test/unit/wire*.test.ts): values that are fixed points of the proto mapping, and "any" values that are not. */
import fc from "fast-check";
import { it } from "vitest";
import type { EnqueueCall, EnqueueOutcome, SettleCall, SettleOutcome, WireCallError } from "../../src/codec/wire/index.js";
import type { Job, JobError, JobState, NormalizedJobRequest, RetryPolicy, UniquePolicy } from "../../src/model/job.js";
import type { JsonObject, JsonValue } from "../../src/model/json.js";
import type { NackResult } from "../../src/model/system.js";
import { jsonValues } from "./json-arbitrary.js";

export const RUNS = 120;
export const NOW = 1_790_000_000_000;

// --- arbitraries -------------------------------------------------------------------------

// Strings of every kind of UTF-8 sequence, and long ones that put a length prefix on
// either side of 128 bytes. A leading U+FEFF is left to wire-edges.test.ts: protobuf-es drops it.
export const longText = fc.array(fc.constantFrom("a", "é", "€", "𝄞", " "), { minLength: 20, maxLength: 400 }).map((a) => a.join(""));
export const text = fc
  .oneof(
    { weight: 5, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 12 }) },
    { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constantFrom("", "0", "false", "null", "é", "𝄞", "\u0000", "a\nb", "\uffff", "\u{10ffff}", "x".repeat(127), "x".repeat(128)) },
    { weight: 1, arbitrary: longText },
  )
  .filter((s) => !s.startsWith("\ufeff"));
export const nonEmpty = text.filter((s) => s !== "");
export const key = text.filter((k) => k !== "__proto__");
// Every double a Value can carry: the binary paths keep -0, NaN and the infinities bit for bit.
export const num = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1, -1, 0.1, Number.MAX_SAFE_INTEGER + 2, -(2 ** 53) - 2, 1e308, 5e-324, Number.MAX_VALUE, 2 ** 63, NaN, Infinity, -Infinity),
);
export const jsonValue = jsonValues(fc.oneof(fc.constant(null), fc.boolean(), num, text), key);
export const jsonObject = fc.dictionary(key, jsonValue, { maxKeys: 6 }) as fc.Arbitrary<JsonObject>;
export const nonEmptyObject = fc.dictionary(key, jsonValue, { minKeys: 1, maxKeys: 4 }) as fc.Arbitrary<JsonObject>;
export const args = fc.array(jsonValue, { maxLength: 6 });

export const STATES: JobState[] = ["scheduled", "available", "pending", "active", "completed", "retryable", "cancelled", "discarded"];
export const state = fc.constantFrom(...STATES);
// Before and after 1970: negative seconds are ten-byte varints.
export const date = fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true });
export const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
export const nonZeroInt32 = int32.filter((n) => n !== 0);
// Whole milliseconds survive the seconds/nanos split exactly, negative ones too.
export const durationMs = fc.oneof(fc.integer({ min: 0, max: 3_600_000 }), fc.integer({ min: -1e13, max: 1e13 }), fc.constantFrom(0, 1, 999, 1000, 1001, 1.5));

export const retry: fc.Arbitrary<RetryPolicy> = fc.record(
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
export const unique: fc.Arbitrary<UniquePolicy> = fc.record(
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
export const jobError: fc.Arbitrary<JobError> = fc.record(
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
export const job: fc.Arbitrary<Job> = fc
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
export const anyJob: fc.Arbitrary<Job> = fc.record(
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
export const request: fc.Arbitrary<NormalizedJobRequest> = fc.record(
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
export function meaning<T extends Pick<NormalizedJobRequest, "priority" | "meta" | "tags">>(r: T): T {
  return { ...r, priority: r.priority ?? 0, meta: r.meta ?? {}, tags: r.tags ?? [] };
}
export const batchMeaning = (b: { jobs: NormalizedJobRequest[]; defaults?: Omit<NormalizedJobRequest, "type" | "args"> }) => ({
  jobs: b.jobs.map(meaning),
  ...(b.defaults ? { defaults: meaning(b.defaults) } : {}),
});
export const callsMeaning = (calls: EnqueueCall[]) => calls.map((c) => (c.request ? { ...c, request: meaning(c.request) } : c));

export const anyRequest: fc.Arbitrary<NormalizedJobRequest> = fc.record(
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

export const seq = fc.oneof(fc.constantFrom(0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1), fc.nat());
export const callError: fc.Arbitrary<WireCallError> = fc.record(
  { code: text, message: text, retryable: fc.boolean(), details: fc.dictionary(key, text, { minKeys: 1, maxKeys: 3 }) },
  { requiredKeys: ["code", "message", "retryable"] },
);
export const canonicalError = jobError; // jobErrorFromProto always says retryable
export const enqueueCalls: fc.Arbitrary<EnqueueCall[]> = fc.array(
  fc.oneof({ weight: 5, arbitrary: fc.record({ seq, request }) }, { weight: 1, arbitrary: fc.record({ seq }) }),
  { maxLength: 4 },
);
export const enqueueOutcomes: fc.Arbitrary<EnqueueOutcome[]> = fc.array(
  fc.oneof(fc.record({ seq, job }), fc.record({ seq, error: callError }), fc.record({ seq })),
  {
    maxLength: 4,
  },
);
export const workerId = fc.option(nonEmpty, { nil: undefined });
export const settleCalls: fc.Arbitrary<SettleCall[]> = fc.array(
  fc.oneof(
    fc.record({ seq, workerId, ack: fc.record({ jobId: text, result: jsonValue }, { requiredKeys: ["jobId"] }) }, { requiredKeys: ["seq", "ack"] }),
    fc.record({ seq, workerId, nack: fc.record({ jobId: text, error: canonicalError }, { requiredKeys: ["jobId"] }) }, { requiredKeys: ["seq", "nack"] }),
    fc.record({ seq, workerId, started: fc.record({ jobId: text }) }, { requiredKeys: ["seq", "started"] }),
    fc.record({ seq, workerId }, { requiredKeys: ["seq"] }),
  ),
  { maxLength: 6 },
);
export const nackResult: fc.Arbitrary<NackResult> = fc.record({ state, nextAttemptAt: date }, { requiredKeys: ["state"] });
export const settleOutcomes: fc.Arbitrary<SettleOutcome[]> = fc.array(
  fc.oneof(
    fc.record({ seq, ack: fc.record({ acknowledged: fc.boolean() }) }),
    fc.record({ seq, nack: nackResult }),
    fc.record({ seq, error: callError }),
    fc.record({ seq, started: fc.constant(true as const) }),
    fc.record({ seq }),
  ),
  { maxLength: 6 },
);
