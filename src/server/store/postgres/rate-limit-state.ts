/**
 * The rate-limiting extension's inspection and override routes over the
 * PostgreSQL store: a key's state is read from its row in ojs_rate_limits and
 * its jobs (job-rate-limits.ts), so every server answers the same. The JSON is
 * the memory store's (store/rate-limits.ts stateOf and headers).
 */
import type { Sql } from "postgres";
import { formatIsoDuration } from "../../../model/duration.js";
import type { JsonObject } from "../../../model/json.js";
import type { RateLimitAdmin } from "../rate-limit-admin.js";
import { concurrencyOf, readKey, recentStarts, windowWaitMs, type KeyRow } from "./job-rate-limits.js";
import { mapRejections } from "./errors.js";

/** A key whose jobs are all finished, with no override and its windows passed, is not shown (as the memory store forgets it). */
async function inUse(sql: Sql, r: KeyRow): Promise<{ waiting: number } | undefined> {
  const [c] = await sql<{ waiting: number }[]>`
    SELECT count(*)::int AS waiting FROM ojs_jobs WHERE rate_key = ${r.key} AND state IN ('scheduled', 'available', 'pending', 'retryable')`;
  const waiting = c?.waiting ?? 0;
  const overridden = r.override_concurrency !== null && (r.override_until === null || r.override_until > r.now);
  const windows = recentStarts(r).length > 0 || (r.next_start_at !== null && r.next_start_at > r.now);
  return waiting + r.active > 0 || overridden || windows ? { waiting } : undefined;
}

function stateOf(r: KeyRow, waiting: number): JsonObject {
  const now = r.now.getTime();
  const o: JsonObject = { key: r.key };
  const conc = concurrencyOf(r);
  if (conc !== undefined) o.concurrency = { limit: conc, active: r.active, available: Math.max(0, conc - r.active) };
  if (r.override_concurrency !== null && (r.override_until === null || r.override_until > r.now))
    o.override = { concurrency: r.override_concurrency, ...(r.override_until ? { expires_at: r.override_until.toISOString() } : {}) };
  if (r.rate_limit !== null && r.rate_period_ms !== null)
    o.rate = {
      limit: r.rate_limit,
      period: formatIsoDuration(r.rate_period_ms),
      window_resets_at: new Date(now + windowWaitMs(r)).toISOString(),
    };
  if (r.throttle_limit !== null && r.throttle_period_ms !== null)
    o.throttle = {
      limit: r.throttle_limit,
      period: formatIsoDuration(r.throttle_period_ms),
      next_allowed_at: new Date(Math.max(now, r.next_start_at?.getTime() ?? 0)).toISOString(),
    };
  o.waiting_count = waiting;
  o.on_limit = "wait";
  return o;
}

function headersOf(r: KeyRow): Record<string, string> {
  const now = r.now.getTime();
  const conc = concurrencyOf(r);
  let limit: number;
  let remaining: number;
  let resetMs = now;
  if (conc !== undefined) {
    limit = conc;
    remaining = Math.max(0, conc - r.active);
  } else if (r.rate_limit !== null) {
    limit = r.rate_limit;
    const wait = windowWaitMs(r);
    remaining = wait > 0 ? 0 : 1;
    resetMs = now + wait;
  } else {
    limit = r.throttle_limit ?? 0;
    const next = r.next_start_at?.getTime() ?? 0;
    remaining = next > now ? 0 : 1;
    resetMs = Math.max(now, next);
  }
  return { "x-ratelimit-limit": String(limit), "x-ratelimit-remaining": String(remaining), "x-ratelimit-reset": String(Math.ceil(resetMs / 1000)) };
}

export class PgRateLimitState implements RateLimitAdmin {
  constructor(
    private readonly sql: Sql,
    /** Jobs of a key whose limit was raised may go now: wake the servers' consumers of these queues. */
    private readonly notify: (queues: readonly string[]) => Promise<void>,
  ) {}

  async inspect(key: string): Promise<JsonObject | undefined> {
    const r = await readKey(this.sql, key);
    const use = r && (await inUse(this.sql, r));
    return r && use ? stateOf(r, use.waiting) : undefined;
  }

  async list(page: number, perPage: number): Promise<{ items: JsonObject[]; total: number }> {
    const [t] = await this.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ojs_rate_limits`;
    const keys = await this.sql<{ key: string }[]>`SELECT key FROM ojs_rate_limits ORDER BY key OFFSET ${(page - 1) * perPage} LIMIT ${perPage}`;
    const items: JsonObject[] = [];
    for (const { key } of keys) {
      const r = await readKey(this.sql, key);
      const use = r && (await inUse(this.sql, r));
      if (r) items.push(stateOf(r, use?.waiting ?? 0));
    }
    return { items, total: t?.n ?? 0 };
  }

  async overrideConcurrency(key: string, concurrency: number, until: number): Promise<JsonObject | undefined> {
    if (!(await this.inspect(key))) return undefined;
    const at = until === Infinity ? null : new Date(until);
    const [row] = await this.sql<{ queues: string[] }[]>`
      UPDATE ojs_rate_limits SET override_concurrency = ${concurrency}, override_until = ${at}, updated_at = now() WHERE key = ${key} RETURNING queues`;
    if (!row) return undefined;
    await this.notify(row.queues);
    return this.inspect(key);
  }

  async headers(key: string): Promise<Record<string, string> | undefined> {
    const r = await readKey(this.sql, key);
    return r ? headersOf(r) : undefined;
  }
}

// Database failures become unavailable/backend_error, as the store's own methods (errors.ts).
mapRejections(PgRateLimitState.prototype, ["inspect", "list", "overrideConcurrency", "headers"]);
