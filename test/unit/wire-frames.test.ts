/** The hand-written codec against the protobuf-es path for the fast-path frames and the well-known types; method and properties as in wire.test.ts. */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DurationSchema, ListValueSchema, StructSchema, TimestampSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JobSchema } from "../../gen/ojs/v1/job_pb.js";
import {
  EnqueueStreamRequestSchema,
  EnqueueStreamResponseSchema,
  SettleStreamRequestSchema,
  SettleStreamResponseSchema,
} from "../../gen/ojsconnect/v1/fastpath_pb.js";
import * as values from "../../src/codec/values.js";
import * as wire from "../../src/codec/wire/index.js";
import type { Job } from "../../src/model/job.js";
import {
  RUNS,
  NOW,
  jsonValue,
  jsonObject,
  args,
  date,
  int32,
  durationMs,
  job,
  request,
  callsMeaning,
  seq,
  enqueueCalls,
  enqueueOutcomes,
  workerId,
  settleCalls,
  settleOutcomes,
} from "../support/wire-arbitraries.js";
import { pb, pbFrames } from "../support/wire-reference.js";
import { parseRaw, serialize, reencode, mulberry32, concat, sameBytes } from "../support/wire-reencode.js";

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
