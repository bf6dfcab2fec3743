/**
 * QueuedBytes' batch cache (sizeOfAll, then the store's enter() for each job in order): whatever
 * mix of batches and single jobs comes, in order or not, each size is what measuring the job gives,
 * a batch that ran out is not read past its end, and the ledger's total is the sum.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonBytes } from "../../src/model/limits.js";
import type { JsonValue } from "../../src/model/json.js";
import { QueuedBytes } from "../../src/server/queued-bytes.js";
import type { JobRecord } from "../../src/server/store/store.js";

type Job = { args: JsonValue[]; meta?: JsonValue };
const measured = (j: Job) => jsonBytes(j.args) + (j.meta === undefined || Object.keys(j.meta as object).length === 0 ? 0 : jsonBytes(j.meta));
const rec = (j: Job) => ({ queuedBytes: 0, job: { args: j.args, meta: j.meta ?? {} } }) as unknown as JobRecord;

const job = fc.record({
  args: fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.integer()), { maxLength: 3 }),
  meta: fc.option(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 6 }), { maxKeys: 2 }), { nil: undefined }),
});
const step = fc.oneof(
  fc.record({ batch: fc.array(job, { minLength: 1, maxLength: 5 }), entered: fc.integer({ min: 0, max: 6 }), known: fc.boolean() }),
  fc.record({ single: job, again: fc.boolean() }),
);

describe("QueuedBytes: a batch's sizes", () => {
  it("every job is counted as measuring it gives, batches entered in full, in part, or followed by single jobs", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 12 }), (steps) => {
        const q = new QueuedBytes(Number.MAX_SAFE_INTEGER);
        let total = 0;
        const seen: Job[] = [];
        for (const s of steps) {
          if ("batch" in s) {
            const known = s.known ? s.batch.map((j, i) => (i % 2 ? measured(j) : -1)) : undefined;
            expect(q.sizeOfAll(s.batch, known)).toBe(s.batch.reduce((a, j) => a + measured(j), 0));
            // The store enters some or all of them (a batch refused after admission enters none).
            for (const j of s.batch.slice(0, s.entered)) {
              q.enter(rec(j));
              total += measured(j);
            }
            seen.push(...s.batch);
          } else {
            // A single job, or again the args of one seen before (with its own meta).
            const j = s.again && seen.length ? { args: seen[seen.length - 1]!.args, meta: s.single.meta } : s.single;
            q.enter(rec(j));
            total += measured(j);
          }
          expect(q.total).toBe(total);
        }
      }),
      { numRuns: 300 },
    );
  });
});
