/**
 * Per-job rate limits on PostgreSQL (src/server/store/postgres/job-rate-limits.ts):
 * two real servers (startServer, HTTP) on one database, workers fetching from
 * both. A key's concurrency and rate hold over the pair; the key is inspected
 * and overridden through either server. A private cluster; skipped, with the
 * reason printed, where PostgreSQL is missing.
 */
import { describe, expect, it } from "vitest";
import postgres from "postgres";
import { startServer, type OjsServer } from "../../src/server/server.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

/** Two servers on a fresh database (its URL third); they learn of each other's keyed queues on their maintenance pass. */
async function twoServers(): Promise<[OjsServer, OjsServer, string]> {
  const url = await pg.cluster.createDatabase(`jrl${++dbSeq}`);
  const open = async () => pg.closeAtEnd(await startServer({ port: 0, store: url }));
  return [await open(), await open(), url];
}

async function call(s: OjsServer, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

async function enqueue(s: OjsServer, queue: string, rateLimit: Record<string, unknown>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await call(s, "POST", "/ojs/v1/jobs", { type: "rl.job", args: [i], options: { queue, rate_limit: rateLimit } });
    expect(r.status).toBe(201);
  }
}

async function fetchJobs(s: OjsServer, queue: string, workerId: string, count: number): Promise<string[]> {
  const r = await call(s, "POST", "/ojs/v1/workers/fetch", { queues: [queue], count, worker_id: workerId });
  expect(r.status).toBe(200);
  return (r.json.jobs as Array<{ id: string }>).map((j) => j.id);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("per-job rate limits on PostgreSQL, two servers", () => {
  it("a key's concurrency of 2 holds over two servers: never more than 2 of its jobs held at once, all of them run", async () => {
    const [a, b, url] = await twoServers();
    await enqueue(a, "rlq", { key: "partner", concurrency: 2 }, 12);
    await enqueue(b, "rlq", { key: "partner", concurrency: 2 }, 12);
    // Jobs of another key and without one are not held back by it.
    await enqueue(b, "rlq", { key: "other", concurrency: 5 }, 3);
    let held = 0;
    let most = 0;
    const done: string[] = [];
    const deadline = Date.now() + 20_000;
    // Four workers, two per server, each asking for 2 at a time and holding each job for a while.
    await Promise.all(
      [a, b, a, b].map(async (s, k) => {
        while (done.length < 27 && Date.now() < deadline) {
          const ids = await fetchJobs(s, "rlq", `w${k}`, 2);
          held += ids.length;
          most = Math.max(most, held);
          if (ids.length === 0) {
            await sleep(10);
            continue;
          }
          await sleep(25);
          for (const id of ids) {
            held--;
            expect((await call(s, "POST", "/ojs/v1/workers/ack", { job_id: id, result: null })).status).toBe(200);
            done.push(id);
          }
        }
      }),
    );
    expect(done).toHaveLength(27);
    // Held counts every job of both keys: at most 2 of "partner" plus what "other" ran beside them.
    const sql = postgres(url, { max: 1 });
    try {
      const times = await sql<{ started_at: Date; finished_at: Date }[]>`
        SELECT started_at, finished_at FROM ojs_jobs WHERE rate_key = 'partner' AND state = 'completed'`;
      expect(times).toHaveLength(24);
      // The most jobs of the key running at one instant, from the database's own times.
      let peak = 0;
      for (const t of times) peak = Math.max(peak, times.filter((u) => u.started_at <= t.started_at && u.finished_at > t.started_at).length);
      expect(peak).toBeLessThanOrEqual(2);
    } finally {
      await sql.end();
    }
    expect(most).toBeGreaterThanOrEqual(2);
  }, 40_000);

  it("a key's rate of 3 per second holds over two servers fetching as fast as they can", async () => {
    const [a, b] = await twoServers();
    await enqueue(a, "rate", { key: "api", rate: { limit: 3, period: "PT1S" } }, 20);
    await sleep(400); // b learns that the queue has keyed jobs (its maintenance pass)
    const starts: number[] = [];
    const until = Date.now() + 2200;
    await Promise.all(
      [a, b, a, b].map(async (s, k) => {
        while (Date.now() < until) {
          const r = await call(s, "POST", "/ojs/v1/workers/fetch", { queues: ["rate"], count: 3, worker_id: `r${k}` });
          for (const j of r.json.jobs as Array<{ started_at: string }>) starts.push(Date.parse(j.started_at));
          await sleep(5);
        }
      }),
    );
    starts.sort((x, y) => x - y);
    let busiest = 0;
    for (let i = 0, j = 0; i < starts.length; i++) {
      while (starts[i]! - starts[j]! >= 1000) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    expect(busiest).toBeLessThanOrEqual(3);
    // Used, not starved: about 3 a second over ~2.2 s.
    expect(starts.length).toBeGreaterThanOrEqual(6);
    expect(starts.length).toBeLessThanOrEqual(9);
  }, 30_000);

  it("the key is inspected and overridden through either server; concurrency 0 stops its jobs everywhere", async () => {
    const [a, b] = await twoServers();
    const first = await call(a, "POST", "/ojs/v1/jobs", { type: "rl.job", args: [], options: { queue: "ov", rate_limit: { key: "k1", concurrency: 3 } } });
    expect(first.headers.get("x-ratelimit-limit")).toBe("3");
    await enqueue(a, "ov", { key: "k1", concurrency: 3 }, 3);
    await sleep(400); // b learns that the queue has keyed jobs (its maintenance pass)
    expect(await fetchJobs(a, "ov", "w", 1)).toHaveLength(1);
    const seen = await call(b, "GET", "/ojs/v1/rate-limits/k1");
    expect(seen.status).toBe(200);
    expect(seen.json).toMatchObject({ key: "k1", concurrency: { limit: 3, active: 1, available: 2 }, waiting_count: 3, on_limit: "wait" });
    const list = await call(b, "GET", "/ojs/v1/rate-limits");
    expect((list.json.items as unknown[]).length).toBe(1);
    const put = await call(b, "PUT", "/ojs/v1/rate-limits/k1", { concurrency: 0 });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ concurrency: { limit: 0, active: 1 }, override: { concurrency: 0 } });
    expect(await fetchJobs(a, "ov", "w", 3)).toEqual([]);
    expect(await fetchJobs(b, "ov", "w", 3)).toEqual([]);
    await call(a, "PUT", "/ojs/v1/rate-limits/k1", { concurrency: 10 });
    expect(await fetchJobs(b, "ov", "w", 5)).toHaveLength(3);
    expect((await call(a, "GET", "/ojs/v1/rate-limits/nobody")).status).toBe(404);
  }, 30_000);

  it("refuses on_limit other than wait, as the memory store does", async () => {
    const [a] = await twoServers();
    const r = await call(a, "POST", "/ojs/v1/jobs", { type: "rl.job", args: [], options: { rate_limit: { key: "d", concurrency: 1, on_limit: "drop" } } });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect((r.json.error as { code: string }).code).toBe("unsupported");
  });
});
