/**
 * What the PostgreSQL store's maintenance does beyond its work (store.test.ts
 * covers the reaper, cron and workflows): a server LISTENs only while it has
 * consumers, and the pass asks what is due in one statement before doing it
 * (maintenance-probe.ts).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { NormalizedJobRequest } from "../../src/model/job.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { probeMaintenance } from "../../src/server/store/postgres/maintenance-probe.js";
import { eventually } from "../helpers.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

async function open(url: string): Promise<PgJobStore> {
  // Maintenance only when the test runs it: what is seen comes from NOTIFY or the test's own pass.
  const s = await PgJobStore.open(url, { maintenanceIntervalMs: 60_000 });
  pg.closeAtEnd(s);
  return s;
}

const job = (queue: string, more: Partial<NormalizedJobRequest> = {}): NormalizedJobRequest => ({ type: "t", args: [], queue, ...more });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(() => {
  vi.useRealTimers();
});

describe("PostgreSQL store maintenance", () => {
  it("a server LISTENs while it has consumers: none before the first, and none a while after the last left", async () => {
    const url = await pg.cluster.createDatabase(`m${++dbSeq}`);
    const [a, b] = [await open(url), await open(url)];
    expect(b.listeningForJobs).toBe(false);
    await a.submit(job("n"));
    await pause(100);
    // Nobody here reads: no notification reached this server.
    expect(b.stats.notifications).toBe(0);

    const got: string[] = [];
    const c = b.openConsumer({ queues: ["n"], workerId: "w", credit: 10, deliver: (j) => got.push(j.job.id) });
    expect(b.listeningForJobs).toBe(true);
    // The job waiting from before is claimed when the consumer comes; a later one arrives through NOTIFY (no maintenance pass runs).
    await eventually(() => got.length === 1, 5000, 10);
    await eventually(async () => (await a.sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query ILIKE 'listen%'`)[0]!.n === 1, 5000, 20);
    const { job: later } = await a.submit(job("n"));
    await eventually(() => got.includes(later.job.id), 5000, 10);
    expect(b.stats.notifications).toBeGreaterThan(0);

    // The last consumer leaves: the server keeps listening for a while (a worker reconnecting), then stops.
    b.closeConsumer(c);
    await b.maintain();
    expect(b.listeningForJobs).toBe(true);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 60_000 });
    await b.maintain();
    expect(b.listeningForJobs).toBe(false);
    vi.useRealTimers();
    const notified = b.stats.notifications;
    await a.submit(job("n"));
    await pause(100);
    expect(b.stats.notifications).toBe(notified);
  });

  it("the probe finds what is due: an expired lease, a due cron schedule, rate-limited and keyed queues, tenants with a limit", async () => {
    const url = await pg.cluster.createDatabase(`m${++dbSeq}`);
    const a = await open(url);
    expect(await probeMaintenance(a.sql)).toEqual({ limited: [], keyed: [], limitedTenants: [], reap: false, cron: false, strayWorkflowSteps: false });

    await a.submit(job("lease"));
    // A lease long enough that a loaded machine does not see it run out before the first probe.
    await a.fetch({ queues: ["lease"], workerId: "dies", visibilityTimeoutMs: 1500 });
    expect((await probeMaintenance(a.sql)).reap).toBe(false);
    await pause(1600);
    expect((await probeMaintenance(a.sql)).reap).toBe(true);
    await a.maintain();
    expect((await probeMaintenance(a.sql)).reap).toBe(false);

    await a.submit(job("exp", { expiresAt: new Date(Date.now() + 50) }));
    await pause(100);
    expect((await probeMaintenance(a.sql)).reap).toBe(true);
    await a.maintain();
    expect((await a.sql`SELECT state FROM ojs_jobs WHERE queue = 'exp'`)[0]!.state).toBe("discarded");

    await a.submit(job("slow", { timeout: 50 }));
    await a.fetch({ queues: ["slow"], workerId: "w", visibilityTimeoutMs: 60_000 });
    await pause(100);
    expect((await probeMaintenance(a.sql)).reap).toBe(true);

    await a.registerCron({ name: "tick", expression: "@every 1s", job: { type: "cron.tick", args: [], queue: "cron" } });
    await a.sql`UPDATE ojs_cron SET next_run_at = now() - interval '1 second'`;
    expect((await probeMaintenance(a.sql)).cron).toBe(true);

    await a.setQueueRate("slowly", 5);
    await a.submit(job("keyed", { rateLimit: { key: "k", concurrency: 1 } }));
    await a.sql`INSERT INTO ojs_tenant_limits (tenant, max_queue_depth) VALUES ('capped', 3)`;
    const probe = await probeMaintenance(a.sql);
    expect(probe.limited).toEqual(["slowly"]);
    expect(probe.keyed).toEqual(["keyed"]);
    expect(probe.limitedTenants).toEqual(["capped"]);
  });
});
