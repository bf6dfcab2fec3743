import { propagation, SpanKind } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Client, Worker, type Job, type Middleware } from "../../src/index.js";
import { logging, metrics, recovery, timeout, type Logger } from "../../src/middleware/index.js";
import { otelEnqueue, otelProcess } from "../../src/otel/index.js";
import { eventually, TRANSPORTS, uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer();

describe.each(TRANSPORTS)("execution middleware over %s", (transport) => {
  let client: Client;
  const workers: Worker[] = [];
  beforeAll(() => void (client = new Client({ url: ctx.url, transport })));
  afterAll(() => client.close());
  afterEach(async () => void (await Promise.all(workers.splice(0).map((w) => w.stop({ gracePeriodMs: 0 })))));
  const run = (queue: string, setup: (w: Worker) => void) => {
    const w = new Worker({ url: ctx.url, transport, queues: [queue], handleSignals: false });
    setup(w);
    workers.push(w);
    void w.start();
  };
  const settled = (id: string) =>
    eventually(async () => {
      const j = await client.getJob(id);
      return j.state === "completed" || j.state === "discarded" || j.state === "retryable" ? j : undefined;
    });

  it("runs as an onion, first added outermost, and may change the result", async () => {
    const queue = uniqueQueue("onion");
    const order: string[] = [];
    const tag =
      (name: string): Middleware =>
      async (_c, next) => {
        order.push(`${name}:in`);
        const r = await next();
        order.push(`${name}:out`);
        return name === "outer" ? { wrapped: r ?? null } : r;
      };
    run(queue, (w) =>
      w
        .use(tag("outer"))
        .use(tag("inner"))
        .register("t.m", () => {
          order.push("handler");
          return 1;
        }),
    );
    const job = await client.enqueue("t.m", [], { queue });
    expect((await settled(job.id)).result).toEqual({ wrapped: 1 });
    expect(order).toEqual(["outer:in", "inner:in", "handler", "inner:out", "outer:out"]);
  });

  it("calling next() twice is refused and fails the job", async () => {
    const queue = uniqueQueue("twice");
    let runs = 0;
    run(queue, (w) =>
      w
        .use(async (_c, next) => {
          await next();
          return next();
        })
        .register("t.m", () => void runs++),
    );
    const job = await client.enqueue("t.m", [], { queue, retry: { maxAttempts: 1 } });
    const j = await settled(job.id);
    expect(j.state).toBe("discarded");
    expect(j.errors[0]!.message).toMatch(/next\(\) more than once/);
    expect(runs).toBe(1);
  });

  it("logging logs lifecycle fields and never args at info level", async () => {
    const queue = uniqueQueue("log");
    const lines: Array<[string, string, Record<string, unknown> | undefined]> = [];
    const logger: Logger = {
      debug: (m, f) => void lines.push(["debug", m, f]),
      info: (m, f) => void lines.push(["info", m, f]),
      warn: (m, f) => void lines.push(["warn", m, f]),
      error: (m, f) => void lines.push(["error", m, f]),
    };
    run(queue, (w) =>
      w
        .use(logging({ logger }))
        .register("t.ok", () => 1)
        .register("t.bad", () => {
          throw Object.assign(new Error("nope"), { code: "x.bad" });
        }),
    );
    const ok = await client.enqueue("t.ok", [{ secret: "s3cr3t" }], { queue });
    const bad = await client.enqueue("t.bad", [], { queue, retry: { maxAttempts: 1 } });
    await settled(ok.id);
    await settled(bad.id);
    const info = lines.find((l) => l[0] === "info")!;
    expect(info[1]).toBe("job completed");
    expect(info[2]).toMatchObject({ job_id: ok.id, job_type: "t.ok", queue, attempt: 1, status: "completed" });
    expect(typeof info[2]!.duration_ms).toBe("number");
    expect(JSON.stringify(lines)).not.toContain("s3cr3t");
    expect(lines.find((l) => l[0] === "error")![2]).toMatchObject({ job_id: bad.id, status: "failed", error: { code: "x.bad", message: "nope" } });
  });

  it("metrics records counts and durations with low-cardinality labels only", async () => {
    const queue = uniqueQueue("metrics");
    const seen: Array<[string, string, Record<string, string>]> = [];
    run(queue, (w) =>
      w
        .use(metrics({ increment: (n, l) => void seen.push(["inc", n, l]), observe: (n, _v, l) => void seen.push(["obs", n, l]) }))
        .register("t.ok", () => null)
        .register("t.bad", () => {
          throw Object.assign(new Error("x"), { code: "e.code" });
        }),
    );
    await settled((await client.enqueue("t.ok", [], { queue })).id);
    await settled((await client.enqueue("t.bad", [], { queue, retry: { maxAttempts: 1 } })).id);
    expect(seen).toEqual(
      expect.arrayContaining([
        ["inc", "ojs.jobs.started", { job_type: "t.ok", queue }],
        ["inc", "ojs.jobs.completed", { job_type: "t.ok", queue }],
        ["obs", "ojs.jobs.duration_ms", { job_type: "t.ok", queue, status: "completed" }],
        ["inc", "ojs.jobs.failed", { job_type: "t.bad", queue, error_code: "e.code" }],
      ]),
    );
  });

  it("recovery turns a thrown string into an Error with a stack, reports it, and still fails the job", async () => {
    const queue = uniqueQueue("recover");
    const reported: string[] = [];
    run(queue, (w) =>
      w.use(recovery({ onError: (e) => void reported.push(e.message) })).register("t.str", () => {
        throw "plain string";
      }),
    );
    const j = await settled((await client.enqueue("t.str", [], { queue, retry: { maxAttempts: 1 } })).id);
    expect(j.state).toBe("discarded");
    expect(j.errors[0]!.message).toBe("plain string");
    expect(j.errors[0]!.backtrace).toMatch(/Error: plain string/);
    expect(reported).toEqual(["plain string"]);
  });

  it("timeout aborts the handler's signal at the limit and the job fails with code timeout", async () => {
    const queue = uniqueQueue("mwtimeout");
    run(queue, (w) =>
      w.use(timeout(150)).register("t.slow", (c) => new Promise((_, reject) => c.signal.addEventListener("abort", () => reject(c.signal.reason as Error)))),
    );
    const j = await settled((await client.enqueue("t.slow", [], { queue, retry: { maxAttempts: 1 } })).id);
    expect(j.errors[0]!.code).toBe("timeout");
  });
});

describe("OpenTelemetry", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer("test");
  beforeAll(() => propagation.setGlobalPropagator(new W3CTraceContextPropagator()));
  afterAll(() => propagation.disable());

  it.each(TRANSPORTS)("carries trace context in meta from enqueue to execution and links the spans (%s)", async (transport) => {
    exporter.reset();
    const queue = uniqueQueue("otel");
    const client = new Client({ url: ctx.url, transport }).useEnqueueMiddleware(otelEnqueue({ tracer }));
    const w = new Worker({ url: ctx.url, transport, queues: [queue], handleSignals: false }).use(otelProcess({ tracer }));
    let seenMeta: Job["meta"] = {};
    w.register("t.traced", (c) => void (seenMeta = c.meta));
    void w.start();
    const job = await client.enqueue("t.traced", [], { queue });
    await eventually(() => exporter.getFinishedSpans().length === 2);
    const [producer, consumer] = [SpanKind.PRODUCER, SpanKind.CONSUMER].map((k) => exporter.getFinishedSpans().find((s) => s.kind === k)!);
    expect(producer!.name).toBe(`${queue} enqueue`);
    expect(consumer!.name).toBe(`${queue} process`);
    expect(consumer!.attributes).toMatchObject({
      "messaging.system": "ojs",
      "ojs.job.id": job.id,
      "ojs.job.type": "t.traced",
      "ojs.job.queue": queue,
      "ojs.job.attempt": 1,
    });
    expect(consumer!.links[0]!.context.spanId).toBe(producer!.spanContext().spanId);
    expect(seenMeta.traceparent).toMatch(new RegExp(`^00-${producer!.spanContext().traceId}-${producer!.spanContext().spanId}-0[01]$`));
    expect(seenMeta.trace_id).toBe(producer!.spanContext().traceId);
    await w.stop();
    await client.close();
  });
});
