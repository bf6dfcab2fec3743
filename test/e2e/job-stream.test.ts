/**
 * The StreamJobs path in bulk: the server writes every job of a tick in one
 * write (src/server/grpc/coalesce.ts) and the worker's job stream
 * (src/transport/grpc/job-stream.ts) queues what arrives in one chunk. A full
 * queue at start means chunks of dozens of jobs: each must run exactly once,
 * none left to its lease.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Client } from "../../src/index.js";
import { eventually, uniqueQueue, useServer, worker as mkWorker } from "../helpers.js";

const ctx = useServer();
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of closers) await c();
});

describe("StreamJobs in bulk (gRPC)", () => {
  it("a worker started on a full queue runs every job once, many per chunk", async () => {
    const queue = uniqueQueue("bulk");
    const client = new Client({ url: ctx.url, transport: "grpc" });
    closers.push(() => client.close());
    const N = 600;
    await client.enqueueBatch(Array.from({ length: N }, (_, i) => ({ type: "t.bulk", args: [i], options: { queue } })));
    const runs = new Map<number, number>();
    const w = mkWorker(ctx.url, "grpc", { queues: [queue], concurrency: 64 });
    closers.push(() => w.stop());
    w.register("t.bulk", (c) => void runs.set(c.args[0] as number, (runs.get(c.args[0] as number) ?? 0) + 1));
    void w.start();
    // Well inside the default 30 s lease: a job dropped on the way would only come back after it.
    await eventually(() => runs.size === N, 15_000);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    await eventually(async () => (await client.queueStats(queue)).available === 0, 5_000);
  }, 30_000);
});
