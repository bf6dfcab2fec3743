/**
 * The PostgreSQL store's drain side (issue 11, PostgreSQL CPU per drained
 * job): what a claim reads on a table with statistics.
 */
import { describe, expect, it } from "vitest";
import type { NormalizedJobRequest } from "../../src/model/job.js";
import { claimJobs } from "../../src/server/store/postgres/lifecycle.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

async function open(): Promise<PgJobStore> {
  const url = await pg.cluster.createDatabase(`d${++dbSeq}`);
  return pg.closeAtEnd(await PgJobStore.open(url, { maintenanceIntervalMs: 60_000 }));
}

const job = (queue: string, i: number): { req: NormalizedJobRequest } => ({ req: { type: "t", args: [i], queue } });

describe("PostgreSQL store: the drain", () => {
  it("a claim on an analyzed table reads the claim index, not the whole table", async () => {
    const s = await open();
    await s.enqueueBatch(Array.from({ length: 3000 }, (_, i) => job("many", i)));
    await s.sql`ANALYZE ojs_jobs`;
    // pg_stat_xact_user_tables counts the scans of the transaction so far.
    const scans = await s.sql.begin(async (tx) => {
      const claimed = await claimJobs(tx, { queues: ["many"], slots: Array.from({ length: 10 }, () => ({ workerId: "w", visibilityTimeoutMs: 30_000 })) });
      expect(claimed).toHaveLength(10);
      const [r] = await tx<{ seq_scan: string; idx_scan: string }[]>`
        SELECT seq_scan::text, idx_scan::text FROM pg_stat_xact_user_tables WHERE relname = 'ojs_jobs'`;
      return r!;
    });
    expect(Number(scans.seq_scan)).toBe(0);
    expect(Number(scans.idx_scan)).toBeGreaterThan(0);
  });
});
