/**
 * The durable-execution extension's checkpoints over PostgreSQL: a row per
 * job in ojs_checkpoints (migration 14), so every server reads and saves the
 * same checkpoint. Same rules as the in-process store (../checkpoints.ts):
 * unknown job 404, no save once the job is finished (409), the sequence counts
 * the saves since the row was created (a delete starts it again at 1), and the
 * row goes with its job (ON DELETE CASCADE: retention, deleteFinished).
 */
import type { Sql } from "postgres";
import { ConflictError } from "../../../model/errors.js";
import type { JsonValue } from "../../../model/json.js";
import type { CheckpointRecord } from "../checkpoints.js";
import type { JobCheckpoints } from "../job-store.js";
import { mapRejections } from "./errors.js";
import { getJob, uuidOrNull } from "./lifecycle.js";

interface CheckpointRow {
  job_id: string;
  state: JsonValue;
  sequence: number;
  created_at: Date;
}

const NONE: ReadonlyMap<string, CheckpointRecord> = new Map();

export class PgCheckpoints implements JobCheckpoints {
  constructor(private readonly sql: Sql) {}

  async save(jobId: string, state: JsonValue): Promise<CheckpointRecord> {
    // One statement, so that servers saving at once each count (the upsert's row lock orders them)
    // and a save cannot land on a job finishing beside it: FOR SHARE waits for a concurrent update
    // of the job's row and checks its state again on the version that update committed.
    // The state goes as JSON text cast in two steps (a parameter typed jsonb is encoded by
    // postgres.js once more, a string then): a bare string, number or null is a checkpoint too.
    const [row] = await this.sql<Pick<CheckpointRow, "sequence" | "created_at">[]>`
      INSERT INTO ojs_checkpoints AS c (job_id, state, sequence, created_at)
      SELECT id, (${JSON.stringify(state)}::text)::jsonb, 1, now() FROM ojs_jobs
      WHERE id = ${uuidOrNull(jobId)} AND state NOT IN ('completed', 'cancelled', 'discarded')
      FOR SHARE
      ON CONFLICT (job_id) DO UPDATE SET state = EXCLUDED.state, sequence = c.sequence + 1, created_at = EXCLUDED.created_at
      RETURNING c.sequence, c.created_at`;
    if (row) return { jobId, state, sequence: row.sequence, createdAt: row.created_at };
    const job = await getJob(this.sql, jobId); // NotFoundError for an unknown job
    const s = job.job.state;
    throw new ConflictError(`cannot checkpoint job ${jobId}: it is ${s}; checkpoints are saved while a job is unfinished`, { jobId, details: { state: s } });
  }

  async get(jobId: string): Promise<CheckpointRecord | undefined> {
    // The job and its checkpoint in one read: no row is an unknown job, a null sequence no checkpoint.
    const [row] = await this.sql<{ state: JsonValue; sequence: number | null; created_at: Date | null }[]>`
      SELECT c.state, c.sequence, c.created_at FROM ojs_jobs j LEFT JOIN ojs_checkpoints c ON c.job_id = j.id
      WHERE j.id = ${uuidOrNull(jobId)}`;
    if (!row) await getJob(this.sql, jobId); // rejects with the store's NotFoundError
    if (!row || row.sequence === null || row.created_at === null) return undefined;
    return { jobId, state: row.state, sequence: row.sequence, createdAt: row.created_at };
  }

  async delete(jobId: string): Promise<boolean> {
    const [row] = await this.sql<{ job: boolean; deleted: number }[]>`
      WITH d AS (DELETE FROM ojs_checkpoints WHERE job_id = ${uuidOrNull(jobId)} RETURNING 1)
      SELECT EXISTS (SELECT 1 FROM ojs_jobs WHERE id = ${uuidOrNull(jobId)}) AS job, (SELECT count(*) FROM d)::int AS deleted`;
    if (!row!.job) await getJob(this.sql, jobId);
    return row!.deleted > 0;
  }

  async of(jobIds: readonly string[]): Promise<ReadonlyMap<string, CheckpointRecord>> {
    if (jobIds.length === 0) return NONE;
    const rows = await this.sql<CheckpointRow[]>`
      SELECT job_id::text AS job_id, state, sequence, created_at FROM ojs_checkpoints WHERE job_id = ANY(${jobIds.map(uuidOrNull)}::uuid[])`;
    if (rows.length === 0) return NONE;
    return new Map(rows.map((r) => [r.job_id, { jobId: r.job_id, state: r.state, sequence: r.sequence, createdAt: r.created_at }]));
  }
}

mapRejections(PgCheckpoints.prototype, ["save", "get", "delete", "of"]);
