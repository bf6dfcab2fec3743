/**
 * Multi-tenancy on PostgreSQL (docs/multi-tenancy.md). A job's tenant is its
 * meta.tenant_id (a string), read from the job document, not a column of
 * ojs_jobs (a new column breaks an older server's prepared SELECT *: see
 * migration 13); migration 15 indexes it for the claims that name a tenant
 * and for the counts.
 *
 * - Isolation: a claim that names a tenant (fetch, a stream consumer, a
 *   hand-off) takes only that tenant's jobs (tenantFilter, lifecycle.ts).
 * - max_queue_depth: the limits are rows of ojs_tenant_limits, so every server
 *   sees them. An enqueue of a tenant with a limit takes the locked path (the
 *   single-statement enqueues abort on it: depth.ts boundedGuard), which locks
 *   the tenant's row (FOR UPDATE, in tenant order) before it counts the
 *   tenant's unfinished jobs: enqueues on every server take turns, so the
 *   limit holds exactly.
 * - Counts: the admin routes' stats are counted from the table when asked.
 */
import type { PendingQuery, Row, Sql, TransactionSql } from "postgres";
import type { JobState } from "../../../model/job.js";
import type { JsonObject } from "../../../model/json.js";
import type { TenantAdmin } from "../../tenancy/admin.js";
import { depthExceeded, MAX_CONFIGURED_TENANTS, parseTenantLimits, tooManyConfigured, type TenantLimitConfig } from "../../tenancy/limits.js";
import { MAX_LISTED_TENANTS } from "../../tenancy/stats.js";
import { mapRejections } from "./errors.js";

/**
 * The condition "the job is `tenant`'s", in the form the tenant indexes of
 * migration 15 are built on: jsonb equality with the string (a numeric
 * tenant_id 123 is no tenant "123", as jobTenant() says), which implies the
 * indexes' IS NOT NULL predicate.
 */
export function tenantFilter(sql: Sql | TransactionSql, tenant: string): PendingQuery<Row[]> {
  return sql`AND job->'meta'->'tenant_id' = to_jsonb(${tenant}::text)`;
}

/** `{ tenant }` when there is one, for spreading into a ClaimRequest under exactOptionalPropertyTypes. */
export function tenantOf(tenant: string | undefined): { tenant?: string } {
  return tenant === undefined ? {} : { tenant };
}

/** The states max_queue_depth counts: unfinished jobs (tenancy/limits.ts). */
const UNFINISHED = ["available", "scheduled", "pending", "retryable", "active"];

/**
 * Inside the enqueue's transaction: locks the limit rows of the tenants the
 * new jobs belong to and refuses (429) when one would pass its
 * max_queue_depth. `adding` counts the new jobs per tenant. The count stops
 * at the limit plus one: what it needs to decide, whatever the tenant's depth.
 */
export async function checkTenantDepth(tx: TransactionSql, adding: ReadonlyMap<string, number>): Promise<void> {
  if (adding.size === 0) return;
  const names = [...adding.keys()].sort();
  const limited = await tx<{ tenant: string; max_queue_depth: number }[]>`
    SELECT tenant, max_queue_depth FROM ojs_tenant_limits WHERE tenant = ANY(${names}) ORDER BY tenant FOR UPDATE`;
  for (const l of limited) {
    const current = await tenantDepth(tx, l.tenant, l.max_queue_depth + 1);
    if (current + (adding.get(l.tenant) ?? 0) > l.max_queue_depth) throw depthExceeded(l.tenant, l.max_queue_depth, current);
  }
}

/** A tenant's unfinished jobs, counted up to `atMost` when given. */
async function tenantDepth(sql: Sql | TransactionSql, tenant: string, atMost?: number): Promise<number> {
  const [r] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM (
      SELECT 1 FROM ojs_jobs WHERE state = ANY(${UNFINISHED}) ${tenantFilter(sql, tenant)}
      ${atMost === undefined ? sql`` : sql`LIMIT ${atMost}`}) c`;
  return r?.n ?? 0;
}

function zero(): Record<JobState, number> {
  return { scheduled: 0, available: 0, pending: 0, active: 0, completed: 0, retryable: 0, cancelled: 0, discarded: 0 };
}

/** The tenant admin of the PostgreSQL store: counts and limits from the database; rejections are OjsErrors (errors.ts). */
export function pgTenantAdmin(sql: Sql): TenantAdmin {
  const admin = tenantAdmin(sql);
  mapRejections(admin, ["stats", "list", "limits", "configure", "depth"]);
  return admin;
}

function tenantAdmin(sql: Sql): TenantAdmin {
  return {
    async stats(tenant) {
      const rows = await sql<{ state: JobState; n: number }[]>`
        SELECT state, count(*)::int AS n FROM ojs_jobs WHERE true ${tenantFilter(sql, tenant)} GROUP BY state`;
      const jobs = zero();
      let total = 0;
      for (const r of rows) {
        jobs[r.state] = r.n;
        total += r.n;
      }
      return { tenant_id: tenant, total_jobs: total, jobs };
    },
    async list() {
      // The first MAX_LISTED_TENANTS tenants by id are named, the rest counted under "_other".
      const rows = await sql<{ tenant: string; state: JobState; n: number }[]>`
        WITH t AS (
          SELECT job->'meta'->>'tenant_id' AS tenant, state, count(*)::int AS n FROM ojs_jobs
          WHERE (job->'meta'->'tenant_id') IS NOT NULL AND jsonb_typeof(job->'meta'->'tenant_id') = 'string' GROUP BY 1, 2),
        r AS (SELECT tenant, row_number() OVER (ORDER BY tenant) AS k FROM (SELECT DISTINCT tenant FROM t) d)
        SELECT CASE WHEN r.k <= ${MAX_LISTED_TENANTS} THEN t.tenant ELSE '_other' END AS tenant, t.state, sum(t.n)::int AS n
        FROM t JOIN r USING (tenant) GROUP BY 1, 2 ORDER BY 1`;
      const by = new Map<string, { total: number; jobs: Record<JobState, number> }>();
      for (const r of rows) {
        let e = by.get(r.tenant);
        if (!e) by.set(r.tenant, (e = { total: 0, jobs: zero() }));
        e.jobs[r.state] = r.n;
        e.total += r.n;
      }
      return [...by].map(([tenant_id, e]): JsonObject => ({ tenant_id, total_jobs: e.total, jobs: e.jobs }));
    },
    async limits(tenant) {
      const [r] = await sql<{ max_queue_depth: number }[]>`SELECT max_queue_depth FROM ojs_tenant_limits WHERE tenant = ${tenant}`;
      return r ? { maxQueueDepth: r.max_queue_depth } : undefined;
    },
    async configure(tenant, body): Promise<TenantLimitConfig> {
      const cfg = parseTenantLimits(body);
      if (cfg === null) {
        await sql`DELETE FROM ojs_tenant_limits WHERE tenant = ${tenant}`;
        return {};
      }
      const max = cfg.maxQueueDepth!;
      // One statement: the bound on configured tenants holds against concurrent PUTs only roughly (a few over at worst).
      const [r] = await sql<{ ok: boolean }[]>`
        WITH room AS (
          SELECT EXISTS (SELECT 1 FROM ojs_tenant_limits WHERE tenant = ${tenant})
            OR (SELECT count(*) FROM ojs_tenant_limits) < ${MAX_CONFIGURED_TENANTS} AS ok),
        up AS (
          INSERT INTO ojs_tenant_limits (tenant, max_queue_depth) SELECT ${tenant}, ${max} FROM room WHERE ok
          ON CONFLICT (tenant) DO UPDATE SET max_queue_depth = EXCLUDED.max_queue_depth, updated_at = now() RETURNING 1)
        SELECT ok FROM room`;
      if (!r?.ok) throw tooManyConfigured();
      return cfg;
    },
    depth: (tenant) => tenantDepth(sql, tenant),
  };
}
