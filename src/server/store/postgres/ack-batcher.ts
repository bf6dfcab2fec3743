/**
 * Acks that arrive in the same tick go to the database as one statement (one
 * commit, so one WAL flush, for all of them): with many jobs in flight, the
 * commit is what an ack costs. Each caller still gets its own answer; an ack
 * the statement did not apply (the job is not active, or leased to another
 * worker) is answered by ackJob's own checks, one by one.
 */
import type { Sql } from "postgres";
import type { JsonValue } from "../../../model/json.js";
import { ackJob, uuidOrNull } from "./lifecycle.js";
import { fromRow, type JobRow, type PgJob } from "./rows.js";

interface Pending {
  id: string;
  result: JsonValue | undefined;
  workerId: string | undefined;
  resolve: (j: PgJob) => void;
  reject: (e: unknown) => void;
}

/** At most this many acks per statement; more wait for the next one. */
const MAX_GROUP = 500;

export class AckBatcher {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(private readonly sql: Sql) {}

  ack(id: string, result: JsonValue | undefined, workerId?: string): Promise<PgJob> {
    return new Promise((resolve, reject) => {
      this.pending.push({ id, result, workerId, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const group = this.pending.splice(0, MAX_GROUP);
    if (this.pending.length > 0) setImmediate(() => void this.flush());
    else this.scheduled = false;
    if (group.length === 0) return;
    if (group.length === 1) {
      const p = group[0]!;
      return ackJob(this.sql, p.id, p.result, p.workerId).then(p.resolve, p.reject);
    }
    let rows: JobRow[];
    try {
      rows = await this.sql<JobRow[]>`
        UPDATE ojs_jobs j SET state = 'completed', finished_at = now(), lease_deadline = NULL, worker_id = NULL,
          job = CASE WHEN a.result IS NULL THEN j.job ELSE j.job || jsonb_build_object('result', a.result::jsonb) END
        FROM unnest(${group.map((p) => uuidOrNull(p.id))}::uuid[], ${group.map((p) => (p.result === undefined ? null : JSON.stringify(p.result)))}::text[], ${group.map((p) => p.workerId ?? null)}::text[])
          AS a(id, result, worker)
        WHERE j.id = a.id AND j.state = 'active' AND (a.worker IS NULL OR j.worker_id = a.worker)
        RETURNING j.*`;
    } catch (e) {
      for (const p of group) p.reject(e);
      return;
    }
    const done = new Map(rows.map((r) => [r.id, r]));
    for (const p of group) {
      const r = done.get(p.id.toLowerCase());
      if (r) {
        done.delete(p.id.toLowerCase());
        p.resolve(fromRow(r));
      } else {
        // Not applied: the single-ack path says why (not found, not active, another worker's).
        ackJob(this.sql, p.id, p.result, p.workerId).then(p.resolve, p.reject);
      }
    }
  }
}
