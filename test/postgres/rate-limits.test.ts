/**
 * Queue rate limits on the PostgreSQL store (src/server/store/postgres/rate-limits.ts):
 * a limit of N claims per second holds over the whole cluster, two servers
 * fetching and streaming from the same limited queue included. A private
 * cluster; skipped, with the reason printed, where PostgreSQL is missing.
 */
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/model/errors.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

/** Two servers on a fresh database. */
async function servers(): Promise<[PgJobStore, PgJobStore]> {
  const url = await pg.cluster.createDatabase(`rl${++dbSeq}`);
  const open = async () => {
    const s = await PgJobStore.open(url, { maintenanceIntervalMs: 100 });
    pg.closeAtEnd(s);
    return s;
  };
  return [await open(), await open()];
}

async function fill(s: PgJobStore, queue: string, n: number): Promise<void> {
  await s.enqueueBatch(Array.from({ length: n }, (_, i) => ({ req: { type: "t", args: [i], queue } })));
}

/** The largest number of claim times within any window of `windowMs`. */
function busiestWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((x, y) => x - y);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** Claim times as the database recorded them (started_at is the claim statement's now()). */
async function startTimes(s: PgJobStore, queue: string): Promise<number[]> {
  const rows = await s.sql<{ started_at: Date }[]>`SELECT started_at FROM ojs_jobs WHERE queue = ${queue} AND started_at IS NOT NULL`;
  return rows.map((r) => r.started_at.getTime());
}

describe("queue rate limits on PostgreSQL", () => {
  it("a limit of 5 per second holds over two servers fetching as fast as they can", async () => {
    const [a, b] = await servers();
    await fill(a, "lim", 60);
    await a.setQueueRate("lim", 5);
    // b learns of the limit from its maintenance pass; until then its plain claim passes the queue over.
    const got: Array<{ at: number }> = [];
    const until = Date.now() + 2300;
    await Promise.all(
      [a, b, a, b].map(async (s, k) => {
        while (Date.now() < until) {
          for (const j of await s.fetch({ queues: ["lim"], workerId: `w${k}`, count: 3 })) got.push({ at: j.job.startedAt!.getTime() });
          await new Promise((r) => setTimeout(r, 5));
        }
      }),
    );
    const times = await startTimes(a, "lim");
    expect(times).toHaveLength(got.length);
    // Over ~2.3 s: at most 5 in any one second, and the limit is used (not starved).
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(5);
    expect(times.length).toBeGreaterThanOrEqual(10);
    expect(times.length).toBeLessThanOrEqual(15);
    expect(await a.queueRate("lim")).toBe(5);
  });

  it("stream consumers on two servers share the limit; removing it lets the rest go at once", async () => {
    const [a, b] = await servers();
    await a.setQueueRate("s", 4);
    await fill(b, "s", 40);
    const seen: number[] = [];
    for (const [i, s] of [a, b].entries())
      s.openConsumer({ queues: ["s"], workerId: `c${i}`, credit: 100, deliver: (j) => seen.push(j.job.startedAt!.getTime()) });
    await new Promise((r) => setTimeout(r, 1600));
    expect(busiestWindow(await startTimes(a, "s"), 1000)).toBeLessThanOrEqual(4);
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(seen.length).toBeLessThanOrEqual(8);
    await b.setQueueRate("s", 0);
    expect(await a.queueRate("s")).toBeUndefined();
    const t0 = Date.now();
    while (seen.length < 40 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(40);
  });

  it("an unlimited queue listed first or after a limited one is not held back by it", async () => {
    const [a] = await servers();
    await fill(a, "free", 10);
    await fill(a, "slow", 10);
    await a.setQueueRate("slow", 2);
    const got = await a.fetch({ queues: ["slow", "free"], workerId: "w", count: 8 });
    expect(got.map((j) => j.job.queue)).toEqual(["slow", "slow", "free", "free", "free", "free", "free", "free"]);
    expect(await a.fetch({ queues: ["slow"], workerId: "w", count: 5 })).toEqual([]);
  });

  it("refuses a limit that is not an integer from 0 to 100000", async () => {
    const [a] = await servers();
    await expect(a.setQueueRate("q", -1)).rejects.toBeInstanceOf(ValidationError);
    await expect(a.setQueueRate("q", 100_001)).rejects.toBeInstanceOf(ValidationError);
    await expect(a.setQueueRate("q", Number.NaN)).rejects.toBeInstanceOf(ValidationError);
  });
});
