/**
 * Queue rate limits on PostgreSQL (`rate_limit.max_per_second`), holding over
 * every server on the database: at most N claims from the queue in any
 * sliding window of one second, as the memory store counts them (RateWindow).
 *
 * ojs_queues.rate_per_sec is the limit; ojs_queue_rates holds the start times
 * of the queue's last N claims. A claim from a limited queue runs in a
 * transaction that locks that row first, so servers claiming from the same
 * limited queue take turns and each sees the others' starts. The common
 * claim statement passes limited queues over (lifecycle.ts), so a server that
 * has not yet heard of a new limit claims nothing from the queue rather than
 * too much; each server learns which queues are limited on its maintenance
 * pass (LimitedQueues.refresh) or when it sets a limit itself.
 */
import type { Sql, TransactionSql } from "postgres";
import { ValidationError } from "../../../model/errors.js";
import { claimJobs, type Claimed, type ClaimRequest } from "./lifecycle.js";
import { claimWithKeys, KeyedQueues } from "./job-rate-limits.js";
import { tenantOf } from "./tenants.js";

/** The window of `max_per_second`. */
const WINDOW_MS = 1000;
/** As the memory store (store/admin.ts configureQueue). */
const MAX_RATE = 100_000;

/** This server's view of which queues have a rate limit, and which have jobs with a rate-limit key: it only picks the claim path. */
export class LimitedQueues {
  private names: ReadonlySet<string> = new Set();
  /** Queues with jobs of a rate-limit key (job-rate-limits.ts). */
  readonly keyed = new KeyedQueues();

  anyOf(queues: readonly string[]): boolean {
    return this.names.size > 0 && queues.some((q) => this.names.has(q));
  }

  has(queue: string): boolean {
    return this.names.has(queue);
  }

  async refresh(sql: Sql): Promise<void> {
    const rows = await sql<{ name: string }[]>`SELECT name FROM ojs_queues WHERE rate_per_sec IS NOT NULL`;
    this.names = new Set(rows.map((r) => r.name));
    await this.keyed.refresh(sql);
  }

  /** What the maintenance pass read (maintenance-probe.ts), as refresh() would have. */
  apply(limited: readonly string[], keyed: readonly string[]): void {
    this.names = new Set(limited);
    this.keyed.replace(keyed);
  }

  set(queue: string, limited: boolean): void {
    const next = new Set(this.names);
    if (limited) next.add(queue);
    else next.delete(queue);
    this.names = next;
  }
}

/** Sets (n > 0) or removes (n = 0) a queue's limit of claims per second. */
export async function setQueueRate(sql: Sql, queue: string, perSecond: number, limited: LimitedQueues): Promise<void> {
  const n = Math.floor(perSecond);
  if (!Number.isFinite(n) || n < 0 || n > MAX_RATE)
    throw new ValidationError(`rate_limit.max_per_second: must be an integer from 0 to ${MAX_RATE}`, {
      issues: [{ path: "rate_limit.max_per_second", message: `must be an integer from 0 to ${MAX_RATE}` }],
    });
  const rate = n > 0 ? n : null;
  await sql.begin(async (tx) => {
    await tx`INSERT INTO ojs_queues (name, rate_per_sec) VALUES (${queue}, ${rate}) ON CONFLICT (name) DO UPDATE SET rate_per_sec = EXCLUDED.rate_per_sec`;
    if (rate === null) await tx`DELETE FROM ojs_queue_rates WHERE queue = ${queue}`;
    else await tx`INSERT INTO ojs_queue_rates (queue) VALUES (${queue}) ON CONFLICT (queue) DO NOTHING`;
  });
  limited.set(queue, rate !== null);
  // Jobs the limit held back may go now (a limit raised or removed).
  await sql`SELECT pg_notify('ojs_jobs', ${queue})`;
}

/** A queue's limit of claims per second, or undefined when it has none. */
export async function queueRate(sql: Sql, queue: string): Promise<number | undefined> {
  const [r] = await sql<{ rate_per_sec: number | null }[]>`SELECT rate_per_sec FROM ojs_queues WHERE name = ${queue}`;
  return r?.rate_per_sec ?? undefined;
}

/**
 * Claims as claimJobs does, honouring queue rate limits and the keys of
 * per-job rate limits. Without a limited or keyed queue among the requested
 * ones it is the one claim statement; otherwise one transaction takes the
 * queues in their order, each limited queue under its rate row's lock and at
 * most what its window allows, each keyed queue key by key (job-rate-limits.ts).
 */
export async function claim(sql: Sql, req: ClaimRequest, limited: LimitedQueues): Promise<Claimed[]> {
  if (!limited.anyOf(req.queues) && !limited.keyed.anyOf(req.queues)) return claimJobs(sql, req);
  return sql.begin(async (tx) => {
    const out: Claimed[] = [];
    for (const queue of req.queues) {
      const from = out.length;
      if (from >= req.slots.length) break;
      const allowed = limited.has(queue) ? await allowance(tx, queue) : { n: req.slots.length - from, record: undefined };
      const n = Math.min(allowed.n, req.slots.length - from);
      if (n <= 0) continue;
      const slots = req.slots.slice(from, from + n);
      const rated = allowed.record !== undefined;
      const got = limited.keyed.has(queue)
        ? await claimWithKeys(tx, queue, slots, rated, req.tenant)
        : await claimJobs(tx, { queues: [queue], slots, ...tenantOf(req.tenant) }, rated);
      for (const c of got) out.push({ slot: c.slot + from, job: c.job });
      if (allowed.record && got.length) await allowed.record(got);
    }
    return out;
  });
}

/**
 * How many claims the queue's window allows now, under the lock of its rate
 * row, and how to record the ones made (their started_at, the claim's own
 * clock). A queue whose limit was removed meanwhile allows any number (record
 * undefined: claimed as an unlimited queue).
 */
async function allowance(tx: TransactionSql, queue: string): Promise<{ n: number; record: ((claimed: readonly Claimed[]) => Promise<void>) | undefined }> {
  const [row] = await tx<{ starts: Date[]; limit: number | null }[]>`
    SELECT r.starts, q.rate_per_sec AS limit
    FROM ojs_queue_rates r JOIN ojs_queues q ON q.name = r.queue
    WHERE r.queue = ${queue} FOR UPDATE OF r`;
  if (!row || row.limit === null) return { n: Number.MAX_SAFE_INTEGER, record: undefined };
  // The clock once the lock is held (a statement of its own: the locking one may have read it before waiting).
  const now = (await tx<{ now: Date }[]>`SELECT clock_timestamp() AS now`)[0]!.now;
  const limit = row.limit;
  const recent = row.starts.filter((s) => s.getTime() > now.getTime() - WINDOW_MS);
  return {
    n: Math.max(0, limit - recent.length),
    record: async (claimed) => {
      const starts = [...recent, ...claimed.map((c) => c.job.job.startedAt ?? now)].slice(-limit);
      await tx`UPDATE ojs_queue_rates SET starts = ${starts.map((d) => d.toISOString())}::text[]::timestamptz[] WHERE queue = ${queue}`;
    },
  };
}
