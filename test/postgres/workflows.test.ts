/**
 * Workflows on the PostgreSQL store (src/server/store/postgres/workflows.ts)
 * against a private cluster: several PgJobStore instances on one database
 * stand for several servers, and the steps of one workflow are claimed and
 * finished on different ones. Skipped, with the reason printed, where the
 * PostgreSQL binaries are missing.
 */
import { describe, expect, it } from "vitest";
import { flattenWorkflow } from "../../src/codec/workflow.js";
import { ConflictError, NotFoundError, ValidationError } from "../../src/model/errors.js";
import type { WorkflowDefinition } from "../../src/model/workflow.js";
import { ackJob } from "../../src/server/store/postgres/lifecycle.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import type { PgJob } from "../../src/server/store/postgres/rows.js";
import { eventually } from "../helpers.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

/** Two servers on a fresh database. The maintenance pass is slow here unless a test wants it: settling must not depend on it. */
async function twoServers(maintenanceIntervalMs = 60_000): Promise<[PgJobStore, PgJobStore]> {
  const url = await pg.cluster.createDatabase(`wf${++dbSeq}`);
  const open = async () => {
    const s = await PgJobStore.open(url, { maintenanceIntervalMs });
    pg.closeAtEnd(s);
    return s;
  };
  return [await open(), await open()];
}

const step = (type: string, queue: string, args: unknown[] = []) => ({ type, args: args as never[], options: { queue } });

function create(s: PgJobStore, def: WorkflowDefinition) {
  const flat = flattenWorkflow(def);
  return s.workflows.create(flat.name, flat.kind, flat.steps);
}

async function take(s: PgJobStore, queue: string, workerId = "w"): Promise<PgJob> {
  const [j] = await s.fetch({ queues: [queue], workerId });
  if (!j) throw new Error(`nothing ready in ${queue}`);
  return j;
}

describe("workflows on PostgreSQL", () => {
  it("a chain's steps run on different servers, each released when its parent completes, with parent_results", async () => {
    const [a, b] = await twoServers();
    const { workflow: wf, kind } = await create(a, { kind: "chain", name: "etl", steps: [step("s.a", "q"), step("s.b", "q"), step("s.c", "q")] });
    expect(kind).toBe("chain");
    expect(wf.steps.map((s) => s.state)).toEqual(["pending", "waiting", "waiting"]);
    const first = await take(b, "q");
    expect(first.job).toMatchObject({ type: "s.a", workflowId: wf.id });
    expect(await a.fetch({ queues: ["q"], workerId: "w" })).toEqual([]);
    await b.ack(first.job.id, { rows: 7 });
    // Released by server b's ack, claimed on server a.
    const second = await take(a, "q");
    expect(second.job).toMatchObject({ type: "s.b", parentResults: { "0": { rows: 7 } } });
    await a.ack(second.job.id, "two");
    const third = await take(b, "q");
    expect(third.job.parentResults).toEqual({ "1": "two" });
    await b.ack(third.job.id, null);
    for (const s of [a, b]) {
      const v = await s.workflows.get(wf.id);
      expect(v.workflow.state).toBe("completed");
      expect(v.workflow.steps.map((x) => [x.state, x.jobState])).toEqual([
        ["completed", "completed"],
        ["completed", "completed"],
        ["completed", "completed"],
      ]);
      expect(v.workflow.completedAt).toBeInstanceOf(Date);
    }
  });

  it("a group finished concurrently on two servers loses no outcome: the batch callback sees every result", async () => {
    const [a, b] = await twoServers();
    const n = 48;
    const parts = Array.from({ length: n }, (_, i) => step("part", "g", [i]));
    const { workflow: wf } = await create(a, { kind: "batch", name: "fan", steps: parts, callbacks: { onComplete: step("done", "cb") } });
    const claimed = [...(await a.fetch({ queues: ["g"], workerId: "wa", count: n / 2 })), ...(await b.fetch({ queues: ["g"], workerId: "wb", count: n / 2 }))];
    expect(claimed).toHaveLength(n);
    // Acks spread over a few milliseconds, half through each server, so that one server's settling
    // overlaps the other's commits: the workflow row lock makes them take turns.
    await Promise.all(
      claimed.map(async (j, i) => {
        await new Promise((r) => setTimeout(r, i % 8));
        await (i < n / 2 ? a : b).ack(j.job.id, { i: j.job.args[0]! }, i < n / 2 ? "wa" : "wb");
      }),
    );
    const cb = await take(b, "cb");
    expect(cb.job.type).toBe("done");
    expect(Object.keys(cb.job.parentResults ?? {})).toHaveLength(n);
    expect(cb.job.parentResults).toMatchObject({ "0": { i: 0 }, [String(n - 1)]: { i: n - 1 } });
    await a.ack(cb.job.id, null);
    expect((await b.workflows.get(wf.id)).workflow.state).toBe("completed");
  });

  it("a chain stops at a failed step; a batch runs on_failure, not on_success, and passes the error", async () => {
    const [a, b] = await twoServers();
    const job = (type: string, q: string) => ({ type, args: [], options: { queue: q, retry: { maxAttempts: 1 } } });
    const { workflow: c } = await create(a, { kind: "chain", name: "c", steps: [job("x", "f1"), job("y", "f1")] });
    const x = await take(a, "f1");
    await b.nack(x.job.id, { code: "boom", message: "no" });
    const cv = await a.workflows.get(c.id);
    expect(cv.workflow.state).toBe("failed");
    expect(cv.workflow.steps.map((s) => s.state)).toEqual(["failed", "cancelled"]);
    expect(await a.fetch({ queues: ["f1"], workerId: "w" })).toEqual([]);

    const { workflow: bw } = await create(b, {
      kind: "batch",
      name: "b",
      steps: [job("p", "f2")],
      callbacks: { onSuccess: job("ok", "f3"), onFailure: job("ko", "f3") },
    });
    await a.nack((await take(b, "f2")).job.id, { code: "bad", message: "input" });
    const ko = await take(a, "f3");
    expect(ko.job.type).toBe("ko");
    expect(ko.job.parentResults).toEqual({ "0": { error: { code: "bad", message: "input" } } });
    expect(await a.fetch({ queues: ["f3"], workerId: "w" })).toEqual([]);
    await b.ack(ko.job.id, null);
    expect((await a.workflows.get(bw.id)).workflow.state).toBe("failed");
  });

  it("cancel cancels waiting and queued steps, lets a running one finish without starting what follows", async () => {
    const [a, b] = await twoServers();
    const { workflow: wf } = await create(a, {
      kind: "batch",
      name: "b",
      steps: [step("r", "c1"), step("q", "c2")],
      callbacks: { onComplete: step("cb", "c3") },
    });
    const running = await take(b, "c1");
    const cancelled = await b.workflows.cancel(wf.id);
    expect(cancelled.workflow.state).toBe("cancelled");
    expect(cancelled.workflow.steps.map((s) => s.state)).toEqual(["active", "cancelled", "cancelled"]);
    expect(await a.fetch({ queues: ["c2"], workerId: "w" })).toEqual([]);
    await expect(a.workflows.cancel(wf.id)).rejects.toBeInstanceOf(ConflictError);
    await a.ack(running.job.id, 1);
    expect((await a.workflows.get(wf.id)).workflow.steps.map((s) => s.state)).toEqual(["completed", "cancelled", "cancelled"]);
    expect(await a.fetch({ queues: ["c3"], workerId: "w" })).toEqual([]);
  });

  it("unknown ids are not found; a bad graph or a refused root stores nothing", async () => {
    const [a] = await twoServers();
    await expect(a.workflows.get("019a0000-0000-7000-8000-0000000000aa")).rejects.toBeInstanceOf(NotFoundError);
    await expect(a.workflows.get("not-an-id")).rejects.toBeInstanceOf(NotFoundError);
    await expect(a.workflows.create("bad", "dag", [{ id: "a", type: "t", args: [], dependsOn: ["zz"], request: {} }])).rejects.toBeInstanceOf(ValidationError);
    // The root's job id is taken: the database refuses the insert, the whole creation rolls back.
    await a.submit({ type: "t", args: [], queue: "r", id: "019a0000-0000-7000-8000-0000000000bb" });
    await expect(
      a.workflows.create("dup", "dag", [{ id: "a", type: "t", args: [], dependsOn: [], request: { id: "019a0000-0000-7000-8000-0000000000bb", queue: "r" } }]),
    ).rejects.toThrow(/already exists/);
    expect((await a.workflows.list({ offset: 0, limit: 10 })).total).toBe(0);
    expect((await a.sql`SELECT count(*)::int AS n FROM ojs_jobs`)[0]!.n).toBe(1);
  });

  it("a later step the database refuses fails that step (as in the memory store), and the workflow moves on", async () => {
    const [a] = await twoServers();
    await a.submit({ type: "t", args: [], queue: "u", id: "019a0000-0000-7000-8000-0000000000cc" });
    const { workflow: wf } = await a.workflows.create("d", "dag", [
      { id: "a", type: "t", args: [], dependsOn: [], request: { queue: "u2" } },
      { id: "b", type: "t", args: [], dependsOn: ["a"], request: { queue: "u2", id: "019a0000-0000-7000-8000-0000000000cc" } },
    ]);
    await a.ack((await take(a, "u2")).job.id, 1);
    const v = await a.workflows.get(wf.id);
    expect(v.workflow.state).toBe("failed");
    expect(v.workflow.steps.map((s) => s.state)).toEqual(["completed", "failed"]);
  });

  it("a step finished without its workflow moving on (a crash between the two commits) is settled by the maintenance pass", async () => {
    const [a, b] = await twoServers(100);
    const { workflow: wf } = await create(a, { kind: "chain", name: "c", steps: [step("s1", "m"), step("s2", "m")] });
    const first = await take(a, "m");
    const settledBefore = a.stats.workflowsSettled + b.stats.workflowsSettled;
    // The ack's own commit only, as a server killed right after it would leave it.
    await ackJob(a.sql, first.job.id, { ok: true });
    const second = await eventually(() => b.fetch({ queues: ["m"], workerId: "w" }).then((j) => j[0]));
    expect(second.job.parentResults).toEqual({ "0": { ok: true } });
    expect(a.stats.workflowsSettled + b.stats.workflowsSettled).toBeGreaterThan(settledBefore);
    expect((await a.workflows.get(wf.id)).workflow.steps.map((s) => s.state)).toEqual(["completed", "active"]);
  });

  it("lists newest first, by state, in pages", async () => {
    const [a] = await twoServers();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create(a, { kind: "group", name: `g${i}`, steps: [step("t", `l${i}`)] })).workflow.id);
    await a.workflows.cancel(ids[1]!);
    const all = await a.workflows.list({ offset: 0, limit: 2 });
    expect(all.total).toBe(3);
    expect(all.items.map((v) => v.workflow.id)).toEqual([ids[2], ids[1]]);
    const running = await a.workflows.list({ state: "running", offset: 0, limit: 10 });
    expect(running.items.map((v) => v.workflow.id).sort()).toEqual([ids[0], ids[2]].sort());
    expect(running.items[0]!.kind).toBe("group");
  });
});
