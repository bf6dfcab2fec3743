/**
 * Steps both protocol adapters take the same way: validating a job request
 * and reporting problems with the wire's field names, enqueueing through the
 * schema registry, and turning store records into the domain shapes that the
 * codecs encode.
 */
import { ValidationError } from "../model/errors.js";
import type { JobRequest, NormalizedJobRequest } from "../model/job.js";
import type { DagStep } from "../model/workflow.js";
import type { JsonObject, JsonValue } from "../model/json.js";
import { checkBatchSize, checkJobRequest, checkValue, type Limits } from "../model/limits.js";
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

/**
 * Validates a request read from JSON (HTTP). The limits come first: they walk
 * the values with a bounded depth, so nothing after them meets a value nested
 * deeper than the limit.
 */
export function normalizeWire(request: JobRequest, now: number, limits: Readonly<Limits>, prefix?: string): NormalizedJobRequest {
  checkJobRequest(limits, request, prefix);
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
export function revalidate(r: NormalizedJobRequest, now: number, limits: Readonly<Limits>, sizes?: number[]): NormalizedJobRequest {
  const bytes = checkJobRequest(limits, r);
  const fast = fastRevalidate(r);
  // The limits walk measured args and meta already: a batch keeps the size for the queued-bytes
  // ledger (QueuedBytes.sizeOfAll), which walked every job's args a second time for it.
  if (sizes) sizes.push(fast && fast.args === r.args && sameMeta(fast.meta, r.meta) ? queuedSize(bytes, r.meta) : -1);
  if (fast) return fast;
  const { type, args, ...rest } = r;
  const options: Record<string, unknown> = { ...rest };
  if (rest.retry) options.retry = { ...rest.retry };
  return normalizeWire({ type, args, options }, now, limits);
}

/**
 * What QueuedBytes counts for a job whose args and meta checkJobRequest measured as `checked`
 * bytes: the same walk, except that an empty meta counts nothing there (2 bytes, "{}", here).
 */
function queuedSize(checked: number, meta: JsonValue | undefined): number {
  return meta !== undefined && isEmptyObject(meta) ? checked - 2 : checked;
}

/** The meta the limits walk measured is the one kept, or an empty one that revalidation left out. */
function sameMeta(kept: JsonValue | undefined, measured: JsonValue | undefined): boolean {
  return kept === measured || (kept === undefined && measured !== undefined && isEmptyObject(measured));
}

function isEmptyObject(v: JsonValue): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  for (const _ in v) return false;
  return true;
}

/**
 * A batch's size limit, then the room its jobs need under the queued-bytes limit;
 * `sizes[i]`, when not -1, is job i's size as revalidate() measured it.
 */
export function admitBatch(core: ServerCore, reqs: ReadonlyArray<NormalizedJobRequest>, path = "jobs", sizes?: readonly number[]): void {
  checkBatchSize(core.limits, reqs.length, path);
  const bytes = core.queued.sizeOfAll(reqs, sizes);
  core.tenants.admit(reqs);
  core.queued.admit(bytes);
}

/**
 * A workflow's steps, before it is created: each step's args and meta against
 * the limits (the definitions are checked by the workflow codec, whose own
 * walks are bounded by the body's depth limit), the number of steps against
 * maxBatchJobs, and all of them against the queued-bytes limit.
 */
export function admitWorkflow(core: ServerCore, steps: ReadonlyArray<DagStep>): void {
  checkBatchSize(core.limits, steps.length, "steps");
  let bytes = 0;
  steps.forEach((s, i) => {
    bytes += checkJobRequest(core.limits, { args: s.args, meta: s.request.meta }, `steps[${i}].`);
  });
  core.queued.admit(bytes);
}

/** A result, progress data or error details a worker sends: depth and size limits. */
export function checkWorkerValue(core: ServerCore, v: JsonValue | undefined, path: string): void {
  if (v !== undefined) checkValue(core.limits, v, "maxResultBytes", path);
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
    if (req.schema && core.schemaValidation === "strict") throw new ValidationError(`schema ${req.schema} is not registered`, { code: "schema_validation" });
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

export async function enqueueChecked(core: ServerCore, req: NormalizedJobRequest, opts: SubmitOptions = {}): Promise<EnqueueOutcome> {
  const warnings = admitOne(core, req);
  return { ...(await core.jobs.submit(req, opts)), warnings };
}

/** What one job passes before it is stored: its schema (the warnings of "warn" mode), its tenant's depth, the queued bytes. */
export function admitOne(core: ServerCore, req: NormalizedJobRequest): string[] {
  const warnings = schemaCheck(core, req);
  core.tenants.admit([req]);
  core.queued.admit(core.queued.sizeOf(req.args, req.meta));
  return warnings;
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
