/**
 * Multi-tenancy end to end, over both transports: the `tenant` option of
 * Client and Worker is sent on every call; a tenant's jobs carry
 * meta.tenant_id, other tenants cannot see, cancel or work them (404), a
 * tenant's worker runs only its jobs, the stats route counts per tenant, and a
 * key configured with a tenant cannot act as another.
 */
import { afterEach, describe, expect, it } from "vitest";
import { NotFoundError, PermissionDeniedError, RateLimitedError, type Client, type Worker } from "../../src/index.js";
import { client, eventually, TRANSPORTS, uniqueQueue, useServer, worker } from "../helpers.js";

const KEYS = { acme: "acme-key-5f1c2a", admin: "admin-key-9b3e7d" };
const ctx = useServer({
  auth: {
    keys: [
      { name: "acme-app", token: KEYS.acme, role: "admin", tenant: "acme" },
      { name: "ops", token: KEYS.admin, role: "admin" },
    ],
  },
});

describe.each(TRANSPORTS)("multi-tenancy over %s", (transport) => {
  const open: Array<Client | Worker> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await ("stop" in o ? o.stop() : o.close());
  });
  const mk = (tenant?: string, token = KEYS.admin) => {
    const c = client(ctx.url, transport, { auth: { token }, timeoutMs: 5000, ...(tenant ? { tenant } : {}) });
    open.push(c);
    return c;
  };

  it("a tenant's jobs carry its id; another tenant can neither read nor cancel them", async () => {
    const queue = uniqueQueue("mt");
    const acme = mk("acme");
    const beta = mk("beta");
    const job = await acme.enqueue("mt.x", [1], { queue });
    expect(job.meta.tenant_id).toBe("acme");
    expect((await acme.getJob(job.id)).meta.tenant_id).toBe("acme");
    await expect(beta.getJob(job.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(beta.cancelJob(job.id)).rejects.toBeInstanceOf(NotFoundError);
    const batch = await beta.enqueueBatch([
      { type: "mt.b", args: [1], options: { queue } },
      { type: "mt.b", args: [2], options: { queue } },
    ]);
    expect(batch.map((j) => j.meta.tenant_id)).toEqual(["beta", "beta"]);
    expect((await acme.cancelJob(job.id)).state).toBe("cancelled");
  });

  it("a tenant's worker runs only that tenant's jobs", async () => {
    const queue = uniqueQueue("mt");
    const acme = mk("acme");
    const beta = mk("beta");
    const ran: string[] = [];
    const w = worker(ctx.url, transport, { queues: [queue], auth: { token: KEYS.admin }, tenant: "beta" });
    open.push(w);
    w.register("mt.work", (j) => void ran.push(j.meta.tenant_id as string));
    const a = await acme.enqueue("mt.work", [], { queue });
    const b = await beta.enqueue("mt.work", [], { queue });
    void w.start();
    await eventually(async () => (await beta.getJob(b.id)).state === "completed");
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toEqual(["beta"]);
    expect((await acme.getJob(a.id)).state).toBe("available");
  });

  it("a tenant's event history and stream hold only its jobs' events", async () => {
    const queue = uniqueQueue("mt");
    const acme = mk("acme");
    const beta = mk("beta");
    const seen: string[] = [];
    const abort = new AbortController();
    const stream = (async () => {
      for await (const e of beta.events({ queues: [queue], signal: abort.signal })) if (e.jobId) seen.push(e.jobId);
    })().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    const a = await acme.enqueue("mt.e", [], { queue });
    const b = await beta.enqueue("mt.e", [], { queue });
    await eventually(() => seen.includes(b.id));
    abort.abort();
    await stream;
    expect(seen).not.toContain(a.id);
    const res = await fetch(`${ctx.url}/ojs/v1/events?queue=${queue}`, { headers: { authorization: `Bearer ${KEYS.admin}`, "x-ojs-tenant": "acme" } });
    const ids = ((await res.json()) as { events: Array<{ job_id?: string }> }).events.map((e) => e.job_id);
    expect(ids).toContain(a.id);
    expect(ids).not.toContain(b.id);
  });

  it("max_queue_depth: a tenant at its limit is refused (429, all of a batch), the others are not", async () => {
    const tenant = `lim-${transport}-${Date.now().toString(36)}`;
    const queue = uniqueQueue("mt");
    const put = await fetch(`${ctx.url}/ojs/v1/admin/tenants/${tenant}/limits`, {
      method: "PUT",
      headers: { authorization: `Bearer ${KEYS.admin}`, "content-type": "application/json" },
      body: JSON.stringify({ max_queue_depth: 2 }),
    });
    expect(put.status).toBe(200);
    const t = mk(tenant);
    const first = await t.enqueue("mt.l", [1], { queue });
    await expect(
      t.enqueueBatch([
        { type: "mt.l", args: [2], options: { queue } },
        { type: "mt.l", args: [3], options: { queue } },
      ]),
    ).rejects.toBeInstanceOf(RateLimitedError);
    await t.enqueue("mt.l", [2], { queue });
    const err = await t.enqueue("mt.l", [3], { queue }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).message).toMatch(/max_queue_depth \(2\)/);
    await mk("other").enqueue("mt.l", [1], { queue }); // another tenant is not held back
    await t.cancelJob(first.id); // a finished job frees its place
    await t.enqueue("mt.l", [4], { queue });
    // A key bound to a tenant cannot change limits (not a tenant-scoped route).
    const self = await fetch(`${ctx.url}/ojs/v1/admin/tenants/acme/limits`, {
      method: "PUT",
      headers: { authorization: `Bearer ${KEYS.acme}`, "content-type": "application/json" },
      body: JSON.stringify({ max_queue_depth: 1_000_000 }),
    });
    expect(self.status).toBe(403);
  });

  it("per-tenant stats count only the tenant's jobs", async () => {
    const tenant = `stats-${transport}-${Date.now().toString(36)}`;
    const t = mk(tenant);
    const queue = uniqueQueue("mt");
    for (let i = 0; i < 3; i++) await t.enqueue("mt.s", [i], { queue });
    const res = await fetch(`${ctx.url}/ojs/v1/admin/tenants/${tenant}/stats`, { headers: { authorization: `Bearer ${KEYS.admin}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { tenant_id: string; total_jobs: number; jobs: { available: number } };
    expect(body).toMatchObject({ tenant_id: tenant, total_jobs: 3, jobs: { available: 3 } });
  });

  it("a key bound to a tenant acts for it, and cannot act as another", async () => {
    const queue = uniqueQueue("mt");
    const bound = mk(undefined, KEYS.acme);
    const job = await bound.enqueue("mt.k", [], { queue });
    expect(job.meta.tenant_id).toBe("acme");
    const impostor = mk("beta", KEYS.acme);
    await expect(impostor.enqueue("mt.k", [], { queue })).rejects.toBeInstanceOf(PermissionDeniedError);
    const betaJob = await mk("beta").enqueue("mt.k", [], { queue });
    await expect(bound.getJob(betaJob.id)).rejects.toBeInstanceOf(NotFoundError);
    const subs = await bound.webhooks.list();
    expect(subs.every((s) => s.tenantId === "acme")).toBe(true);
    // Operations that read every tenant's jobs are closed to it.
    await expect(bound.admin.listJobs({})).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(bound.listQueues()).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});

describe("POST /ojs/v1/jobs/:id/ack and tenants", () => {
  it("another tenant's job is not found there, as at /workers/ack; its own tenant acks it", async () => {
    const queue = uniqueQueue("mt-ack");
    const call = async (path: string, tenant: string, body: unknown) => {
      const res = await fetch(`${ctx.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEYS.admin}`, "x-ojs-tenant": tenant, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { jobs?: Array<{ id: string }>; job?: { id: string } } };
    };
    const enq = await call("/ojs/v1/jobs", "acme", { type: "mt.ack", args: [], options: { queue } });
    const id = enq.body.job!.id;
    const got = await call("/ojs/v1/workers/fetch", "acme", { queues: [queue], worker_id: "w-acme" });
    expect(got.body.jobs?.map((j) => j.id)).toEqual([id]);
    expect((await call(`/ojs/v1/jobs/${id}/ack`, "beta", { result: 1 })).status).toBe(404);
    expect((await call("/ojs/v1/workers/ack", "beta", { job_id: id, result: 1 })).status).toBe(404);
    expect((await call(`/ojs/v1/jobs/${id}/ack`, "acme", { result: 1 })).status).toBe(200);
  });
});
