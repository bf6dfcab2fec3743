/**
 * Checkpoints (durable-execution extension) over PostgreSQL: the rules of the
 * in-process store (store/checkpoints.ts) on the ojs_checkpoints table, saves
 * from two servers at once each counted, the row dropped with its job, a
 * database of schema version 13 migrated on start, and over HTTP the
 * checkpoint in the envelope of a fetched job and POST /ojs/v1/jobs/:id/ack.
 */
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { PostgresJobStore } from "../../src/server/store/postgres/postgres-job-store.js";
import { migrate, MIGRATIONS } from "../../src/server/store/postgres/schema.js";
import { startServer } from "../../src/server/server.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

async function open(url = pg.cluster.url): Promise<PostgresJobStore> {
  return pg.closeAtEnd(await PostgresJobStore.open(url, { maintenanceIntervalMs: 100 }));
}

const UNKNOWN = "019a0000-0000-7000-8000-00000000dead";

describe("checkpoints on PostgreSQL", () => {
  it("save, read, delete: sequence per save, back to 1 after a delete, idempotent delete, 404 for an unknown job", async () => {
    const s = await open();
    const { rec } = await s.submit({ type: "cp.t", args: [], queue: "cp" });
    expect(await s.checkpoints.get(rec.id)).toBeUndefined();
    expect(await s.checkpoints.save(rec.id, { step: 1 })).toMatchObject({ jobId: rec.id, state: { step: 1 }, sequence: 1 });
    const second = await s.checkpoints.save(rec.id, { step: 2, nested: { list: [1, "a", null] } });
    expect(second.sequence).toBe(2);
    const got = await s.checkpoints.get(rec.id);
    expect(got).toMatchObject({ jobId: rec.id, state: { step: 2, nested: { list: [1, "a", null] } }, sequence: 2 });
    expect(got!.createdAt).toBeInstanceOf(Date);
    // Any JSON value is a state, a bare string and null too (not encoded twice on the way in).
    expect((await s.checkpoints.save(rec.id, "text")).sequence).toBe(3);
    expect((await s.checkpoints.get(rec.id))!.state).toBe("text");
    await s.checkpoints.save(rec.id, null);
    expect(await s.checkpoints.get(rec.id)).toMatchObject({ state: null, sequence: 4 });
    expect(await s.checkpoints.delete(rec.id)).toBe(true);
    expect(await s.checkpoints.delete(rec.id)).toBe(false);
    expect(await s.checkpoints.get(rec.id)).toBeUndefined();
    expect((await s.checkpoints.save(rec.id, { again: true })).sequence).toBe(1);
    for (const id of [UNKNOWN, "not-a-uuid"]) {
      await expect(s.checkpoints.get(id)).rejects.toMatchObject({ name: "NotFoundError" });
      await expect(s.checkpoints.save(id, 1)).rejects.toMatchObject({ name: "NotFoundError" });
      await expect(s.checkpoints.delete(id)).rejects.toMatchObject({ name: "NotFoundError" });
    }
  });

  it("409 once the job is finished, still readable then, and dropped with the job", async () => {
    const s = await open();
    const { rec } = await s.submit({ type: "cp.t", args: [], queue: "cp-done" });
    const [fetched] = await s.fetch({ queues: ["cp-done"], workerId: "w" });
    expect(fetched!.id).toBe(rec.id);
    await s.checkpoints.save(rec.id, { done: 3 });
    expect([...(await s.checkpoints.of([rec.id, UNKNOWN])).keys()]).toEqual([rec.id]);
    await s.ack(rec.id, null, "w");
    await expect(s.checkpoints.save(rec.id, { done: 4 })).rejects.toMatchObject({ name: "ConflictError", details: { state: "completed" } });
    expect(await s.checkpoints.get(rec.id)).toMatchObject({ state: { done: 3 }, sequence: 1 });
    await s.deleteFinished(rec.id);
    const [left] = await s.pg.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ojs_checkpoints WHERE job_id = ${rec.id}`;
    expect(left!.n).toBe(0);
    await expect(s.checkpoints.get(rec.id)).rejects.toMatchObject({ name: "NotFoundError" });
    const { rec: cancelled } = await s.submit({ type: "cp.t", args: [], queue: "cp-done" });
    await s.cancel(cancelled.id);
    await expect(s.checkpoints.save(cancelled.id, 1)).rejects.toMatchObject({ name: "ConflictError", details: { state: "cancelled" } });
  });

  it("saves from two servers at once are each counted", async () => {
    const a = await open();
    const b = await open();
    const { rec } = await a.submit({ type: "cp.t", args: [], queue: "cp-race" });
    const saves = Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).checkpoints.save(rec.id, { i }));
    const seqs = (await Promise.all(saves)).map((c) => c.sequence).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect((await b.checkpoints.get(rec.id))!.sequence).toBe(40);
  });

  it("a database at schema version 13 gets the checkpoint table on start", async () => {
    const url = await pg.cluster.createDatabase(`cp${++dbSeq}`);
    const old = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      await migrate(old, 13);
    } finally {
      await old.end();
    }
    const s = await open(url);
    const versions = await s.pg.sql<{ version: number }[]>`SELECT version FROM ojs_migrations ORDER BY version`;
    expect(versions.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    const { rec } = await s.submit({ type: "cp.t", args: [], queue: "cp-mig" });
    expect((await s.checkpoints.save(rec.id, { ok: true })).sequence).toBe(1);
  });

  it("over HTTP: the fetch envelope carries the checkpoint; POST /jobs/:id/ack completes the job", async () => {
    const url = await pg.cluster.createDatabase(`cp${++dbSeq}`);
    const server = pg.closeAtEnd(await startServer({ port: 0, store: url }));
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(server.url + path, {
        method,
        headers: { "content-type": "application/openjobspec+json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const enq = await call("POST", "/ojs/v1/jobs", { type: "cp.http", args: [], options: { queue: "cp-http" } });
    expect(enq.status).toBe(201);
    const [withCp, without] = [
      (enq.body.job as { id: string }).id,
      ((await call("POST", "/ojs/v1/jobs", { type: "cp.http", args: [], options: { queue: "cp-http" } })).body.job as { id: string }).id,
    ];
    const saved = await call("PUT", `/ojs/v1/jobs/${withCp}/checkpoint`, { state: { page: 7 } });
    expect(saved).toMatchObject({ status: 200, body: { job_id: withCp, sequence: 1 } });
    const fetched = await call("POST", "/ojs/v1/workers/fetch", { queues: ["cp-http"], count: 2, worker_id: "w" });
    const jobs = fetched.body.jobs as Array<{ id: string; checkpoint?: unknown }>;
    expect(jobs.map((j) => j.id).sort()).toEqual([withCp, without].sort());
    expect(jobs.find((j) => j.id === withCp)!.checkpoint).toMatchObject({ state: { page: 7 }, sequence: 1 });
    expect(jobs.find((j) => j.id === without)!).not.toHaveProperty("checkpoint");
    expect(await call("POST", `/ojs/v1/jobs/${withCp}/ack`, { result: { ok: 1 }, worker_id: "w" })).toMatchObject({ status: 200 });
    expect((await call("GET", `/ojs/v1/jobs/${withCp}`)).body.job).toMatchObject({ state: "completed", result: { ok: 1 } });
    expect((await call("PUT", `/ojs/v1/jobs/${withCp}/checkpoint`, { state: 1 })).status).toBe(409);
    expect((await call("GET", `/ojs/v1/jobs/${withCp}/checkpoint`)).body).toMatchObject({ state: { page: 7 }, sequence: 1 });
    expect((await call("POST", `/ojs/v1/jobs/${UNKNOWN}/ack`, {})).status).toBe(404);
  }, 60_000);
});
