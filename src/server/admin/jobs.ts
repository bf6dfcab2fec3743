/**
 * Job search and the admin API's actions on many jobs at once: filtered,
 * paginated listing; bulk retry, cancel and delete; queue and dead-letter
 * purges. Every destructive call needs `confirm: true` (ojs-admin-api §4) and
 * acts on a bounded number of jobs per call, so one request never holds the
 * server for long; the answer says how many are left.
 */
import type { AdminPage, BulkAction, BulkResult, JobFilter, JobListOptions, PurgeResult } from "../../model/admin.js";
import { OjsError, ValidationError } from "../../model/errors.js";
import { TERMINAL_STATES, type JobState } from "../../model/job.js";
import type { JobStore } from "../store/job-store.js";
import type { JobRecord } from "../store/records.js";
import { pageOf } from "./views.js";

export const DEFAULT_BULK_LIMIT = 1000;
export const MAX_BULK_LIMIT = 10_000;
/** A bulk answer lists at most this many per-job errors. */
const MAX_LISTED_ERRORS = 100;

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`${path}: ${message}`, { issues: [{ path, message }] });
}

/** The interlock of every destructive operation: refused (400) unless the caller said confirm: true. */
export function requireConfirm(confirm: unknown, what: string): void {
  if (confirm !== true) throw invalid("confirm", `must be true to ${what} (a safety interlock against accidental bulk changes)`);
}

/** A predicate for a filter; "email.*" matches every type starting with "email.". */
export function jobMatcher(f: JobFilter): (r: JobRecord) => boolean {
  const prefix = f.type?.endsWith("*") ? f.type.slice(0, -1) : undefined;
  const since = f.since?.getTime();
  const until = f.until?.getTime();
  return (r) => {
    const j = r.job;
    if (f.queue !== undefined && j.queue !== f.queue) return false;
    if (f.state !== undefined && j.state !== f.state) return false;
    if (f.deadLetter !== undefined && r.deadLetter !== f.deadLetter) return false;
    if (f.type !== undefined && (prefix !== undefined ? !j.type.startsWith(prefix) : j.type !== f.type)) return false;
    if (since !== undefined || until !== undefined) {
      const t = j.createdAt?.getTime() ?? j.enqueuedAt?.getTime();
      if (t === undefined) return false;
      if (since !== undefined && t < since) return false;
      if (until !== undefined && t >= until) return false;
    }
    return true;
  };
}

function sortKey(r: JobRecord, field: NonNullable<JobListOptions["sort"]>): number {
  if (field === "priority") return r.job.priority;
  const d = field === "scheduled_at" ? (r.job.scheduledAt ?? r.job.createdAt) : r.job.createdAt;
  return d?.getTime() ?? 0;
}

export async function listJobs(store: JobStore, opts: JobListOptions): Promise<AdminPage<JobRecord>> {
  const { page, perPage } = pageOf(opts);
  const match = jobMatcher(opts);
  const all: JobRecord[] = [];
  for (const r of await store.jobRecords()) if (match(r)) all.push(r);
  const field = opts.sort ?? "created_at";
  const dir = (opts.order ?? "desc") === "asc" ? 1 : -1;
  const from = (page - 1) * perPage;
  if (field === "created_at") {
    // The store keeps jobs in insertion order, which is creation order: no sort needed.
    const items = dir === 1 ? all.slice(from, from + perPage) : all.slice(Math.max(0, all.length - from - perPage), Math.max(0, all.length - from)).reverse();
    return { items, total: all.length, page, perPage };
  }
  // Insertion order breaks ties (ids are time-ordered), so pages are stable between calls.
  const indexed = all.map((r, i) => ({ r, i, k: sortKey(r, field) }));
  indexed.sort((a, b) => (a.k - b.k || a.i - b.i) * dir);
  const items = indexed.slice(from, from + perPage).map((x) => x.r);
  return { items, total: all.length, page, perPage };
}

function bulkLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_BULK_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BULK_LIMIT) throw invalid("limit", `must be an integer from 1 to ${MAX_BULK_LIMIT}`);
  return limit;
}

const ACTIONS: Record<BulkAction, (store: JobStore, id: string) => Promise<unknown>> = {
  retry: (store, id) => store.retryDiscarded(id),
  cancel: (store, id) => store.cancel(id),
  delete: (store, id) => store.deleteFinished(id),
};

/**
 * Applies one action to the jobs the filter matches (up to `limit` of them).
 * A job the action does not apply to (retrying an active job, deleting a
 * waiting one) counts as failed with the reason, and the others go on.
 */
export async function bulk(store: JobStore, action: BulkAction, filter: JobFilter, opts: { confirm: unknown; limit?: number }): Promise<BulkResult> {
  requireConfirm(opts.confirm, `${action} jobs in bulk`);
  const limit = bulkLimit(opts.limit);
  const match = jobMatcher(filter);
  const targets: string[] = [];
  let matched = 0;
  for (const r of await store.jobRecords()) {
    if (!match(r)) continue;
    matched++;
    if (targets.length < limit) targets.push(r.id);
  }
  const result: BulkResult = { action, matched, succeeded: 0, failed: 0, remaining: matched - targets.length, errors: [] };
  // Issued together (the store applies them in order) and awaited together: one durable write, not one per job.
  const outcomes = await Promise.allSettled(targets.map((id) => ACTIONS[action](store, id)));
  outcomes.forEach((o, i) => {
    if (o.status === "fulfilled") return void result.succeeded++;
    result.failed++;
    const e: unknown = o.reason;
    if (result.errors.length < MAX_LISTED_ERRORS) result.errors.push({ jobId: targets[i]!, error: e instanceof OjsError ? e.message : String(e) });
  });
  return result;
}

/** The most jobs one clean (a purge with a limit) removes. */
export const MAX_PURGE_LIMIT = 100_000;

/** When a job stopped counting for `olderThan`: its finish for finished jobs, its creation otherwise. */
function ageOf(r: JobRecord): number {
  const j = r.job;
  const d = TERMINAL_STATES.has(j.state) ? (j.completedAt ?? j.cancelledAt ?? j.createdAt) : (j.createdAt ?? j.enqueuedAt);
  return d?.getTime() ?? 0;
}

/**
 * DELETE /admin/queues/{name}/jobs: removes the queue's jobs in the given
 * states. Waiting jobs are cancelled first (their workflows move on), active
 * ones are never purged: a worker holds them.
 */
export async function purgeQueue(
  store: JobStore,
  queue: string,
  opts: { states: JobState[]; olderThan?: Date; limit?: number; confirm: unknown },
): Promise<PurgeResult> {
  requireConfirm(opts.confirm, "purge a queue");
  if (opts.states.length === 0) throw invalid("states", "must name at least one state");
  if (opts.states.includes("active")) throw invalid("states", "active jobs cannot be purged (a worker holds them); cancel them instead");
  const states = new Set(opts.states);
  const before = opts.olderThan?.getTime();
  const ids: string[] = [];
  for (const r of await store.jobRecords()) {
    if (r.job.queue !== queue || !states.has(r.job.state)) continue;
    if (before !== undefined && ageOf(r) >= before) continue;
    ids.push(r.id);
  }
  // A clean (`limit`): the oldest first, at most `limit` of them.
  if (opts.limit !== undefined && ids.length > opts.limit) {
    const at = new Map((await Promise.all(ids.map((id) => store.get(id)))).map((r) => [r.id, ageOf(r)]));
    ids.sort((a, b) => at.get(a)! - at.get(b)!);
    ids.length = opts.limit;
  }
  // The jobs go together (one durable write for all cancels, one for all deletes); a job's delete waits for its
  // cancel, since a store writing over several connections (PostgreSQL) need not apply them in the order issued.
  // The first failure fails the purge.
  await Promise.all(
    ids.map(async (id) => {
      const r = await store.get(id);
      if (!TERMINAL_STATES.has(r.job.state)) await store.cancel(id);
      await store.deleteFinished(id);
    }),
  );
  return { purgedCount: ids.length, states: [...states] };
}

/** DELETE /admin/dead-letter: removes dead-lettered jobs, of one queue and older than a time when asked. */
export async function purgeDeadLetter(store: JobStore, opts: { queue?: string; olderThan?: Date; confirm: unknown }): Promise<PurgeResult> {
  requireConfirm(opts.confirm, "purge the dead-letter queue");
  const before = opts.olderThan?.getTime();
  const ids: string[] = [];
  for (const r of await store.jobRecords()) {
    if (!r.deadLetter || (opts.queue !== undefined && r.job.queue !== opts.queue)) continue;
    if (before !== undefined && ageOf(r) >= before) continue;
    ids.push(r.id);
  }
  await Promise.all(ids.map((id) => store.deleteDeadLetter(id)));
  return { purgedCount: ids.length, states: ["discarded"] };
}
