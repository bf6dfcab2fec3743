/**
 * Input that cannot hurt (issue 10, item 1): the defects as found, then every
 * limit over both bindings, and the client's own check before sending.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamJobsRequestSchema } from "../../gen/ojs/v1/worker_pb.js";
import { Client } from "../../src/client/client.js";
import { OjsError, ValidationError } from "../../src/model/errors.js";
import { KEEP_FOR_META } from "../../src/model/retention.js";
import { DEFAULT_LIMITS, jsonSize, resolveLimits, TOO_DEEP } from "../../src/model/limits.js";
import type { JsonValue } from "../../src/model/json.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { GrpcTransport } from "../../src/transport/grpc/transport.js";
import { Worker } from "../../src/worker/worker.js";
import { eventually, TRANSPORTS, uniqueQueue } from "../helpers.js";
import { closeSession, frame, grpcCall, grpcSession, httpCall } from "../support/wire-calls.js";
import { serverCore } from "../../src/server/internal.js";

/** `[[[...["x"]...]]]`, `depth` arrays deep, built without recursion. */
function nested(depth: number): JsonValue[] {
  let v: JsonValue[] = ["x"];
  for (let i = 1; i < depth; i++) v = [v];
  return v;
}

function countJobs(server: OjsServer): number {
  return Object.values(serverCore(server).store.countByState()).reduce((a, b) => a + b, 0);
}

const OPEN: Partial<typeof DEFAULT_LIMITS> = { maxDepth: 256, maxArgsBytes: 64 * 1024 * 1024, maxMetaBytes: 64 * 1024 * 1024, maxBatchJobs: 100_000 };

describe("the defects of issue 10, with the default limits", () => {
  let server: OjsServer;
  beforeAll(async () => {
    server = await startServer({ port: 0 });
  });
  afterAll(async () => {
    await server.close();
  });

  for (const depth of [3000, 5000]) {
    it(`args ${depth} deep over HTTP: 422 validation_error naming maxDepth, nothing stored`, async () => {
      const before = countJobs(server);
      // Written by hand: JSON.stringify itself recurses too deep for this.
      const body = `{"type":"deep.job","args":${"[".repeat(depth)}"x"${"]".repeat(depth)}}`;
      const r = await httpCall(server.url, "POST", "/ojs/v1/jobs", body, { "content-type": "application/json" });
      expect(r.status).toBe(422);
      const err = JSON.parse(r.text).error;
      expect(err.code).toBe("validation_error");
      expect(err.retryable).toBe(false);
      expect(err.message).toContain("maxDepth=64");
      expect(countJobs(server)).toBe(before);
    });
  }

  it("args 3000 deep through the gRPC client: a ValidationError the caller can catch, naming maxDepth", async () => {
    const c = new Client({ url: server.url, transport: "grpc" });
    try {
      const e = await c.enqueue("deep.job", nested(3000)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).message).toContain("maxDepth");
    } finally {
      await c.close();
    }
  });

  it("args 3000 deep through the gRPC transport itself (no client check): the call fails, the process does not", async () => {
    const t = new GrpcTransport({ url: server.url });
    try {
      const before = countJobs(server);
      const e = await t.enqueue({ type: "deep.job", args: nested(3000) }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OjsError);
      expect((e as OjsError).retryable).toBe(false);
      // The same transport still works for the next call.
      const ok = await t.enqueue({ type: "fine.job", args: [1], queue: uniqueQueue() });
      expect(ok.id).toBeTruthy();
      expect(countJobs(server)).toBe(before + 1);
    } finally {
      await t.close();
    }
  });

  it("args 300 deep (within the codec's bound) over gRPC: INVALID_ARGUMENT naming maxDepth, nothing stored", async () => {
    const t = new GrpcTransport({ url: server.url });
    try {
      const before = countJobs(server);
      const e = await t.enqueue({ type: "deep.job", args: nested(300) }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as OjsError).code).toBe("validation_error");
      expect((e as OjsError).message).toContain("maxDepth=64");
      expect(countJobs(server)).toBe(before);
    } finally {
      await t.close();
    }
  });

  it("a job too deep to encode that is in the store anyway: a gRPC worker's stream fails that job, the server stays up", async () => {
    const queue = uniqueQueue("deep");
    // Straight into the store, past every boundary check: what a bug elsewhere could leave there.
    const rec = serverCore(server).store.enqueue({ type: "deep.job", args: nested(3000), queue });
    const session = grpcSession(server.url);
    try {
      const msg = toBinary(StreamJobsRequestSchema, create(StreamJobsRequestSchema, { queues: [queue], workerId: "w1", maxConcurrent: 1 }));
      await grpcCall(session, "/ojs.v1.OJSService/StreamJobs", frame(msg), 500);
      const job = serverCore(server).store.get(rec.id).job;
      expect(job.state).not.toBe("active");
      expect(job.errors.at(-1)?.code).toBe("undeliverable");
      const health = await httpCall(server.url, "GET", "/health");
      expect(health.status).toBe(200);
    } finally {
      await closeSession(session);
    }
  });
});

describe.each(TRANSPORTS)("every limit over %s, decided by the server", (transport) => {
  let server: OjsServer;
  let c: Client;
  const limits = {
    maxDepth: 8,
    maxArgsBytes: 2000,
    maxMetaBytes: 300,
    maxBatchJobs: 5,
    maxResultBytes: 500,
    maxMessageBytes: 64 * 1024,
    maxQueuedBytes: 30_000,
  };
  beforeAll(async () => {
    server = await startServer({ port: 0, limits });
    // The client lets everything through: the server must refuse on its own.
    c = new Client({ url: server.url, transport, limits: OPEN });
  });
  afterAll(async () => {
    await c.close();
    await server.close();
  });

  async function refusal(p: Promise<unknown>): Promise<OjsError> {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(OjsError);
    return e as OjsError;
  }

  it("maxDepth: args, meta", async () => {
    const before = countJobs(server);
    let e = await refusal(c.enqueue("a.b", nested(9)));
    expect([e.code, e.retryable]).toEqual(["validation_error", false]);
    expect(e.message).toContain("maxDepth=8");
    e = await refusal(c.enqueue("a.b", [], { meta: { a: { b: { c: { d: { e: { f: { g: { h: {} } } } } } } } } }));
    expect(e.message).toContain("maxDepth=8");
    expect(countJobs(server)).toBe(before);
    // At the limit is fine.
    await c.enqueue("a.b", nested(8), { queue: uniqueQueue() });
  });

  it("maxArgsBytes and maxMetaBytes", async () => {
    let e = await refusal(c.enqueue("a.b", ["x".repeat(2100)]));
    expect([e.code, e.retryable]).toEqual(["validation_error", false]);
    expect(e.message).toContain("maxArgsBytes=2000");
    e = await refusal(c.enqueue("a.b", [], { meta: { note: "y".repeat(400) } }));
    expect(e.message).toContain("maxMetaBytes=300");
  });

  it("maxBatchJobs", async () => {
    const e = await refusal(c.enqueueBatch(Array.from({ length: 6 }, () => ({ type: "a.b", args: [] }))));
    expect([e.code, e.retryable]).toEqual(["validation_error", false]);
    expect(e.message).toContain("maxBatchJobs=5");
    const jobs = await c.enqueueBatch(Array.from({ length: 5 }, () => ({ type: "a.b", args: [], options: { queue: uniqueQueue() } })));
    expect(jobs).toHaveLength(5);
  });

  it("maxResultBytes: an ack with a larger result is refused and the job stays active", async () => {
    const queue = uniqueQueue("res");
    const job = await c.enqueue("a.b", [], { queue });
    const [rec] = serverCore(server).store.fetch({ queues: [queue], count: 1, workerId: "w" });
    expect(rec!.id).toBe(job.id);
    const body = JSON.stringify({ job_id: job.id, result: { big: "z".repeat(600) } });
    const r = await httpCall(server.url, "POST", "/ojs/v1/workers/ack", body, { "content-type": "application/json" });
    expect(r.status).toBe(422);
    expect(JSON.parse(r.text).error.message).toContain("maxResultBytes=500");
    expect(serverCore(server).store.get(job.id).job.state).toBe("active");
  });

  it("workflows and cron templates meet the same limits", async () => {
    const before = countJobs(server);
    let e = await refusal(
      c.workflow({
        kind: "group",
        name: "g",
        steps: [
          { type: "a.b", args: [] },
          { type: "a.b", args: nested(9) },
        ],
      }),
    );
    expect([e.code, e.retryable]).toEqual(["validation_error", false]);
    expect(e.message).toContain("maxDepth=8");
    e = await refusal(c.workflow({ kind: "chain", name: "c", steps: Array.from({ length: 6 }, () => ({ type: "a.b", args: [] })) }));
    expect(e.message).toContain("maxBatchJobs=5");
    e = await refusal(c.registerCronJob({ name: uniqueQueue("cron"), cron: "0 0 * * *", type: "a.b", args: ["x".repeat(2100)] }));
    expect(e.message).toContain("maxArgsBytes=2000");
    expect(countJobs(server)).toBe(before);
  });

  it("maxMessageBytes: a clear, non-retryable refusal naming the limit", async () => {
    // 70 KiB in one job: below the client's limits, above the server's message limit.
    const e = await refusal(c.enqueue("a.b", ["m".repeat(70 * 1024)]));
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/maxMessageBytes|maxArgsBytes/);
  });

  it("maxQueuedBytes: the retryable queue_full once unfinished jobs hold the limit, room again when they finish", async () => {
    const queue = uniqueQueue("full");
    server.reset();
    const arg = "q".repeat(1500);
    let accepted = 0;
    let refusedWith: OjsError | undefined;
    for (let i = 0; i < 40 && !refusedWith; i++) {
      try {
        await c.enqueue("a.b", [arg], { queue });
        accepted++;
      } catch (x) {
        refusedWith = x as OjsError;
      }
    }
    expect(refusedWith).toBeDefined();
    expect([refusedWith!.code, refusedWith!.retryable]).toEqual(["queue_full", true]);
    expect(refusedWith!.message).toContain("maxQueuedBytes=30000");
    expect(accepted).toBeGreaterThan(10);
    expect(serverCore(server).queued.total).toBeLessThanOrEqual(30_000);
    // Finishing jobs makes room.
    for (const rec of serverCore(server).store.fetch({ queues: [queue], count: 5, workerId: "w" })) serverCore(server).store.ack(rec.id, null);
    await c.enqueue("a.b", [arg], { queue });
    server.reset();
  });
});

describe("the client checks the limits before sending", () => {
  it.each(TRANSPORTS)("over %s: nothing reaches the server, the error names the limit", async (transport) => {
    // No server at all: a check that sent anything would fail with a connection error instead.
    const c = new Client({
      url: "http://127.0.0.1:9",
      transport,
      limits: { maxDepth: 4, maxArgsBytes: 100, maxMetaBytes: 50, maxBatchJobs: 2, maxMessageBytes: 150 },
    });
    try {
      const cases: Array<[Promise<unknown>, string]> = [
        [c.enqueue("a.b", nested(5)), "maxDepth=4"],
        [c.enqueue("a.b", ["x".repeat(200)]), "maxArgsBytes=100"],
        [c.enqueue("a.b", [], { meta: { m: "y".repeat(60) } }), "maxMetaBytes=50"],
        [
          c.enqueueBatch([
            { type: "a.b", args: [] },
            { type: "a.b", args: [] },
            { type: "a.b", args: [] },
          ]),
          "maxBatchJobs=2",
        ],
        [
          c.enqueueBatch([
            { type: "a.b", args: ["z".repeat(90)] },
            { type: "a.b", args: ["z".repeat(90)] },
          ]),
          "maxMessageBytes=150",
        ],
      ];
      for (const [p, name] of cases) {
        const e = await p.catch((x: unknown) => x);
        expect(e).toBeInstanceOf(ValidationError);
        expect((e as ValidationError).message).toContain(name);
        expect((e as ValidationError).details?.limit).toBe(name.split("=")[0]);
      }
    } finally {
      await c.close();
    }
  });

  it("a batch's size is that of the values it would send: args and meta as normalized", async () => {
    const c = new Client({ url: "http://127.0.0.1:9", transport: "http", limits: { maxMessageBytes: 10 } });
    try {
      const args: JsonValue[] = [{ a: "é", n: 1 }];
      // Normalizing drops an empty meta and adds keepFor to it: the size follows what is sent.
      const cases: Array<[Record<string, unknown>, number]> = [
        [{}, jsonSize(args, 64)],
        [{ meta: {} }, jsonSize(args, 64)],
        [{ meta: { m: "x" } }, jsonSize(args, 64) + jsonSize({ m: "x" }, 64)],
        [{ meta: { m: "x" }, keepFor: { completed: 5 } }, jsonSize(args, 64) + jsonSize({ m: "x", [KEEP_FOR_META]: { completed_ms: 5 } }, 64)],
      ];
      for (const [options, size] of cases) {
        const e = await c
          .enqueueBatch([
            { type: "a.b", args, options },
            { type: "a.b", args, options },
          ])
          .catch((x: unknown) => x);
        expect((e as ValidationError).details, JSON.stringify(options)).toMatchObject({ limit: "maxMessageBytes", actual: 2 * size });
      }
    } finally {
      await c.close();
    }
  });

  it("limits are checked when given", () => {
    expect(() => resolveLimits({ maxDepth: 0 })).toThrow(/maxDepth/);
    expect(() => resolveLimits({ maxDepth: 10_000 })).toThrow(/at most/);
    expect(() => resolveLimits({ nope: 1 } as never)).toThrow(/not a limit/);
  });

  it("jsonSize stops at the depth limit, however deep the value", () => {
    expect(jsonSize(nested(100_000), 64)).toBe(TOO_DEEP);
    expect(jsonSize(nested(64), 64)).toBeGreaterThan(0);
    // {} + "a" with quotes, colon and comma + "é" (2 bytes of UTF-8) with quotes
    expect(jsonSize({ a: "é" }, 4)).toBe(2 + 1 + 4 + 2 + 2);
  });
});

describe("one message limit on both bindings (default 4 MiB)", () => {
  let server: OjsServer;
  beforeAll(async () => {
    server = await startServer({ port: 0 });
  });
  afterAll(async () => {
    await server.close();
  });

  for (const mib of [5, 20]) {
    it(`${mib} MiB over HTTP: 413 payload_too_large naming maxMessageBytes`, async () => {
      const body = JSON.stringify({ type: "big.job", args: ["b".repeat(mib * 1024 * 1024)] });
      const r = await httpCall(server.url, "POST", "/ojs/v1/jobs", body, { "content-type": "application/json" }).catch((e: Error) => ({
        status: 0,
        text: e.message,
      }));
      // The server may close the connection after the 413 while the client is still sending.
      if (r.status !== 0) {
        expect(r.status).toBe(413);
        const err = JSON.parse(r.text).error;
        expect([err.code, err.retryable]).toEqual(["payload_too_large", false]);
        expect(err.message).toContain("maxMessageBytes=4194304");
      }
    });

    it.each(TRANSPORTS)(`${mib} MiB of args through the SDK over %s: a non-retryable error naming maxMessageBytes`, async (transport) => {
      const c = new Client({ url: server.url, transport, limits: OPEN });
      try {
        const e = await c.enqueue("big.job", ["b".repeat(mib * 1024 * 1024)]).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(OjsError);
        expect((e as OjsError).retryable).toBe(false);
        expect((e as OjsError).message).toContain("maxMessageBytes=4194304");
      } finally {
        await c.close();
      }
    });

    for (const method of ["/ojs.v1.OJSService/Enqueue", "/ojs.v1.OJSService/EnqueueBatch", "/ojsconnect.v1.FastPathService/EnqueueStream"]) {
      it(`${mib} MiB to ${method}: INVALID_ARGUMENT naming maxMessageBytes, and the connection still serves`, async () => {
        const session = grpcSession(server.url);
        try {
          const r = await grpcCall(session, method, frame(Buffer.alloc(mib * 1024 * 1024, 0x0a)));
          expect(r.status).toBe("3");
          expect(r.message).toContain("maxMessageBytes=4194304");
          const next = await grpcCall(session, "/ojs.v1.OJSService/Health", frame(new Uint8Array(0)));
          expect(next.status).toBe("0");
        } finally {
          await closeSession(session);
        }
      });
    }
  }
});

describe("calls that each fit are never refused together", () => {
  it.each(TRANSPORTS)("over %s: concurrent enqueues of 1.5 MiB each, against a 2 MiB message limit, all succeed", async (transport) => {
    const server = await startServer({ port: 0, limits: { maxMessageBytes: 2 * 1024 * 1024, maxArgsBytes: 2 * 1024 * 1024 } });
    const c = new Client({ url: server.url, transport, limits: { maxArgsBytes: 2 * 1024 * 1024 } });
    try {
      const arg = "p".repeat(1536 * 1024);
      // Made in one tick: the gRPC fast path would put them in one frame of ~6 MiB.
      const jobs = await Promise.all(Array.from({ length: 4 }, () => c.enqueue("big.job", [arg], { queue: uniqueQueue() })));
      expect(jobs).toHaveLength(4);
    } finally {
      await c.close();
      await server.close();
    }
  });
});

describe("a worker whose result is over maxResultBytes", () => {
  it.each(TRANSPORTS)("over %s: the job fails at once with the server's reason, instead of waiting out its lease", async (transport) => {
    const server = await startServer({ port: 0, limits: { maxResultBytes: 1000 } });
    const queue = uniqueQueue("result");
    const c = new Client({ url: server.url, transport });
    const w = new Worker({ url: server.url, transport, queues: [queue], handleSignals: false, visibilityTimeoutMs: 60_000 });
    w.register("big.result", async () => ({ blob: "r".repeat(5000) }));
    try {
      void w.start();
      const job = await c.enqueue("big.result", [], { queue, retry: { maxAttempts: 1 } });
      const done = await eventually(async () => {
        const j = await c.getJob(job.id);
        return j.state === "discarded" ? j : undefined;
      }, 5000);
      expect(done.errors.at(-1)?.code).toBe("validation_error");
      expect(done.errors.at(-1)?.message).toContain("maxResultBytes=1000");
    } finally {
      await w.stop();
      await c.close();
      await server.close();
    }
  });
});
