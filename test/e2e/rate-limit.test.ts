/**
 * The rateLimit enqueue option end to end: a Client enqueues, a Worker runs,
 * over each transport against a real server; the key's concurrency holds for
 * a streaming (gRPC) and a polling (HTTP) worker alike. Toward a standard
 * ojs.v1 server, which has no field for it, the gRPC transport refuses the
 * option instead of dropping it.
 */
import { describe, expect, it } from "vitest";
import { Client, grpcTransport, Worker } from "../../src/index.js";
import { eventually, TRANSPORTS, uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer({ visibilityTimeoutMs: 5000 });

describe.each(TRANSPORTS)("rate limits over %s", (transport) => {
  it("a key's concurrency holds for a worker with more slots, and every job runs once", async () => {
    const queue = uniqueQueue("rl");
    const key = `key-${queue}`;
    const client = new Client({ url: ctx.url, transport });
    const worker = new Worker({ url: ctx.url, transport, queues: [queue], concurrency: 6, handleSignals: false, pollIntervalMs: 20, longPollMs: 0 });
    let running = 0;
    let most = 0;
    const done = new Map<number, number>();
    worker.register("t.rl", async (c) => {
      const n = c.args[0] as number;
      // Only the jobs of the key count; job 100 has no limit.
      const keyed = n < 100;
      if (keyed) most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 40));
      if (keyed) running--;
      done.set(n, (done.get(n) ?? 0) + 1);
    });
    try {
      void worker.start();
      const N = 8;
      await client.enqueueBatch(Array.from({ length: N }, (_, i) => ({ type: "t.rl", args: [i], options: { queue, rateLimit: { key, concurrency: 2 } } })));
      const free = await client.enqueue("t.rl", [100], { queue });
      await eventually(() => done.size === N + 1, 15_000);
      // The limit was reached (two at once) and never passed.
      expect(most).toBe(2);
      expect([...done.values()].every((n) => n === 1)).toBe(true);
      expect((await client.getJob(free.id)).state).toBe("completed");
    } finally {
      await worker.stop();
      await client.close();
    }
  }, 30_000);

  it("the policy reaches the server as given", async () => {
    const queue = uniqueQueue("rl-policy");
    const key = `p-${queue}`;
    const client = new Client({ url: ctx.url, transport });
    try {
      await client.enqueue("t.rl", [], { queue, rateLimit: { key, rate: { limit: 5, period: "PT1M" }, throttle: { limit: 2, period: 1000 } } });
      const r = await fetch(new URL(`/ojs/v1/rate-limits/${key}`, ctx.url));
      expect(await r.json()).toMatchObject({ key, rate: { limit: 5, period: "PT1M" }, throttle: { limit: 2, period: "PT1S" }, waiting_count: 1 });
    } finally {
      await client.close();
    }
  });

  it("a bad policy is refused before anything is sent, naming the field", async () => {
    const client = new Client({ url: ctx.url, transport });
    try {
      await expect(client.enqueue("t.rl", [], { rateLimit: { key: "k" } })).rejects.toMatchObject({
        name: "ValidationError",
        message: expect.stringMatching(/options\.rateLimit: names no limit/),
      });
      await expect(client.enqueue("t.rl", [], { rateLimit: { key: "k", concurrency: -1 } })).rejects.toMatchObject({
        message: expect.stringMatching(/options\.rateLimit\.concurrency/),
      });
    } finally {
      await client.close();
    }
  });
});

describe("toward a standard ojs.v1 server", () => {
  it("the gRPC transport refuses rateLimit (no field can carry it) instead of dropping it", async () => {
    const c = new Client({ transport: grpcTransport({ url: ctx.url }) });
    // Our server seen through a manifest without ojs-connect's extension: what official servers look like.
    const t = c.transport as unknown as { rpc: { manifest: (...a: unknown[]) => Promise<{ extensions: string[] }> } };
    const original = t.rpc.manifest.bind(t.rpc);
    t.rpc.manifest = async (...a: unknown[]) => ({ ...(await original(...a)), extensions: ["dead-letter"] });
    try {
      await expect(c.enqueue("std.x", [], { rateLimit: { key: "k", concurrency: 1 } })).rejects.toMatchObject({
        name: "UnimplementedError",
        message: expect.stringMatching(/^rateLimit: .*use the HTTP transport/),
      });
    } finally {
      await c.close();
    }
  });
});
