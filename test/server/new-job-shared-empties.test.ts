/**
 * New jobs without meta, tags or errors share one frozen empty object of each (records.ts, taken
 * by policies.ts newJob), as restored jobs do (journal-shared-empties.test.ts): 120 bytes fewer
 * that every stored job kept and the collector copied. What must hold: a job given meta or tags
 * keeps its own; a failure recorded on one job (a nack, a lease running out) is that job's alone,
 * and the shared empties stay empty.
 */
import { expect, it } from "vitest";
import { ServerCore } from "../../src/server/core.js";
import { NO_ERRORS, NO_META, NO_TAGS } from "../../src/server/store/records.js";
import { FakeClock } from "./fake-clock.js";
import { failTwoAndCheck } from "./shared-empties-check.js";

it("new jobs share the frozen empties, and a failure on one leaves the others' errors empty", () => {
  const clock = new FakeClock(Date.UTC(2026, 5, 1));
  const core = new ServerCore({ clock });
  const one = core.store.enqueue({ type: "e.job", args: [0], queue: "q", priority: 9 });
  const batch = core.store.enqueueBatch([1, 2, 3].map((i) => ({ req: { type: "e.job", args: [i], queue: "q", priority: 9 - i } })));
  const own = core.store.enqueue({ type: "e.job", args: [4], queue: "other", meta: { k: "v" }, tags: ["t"] });
  const ids = [one, ...batch].map((r) => r.id);
  const job = (id: string) => core.store.peek(id)!.job;
  for (const id of ids) {
    expect(job(id).errors).toBe(NO_ERRORS);
    expect(job(id).meta).toBe(NO_META);
    expect(job(id).tags).toBe(NO_TAGS);
  }
  expect(job(own.id).meta).toEqual({ k: "v" });
  expect(job(own.id).tags).toEqual(["t"]);
  expect(() => (job(ids[0]!).errors as unknown[]).push(1)).toThrow(TypeError);

  // One job fails by a nack, another by its lease running out; the other two never ran.
  failTwoAndCheck(core, clock, ids);
  core.close();
});
