import { describe, expect, it } from "vitest";
import { NonRetryableError, ValidationError, Worker } from "../../src/index.js";
import { createFakeClient, type FakeClient, type HandlerMap } from "../../src/testing/index.js";

describe("inline mode", () => {
  it("enqueue runs the job at once and resolves with it finished", async () => {
    await using ojs = createFakeClient({ inline: true, handlers: { "math.double": (ctx) => (ctx.args[0] as number) * 2 } });
    const job = await ojs.enqueue("math.double", [21]);
    expect(job).toMatchObject({ state: "completed", result: 42, attempt: 1 });
    ojs.assertEnqueued("math.double", { args: [21] });
    ojs.assertPerformed("math.double", { count: 1 });
    expect(ojs.allPerformed()[0]!.mode).toBe("inline");
  });

  it("the handler's own error rejects the enqueue; the job is discarded without retries", async () => {
    const boom = Object.assign(new Error("card declined"), { code: "card.declined" });
    let calls = 0;
    await using ojs = createFakeClient({
      inline: true,
      handlers: {
        "card.charge": () => {
          calls++;
          throw boom;
        },
      },
    });
    await expect(ojs.enqueue("card.charge", [], { retry: { maxAttempts: 5 } })).rejects.toBe(boom);
    expect(calls).toBe(1);
    const [job] = ojs.allEnqueued();
    expect(job).toMatchObject({ state: "discarded", errors: [{ code: "card.declined", retryable: false }] });
    ojs.assertFailed("card.charge");
  });

  it("ignores delays: the job runs now", async () => {
    await using ojs = createFakeClient({ inline: true, handlers: { "a.b": () => "ran" } });
    const later = await ojs.enqueue("a.b", [], { delay: "PT1H" });
    const scheduled = await ojs.enqueue("a.b", [], { scheduledAt: new Date(Date.now() + 86_400_000) });
    expect([later.state, scheduled.state]).toEqual(["completed", "completed"]);
    expect(later.scheduledAt).toBeUndefined();
  });

  it("runs both middleware chains: enqueue middleware on the client, execution middleware on the worker", async () => {
    const worker = new Worker({ handleSignals: false, url: "http://127.0.0.1:9" });
    const seen: string[] = [];
    worker.use(async (ctx, next) => {
      seen.push(`exec ${String(ctx.meta.tenant)}`);
      return next();
    });
    worker.register("a.b", (ctx) => ctx.meta.tenant ?? null);
    await using ojs = createFakeClient({ inline: true, worker });
    ojs.useEnqueueMiddleware((req, next) => {
      seen.push("enqueue");
      return next({ ...req, options: { ...req.options, meta: { tenant: "acme" } } });
    });
    expect((await ojs.enqueue("a.b", [])).result).toBe("acme");
    expect(seen).toEqual(["enqueue", "exec acme"]);
  });

  it("runs jobs enqueued by a handler inside it, and their errors reach the outer caller", async () => {
    let ojs!: FakeClient;
    const trail: string[] = [];
    const handlers: HandlerMap = {
      "order.place": async () => {
        trail.push("place start");
        await ojs.enqueue("email.receipt", []);
        trail.push("place end");
      },
      "email.receipt": () => {
        trail.push("receipt");
      },
      "order.bad": async () => {
        await ojs.enqueue("email.broken", []);
      },
      "email.broken": () => {
        throw new NonRetryableError("template missing");
      },
    };
    ojs = createFakeClient({ inline: true, handlers });
    await using _ = ojs;
    await ojs.enqueue("order.place", []);
    expect(trail).toEqual(["place start", "receipt", "place end"]);
    await expect(ojs.enqueue("order.bad", [])).rejects.toThrow("template missing");
    expect(ojs.allEnqueued().map((j) => [j.type, j.state])).toEqual([
      ["order.place", "completed"],
      ["email.receipt", "completed"],
      ["order.bad", "discarded"],
      ["email.broken", "discarded"],
    ]);
  });

  it("enqueueBatch runs the jobs in order; the first error rejects and the rest stay waiting", async () => {
    const ran: number[] = [];
    await using ojs = createFakeClient({
      inline: true,
      handlers: {
        "n.run": (ctx) => {
          const n = ctx.args[0] as number;
          if (n === 2) throw new Error("two");
          ran.push(n);
          return n;
        },
      },
    });
    const ok = await ojs.enqueueBatch([
      { type: "n.run", args: [0] },
      { type: "n.run", args: [1] },
    ]);
    expect(ok.map((j) => j.state)).toEqual(["completed", "completed"]);
    await expect(
      ojs.enqueueBatch([
        { type: "n.run", args: [2] },
        { type: "n.run", args: [3] },
      ]),
    ).rejects.toThrow("two");
    expect(ran).toEqual([0, 1]);
    expect(ojs.allEnqueued({ type: "n.run" }).map((j) => j.state)).toEqual(["completed", "completed", "discarded", "available"]);
  });

  it("takes exactly the job enqueued, even behind others in its queue", async () => {
    await using ojs = createFakeClient({ inline: true, handlers: { "a.b": (ctx) => ctx.args[0] ?? null } });
    // A paused queue holds an inline job back: it stays waiting, for drain() once resumed.
    await ojs.pauseQueue("default");
    const waiting = await ojs.enqueue("a.b", ["paused"]);
    expect(waiting.state).toBe("available");
    await ojs.resumeQueue("default");
    // It is ahead of the next one (higher priority): inline runs the new job and hands the other back untouched.
    const job = await ojs.enqueue("a.b", ["mine"], { priority: -10 });
    expect(job).toMatchObject({ state: "completed", result: "mine" });
    const other = await ojs.getJob(waiting.id);
    expect(other).toMatchObject({ state: "available", attempt: 0 });
  });

  it("does not run a job again when a unique policy hands back an existing one", async () => {
    let calls = 0;
    await using ojs = createFakeClient({ inline: true, handlers: { "a.b": () => void calls++ } });
    const unique = { keys: ["type"], period: "PT1H", onConflict: "ignore" as const, states: ["available" as const, "completed" as const] };
    await ojs.enqueue("a.b", [], { unique });
    const again = await ojs.enqueue("a.b", [], { unique });
    expect(again.state).toBe("completed");
    expect(calls).toBe(1);
  });

  it("injected failures reject the enqueue too", async () => {
    await using ojs = createFakeClient({ inline: true, handlers: { "a.b": () => "ran" } });
    ojs.failNext("a.b", new Error("injected"));
    await expect(ojs.enqueue("a.b", [])).rejects.toThrow("injected");
    expect((await ojs.enqueue("a.b", [])).result).toBe("ran");
  });
});

describe("perform()", () => {
  it("enqueues and runs one job now, resolving with its result, in a fake that is not inline", async () => {
    await using ojs = createFakeClient({ handlers: { "math.add": (ctx) => (ctx.args[0] as number) + (ctx.args[1] as number) } });
    expect(await ojs.perform("math.add", [2, 3])).toBe(5);
    expect(await ojs.perform("math.add", [1, 2], { delay: "PT1H" })).toBe(3);
    ojs.assertCompleted("math.add", { args: [2, 3] });
    expect(ojs.allPerformed()[0]).toMatchObject({ mode: "perform", outcome: "completed", result: 5 });
    // Other jobs are not run by it.
    await ojs.enqueue("math.add", [1, 1]);
    expect(ojs.allEnqueued()[2]!.state).toBe("available");
  });

  it("throws the handler's error, once, whatever the retry policy", async () => {
    let calls = 0;
    const err = new Error("nope");
    await using ojs = createFakeClient({
      handlers: {
        "a.b": () => {
          calls++;
          throw err;
        },
      },
    });
    await expect(ojs.perform("a.b", [], { retry: { maxAttempts: 3 } })).rejects.toBe(err);
    expect(calls).toBe(1);
    expect(ojs.allEnqueued()[0]!.state).toBe("discarded");
  });

  it("needs handlers, and says so when the job cannot be taken", async () => {
    await using bare = createFakeClient();
    await expect(bare.perform("a.b", [])).rejects.toThrow(ValidationError);
    await using ojs = createFakeClient({ handlers: { "a.b": () => undefined } });
    await ojs.pauseQueue("default");
    await expect(ojs.perform("a.b", [])).rejects.toThrow(/could not be taken .*paused/);
  });
});
