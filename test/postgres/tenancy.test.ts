/**
 * Multi-tenancy on the PostgreSQL store (store/postgres/tenants.ts): a claim
 * that names a tenant takes only that tenant's jobs (fetch, including the
 * rate-limited and keyed claim paths; stream consumers; the enqueue's
 * hand-off), max_queue_depth is kept in the database and holds exactly
 * across two servers enqueueing at once, the counts come from the table, and
 * a database of the previous schema is migrated.
 */
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import type { NormalizedJobRequest } from "../../src/model/job.js";
import type { JobRecord } from "../../src/server/store/records.js";
import { PostgresJobStore } from "../../src/server/store/postgres/postgres-job-store.js";
import { migrate, MIGRATIONS } from "../../src/server/store/postgres/schema.js";
import { eventually } from "../helpers.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

async function open(url: string): Promise<PostgresJobStore> {
  return pg.closeAtEnd(await PostgresJobStore.open(url, { maintenanceIntervalMs: 60_000 }));
}

const freshDb = (): Promise<string> => pg.cluster.createDatabase(`tn${++dbSeq}`);

const job = (queue: string, tenant: string | undefined, more: Partial<NormalizedJobRequest> = {}): NormalizedJobRequest => ({
  type: "t",
  args: [],
  queue,
  ...(tenant !== undefined ? { meta: { tenant_id: tenant } } : {}),
  ...more,
});

const tenantOf = (r: JobRecord): unknown => r.job.meta["tenant_id"];

describe("PostgreSQL store: tenants", () => {
  it("a fetch that names a tenant takes only its jobs, whatever comes first in the queue; one without takes any", async () => {
    const s = await open(await freshDb());
    await s.submit(job("f", "acme", { priority: 9 }));
    await s.submit(job("f", undefined, { priority: 8 }));
    await s.submit(job("f", "other", { priority: 7 }));
    await s.submit(job("f", "beta"));
    // A numeric tenant_id is no tenant's (jobTenant() reads strings only).
    await s.submit(job("f", undefined, { meta: { tenant_id: 7 } }));
    const beta = await s.fetch({ queues: ["f"], workerId: "wb", count: 10, tenant: "beta" });
    expect(beta.map(tenantOf)).toEqual(["beta"]);
    expect(await s.fetch({ queues: ["f"], workerId: "w7", count: 10, tenant: "7" })).toEqual([]);
    expect(await s.fetch({ queues: ["f"], workerId: "wb", count: 10, tenant: "beta" })).toEqual([]);
    const any = await s.fetch({ queues: ["f"], workerId: "w", count: 10 });
    expect(any.map(tenantOf)).toEqual(["acme", undefined, "other", 7]);
  });

  it("the rate-limited and keyed claim paths keep to the tenant too", async () => {
    const s = await open(await freshDb());
    await s.configureQueue("rl", { rateLimitPerSecond: 100 });
    await s.submit(job("rl", "acme", { priority: 5 }));
    await s.submit(job("rl", "beta"));
    expect((await s.fetch({ queues: ["rl"], workerId: "w", count: 5, tenant: "beta" })).map(tenantOf)).toEqual(["beta"]);
    const rateLimit = { key: "k1", concurrency: 10 };
    await s.submit(job("kq", "acme", { priority: 5, rateLimit }));
    await s.submit(job("kq", "beta", { rateLimit }));
    await s.submit(job("kq", "acme", { priority: 5 }));
    await s.submit(job("kq", "beta"));
    const got = await s.fetch({ queues: ["kq"], workerId: "w", count: 5, tenant: "beta" });
    expect(got.map(tenantOf)).toEqual(["beta", "beta"]);
  });

  it("a stream consumer of a tenant is pushed only its jobs, by claim and by hand-off", async () => {
    const s = await open(await freshDb());
    await s.submit(job("st", "acme"));
    const pushed: JobRecord[] = [];
    await s.openConsumer({ queues: ["st"], workerId: "wb", maxConcurrent: 5, tenant: "beta", deliver: (r) => pushed.push(r) });
    await eventually(() => s.pg.consumerClaims >= 1, 5000, 10);
    await new Promise((r) => setTimeout(r, 50));
    // The consumer waits: another tenant's enqueue is not handed to it, its own is.
    await s.submit(job("st", "acme"));
    await s.submit(job("st", undefined));
    expect(s.pg.stats.handedOff).toBe(0);
    await s.submit(job("st", "beta"));
    expect(s.pg.stats.handedOff).toBe(1);
    await s.submit(job("st", "beta", { priority: -1 }));
    await eventually(() => pushed.length === 2, 5000, 10);
    await new Promise((r) => setTimeout(r, 100));
    expect(pushed.map(tenantOf)).toEqual(["beta", "beta"]);
    // The others' jobs are still there for an unscoped fetch.
    expect((await s.fetch({ queues: ["st"], workerId: "w", count: 10 })).map(tenantOf).sort()).toEqual(["acme", "acme", undefined]);
  });

  it("max_queue_depth is in the database: exact across two servers enqueueing at once, counted until jobs finish, removable", async () => {
    const url = await freshDb();
    const [a, b] = [await open(url), await open(url)];
    await a.tenants.configure("lim", { max_queue_depth: 5 });
    expect(await b.tenants.limits("lim")).toEqual({ maxQueueDepth: 5 });
    const tries = Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).submit(job(`q${i % 3}`, "lim")));
    const settled = await Promise.allSettled(tries);
    expect(settled.filter((r) => r.status === "fulfilled")).toHaveLength(5);
    for (const r of settled)
      if (r.status === "rejected")
        expect(r.reason).toMatchObject({ name: "RateLimitedError", details: { tenant_id: "lim", limit: "max_queue_depth", maximum: 5 } });
    expect(await a.tenants.depth("lim")).toBe(5);
    // A batch that would pass it is refused whole; other tenants are not held back.
    await expect(b.enqueueBatch([{ req: job("q0", "free") }, { req: job("q0", "lim") }])).rejects.toMatchObject({ name: "RateLimitedError" });
    await b.submit(job("q0", "free"));
    expect(await a.tenants.depth("free")).toBe(1);
    // A running job still counts; a finished one does not.
    const [running] = await a.fetch({ queues: ["q0"], workerId: "w", tenant: "lim" });
    await expect(a.submit(job("q0", "lim"))).rejects.toMatchObject({ name: "RateLimitedError" });
    await a.ack(running!.id, null, "w");
    await b.submit(job("q0", "lim"));
    await expect(b.submit(job("q0", "lim"))).rejects.toMatchObject({ name: "RateLimitedError" });
    // Removed through one server, gone for the other.
    expect(await b.tenants.configure("lim", { max_queue_depth: null })).toEqual({});
    await a.enqueueBatch([{ req: job("q0", "lim") }, { req: job("q1", "lim") }]);
    expect(await b.tenants.depth("lim")).toBe(7);
    await expect(a.tenants.configure("lim", { max_queue_depth: -1 })).rejects.toMatchObject({ name: "ValidationError" });
    await expect(a.tenants.configure("lim", { max_concurrency: 3 })).rejects.toMatchObject({ name: "ValidationError" });
  });

  it("once the maintenance pass has seen a tenant's limit, its enqueues go to the locked path at once; the limit holds in a crowd of others", async () => {
    const s = pg.closeAtEnd(await PostgresJobStore.open(await freshDb(), { maintenanceIntervalMs: 50 }));
    await s.tenants.configure("cap", { max_queue_depth: 3 });
    // The server's view (pg-store.ts limitedTenants) is what keeps the tenant's jobs out of the grouped statements.
    const known = () => (s.pg as unknown as { limitedTenants: ReadonlySet<string> }).limitedTenants;
    await eventually(() => known().has("cap"), 5000, 20);
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => s.submit(job("g", i % 5 === 0 ? "cap" : "free"))));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(27);
    expect(await s.tenants.depth("cap")).toBe(3);
    expect(await s.tenants.depth("free")).toBe(24);
    await s.tenants.configure("cap", { max_queue_depth: null });
    await eventually(() => !known().has("cap"), 5000, 20);
  });

  it("stats and the tenant list are counted from the table", async () => {
    const url = await freshDb();
    const [a, b] = [await open(url), await open(url)];
    await a.submit(job("s", "acme"));
    await a.submit(job("s", "acme"));
    await a.submit(job("s", "beta"));
    await a.submit(job("s", undefined));
    const [got] = await b.fetch({ queues: ["s"], workerId: "w", tenant: "acme" });
    await b.ack(got!.id, null, "w");
    expect(await b.tenants.stats("acme")).toMatchObject({ tenant_id: "acme", total_jobs: 2, jobs: { available: 1, completed: 1, active: 0 } });
    expect(await b.tenants.stats("none")).toMatchObject({ tenant_id: "none", total_jobs: 0 });
    const list = await a.tenants.list();
    expect(list.map((t) => [t.tenant_id, t.total_jobs])).toEqual([
      ["acme", 2],
      ["beta", 1],
    ]);
  });

  it("a database at schema version 14 gets the tenant indexes and the limits table on start", async () => {
    const url = await freshDb();
    const old = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      await migrate(old, 14);
    } finally {
      await old.end();
    }
    const first = await open(url);
    await first.submit(job("m", "acme"));
    await first.submit(job("m", "beta"));
    const versions = await first.pg.sql<{ version: number }[]>`SELECT version FROM ojs_migrations ORDER BY version`;
    expect(versions.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    const indexes = await first.pg.sql<
      { indexname: string }[]
    >`SELECT indexname FROM pg_indexes WHERE tablename = 'ojs_jobs' AND indexname LIKE 'ojs_jobs_tenant%' ORDER BY 1`;
    expect(indexes.map((r) => r.indexname)).toEqual(["ojs_jobs_tenant", "ojs_jobs_tenant_claim"]);
    expect((await first.fetch({ queues: ["m"], workerId: "w", count: 5, tenant: "beta" })).map(tenantOf)).toEqual(["beta"]);
    await first.tenants.configure("acme", { max_queue_depth: 1 });
    await expect(first.submit(job("m", "acme"))).rejects.toMatchObject({ name: "RateLimitedError" });
  });
});
