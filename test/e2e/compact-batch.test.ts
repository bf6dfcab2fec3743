/**
 * enqueueBatch on our server's fast path (ojsconnect.v1.FastPathService/EnqueueBatch:
 * each job answered without the fields it shares with its entry, the client
 * filling those in) against the standard ojs.v1 EnqueueBatch, over real sockets:
 * two servers on the same fixed clock get the same batches, one through each
 * method, and the Jobs must be equal field by field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, grpcTransport, type BatchJob, type Job } from "../../src/index.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { serverCore } from "../../src/server/internal.js";
import { systemClock } from "../../src/server/store/clock.js";

const NOW = Math.floor(Date.now() / 1000) * 1000;
const COMPACT = "/ojsconnect.v1.FastPathService/EnqueueBatch";
const STANDARD = "/ojs.v1.OJSService/EnqueueBatch";

/** Jobs of every shape a batch can hold: options of each kind, values the codec must carry exactly. */
function batch(queue: string, n: number): BatchJob[] {
  const id = (k: number) => `019a0000-0000-7000-8000-${String(n * 100 + k).padStart(12, "0")}`;
  return [
    { type: "cb.plain", args: [] },
    {
      type: "cb.values",
      args: [1, -0, 2 ** 60, "é𝄞", "lone \ud800 surrogate", "\ufeffbom", null, true, JSON.parse('{"__proto__": {"x": [1.5]}, "2": 0, "a": {}}')],
    },
    {
      type: "cb.options",
      args: [{ i: n }],
      options: {
        queue,
        priority: 7,
        meta: { m: { n: [1, "x"] }, "": "" },
        tags: ["a", "b"],
        timeout: 5_000,
        visibilityTimeout: 30_000,
        retry: { maxAttempts: 5, initialInterval: 1_000, backoffCoefficient: 1.5, nonRetryableErrors: ["x.*"] },
        keepFor: { completed: 60_000 },
      },
    },
    { type: "cb.scheduled", args: [2], options: { queue, scheduledAt: new Date(NOW + 60_000), expiresAt: new Date(NOW + 3_600_000) } },
    { type: "cb.id", args: [3], options: { queue, id: id(1) } },
    { type: "cb.unique", args: [{ k: n }], options: { queue, unique: { keys: ["type", "args"], period: 60_000 } } },
    { type: "cb.default", args: ["no queue"] },
  ];
}

/** Ids the server chose differ from server to server; the rest must not. */
const withoutServerIds = (jobs: Job[]) => jobs.map((j) => (j.id.startsWith("019a0000-0000-7000-8000-") ? j : { ...j, id: "" }));

describe("enqueueBatch: the fast path's compact answer gives the Jobs of the standard EnqueueBatch", () => {
  let compactServer: OjsServer;
  let standardServer: OjsServer;
  const clients: Client[] = [];
  const calls = (s: OjsServer, path: string) => serverCore(s).grpcCalls.get(path) ?? 0;
  const fixed = { now: () => NOW, setTimer: systemClock.setTimer };

  beforeAll(async () => {
    compactServer = await startServer({ port: 0, store: { clock: fixed } });
    standardServer = await startServer({ port: 0, store: { clock: fixed } });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await compactServer.close();
    await standardServer.close();
  });

  /** A client on the fast path of the first server and one on the standard method of the second. */
  function pair(headers?: Record<string, string>): [Client, Client] {
    const a = new Client({ transport: grpcTransport({ url: compactServer.url, ...(headers ? { headers } : {}) }) });
    const b = new Client({ transport: grpcTransport({ url: standardServer.url, fastPath: false, ...(headers ? { headers } : {}) }) });
    clients.push(a, b);
    return [a, b];
  }

  it("the same Jobs, field for field, for entries of every kind", async () => {
    const [fast, standard] = pair();
    const before = { compact: calls(compactServer, COMPACT), standard: calls(compactServer, STANDARD) };
    for (let n = 0; n < 3; n++) {
      const viaCompact = await fast.enqueueBatch(batch("cb-q", n));
      const viaStandard = await standard.enqueueBatch(batch("cb-q", n));
      expect(viaCompact).toHaveLength(7);
      expect(withoutServerIds(viaCompact)).toEqual(withoutServerIds(viaStandard));
      expect(viaCompact[1]!.args[4]).toBe("lone \ufffd surrogate");
      expect(Object.is(viaCompact[1]!.args[1], -0)).toBe(true);
      expect(viaCompact[3]!.state).toBe("scheduled");
      // What the server stores is what the compact answer said.
      expect(await fast.getJob(viaCompact[2]!.id)).toEqual(viaCompact[2]);
    }
    // The first server was asked through the fast path only, the second through the standard method.
    expect(calls(compactServer, COMPACT) - before.compact).toBe(3);
    expect(calls(compactServer, STANDARD) - before.standard).toBe(0);
    expect(calls(standardServer, COMPACT)).toBe(0);
  });

  it("meta the server adds (the tenant) comes back in full", async () => {
    const [fast, standard] = pair({ "x-ojs-tenant": "acme" });
    const viaCompact = await fast.enqueueBatch(batch("cb-t", 10));
    const viaStandard = await standard.enqueueBatch(batch("cb-t", 10));
    expect(viaCompact[2]!.meta).toMatchObject({ tenant_id: "acme", m: { n: [1, "x"] } });
    expect(withoutServerIds(viaCompact)).toEqual(withoutServerIds(viaStandard));
  });

  it("meta with reserved ojs. keys (lifted into fields by one decoder or the other) gives the same Jobs too", async () => {
    const [fast, standard] = pair();
    const before = calls(compactServer, COMPACT);
    const odd: BatchJob[] = [
      { type: "cb.reserved", args: [1], options: { meta: { "ojs.retry_delay_ms": 5, keep: true } } },
      { type: "cb.reserved", args: [2], options: { meta: { "ojs.parent_results": { a: 1 }, "ojs.schema": "x" } } },
    ];
    const viaFast = await fast.enqueueBatch(odd);
    expect(withoutServerIds(viaFast)).toEqual(withoutServerIds(await standard.enqueueBatch(odd)));
    expect(viaFast[0]!.retryDelayMs).toBe(5);
    expect(calls(compactServer, COMPACT)).toBe(before + 1);
  });

  it("a server with its fast path off lists no compact answers, and batches take the standard method", async () => {
    const off = await startServer({ port: 0, fastPath: false });
    const c = new Client({ transport: grpcTransport({ url: off.url }) });
    try {
      expect((await c.manifest()).extensions).not.toContain("ojs-connect.compact-batch.v1");
      expect(await c.enqueueBatch([{ type: "cb.off", args: [1] }])).toHaveLength(1);
      expect(calls(off, STANDARD)).toBe(1);
      expect(calls(off, COMPACT)).toBe(0);
    } finally {
      await c.close();
      await off.close();
    }
  });

  it("a batch of a thousand like jobs (most answered as their id alone) gives the standard method's Jobs", async () => {
    const [fast, standard] = pair();
    const many = (queue?: string): BatchJob[] =>
      Array.from({ length: 1_000 }, (_, i) => ({
        type: "cb.many",
        args: [{ i, s: `x${i}` }],
        ...(queue ? { options: { queue, ...(i % 2 ? { meta: { k: i } } : {}) } } : {}),
      }));
    for (const queue of [undefined, "cb-many"]) {
      const viaCompact = await fast.enqueueBatch(many(queue));
      expect(withoutServerIds(viaCompact)).toEqual(withoutServerIds(await standard.enqueueBatch(many(queue))));
      // No two Jobs share an object.
      expect(viaCompact[1]!.createdAt).not.toBe(viaCompact[2]!.createdAt);
      expect(viaCompact[1]!.retry).not.toBe(viaCompact[2]!.retry);
    }
  });

  it("a compact batch the server has not answered ends with the caller's abort or deadline", async () => {
    const held = await startServer({ port: 0 });
    const c = new Client({ transport: grpcTransport({ url: held.url }) });
    try {
      // One answered batch first: the client knows the server's fast path from then on.
      await c.enqueueBatch([{ type: "cb.held", args: [0] }]);
      const answered = calls(held, COMPACT);
      // The next batches are stored, but their answers wait for a durability barrier that never comes.
      serverCore(held).durable = () => new Promise<void>(() => undefined);
      const ac = new AbortController();
      const aborted = c.enqueueBatch([{ type: "cb.held", args: [1] }], { signal: ac.signal });
      setTimeout(() => ac.abort(), 100);
      await expect(aborted).rejects.toMatchObject({ name: "AbortError" });
      await expect(c.enqueueBatch([{ type: "cb.held", args: [2] }], { timeoutMs: 200 })).rejects.toMatchObject({ name: "TimeoutError" });
      expect(calls(held, COMPACT) - answered).toBe(2);
    } finally {
      await c.close();
      await held.close();
    }
  });

  it("errors are the standard method's: a refused batch stores nothing", async () => {
    const [fast, standard] = pair();
    const bad: BatchJob[] = [
      { type: "cb.ok", args: [], options: { queue: "cb-err" } },
      { type: "cb.dup", args: [], options: { queue: "cb-err", id: "019a0000-0000-7000-8000-0000000000aa" } },
      { type: "cb.dup", args: [], options: { queue: "cb-err", id: "019a0000-0000-7000-8000-0000000000aa" } },
    ];
    const a = await fast.enqueueBatch(bad).catch((e: unknown) => e);
    const b = await standard.enqueueBatch(bad).catch((e: unknown) => e);
    expect(a).toMatchObject({ name: (b as Error).name, code: (b as { code: string }).code, message: (b as Error).message });
    await expect(fast.getJob("019a0000-0000-7000-8000-0000000000aa")).rejects.toMatchObject({ code: "not_found" });
  });
});
