/** The queued-bytes ledger follows the store: what unfinished jobs hold, whatever happens to them. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonBytes } from "../../src/model/limits.js";
import { TERMINAL_STATES } from "../../src/model/job.js";
import { ServerCore } from "../../src/server/core.js";
import { enqueueJobs } from "../../src/server/grpc/calls.js";
import type { NormalizedJobRequest } from "../../src/model/job.js";

function heldByUnfinished(core: ServerCore, ids: string[]): number {
  let n = 0;
  for (const id of ids) {
    if (!core.store.has(id)) continue;
    const j = core.store.get(id).job;
    if (!TERMINAL_STATES.has(j.state)) n += jsonBytes(j.args) + jsonBytes(Object.keys(j.meta).length ? j.meta : undefined);
  }
  return n;
}

const op = fc.oneof(
  fc.record({ kind: fc.constant("enqueue" as const), size: fc.integer({ min: 0, max: 500 }), meta: fc.boolean() }),
  fc.record({ kind: fc.constantFrom("fetch-ack" as const, "fetch-nack" as const, "cancel" as const, "retry-dead" as const), pick: fc.nat() }),
);

describe("QueuedBytes", () => {
  it("equals the args and meta of the unfinished jobs after any sequence of operations", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const core = new ServerCore({ maxDeadLetter: 5 });
        try {
          const ids: string[] = [];
          for (const o of ops) {
            if (o.kind === "enqueue") {
              const rec = core.store.submit({
                type: "t.x",
                args: ["a".repeat(o.size)],
                retry: { maxAttempts: 1, onExhaustion: "dead_letter" },
                ...(o.meta ? { meta: { m: o.size } } : {}),
              }).rec;
              ids.push(rec.id);
            } else if (o.kind === "cancel" && ids.length) {
              const id = ids[o.pick % ids.length]!;
              try {
                core.store.cancel(id);
              } catch {
                // finished already
              }
            } else if (o.kind === "retry-dead") {
              const dead = core.store.listDeadLetter({ limit: 10 }).jobs;
              if (dead.length) core.store.retryDeadLetter(dead[o.pick % dead.length]!.id);
            } else {
              const [rec] = core.store.fetch({ queues: ["default"], count: 1, workerId: "w" });
              if (rec && o.kind === "fetch-ack") core.store.ack(rec.id, null, "w");
              if (rec && o.kind === "fetch-nack") core.store.nack(rec.id, { code: "e", message: "m", retryable: false }, "w");
            }
            expect(core.queued.total).toBe(heldByUnfinished(core, ids));
          }
          core.reset();
          expect(core.queued.total).toBe(0);
        } finally {
          core.close();
        }
      }),
      { numRuns: 200 },
    );
  });

  // A batch's sizes come from the limits walk of its revalidation (one walk, not two): they must
  // be what the ledger would have measured, whatever the meta (none, empty, set, a tenant's) and
  // whichever way the entry was revalidated (a retry policy takes the slow path).
  it("counts a batch as it counts its jobs one by one", async () => {
    const entry = fc.record(
      {
        s: fc.string({ unit: "grapheme", maxLength: 40 }),
        n: fc.double({ noNaN: true, noDefaultInfinity: true }),
        meta: fc.constantFrom(undefined, "empty", "set"),
        retry: fc.boolean(),
      },
      { requiredKeys: ["s", "n", "retry"] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 20 }), fc.boolean(), async (entries, tenant) => {
        const core = new ServerCore();
        try {
          const jobs = entries.map((e) => {
            const job: NormalizedJobRequest = { type: "t.x", args: [{ s: e.s, n: e.n }] };
            if (e.meta !== undefined) job.meta = e.meta === "empty" ? {} : { m: e.s };
            if (e.retry) job.retry = { maxAttempts: 3 };
            return job;
          });
          const out = await enqueueJobs(core, jobs, {}, tenant ? "acme" : undefined);
          expect(core.queued.total).toBe(
            heldByUnfinished(
              core,
              out.map((j) => j.id),
            ),
          );
        } finally {
          core.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
