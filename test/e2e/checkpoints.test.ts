/**
 * Durable execution end to end, over each transport against a real server:
 * a worker saves checkpoints with ctx.checkpoint(), a failed attempt's next
 * attempt resumes from ctx.lastCheckpoint(), a typed handler's checkpoint
 * schema checks both ways, and client.checkpoints reads, seeds and clears
 * them with the spec's errors. gRPC has no RPC for checkpoints: its transport
 * reaches the HTTP binding on the same port.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Client, Worker } from "../../src/index.js";
import { eventually, TRANSPORTS, uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer({ visibilityTimeoutMs: 5000 });

describe.each(TRANSPORTS)("checkpoints over %s", (transport) => {
  const worker = (queue: string) => new Worker({ url: ctx.url, transport, queues: [queue], handleSignals: false, pollIntervalMs: 20, longPollMs: 0 });

  it("a retried job resumes from the checkpoint of the attempt that failed", async () => {
    const queue = uniqueQueue("cp-resume");
    const client = new Client({ url: ctx.url, transport });
    const w = worker(queue);
    const seen: Array<{ attempt: number; from: unknown }> = [];
    w.register("t.cp", async (c) => {
      const from = await c.lastCheckpoint();
      seen.push({ attempt: c.attempt, from });
      const start = typeof from === "object" && from !== null && !Array.isArray(from) ? (from.done as number) : 0;
      await c.checkpoint({ done: start + 3 });
      // Within one attempt the last checkpoint is the one just saved.
      expect(await c.lastCheckpoint()).toEqual({ done: start + 3 });
      if (c.attempt === 1) throw new Error("crash after the first three");
      return { total: start + 3 };
    });
    try {
      void w.start();
      const job = await client.enqueue("t.cp", [], { queue, retry: { maxAttempts: 3, initialInterval: 10, jitter: false } });
      const done = await eventually(async () => {
        const j = await client.getJob(job.id);
        return j.state === "completed" ? j : undefined;
      }, 10_000);
      expect(seen).toEqual([
        { attempt: 1, from: undefined },
        { attempt: 2, from: { done: 3 } },
      ]);
      expect(done.result).toEqual({ total: 6 });
      // The last checkpoint of a finished job stays readable until the job is forgotten (docs/checkpoints.md).
      expect(await client.checkpoints.get(job.id)).toMatchObject({ jobId: job.id, state: { done: 6 }, sequence: 2 });
      // ...and can no longer change.
      await expect(client.checkpoints.save(job.id, { done: 0 })).rejects.toMatchObject({ name: "ConflictError" });
    } finally {
      await w.stop();
      await client.close();
    }
  }, 20_000);

  it("a typed handler's checkpoint schema checks what is saved and parses what is loaded", async () => {
    const queue = uniqueQueue("cp-typed");
    const client = new Client({ url: ctx.url, transport });
    const w = worker(queue);
    const outcomes: string[] = [];
    w.register("t.cp.typed", { args: z.tuple([z.number()]), checkpoint: z.object({ cursor: z.string() }) }, async (c) => {
      const last = await c.lastCheckpoint();
      // Typed: last is { cursor: string } | undefined.
      outcomes.push(last ? last.cursor : "fresh");
      await expect(c.checkpoint({ cursor: 42 } as unknown as { cursor: string })).rejects.toMatchObject({
        name: "ValidationError",
        message: expect.stringMatching(/checkpoint\.cursor/),
      });
      await c.checkpoint({ cursor: `page-${c.args[0]}` });
      return null;
    });
    try {
      void w.start();
      const seeded = await client.enqueue("t.cp.typed", [2], { queue: `${queue}-held` });
      // Seeded by a producer on a job no worker serves yet: stored as given.
      await client.checkpoints.save(seeded.id, { cursor: "page-1" });
      const plain = await client.enqueue("t.cp.typed", [7], { queue });
      await eventually(async () => (await client.getJob(plain.id)).state === "completed", 10_000);
      expect(outcomes).toEqual(["fresh"]);
      // A stored checkpoint the schema refuses is reported, not resumed from.
      // Scheduled a moment ahead so the bad checkpoint is stored before a worker can take the job: a job pushed
      // to a waiting worker may start before its enqueue is even answered.
      const bad = await client.enqueue("t.cp.typed", [1], { queue, retry: { maxAttempts: 1 }, scheduledAt: new Date(Date.now() + 1_500) });
      await client.checkpoints.save(bad.id, { cursor: 5 });
      await eventually(async () => (await client.getJob(bad.id)).state === "discarded", 10_000);
      const failed = await client.getJob(bad.id);
      expect(failed.errors.at(-1)?.message).toMatch(/does not match the handler's checkpoint schema/);
      expect(await client.checkpoints.get(seeded.id)).toMatchObject({ state: { cursor: "page-1" }, sequence: 1 });
    } finally {
      await w.stop();
      await client.close();
    }
  }, 20_000);

  it("client.checkpoints: save, read, overwrite, delete, with the spec's errors", async () => {
    const queue = uniqueQueue("cp-client");
    const client = new Client({ url: ctx.url, transport });
    try {
      const job = await client.enqueue("t.cp.client", [], { queue });
      expect(await client.checkpoints.get(job.id)).toBeUndefined();
      expect(await client.checkpoints.save(job.id, { a: 1 })).toMatchObject({ jobId: job.id, sequence: 1 });
      expect(await client.checkpoints.save(job.id, [1, "two", null])).toMatchObject({ sequence: 2 });
      const cp = await client.checkpoints.get(job.id);
      expect(cp).toMatchObject({ jobId: job.id, state: [1, "two", null], sequence: 2 });
      expect(cp!.createdAt).toBeInstanceOf(Date);
      expect(await client.checkpoints.delete(job.id)).toBe(true);
      expect(await client.checkpoints.delete(job.id)).toBe(false);
      expect(await client.checkpoints.get(job.id)).toBeUndefined();
      // After a delete the sequence starts again.
      expect(await client.checkpoints.save(job.id, "again")).toMatchObject({ sequence: 1 });

      const unknown = "01965000-0000-7000-8000-000000000000";
      await expect(client.checkpoints.get(unknown)).rejects.toMatchObject({ name: "NotFoundError" });
      await expect(client.checkpoints.save(unknown, {})).rejects.toMatchObject({ name: "NotFoundError" });
      // Over the spec's 1 MiB: refused before anything is sent.
      await expect(client.checkpoints.save(job.id, { blob: "x".repeat(1024 * 1024) })).rejects.toMatchObject({
        name: "ValidationError",
        message: expect.stringMatching(/maxResultBytes/),
      });
      await client.cancelJob(job.id);
      await expect(client.checkpoints.save(job.id, {})).rejects.toMatchObject({ name: "ConflictError" });
    } finally {
      await client.close();
    }
  });
});

describe("the HTTP binding", () => {
  const put = (id: string, body: unknown, method = "PUT") =>
    fetch(`${ctx.url}/ojs/v1/jobs/${id}/checkpoint`, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  it("answers 413 for a checkpoint over the limit, 400 without state, and takes POST as the spec writes it", async () => {
    const client = new Client({ url: ctx.url, transport: "http" });
    try {
      const job = await client.enqueue("t.cp.http", [], { queue: uniqueQueue("cp-http") });
      const big = await put(job.id, { state: { blob: "x".repeat(1024 * 1024 + 10) } });
      expect(big.status).toBe(413);
      expect(await client.checkpoints.get(job.id)).toBeUndefined();
      expect((await put(job.id, { nostate: 1 })).status).toBe(400);
      const posted = await put(job.id, { state: { via: "post" } }, "POST");
      expect(posted.status).toBe(200);
      expect(await posted.json()).toMatchObject({ checkpoint: { job_id: job.id, sequence: 1 } });
      const got = await fetch(`${ctx.url}/ojs/v1/jobs/${job.id}/checkpoint`);
      expect(await got.json()).toMatchObject({ checkpoint: { job_id: job.id, state: { via: "post" }, sequence: 1 } });
    } finally {
      await client.close();
    }
  });

  it("a fetched job carries its checkpoint in the envelope; a worker that names itself must hold the job", async () => {
    const queue = uniqueQueue("cp-env");
    const client = new Client({ url: ctx.url, transport: "http" });
    try {
      const job = await client.enqueue("t.cp.env", [], { queue });
      await client.checkpoints.save(job.id, { at: 9 });
      const r = await fetch(`${ctx.url}/ojs/v1/workers/fetch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ queues: [queue], worker_id: "w-a" }),
      });
      const body = (await r.json()) as { jobs: Array<{ id: string; checkpoint?: unknown }> };
      expect(body.jobs[0]).toMatchObject({ id: job.id, checkpoint: { state: { at: 9 }, sequence: 1 } });
      expect((await put(job.id, { state: {}, worker_id: "w-b" })).status).toBe(409);
      expect((await put(job.id, { state: { at: 10 }, worker_id: "w-a" })).status).toBe(200);
    } finally {
      await client.close();
    }
  });
});
