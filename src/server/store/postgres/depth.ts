/**
 * Depth bounds (the backpressure extension) across servers. A queue's bound
 * lives in its ojs_queues row (max_depth, warning_threshold). An enqueue into a
 * bounded queue locks that row (FOR UPDATE, in name order, so two batches
 * never wait on each other in a cycle) before it counts the waiting jobs, so
 * enqueues on different servers take turns and the bound holds; claims only
 * lower the depth and need no lock. An enqueue into unbounded queues keeps its
 * single statement: ojs_refuse_bounded() (migration 4) aborts that statement
 * when one of its queues has a bound, and the caller takes the locked path.
 */
import type { PendingQuery, Row, Sql, TransactionSql } from "postgres";
import { ValidationError } from "../../../model/errors.js";
import type { Backpressure } from "../queue.js";
import { QueueFullError } from "../records.js";
import type { JsonObject } from "../../../model/json.js";
import { jobTenant } from "../../tenancy/jobs.js";

/** SQLSTATE raised by ojs_refuse_bounded(): the batch names a bounded queue. */
export const BOUNDED_QUEUE_SQLSTATE = "OJ001";

export function isBoundedRefusal(e: unknown): boolean {
  return (e as { code?: string } | undefined)?.code === BOUNDED_QUEUE_SQLSTATE;
}

/**
 * The guard of a single-statement enqueue into `queues` (a SELECT for a CTE):
 * aborts the statement with BOUNDED_QUEUE_SQLSTATE when one of them has a
 * bound. The look-up is a plain EXISTS in the statement and the PL/pgSQL
 * function that raises runs only when it finds a bound: called on every
 * enqueue, the function's call and its own query cost about as much as the
 * look-up itself several times over.
 */
export function boundedGuard(sql: Sql, queues: readonly string[], tenants: readonly string[] = []): PendingQuery<Row[]> {
  if (tenants.length === 0) return sql(GUARD_STRINGS, queues);
  return sql(TENANT_GUARD_STRINGS, queues, tenants);
}

/** The distinct tenants (meta.tenant_id) of built jobs, for boundedGuard and the locked path's check. */
export function tenantsOf(built: ReadonlyArray<{ job: { meta: JsonObject } }>): Map<string, number> {
  const by = new Map<string, number>();
  for (const b of built) {
    const t = jobTenant(b.job.meta);
    if (t !== undefined) by.set(t, (by.get(t) ?? 0) + 1);
  }
  return by;
}

/**
 * The guard's text with `names` (a text[] expression, e.g. a `$1::text[]`
 * parameter) in it, for a statement written as one text (plain-insert.ts).
 */
export function boundedGuardText(names: string, tenants?: string): string {
  return tenants === undefined ? GUARD_BEFORE + names + GUARD_AFTER : GUARD_BEFORE_T + names + TENANT_GUARD_MIDDLE + tenants + TENANT_GUARD_AFTER;
}

const GUARD_BEFORE = `SELECT CASE WHEN EXISTS (SELECT 1 FROM ojs_queues WHERE name = ANY(q.names) AND max_depth IS NOT NULL)
    THEN ojs_refuse_bounded(q.names) END FROM (SELECT `;
const GUARD_AFTER = "::text[] AS names) q";
// Jobs of tenants: a tenant with a max_queue_depth takes the locked path too (tenants.ts checkTenantDepth). One row, as above.
const GUARD_BEFORE_T = `SELECT CASE WHEN EXISTS (SELECT 1 FROM ojs_queues WHERE name = ANY(q.names) AND max_depth IS NOT NULL)
    THEN ojs_refuse_bounded(q.names) END, CASE WHEN EXISTS (SELECT 1 FROM ojs_tenant_limits WHERE tenant = ANY(t.names))
    THEN ojs_refuse_tenant_limited(t.names) END FROM (SELECT `;
const TENANT_GUARD_MIDDLE = "::text[] AS names) q, (SELECT ";
const TENANT_GUARD_AFTER = "::text[] AS names) t";
// The same texts as templates' strings for boundedGuard; one constant array each (postgres.js keys a cache by it).
const templateOf = (parts: string[]) => Object.assign(parts, { raw: parts }) as readonly string[] as TemplateStringsArray;
const GUARD_STRINGS = templateOf([GUARD_BEFORE, GUARD_AFTER]);
const TENANT_GUARD_STRINGS = templateOf([GUARD_BEFORE_T, TENANT_GUARD_MIDDLE, TENANT_GUARD_AFTER]);

/** The states a depth bound counts (queue.ts depthOf). */
const WAITING = ["available", "scheduled", "retryable", "pending"];

/**
 * Inside the enqueue's transaction: locks the bounded queues among those the
 * jobs go to and refuses with QueueFullError when one would pass its bound.
 * `adding` counts the new jobs per queue.
 */
export async function checkDepth(tx: TransactionSql, adding: ReadonlyMap<string, number>): Promise<void> {
  if (adding.size === 0) return;
  const names = [...adding.keys()].sort();
  const bounded = await tx<{ name: string; max_depth: number }[]>`
    SELECT name, max_depth FROM ojs_queues WHERE name = ANY(${names}) AND max_depth IS NOT NULL ORDER BY name FOR UPDATE`;
  for (const q of bounded) {
    const depth = await queueDepth(tx, q.name);
    if (depth + (adding.get(q.name) ?? 0) > q.max_depth)
      throw new QueueFullError(`queue ${q.name} is full: depth ${depth} of ${q.max_depth}`, depth, q.max_depth);
  }
}

export async function queueDepth(sql: Sql | TransactionSql, name: string): Promise<number> {
  const [r] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ojs_jobs WHERE queue = ${name} AND state = ANY(${WAITING})`;
  return r?.n ?? 0;
}

/** Sets or clears (null) a queue's bound; the queue is created if unknown. Validates as the memory store does (admin.ts). */
export async function setBackpressure(sql: Sql, name: string, bp: Backpressure | null): Promise<void> {
  if (bp && (!Number.isInteger(bp.maxDepth) || bp.maxDepth < 1))
    throw new ValidationError("backpressure.max_depth: must be a positive integer", {
      issues: [{ path: "backpressure.max_depth", message: "must be a positive integer" }],
    });
  const max = bp?.maxDepth ?? null;
  const warn = bp?.warningThreshold ?? null;
  await sql`INSERT INTO ojs_queues (name, max_depth, warning_threshold) VALUES (${name}, ${max}, ${warn})
    ON CONFLICT (name) DO UPDATE SET max_depth = ${max}, warning_threshold = ${warn}`;
}

/** A queue's bound, or undefined when it has none. */
export async function backpressureOf(sql: Sql, name: string): Promise<Backpressure | undefined> {
  const [q] = await sql<
    { max_depth: number | null; warning_threshold: number | null }[]
  >`SELECT max_depth, warning_threshold FROM ojs_queues WHERE name = ${name}`;
  if (!q || q.max_depth === null) return undefined;
  const bp: Backpressure = { maxDepth: q.max_depth, strategy: "reject" };
  if (q.warning_threshold !== null) bp.warningThreshold = q.warning_threshold;
  return bp;
}
