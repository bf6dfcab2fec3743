/** The admin API's JSON shapes: what the server writes, the client reads back unchanged. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  adminQueueFromJson,
  adminQueueToJson,
  bulkResultFromJson,
  bulkResultToJson,
  historyFromJson,
  historyToJson,
  listQuery,
  pageFromJson,
  pageToJson,
  purgeResultFromJson,
  purgeResultToJson,
  queueDetailFromJson,
  queueDetailToJson,
  statsFromJson,
  statsToJson,
  workerListFromJson,
  workerListToJson,
} from "../../src/codec/admin-api.js";
import type { AdminQueue, AdminQueueDetail, AdminWorker, StateCounts } from "../../src/model/admin.js";
import { JOB_STATES } from "../../src/model/job.js";

const date = fc.integer({ min: 0, max: 4102444800000 }).map((ms) => new Date(ms));
const count = fc.nat({ max: 1_000_000 });
const rate = fc.double({ min: 0, max: 1e6, noNaN: true });
const counts: fc.Arbitrary<StateCounts> = fc
  .tuple(...JOB_STATES.map(() => count))
  .map((ns) => Object.fromEntries(JOB_STATES.map((s, i) => [s, ns[i]!])) as StateCounts);
const throughput = fc.record({ processedPerMinute: rate, failedPerMinute: rate });
const queue: fc.Arbitrary<AdminQueue> = fc
  .record({ name: fc.string({ minLength: 1 }), paused: fc.boolean(), counts, deadLetter: count, throughput, createdAt: date })
  .map((q) => ({ ...q, state: q.paused ? "paused" : "active" }));
const detail: fc.Arbitrary<AdminQueueDetail> = fc
  .record({
    q: queue,
    depth: count,
    configuration: fc.record({ rateLimitPerSecond: fc.integer({ min: 1, max: 100_000 }), maxDepth: fc.integer({ min: 1, max: 1e6 }) }, { requiredKeys: [] }),
    lastHour: fc.record({ completed: count, failed: count, avgDurationMs: rate, avgWaitMs: rate }),
    oldestAvailableAt: fc.option(date, { nil: undefined }),
  })
  .map(({ q, oldestAvailableAt, ...rest }) => ({ ...q, ...rest, ...(oldestAvailableAt ? { oldestAvailableAt } : {}) }));
const worker: fc.Arbitrary<AdminWorker> = fc
  .record({
    id: fc.string({ minLength: 1 }),
    state: fc.constantFrom("running", "quiet", "terminate", "drain"),
    directive: fc.constantFrom("running" as const, "quiet" as const, "terminate" as const),
    activeJobIds: fc.array(fc.uuid(), { maxLength: 3 }),
    startedAt: date,
    lastHeartbeatAt: date,
    stale: fc.boolean(),
  })
  .map((w) => ({ ...w, activeJobs: w.activeJobIds.length }));

describe("admin API codec round trips", () => {
  it("queues and their pages", () => {
    fc.assert(
      fc.property(
        fc.array(queue, { maxLength: 4 }),
        count,
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 1000 }),
        (items, total, perPage, page) => {
          const p = { items, total, page, perPage };
          expect(pageFromJson(pageToJson(p, adminQueueToJson), adminQueueFromJson)).toEqual(p);
        },
      ),
    );
  });

  it("queue detail", () => {
    fc.assert(
      fc.property(detail, (d) => {
        expect(queueDetailFromJson(queueDetailToJson(d))).toEqual(d);
      }),
    );
  });

  it("workers with their summary", () => {
    fc.assert(
      fc.property(fc.array(worker, { maxLength: 4 }), count, (items, stale) => {
        const l = { items, total: items.length, page: 1, perPage: 20, summary: { total: items.length, stale, running: stale } };
        expect(workerListFromJson(workerListToJson(l))).toEqual(l);
      }),
    );
  });

  it("stats, history, bulk and purge results", () => {
    fc.assert(
      fc.property(
        fc.record({ queues: count, workers: count, jobs: counts, deadLetter: count, throughput, uptimeSeconds: count }),
        fc.record({
          period: fc.constantFrom("1m" as const, "5m" as const, "15m" as const, "1h" as const),
          points: fc.array(fc.record({ timestamp: date, processed: count, failed: count }), { maxLength: 5 }),
        }),
        fc.record({
          action: fc.constantFrom("retry" as const, "cancel" as const, "delete" as const),
          matched: count,
          succeeded: count,
          failed: count,
          remaining: count,
          errors: fc.array(fc.record({ jobId: fc.uuid(), error: fc.string() }), { maxLength: 3 }),
        }),
        fc.record({ purgedCount: count, states: fc.subarray([...JOB_STATES]) }),
        (s, h, b, p) => {
          expect(statsFromJson(statsToJson(s))).toEqual(s);
          expect(historyFromJson(historyToJson(h))).toEqual(h);
          expect(bulkResultFromJson(bulkResultToJson(b), "retry")).toEqual(b);
          expect(purgeResultFromJson(purgeResultToJson(p))).toEqual(p);
        },
      ),
    );
  });

  it("readers are lenient: another server's sparse answer reads as zeros, not a crash", () => {
    expect(adminQueueFromJson({ name: "q", state: "paused" })).toMatchObject({ name: "q", paused: true, state: "paused", counts: { available: 0 } });
    expect(statsFromJson({})).toMatchObject({ queues: 0, throughput: { processedPerMinute: 0 } });
    expect(pageFromJson({ items: [{ name: "a" }, 3] }, adminQueueFromJson)).toMatchObject({ total: 1, page: 1, perPage: 1 });
  });

  it("list filters become query parameters", () => {
    expect(listQuery({})).toBe("");
    expect(
      listQuery({
        queue: "a b",
        state: "discarded",
        type: "mail.*",
        since: new Date(0),
        page: 2,
        perPage: 5,
        sort: "priority",
        order: "asc",
        deadLetter: true,
      }),
    ).toBe("?queue=a+b&state=discarded&type=mail.*&since=1970-01-01T00%3A00%3A00.000Z&dead_letter=true&page=2&per_page=5&sort=priority&order=asc");
  });
});
