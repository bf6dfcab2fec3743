/**
 * The rate-limiting extension (ojs-rate-limiting.md): a job enqueued with
 * `rate_limit: {key, concurrency, rate, throttle, on_limit}` shares counters
 * with every job of the same key, and a FETCH passes over a job whose key is
 * at its limit (it stays `available`) to the next eligible one (RL §8.1).
 *
 * - concurrency: at most N jobs of the key `active` at once; the count moves
 *   with the job's state changes (the store reports every one here), so it
 *   cannot drift: a job leaves the count by ack, nack, lease expiry or cancel.
 * - rate {limit, period}: at most `limit` starts in any sliding window of
 *   `period` (a ring of the last `limit` start times, see RateWindow).
 * - throttle {limit, period}: starts at least period/limit apart.
 * - on_limit: only "wait" (the default, non-lossy) is offered; "reschedule"
 *   and "drop" are refused at enqueue (unsupported) rather than silently
 *   treated as wait.
 *
 * The policy itself is validated with the job (src/model/rate-limit.ts).
 *
 * A key's policy is the one of the latest job enqueued with it. A partition
 * lives while a job of its key is not finished, and after that until its
 * windows have passed, so that a rate holds for jobs that trickle in. The
 * number of partitions is bounded (MAX_PARTITIONS).
 */
import { formatIsoDuration } from "../../model/duration.js";
import { OjsError } from "../../model/errors.js";
import type { JsonObject } from "../../model/json.js";
import type { RateLimitPolicy } from "../../model/rate-limit.js";
import { RateWindow } from "./queue.js";

export const MAX_PARTITIONS = 100_000;
const TERMINAL = new Set(["completed", "cancelled", "discarded"]);

class Partition {
  policy!: RateLimitPolicy;
  readonly active = new Set<string>();
  /** Jobs of the key that are neither active nor finished, by queue. */
  readonly waiting = new Map<string, number>();
  waitingCount = 0;
  window: RateWindow | undefined;
  throttleNextAt = 0;
  /** Says whether a rate_limit.exceeded was reported and no job has been released since. */
  blocked = false;
  /** When the partition may be dropped once it holds no jobs: its windows have passed. */
  lastStartAt = -Infinity;
  /** PUT /ojs/v1/rate-limits/:key (RL §10.2): a concurrency that holds instead of the jobs' until `until`. */
  override: { concurrency: number; until: number } | undefined;

  constructor(readonly key: string) {}

  setPolicy(p: RateLimitPolicy): void {
    const old = this.policy;
    this.policy = p;
    if (!p.rate) this.window = undefined;
    else if (!this.window || !old?.rate || old.rate.limit !== p.rate.limit || old.rate.period !== p.rate.period)
      this.window = new RateWindow(p.rate.limit, p.rate.period);
  }

  get jobs(): number {
    return this.active.size + this.waitingCount;
  }

  addWaiting(queue: string, n: number): void {
    const v = (this.waiting.get(queue) ?? 0) + n;
    if (v <= 0) this.waiting.delete(queue);
    else this.waiting.set(queue, v);
    this.waitingCount += n;
  }

  /** The concurrency limit in force: an unexpired override's, else the policy's. */
  concurrency(now: number): number | undefined {
    if (this.override && now >= this.override.until) this.override = undefined;
    return this.override ? this.override.concurrency : this.policy.concurrency;
  }

  idleUntil(): number {
    // An override is kept while it lasts, even with no job of the key.
    return Math.max(this.override?.until ?? -Infinity, this.windowsPassAt());
  }

  private windowsPassAt(): number {
    return this.lastStartAt + Math.max(this.policy.rate?.period ?? 0, this.policy.throttle ? this.policy.throttle.period / this.policy.throttle.limit : 0);
  }
}

export interface RateLimitHooks {
  now(): number;
  /** A job of the key in this queue may start now where it could not before: dispatch to its consumers. */
  wake(queue: string): void;
  publish(type: "rate_limit.exceeded" | "rate_limit.released", data: JsonObject, jobId?: string): void;
}

export class RateLimits {
  private readonly parts = new Map<string, Partition>();
  /**
   * Every unfinished job with a key, and the discarded ones (a dead-letter retry brings
   * them back under their key) until the store drops them (forget()).
   */
  private readonly byJob = new Map<string, { part: Partition; queue: string; dead: boolean }>();

  constructor(private readonly hooks: RateLimitHooks) {}

  /** Refuses, before anything is stored, a policy this server cannot honour. */
  check(policy: RateLimitPolicy): void {
    if (policy.onLimit !== undefined && policy.onLimit !== "wait")
      throw new OjsError(`options.rate_limit.on_limit: "${policy.onLimit}" is not supported by this server; "wait" (the default) is`, {
        code: "unsupported",
        details: { field: "options.rate_limit.on_limit" },
      });
    if (!this.parts.has(policy.key) && this.parts.size >= MAX_PARTITIONS) {
      this.sweep();
      if (this.parts.size >= MAX_PARTITIONS)
        throw new OjsError(`too many rate-limit keys in use (at most ${MAX_PARTITIONS}); let jobs of other keys finish first`, { code: "queue_full" });
    }
  }

  /** Binds a new job (available or scheduled) to its key, before it can be fetched; check() first. */
  assign(jobId: string, queue: string, policy: RateLimitPolicy): void {
    let part = this.parts.get(policy.key);
    if (!part) {
      part = new Partition(policy.key);
      this.parts.set(policy.key, part);
    }
    part.setPolicy(policy);
    part.addWaiting(queue, 1);
    this.byJob.set(jobId, { part, queue, dead: false });
  }

  /**
   * 0 when the job may start now; else how long until it might (Infinity: until
   * an active job of its key is released). A job without a key always may.
   */
  admit(jobId: string, now: number): number {
    if (this.byJob.size === 0) return 0;
    const b = this.byJob.get(jobId);
    if (!b) return 0;
    if (b.dead) return 0;
    const p = b.part;
    const pol = p.policy;
    let wait = 0;
    let strategy = "";
    let limit = 0;
    let current = 0;
    const conc = p.concurrency(now);
    if (conc !== undefined && p.active.size >= conc) {
      // An override ends at a known time; a job's own limit waits for a release.
      wait = p.override && p.override.until < Infinity ? p.override.until - now : Infinity;
      strategy = "concurrency";
      limit = conc;
      current = p.active.size;
    } else if (p.window && p.window.waitMs(now) > 0) {
      wait = p.window.waitMs(now);
      strategy = "rate";
      limit = pol.rate!.limit;
      current = pol.rate!.limit;
    } else if (pol.throttle && p.throttleNextAt > now) {
      wait = p.throttleNextAt - now;
      strategy = "throttle";
      limit = pol.throttle.limit;
      current = 1;
    }
    if (wait > 0) {
      if (!p.blocked) {
        p.blocked = true;
        this.hooks.publish("rate_limit.exceeded", { key: p.key, strategy, limit, current });
      }
      return wait;
    }
    if (p.blocked) {
      p.blocked = false;
      this.hooks.publish("rate_limit.released", { key: p.key, strategy: this.strategyOf(pol), job_id: jobId }, jobId);
    }
    return 0;
  }

  private strategyOf(p: RateLimitPolicy): string {
    return p.concurrency !== undefined ? "concurrency" : p.rate ? "rate" : "throttle";
  }

  /** Every state change of every job passes here (the store's setState). */
  transition(jobId: string, from: string, to: string): void {
    if (this.byJob.size === 0) return;
    const b = this.byJob.get(jobId);
    if (!b) return;
    if (b.dead) {
      // Retried from the dead letter: back under its key (the partition of the key today).
      b.dead = false;
      const cur = this.parts.get(b.part.key);
      if (cur) b.part = cur;
      else this.parts.set(b.part.key, b.part);
      b.part.addWaiting(b.queue, 1);
      if (to !== "active") return;
    }
    const p = b.part;
    if (to === "active") {
      const now = this.hooks.now();
      p.addWaiting(b.queue, -1);
      p.active.add(jobId);
      p.window?.record(now);
      if (p.policy.throttle) p.throttleNextAt = now + p.policy.throttle.period / p.policy.throttle.limit;
      p.lastStartAt = now;
      return;
    }
    if (from === "active") {
      p.active.delete(jobId);
      if (!TERMINAL.has(to)) p.addWaiting(b.queue, 1);
      // A slot of the key is free: the jobs of the key waiting in their queues may go.
      for (const q of p.waiting.keys()) this.hooks.wake(q);
    } else if (TERMINAL.has(to)) p.addWaiting(b.queue, -1);
    if (TERMINAL.has(to)) {
      if (to === "discarded") b.dead = true;
      else this.byJob.delete(jobId);
      if (p.jobs === 0 && p.idleUntil() <= this.hooks.now()) this.parts.delete(p.key);
    }
  }

  /**
   * Overrides the key's concurrency (0 stops it) until `until` (ms; Infinity: until
   * overridden again), whatever its jobs say; undefined when no job uses the key.
   */
  overrideConcurrency(key: string, concurrency: number, until: number): JsonObject | undefined {
    const p = this.parts.get(key);
    if (!p) return undefined;
    p.override = { concurrency, until };
    // A raised limit lets waiting jobs go now, and an override that ends may too.
    for (const q of p.waiting.keys()) this.hooks.wake(q);
    return this.stateOf(p);
  }

  /** The store dropped the job for good. */
  forget(jobId: string): void {
    const b = this.byJob.get(jobId);
    if (!b) return;
    this.byJob.delete(jobId);
    // A job dropped while unfinished (a purge) leaves its key's counts too.
    if (!b.dead) {
      if (b.part.active.delete(jobId)) for (const q of b.part.waiting.keys()) this.hooks.wake(q);
      else b.part.addWaiting(b.queue, -1);
    }
  }

  /** Drops partitions that hold no job and whose windows have passed. */
  private sweep(): void {
    const now = this.hooks.now();
    for (const [k, p] of this.parts) if (p.jobs === 0 && p.idleUntil() <= now) this.parts.delete(k);
  }

  get size(): number {
    return this.parts.size;
  }

  /** The state of one key (RL §10.1), or undefined when no job uses it. */
  inspect(key: string): JsonObject | undefined {
    const p = this.parts.get(key);
    if (p && p.jobs === 0 && p.idleUntil() <= this.hooks.now()) {
      this.parts.delete(key);
      return undefined;
    }
    return p ? this.stateOf(p) : undefined;
  }

  /** Every key, in key order, a page at a time (RL §10.3). */
  list(page: number, perPage: number): { items: JsonObject[]; total: number } {
    this.sweep();
    const keys = [...this.parts.keys()].sort();
    return { items: keys.slice((page - 1) * perPage, page * perPage).map((k) => this.stateOf(this.parts.get(k)!)), total: keys.length };
  }

  /** Numbers for the X-RateLimit-* headers of an answer about this key: the first limit it has. */
  headers(key: string): Record<string, string> | undefined {
    const p = this.parts.get(key);
    if (!p) return undefined;
    const now = this.hooks.now();
    const pol = p.policy;
    const conc = p.concurrency(now);
    let limit: number;
    let remaining: number;
    let resetMs = now;
    if (conc !== undefined) {
      limit = conc;
      remaining = Math.max(0, conc - p.active.size);
    } else if (pol.rate && p.window) {
      limit = pol.rate.limit;
      remaining = p.window.waitMs(now) > 0 ? 0 : 1;
      resetMs = now + p.window.waitMs(now);
    } else {
      limit = pol.throttle!.limit;
      remaining = p.throttleNextAt > now ? 0 : 1;
      resetMs = Math.max(now, p.throttleNextAt);
    }
    return { "x-ratelimit-limit": String(limit), "x-ratelimit-remaining": String(remaining), "x-ratelimit-reset": String(Math.ceil(resetMs / 1000)) };
  }

  private stateOf(p: Partition): JsonObject {
    const now = this.hooks.now();
    const pol = p.policy;
    const o: JsonObject = { key: p.key };
    const conc = p.concurrency(now);
    if (conc !== undefined) o.concurrency = { limit: conc, active: p.active.size, available: Math.max(0, conc - p.active.size) };
    if (p.override)
      o.override = { concurrency: p.override.concurrency, ...(p.override.until < Infinity ? { expires_at: new Date(p.override.until).toISOString() } : {}) };
    if (pol.rate && p.window) {
      const wait = p.window.waitMs(now);
      o.rate = { limit: pol.rate.limit, period: formatIsoDuration(pol.rate.period), window_resets_at: new Date(now + wait).toISOString() };
    }
    if (pol.throttle)
      o.throttle = {
        limit: pol.throttle.limit,
        period: formatIsoDuration(pol.throttle.period),
        next_allowed_at: new Date(Math.max(now, p.throttleNextAt)).toISOString(),
      };
    o.waiting_count = p.waitingCount;
    o.on_limit = pol.onLimit ?? "wait";
    return o;
  }

  reset(): void {
    this.parts.clear();
    this.byJob.clear();
  }
}

/** Puts jobs passed over by a fetch back at the head of their queue, in their order. */
export function putBack<T>(items: readonly T[], unshift: (item: T) => void): void {
  for (let i = items.length - 1; i >= 0; i--) unshift(items[i]!);
}
