/**
 * Enqueue on PostgreSQL: a job (or a batch, all or nothing) is one
 * transaction. Unique policies hold across servers: the key is locked with a
 * transaction-scoped advisory lock before the existing holder is looked up, so
 * two servers enqueueing the same key take turns; whether the holder blocks is
 * decided by the same pure functions as the memory store (unique.ts).
 */
import type { Sql, TransactionSql } from "postgres";
import { DuplicateJobError } from "../../../model/errors.js";
import type { NormalizedJobRequest } from "../../../model/job.js";
import type { JsonObject } from "../../../model/json.js";
import { uuidv7 } from "../../../model/uuid.js";
import { mergeRetry } from "../backoff.js";
import { blocks, uniqueKey } from "../unique.js";
import { newJob } from "../policies.js";
import { shownRetry } from "../records.js";
import { fromRow, type JobRow, type PgJob } from "./rows.js";
import { checkDepth, isBoundedRefusal, tenantsOf } from "./depth.js";
import { checkTenantDepth } from "./tenants.js";
import { insertedEventsCte } from "./inserted-events.js";
import { insertPlain } from "./plain-insert.js";
import { insertRows, rowOf, type BuiltJob, type EnqueueOutcome } from "./insert-rows.js";
import { checkRatePolicy, keyJobs } from "./job-rate-limits.js";

export interface EnqueueInput {
  req: NormalizedJobRequest;
  extra?: JsonObject;
}

export { insertedRow, insertRows, rowOf, type BuiltJob, type EnqueueOutcome, type InsertRow } from "./insert-rows.js";

export function buildJob(req: NormalizedJobRequest, extra: JsonObject | undefined, now: number): BuiltJob {
  if (req.rateLimit) checkRatePolicy(req.rateLimit);
  const retry = mergeRetry(req.retry);
  const job = newJob(req, req.id ?? uuidv7(now), { maxAttempts: retry.maxAttempts, shown: shownRetry(retry) }, now);
  const built: BuiltJob = {
    job,
    retry,
    uniqueKey: req.unique ? uniqueKey(job, req.unique) : undefined,
    extra: extra && Object.keys(extra).length ? extra : undefined,
  };
  if (req.rateLimit) built.rateLimit = req.rateLimit;
  return built;
}

/** The unique keys of a batch; two jobs of it with the same key is a DuplicateJobError. */
function batchKeys(built: readonly BuiltJob[]): Set<string> {
  const keys = new Set<string>();
  for (const b of built) {
    if (!b.uniqueKey) continue;
    if (keys.has(b.uniqueKey)) throw new DuplicateJobError("two jobs of the batch have the same unique key", { details: { uniqueness_key: b.uniqueKey } });
    keys.add(b.uniqueKey);
  }
  return keys;
}

/** Enqueues jobs in one transaction, all or nothing, in order. */
export function enqueueJobs(sql: Sql, inputs: readonly EnqueueInput[], now = Date.now()): Promise<EnqueueOutcome[]> {
  return enqueueBuilt(
    sql,
    inputs.map(({ req, extra }) => buildJob(req, extra, now)),
  );
}

/** Enqueues built jobs in one transaction, all or nothing, in order. */
export async function enqueueBuilt(sql: Sql, built: readonly BuiltJob[]): Promise<EnqueueOutcome[]> {
  const keys = batchKeys(built);
  // No unique keys and no rate-limit key: one statement, one round trip (plain-insert.ts). A bounded
  // queue aborts it (depth.ts) and the locked path below runs instead, as it does for jobs with a
  // unique key or a rate-limit key (their key is written in the transaction).
  if (keys.size === 0 && !built.some((b) => b.rateLimit)) {
    try {
      return await insertRows<EnqueueOutcome>(insertPlain(sql, built));
    } catch (e) {
      if (!isBoundedRefusal(e)) throw e;
    }
  }
  return enqueueLocked(sql, built);
}

/** The transaction of unique keys, rate-limit keys and depth bounds (insertBuilt), for jobs the plain statement cannot take. */
export function enqueueLocked(sql: Sql, built: readonly BuiltJob[]): Promise<EnqueueOutcome[]> {
  return sql.begin((tx) => insertBuilt(tx, built));
}

/**
 * Stores built jobs inside the caller's transaction (a batch, or the steps a
 * workflow starts): unique keys locked and resolved, depth bounds checked,
 * rows inserted, the queues registered and woken. All or nothing with the
 * transaction.
 */
export async function insertBuilt(tx: TransactionSql, built: readonly BuiltJob[]): Promise<EnqueueOutcome[]> {
  const keys = batchKeys(built);
  const queues = [...new Set(built.map((b) => b.job.queue))];
  // Unique keys are locked in sorted order, so two batches never wait on each other in a cycle.
  for (const k of [...keys].sort()) await tx`SELECT pg_advisory_xact_lock(hashtextextended(${k}, 0))`;
  const out: EnqueueOutcome[] = [];
  const toInsert: BuiltJob[] = [];
  for (const b of built) {
    const existing = b.uniqueKey ? await resolveUnique(tx, b) : undefined;
    if (existing) {
      out.push({ job: existing, deduplicated: true });
      continue;
    }
    toInsert.push(b);
    out.push({ job: undefined as unknown as PgJob, deduplicated: false });
  }
  if (toInsert.length) {
    const adding = new Map<string, number>();
    for (const b of toInsert) adding.set(b.job.queue, (adding.get(b.job.queue) ?? 0) + 1);
    await checkDepth(tx, adding);
    await checkTenantDepth(tx, tenantsOf(toInsert));
    const rows = toInsert.map(rowOf);
    const inserted = await insertRows(tx`WITH ins AS (INSERT INTO ojs_jobs ${tx(rows)} RETURNING *), ${insertedEventsCte(tx)} SELECT * FROM ins`);
    const byId = new Map(inserted.map((r) => [r.id, fromRow(r)]));
    let i = 0;
    for (const o of out) if (!o.deduplicated) o.job = byId.get(toInsert[i++]!.job.id)!;
    if (toInsert.some((b) => b.rateLimit)) await keyJobs(tx, toInsert);
    await tx`INSERT INTO ojs_queues ${tx(queues.map((name) => ({ name })))} ON CONFLICT (name) DO NOTHING`;
    await tx`SELECT pg_notify('ojs_jobs', ${queues.join(",")})`;
  }
  return out;
}

/**
 * UQ §5 across servers. Returns the existing job for "ignore"; throws for
 * "reject"; for "replace" cancels the holder (running or not, as the memory store does) and lets
 * the new job in.
 */
async function resolveUnique(tx: TransactionSql, b: BuiltJob): Promise<PgJob | undefined> {
  const policy = b.job.unique!;
  const rows = await tx<JobRow[]>`SELECT * FROM ojs_jobs WHERE unique_key = ${b.uniqueKey!} ORDER BY created_at DESC LIMIT 16`;
  const now = Date.now();
  const holder = rows.find((r) => blocks({ state: r.state, createdAt: r.created_at.getTime() }, policy, now));
  if (!holder) return undefined;
  switch (policy.onConflict ?? "reject") {
    case "ignore":
      return fromRow(holder);
    case "replace":
    case "replace_except_schedule":
      if (policy.onConflict === "replace_except_schedule" && holder.job.scheduledAt) {
        b.job.scheduledAt = holder.run_at;
        b.job.state = holder.run_at.getTime() > now ? "scheduled" : "available";
      }
      await tx`UPDATE ojs_jobs SET state = 'cancelled', finished_at = now(), unique_key = NULL WHERE id = ${holder.id}`;
      return undefined;
    case "reject":
      break;
  }
  throw new DuplicateJobError(`a job with the same unique key already exists (${holder.id}, ${holder.state})`, {
    jobId: holder.id,
    details: { existing_job_id: holder.id, existing_job_state: holder.state, uniqueness_key: b.uniqueKey! },
  });
}
