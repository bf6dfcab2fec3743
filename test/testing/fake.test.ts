import { AssertionError } from "node:assert";
import { createHook } from "node:async_hooks";
import { describe, expect, it } from "vitest";
import {
  chain,
  Client,
  ConflictError,
  ConnectionError,
  DuplicateJobError,
  group,
  JobDroppedError,
  NotFoundError,
  step,
  ValidationError,
  Worker,
} from "../../src/index.js";
import { createFakeClient } from "../../src/testing/index.js";

const T0 = Date.UTC(2026, 0, 1);

/** The message of the AssertionError fn throws. */
function failure(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AssertionError);
    return (e as Error).message;
  }
  throw new Error("expected an AssertionError");
}

describe("createFakeClient: a real Client on an in-process server", () => {
  it("enqueue answers with the full envelope, and getJob/cancelJob behave as on a server", async () => {
    await using ojs = createFakeClient({ now: T0 });
    expect(ojs).toBeInstanceOf(Client);
    const job = await ojs.enqueue("email.send", ["ada@example.com"], { queue: "mail", priority: 5, tags: ["welcome"], meta: { tenant: "acme" } });
    expect(job.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(job).toMatchObject({ type: "email.send", queue: "mail", priority: 5, state: "available", attempt: 0, tags: ["welcome"], meta: { tenant: "acme" } });
    expect(job.createdAt?.getTime()).toBe(T0);
    expect((await ojs.getJob(job.id)).state).toBe("available");
    expect((await ojs.cancelJob(job.id)).state).toBe("cancelled");
    await expect(ojs.cancelJob(job.id)).rejects.toBeInstanceOf(ConflictError);
    await expect(ojs.getJob("0196b1a0-0000-7000-8000-000000000000")).rejects.toBeInstanceOf(NotFoundError);
    await expect(ojs.enqueue("Bad Type!", [])).rejects.toBeInstanceOf(ValidationError);
  });

  it("never opens a socket or resolves a name, whatever is called", async () => {
    const network: string[] = [];
    const hook = createHook({
      init(_id, type) {
        if (/TCP|UDP|TLS|HTTP2|GETADDRINFO|PIPE/.test(type)) network.push(type);
      },
    });
    hook.enable();
    try {
      // A worker configured for a server that is not there: drain must not use its transport.
      const worker = new Worker({ url: "http://127.0.0.1:9", handleSignals: false });
      worker.register("work.do", async (ctx) => {
        ctx.progress(0.5);
        await ctx.heartbeat();
        return { ok: true };
      });
      await using ojs = createFakeClient({ worker, schemaValidation: "strict" });
      const job = await ojs.enqueue("work.do", [1]);
      await ojs.enqueueBatch([{ type: "work.do", args: [2] }]);
      await ojs.getJob(job.id);
      await ojs.manifest();
      await ojs.health();
      await ojs.listQueues();
      await ojs.queueStats("default");
      await ojs.pauseQueue("other");
      await ojs.resumeQueue("other");
      await ojs.registerSchema({ type: "typed.job", version: 1, schema: { type: "array", items: [{ type: "string" }] } });
      expect((await ojs.getSchema("typed.job")).version).toBe(1);
      expect(await ojs.listSchemas()).toHaveLength(1);
      await expect(ojs.enqueue("typed.job", [42])).rejects.toBeInstanceOf(ValidationError);
      await ojs.deleteSchema("typed.job", 1);
      await ojs.registerCronJob({ name: "nightly", cron: "0 3 * * *", type: "work.do", args: [] });
      expect(await ojs.listCronJobs()).toHaveLength(1);
      const wf = await ojs.workflow(chain("flow", [step("work.do", [3]), step("work.do", [4])]));
      await ojs.getWorkflow(wf.id);
      await ojs.listDeadLetterJobs();
      const abort = new AbortController();
      const events = ojs.events({ types: ["job.completed"], signal: abort.signal })[Symbol.asyncIterator]();
      const first = events.next();
      const r = await ojs.drain();
      expect(r.completed).toBe(4);
      expect((await first).value).toMatchObject({ type: "job.completed" });
      abort.abort();
      expect(r.runs[0]!.progress).toEqual([{ progress: 0.5 }]);
      await ojs.cancelWorkflow(wf.id).catch(() => undefined);
    } finally {
      hook.disable();
    }
    expect(network).toEqual([]);
  });

  it("runs enqueue middleware for single and batch enqueues, added before or after creation", async () => {
    await using ojs = createFakeClient();
    ojs.useEnqueueMiddleware((req, next) => next({ ...req, options: { ...req.options, meta: { ...req.options.meta, tenant: "acme" } } }));
    ojs.useEnqueueMiddleware((req, next) => (req.type === "debug.noise" ? null : next(req)));
    await ojs.enqueue("email.send", ["a"]);
    await ojs.enqueueBatch([
      { type: "email.send", args: ["b"] },
      { type: "debug.noise", args: [] },
    ]);
    await expect(ojs.enqueue("debug.noise", [])).rejects.toBeInstanceOf(JobDroppedError);
    ojs.assertEnqueued("email.send", { meta: { tenant: "acme" }, count: 2 });
    ojs.refuteEnqueued("debug.noise");
  });

  it("measures delay on its virtual clock, even after time was frozen elsewhere", async () => {
    await using ojs = createFakeClient({ now: T0 });
    ojs.freezeTime("2030-06-01T12:00:00Z");
    const job = await ojs.enqueue("report.build", [], { delay: "PT10M" });
    expect(job.state).toBe("scheduled");
    expect(job.scheduledAt?.toISOString()).toBe("2030-06-01T12:10:00.000Z");
    ojs.advanceTime("PT9M59S");
    expect((await ojs.getJob(job.id)).state).toBe("scheduled");
    expect(ojs.advanceTime(1_000).toISOString()).toBe("2030-06-01T12:10:00.000Z");
    expect((await ojs.getJob(job.id)).state).toBe("available");
    expect(ojs.now().toISOString()).toBe("2030-06-01T12:10:00.000Z");
  });

  it("keeps unique jobs unique, as a server does", async () => {
    await using ojs = createFakeClient();
    const unique = { keys: ["type", "args"], period: "PT1H" };
    await ojs.enqueue("user.sync", [7], { unique });
    await expect(ojs.enqueue("user.sync", [7], { unique })).rejects.toBeInstanceOf(DuplicateJobError);
    await ojs.enqueue("user.sync", [7], { unique: { ...unique, onConflict: "ignore" } });
    ojs.assertEnqueued("user.sync", { args: [7], count: 1 });
  });

  it("runs cron schedules as virtual time passes, with the server's overlap policy", async () => {
    await using ojs = createFakeClient({ now: T0, handlers: { "metrics.flush": () => "flushed" } });
    await ojs.registerCronJob({ name: "tick", cron: "*/5 * * * *", type: "metrics.flush", args: [] });
    ojs.refuteEnqueued("metrics.flush");
    ojs.advanceTime("PT15M");
    // Overlap "skip" (the default): runs while the last one waits are skipped.
    ojs.assertEnqueued("metrics.flush", { meta: { cron_name: "tick" }, count: 1 });
    expect((await ojs.drain({ withScheduled: false })).completed).toBe(1);
    ojs.advanceTime("PT5M");
    ojs.assertEnqueued("metrics.flush", { count: 2 });
    expect(ojs.allEnqueued().map((j) => j.createdAt?.getTime())).toEqual([T0 + 5 * 60_000, T0 + 20 * 60_000]);
  });

  it("two fakes never see each other's jobs, even used at the same time", async () => {
    await using a = createFakeClient();
    await using b = createFakeClient();
    await Promise.all([a.enqueue("job.a", [1]), b.enqueue("job.b", [1]), a.enqueue("job.a", [2])]);
    a.assertEnqueued("job.a", { count: 2 });
    a.refuteEnqueued("job.b");
    b.assertEnqueued("job.b", { count: 1 });
    b.refuteEnqueued("job.a");
    a.advanceTime("PT1H");
    expect(b.now().getTime()).toBeLessThan(a.now().getTime());
    a.clear();
    expect(a.allEnqueued()).toEqual([]);
    expect(b.allEnqueued()).toHaveLength(1);
  });

  it("clear() forgets jobs, queues, cron and workflows, and keeps the time", async () => {
    await using ojs = createFakeClient({ now: T0 });
    const job = await ojs.enqueue("a.b", []);
    await ojs.registerCronJob({ name: "c", cron: "* * * * *", type: "a.b", args: [] });
    await ojs.workflow(chain("w", [step("a.b", [])]));
    ojs.advanceTime(30_000);
    ojs.clear();
    expect(ojs.allEnqueued()).toEqual([]);
    expect(ojs.allWorkflows()).toEqual([]);
    expect(await ojs.listCronJobs()).toEqual([]);
    await expect(ojs.getJob(job.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(ojs.now().getTime()).toBe(T0 + 30_000);
  });

  it("after close(), calls fail and nothing scheduled runs", async () => {
    const ojs = createFakeClient();
    await ojs.registerCronJob({ name: "c", cron: "* * * * *", type: "a.b", args: [] });
    await ojs.close();
    await ojs.close();
    await expect(ojs.enqueue("a.b", [])).rejects.toBeInstanceOf(ConnectionError);
    expect(() => ojs.advanceTime("PT5M")).toThrow(/disposed/);
    expect(ojs.allEnqueued()).toEqual([]);
  });

  it("serves a real Worker too, in process: streaming, acks, no sockets", async () => {
    await using ojs = createFakeClient();
    const worker = new Worker({ transport: ojs.transport, handleSignals: false, concurrency: 3 });
    worker.register("math.double", (ctx) => (ctx.args[0] as number) * 2);
    void worker.start();
    const jobs = await Promise.all([1, 2, 3, 4, 5].map((n) => ojs.enqueue("math.double", [n])));
    for (let i = 0; i < 400 && !ojs.allEnqueued().every((j) => j.state === "completed"); i++) await new Promise((r) => setTimeout(r, 5));
    expect(ojs.allEnqueued().map((j) => j.result)).toEqual([2, 4, 6, 8, 10]);
    expect(jobs).toHaveLength(5);
    await worker.stop();
  });

  it("refuses inconsistent options", async () => {
    const worker = new Worker({ handleSignals: false });
    expect(() => createFakeClient({ worker, handlers: {} })).toThrow(ValidationError);
    // Inline mode without handlers refuses before anything is stored.
    await using ojs = createFakeClient({ inline: true });
    await expect(ojs.enqueue("a.b", [])).rejects.toThrow(/inline mode needs handlers/);
    await expect(ojs.enqueueBatch([{ type: "a.b", args: [] }])).rejects.toThrow(ValidationError);
    expect(ojs.allEnqueued()).toEqual([]);
    expect((await ojs.useHandlers({ "a.b": () => "late" }).enqueue("a.b", [])).result).toBe("late");
  });
});

describe("recording and enqueue assertions", () => {
  it("assertEnqueued matches type, args (deep), queue, meta (subset) and an exact count", async () => {
    await using ojs = createFakeClient();
    await ojs.enqueue("email.send", [{ to: "ada", tags: ["x"] }], { queue: "mail", meta: { tenant: "acme", trace: "t1" } });
    await ojs.enqueue("email.send", [{ to: "bob" }], { queue: "mail" });
    ojs.assertEnqueued("email.send");
    ojs.assertEnqueued("email.send", { count: 2 });
    ojs.assertEnqueued("email.send", { args: [{ to: "ada", tags: ["x"] }], queue: "mail", meta: { tenant: "acme" }, count: 1 });
    ojs.refuteEnqueued("email.send", { args: [{ to: "ada" }] });
    ojs.refuteEnqueued("email.send", { queue: "default" });
    ojs.refuteEnqueued("sms.send");
  });

  it("a failed assertEnqueued lists what was enqueued, with why each job of the type did not match", async () => {
    await using ojs = createFakeClient();
    const a = await ojs.enqueue("email.send", ["bob@example.com"], { queue: "mail" });
    await ojs.enqueue("email.send", ["ada@example.com"], { queue: "default", meta: { tenant: "zeta" } });
    await ojs.enqueue("report.build", [2026]);
    const msg = failure(() => ojs.assertEnqueued("email.send", { args: ["ada@example.com"], queue: "mail", meta: { tenant: "acme" } }));
    expect(msg).toContain('Expected a "email.send" job with args ["ada@example.com"] on queue "mail" and meta {"tenant":"acme"} to be enqueued, but none was.');
    expect(msg).toContain('"email.send" jobs enqueued (2):');
    expect(msg).toContain(
      `email.send ["bob@example.com"] on "mail" [available, ${a.id}]: args are ["bob@example.com"], not ["ada@example.com"]; meta has no "tenant"`,
    );
    expect(msg).toContain('queue is "default", not "mail"; meta.tenant is "zeta", not "acme"');
    expect(msg).toContain('Other jobs enqueued (1):\n  - report.build [2026] on "default"');
  });

  it("a wrong count says how many matched; nothing enqueued says so", async () => {
    await using ojs = createFakeClient();
    expect(failure(() => ojs.assertEnqueued("email.send"))).toBe('Expected a "email.send" job to be enqueued, but none was.\nNo job was enqueued.');
    await ojs.enqueue("email.send", [1]);
    const e = (() => {
      try {
        ojs.assertEnqueued("email.send", { count: 2 });
      } catch (err) {
        return err as AssertionError;
      }
      throw new Error("no failure");
    })();
    expect(e.message).toMatch(/^Expected exactly 2 "email.send" jobs to be enqueued, found 1\./);
    expect(e.actual).toBe(1);
    expect(e.expected).toBe(2);
    // The stack starts at the caller, not inside the toolkit.
    expect(e.stack?.split("\n").find((l) => l.trimStart().startsWith("at "))).toContain("fake.test.ts");
  });

  it("a failed refuteEnqueued lists the jobs it found", async () => {
    await using ojs = createFakeClient();
    await ojs.enqueue("email.send", ["a"]);
    await ojs.enqueue("email.send", ["b"]);
    const msg = failure(() => ojs.refuteEnqueued("email.send", { args: ["b"] }));
    expect(msg).toMatch(/^Expected no "email.send" job with args \["b"\] to be enqueued, but found 1:\n {2}- email\.send \["b"\] on "default" \[available, /);
  });

  it("long inventories are cut short", async () => {
    await using ojs = createFakeClient();
    await ojs.enqueueBatch(Array.from({ length: 25 }, (_, i) => ({ type: "bulk.item", args: [i] })));
    const msg = failure(() => ojs.assertEnqueued("bulk.item", { args: [99] }));
    expect(msg).toContain('"bulk.item" jobs enqueued (25):');
    expect(msg).toContain("... and 5 more");
  });

  it("allEnqueued filters by type and queue and hands out copies", async () => {
    await using ojs = createFakeClient();
    await ojs.enqueue("a.one", [1], { queue: "q1" });
    await ojs.enqueue("a.two", [2], { queue: "q2" });
    await ojs.enqueue("a.one", [3], { queue: "q2" });
    expect(ojs.allEnqueued().map((j) => j.args[0])).toEqual([1, 2, 3]);
    expect(ojs.allEnqueued({ type: "a.one" }).map((j) => j.args[0])).toEqual([1, 3]);
    expect(ojs.allEnqueued({ queue: "q2" }).map((j) => j.args[0])).toEqual([2, 3]);
    expect(ojs.allEnqueued({ type: "a.one", queue: "q2" }).map((j) => j.args[0])).toEqual([3]);
    ojs.allEnqueued()[0]!.args.push("mutated");
    ojs.assertEnqueued("a.one", { args: [1] });
  });
});

describe("workflow assertions", () => {
  it("assertWorkflowCreated checks name, kind and step count, and lists the workflows otherwise", async () => {
    await using ojs = createFakeClient();
    await ojs.workflow(chain("etl", [step("etl.extract", []), group("transform", [step("etl.clean", [1]), step("etl.clean", [2])]), step("etl.load", [])]));
    ojs.assertWorkflowCreated("etl");
    ojs.assertWorkflowCreated("etl", { kind: "chain", stepCount: 4, count: 1 });
    expect(ojs.allWorkflows()).toHaveLength(1);
    const msg = failure(() => ojs.assertWorkflowCreated("etl", { kind: "group", stepCount: 3 }));
    expect(msg).toContain('Expected a "etl" workflow of kind group with 3 steps to be created, but none matched.');
    expect(msg).toContain('"etl" chain, 4 steps');
    expect(msg).toContain("kind is chain, not group; it has 4 steps, not 3");
    expect(failure(() => ojs.assertWorkflowCreated("other"))).toContain('name is "etl"');
  });

  it("step delays are measured on the virtual clock", async () => {
    await using ojs = createFakeClient({ now: T0 });
    ojs.advanceTime("P1D");
    await ojs.workflow(group("later", [step("a.b", [], { delay: 60_000 })]));
    const [job] = ojs.allEnqueued({ type: "a.b" });
    expect(job?.scheduledAt?.getTime()).toBe(T0 + 86_400_000 + 60_000);
  });
});
