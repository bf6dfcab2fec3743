/**
 * readRetry remembers the last RetryPolicy body it read (src/codec/wire/policies.ts): a body with
 * the same bytes is not read again but copied. Whatever the sequence of policies, each read must
 * equal protobuf-es's reading of its bytes, and no two reads may share an object.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RetryPolicySchema } from "../../gen/ojs/v1/job_pb.js";
import { retryFromProto, retryToProto } from "../../src/codec/proto.js";
import { fromBinary } from "@bufbuild/protobuf";
import { readRetry } from "../../src/codec/wire/policies.js";
import { Reader } from "../../src/codec/wire/reader.js";
import type { RetryPolicy } from "../../src/model/job.js";

const policy: fc.Arbitrary<RetryPolicy> = fc.record(
  {
    maxAttempts: fc.integer({ min: 1, max: 5 }),
    initialInterval: fc.constantFrom(500, 1_000),
    backoffCoefficient: fc.constantFrom(1.5, 2),
    maxInterval: fc.constantFrom(60_000, 300_000),
    jitter: fc.boolean(),
    nonRetryableErrors: fc.array(fc.constantFrom("a", "b.*"), { maxLength: 2 }),
    onExhaustion: fc.constantFrom("discard" as const, "dead_letter" as const),
  },
  { requiredKeys: [] },
);

/** A body among other bytes, as it sits inside a Job: the reader must stop at its end. */
function read(bytes: Uint8Array): RetryPolicy {
  const framed = new Uint8Array(bytes.length + 4);
  framed.set([0xff, 0xfe], 0);
  framed.set(bytes, 2);
  framed.set([0xfd, 0xfc], bytes.length + 2);
  const r = new Reader(framed);
  r.pos = 2;
  const p = readRetry(r, bytes.length + 2);
  expect(r.pos).toBe(bytes.length + 2);
  return p;
}

describe("readRetry: the same body twice", () => {
  it("reads every policy of a sequence as protobuf-es does, repeats included, sharing nothing", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 12 }), fc.array(policy, { minLength: 4, maxLength: 4 }), (order, policies) => {
        const bodies = policies.map((p) => toBinary(RetryPolicySchema, create(RetryPolicySchema, retryToProto(p))));
        let prev: RetryPolicy | undefined;
        for (const i of order) {
          const got = read(bodies[i]!);
          expect(got).toStrictEqual(retryFromProto(fromBinary(RetryPolicySchema, bodies[i]!)));
          if (prev) {
            expect(got).not.toBe(prev);
            if (got.nonRetryableErrors) expect(got.nonRetryableErrors).not.toBe(prev.nonRetryableErrors);
          }
          prev = got;
        }
      }),
      { numRuns: 300 },
    );
  });

  it("a read policy changed by its owner changes no later read", () => {
    const body = toBinary(RetryPolicySchema, create(RetryPolicySchema, retryToProto({ maxAttempts: 3, nonRetryableErrors: ["x"] })));
    const first = read(body);
    first.maxAttempts = 99;
    first.nonRetryableErrors!.push("y");
    expect(read(body)).toMatchObject({ maxAttempts: 3, nonRetryableErrors: ["x"] });
  });
});
