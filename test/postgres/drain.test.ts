/**
 * The PostgreSQL store's drain side (issue 11, PostgreSQL CPU per drained
 * job): what a claim reads on a table with statistics.
 */
import type { Sql, TransactionSql } from "postgres";
import { describe, expect, it } from "vitest";
import type { NormalizedJobRequest } from "../../src/model/job.js";
import { trimEvents } from "../../src/server/store/postgres/events.js";
import { claimJobs, perQueueLimit } from "../../src/server/store/postgres/lifecycle.js";
import { probeMaintenance } from "../../src/server/store/postgres/maintenance-probe.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

async function open(): Promise<PgJobStore> {
  const url = await pg.cluster.createDatabase(`d${++dbSeq}`);
  return pg.closeAtEnd(await PgJobStore.open(url, { maintenanceIntervalMs: 60_000 }));
}

/**
 * Scans of ojs_jobs this backend has counted and not yet reported: read twice
 * in one transaction, the difference is what ran between (the backend reports
 * its counts only when idle, outside a transaction).
 */
async function tableScans(sql: Sql | TransactionSql, table = "ojs_jobs"): Promise<{ seq: number; idx: number }> {
  const [r] = await sql<{ seq: string; idx: string }[]>`
    SELECT seq_scan::text AS seq, coalesce(idx_scan, 0)::text AS idx FROM pg_stat_xact_user_tables WHERE relname = ${table}`;
  return { seq: Number(r!.seq), idx: Number(r!.idx) };
}

const job = (queue: string, i: number): { req: NormalizedJobRequest } => ({ req: { type: "t", args: [i], queue } });

describe("PostgreSQL store: the drain", () => {
  it("a claim on an analyzed table reads the claim index, not the whole table", async () => {
    const s = await open();
    await s.enqueueBatch(Array.from({ length: 3000 }, (_, i) => job("many", i)));
    await s.sql`ANALYZE ojs_jobs`;
    const scans = await s.sql.begin(async (tx) => {
      const before = await tableScans(tx);
      const claimed = await claimJobs(tx, { queues: ["many"], slots: Array.from({ length: 10 }, () => ({ workerId: "w", visibilityTimeoutMs: 30_000 })) });
      expect(claimed).toHaveLength(10);
      const after = await tableScans(tx);
      return { seq: after.seq - before.seq, idx: after.idx - before.idx };
    });
    expect(scans.seq).toBe(0);
    expect(scans.idx).toBeGreaterThan(0);
  });

  it("a claim keeps one plan per connection on an analyzed table instead of planning every call", async () => {
    const s = await open();
    await s.enqueueBatch(Array.from({ length: 3000 }, (_, i) => job("planned", i)));
    await s.sql`ANALYZE ojs_jobs`;
    const conn = await s.sql.reserve();
    try {
      // PostgreSQL plans a prepared statement for its values 5 times, then keeps one plan made without them if that one costs no more.
      for (let i = 0; i < 12; i++) {
        const claimed = await claimJobs(conn, {
          queues: ["planned"],
          slots: Array.from({ length: 50 }, () => ({ workerId: "w", visibilityTimeoutMs: 30_000 })),
        });
        expect(claimed).toHaveLength(50);
      }
      const plans = await conn<{ generic: string; custom: string }[]>`
        SELECT generic_plans::text AS generic, custom_plans::text AS custom FROM pg_prepared_statements
        WHERE statement LIKE '%WITH locked AS%' AND statement NOT LIKE '%pg_prepared_statements%'`;
      expect(plans).toHaveLength(1);
      expect(Number(plans[0]!.custom)).toBeLessThanOrEqual(5);
      expect(Number(plans[0]!.generic)).toBeGreaterThanOrEqual(7);
    } finally {
      conn.release();
    }
  });

  it("a claim takes exactly as many jobs as it has slots, whatever its per-queue limit is rounded up to", async () => {
    const s = await open();
    await s.enqueueBatch(Array.from({ length: 200 }, (_, i) => job("exact", i)));
    for (const n of [1, 3, 50, 64, 65]) {
      const claimed = await claimJobs(s.sql, {
        queues: ["exact"],
        slots: Array.from({ length: n }, (_, k) => ({ workerId: `w${k}`, visibilityTimeoutMs: 30_000 })),
      });
      expect(claimed.map((c) => c.slot)).toEqual(Array.from({ length: n }, (_, k) => k));
      expect(claimed.map((c) => c.job.workerId)).toEqual(Array.from({ length: n }, (_, k) => `w${k}`));
    }
    expect(perQueueLimit(1)).toBe(1);
    expect(perQueueLimit(50)).toBe(64);
    expect(perQueueLimit(64)).toBe(64);
    expect(perQueueLimit(65)).toBe(128);
    expect(perQueueLimit(256)).toBe(256);
  });

  it("the maintenance probe of a table that grew since the connection's first probe reads indexes, not the table", async () => {
    const s = await open();
    const conn = await s.sql.reserve();
    try {
      // First probe on the empty table (a new database): a plan kept from here would scan the table.
      expect(await probeMaintenance(conn)).toMatchObject({ reap: false, strayWorkflowSteps: false });
      for (let i = 0; i < 3; i++) await s.enqueueBatch(Array.from({ length: 1000 }, (_, k) => job("grown", i * 1000 + k)));
      await conn`BEGIN`;
      const before = await tableScans(conn);
      expect(await probeMaintenance(conn)).toMatchObject({ reap: false, cron: false, strayWorkflowSteps: false });
      const after = await tableScans(conn);
      await conn`COMMIT`;
      expect(after.seq - before.seq).toBe(0);
    } finally {
      conn.release();
    }
  });

  it("trimming the events reads the primary key, not the whole table, and takes the oldest first, a batch at a time", async () => {
    const s = await open();
    for (let i = 0; i < 3; i++) await s.enqueueBatch(Array.from({ length: 1000 }, (_, k) => job("trim", i * 1000 + k)));
    await s.sql`ANALYZE ojs_events`;
    const [before] = await s.sql<{ min: string; n: number }[]>`SELECT min(seq)::text AS min, count(*)::int AS n FROM ojs_events`;
    const { deleted, scans } = await s.sql.begin(async (tx) => {
      const a = await tableScans(tx, "ojs_events");
      // Nothing due: nothing deleted, and nothing read but index entries.
      expect(await trimEvents(tx, { maxEvents: 100_000 })).toBe(0);
      const deleted = await trimEvents(tx, { maxEvents: 1000 }, 500);
      const b = await tableScans(tx, "ojs_events");
      return { deleted, scans: b.seq - a.seq };
    });
    expect(scans).toBe(0);
    expect(deleted).toBe(500);
    const [after] = await s.sql<{ min: string; n: number }[]>`SELECT min(seq)::text AS min, count(*)::int AS n FROM ojs_events`;
    expect(after!.n).toBe(before!.n - 500);
    expect(BigInt(after!.min)).toBe(BigInt(before!.min) + 500n);
    expect(await trimEvents(s.sql, { maxEvents: 1000 })).toBe(before!.n - 1500);
  });
});
