/**
 * restJson (store/journal/rest-json.ts) writes the objects beside a binary job
 * record's fixed part: its text must be exactly JSON.stringify's, for any
 * object, or a replay would read back something else than was written.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { restJson } from "../../src/server/store/journal/rest-json.js";

const value = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.double(),
  fc.constantFrom(undefined, null, true, false, -0, NaN, Infinity, -Infinity, () => 1),
  fc.date({ noInvalidDate: false }),
  fc.string({ unit: "binary" }),
);

describe("journal restJson", () => {
  it("gives JSON.stringify's text for any plain object (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: "binary" }), value, { maxKeys: 6 }), (o) => {
        expect(restJson(o as Record<string, unknown>)).toBe(JSON.stringify(o));
      }),
      { numRuns: 500 },
    );
  });

  it("the fields a job record carries: dates in ms, a worker id, nothing", () => {
    const cases: Array<Record<string, unknown>> = [
      { startedAt: 1_700_000_000_123, completedAt: 1_700_000_000_456 },
      { extra: undefined, retry: undefined, workerId: "w-1", uniqueKey: undefined },
      { result: { ok: [1, "two", null] }, scheduledAt: 5 },
      {},
      { a: undefined },
    ];
    for (const o of cases) expect(restJson(o)).toBe(JSON.stringify(o));
  });
});
