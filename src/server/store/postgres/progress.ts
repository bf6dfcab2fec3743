/**
 * PRG over PostgreSQL: the progress of a running attempt lives in its jobs
 * row (column `progress`, migration 3), so every server answers the same
 * progress for a job; a claim clears it (lifecycle.ts claimJobs), as the
 * memory store does for a new attempt. Values are clamped, not refused, and
 * a report leaves unset fields as they were (working.ts, same rules).
 */
import type { Sql } from "postgres";
import { ConflictError, NotFoundError } from "../../../model/errors.js";
import type { JsonValue } from "../../../model/json.js";
import type { ProgressUpdate } from "../job-store.js";
import type { Progress } from "../records.js";
import { uuidOrNull } from "./lifecycle.js";
import type { StoredProgress } from "./rows.js";

export async function reportProgress(sql: Sql, id: string, update: ProgressUpdate): Promise<Progress> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ state: string; progress: StoredProgress | null }[]>`SELECT state, progress FROM ojs_jobs WHERE id = ${uuidOrNull(id)} FOR UPDATE`;
    if (!row) throw new NotFoundError(`job ${id} not found`, { jobId: id });
    if (row.state !== "active")
      throw new ConflictError(`job ${id} is ${row.state}; progress is reported for active jobs only`, { jobId: id, details: { state: row.state } });
    const prev = row.progress ?? undefined;
    const value = update.progress === undefined ? prev?.value : Math.min(1, Math.max(0, update.progress));
    const next: StoredProgress = { updatedAt: "" };
    if (value !== undefined) next.value = value;
    const message = update.message ?? prev?.message;
    if (message !== undefined) next.message = message;
    const data = update.data ?? prev?.data;
    if (data !== undefined) next.data = data;
    // The database's clock, as for leases: servers with skewed clocks agree.
    const [saved] = await tx<{ at: Date }[]>`
      UPDATE ojs_jobs SET progress = ${tx.json(next as unknown as JsonValue)}::jsonb || jsonb_build_object('updatedAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
      WHERE id = ${uuidOrNull(id)} RETURNING now() AS at`;
    return { value: next.value, message: next.message, data: next.data, updatedAt: saved!.at };
  });
}
