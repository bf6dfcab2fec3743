import { fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EnqueueRequestSchema, JobSchema } from "../../gen/ojs/v1/job_pb.js";
import { AckRequestSchema } from "../../gen/ojs/v1/worker_pb.js";
import { jobFromJson, jobRequestFromJson, jobToJson, requestToJson } from "../../src/codec/json.js";
import { jobFromProto, jobToProto, requestFromProto, requestToProto, resultFromStruct, resultToStruct } from "../../src/codec/proto.js";
import type { Job, JobState, NormalizedJobRequest } from "../../src/model/job.js";
import type { JsonObject, JsonValue } from "../../src/model/json.js";
import { normalizeJobRequest } from "../../src/model/schemas.js";
import { jsonValues } from "../support/json-arbitrary.js";

// JSON values as JSON.parse produces them: no -0 (JSON has no negative zero) and no
// undefined; keys with any unicode, including "__proto__"-free names (JSON.parse keeps
// them as own keys, which plain object spreads would not).
const key = fc.string({ unit: "grapheme", maxLength: 8 }).filter((k) => k !== "__proto__");
const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(0, 1, -1, 0.5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1e-7, 3.14),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("", "0", "false", "null", "é", "𝄞", "\u0000", "a\nb"),
);
const jsonValue = jsonValues(scalar, key);
const jsonObject = fc.dictionary(key, jsonValue, { maxKeys: 6 }) as fc.Arbitrary<JsonObject>;
const args = fc.array(jsonValue, { maxLength: 6 });

const STATES: JobState[] = ["scheduled", "available", "pending", "active", "completed", "retryable", "cancelled", "discarded"];
const date = fc.integer({ min: 0, max: 4102444800000 }).map((ms) => new Date(ms));

const job: fc.Arbitrary<Job> = fc.record(
  {
    id: fc.uuid(),
    type: fc.constantFrom("email.send", "a.b_c", "x"),
    queue: fc.constantFrom("default", "q-1", "a.b"),
    args,
    meta: fc.oneof(fc.constant({}), jsonObject),
    state: fc.constantFrom(...STATES),
    priority: fc.oneof(fc.constant(0), fc.integer({ min: -100, max: 100 })),
    attempt: fc.nat(50),
    maxAttempts: fc.integer({ min: 1, max: 50 }),
    retry: fc.record({
      maxAttempts: fc.integer({ min: 1, max: 10 }),
      initialInterval: fc.integer({ min: 1, max: 100_000 }),
      backoffCoefficient: fc.double({ min: 1, max: 4, noNaN: true }),
      maxInterval: fc.integer({ min: 100_000, max: 1_000_000 }),
      jitter: fc.boolean(),
      nonRetryableErrors: fc.array(fc.constantFrom("auth.*", "validation"), { minLength: 1, maxLength: 2 }),
      onExhaustion: fc.constantFrom("discard" as const, "dead_letter" as const),
    }),
    result: jsonValue,
    errors: fc.array(
      fc.record({
        code: fc.constantFrom("boom", "smtp.timeout"),
        message: fc.string(),
        retryable: fc.boolean(),
        attempt: fc.integer({ min: 1, max: 9 }),
        occurredAt: date,
      }),
      { maxLength: 3 },
    ),
    createdAt: date,
    startedAt: date,
    timeout: fc.integer({ min: 1, max: 3_600_000 }),
    tags: fc.oneof(
      fc.constant(null).map((): string[] => []),
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
    ),
    workflowId: fc.uuid(),
    parentResults: jsonObject,
    specversion: fc.constant("1.0"),
  },
  { requiredKeys: ["id", "type", "queue", "args", "meta", "state", "priority", "attempt", "errors", "tags", "specversion"] },
);

const viaProto = (j: Job): Job => jobFromProto(fromBinary(JobSchema, toBinary(JobSchema, jobToProto(j))));
const viaJson = (j: Job): Job => jobFromJson(JSON.parse(JSON.stringify(jobToJson(j))) as JsonObject);

describe("codec round trips (property-based)", () => {
  it("any JSON args, meta and result survive the proto encoding exactly", () => {
    fc.assert(
      fc.property(job, (j) => {
        expect(viaProto(j)).toEqual(j);
      }),
      { numRuns: 300 },
    );
  });

  it("any JSON args, meta and result survive the JSON encoding exactly", () => {
    fc.assert(
      fc.property(job, (j) => {
        expect(viaJson(j)).toEqual(j);
      }),
      { numRuns: 300 },
    );
  });

  it("both encodings give the same Job", () => {
    fc.assert(
      fc.property(job, (j) => {
        expect(viaProto(j)).toEqual(viaJson(j));
      }),
      { numRuns: 200 },
    );
  });

  it("a result of any JSON type survives the Struct wrapping, including objects shaped like the wrapper", () => {
    fc.assert(
      fc.property(fc.oneof(jsonValue, fc.constant({ $value: 1 }), fc.constant({ $value: { $value: null } })), (r) => {
        const wire = fromBinary(AckRequestSchema, toBinary(AckRequestSchema, { $typeName: "ojs.v1.AckRequest", jobId: "x", result: resultToStruct(r) }));
        expect(resultFromStruct(wire.result!)).toEqual(r);
      }),
    );
  });

  it("enqueue requests round-trip through the proto and through JSON, zero priority, empty meta and empty tags included", () => {
    const req: fc.Arbitrary<NormalizedJobRequest> = fc.record(
      {
        id: fc.uuid({ version: 7 }), // A request id must be a lowercase UUIDv7.
        type: fc.constantFrom("email.send", "report.build"),
        args,
        queue: fc.constantFrom("default", "mail"),
        // Zero values on purpose, often: where proto3 cannot tell zero from missing.
        priority: fc.oneof(fc.constant(0), fc.integer({ min: -100, max: 100 })),
        timeout: fc.integer({ min: 1, max: 100_000 }),
        scheduledAt: date,
        meta: fc.oneof(fc.constant({}), fc.dictionary(key, jsonValue, { maxKeys: 6 })) as fc.Arbitrary<JsonObject>,
        tags: fc.oneof(
          fc.constant(null).map((): string[] => []),
          fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
        ),
        visibilityTimeout: fc.integer({ min: 1, max: 100_000 }),
        schema: fc.constant("email.v1"),
        rateLimit: fc.record(
          {
            key: fc.constantFrom("api.stripe.com", "tenant:acme", "k_1-2"),
            concurrency: fc.integer({ min: 0, max: 100 }),
            rate: fc.record({ limit: fc.integer({ min: 1, max: 1000 }), period: fc.integer({ min: 1, max: 86_400 }).map((s) => s * 1000) }),
            throttle: fc.record({ limit: fc.integer({ min: 1, max: 1000 }), period: fc.integer({ min: 1, max: 3600 }).map((s) => s * 1000) }),
            onLimit: fc.constantFrom("wait" as const, "reschedule" as const, "drop" as const),
          },
          { requiredKeys: ["key", "concurrency"] },
        ),
      },
      { requiredKeys: ["type", "args"] },
    );
    // proto3 cannot tell 0, {} and [] from absent; what must survive is the meaning: absent is the default.
    const meaning = (r: NormalizedJobRequest) => ({ ...r, priority: r.priority ?? 0, meta: r.meta ?? {}, tags: r.tags ?? [] });
    const zeros = { priority: 0, meta: 0, tags: 0 };
    fc.assert(
      fc.property(req, (r) => {
        if (r.priority === 0) zeros.priority++;
        if (r.meta && Object.keys(r.meta).length === 0) zeros.meta++;
        if (r.tags && r.tags.length === 0) zeros.tags++;
        const pb = fromBinary(EnqueueRequestSchema, toBinary(EnqueueRequestSchema, requestToProto(r)));
        expect(meaning(requestFromProto(pb.type, pb.args, pb.options))).toEqual(meaning(r));
        const { request } = jobRequestFromJson(JSON.parse(JSON.stringify(requestToJson(r))) as JsonObject);
        expect(meaning(normalizeJobRequest(request))).toEqual(meaning(r));
      }),
      { numRuns: 300 },
    );
    // The zero values were really in the runs, not just allowed by the generator.
    for (const [k, n] of Object.entries(zeros)) expect(n, k).toBeGreaterThan(20);
  });

  it("keeps the values the official JS SDK loses: 0, false, empty string, null", () => {
    const j: Job = {
      id: "019539a4-0000-7000-8000-000000000001",
      type: "t",
      queue: "default",
      args: [0, false, "", null, 1, "x", true, [], {}],
      meta: { zero: 0, no: false, empty: "", nothing: null, deep: { a: { b: { c: { d: 0 } } } } },
      state: "completed",
      priority: 0,
      attempt: 1,
      result: 0,
      errors: [],
      tags: [],
      specversion: "1.0",
    };
    expect(viaProto(j)).toEqual(j);
    expect(viaJson(j)).toEqual(j);
    for (const r of [false, "", null, [0], { a: false }]) {
      expect(viaProto({ ...j, result: r }).result).toEqual(r);
      expect(viaJson({ ...j, result: r }).result).toEqual(r);
    }
  });
});
