/**
 * What the tenant admin routes (http/tenant-routes.ts) ask of a store: a
 * tenant's counts, the list of tenants, its limits and its depth. The memory
 * and journal stores answer from the retained jobs and the in-process
 * TenantLimits (./limits.ts); the PostgreSQL store from its tables
 * (store/postgres/tenants.ts), so every server on the database sees the same
 * counts and limits. Answers are JSON as the routes send them.
 */
import type { JsonObject } from "../../model/json.js";
import type { TenantLimitConfig, TenantLimits } from "./limits.js";
import { listTenants, tenantStats, type CountedJob } from "./stats.js";

export interface TenantAdmin {
  /** `{ tenant_id, total_jobs, jobs: {state: count} }` of one tenant. */
  stats(tenant: string): Promise<JsonObject>;
  /** Every tenant with jobs (at most MAX_LISTED_TENANTS, the rest under "_other"), with its counts. */
  list(): Promise<JsonObject[]>;
  /** The tenant's limits, or undefined when it has none. */
  limits(tenant: string): Promise<TenantLimitConfig | undefined>;
  /** Sets (`max_queue_depth`) or removes (null) a tenant's limits from a PUT body; answers them, durable. */
  configure(tenant: string, body: JsonObject): Promise<TenantLimitConfig>;
  /** The tenant's unfinished jobs (what max_queue_depth counts). */
  depth(tenant: string): Promise<number>;
}

/** The in-process limits and the retained jobs as a TenantAdmin (memory and journal stores). */
export function memoryTenantAdmin(limits: TenantLimits, jobs: () => Iterable<CountedJob>): TenantAdmin {
  return {
    stats: async (tenant) => tenantStats(jobs(), tenant),
    list: async () => listTenants(jobs()),
    limits: async (tenant) => limits.get(tenant),
    // The journal store writes the limit's record; the router answers the PUT once it is durable.
    configure: async (tenant, body) => limits.configure(tenant, body),
    depth: async (tenant) => limits.depth(tenant),
  };
}
