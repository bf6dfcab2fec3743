import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  batch,
  chain,
  Client,
  ConflictError,
  DuplicateJobError,
  group,
  JobDroppedError,
  NotFoundError,
  step,
  ValidationError,
  type Job,
  type OjsEvent,
} from "../../src/index.js";
import { currentStore, eventually, TRANSPORTS, uniqueQueue, useServer, type TransportName } from "../helpers.js";

const ctx = useServer({ visibilityTimeoutMs: 2000 });

describe.each(TRANSPORTS)("Client over %s", (transport) => {
  let client: Client;
  let other: Client;
  const otherName: TransportName = transport === "grpc" ? "http" : "grpc";
  beforeAll(() => {
    client = new Client({ url: ctx.url, transport });
    other = new Client({ url: ctx.url, transport: otherName });
  });
  afterAll(async () => {
    await client.close();
    await other.close();
  });

  /** Takes one job off a queue the way a worker does, through the same transport. */
  async function take(queue: string): Promise<Job> {
    const [job] = await client.transport.fetch({ queues: [queue], count: 1, workerId: "test-worker" });
    expect(job).toBeDefined();
    return job!;
  }

  describe("jobs", () => {
    it("enqueue keeps every option of the standard and both transports read the same Job", async () => {
      const queue = uniqueQueue("opts");
      const scheduledAt = new Date(Date.now() + 60_000);
      const expiresAt = new Date(Date.now() + 3_600_000);
      const job = await client.enqueue("report.build", [0, false, "", null, { nested: [1, { deep: true }] }, "ünïcødé 𝄞"], {
        queue,
        priority: 7,
        timeout: "PT30S",
        scheduledAt,
        expiresAt,
        retry: {
          maxAttempts: 5,
          initialInterval: "PT2S",
          backoffCoefficient: 1.5,
          maxInterval: "PT1M",
          jitter: false,
          nonRetryableErrors: ["auth.*"],
          onExhaustion: "dead_letter",
        },
        tags: ["a", "b"],
        meta: { tenant: "acme", zero: 0, flag: false, empty: "", deep: { a: { b: { c: { d: 1 } } } } },
        visibilityTimeout: 45_000,
      });
      expect(job).toMatchObject({
        type: "report.build",
        queue,
        state: "scheduled",
        priority: 7,
        attempt: 0,
        maxAttempts: 5,
        timeout: 30_000,
        visibilityTimeout: 45_000,
        tags: ["a", "b"],
        scheduledAt,
        expiresAt,
        args: [0, false, "", null, { nested: [1, { deep: true }] }, "ünïcødé 𝄞"],
        meta: { tenant: "acme", zero: 0, flag: false, empty: "", deep: { a: { b: { c: { d: 1 } } } } },
        retry: {
          maxAttempts: 5,
          initialInterval: 2000,
          backoffCoefficient: 1.5,
          maxInterval: 60_000,
          jitter: false,
          nonRetryableErrors: ["auth.*"],
          onExhaustion: "dead_letter",
        },
      });
      expect(job.createdAt).toBeInstanceOf(Date);
      const viaThis = await client.getJob(job.id);
      const viaOther = await other.getJob(job.id);
      expect(viaThis).toEqual(viaOther);
      expect(viaThis).toEqual(job);
    });

    it("enqueue with delay schedules the job; a client-provided id is kept", async () => {
      const id = "019a0000-0000-7000-8000-" + Date.now().toString(16).padStart(12, "0").slice(-12);
      const job = await client.enqueue("t.delay", [], { queue: uniqueQueue(), delay: 60_000, id });
      expect(job.id).toBe(id);
      expect(job.state).toBe("scheduled");
      expect(job.scheduledAt!.getTime()).toBeGreaterThan(Date.now() + 50_000);
    });

    it("a second enqueue with the same id fails with DuplicateJobError", async () => {
      const id = "019a0000-0000-7000-8000-" + (Date.now() + 1).toString(16).padStart(12, "0").slice(-12);
      await client.enqueue("t.dup", [], { id });
      await expect(client.enqueue("t.dup", [], { id })).rejects.toBeInstanceOf(DuplicateJobError);
    });

    it("unique jobs: reject gives DuplicateJobError naming the existing job", async () => {
      const queue = uniqueQueue("uniq");
      const first = await client.enqueue("t.unique", [{ user: queue }], { queue, unique: { keys: ["type", "args"], period: "PT1H" } });
      const err = await client.enqueue("t.unique", [{ user: queue }], { queue, unique: { keys: ["type", "args"], period: "PT1H" } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DuplicateJobError);
      expect((err as DuplicateJobError).existingJobId).toBe(first.id);
    });

    it("enqueueBatch is atomic: one bad entry stores nothing", async () => {
      const queue = uniqueQueue("batch");
      const jobs = await client.enqueueBatch([
        { type: "t.batch", args: [1], options: { queue } },
        { type: "t.batch", args: [2], options: { queue, priority: 3 } },
      ]);
      expect(jobs.map((j) => j.args)).toEqual([[1], [2]]);
      expect(jobs[1]!.priority).toBe(3);
      await expect(
        client.enqueueBatch([
          { type: "t.batch", args: [3], options: { queue } },
          { type: "BAD", args: [] },
        ]),
      ).rejects.toBeInstanceOf(ValidationError);
      const stats = await client.queueStats(queue);
      expect(stats.available).toBe(2);
    });

    it("cancelJob cancels; cancelling again is a ConflictError; unknown ids are NotFoundError", async () => {
      const job = await client.enqueue("t.cancel", [], { queue: uniqueQueue() });
      expect((await client.cancelJob(job.id)).state).toBe("cancelled");
      await expect(client.cancelJob(job.id)).rejects.toBeInstanceOf(ConflictError);
      await expect(client.getJob("019a0000-0000-7000-8000-00000000dead")).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.cancelJob("019a0000-0000-7000-8000-00000000dead")).rejects.toMatchObject({ code: "not_found", operation: "cancelJob" });
    });

    it("invalid input is refused before anything is sent, naming the field", async () => {
      await expect(client.enqueue("Bad Type", [])).rejects.toThrow(/^type: /);
      await expect(client.enqueue("t.x", {} as never)).rejects.toThrow(/^args: must be an array/);
      await expect(client.enqueue("t.x", [], { priority: 1000 })).rejects.toThrow(/^options\.priority: /);
      await expect(client.enqueue("t.x", [], { queue: "Bad Queue" })).rejects.toThrow(/^options\.queue: /);
      await expect(client.getJob("")).rejects.toBeInstanceOf(ValidationError);
    });
  });

  describe("enqueue middleware", () => {
    it("changes single and batch enqueues alike, and may drop a job", async () => {
      const c = new Client({ url: ctx.url, transport });
      const queue = uniqueQueue("mw");
      const seen: string[] = [];
      c.useEnqueueMiddleware(async (req, next) => {
        seen.push(req.type);
        return next({ ...req, options: { ...req.options, meta: { ...(req.options.meta ?? {}), stamped: true } } });
      });
      c.useEnqueueMiddleware((req, next) => (req.type === "t.drop" ? null : next(req)));
      try {
        const one = await c.enqueue("t.mw", [1], { queue });
        expect(one.meta).toEqual({ stamped: true });
        const many = await c.enqueueBatch([
          { type: "t.mw", args: [2], options: { queue } },
          { type: "t.drop", args: [3], options: { queue } },
          { type: "t.mw", args: [4], options: { queue, meta: { own: 1 } } },
        ]);
        expect(many.map((j) => [j.args, j.meta])).toEqual([
          [[2], { stamped: true }],
          [[4], { own: 1, stamped: true }],
        ]);
        await expect(c.enqueue("t.drop", [], { queue })).rejects.toBeInstanceOf(JobDroppedError);
        expect(seen).toEqual(["t.mw", "t.mw", "t.drop", "t.mw", "t.drop"]);
      } finally {
        await c.close();
      }
    });
  });

  describe("queues", () => {
    it("list, stats, pause and resume; a paused queue delivers nothing", async () => {
      const queue = uniqueQueue("ops");
      await client.enqueue("t.q", [1], { queue });
      await client.enqueue("t.q", [2], { queue });
      const listed = await client.listQueues({ limit: 1000 });
      expect(listed.items.find((q) => q.name === queue)).toMatchObject({ name: queue, paused: false });
      expect(await client.queueStats(queue)).toMatchObject({ queue, available: 2, active: 0, paused: false });
      expect(await client.queueStats(queue)).toEqual(await other.queueStats(queue));
      await client.pauseQueue(queue);
      expect((await client.queueStats(queue)).paused).toBe(true);
      expect(await client.transport.fetch({ queues: [queue], count: 5, workerId: "w" })).toEqual([]);
      await client.resumeQueue(queue);
      expect((await take(queue)).args).toEqual([1]);
      expect(await client.queueStats(queue)).toMatchObject({ available: 1, active: 1 });
    });
  });

  describe("dead letter", () => {
    it("an exhausted dead_letter job can be listed, retried and deleted", async () => {
      const queue = uniqueQueue("dlq");
      const job = await client.enqueue("t.dlq", [], { queue, retry: { maxAttempts: 1, onExhaustion: "dead_letter" } });
      await take(queue);
      await client.transport.nack({ jobId: job.id, error: { code: "boom", message: "no", retryable: true } });
      const page = await client.listDeadLetterJobs({ queue, limit: 10 });
      expect(page.items.map((j) => j.id)).toEqual([job.id]);
      expect(page).toEqual(await other.listDeadLetterJobs({ queue, limit: 10 }));
      const retried = await client.retryDeadLetterJob(job.id);
      expect(retried.state).toBe("available");
      await take(queue);
      await client.transport.nack({ jobId: job.id, error: { code: "boom", message: "again", retryable: true } });
      await client.deleteDeadLetterJob(job.id);
      expect((await client.listDeadLetterJobs({ queue })).items).toEqual([]);
      await expect(client.deleteDeadLetterJob(job.id)).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe("cron", () => {
    it("register (an upsert), list, unregister", async () => {
      const name = `${transport}-nightly-${Date.now()}`;
      const reg = await client.registerCronJob({
        name,
        cron: "0 3 * * *",
        timezone: "Europe/Paris",
        type: "report.nightly",
        args: [1],
        options: { queue: "reports" },
      });
      expect(reg.name).toBe(name);
      expect(reg.nextRunAt).toBeInstanceOf(Date);
      await client.registerCronJob({ name, cron: "0 4 * * *", timezone: "Europe/Paris", type: "report.nightly", args: [2], options: { queue: "reports" } });
      const entry = (await client.listCronJobs()).find((c) => c.name === name);
      expect(entry).toMatchObject({ name, cron: "0 4 * * *", timezone: "Europe/Paris", type: "report.nightly", args: [2], options: { queue: "reports" } });
      expect((await other.listCronJobs()).find((c) => c.name === name)).toEqual(entry);
      await client.unregisterCronJob(name);
      expect((await client.listCronJobs()).find((c) => c.name === name)).toBeUndefined();
      await expect(client.unregisterCronJob(name)).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.registerCronJob({ name: "bad-expr", cron: "not a cron", type: "t.x" })).rejects.toBeInstanceOf(ValidationError);
      // A template runs again and again: a fixed delay, time or id would be stale from the second run.
      await expect(client.registerCronJob({ name: "with-delay", cron: "* * * * *", type: "t.x", options: { delay: 1000 } })).rejects.toThrow(
        /^options\.delay: not allowed in a cron template/,
      );
    });
  });

  describe("workflows", () => {
    it("a chain runs step by step and passes results; both transports report the same workflow", async () => {
      const queue = uniqueQueue("wf");
      const wf = await client.workflow(chain("pipeline", [step("wf.a", [1], { queue }), step("wf.b", [2], { queue })]));
      expect(wf.state).toBe("running");
      expect(wf.steps.map((s) => [s.id, s.type, s.dependsOn])).toEqual([
        ["0", "wf.a", []],
        ["1", "wf.b", ["0"]],
      ]);
      const a = await take(queue);
      expect(a.type).toBe("wf.a");
      await client.transport.ack({ jobId: a.id, result: { out: 42 } });
      const b = await eventually(() => client.transport.fetch({ queues: [queue], count: 1, workerId: "w" }).then((j) => j[0]));
      expect(b.type).toBe("wf.b");
      expect(b.parentResults).toEqual({ "0": { out: 42 } });
      await client.transport.ack({ jobId: b.id });
      const done = await eventually(async () => {
        const w = await client.getWorkflow(wf.id);
        return w.state === "completed" ? w : undefined;
      });
      expect(done.steps.map((s) => s.state)).toEqual(["completed", "completed"]);
      expect(await other.getWorkflow(wf.id)).toEqual(done);
    });

    it("group and batch with callbacks; cancel stops what has not run", async () => {
      const queue = uniqueQueue("wf2");
      const g = await client.workflow(group("fanout", [step("wf.g", [1], { queue }), step("wf.g", [2], { queue })]));
      expect(g.steps.map((s) => s.dependsOn)).toEqual([[], []]);
      const b = await client.workflow(
        batch("import", [step("wf.part", [1], { queue })], { onSuccess: step("wf.done", [], { queue }), onFailure: step("wf.failed", [], { queue }) }),
      );
      expect(b.steps.map((s) => s.id)).toEqual(["0", "on_success", "on_failure"]);
      const cancelled = await client.cancelWorkflow(b.id);
      expect(cancelled.state).toBe("cancelled");
      await expect(client.getWorkflow("019a0000-0000-7000-8000-0000000000aa")).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.workflow(chain("empty", []))).rejects.toBeInstanceOf(ValidationError);
      await expect(client.workflow(chain("bad", [step("BAD", [])]))).rejects.toThrow(/step 0: type/);
    });
  });

  describe("schemas", () => {
    it("register, get (latest and by version), list, delete", async () => {
      const type = `schema.${transport}.t${Date.now()}`;
      await client.registerSchema({ type, version: 1, schema: { type: "array", items: [{ type: "string" }] } });
      await client.registerSchema({ type, version: 2, schema: { type: "array", minItems: 1 } });
      expect((await client.getSchema(type)).version).toBe(2);
      expect((await client.getSchema(type, 1)).schema).toEqual({ type: "array", items: [{ type: "string" }] });
      expect((await client.listSchemas()).some((s) => s.type === type)).toBe(true);
      await client.deleteSchema(type, 2);
      expect((await client.getSchema(type)).version).toBe(1);
      await expect(client.getSchema(`${type}.none`)).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe("system", () => {
    it("manifest and health are the same over both transports", async () => {
      const m = await client.manifest();
      expect(m).toMatchObject({ conformanceLevel: 4, protocols: ["http", "grpc"], backend: currentStore() });
      expect(m.implementation.name).toBe("ojs-connect");
      expect(m).toEqual(await other.manifest());
      expect((await client.health()).status).toBe("ok");
    });
  });

  describe("events", () => {
    it("streams typed lifecycle events for a queue until aborted", async () => {
      const queue = uniqueQueue("ev");
      const abort = new AbortController();
      const got: OjsEvent[] = [];
      const reader = (async () => {
        for await (const e of client.events({ queues: [queue], types: ["job.*"], signal: abort.signal })) {
          got.push(e);
          if (got.some((x) => x.type === "job.completed")) abort.abort();
        }
      })();
      // Give the stream a moment to be established before producing events.
      await new Promise((r) => setTimeout(r, 200));
      const job = await client.enqueue("t.ev", [], { queue });
      const j = await take(queue);
      await client.transport.ack({ jobId: j.id, result: 1 });
      await Promise.race([reader, new Promise((_, rej) => setTimeout(() => rej(new Error("no events")), 5000))]);
      expect(got.map((e) => e.type)).toEqual(expect.arrayContaining(["job.enqueued", "job.completed"]));
      expect(got.every((e) => e.jobId === job.id && e.queue === queue && e.time instanceof Date)).toBe(true);
    });
  });

  it("close releases the connection and further calls fail; Symbol.asyncDispose closes too", async () => {
    const c = new Client({ url: ctx.url, transport });
    await c.health();
    await c[Symbol.asyncDispose]();
    await expect(c.health()).rejects.toMatchObject({ code: "unavailable" });
  });
});

describe("client configuration", () => {
  it("reads OJS_URL and OJS_TRANSPORT when options are not given", async () => {
    const env = { ...process.env };
    process.env.OJS_URL = ctx.url;
    process.env.OJS_TRANSPORT = "http";
    try {
      const c = new Client();
      expect(c.transport.name).toBe("http");
      expect((await c.health()).status).toBe("ok");
      await c.close();
    } finally {
      process.env = env;
    }
  });

  it("refuses an unknown transport name and a malformed URL", () => {
    expect(() => new Client({ url: ctx.url, transport: "smoke" as never })).toThrow(ValidationError);
    expect(() => new Client({ url: "not a url" })).toThrow(/url/);
  });

  it("a call against a dead server fails with ConnectionError, and its signal aborts it", async () => {
    for (const transport of TRANSPORTS) {
      const c = new Client({ url: "http://127.0.0.1:1", transport, timeoutMs: 2000 });
      await expect(c.health()).rejects.toMatchObject({ name: "ConnectionError", retryable: true });
      await c.close();
    }
    // A server that takes the connection and never answers: only the signal can end the call.
    const sockets = new Set<Socket>();
    const silent = createNetServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      for (const transport of TRANSPORTS) {
        const c = new Client({ url, transport, timeoutMs: 15_000 });
        const ac = new AbortController();
        const started = Date.now();
        const call = c.health({ signal: ac.signal });
        setTimeout(() => ac.abort(), 200);
        await expect(call, transport).rejects.toMatchObject({ name: "AbortError", retryable: false });
        // Ended by the abort, long before the 15 s deadline could.
        expect(Date.now() - started, transport).toBeLessThan(5000);
        await c.close();
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
