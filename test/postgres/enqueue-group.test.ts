/**
 * Group commit of single enqueues (enqueue-group.ts): concurrent submits of
 * one server share a statement and its commit, each is answered with the job
 * the database holds only after that commit, and a job the statement cannot
 * take (an id already stored, a queue over its depth bound) fails alone,
 * while the others of its group are stored. A private cluster; skipped, with
 * the reason printed, where PostgreSQL is missing.
 */
import { describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { DuplicateJobError } from "../../src/model/errors.js";
import { QueueFullError } from "../../src/server/store/records.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { setBackpressure } from "../../src/server/store/postgres/depth.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

async function open(url: string): Promise<PgJobStore> {
  // No maintenance pass during the test: its writes would count as transactions.
  const s = await PgJobStore.open(url, { maintenanceIntervalMs: 3_600_000 });
  pg.closeAtEnd(s);
  return s;
}

/** The next transaction id: every transaction that writes takes one (so, one per commit of an enqueue statement). */
async function nextXid(sql: Sql): Promise<bigint> {
  const [r] = await sql<{ xid: string }[]>`SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xid`;
  return BigInt(r!.xid);
}

describe("PostgreSQL group commit of enqueues", () => {
  it("concurrent submits share one commit; each answer is the committed job", async () => {
    const url = await pg.cluster.createDatabase(`eg${++dbSeq}`);
    const [a, b] = [await open(url), await open(url)];
    await a.submit({ type: "warm", args: [], queue: "g" });
    const before = await nextXid(b.sql);
    const outs = await Promise.all(Array.from({ length: 32 }, (_, i) => a.submit({ type: "t", args: [i], queue: i % 2 ? "g" : "h" })));
    const used = (await nextXid(b.sql)) - before;
    // One statement per turn while fewer than two run: the 32 submits of one turn are one transaction (32 without the group).
    expect(used).toBeLessThanOrEqual(2n);
    // Answered only once committed: another server reads each, equal to the answer.
    for (const o of outs) {
      expect(o.deduplicated).toBe(false);
      expect(o.job).toEqual(await b.get(o.job.job.id));
    }
    const counts = await b.sql<{ queue: string; n: number }[]>`SELECT queue, count(*)::int AS n FROM ojs_jobs WHERE type = 't' GROUP BY queue ORDER BY queue`;
    expect(counts).toEqual([
      { queue: "g", n: 16 },
      { queue: "h", n: 16 },
    ]);
  });

  it("a job with an id already stored fails alone; the rest of its group is stored", async () => {
    const url = await pg.cluster.createDatabase(`eg${++dbSeq}`);
    const a = await open(url);
    const taken = "0190f0e0-0000-7000-8000-000000000001";
    await a.submit({ type: "first", args: [], queue: "d", id: taken });
    const settled = await Promise.allSettled([
      a.submit({ type: "ok", args: [1], queue: "d" }),
      a.submit({ type: "dup", args: [], queue: "d", id: taken }),
      a.submit({ type: "ok", args: [2], queue: "d" }),
    ]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateJobError);
    const rows = await a.sql<{ type: string }[]>`SELECT type FROM ojs_jobs ORDER BY type`;
    expect(rows.map((r) => r.type)).toEqual(["first", "ok", "ok"]);
  });

  it("a bounded queue in a group takes the locked path: its bound holds, the other jobs are stored", async () => {
    const url = await pg.cluster.createDatabase(`eg${++dbSeq}`);
    const a = await open(url);
    await setBackpressure(a.sql, "bounded", { maxDepth: 2, strategy: "reject" });
    const settled = await Promise.allSettled([
      ...Array.from({ length: 3 }, (_, i) => a.submit({ type: "b", args: [i], queue: "bounded" })),
      a.submit({ type: "free", args: [], queue: "free" }),
    ]);
    expect(settled.filter((s) => s.status === "fulfilled")).toHaveLength(3);
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected");
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toBeInstanceOf(QueueFullError);
    const counts = await a.sql<{ queue: string; n: number }[]>`SELECT queue, count(*)::int AS n FROM ojs_jobs GROUP BY queue ORDER BY queue`;
    expect(counts).toEqual([
      { queue: "bounded", n: 2 },
      { queue: "free", n: 1 },
    ]);
  });

  it("a database out of reach fails every caller of the group, and the store enqueues again once it is back", async () => {
    const url = await pg.cluster.createDatabase(`eg${++dbSeq}`);
    const a = await open(url);
    await a.submit({ type: "warm", args: [], queue: "q" });
    // Every connection of the pool ends; the next statements reconnect.
    await a.sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
    const settled = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => a.submit({ type: "t", args: [i], queue: "q" })));
    // postgres.js reconnects for a new statement: whatever each caller got, a job answered is stored and one refused is not.
    const [row] = await a.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ojs_jobs WHERE type = 't'`;
    expect(row!.n).toBe(settled.filter((s) => s.status === "fulfilled").length);
    const again = await a.submit({ type: "after", args: [], queue: "q" });
    expect(again.job.job.type).toBe("after");
  });
});
