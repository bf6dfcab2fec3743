/**
 * Per-tenant job counts (ojs-multi-tenancy.md §10.2), read from the retained
 * jobs when asked: an admin read costs one pass over the jobs the store keeps
 * (bounded by its retention limits) and the job lifecycle pays nothing.
 */
import type { JobState } from "../../model/job.js";
import type { JsonObject } from "../../model/json.js";
import { jobTenant } from "./jobs.js";

export interface CountedJob {
  job: { state: JobState; meta: JsonObject };
}

/** Most tenants a listing names (§15.4 recommends aggregating past 1 000). */
export const MAX_LISTED_TENANTS = 1000;

function zero(): Record<JobState, number> {
  return { scheduled: 0, available: 0, pending: 0, active: 0, completed: 0, retryable: 0, cancelled: 0, discarded: 0 };
}

/** Counts by state of one tenant's jobs, and their total. */
export function tenantStats(jobs: Iterable<CountedJob>, tenant: string): JsonObject {
  const counts = zero();
  let total = 0;
  for (const r of jobs) {
    if (jobTenant(r.job.meta) !== tenant) continue;
    counts[r.job.state]++;
    total++;
  }
  return { tenant_id: tenant, total_jobs: total, jobs: counts };
}

/** Every tenant with retained jobs (at most {@link MAX_LISTED_TENANTS}; the rest under "_other"), with totals. */
export function listTenants(jobs: Iterable<CountedJob>): JsonObject[] {
  const by = new Map<string, { total: number; counts: Record<JobState, number> }>();
  for (const r of jobs) {
    const t = jobTenant(r.job.meta);
    if (t === undefined) continue;
    const key = by.has(t) || by.size < MAX_LISTED_TENANTS ? t : "_other";
    let e = by.get(key);
    if (!e) by.set(key, (e = { total: 0, counts: zero() }));
    e.total++;
    e.counts[r.job.state]++;
  }
  return [...by].map(([tenant_id, e]) => ({ tenant_id, total_jobs: e.total, jobs: e.counts }));
}
