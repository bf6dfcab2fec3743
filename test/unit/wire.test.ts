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
 * The arbitraries, the protobuf-es path and the re-encoder live in test/support/wire-*.ts;
 * the fast-path frames and the well-known types are tested in wire-frames.test.ts.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EnqueueBatchRequestSchema, EnqueueBatchResponseSchema, EnqueueRequestSchema, JobSchema } from "../../gen/ojs/v1/job_pb.js";
import { AckRequestSchema, AckResponseSchema, FetchResponseSchema, NackRequestSchema, NackResponseSchema } from "../../gen/ojs/v1/worker_pb.js";
import * as proto from "../../src/codec/proto.js";
import * as values from "../../src/codec/values.js";
import * as wire from "../../src/codec/wire/index.js";
import type { Job, JobError } from "../../src/model/job.js";
import type { JsonValue } from "../../src/model/json.js";
import {
  RUNS,
  NOW,
  text,
  jsonValue,
  args,
  int32,
  jobError,
  job,
  anyJob,
  request,
  meaning,
  batchMeaning,
  anyRequest,
  nackResult,
} from "../support/wire-arbitraries.js";
import { pb, pbAckFrom, pbNackFrom, pbNackResultFrom } from "../support/wire-reference.js";
import { reencode, mulberry32, concat, sameBytes } from "../support/wire-reencode.js";

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
