/**
 * enqueueBatch on our server's fast path (ojsconnect.v1.FastPathService/EnqueueBatch:
 * each job answered without the fields it shares with its entry, the client
 * filling those in) against the standard ojs.v1 EnqueueBatch, over real sockets:
 * servers on the same fixed clock get the same batches, one through each
 * method, and the Jobs must be equal field by field. The compact batch goes as
 * one message (COMPACT, a server that does not list ojs-connect.chunked-batch.v1)
 * or in parts of 250 jobs (CHUNKED, our server as it is): both are checked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, grpcTransport, type BatchJob, type Job } from "../../src/index.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { serverCore } from "../../src/server/internal.js";
import { systemClock } from "../../src/server/store/clock.js";

const NOW = Math.floor(Date.now() / 1000) * 1000;
const COMPACT = "/ojsconnect.v1.FastPathService/EnqueueBatch";
const STANDARD = "/ojs.v1.OJSService/EnqueueBatch";
const CHUNKED = "/ojsconnect.v1.FastPathService/EnqueueBatchChunks";
const CHUNKED_EXTENSION = "ojs-connect.chunked-batch.v1";
type Via = "compact" | "chunked";
const VIAS: Via[] = ["compact", "chunked"];

/** The server as one that predates the chunked batch: its manifest does not list it. */
function withoutChunks(s: OjsServer): OjsServer {
  const core = serverCore(s);
  const manifest = core.manifest.bind(core);
  core.manifest = () => {
    const m = manifest();
    return { ...m, extensions: m.extensions.filter((e) => e !== CHUNKED_EXTENSION) };
  };
  return s;
}

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
  let chunkedServer: OjsServer;
  let standardServer: OjsServer;
  const clients: Client[] = [];
  const calls = (s: OjsServer, path: string) => serverCore(s).grpcCalls.get(path) ?? 0;
  const fixed = { now: () => NOW, setTimer: systemClock.setTimer };

  beforeAll(async () => {
    compactServer = withoutChunks(await startServer({ port: 0, store: { clock: fixed } }));
    chunkedServer = await startServer({ port: 0, store: { clock: fixed } });
    standardServer = await startServer({ port: 0, store: { clock: fixed } });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await compactServer.close();
    await chunkedServer.close();
    await standardServer.close();
  });

  /** A client on the fast path of a server (one message or in parts) and one on the standard method of another. */
  function pair(via: Via, headers?: Record<string, string>): [Client, Client] {
    const a = new Client({ transport: grpcTransport({ url: fastServer(via).url, ...(headers ? { headers } : {}) }) });
    const b = new Client({ transport: grpcTransport({ url: standardServer.url, fastPath: false, ...(headers ? { headers } : {}) }) });
    clients.push(a, b);
    return [a, b];
  }
  const fastServer = (via: Via) => (via === "compact" ? compactServer : chunkedServer);
  const pathOf = (via: Via) => (via === "compact" ? COMPACT : CHUNKED);
  const otherOf = (via: Via) => (via === "compact" ? CHUNKED : COMPACT);

  it.each(VIAS)("the same Jobs, field for field, for entries of every kind (%s)", async (via) => {
    const [fast, standard] = pair(via);
    const server = fastServer(via);
    const before = { fast: calls(server, pathOf(via)), other: calls(server, otherOf(via)), standard: calls(server, STANDARD) };
    // Ids of their own per method: the standard server stores the batches of both.
    for (let n = via === "compact" ? 0 : 50; n % 50 < 3; n++) {
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
    // The fast server was asked through the one method its manifest calls for, the other through the standard method.
    expect(calls(server, pathOf(via)) - before.fast).toBe(3);
    expect(calls(server, otherOf(via)) - before.other).toBe(0);
    expect(calls(server, STANDARD) - before.standard).toBe(0);
    expect(calls(standardServer, COMPACT) + calls(standardServer, CHUNKED)).toBe(0);
  });

  it.each(VIAS)("meta the server adds (the tenant) comes back in full (%s)", async (via) => {
    const [fast, standard] = pair(via, { "x-ojs-tenant": "acme" });
    const n = via === "compact" ? 10 : 60;
    const viaCompact = await fast.enqueueBatch(batch("cb-t", n));
    const viaStandard = await standard.enqueueBatch(batch("cb-t", n));
    expect(viaCompact[2]!.meta).toMatchObject({ tenant_id: "acme", m: { n: [1, "x"] } });
    expect(withoutServerIds(viaCompact)).toEqual(withoutServerIds(viaStandard));
  });

  it.each(VIAS)("meta with reserved ojs. keys (lifted into fields by one decoder or the other) gives the same Jobs too (%s)", async (via) => {
    const [fast, standard] = pair(via);
    const before = calls(fastServer(via), pathOf(via));
    const odd: BatchJob[] = [
      { type: "cb.reserved", args: [1], options: { meta: { "ojs.retry_delay_ms": 5, keep: true } } },
      { type: "cb.reserved", args: [2], options: { meta: { "ojs.parent_results": { a: 1 }, "ojs.schema": "x" } } },
    ];
    const viaFast = await fast.enqueueBatch(odd);
    expect(withoutServerIds(viaFast)).toEqual(withoutServerIds(await standard.enqueueBatch(odd)));
    expect(viaFast[0]!.retryDelayMs).toBe(5);
    expect(calls(fastServer(via), pathOf(via))).toBe(before + 1);
  });

  it("a server with its fast path off lists no compact answers, and batches take the standard method", async () => {
    const off = await startServer({ port: 0, fastPath: false });
    const c = new Client({ transport: grpcTransport({ url: off.url }) });
    try {
      expect((await c.manifest()).extensions).not.toContain("ojs-connect.compact-batch.v1");
      expect((await c.manifest()).extensions).not.toContain(CHUNKED_EXTENSION);
      expect(await c.enqueueBatch([{ type: "cb.off", args: [1] }])).toHaveLength(1);
      expect(calls(off, STANDARD)).toBe(1);
      expect(calls(off, COMPACT) + calls(off, CHUNKED)).toBe(0);
    } finally {
      await c.close();
      await off.close();
    }
  });

  it.each(VIAS)("a batch of a thousand like jobs (most answered as their id alone) gives the standard method's Jobs (%s)", async (via) => {
    const [fast, standard] = pair(via);
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

  it.each(VIAS)("a compact batch the server has not answered ends with the caller's abort or deadline (%s)", async (via) => {
    const held = await startServer({ port: 0 });
    if (via === "compact") withoutChunks(held);
    const c = new Client({ transport: grpcTransport({ url: held.url }) });
    try {
      // One answered batch first: the client knows the server's fast path from then on.
      await c.enqueueBatch([{ type: "cb.held", args: [0] }]);
      const answered = calls(held, pathOf(via));
      // The next batches are stored, but their answers wait for a durability barrier that never comes.
      serverCore(held).durable = () => new Promise<void>(() => undefined);
      const ac = new AbortController();
      const aborted = c.enqueueBatch([{ type: "cb.held", args: [1] }], { signal: ac.signal });
      setTimeout(() => ac.abort(), 100);
      await expect(aborted).rejects.toMatchObject({ name: "AbortError" });
      await expect(c.enqueueBatch([{ type: "cb.held", args: [2] }], { timeoutMs: 200 })).rejects.toMatchObject({ name: "TimeoutError" });
      expect(calls(held, pathOf(via)) - answered).toBe(2);
    } finally {
      await c.close();
      await held.close();
    }
  });

  it.each(VIAS)("errors are the standard method's: a refused batch stores nothing (%s)", async (via) => {
    const [fast, standard] = pair(via);
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

  it("a batch in parts is refused whole when a job of its last part is: the same error as the standard method's, nothing stored", async () => {
    const [fast, standard] = pair("chunked");
    const id = (k: number) => `019a0000-0000-7000-8000-${String(900_000 + k).padStart(12, "0")}`;
    // 1 000 jobs (four parts of 250) with ids of their own; the last repeats the first's id.
    const jobs: BatchJob[] = Array.from({ length: 1_000 }, (_, i) => ({ type: "cb.parts", args: [i], options: { queue: "cb-parts", id: id(i) } }));
    jobs[999] = { type: "cb.parts", args: [999], options: { queue: "cb-parts", id: id(0) } };
    const before = calls(chunkedServer, CHUNKED);
    const a = await fast.enqueueBatch(jobs).catch((e: unknown) => e);
    const b = await standard.enqueueBatch(jobs).catch((e: unknown) => e);
    expect(b).toBeInstanceOf(Error);
    expect(a).toMatchObject({ name: (b as Error).name, code: (b as { code: string }).code, message: (b as Error).message });
    expect(calls(chunkedServer, CHUNKED)).toBe(before + 1);
    // Nothing of the first parts was stored.
    for (const k of [0, 1, 249, 250, 998]) await expect(fast.getJob(id(k))).rejects.toMatchObject({ code: "not_found" });
    // A job the checks refuse in the last part names its index in the whole batch.
    const invalid: BatchJob[] = Array.from({ length: 1_000 }, (_, i) => ({ type: "cb.parts", args: [i], options: { queue: "cb-parts" } }));
    invalid[900] = { type: "cb.parts", args: [900], options: { queue: "cb-parts", priority: 1.5 } };
    const c = await fast.enqueueBatch(invalid).catch((e: unknown) => e);
    const d = await standard.enqueueBatch(invalid).catch((e: unknown) => e);
    expect(d).toBeInstanceOf(Error);
    expect(c).toMatchObject({ name: (d as Error).name, code: (d as { code: string }).code, message: (d as Error).message });
  });
});
