/**
 * Multi-tenancy in the store: ready queues sharded by tenant. A fetch that
 * names no tenant takes from the tenants in turn (one with a backlog of 50
 * cannot starve one with 2), a fetch that names one takes only that tenant's
 * jobs, and without tenants the order is the plain priority-then-FIFO order.
 */
import { describe, expect, it } from "vitest";
import { normalizeJobRequest } from "../../src/model/schemas.js";
import { Store } from "../../src/server/store/store.js";
import { TenantReadyQueue } from "../../src/server/tenancy/ready-shards.js";
import { FakeClock } from "./fake-clock.js";

function setup() {
  const store = new Store({ clock: new FakeClock(), random: () => 0.5 });
  const job = (tenant: string | undefined, priority = 0) =>
    store.enqueue(normalizeJobRequest({ type: "t.x", args: [], options: { queue: "q", priority, ...(tenant ? { meta: { tenant_id: tenant } } : {}) } }));
  const fetch = (count = 1, tenant?: string) => store.fetch({ queues: ["q"], count, workerId: "w", ...(tenant ? { tenant } : {}) });
  return { store, job, fetch };
}

describe("tenant shards in the store", () => {
  it("round-robin: a tenant with a backlog does not starve the others", () => {
    const { job, fetch } = setup();
    const a = Array.from({ length: 50 }, () => job("acme"));
    const b = [job("beta"), job("beta")];
    const c = job("gamma");
    const got = fetch(6).map((r) => r.id);
    // One of each tenant per round, in the order the tenants first had work.
    expect(got).toEqual([a[0]!.id, b[0]!.id, c.id, a[1]!.id, b[1]!.id, a[2]!.id]);
  });

  it("a fetch for a tenant gets only that tenant's jobs, and nothing when it has none", () => {
    const { job, fetch } = setup();
    job("acme");
    const b = job("beta");
    expect(fetch(5, "beta").map((r) => r.id)).toEqual([b.id]);
    expect(fetch(5, "beta")).toEqual([]);
    expect(fetch(5, "nobody")).toEqual([]);
    expect(fetch(5, "acme")).toHaveLength(1);
  });

  it("without tenants: priority first, then FIFO, as before", () => {
    const { job, fetch } = setup();
    const low = job(undefined, 0);
    const high = job(undefined, 5);
    const low2 = job(undefined, 0);
    expect(fetch(3).map((r) => r.id)).toEqual([high.id, low.id, low2.id]);
  });

  it("a cancelled job leaves its shard; an emptied shard leaves the round", () => {
    const { store, job, fetch } = setup();
    const a = job("acme");
    const b = job("beta");
    store.cancel(a.id);
    expect(fetch(5).map((r) => r.id)).toEqual([b.id]);
    expect(store.queueSummary("q").counts.available).toBe(0);
  });
});

describe("TenantReadyQueue", () => {
  it("counts per tenant and forgets shards that empty", () => {
    const q = new TenantReadyQueue<{ id: string; ready: boolean; job: { meta: Record<string, unknown> } }>();
    const item = (id: string, t: string) => ({ id, ready: true, job: { meta: { tenant_id: t } } });
    const x = item("1", "a");
    q.push(0, x);
    q.push(0, item("2", "b"));
    expect([q.size, q.sizeOf("a"), q.tenantCount]).toEqual([2, 1, 2]);
    x.ready = false;
    q.forget(x);
    expect([q.size, q.sizeOf("a"), q.tenantCount]).toEqual([1, 0, 1]);
    expect(q.shift()?.id).toBe("2");
    expect(q.tenantCount).toBe(0);
  });
});
