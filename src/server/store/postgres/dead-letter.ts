/** Dead letters and finished jobs on PostgreSQL: listing, retry, deletion. */
import type { Sql } from "postgres";
import { ConflictError, NotFoundError } from "../../../model/errors.js";
import { uuidOrNull } from "./lifecycle.js";
import { fromRow, type JobRow, type PgJob } from "./rows.js";

export async function listDeadLetter(sql: Sql, opts: { queue?: string; offset?: number; limit?: number }): Promise<{ jobs: PgJob[]; total: number }> {
  const q = opts.queue ?? null;
  const limit = Math.max(0, Math.min(opts.limit ?? 100, 1000));
  const offset = Math.max(0, opts.offset ?? 0);
  const rows = await sql<JobRow[]>`
    SELECT * FROM ojs_jobs WHERE dead_letter AND (${q}::text IS NULL OR queue = ${q}) ORDER BY finished_at, id LIMIT ${limit} OFFSET ${offset}`;
  const [{ n }] = await sql<[{ n: number }]>`SELECT count(*)::int AS n FROM ojs_jobs WHERE dead_letter AND (${q}::text IS NULL OR queue = ${q})`;
  return { jobs: rows.map(fromRow), total: n };
}

export async function deadLetterCount(sql: Sql, queue?: string): Promise<number> {
  const q = queue ?? null;
  const [{ n }] = await sql<[{ n: number }]>`SELECT count(*)::int AS n FROM ojs_jobs WHERE dead_letter AND (${q}::text IS NULL OR queue = ${q})`;
  return n;
}

/** A discarded job back to available with a fresh attempt count; `onlyDead` limits it to dead letters. */
export async function retryDiscarded(sql: Sql, id: string, onlyDead: boolean): Promise<PgJob> {
  const [row] = await sql<JobRow[]>`
    UPDATE ojs_jobs SET state = 'available', attempt = 0, dead_letter = false, run_at = now(), finished_at = NULL, started_at = NULL, job = job - 'expired'
    WHERE id = ${uuidOrNull(id)}::uuid AND state = 'discarded' AND (${!onlyDead} OR dead_letter) RETURNING *`;
  if (row) {
    await sql`SELECT pg_notify('ojs_jobs', ${row.queue})`;
    return fromRow(row);
  }
  const [cur] = await sql<JobRow[]>`SELECT * FROM ojs_jobs WHERE id = ${uuidOrNull(id)}::uuid`;
  if (!cur || onlyDead) throw new NotFoundError(onlyDead ? `job ${id} is not in the dead letter` : `job ${id} not found`, { jobId: id });
  // The memory store's words, so that an operator (and a bulk answer) reads the same reason on every store.
  throw new ConflictError(`job ${id} is ${cur.state}; only a discarded job can be retried`, { jobId: id, details: { state: cur.state } });
}

export async function deleteJob(sql: Sql, id: string, onlyDead: boolean): Promise<void> {
  const r =
    await sql`DELETE FROM ojs_jobs WHERE id = ${uuidOrNull(id)}::uuid AND state IN ('completed', 'cancelled', 'discarded') AND (${!onlyDead} OR dead_letter)`;
  if (r.count > 0) return;
  const [cur] = await sql<JobRow[]>`SELECT state FROM ojs_jobs WHERE id = ${uuidOrNull(id)}::uuid`;
  if (!cur || onlyDead) throw new NotFoundError(onlyDead ? `job ${id} is not in the dead letter` : `job ${id} not found`, { jobId: id });
  throw new ConflictError(`job ${id} is ${cur.state}; only a finished job can be deleted`, { jobId: id, details: { state: cur.state } });
}
