import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, ConflictError, DuplicateJobError, grpcTransport, NotFoundError, ValidationError, type Job } from "../../src/index.js";
import { Pipeline } from "../../src/transport/grpc/pipeline.js";
import { uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer();

type Op = "enqueue" | "settle";
interface PipelineInside {
  flush(this: PipelineInside): void;
  batch: unknown[];
  sink: unknown;
  opts: { operation: string };
}

/** Records every fast-path frame sent (operation and calls in it): proof that the fast path carried the calls. */
function watchFrames() {
  const proto = Pipeline.prototype as unknown as PipelineInside;
  const original = proto.flush;
  const frames: Array<{ op: Op; calls: number }> = [];
  proto.flush = function (this: PipelineInside) {
    if (this.sink && this.batch.length) frames.push({ op: this.opts.operation as Op, calls: this.batch.length });
    original.call(this);
  };
  return {
    frames,
    calls: (op: Op) => frames.filter((f) => f.op === op).reduce((n, f) => n + f.calls, 0),
    restore: () => void (proto.flush = original),
  };
}

/**
 * Counts the standard unary RPCs a client's transport makes for enqueue, ack and nack,
 * whichever way they go: hand-framed on the session (`standard`) or through connect-es (`rpc`).
 */
function watchUnary(c: Client) {
  const t = c.transport as unknown as Record<"rpc" | "standard", Record<string, (...a: unknown[]) => unknown> | undefined>;
  const counts = { enqueue: 0, ack: 0, nack: 0 };
  for (const calls of [t.rpc, t.standard]) {
    if (!calls) continue;
    for (const name of Object.keys(counts) as Array<keyof typeof counts>) {
      const original = calls[name]!.bind(calls);
      calls[name] = (...a: unknown[]) => (counts[name]++, original(...a));
    }
  }
  return counts;
}

/**
 * The fast path (pipelined enqueue/ack/nack streams, negotiated through the
 * manifest) must be indistinguishable from the standard unary RPCs: same jobs,
 * same errors. Everything else in the suite runs over it by default; this file
 * puts the two side by side.
 */
describe("gRPC fast path vs standard unary RPCs", () => {
  let fast: Client;
  let unary: Client;
  let frames: ReturnType<typeof watchFrames>;
  let fastUnary: ReturnType<typeof watchUnary>;
  let unaryUnary: ReturnType<typeof watchUnary>;
  beforeAll(() => {
    fast = new Client({ transport: grpcTransport({ url: ctx.url }) });
    unary = new Client({ transport: grpcTransport({ url: ctx.url, fastPath: false }) });
    frames = watchFrames();
    fastUnary = watchUnary(fast);
    unaryUnary = watchUnary(unary);
  });
  afterAll(async () => {
    frames.restore();
    await fast.transport.close();
    await unary.transport.close();
  });

  it("the server offers the extension in its manifest", async () => {
    expect((await fast.manifest()).extensions).toContain("ojs-connect.fastpath.v1");
  });

  it("enqueue, ack and nack give the same results either way", async () => {
    const results: Job[][] = [];
    const before = { enqueue: frames.calls("enqueue"), settle: frames.calls("settle") };
    for (const c of [fast, unary]) {
      const queue = uniqueQueue("fp");
      const a = await c.enqueue("fp.x", [0, false, "", { n: [1] }], {
        queue,
        meta: { m: 1 },
        retry: { maxAttempts: 2, initialInterval: 60_000, jitter: false },
      });
      const b = await c.enqueue("fp.x", [1], { queue, retry: { maxAttempts: 2, initialInterval: 60_000, jitter: false } });
      const [ja, jb] = await c.transport.fetch({ queues: [queue], count: 2, workerId: "w" });
      await c.transport.ack({ jobId: ja!.id, result: { ok: true, zero: 0 }, workerId: "w" });
      const nack = await c.transport.nack({ jobId: jb!.id, error: { code: "fp.boom", message: "boom" }, workerId: "w" });
      expect(nack.state).toBe("retryable");
      expect(nack.nextAttemptAt).toBeInstanceOf(Date);
      results.push([await c.getJob(a.id), await c.getJob(b.id)]);
    }
    const strip = (j: Job) => ({
      ...j,
      id: "",
      queue: "",
      createdAt: undefined,
      enqueuedAt: undefined,
      startedAt: undefined,
      completedAt: undefined,
      scheduledAt: undefined,
      errors: j.errors.map((e) => ({ ...e, occurredAt: undefined })),
    });
    expect(results[0]!.map(strip)).toEqual(results[1]!.map(strip));
    expect(results[0]![0]!.result).toEqual({ ok: true, zero: 0 });
    // Each client went the way it claims: the fast one in frames only, the other by unary RPCs only.
    expect(frames.calls("enqueue") - before.enqueue).toBe(2);
    expect(frames.calls("settle") - before.settle).toBe(2);
    expect(fastUnary).toEqual({ enqueue: 0, ack: 0, nack: 0 });
    expect(unaryUnary).toMatchObject({ enqueue: 2, ack: 1, nack: 1 });
  });

  it("errors are the same classes with the same codes either way", async () => {
    for (const c of [fast, unary]) {
      const id =
        "019a0000-0000-7000-8000-" +
        Math.floor(Math.random() * 2 ** 48)
          .toString(16)
          .padStart(12, "0");
      await c.enqueue("fp.dup", [], { id });
      await expect(c.enqueue("fp.dup", [], { id })).rejects.toBeInstanceOf(DuplicateJobError);
      await expect(c.transport.ack({ jobId: "019a0000-0000-7000-8000-00000000beef" })).rejects.toBeInstanceOf(NotFoundError);
      await expect(c.transport.ack({ jobId: id })).rejects.toBeInstanceOf(ConflictError);
      const bad = await c.transport.enqueue({ type: "fp.x", args: [], priority: 500 }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(ValidationError);
      expect((bad as ValidationError).grpcCode).toBe(3);
    }
    // The fast client's errors came back through frames, not from a unary fallback.
    expect(fastUnary).toEqual({ enqueue: 0, ack: 0, nack: 0 });
  });

  it("many concurrent enqueues share frames and every caller gets its own job", async () => {
    const queue = uniqueQueue("fpc");
    const firstFrame = frames.frames.length;
    const jobs = await Promise.all(Array.from({ length: 500 }, (_, i) => fast.enqueue("fp.many", [i], { queue })));
    expect(jobs.map((j) => j.args[0])).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(new Set(jobs.map((j) => j.id)).size).toBe(500);
    const mine = frames.frames.slice(firstFrame).filter((f) => f.op === "enqueue");
    expect(mine.reduce((n, f) => n + f.calls, 0)).toBe(500);
    // Shared: far fewer frames than calls.
    expect(mine.length).toBeLessThan(50);
  });

  it("a call aborted through its signal rejects at once; the stream carries on", async () => {
    const abort = new AbortController();
    const p = fast.enqueue("fp.abort", [], { queue: uniqueQueue() }, { signal: abort.signal });
    abort.abort();
    await expect(p).rejects.toMatchObject({ code: "cancelled" });
    expect((await fast.enqueue("fp.after", [])).state).toBe("available");
  });

  it("when the manifest cannot be read, calls go over the unary RPCs", async () => {
    const c = new Client({ transport: grpcTransport({ url: ctx.url, headers: {} }) });
    // A transport whose first manifest call fails falls back for that call and asks again later.
    const t = c.transport as unknown as { rpc: { manifest: () => Promise<never> } };
    const original = t.rpc.manifest;
    const calls = watchUnary(c);
    t.rpc.manifest = () => Promise.reject(new Error("manifest unavailable"));
    expect((await c.enqueue("fp.fallback", [])).state).toBe("available");
    expect(calls.enqueue).toBe(1); // the unary RPC carried it
    t.rpc.manifest = original;
    const framed = frames.calls("enqueue");
    expect((await c.enqueue("fp.fallback", [])).state).toBe("available");
    expect(calls.enqueue).toBe(1); // and once the manifest was read, the fast path did
    expect(frames.calls("enqueue")).toBe(framed + 1);
    await c.transport.close();
  });
});

describe("gRPC against a server that is not ojs-connect (its manifest lacks the extension)", () => {
  /** Our server, but seen through a manifest without the extension: what official servers look like. */
  function standardClient(): Client {
    const c = new Client({ transport: grpcTransport({ url: ctx.url }) });
    const t = c.transport as unknown as { rpc: { manifest: (...a: unknown[]) => Promise<{ extensions: string[] }> } };
    const original = t.rpc.manifest.bind(t.rpc);
    t.rpc.manifest = async (...a: unknown[]) => ({ ...(await original(...a)), extensions: ["dead-letter"] });
    return c;
  }

  it("sends no reserved meta keys (another server would keep them as the user's meta)", async () => {
    const c = standardClient();
    const http = new Client({ url: ctx.url, transport: "http" });
    const expiresAt = new Date(Date.now() + 3_600_000);
    const job = await c.enqueue("std.x", [1], { queue: uniqueQueue("std"), meta: { mine: 1 }, expiresAt, retry: { backoffStrategy: "linear" } });
    const stored = await http.getJob(job.id);
    expect(stored.meta).toEqual({ mine: 1 });
    // The expiry still travels, as the proto's relative ttl.
    expect(Math.abs(stored.expiresAt!.getTime() - expiresAt.getTime())).toBeLessThan(2000);
    await c.transport.close();
    await http.close();
  });

  it("refuses what the standard messages cannot carry (a client-chosen id, a schema) instead of dropping it", async () => {
    const c = standardClient();
    await expect(c.enqueue("std.x", [], { id: "019a0000-0000-7000-8000-0000000000cd" })).rejects.toMatchObject({
      name: "UnimplementedError",
      code: "unimplemented",
    });
    await expect(c.enqueueBatch([{ type: "std.x", args: [], options: { schema: "s" } }])).rejects.toMatchObject({ name: "UnimplementedError" });
    await c.transport.close();
  });
});
