/**
 * The admin API's server side: filters, pagination and sorting, bulk safety
 * rules and limits, purges, throughput and history (on a fake clock), and the
 * HTTP answers to bad input (on a real socket).
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../../src/model/errors.js";
import type { NormalizedJobRequest } from "../../src/model/job.js";
import { bulk, listJobs, MAX_BULK_LIMIT, purgeDeadLetter, purgeQueue } from "../../src/server/admin/jobs.js";
import { AdminViews } from "../../src/server/admin/views.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { Store } from "../../src/server/store/store.js";
import { SyncJobStore } from "../../src/server/store/sync-job-store.js";
import { FakeClock } from "./fake-clock.js";

function setup() {
  const clock = new FakeClock();
  const store = new Store({ clock, random: () => 0.5 });
  const job = (over: Partial<NormalizedJobRequest> = {}) => store.enqueue({ type: "t.x", args: [], queue: "q", ...over });
  const run = (id: string, ok = true) => {
    const [r] = store.fetch({ queues: [store.get(id).job.queue], count: 1, workerId: "w" });
    expect(r?.id).toBe(id);
    if (ok) store.ack(id, null, "w");
    else store.nack(id, { code: "e", message: "failed" }, "w");
  };
  const jobs = new SyncJobStore(store, { kind: "memory" });
  return { clock, store, jobs, job, run, views: new AdminViews(jobs, Date.now(), clock, store.defaultVisibilityMs) };
}

describe("job search", () => {
  it("filters by queue, state, exact type, type prefix and creation time", async () => {
    const { clock, store, jobs, job } = setup();
    const a = job({ type: "mail.send" });
    clock.advance(1000);
    const b = job({ type: "mail.bounce", queue: "other" });
    clock.advance(1000);
    const c = job({ type: "report.build" });
    store.cancel(c.id);
    const ids = async (f: Parameters<typeof listJobs>[1]) => (await listJobs(jobs, f)).items.map((r) => r.id);
    expect(await ids({ queue: "q" })).toEqual([c.id, a.id]);
    expect(await ids({ state: "cancelled" })).toEqual([c.id]);
    expect(await ids({ type: "mail.send" })).toEqual([a.id]);
    expect(await ids({ type: "mail.*" })).toEqual([b.id, a.id]);
    expect(await ids({ type: "mail." })).toEqual([]);
    const t0 = a.job.createdAt!.getTime();
    expect(await ids({ since: new Date(t0 + 1000) })).toEqual([c.id, b.id]);
    expect(await ids({ until: new Date(t0 + 1000) })).toEqual([a.id]);
    expect(await ids({ since: new Date(t0 + 1000), until: new Date(t0 + 2000) })).toEqual([b.id]);
  });

  it("pages cover every match once, in a stable order, with the total", async () => {
    const { store, jobs, job } = setup();
    const all = Array.from({ length: 7 }, (_, i) => job({ priority: i % 3 }).id);
    const seen: string[] = [];
    for (let page = 1; page <= 4; page++) {
      const p = await listJobs(jobs, { perPage: 2, page, order: "asc" });
      expect(p.total).toBe(7);
      seen.push(...p.items.map((r) => r.id));
    }
    expect(seen).toEqual(all);
    const byPriority = (await listJobs(jobs, { sort: "priority", order: "desc", perPage: 100 })).items.map((r) => r.job.priority);
    expect(byPriority).toEqual([2, 2, 1, 1, 0, 0, 0]);
    await expect(listJobs(jobs, { perPage: 101 })).rejects.toThrow(ValidationError);
    await expect(listJobs(jobs, { page: 0 })).rejects.toThrow(ValidationError);
  });
});

describe("bulk operations", () => {
  it("refuse to act without confirm: true, and change nothing", async () => {
    const { store, jobs, job } = setup();
    const j = job();
    for (const confirm of [undefined, false, "true", 1]) await expect(bulk(jobs, "cancel", {}, { confirm })).rejects.toThrow(/confirm: must be true/);
    await expect(purgeQueue(jobs, "q", { states: ["available"], confirm: false })).rejects.toThrow(ValidationError);
    await expect(purgeDeadLetter(jobs, { confirm: undefined })).rejects.toThrow(ValidationError);
    expect(store.get(j.id).job.state).toBe("available");
  });

  it("act on at most `limit` jobs and report the rest as remaining", async () => {
    const { store, jobs, job } = setup();
    for (let i = 0; i < 5; i++) job();
    expect(await bulk(jobs, "cancel", { state: "available" }, { confirm: true, limit: 2 })).toMatchObject({ matched: 5, succeeded: 2, remaining: 3 });
    expect(store.countByState("q").available).toBe(3);
    await expect(bulk(jobs, "cancel", {}, { confirm: true, limit: MAX_BULK_LIMIT + 1 })).rejects.toThrow(/limit/);
    await expect(bulk(jobs, "cancel", {}, { confirm: true, limit: 0 })).rejects.toThrow(/limit/);
  });

  it("retry takes discarded jobs (dead-lettered or not) back with a fresh budget; cancelled ones stay cancelled", async () => {
    const { store, jobs, job, run } = setup();
    const dl = job({ retry: { maxAttempts: 1, onExhaustion: "dead_letter" } as NormalizedJobRequest["retry"] });
    run(dl.id, false);
    const plain = job({ retry: { maxAttempts: 1, onExhaustion: "discard" } as NormalizedJobRequest["retry"] });
    run(plain.id, false);
    const cancelled = job();
    store.cancel(cancelled.id);
    expect(store.get(plain.id).deadLetter).toBe(false);
    const r = await bulk(jobs, "retry", {}, { confirm: true });
    expect(r).toMatchObject({ matched: 3, succeeded: 2, failed: 1 });
    expect(r.errors).toEqual([{ jobId: cancelled.id, error: expect.stringContaining("only a discarded job") }]);
    for (const id of [dl.id, plain.id]) expect(store.get(id).job).toMatchObject({ state: "available", attempt: 0 });
  });

  it("a deadLetter filter retries only what sits in the dead-letter queue", async () => {
    const { store, jobs, job, run } = setup();
    const dl = job({ retry: { maxAttempts: 1, onExhaustion: "dead_letter" } as NormalizedJobRequest["retry"] });
    run(dl.id, false);
    const plain = job({ retry: { maxAttempts: 1, onExhaustion: "discard" } as NormalizedJobRequest["retry"] });
    run(plain.id, false);
    expect(await bulk(jobs, "retry", { deadLetter: true }, { confirm: true })).toMatchObject({ matched: 1, succeeded: 1 });
    expect(store.get(dl.id).job.state).toBe("available");
    expect(store.get(plain.id).job.state).toBe("discarded");
    expect(store.deadLetterCount()).toBe(0);
  });

  it("delete removes finished jobs only; an active job is never deleted or purged", async () => {
    const { store, jobs, job, run } = setup();
    const done = job();
    run(done.id);
    const active = job();
    store.fetch({ queues: ["q"], count: 1, workerId: "w" });
    const r = await bulk(jobs, "delete", {}, { confirm: true });
    expect(r).toMatchObject({ matched: 2, succeeded: 1, failed: 1 });
    expect(store.has(done.id)).toBe(false);
    expect(store.get(active.id).job.state).toBe("active");
    await expect(purgeQueue(jobs, "q", { states: ["active"], confirm: true })).rejects.toThrow(/active/);
  });

  it("purge takes states and an age: waiting jobs are cancelled then removed, counters follow", async () => {
    const { clock, store, jobs, job, run } = setup();
    const old = job();
    run(old.id);
    clock.advance(60_000);
    const recent = job();
    run(recent.id);
    const waiting = job();
    const cut = new Date(clock.now() - 30_000);
    expect(await purgeQueue(jobs, "q", { states: ["completed"], olderThan: cut, confirm: true })).toEqual({ purgedCount: 1, states: ["completed"] });
    expect(store.has(old.id)).toBe(false);
    expect(store.has(recent.id)).toBe(true);
    expect((await purgeQueue(jobs, "q", { states: ["available", "completed"], confirm: true })).purgedCount).toBe(2);
    expect(store.has(waiting.id)).toBe(false);
    expect(store.countByState("q")).toMatchObject({ available: 0, completed: 0, cancelled: 0 });
  });
});

describe("views", () => {
  it("throughput is the mean per minute over five minutes, history buckets by period", async () => {
    const { clock, store, jobs, job, run, views } = setup();
    for (let i = 0; i < 10; i++) run(job().id);
    run(job({ retry: { maxAttempts: 1, onExhaustion: "discard" } as NormalizedJobRequest["retry"] }).id, false);
    expect((await views.stats()).throughput).toEqual({ processedPerMinute: 2, failedPerMinute: 0.2 });
    expect((await views.queue("q")).throughput.processedPerMinute).toBe(2);
    clock.advance(2 * 60_000);
    for (let i = 0; i < 5; i++) run(job().id);
    const h1 = await views.history({ period: "1m", since: new Date(clock.now() - 3 * 60_000) });
    expect(h1.points.map((p) => p.processed)).toEqual([0, 10, 0, 5]);
    const h5 = await views.history({ period: "1h" });
    expect(h5.points.reduce((n, p) => n + p.processed, 0)).toBe(15);
    expect((await views.history({ period: "5m", queue: "nope" })).points.every((p) => p.processed === 0)).toBe(true);
    // Five minutes later the burst has left the throughput window.
    clock.advance(6 * 60_000);
    expect((await views.stats()).throughput.processedPerMinute).toBe(0);
  });

  it("workers carry a summary by state and are stale after the visibility timeout without a heartbeat", async () => {
    const { clock, store, jobs, views } = setup();
    store.heartbeat({ workerId: "a", jobIds: [] });
    store.heartbeat({ workerId: "b", state: "quiet", jobIds: [] });
    clock.advance(store.defaultVisibilityMs + 1);
    store.heartbeat({ workerId: "a", jobIds: [] });
    const list = await views.listWorkers({ perPage: 1 });
    expect(list).toMatchObject({ total: 2, page: 1, perPage: 1, summary: { total: 2, running: 1, quiet: 1, stale: 1 } });
    expect((await views.worker("b")).stale).toBe(true);
  });
});

describe("over HTTP", () => {
  let server: OjsServer;
  beforeAll(async () => {
    server = await startServer({ port: 0 });
  });
  afterAll(async () => {
    await server.close();
  });

  // Tests read arbitrary response JSON; a precise type here would only restate each assertion.
  function send(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    return new Promise((resolve, reject) => {
      const u = new URL(server.url);
      const payload = body === undefined ? undefined : JSON.stringify(body);
      // Node sends a DELETE body without chunking: it needs its length.
      const headers: Record<string, string> = payload ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) } : {};
      const r = request({ hostname: u.hostname, port: u.port, path, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
        });
      });
      r.on("error", reject);
      r.end(payload);
    });
  }

  it("bulk routes refuse a missing or false confirm with 400 and change nothing", async () => {
    const job = (await send("POST", "/ojs/v1/jobs", { type: "h.x", args: [], options: { queue: "hq" } })).json.job;
    for (const action of ["retry", "cancel", "delete"]) {
      for (const body of [{ filter: { queue: "hq" } }, { filter: { queue: "hq" }, confirm: false }, { filter: { queue: "hq" }, confirm: "true" }]) {
        const r = await send("POST", `/ojs/v1/admin/jobs/bulk/${action}`, body);
        expect(r.status).toBe(400);
        expect(r.json.error.message).toContain("confirm");
      }
    }
    expect((await send("DELETE", "/ojs/v1/admin/queues/hq/jobs", { states: ["available"] })).status).toBe(400);
    expect((await send("DELETE", "/ojs/v1/admin/queues/hq/jobs")).status).toBe(400);
    expect((await send("DELETE", "/ojs/v1/admin/dead-letter", { confirm: false })).status).toBe(400);
    expect((await send("GET", `/ojs/v1/admin/jobs/${job.id}`)).json.state).toBe("available");
    expect((await send("POST", "/ojs/v1/admin/jobs/bulk/cancel", { filter: { queue: "hq" }, confirm: true })).json).toMatchObject({
      action: "cancel",
      matched: 1,
      succeeded: 1,
    });
  });

  it("a purge reads its body from the DELETE, or its parameters from the query", async () => {
    await send("POST", "/ojs/v1/jobs", { type: "h.x", args: [], options: { queue: "pq" } });
    await send("POST", "/ojs/v1/jobs", { type: "h.x", args: [], options: { queue: "pq" } });
    expect(
      (await send("DELETE", "/ojs/v1/admin/queues/pq/jobs", { states: ["available"], confirm: true, older_than: "2000-01-01T00:00:00Z" })).json.purged_count,
    ).toBe(0);
    expect((await send("DELETE", "/ojs/v1/admin/queues/pq/jobs?states=available&confirm=true")).json).toEqual({ purged_count: 2, states: ["available"] });
  });

  it("bad filters and pages are 400 with the field named", async () => {
    for (const [path, field] of [
      ["/ojs/v1/admin/jobs?state=running", "state"],
      ["/ojs/v1/admin/jobs?per_page=101", "per_page"],
      ["/ojs/v1/admin/jobs?page=0", "page"],
      ["/ojs/v1/admin/jobs?since=yesterday", "since"],
      ["/ojs/v1/admin/jobs?sort=name", "sort"],
      ["/ojs/v1/admin/jobs?order=up", "order"],
      ["/ojs/v1/admin/jobs?dead_letter=yes", "dead_letter"],
      ["/ojs/v1/admin/queues?per_page=x", "per_page"],
      ["/ojs/v1/admin/stats/history?period=2h", "period"],
    ] as const) {
      const r = await send("GET", path);
      expect(r.status, path).toBe(400);
      expect(r.json.error.message, path).toContain(field);
    }
    const r = await send("POST", "/ojs/v1/admin/jobs/bulk/retry", { filter: { state: "nope" }, confirm: true });
    expect(r.status).toBe(400);
    expect((await send("POST", "/ojs/v1/admin/jobs/bulk/retry", { filter: "all", confirm: true })).status).toBe(400);
  });

  it("queues list with counts and pagination; the admin pause answers the queue", async () => {
    await send("POST", "/ojs/v1/jobs", { type: "h.x", args: [], options: { queue: "lq" } });
    const list = await send("GET", "/ojs/v1/admin/queues?per_page=1&page=1");
    expect(list.json.items).toHaveLength(1);
    expect(list.json.pagination).toMatchObject({ page: 1, per_page: 1 });
    expect(list.json.pagination.total).toBeGreaterThanOrEqual(2);
    expect(list.json.items[0].counts).toHaveProperty("available");
    const paused = await send("POST", "/ojs/v1/admin/queues/lq/pause");
    expect(paused.json).toMatchObject({ name: "lq", paused: true, state: "paused", counts: { available: 1 } });
    expect((await send("POST", "/ojs/v1/workers/fetch", { queues: ["lq"] })).json.jobs).toEqual([]);
    expect((await send("POST", "/ojs/v1/admin/queues/lq/resume")).json.paused).toBe(false);
  });
});
