/** client.admin over both transports against a real server on real sockets. */
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, ConnectionError, grpcTransport, NotFoundError, PermissionDeniedError, ValidationError, type Job } from "../../src/index.js";
import { TRANSPORTS, uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer({ visibilityTimeoutMs: 2000 });
const KEYS = { readonly: "adm-r-5f1c0e", producer: "adm-p-8d2b41", admin: "adm-a-0c9e7a" };
const guarded = useServer({
  auth: {
    keys: [
      { name: "dashboard", token: KEYS.readonly, role: "readonly" },
      { name: "api", token: KEYS.producer, role: "producer" },
      { name: "ops", token: KEYS.admin, role: "admin" },
    ],
  },
});

describe.each(TRANSPORTS)("client.admin over %s", (transport) => {
  let client: Client;
  beforeAll(() => {
    client = new Client({ url: ctx.url, transport });
  });
  afterAll(async () => {
    await client.close();
  });

  async function take(queue: string, workerId = "admin-test-worker"): Promise<Job> {
    const [job] = await client.transport.fetch({ queues: [queue], count: 1, workerId });
    expect(job).toBeDefined();
    return job!;
  }

  /** A queue with 3 available admin.a, 1 completed admin.b and 1 dead-lettered admin.b. */
  async function seed(): Promise<{ queue: string; available: Job[]; dead: Job }> {
    const queue = uniqueQueue("adm");
    const done = await client.enqueue("admin.b", [1], { queue });
    expect((await take(queue)).id).toBe(done.id);
    await client.transport.ack({ jobId: done.id, result: { ok: true } });
    const dead = await client.enqueue("admin.b", [2], { queue, retry: { maxAttempts: 1, onExhaustion: "dead_letter" } });
    expect((await take(queue)).id).toBe(dead.id);
    await client.transport.nack({ jobId: dead.id, error: { code: "boom", message: "broken" } });
    const available: Job[] = [];
    for (let i = 0; i < 3; i++) available.push(await client.enqueue("admin.a", [i], { queue, priority: i }));
    return { queue, available, dead };
  }

  it("a queue shows its per-state counts, dead letter, throughput and configuration", async () => {
    const { queue } = await seed();
    const q = await client.admin.getQueue(queue);
    expect(q).toMatchObject({ name: queue, state: "active", paused: false, deadLetter: 1, depth: 3 });
    expect(q.counts).toMatchObject({ available: 3, active: 0, completed: 1, discarded: 1, cancelled: 0 });
    // One completion within the five-minute window.
    expect(q.throughput.processedPerMinute).toBeCloseTo(1 / 5);
    expect(q.throughput.failedPerMinute).toBeCloseTo(1 / 5);
    expect(q.lastHour.completed).toBe(1);
    expect(q.oldestAvailableAt).toBeInstanceOf(Date);

    const all = await client.admin.listQueues({ perPage: 100 });
    const listed = all.items.find((x) => x.name === queue);
    expect(listed?.counts.available).toBe(3);
    expect(all.total).toBeGreaterThanOrEqual(1);
    expect(all.perPage).toBe(100);
  });

  it("jobs are listed by queue, state, type prefix and time, a page at a time, in the asked order", async () => {
    const { queue, available } = await seed();
    const byState = await client.admin.listJobs({ queue, state: "available" });
    expect(byState.total).toBe(3);
    // Newest first by default.
    expect(byState.items.map((j) => j.id)).toEqual(available.map((j) => j.id).reverse());

    const p1 = await client.admin.listJobs({ queue, type: "admin.*", perPage: 2, page: 1, order: "asc" });
    const p2 = await client.admin.listJobs({ queue, type: "admin.*", perPage: 2, page: 2, order: "asc" });
    const p3 = await client.admin.listJobs({ queue, type: "admin.*", perPage: 2, page: 3, order: "asc" });
    expect([p1.total, p1.page, p1.perPage]).toEqual([5, 1, 2]);
    const ids = [...p1.items, ...p2.items, ...p3.items].map((j) => j.id);
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);

    expect((await client.admin.listJobs({ queue, type: "admin.b" })).total).toBe(2);
    const byPriority = await client.admin.listJobs({ queue, state: "available", sort: "priority", order: "desc" });
    expect(byPriority.items.map((j) => j.priority)).toEqual([2, 1, 0]);

    const dead = await client.admin.listJobs({ queue, deadLetter: true });
    expect(dead.items.map((j) => j.state)).toEqual(["discarded"]);
    expect((await client.admin.listJobs({ queue, deadLetter: false })).total).toBe(4);

    const future = new Date(Date.now() + 60_000);
    expect((await client.admin.listJobs({ queue, since: future })).total).toBe(0);
    expect((await client.admin.listJobs({ queue, until: future })).total).toBe(5);
  });

  it("job detail is the full envelope with its errors", async () => {
    const { dead } = await seed();
    const j = await client.admin.getJob(dead.id);
    expect(j).toMatchObject({ id: dead.id, type: "admin.b", state: "discarded", attempt: 1 });
    expect(j.errors.at(-1)?.code).toBe("boom");
    await expect(client.admin.getJob("00000000-0000-7000-8000-000000000000")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("bulk operations need confirm: true and nothing is sent without it", async () => {
    const { queue, dead } = await seed();
    for (const call of [
      () => client.admin.retryJobs({ queue, state: "discarded" }, { confirm: false }),
      () => client.admin.cancelJobs({ queue }, {} as { confirm: boolean }),
      () => client.admin.deleteJobs({ queue }, { confirm: "yes" as unknown as boolean }),
      () => client.admin.purgeQueue(queue, { states: ["available"], confirm: false }),
      () => client.admin.purgeDeadLetter({ queue, confirm: false }),
    ])
      await expect(call()).rejects.toBeInstanceOf(ValidationError);
    expect((await client.admin.getJob(dead.id)).state).toBe("discarded");
    expect((await client.admin.getQueue(queue)).counts.available).toBe(3);
  });

  it("bulk retry, cancel and delete act on what the filter matches, within the limit, and say why a job failed", async () => {
    const { queue, dead } = await seed();
    const retried = await client.admin.retryJobs({ queue, state: "discarded" }, { confirm: true });
    expect(retried).toMatchObject({ action: "retry", matched: 1, succeeded: 1, failed: 0, remaining: 0 });
    expect((await client.admin.getJob(dead.id)).state).toBe("available");
    expect((await client.admin.getQueue(queue)).deadLetter).toBe(0);

    const cancelled = await client.admin.cancelJobs({ queue, state: "available" }, { confirm: true, limit: 3 });
    expect(cancelled).toMatchObject({ matched: 4, succeeded: 3, remaining: 1 });
    const rest = await client.admin.cancelJobs({ queue, state: "available" }, { confirm: true });
    expect(rest).toMatchObject({ matched: 1, succeeded: 1, remaining: 0 });

    // Deleting unfinished jobs fails job by job, with the reason.
    const waiting = await client.enqueue("admin.a", [9], { queue });
    const refused = await client.admin.deleteJobs({ queue, state: "available" }, { confirm: true });
    expect(refused).toMatchObject({ matched: 1, succeeded: 0, failed: 1 });
    expect(refused.errors).toEqual([{ jobId: waiting.id, error: expect.stringContaining("only a finished job") }]);

    const deleted = await client.admin.deleteJobs({ queue, state: "cancelled" }, { confirm: true });
    expect(deleted).toMatchObject({ matched: 4, succeeded: 4 });
    await expect(client.admin.getJob(dead.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await client.admin.getQueue(queue)).counts).toMatchObject({ cancelled: 0, completed: 1, available: 1 });
  });

  it("single job cancel, retry and delete", async () => {
    const { queue, available, dead } = await seed();
    expect((await client.admin.cancelJob(available[0]!.id)).state).toBe("cancelled");
    expect((await client.admin.retryJob(dead.id)).state).toBe("available");
    await client.admin.deleteJob(available[0]!.id);
    await expect(client.admin.getJob(available[0]!.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await client.admin.getQueue(queue)).counts.cancelled).toBe(0);
  });

  it("pause stops delivery, resume restores it, purge removes waiting jobs", async () => {
    const { queue } = await seed();
    await client.admin.pauseQueue(queue);
    expect((await client.admin.getQueue(queue)).state).toBe("paused");
    expect(await client.transport.fetch({ queues: [queue], count: 1, workerId: "w" })).toEqual([]);
    await client.admin.resumeQueue(queue);
    expect((await client.admin.getQueue(queue)).paused).toBe(false);

    const purged = await client.admin.purgeQueue(queue, { states: ["available", "completed"], confirm: true });
    expect(purged).toEqual({ purgedCount: 4, states: ["available", "completed"] });
    expect((await client.admin.getQueue(queue)).counts).toMatchObject({ available: 0, completed: 0, discarded: 1 });
    expect(await client.admin.purgeDeadLetter({ queue, confirm: true })).toMatchObject({ purgedCount: 1 });
    expect((await client.admin.getQueue(queue)).deadLetter).toBe(0);
  });

  it("workers are listed with a summary and can be told what to do", async () => {
    const workerId = `admin-w-${transport}-${Date.now()}`;
    await client.transport.heartbeat({ workerId, state: "running", activeJobIds: [] });
    const list = await client.admin.listWorkers({ perPage: 100 });
    expect(list.items.map((w) => w.id)).toContain(workerId);
    expect(list.summary.total).toBe(list.total);
    expect(list.summary.running).toBeGreaterThanOrEqual(1);
    expect((await client.admin.quietWorker(workerId)).directive).toBe("quiet");
    expect((await client.admin.getWorker(workerId)).directive).toBe("quiet");
    expect((await client.admin.resumeWorker(workerId)).directive).toBe("running");
  });

  it("stats count jobs across queues and give throughput and its history", async () => {
    await seed();
    const s = await client.admin.stats();
    expect(s.queues).toBeGreaterThanOrEqual(1);
    expect(s.jobs.completed).toBeGreaterThanOrEqual(1);
    expect(s.throughput.processedPerMinute).toBeGreaterThan(0);
    expect(s.uptimeSeconds).toBeGreaterThanOrEqual(0);
    const h = await client.admin.statsHistory({ period: "1m" });
    expect(h.period).toBe("1m");
    expect(h.points.reduce((n, p) => n + p.processed, 0)).toBeGreaterThanOrEqual(1);
    await expect(client.admin.statsHistory({ period: "2h" as "1h" })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("client.admin over gRPC: ojs.v1 RPCs where the contract has them, the HTTP binding for the rest", () => {
  it("pause, resume and job detail go over gRPC; counts and search reach httpUrl", async () => {
    // A port with nothing listening: whatever goes to the HTTP binding fails to connect.
    const probe = createNetServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));

    const t = grpcTransport({ url: ctx.url, httpUrl: `http://127.0.0.1:${deadPort}` });
    const client = new Client({ transport: t });
    try {
      const queue = uniqueQueue("adm-grpc");
      const job = await client.enqueue("admin.a", [], { queue });
      await client.admin.pauseQueue(queue);
      expect((await client.queueStats(queue)).paused).toBe(true);
      await client.admin.resumeQueue(queue);
      expect((await client.admin.getJob(job.id)).id).toBe(job.id);
      await expect(client.admin.getQueue(queue)).rejects.toBeInstanceOf(ConnectionError);
      await expect(client.admin.listJobs({ queue })).rejects.toBeInstanceOf(ConnectionError);
    } finally {
      await client.close();
      await t.close();
    }
  });
});

describe.each(TRANSPORTS)("client.admin with roles over %s", (transport) => {
  it("readonly reads everything, producer cancels one job, only admin acts in bulk or pauses", async () => {
    const as = (token: string) => new Client({ url: guarded.url, transport, auth: { token } });
    const [ro, producer, admin] = [as(KEYS.readonly), as(KEYS.producer), as(KEYS.admin)];
    try {
      const queue = uniqueQueue("adm-auth");
      const job = await producer.enqueue("admin.a", [], { queue });
      expect((await ro.admin.listJobs({ queue })).total).toBe(1);
      expect((await ro.admin.getQueue(queue)).counts.available).toBe(1);
      await ro.admin.stats();
      await ro.admin.listWorkers();
      await expect(ro.admin.cancelJobs({ queue }, { confirm: true })).rejects.toBeInstanceOf(PermissionDeniedError);
      await expect(producer.admin.cancelJobs({ queue }, { confirm: true })).rejects.toBeInstanceOf(PermissionDeniedError);
      await expect(ro.admin.pauseQueue(queue)).rejects.toBeInstanceOf(PermissionDeniedError);
      await expect(producer.admin.purgeQueue(queue, { states: ["available"], confirm: true })).rejects.toBeInstanceOf(PermissionDeniedError);
      expect((await producer.admin.cancelJob(job.id)).state).toBe("cancelled");
      expect(await admin.admin.deleteJobs({ queue }, { confirm: true })).toMatchObject({ matched: 1, succeeded: 1 });
    } finally {
      await Promise.all([ro.close(), producer.close(), admin.close()]);
    }
  });
});
