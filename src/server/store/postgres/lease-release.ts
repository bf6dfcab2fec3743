/**
 * Pushed jobs whose lease ran out before their worker started them (WP §5.5,
 * as the memory store's reclaim): only the server that pushed a job knows
 * whether its worker began it (a start call or a heartbeat, held in the
 * process), so that server gives such jobs back without using an attempt,
 * before its reaper would charge one (pg-store.ts runs this first). A job the
 * worker did start, or one pushed by another server, is left to the reaper.
 *
 * The free return is recorded as job.reclaimed with charged false (migration
 * 15 reads ojs.free_reclaim, set for this transaction only).
 */
import type { Sql } from "postgres";

export interface Unstarted {
  id: string;
  workerId: string;
}

/** Puts the jobs back on their queues with their attempt given back; returns the queues that got jobs, to wake. */
export async function releaseUnstarted(sql: Sql, jobs: readonly Unstarted[]): Promise<string[]> {
  if (jobs.length === 0) return [];
  const ids = jobs.map((j) => j.id);
  const workers = jobs.map((j) => j.workerId);
  const rows = await sql.begin(async (tx) => {
    await tx`SELECT set_config('ojs.free_reclaim', 'on', true)`;
    // Guarded by its worker and its lease: a job settled, taken back or extended (a heartbeat through another
    // server) meanwhile is left alone. The 100 ms allow for the process clock against the database's.
    return tx<{ queue: string }[]>`
      UPDATE ojs_jobs j SET state = 'available', attempt = greatest(j.attempt - 1, 0), run_at = now(), lease_deadline = NULL, worker_id = NULL, started_at = NULL
      FROM unnest(${ids}::uuid[], ${workers}::text[]) AS r(id, worker)
      WHERE j.id = r.id AND j.state = 'active' AND j.worker_id = r.worker AND j.lease_deadline < now() + interval '100 milliseconds'
      RETURNING j.queue`;
  });
  const queues = [...new Set(rows.map((r) => r.queue))];
  if (queues.length) await sql`SELECT pg_notify('ojs_jobs', ${queues.join(",")})`;
  return queues;
}
