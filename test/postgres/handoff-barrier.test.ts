/**
 * A hand-off commits without waiting for its WAL flush, pushes its job, and
 * answers its enqueue only once a synchronous commit of the main pool (the
 * WAL barrier, wal-barrier.ts) has covered it. A database that does not let
 * the store's role write the barrier gets hand-offs that commit synchronously
 * before the push, as before.
 */
import { describe, expect, it } from "vitest";
import postgres, { type Sql } from "postgres";
import type { NormalizedJobRequest } from "../../src/model/job.js";
import type { PgJob } from "../../src/server/store/postgres/rows.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { eventually } from "../helpers.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const pg = usePrivatePostgres();
let dbSeq = 0;

const job = (queue: string): NormalizedJobRequest => ({ type: "t", args: [], queue });

/** A database owned by a role that is not a superuser (privileges apply to it), with synchronous commits, and a superuser connection to it. */
async function plainDb(): Promise<{ url: string; admin: Sql }> {
  const name = `hb${++dbSeq}`;
  const root = postgres(pg.cluster.url, { max: 1, onnotice: () => undefined });
  try {
    await root.unsafe(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ojs_plain') THEN CREATE ROLE ojs_plain LOGIN; END IF; END $$`);
    await root.unsafe(`CREATE DATABASE ${name} OWNER ojs_plain`);
    // The test cluster commits asynchronously; this database does as a durable one would (fsync aside).
    await root.unsafe(`ALTER DATABASE ${name} SET synchronous_commit = on`);
  } finally {
    await root.end({ timeout: 5 });
  }
  const u = new URL(pg.cluster.url);
  u.pathname = `/${name}`;
  const admin = postgres(u.toString(), { max: 1, onnotice: () => undefined });
  pg.closeAtEnd({ close: () => admin.end({ timeout: 5 }) });
  u.username = "ojs_plain";
  return { url: u.toString(), admin };
}

/** A store whose maintenance pass stays out of the way, with a consumer that records its pushes (and tells `onPush`) and is idle (its first claim answered). */
async function storeWithWaitingConsumer(url: string) {
  const s = pg.closeAtEnd(await PgJobStore.open(url, { maintenanceIntervalMs: 60_000, onError: () => undefined }));
  const t = { s, got: [] as PgJob[], onPush: (_j: PgJob): void => {} };
  s.openConsumer({ queues: ["hb"], workerId: "w", credit: 5, deliver: (j) => (t.got.push(j), t.onPush(j)) });
  await eventually(() => s.consumerClaims >= 1, 5000, 10);
  await new Promise((r) => setTimeout(r, 50));
  return t;
}

describe("PostgreSQL store: a hand-off is pushed before its flush, answered after it", () => {
  it("the enqueue is answered once the WAL is flushed past the job's commit", async () => {
    const { url, admin } = await plainDb();
    const t = await storeWithWaitingConsumer(url);
    let atPush: Promise<string> | undefined;
    // Where the WAL ends when the job is pushed: its commit is before that.
    t.onPush = () => (atPush ??= admin<{ lsn: string }[]>`SELECT pg_current_wal_insert_lsn()::text AS lsn`.then((r) => r[0]!.lsn));
    for (let i = 0; i < 5; i++) {
      atPush = undefined;
      const { job: answered } = await t.s.submit(job("hb"));
      const [r] = await admin<{ flushed: boolean }[]>`SELECT pg_current_wal_flush_lsn() >= ${await atPush!}::pg_lsn AS flushed`;
      expect(r!.flushed).toBe(true);
      expect(t.got.at(-1)!.job.id).toBe(answered.job.id);
    }
    expect(t.s.stats.handedOff).toBe(5);
  });

  it("an enqueue whose barrier fails is not answered as done, though its job was pushed", async () => {
    const { url, admin } = await plainDb();
    const t = await storeWithWaitingConsumer(url);
    // Taken away after the store checked it: the barrier statement now fails.
    await admin`REVOKE EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean, text, text) FROM PUBLIC`;
    await expect(t.s.submit(job("hb"))).rejects.toThrow(/permission denied/);
    expect(t.s.stats.handedOff).toBe(1);
    await eventually(() => t.got.length === 1, 5000, 10);
  });

  it("without the privilege for the barrier, a hand-off commits synchronously and is answered as before", async () => {
    const { url, admin } = await plainDb();
    await admin`REVOKE EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean, text, text) FROM PUBLIC`;
    const t = await storeWithWaitingConsumer(url);
    const { job: answered } = await t.s.submit(job("hb"));
    expect(answered.job.state).toBe("available");
    expect(t.s.stats.handedOff).toBe(1);
    await eventually(() => t.got.length === 1, 5000, 10);
    expect(t.got[0]!.job.id).toBe(answered.job.id);
  });
});
