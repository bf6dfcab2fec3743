/**
 * Per-job rate limits on PostgreSQL (the rate-limiting extension,
 * `rate_limit: {key, concurrency, rate, throttle}` on enqueue), holding over
 * every server on the database (migration 10).
 *
 * - A job with a key carries it in ojs_jobs.rate_key; the key's row in
 *   ojs_rate_limits holds the policy of the latest job enqueued with it, the
 *   queues its jobs went to, the start times of its last `rate.limit` claims
 *   (a sliding window, as the memory store's RateWindow), the next start a
 *   throttle allows, and an operator's concurrency override.
 * - The common claim statement passes keyed jobs over (lifecycle.ts claimJobs
 *   takes jobs of one key, or of none). A queue with keyed jobs is claimed in a
 *   transaction (rate-limits.ts claim) that, for each key of its first waiting
 *   jobs, locks the key's row and takes at most what the key allows now:
 *   concurrency counted from the key's active jobs, the window, the throttle.
 *   The row is locked with SKIP LOCKED: a key another server is claiming at
 *   this moment is left to it (no claim waits, none deadlocks), and its jobs
 *   are offered at the next wake-up.
 * - Each server learns which queues have keyed jobs on its maintenance pass
 *   (or at once for its own enqueues); until then it claims none of them
 *   rather than too many.
 *
 * Only on_limit "wait" is offered, as in the memory store.
 */
import type { Sql, TransactionSql } from "postgres";
import { OjsError } from "../../../model/errors.js";
import type { RateLimitPolicy } from "../../../model/rate-limit.js";
import { claimJobs, type Claimed } from "./lifecycle.js";
import { tenantFilter, tenantOf } from "./tenants.js";

/** Waiting jobs of a queue looked at per claim to find their keys (the memory store scans 1 000 too). */
const SCAN = 1000;
/** Keys tried per claim of a queue. */
const MAX_KEYS = 64;

/** Refuses, before anything is stored, a policy this store cannot honour. */
export function checkRatePolicy(policy: RateLimitPolicy): void {
  if (policy.onLimit !== undefined && policy.onLimit !== "wait")
    throw new OjsError(`options.rate_limit.on_limit: "${policy.onLimit}" is not supported by this server; "wait" (the default) is`, {
      code: "unsupported",
      details: { field: "options.rate_limit.on_limit" },
    });
}

/** Which queues have jobs with a rate-limit key (their claims take the keyed path). */
export class KeyedQueues {
  private names: ReadonlySet<string> = new Set();

  anyOf(queues: readonly string[]): boolean {
    return this.names.size > 0 && queues.some((q) => this.names.has(q));
  }

  has(queue: string): boolean {
    return this.names.has(queue);
  }

  add(queues: Iterable<string>): void {
    const next = new Set(this.names);
    for (const q of queues) next.add(q);
    this.names = next;
  }

  async refresh(sql: Sql): Promise<void> {
    const rows = await sql<{ name: string }[]>`SELECT DISTINCT unnest(queues) AS name FROM ojs_rate_limits`;
    this.replace(rows.map((r) => r.name));
  }

  replace(queues: Iterable<string>): void {
    this.names = new Set(queues);
  }
}

/**
 * Inside the enqueue transaction: the policies of the keys (the latest job of
 * a key wins) are written, keys in sorted order so two enqueues never wait on
 * each other in a cycle, and the jobs are marked with their keys. The jobs are
 * not visible to claims before the commit, so none is claimed unkeyed.
 */
/** What keyJobs needs of a built job (enqueue.ts BuiltJob), named here so the two modules do not import each other. */
export interface KeyedJob {
  job: { id: string; queue: string };
  rateLimit?: RateLimitPolicy;
}

export async function keyJobs(tx: TransactionSql, built: readonly KeyedJob[]): Promise<void> {
  const byKey = new Map<string, { policy: RateLimitPolicy; queues: Set<string>; ids: string[] }>();
  for (const b of built) {
    if (!b.rateLimit) continue;
    const k = byKey.get(b.rateLimit.key) ?? { policy: b.rateLimit, queues: new Set<string>(), ids: [] };
    k.policy = b.rateLimit;
    k.queues.add(b.job.queue);
    k.ids.push(b.job.id);
    byKey.set(b.rateLimit.key, k);
  }
  for (const key of [...byKey.keys()].sort()) {
    const { policy: p, queues, ids } = byKey.get(key)!;
    await tx`
      INSERT INTO ojs_rate_limits (key, concurrency, rate_limit, rate_period_ms, throttle_limit, throttle_period_ms, queues)
      VALUES (${key}, ${p.concurrency ?? null}, ${p.rate?.limit ?? null}, ${p.rate?.period ?? null}, ${p.throttle?.limit ?? null},
        ${p.throttle?.period ?? null}, ${[...queues]}::text[])
      ON CONFLICT (key) DO UPDATE SET
        concurrency = EXCLUDED.concurrency, rate_limit = EXCLUDED.rate_limit, rate_period_ms = EXCLUDED.rate_period_ms,
        throttle_limit = EXCLUDED.throttle_limit, throttle_period_ms = EXCLUDED.throttle_period_ms,
        queues = ARRAY(SELECT DISTINCT unnest(ojs_rate_limits.queues || EXCLUDED.queues)),
        starts = CASE WHEN ojs_rate_limits.rate_limit IS NOT DISTINCT FROM EXCLUDED.rate_limit
          AND ojs_rate_limits.rate_period_ms IS NOT DISTINCT FROM EXCLUDED.rate_period_ms THEN ojs_rate_limits.starts ELSE '{}' END,
        updated_at = now()`;
    await tx`UPDATE ojs_jobs SET rate_key = ${key} WHERE id = ANY(${ids}::uuid[])`;
  }
}

/** A key's row as the claim and the inspection read it. */
export interface KeyRow {
  key: string;
  concurrency: number | null;
  rate_limit: number | null;
  rate_period_ms: number | null;
  throttle_limit: number | null;
  throttle_period_ms: number | null;
  starts: Date[];
  next_start_at: Date | null;
  override_concurrency: number | null;
  override_until: Date | null;
  /** The database's clock when the row was read. */
  now: Date;
  /** The key's active jobs. */
  active: number;
}

/** The concurrency in force: an unexpired override's, else the policy's. */
export function concurrencyOf(r: KeyRow): number | undefined {
  if (r.override_concurrency !== null && (r.override_until === null || r.override_until > r.now)) return r.override_concurrency;
  return r.concurrency ?? undefined;
}

/** Starts within the rate window, oldest first. */
export function recentStarts(r: KeyRow): Date[] {
  if (r.rate_limit === null || r.rate_period_ms === null) return [];
  const since = r.now.getTime() - r.rate_period_ms;
  return r.starts.filter((s) => s.getTime() > since);
}

/** Milliseconds until the window allows one more start (0: now). */
export function windowWaitMs(r: KeyRow): number {
  const recent = recentStarts(r);
  if (r.rate_limit === null || r.rate_period_ms === null || recent.length < r.rate_limit) return 0;
  return Math.max(0, recent[recent.length - r.rate_limit]!.getTime() + r.rate_period_ms - r.now.getTime());
}

/** How many jobs of the key may start now. */
function allowed(r: KeyRow, wanted: number): number {
  let n = wanted;
  const conc = concurrencyOf(r);
  if (conc !== undefined) n = Math.min(n, conc - r.active);
  if (r.rate_limit !== null) n = Math.min(n, windowWaitMs(r) > 0 ? 0 : r.rate_limit - recentStarts(r).length);
  if (r.throttle_limit !== null) n = Math.min(n, r.next_start_at && r.next_start_at > r.now ? 0 : 1);
  return Math.max(0, n);
}

/** The row of a key with its active count and the database's clock. */
export async function readKey(sql: Sql | TransactionSql, key: string): Promise<KeyRow | undefined> {
  const [r] = await sql<KeyRow[]>`
    SELECT r.key, r.concurrency, r.rate_limit, r.rate_period_ms, r.throttle_limit, r.throttle_period_ms, r.starts, r.next_start_at,
      r.override_concurrency, r.override_until, clock_timestamp() AS now,
      (SELECT count(*) FROM ojs_jobs j WHERE j.rate_key = r.key AND j.state = 'active')::int AS active
    FROM ojs_rate_limits r WHERE r.key = ${key}`;
  return r;
}

/**
 * Locks a key's row without waiting, then reads it in a statement of its own:
 * that statement's snapshot is taken after the lock, so it sees every claim of
 * the key committed before (the locking statement's own snapshot may be
 * older). Undefined when another server holds the row.
 */
async function lockKey(tx: TransactionSql, key: string): Promise<KeyRow | undefined> {
  const locked = await tx`SELECT 1 FROM ojs_rate_limits WHERE key = ${key} FOR UPDATE SKIP LOCKED`;
  return locked.length ? readKey(tx, key) : undefined;
}

/**
 * Claims for `slots` from one queue: jobs of keys first, each key at most what
 * it allows now under its row's lock, then jobs without a key for the slots
 * left. `rated`: the caller holds the queue's rate row (rate-limits.ts).
 * Slots in the answer index `slots`.
 */
export async function claimWithKeys(
  tx: TransactionSql,
  queue: string,
  slots: ReadonlyArray<{ workerId: string; visibilityTimeoutMs: number }>,
  rated: boolean,
  tenant?: string,
): Promise<Claimed[]> {
  const keys = await tx<{ rate_key: string }[]>`
    SELECT rate_key FROM (
      SELECT rate_key, row_number() OVER () AS ord FROM (
        SELECT rate_key FROM ojs_jobs
        WHERE queue = ${queue} AND rate_key IS NOT NULL AND state IN ('available', 'scheduled', 'retryable')
          AND run_at <= now() AND (expires_at IS NULL OR expires_at > now())
          ${tenant === undefined ? tx`` : tenantFilter(tx, tenant)}
        ORDER BY priority DESC, run_at, id LIMIT ${SCAN}) c) n
    GROUP BY rate_key ORDER BY min(ord) LIMIT ${MAX_KEYS}`;
  const out: Claimed[] = [];
  for (const { rate_key: key } of keys) {
    if (out.length >= slots.length) break;
    const row = await lockKey(tx, key);
    // Locked by a server claiming the key now: its jobs wait for the next wake-up.
    if (!row) continue;
    const n = allowed(row, slots.length - out.length);
    if (n <= 0) continue;
    const from = out.length;
    const got = await claimJobs(tx, { queues: [queue], slots: slots.slice(from, from + n), ...tenantOf(tenant) }, rated, key);
    for (const c of got) out.push({ slot: c.slot + from, job: c.job });
    const startedAt = got.map((c) => c.job.job.startedAt ?? row.now);
    if (got.length) await recordStarts(tx, row, startedAt);
  }
  if (out.length < slots.length) {
    const from = out.length;
    for (const c of await claimJobs(tx, { queues: [queue], slots: slots.slice(from), ...tenantOf(tenant) }, rated))
      out.push({ slot: c.slot + from, job: c.job });
  }
  return out;
}

/** The window and the throttle of a key after the claims that started at `at` (their started_at: the claim's clock). */
async function recordStarts(tx: TransactionSql, r: KeyRow, at: readonly Date[]): Promise<void> {
  if (r.rate_limit === null && r.throttle_limit === null) return;
  const starts = r.rate_limit !== null ? [...recentStarts(r), ...at].slice(-r.rate_limit) : [];
  const last = Math.max(...at.map((d) => d.getTime()));
  const next = r.throttle_limit !== null && r.throttle_period_ms !== null ? new Date(last + r.throttle_period_ms / r.throttle_limit) : null;
  await tx`UPDATE ojs_rate_limits SET starts = ${starts.map((d) => d.toISOString())}::text[]::timestamptz[], next_start_at = ${next} WHERE key = ${r.key}`;
}

/**
 * Retention (the maintenance pass): the rows of keys no job uses any more
 * (none unfinished, none a dead letter that may come back) whose windows and
 * override have passed.
 */
export async function pruneKeys(sql: Sql, limit = 1000): Promise<number> {
  const r = await sql`
    DELETE FROM ojs_rate_limits WHERE key IN (
      SELECT r.key FROM ojs_rate_limits r
      WHERE NOT EXISTS (SELECT 1 FROM ojs_jobs j WHERE j.rate_key = r.key AND (j.state NOT IN ('completed', 'cancelled', 'discarded') OR j.dead_letter))
        AND (r.override_until IS NOT NULL OR r.override_concurrency IS NULL) AND coalesce(r.override_until, '-infinity') < now()
        AND coalesce(r.starts[array_upper(r.starts, 1)], '-infinity') < now() - make_interval(secs => coalesce(r.rate_period_ms, 0) / 1000.0)
        AND coalesce(r.next_start_at, '-infinity') < now()
        AND r.updated_at < now() - interval '1 second'
      LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
  return r.count;
}
