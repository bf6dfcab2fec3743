/**
 * The step both shared-empties tests take (new-job-shared-empties.test.ts,
 * journal-shared-empties.test.ts): of four jobs in queue "q" that share the
 * frozen empties, the first fails by a nack and the second by its lease
 * running out; each failure must be that job's alone, and the shared empties
 * must stay empty.
 */
import { expect } from "vitest";
import type { ServerCore } from "../../src/server/core.js";
import { NO_ERRORS, NO_META, NO_TAGS } from "../../src/server/store/records.js";
import type { FakeClock } from "./fake-clock.js";

export function failTwoAndCheck(core: ServerCore, clock: FakeClock, ids: readonly string[]): void {
  const job = (id: string) => core.store.peek(id)!.job;
  const [a] = core.store.fetch({ queues: ["q"], count: 1, workerId: "w" });
  expect(a!.id).toBe(ids[0]);
  core.store.nack(a!.id, { code: "boom", message: "failed", retryable: true }, "w");
  const [b] = core.store.fetch({ queues: ["q"], count: 1, workerId: "w", visibilityTimeoutMs: 1000 });
  expect(b!.id).toBe(ids[1]);
  clock.advance(5000);
  core.store.tick();
  expect(job(ids[0]!).errors.map((e) => e.code)).toEqual(["boom"]);
  expect(job(ids[1]!).errors.map((e) => e.code)).toEqual(["visibility_timeout"]);
  for (const id of ids.slice(2)) expect(job(id).errors).toEqual([]);
  expect([NO_ERRORS.length, NO_TAGS.length, Object.keys(NO_META).length]).toEqual([0, 0, 0]);
}
