/**
 * The passes of a batch in the store (insertAll: build, depth bounds, rate limits, unique keys,
 * then the writes): each entry answered in its position, its extra kept (build() takes it apart
 * from the entry), the checks in their order, and nothing stored when one fails.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DuplicateJobError } from "../../src/model/errors.js";
import type { NormalizedJobRequest } from "../../src/model/job.js";
import { setup } from "./store-setup.js";

const keyed = (user: number): NormalizedJobRequest => ({
  type: "t.u",
  args: [{ user }],
  queue: "q",
  unique: { keys: ["type", "args"], onConflict: "ignore" },
});

describe("a batch's passes in the store", () => {
  it("answers every entry in its position: an ignored duplicate as the job already there, the others new and stored", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
        fc.array(fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), { minLength: 1, maxLength: 12 }),
        (before, entries) => {
          const { store, job } = setup();
          const existing = new Map(before.map((u) => [u, job(keyed(u)).id]));
          const reqs = entries.map((u) => (u === undefined ? { type: "t.plain", args: [], queue: "q" } : keyed(u)));
          const users = entries.filter((u): u is number => u !== undefined);
          if (new Set(users).size !== users.length) {
            // Two entries with one unique key: refused, and nothing of the batch stored.
            expect(() => store.enqueueBatch(reqs.map((req) => ({ req })))).toThrow(DuplicateJobError);
            expect(store.countByState("q").available).toBe(before.length);
            return;
          }
          const out = store.enqueueBatch(reqs.map((req) => ({ req })));
          expect(out).toHaveLength(entries.length);
          let added = 0;
          entries.forEach((u, i) => {
            const was = u === undefined ? undefined : existing.get(u);
            if (was !== undefined) expect(out[i]!.id).toBe(was);
            else {
              added++;
              expect(out[i]!.job.type).toBe(u === undefined ? "t.plain" : "t.u");
              expect([...existing.values()]).not.toContain(out[i]!.id);
            }
          });
          expect(new Set(out.map((r) => r.id)).size).toBe(entries.length);
          expect(store.countByState("q").available).toBe(before.length + added);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("keeps each entry's extra on its record, batch and single alike; an empty one as none", () => {
    const { store } = setup();
    const [a, b, c] = store.enqueueBatch([
      { req: { type: "t.x", args: [], queue: "q" }, extra: { note: "a" } },
      { req: { type: "t.x", args: [], queue: "q" } },
      { req: { type: "t.x", args: [], queue: "q" }, extra: {} },
    ]);
    expect([a!.extra, b!.extra, c!.extra]).toEqual([{ note: "a" }, undefined, undefined]);
    expect(store.submit({ type: "t.x", args: [], queue: "q" }, { extra: { note: "single" } }).rec.extra).toEqual({ note: "single" });
    expect(store.enqueue({ type: "t.x", args: [], queue: "q" }).extra).toBeUndefined();
  });

  it("decides a queue's depth bound before unique keys, and stores nothing when either refuses", () => {
    const { store, job } = setup();
    job(keyed(1));
    store.configureQueue("q", { backpressure: { maxDepth: 2, strategy: "reject" } });
    // Both past the bound and a duplicate key in the batch: the bound is what refuses it.
    expect(() => store.enqueueBatch([{ req: keyed(2) }, { req: keyed(2) }])).toThrow(expect.objectContaining({ code: "queue_full" }));
    expect(store.countByState("q").available).toBe(1);
    // Within the bound, the duplicate key is what refuses it.
    expect(() => store.enqueueBatch([{ req: keyed(1) }, { req: keyed(1) }].slice(1))).not.toThrow();
    store.configureQueue("q", { backpressure: { maxDepth: 3, strategy: "reject" } });
    expect(() => store.enqueueBatch([{ req: keyed(2) }, { req: keyed(2) }])).toThrow(DuplicateJobError);
    expect(store.countByState("q").available).toBe(1);
    store.enqueueBatch([{ req: keyed(2) }, { req: keyed(3) }]);
    expect(store.countByState("q").available).toBe(3);
    expect(() => store.enqueueBatch([{ req: keyed(4) }])).toThrow(expect.objectContaining({ code: "queue_full" }));
    expect(store.countByState("q").available).toBe(3);
  });
});
