/**
 * Steps both protocol adapters take the same way: validating a job request
 * and reporting problems with the wire's field names, enqueueing through the
 * schema registry, and turning store records into the domain shapes that the
 * codecs encode.
 */
import { ValidationError } from "../model/errors.js";
import type { JobRequest, NormalizedJobRequest } from "../model/job.js";
import type { JsonObject } from "../model/json.js";
import { normalizeJobRequest } from "../model/schemas.js";
import { fastRevalidate } from "../model/fast-normalize.js";
import type { CronJob, QueueInfo, QueueStats } from "../model/system.js";
import type { ServerCore } from "./core.js";
import type { CronRecord } from "./store/cron.js";
import { validateJsonSchema } from "./store/schemas.js";
import type { QueueSummary, SubmitOptions, SubmitResult } from "./store/store.js";

/** SDK option names that differ from the wire's beyond camelCase. */
const WIRE_NAMES: Record<string, string> = {
  "options.timeout": "options.timeout_ms",
  "options.scheduledAt": "options.delay_until",
  "options.delay": "options.delay_ms",
  // The envelope carries the id at the top level (JSON format §id).
  "options.id": "id",
  "options.visibilityTimeout": "options.visibility_timeout_ms",
  "options.unique.keys": "options.unique.keys",
};

export function wirePath(path: string): string {
  const mapped = WIRE_NAMES[path] ?? path;
  return mapped.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Re-states a validation failure with the wire's field names ("max_attempts",
 * not "maxAttempts"). A failure that lies only in the retry or unique policy is
 * a `validation_error` (422): the envelope was well formed and the policy it
 * carries cannot be honoured, which the level-1 retry case asks to tell apart
 * from a malformed envelope (`invalid_request`, 400).
 */
export function wireValidationError(e: unknown): unknown {
  if (!(e instanceof ValidationError) || e.code !== "invalid_request") return e;
  const issues = e.issues.map((i) => ({ path: wirePath(i.path), message: i.message }));
  if (issues.length === 0) return e;
  // A job id of the wrong form (a UUIDv4, upper-case hex) is a well-formed envelope whose id cannot be honoured too.
  const policyOnly = issues.every((i) => /^options\.(retry|unique)(\.|$)|^id$/.test(i.path));
  const message = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
  return new ValidationError(message, { code: policyOnly ? "validation_error" : "invalid_request", issues, ...(e.details ? { details: e.details } : {}) });
}

/** Validates a request read from JSON (HTTP). */
export function normalizeWire(request: JobRequest, now: number, prefix?: string): NormalizedJobRequest {
  try {
    return normalizeJobRequest(request, now);
  } catch (e) {
    const err = wireValidationError(e);
    if (prefix && err instanceof Error) err.message = `${prefix}${err.message}`;
    throw err;
  }
}

/**
 * Validates a request decoded from protobuf with the same rules as JSON, so
 * both protocols accept and refuse the same jobs.
 */
export function revalidate(r: NormalizedJobRequest, now: number): NormalizedJobRequest {
  const fast = fastRevalidate(r);
  if (fast) return fast;
  const { type, args, ...rest } = r;
  const options: Record<string, unknown> = { ...rest };
  if (rest.retry) options.retry = { ...rest.retry };
  return normalizeWire({ type, args, options }, now);
}

export interface EnqueueOutcome extends SubmitResult {
  /** Schema problems in "warn" mode (SR §7): the job was accepted anyway. */
  warnings: string[];
}

/** Checks the args against the registered schema (per the server's mode), then enqueues. */
export function schemaCheck(core: ServerCore, req: NormalizedJobRequest): string[] {
  if (core.schemaValidation === "off") return [];
  const schema = core.schemas.resolve(req.type, req.schema);
  if (!schema) {
    if (req.schema && core.schemaValidation === "strict")
      throw new ValidationError(`schema ${req.schema} is not registered`, { code: "schema_validation" });
    return [];
  }
  const issues = validateJsonSchema(schema.schema, req.args);
  if (issues.length && core.schemaValidation === "strict") {
    throw new ValidationError(`args do not match schema ${schema.type} version ${schema.version}: ${issues.join("; ")}`, {
      code: "schema_validation",
      issues: issues.map((i) => ({ path: i.slice(0, i.indexOf(":")), message: i.slice(i.indexOf(":") + 2) })),
    });
  }
  return issues;
}

export function enqueueChecked(core: ServerCore, req: NormalizedJobRequest, opts: SubmitOptions = {}): EnqueueOutcome {
  const warnings = schemaCheck(core, req);
  return { ...core.store.submit(req, opts), warnings };
}

// --- views: store records as domain shapes --------------------------------------------

export function queueStatsOf(s: QueueSummary): QueueStats {
  return {
    queue: s.name,
    paused: s.paused,
    available: s.counts.available,
    active: s.counts.active,
    scheduled: s.counts.scheduled,
    retryable: s.counts.retryable,
    dead: s.dead,
    completedLastHour: s.lastHour.completed,
    failedLastHour: s.lastHour.failed,
    avgDurationMs: s.lastHour.avgDurationMs,
    avgWaitMs: s.lastHour.avgWaitMs,
    throughputPerSecond: s.lastHour.throughputPerSecond,
  };
}

export function queueInfoOf(s: QueueSummary): QueueInfo {
  return { name: s.name, paused: s.paused, availableCount: s.counts.available, createdAt: s.createdAt };
}

export function cronJobOf(e: CronRecord): CronJob {
  const { type, args, ...options } = e.template;
  const c: CronJob = { name: e.name, cron: e.expression, timezone: e.timezone, type, args, options };
  if (e.nextRunAt) c.nextRunAt = e.nextRunAt;
  if (e.lastRunAt) c.lastRunAt = e.lastRunAt;
  return c;
}

/** Server-side cron fields the domain CronJob does not carry, for the JSON shape. */
export function cronExtraJson(e: CronRecord): JsonObject {
  const o: JsonObject = {
    enabled: e.enabled,
    overlap_policy: e.overlapPolicy,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
    run_count: e.runCount,
  };
  if (e.description) o.description = e.description;
  if (e.lastJobId) o.last_job_id = e.lastJobId;
  return o;
}
