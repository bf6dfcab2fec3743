/**
 * Per-tenant limits (ojs-multi-tenancy.md §8): `max_queue_depth`, the most
 * unfinished jobs a tenant may have (waiting, scheduled, retrying or running),
 * checked when jobs are admitted (both bindings, single and batch), so a
 * tenant at its limit is refused (429, retryable) instead of crowding the
 * others. The counts follow the store's accounting of unfinished jobs (enter
 * and leave), so a check is O(1) and the map holds only tenants with jobs.
 */
import { RateLimitedError, ValidationError } from "../../model/errors.js";
import type { JsonObject, JsonValue } from "../../model/json.js";
import type { ChangeSink } from "../store/changes.js";
import { jobTenant } from "./jobs.js";

/** Tenants with configured limits, at most. */
export const MAX_CONFIGURED_TENANTS = 1000;
const MAX_DEPTH = 1_000_000_000;

/** The limits of one tenant. */
export interface TenantLimitConfig {
  maxQueueDepth?: number;
}

/**
 * The limits of a PUT /admin/tenants/:id/limits body: `max_queue_depth` (a
 * whole number), or null when it removes them (`null` or absent). Throws a
 * ValidationError for anything else.
 */
export function parseTenantLimits(body: JsonObject): TenantLimitConfig | null {
  for (const k of Object.keys(body))
    if (k !== "max_queue_depth" && k !== "reason")
      throw new ValidationError(`${k}: this server enforces max_queue_depth only`, { issues: [{ path: k, message: "not supported: only max_queue_depth" }] });
  const v: JsonValue | undefined = body.max_queue_depth;
  if (v === null || v === undefined) return null;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_DEPTH)
    throw new ValidationError(`max_queue_depth: must be a whole number from 0 to ${MAX_DEPTH}, or null`, {
      issues: [{ path: "max_queue_depth", message: "must be a whole number" }],
    });
  return { maxQueueDepth: v };
}

/** The refusal of a PUT that would configure one tenant too many. */
export function tooManyConfigured(): ValidationError {
  return new ValidationError(`at most ${MAX_CONFIGURED_TENANTS} tenants can have limits`, {
    issues: [{ path: "tenant", message: "too many configured tenants" }],
  });
}

/** The refusal (429, retryable) of jobs that would take a tenant past its max_queue_depth. */
export function depthExceeded(tenant: string, max: number, current: number): RateLimitedError {
  return new RateLimitedError(`tenant "${tenant}" has exceeded max_queue_depth (${max}): ${current} unfinished jobs`, {
    retryAfterMs: 1000,
    details: { tenant_id: tenant, limit: "max_queue_depth", current, maximum: max },
  });
}

export class TenantLimits {
  private readonly unfinished = new Map<string, number>();
  private readonly limits = new Map<string, TenantLimitConfig>();
  /** Told when a tenant's limits are set or removed: the durable store's sink (store/journal), none in memory. */
  changes: Pick<ChangeSink, "tenantLimits"> | undefined;

  /** Store accounting: a job became unfinished. */
  enter(rec: { job: { meta: JsonObject } }): void {
    const t = jobTenant(rec.job.meta);
    if (t !== undefined) this.unfinished.set(t, (this.unfinished.get(t) ?? 0) + 1);
  }

  /** Store accounting: a job finished or was dropped. */
  leave(rec: { job: { meta: JsonObject } }): void {
    const t = jobTenant(rec.job.meta);
    if (t === undefined) return;
    const n = (this.unfinished.get(t) ?? 0) - 1;
    if (n > 0) this.unfinished.set(t, n);
    else this.unfinished.delete(t);
  }

  /** Unfinished jobs of a tenant. */
  depth(tenant: string): number {
    return this.unfinished.get(tenant) ?? 0;
  }

  get(tenant: string): TenantLimitConfig | undefined {
    return this.limits.get(tenant);
  }

  /** PUT /admin/tenants/:id/limits: `max_queue_depth` (a whole number, or null to remove it). */
  configure(tenant: string, body: JsonObject): TenantLimitConfig {
    const cfg = parseTenantLimits(body);
    if (cfg === null) {
      if (this.limits.delete(tenant)) this.changes?.tenantLimits(tenant);
      return {};
    }
    if (!this.limits.has(tenant) && this.limits.size >= MAX_CONFIGURED_TENANTS) throw tooManyConfigured();
    this.limits.set(tenant, cfg);
    this.changes?.tenantLimits(tenant);
    return cfg;
  }

  /** Tenants with configured limits, for a durable store's snapshot. */
  configured(): IterableIterator<[string, TenantLimitConfig]> {
    return this.limits.entries();
  }

  /** Puts back limits read from durable storage at start (already validated when they were set). */
  restore(tenant: string, cfg: TenantLimitConfig): void {
    this.limits.set(tenant, cfg);
  }

  /** Refuses (429, retryable) jobs that would take a tenant past its max_queue_depth; all or nothing for a batch. */
  admit(reqs: ReadonlyArray<{ meta?: JsonObject }>): void {
    if (this.limits.size === 0) return;
    const adding = new Map<string, number>();
    for (const r of reqs) {
      const t = jobTenant(r.meta);
      if (t !== undefined && this.limits.has(t)) adding.set(t, (adding.get(t) ?? 0) + 1);
    }
    for (const [t, n] of adding) {
      const max = this.limits.get(t)!.maxQueueDepth;
      const current = this.depth(t);
      if (max !== undefined && current + n > max) throw depthExceeded(t, max, current);
    }
  }

  /** Store accounting: every job is gone (the configured limits stay). */
  clear(): void {
    this.unfinished.clear();
  }

  /** Forgets counts and limits (conformance reset). */
  reset(): void {
    this.unfinished.clear();
    this.limits.clear();
  }
}
