import { AssertionError } from "node:assert";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { batch, chain, NonRetryableError, step, TimeoutError, ValidationError, Worker, type JsonValue } from "../../src/index.js";
import { createFakeClient, type FakeClient, type HandlerMap } from "../../src/testing/index.js";

const T0 = Date.UTC(2026, 0, 1);

function newWorker(): Worker {
  return new Worker({ url: "http://127.0.0.1:9", handleSignals: false });
}

describe("drain()", () => {
  it("runs jobs through the worker's middleware and handlers, and acks their results", async () => {
    const worker = newWorker();
    const trail: string[] = [];
    worker.use(async (ctx, next) => {
      trail.push(`before ${ctx.type}`);
      const r = await next();
      trail.push(`after ${ctx.type}`);
      return r;
    });
    worker.register("math.add", { args: z.tuple([z.number(), z.number()]) }, (ctx) => ({ sum: ctx.args[0] + ctx.args[1] }));
    await using ojs = createFakeClient({ worker });
    const job = await ojs.enqueue("math.add", [2, 3]);
    const r = await ojs.drain();
    expect(r).toMatchObject({ processed: 1, completed: 1, failed: 0, retried: 0, discarded: 0, settleFailed: 0, remaining: 0 });
    expect(r.runs[0]).toMatchObject({ mode: "drain", outcome: "completed", attempt: 1, result: { sum: 5 }, injected: false });
    expect(r.runs[0]!.job.state).toBe("active");
    expect(trail).toEqual(["before math.add", "after math.add"]);
    const done = await ojs.getJob(job.id);
    expect(done).toMatchObject({ state: "completed", result: { sum: 5 } });
    ojs.assertCompleted("math.add", { args: [2, 3] });
    ojs.assertPerformed("math.add", { count: 1 });
  });

  it("retries as the policy says, moving virtual time through the backoff", async () => {
    let calls = 0;
    const handlers: HandlerMap = {
      "net.flaky": () => {
        if (++calls < 3) throw Object.assign(new Error("connection reset"), { code: "net.reset" });
        return "ok";
      },
    };
    await using ojs = createFakeClient({ handlers, now: T0 });
    const job = await ojs.enqueue("net.flaky", [], { retry: { maxAttempts: 5, initialInterval: "PT10S", backoffCoefficient: 3 } });
    const r = await ojs.drain();
    expect(r).toMatchObject({ processed: 3, completed: 1, failed: 2, retried: 2, discarded: 0 });
    expect(r.runs.map((x) => [x.attempt, x.outcome])).toEqual([
      [1, "retryable"],
      [2, "retryable"],
      [3, "completed"],
    ]);
    // Jitter is neutral in a fake: 10 s, then 30 s.
    expect(ojs.now().getTime()).toBe(T0 + 40_000);
    const done = await ojs.getJob(job.id);
    expect(done.errors.map((e) => [e.code, e.attempt])).toEqual([
      ["net.reset", 1],
      ["net.reset", 2],
    ]);
  });

  it("discards at once on NonRetryableError, and after the last attempt otherwise (into the dead letter when asked)", async () => {
    const handlers: HandlerMap = {
      "user.delete": () => {
        throw new NonRetryableError("user gone", { code: "user.not_found" });
      },
      "always.fails": () => {
        throw new Error("boom");
      },
    };
    await using ojs = createFakeClient({ handlers });
    await ojs.enqueue("user.delete", [1]);
    await ojs.enqueue("always.fails", [], { retry: { maxAttempts: 2, onExhaustion: "dead_letter" } });
    const r = await ojs.drain();
    expect(r).toMatchObject({ processed: 3, completed: 0, failed: 3, retried: 1, discarded: 2 });
    ojs.assertFailed("user.delete");
    ojs.assertFailed("always.fails");
    expect((await ojs.listDeadLetterJobs()).items.map((j) => j.type)).toEqual(["always.fails"]);
  });

  it("fails jobs whose args do not fit the typed handler without calling it", async () => {
    const worker = newWorker();
    let called = false;
    worker.register("invoice.pay", { args: z.tuple([z.object({ cents: z.number().int() })]) }, () => {
      called = true;
    });
    await using ojs = createFakeClient({ worker });
    await ojs.enqueue("invoice.pay", [{ cents: "ten" }]);
    const r = await ojs.drain();
    expect(r.discarded).toBe(1);
    expect(called).toBe(false);
    expect(String(r.runs[0]!.error)).toMatch(/invalid args: args\[0\]\.cents/);
  });

  it("runs the jobs handlers enqueue, and workflow steps as they become ready", async () => {
    let ojs!: FakeClient;
    const handlers: HandlerMap = {
      "order.place": async (ctx) => {
        await ojs.enqueue("email.receipt", [ctx.args[0] ?? null]);
        return { order: ctx.args[0] ?? null };
      },
      "email.receipt": () => "sent",
      "etl.extract": () => ({ rows: 3 }),
      "etl.load": (ctx) => ({ loaded: ctx.parentResults }),
      "report.done": () => "reported",
    };
    ojs = createFakeClient({ handlers });
    await using _ = ojs;
    await ojs.enqueue("order.place", [42]);
    const wf = await ojs.workflow(chain("etl", [step("etl.extract", []), step("etl.load", [])]));
    await ojs.workflow(batch("b", [step("email.receipt", [1])], { onComplete: step("report.done", []) }));
    const r = await ojs.drain();
    expect(r.completed).toBe(6);
    expect(r.runs.map((x) => x.job.type)).toEqual(["order.place", "etl.extract", "email.receipt", "email.receipt", "etl.load", "report.done"]);
    ojs.assertCompleted("email.receipt", { args: [42] });
    expect((await ojs.getWorkflow(wf.id)).state).toBe("completed");
    const load = r.runs.find((x) => x.job.type === "etl.load")!;
    expect(load.result).toEqual({ loaded: load.job.parentResults ?? {} });
    expect(Object.values(load.job.parentResults ?? {})).toEqual([{ rows: 3 }]);
  });

  it("takes jobs first in, first out across queues", async () => {
    const order: JsonValue[] = [];
    await using ojs = createFakeClient({ handlers: { "a.b": (ctx) => void order.push(ctx.args[0] ?? null) } });
    await ojs.enqueue("a.b", [1], { queue: "q1" });
    await ojs.enqueue("a.b", [2], { queue: "q2" });
    await ojs.enqueue("a.b", [3], { queue: "q1" });
    await ojs.enqueue("a.b", [4], { queue: "q3" });
    await ojs.drain();
    expect(order).toEqual([1, 2, 3, 4]);
  });

  it("withScheduled: false runs only what is available now", async () => {
    await using ojs = createFakeClient({ handlers: { "a.b": () => undefined }, now: T0 });
    await ojs.enqueue("a.b", [1]);
    await ojs.enqueue("a.b", [2], { delay: "PT1H" });
    const r = await ojs.drain({ withScheduled: false });
    expect(r).toMatchObject({ processed: 1, remaining: 1 });
    expect(ojs.now().getTime()).toBe(T0);
    ojs.advanceTime("PT1H");
    expect((await ojs.drain({ withScheduled: false })).processed).toBe(1);
  });

  it("maxJobs stops early; queues limits what is taken; a paused queue is left alone", async () => {
    await using ojs = createFakeClient({ handlers: { "a.b": () => undefined } });
    for (let i = 0; i < 5; i++) await ojs.enqueue("a.b", [i], { queue: i % 2 ? "odd" : "even" });
    expect(await ojs.drain({ maxJobs: 2 })).toMatchObject({ processed: 2, remaining: 3 });
    expect(await ojs.drain({ queues: ["odd"] })).toMatchObject({ processed: 1, remaining: 0 });
    await ojs.pauseQueue("even");
    expect(await ojs.drain()).toMatchObject({ processed: 0, remaining: 2 });
    await ojs.resumeQueue("even");
    expect(await ojs.drain()).toMatchObject({ processed: 2, remaining: 0 });
  });

  it("a job type without a handler fails retryably, as on a worker that does not know it", async () => {
    await using ojs = createFakeClient({ handlers: {} });
    await ojs.enqueue("unknown.type", [], { retry: { maxAttempts: 2 } });
    const r = await ojs.drain();
    expect(r).toMatchObject({ processed: 2, retried: 1, discarded: 1 });
    expect((r.runs[0]!.error as { code?: string }).code).toBe("handler_not_found");
  });

  it("gives up after timeoutMs of real time, aborting the hanging handler's signal", async () => {
    let aborted: unknown;
    const handlers: HandlerMap = {
      "hang.forever": (ctx) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener("abort", () => {
            aborted = ctx.signal.reason;
            reject(ctx.signal.reason);
          }),
        ),
    };
    await using ojs = createFakeClient({ handlers });
    const job = await ojs.enqueue("hang.forever", []);
    const err = await ojs.drain({ timeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(String((err as Error).message)).toContain(`job ${job.id} (hang.forever) was still running`);
    expect(aborted).toBe(err);
  });

  it("records progress and extends the reservation on ctx.heartbeat()", async () => {
    await using ojs = createFakeClient({
      visibilityTimeoutMs: 1_000,
      handlers: {
        "long.job": async (ctx) => {
          ctx.progress(40);
          ctx.progress({ progress: 0.9, message: "almost" });
          ojs.advanceTime(800);
          await ctx.heartbeat();
          ojs.advanceTime(800);
          return "done";
        },
      },
    });
    await ojs.enqueue("long.job", []);
    const r = await ojs.drain();
    expect(r.runs[0]).toMatchObject({
      outcome: "completed",
      progress: [{ progress: 0.4 }, { progress: 0.9, message: "almost", data: { progress: 0.9, message: "almost" } }],
    });
  });

  it("reports settleFailed when the server no longer holds the job (its reservation ran out while time moved)", async () => {
    await using ojs = createFakeClient({
      visibilityTimeoutMs: 1_000,
      handlers: {
        "slow.job": (ctx) => {
          if (ctx.attempt === 1) ojs.advanceTime(5_000);
          return "late";
        },
      },
    });
    await ojs.enqueue("slow.job", []);
    const r = await ojs.drain();
    expect(r.runs.map((x) => x.outcome)).toEqual(["settleFailed", "completed"]);
    expect(r).toMatchObject({ processed: 2, completed: 1, failed: 0, settleFailed: 1 });
    expect(String(r.runs[0]!.settleError)).toMatch(/not active/);
  });

  it("runs a dead-letter job again once it is retried", async () => {
    let fail = true;
    await using ojs = createFakeClient({
      handlers: {
        "a.b": () => {
          if (fail) throw new NonRetryableError("not yet");
          return "second life";
        },
      },
    });
    await ojs.enqueue("a.b", [], { retry: { onExhaustion: "dead_letter" } });
    await ojs.enqueue("c.d", [], { queue: "elsewhere" });
    expect(await ojs.drain({ queues: ["default"] })).toMatchObject({ discarded: 1 });
    const [dead] = (await ojs.listDeadLetterJobs()).items;
    fail = false;
    await ojs.retryDeadLetterJob(dead!.id);
    expect(await ojs.drain({ queues: ["default"] })).toMatchObject({ completed: 1, remaining: 0 });
    expect((await ojs.getJob(dead!.id)).result).toBe("second life");
  });

  it("ctx.abort() fails the attempt with its reason, and nothing else happens later", async () => {
    const worker = newWorker();
    worker.register("a.b", async (ctx) => {
      setTimeout(() => ctx.abort(Object.assign(new Error("gave up"), { code: "work.gave_up" })), 1);
      await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
    });
    await using ojs = createFakeClient({ worker });
    const job = await ojs.enqueue("a.b", [], { retry: { maxAttempts: 1 } });
    const r = await ojs.drain();
    expect(r).toMatchObject({ failed: 1, discarded: 1 });
    expect((await ojs.getJob(job.id)).errors.map((e) => e.code)).toEqual(["work.gave_up"]);
  });

  it("needs something to run jobs with", async () => {
    await using ojs = createFakeClient();
    await expect(ojs.drain()).rejects.toThrow(ValidationError);
    await expect(ojs.drain({ worker: newWorker(), handlers: {} })).rejects.toThrow(/either worker or handlers/);
  });

  it("uses the worker or handlers given to it over the fake's own", async () => {
    await using ojs = createFakeClient({ handlers: { "a.b": () => "fake's" } });
    await ojs.enqueue("a.b", []);
    const r = await ojs.drain({ handlers: { "a.b": () => "drain's" } });
    expect(r.runs[0]!.result).toBe("drain's");
  });
});

describe("failure injection", () => {
  it("failNext fails the next runs of a type without calling the handler; the policy retries them", async () => {
    let calls = 0;
    await using ojs = createFakeClient({ handlers: { "email.send": () => void calls++ } });
    ojs.failNext("email.send", Object.assign(new Error("smtp 451"), { code: "smtp.busy" }), 2);
    await ojs.enqueue("email.send", ["a"]);
    const r = await ojs.drain();
    expect(r.runs.map((x) => [x.outcome, x.injected])).toEqual([
      ["retryable", true],
      ["retryable", true],
      ["completed", false],
    ]);
    expect(calls).toBe(1);
    expect((await ojs.getJob(r.runs[0]!.job.id)).errors.map((e) => e.code)).toEqual(["smtp.busy", "smtp.busy"]);
  });

  it("failAll fails every run until clear(); a NonRetryableError discards at once", async () => {
    await using ojs = createFakeClient({ handlers: { "a.b": () => "ran" } });
    ojs.failAll("a.b");
    await ojs.enqueue("a.b", []);
    expect(await ojs.drain()).toMatchObject({ processed: 3, discarded: 1 });
    ojs.failAll("a.b", new NonRetryableError("no"));
    await ojs.enqueue("a.b", []);
    expect(await ojs.drain()).toMatchObject({ processed: 1, discarded: 1 });
    ojs.clear();
    await ojs.enqueue("a.b", []);
    expect(await ojs.drain()).toMatchObject({ completed: 1 });
    expect(() => ojs.failNext("a.b", undefined, 0)).toThrow(ValidationError);
  });
});

describe("performed assertions", () => {
  it("assertPerformed counts attempts; refutePerformed; assertJobState", async () => {
    let n = 0;
    await using ojs = createFakeClient({
      handlers: {
        "a.flaky": () => {
          if (++n === 1) throw new Error("first time");
        },
        "a.ok": () => undefined,
      },
    });
    const flaky = await ojs.enqueue("a.flaky", [1]);
    const ok = await ojs.enqueue("a.ok", [2], { delay: "PT1H" });
    await ojs.drain({ withScheduled: false });
    ojs.assertPerformed("a.flaky", { args: [1], count: 1 });
    ojs.refutePerformed("a.ok");
    ojs.assertJobState(flaky.id, "retryable");
    ojs.assertJobState(ok.id, "scheduled");
    ojs.assertFailed("a.flaky");
    await ojs.drain();
    ojs.assertPerformed("a.flaky", { count: 2 });
    ojs.assertPerformed("a.ok");
    ojs.assertJobState(flaky.id, "completed");
    expect(ojs.allPerformed({ type: "a.flaky" }).map((p) => p.outcome)).toEqual(["retryable", "completed"]);
  });

  it("failure messages list the attempts and the jobs' states", async () => {
    await using ojs = createFakeClient({ handlers: { "a.b": () => undefined } });
    const job = await ojs.enqueue("a.b", [1], { delay: 1_000 });
    let msg = "";
    try {
      ojs.assertCompleted("a.b");
    } catch (e) {
      expect(e).toBeInstanceOf(AssertionError);
      msg = (e as Error).message;
    }
    expect(msg).toContain('Expected a "a.b" job to be completed, but none was.');
    expect(msg).toContain(`a.b [1] on "default" [scheduled, ${job.id}]: it is scheduled`);
    expect(() => ojs.assertPerformed("a.b")).toThrow(/No job was performed/);
    await ojs.drain();
    expect(() => ojs.refutePerformed("a.b")).toThrow(/but found 1:\n {2}- a\.b \[1\] on "default" \[attempt 1: completed, /);
    expect(() => ojs.assertJobState(job.id, "discarded")).toThrow(`Expected job ${job.id} (a.b) to be discarded, but it is completed.`);
    expect(() => ojs.assertJobState("nope", "completed")).toThrow(/has no such job/);
  });

  it("assertJobState names the last error", async () => {
    await using ojs = createFakeClient({ handlers: { "a.b": () => Promise.reject(Object.assign(new Error("disk full"), { code: "io.full" })) } });
    const job = await ojs.enqueue("a.b", []);
    await ojs.drain({ withScheduled: false });
    expect(() => ojs.assertJobState(job.id, "completed")).toThrow(`but it is retryable (last error: io.full: disk full).`);
  });
});
