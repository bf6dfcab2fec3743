/**
 * client.waitForJob() over both transports against a real server: the finished
 * job, event driven where the server streams events, polling where it has none;
 * and each way waiting can end early (timeout, abort, unknown job).
 */
import { afterAll, describe, expect, it } from "vitest";
import { AbortError, Client, NotFoundError, TimeoutError, UnimplementedError, ValidationError, type Transport } from "../../src/index.js";
import { GrpcTransport, HttpTransport } from "../../src/transport/index.js";
import { TRANSPORTS, uniqueQueue, useServer, worker, type TransportName } from "../helpers.js";

const ctx = useServer();

/** A real transport whose getJob calls are counted; `noEvents` plays a server without an event stream (like some official backends). */
function counted(name: TransportName, noEvents = false) {
  const inner: Transport = name === "grpc" ? new GrpcTransport({ url: ctx.url }) : new HttpTransport({ url: ctx.url });
  const t = Object.create(inner) as Transport;
  const calls = { getJob: 0, streamEvents: 0 };
  t.getJob = (...a) => (calls.getJob++, inner.getJob(...a));
  t.streamEvents = noEvents
    ? async function* () {
        calls.streamEvents++;
        throw new UnimplementedError("no event stream on this server");
      }
    : (...a) => (calls.streamEvents++, inner.streamEvents(...a));
  t.close = () => inner.close();
  return { transport: t, calls, close: () => inner.close() };
}

describe.each(TRANSPORTS)("waitForJob over %s", (transport) => {
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of closers) await c();
  });
  const setup = (noEvents = false) => {
    const t = counted(transport, noEvents);
    const client = new Client({ transport: t.transport, logger: false });
    closers.push(() => client.close(), t.close);
    return { client, calls: t.calls };
  };

  it("resolves with the completed job, woken by its events rather than by polling", async () => {
    const { client, calls } = setup();
    const queue = uniqueQueue();
    const w = worker(ctx.url, transport, { queues: [queue] });
    w.register("slow.job", async () => {
      await new Promise((r) => setTimeout(r, 2500));
      return { ok: 1 };
    });
    let completedAt = 0;
    w.on("job.completed", () => void (completedAt = Date.now()));
    void w.start();
    try {
      const job = await client.enqueue("slow.job", [], { queue });
      const done = await client.waitForJob(job.id, { timeoutMs: 15_000 });
      const lag = Date.now() - completedAt;
      expect(done.state).toBe("completed");
      expect(done.result).toEqual({ ok: 1 });
      expect(calls.streamEvents).toBeGreaterThan(0);
      // By then reads without an event are 0.8 to 5 s apart; the job.completed event wakes the
      // waiter at once. (A behaviour check with a wide margin, not a speed target.)
      expect(lag).toBeLessThan(700);
      expect(calls.getJob).toBeLessThan(12);
    } finally {
      await w.stop();
    }
  });

  it("polls where the server has no event stream, and still sees the end", async () => {
    const { client, calls } = setup(true);
    const queue = uniqueQueue();
    const w = worker(ctx.url, transport, { queues: [queue], logger: false });
    w.register("fails.always", async () => {
      throw new Error("boom");
    });
    void w.start();
    try {
      const job = await client.enqueue("fails.always", [], { queue, retry: { maxAttempts: 1 } });
      const done = await client.waitForJob(job.id, { timeoutMs: 15_000, pollIntervalMs: 100 });
      expect(done.state).toBe("discarded");
      expect(done.errors.at(-1)?.message).toContain("boom");
      expect(calls.streamEvents).toBe(1);
      expect(calls.getJob).toBeGreaterThanOrEqual(1);
    } finally {
      await w.stop();
    }
  });

  it("rejects with TimeoutError after timeoutMs, naming the state it saw", async () => {
    const { client } = setup();
    const job = await client.enqueue("nobody.works", [], { queue: uniqueQueue() });
    const t0 = Date.now();
    const e = await client.waitForJob(job.id, { timeoutMs: 300 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as Error).message).toMatch(/within 300 ms \(last seen: available\)/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it("rejects with AbortError when the signal aborts", async () => {
    const { client } = setup();
    const job = await client.enqueue("nobody.works", [], { queue: uniqueQueue() });
    const e = await client.waitForJob(job.id, { signal: AbortSignal.timeout(200) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AbortError);
  });

  it("rejects with NotFoundError for an unknown job, and ValidationError for bad options", async () => {
    const { client } = setup();
    await expect(client.waitForJob("01900000-0000-7000-8000-000000000000", { timeoutMs: 5000 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.waitForJob("x", { timeoutMs: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(client.waitForJob("")).rejects.toBeInstanceOf(ValidationError);
  });
});
