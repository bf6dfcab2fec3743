/**
 * What the HTTP binding of the rate-limiting extension (http/rate-limit-routes.ts)
 * asks of a store about a key: its state (RL §10.1), the list of keys (§10.3),
 * a concurrency override (§10.2) and the X-RateLimit-* numbers (§10.4). The
 * memory and journal stores answer from the in-process RateLimits
 * (./rate-limits.ts); the PostgreSQL store from its tables
 * (postgres/rate-limit-state.ts). Answers are JSON as the routes send them.
 */
import type { JsonObject } from "../../model/json.js";
import type { RateLimits } from "./rate-limits.js";

export interface RateLimitAdmin {
  /** The state of one key, or undefined when no job uses it. */
  inspect(key: string): Promise<JsonObject | undefined>;
  /** Every key, in key order, a page at a time. */
  list(page: number, perPage: number): Promise<{ items: JsonObject[]; total: number }>;
  /** Overrides the key's concurrency (0 stops it) until `until` (ms; Infinity: until overridden again); undefined when no job uses the key. */
  overrideConcurrency(key: string, concurrency: number, until: number): Promise<JsonObject | undefined>;
  /** The X-RateLimit-* headers of an answer about this key, or undefined when no job uses it. */
  headers(key: string): Promise<Record<string, string> | undefined>;
}

/** The in-process RateLimits as a RateLimitAdmin. */
export function memoryRateLimitAdmin(limits: RateLimits): RateLimitAdmin {
  return {
    inspect: async (key) => limits.inspect(key),
    list: async (page, perPage) => limits.list(page, perPage),
    overrideConcurrency: async (key, concurrency, until) => limits.overrideConcurrency(key, concurrency, until),
    headers: async (key) => limits.headers(key),
  };
}
