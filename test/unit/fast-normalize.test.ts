import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fastNormalize, fastRevalidate } from "../../src/model/fast-normalize.js";
import type { JobRequest } from "../../src/model/job.js";
import { validateJobRequest } from "../../src/model/schemas.js";

/** The zod path's answer: the normalized request, or "invalid". */
function slow(req: JobRequest): unknown {
  try {
    return validateJobRequest(req, 0);
  } catch {
    return "invalid";
  }
}

const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const json = fc.jsonValue();
const request = fc.record({
  type: fc.oneof(fc.constantFrom("email.send", "a-b.c_d", "Bad", "1x", "", "a..b"), fc.string({ maxLength: 6 }), fc.integer()),
  args: fc.oneof(fc.array(json, { maxLength: 4 }), fc.constantFrom({}, "x", null, [undefined], [NaN], [new Date(0)])),
  options: maybe(
    fc.record(
      {
        queue: fc.oneof(fc.constantFrom("default", "q-1", "a.b", "Bad", "-x", "", "x".repeat(256)), fc.string({ maxLength: 5 })),
        priority: fc.oneof(fc.integer({ min: -120, max: 120 }), fc.double(), fc.constant("1")),
        meta: fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), json, { maxKeys: 3 }), fc.constantFrom({}, [], "m", { d: new Date(0) })),
        tags: fc.oneof(fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }), fc.constant([1])),
        id: fc.oneof(fc.uuid(), fc.constantFrom("not-a-uuid")),
        timeout: fc.constantFrom(1000, "PT1S"),
        retry: fc.constant({ maxAttempts: 2 }),
        unknown: fc.constant(1),
      },
      { requiredKeys: [] },
    ),
  ),
}) as fc.Arbitrary<JobRequest>;

describe("the validation shortcut", () => {
  it("answers exactly as zod does whenever it answers, and defers otherwise", () => {
    let answered = 0;
    fc.assert(
      fc.property(request, (req) => {
        const fast = fastNormalize(req);
        if (fast === undefined) return;
        answered++;
        expect(fast).toEqual(slow(req));
      }),
      { numRuns: 3000 },
    );
    // The shortcut must actually be taken for the common shape, or it is pointless.
    expect(answered).toBeGreaterThan(20);
  });

  it("never accepts what zod refuses", () => {
    fc.assert(
      fc.property(request, (req) => {
        if (slow(req) === "invalid") expect(fastNormalize(req)).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
  });

  it("takes the common shapes", () => {
    expect(fastNormalize({ type: "email.send", args: [1, { a: "b" }], options: { queue: "mail", priority: 5, meta: { t: 1 } } })).toEqual({
      type: "email.send",
      args: [1, { a: "b" }],
      queue: "mail",
      priority: 5,
      meta: { t: 1 },
    });
    expect(fastNormalize({ type: "email.send", args: [], options: { meta: {} } })).toEqual({ type: "email.send", args: [] });
    expect(fastNormalize({ type: "email.send", args: [], options: { timeout: 1000 } })).toBeUndefined();
  });

  it("re-checks decoded requests the same way", () => {
    expect(fastRevalidate({ type: "a.b", args: [0], queue: "q", meta: { x: 1 } })).toEqual({ type: "a.b", args: [0], queue: "q", meta: { x: 1 } });
    expect(fastRevalidate({ type: "a.b", args: [], priority: 500 })).toBeUndefined();
    expect(fastRevalidate({ type: "a.b", args: [], timeout: 5 })).toBeUndefined();
  });
});
