/**
 * The JSON bodies and answers of the core HTTP binding that are more than one
 * codec call: what the rows of ../operations.ts use. The model conversions
 * themselves live in ../../codec.
 */
import { jobErrorToJson, jobFromJson } from "../../codec/json.js";
import { cronFromJson } from "../../codec/admin.js";
import { parseInstant } from "../../codec/values.js";
import type { Job } from "../../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import type { CronJob, Health, HealthStatus, HeartbeatResult, NackResult, WorkerDirective } from "../../model/system.js";
import type { AckRequest, CronRequest, FetchJobsRequest, HeartbeatRequest, NackRequest, ProgressUpdate } from "../transport.js";
import { cronTemplateJson } from "./query.js";

/** An answer with nothing to read (the rows of operations that resolve to void). */
export const none = (): void => undefined;

/** The path parameter {id}: the first argument. */
export const byId = ([id]: readonly [string, ...unknown[]]) => ({ params: { id } });

/** The path parameter {id} and an empty JSON body (a POST that names its target in the path). */
export const byIdPost = ([id]: readonly [string, ...unknown[]]) => ({ params: { id }, body: {} });

/** A JSON body made from the first argument. */
export const bodyOf =
  <A>(convert: (a: A) => JsonValue) =>
  ([a]: readonly [A, ...unknown[]]) => ({ body: convert(a) });

/** A single-object answer, bare or wrapped by servers that say {job: {...}}. */
export function unwrap(b: JsonObject, key: string): JsonObject {
  const inner = b[key];
  return isJsonObject(inner) ? inner : b;
}

/** The objects of the array under `key` (none when it is missing), each converted. */
export function listOf<T>(b: JsonObject, key: string, item: (o: JsonObject) => T): T[] {
  const list = b[key];
  return Array.isArray(list) ? list.filter(isJsonObject).map(item) : [];
}

export const jobOf = (b: JsonObject): Job => jobFromJson(unwrap(b, "job"));

export function healthFromJson(b: JsonObject): Health {
  const raw = String(b.status ?? "");
  const status: HealthStatus = raw === "ok" || raw === "healthy" ? "ok" : raw === "degraded" ? "degraded" : "unhealthy";
  const h: Health = { status };
  const ts = parseInstant(b.timestamp);
  if (ts) h.timestamp = ts;
  const details: JsonObject = {};
  for (const [k, v] of Object.entries(b)) if (k !== "status" && k !== "timestamp") details[k] = v;
  if (Object.keys(details).length) h.details = details;
  return h;
}

export function fetchBody(req: FetchJobsRequest): JsonObject {
  const body: JsonObject = { queues: req.queues, count: req.count, worker_id: req.workerId };
  if (req.visibilityTimeoutMs) body.visibility_timeout_ms = req.visibilityTimeoutMs;
  if (req.waitMs) body.wait_ms = req.waitMs;
  return body;
}

export function ackBody(req: AckRequest): JsonObject {
  const body: JsonObject = { job_id: req.jobId };
  if (req.result !== undefined) body.result = req.result;
  if (req.workerId) body.worker_id = req.workerId;
  return body;
}

export function nackBody(req: NackRequest): JsonObject {
  const body: JsonObject = { job_id: req.jobId, error: jobErrorToJson(req.error) };
  if (req.workerId) body.worker_id = req.workerId;
  if (req.requeue) body.requeue = true;
  return body;
}

export function nackResultFromJson(b: JsonObject): NackResult {
  const state = String(b.state ?? (isJsonObject(b.job) ? b.job.state : "retryable"));
  const out: NackResult = { state: state as NackResult["state"] };
  if (typeof b.attempt === "number") out.attempt = b.attempt;
  const next = parseInstant(b.next_attempt_at);
  if (next) out.nextAttemptAt = next;
  return out;
}

export function heartbeatBody(req: HeartbeatRequest): JsonObject {
  const body: JsonObject = { worker_id: req.workerId, state: req.state, active_jobs: req.activeJobIds, active_job_ids: req.activeJobIds };
  if (req.visibilityTimeoutMs) body.visibility_timeout_ms = req.visibilityTimeoutMs;
  return body;
}

const DIRECTIVES = new Set(["running", "quiet", "terminate"]);

export function heartbeatResultFromJson(b: JsonObject, req: HeartbeatRequest): HeartbeatResult {
  // Official servers answer {"state": "active", "directive": "quiet"}; the conformance
  // suite expects the directive in "state". Read both; an explicit quiet/terminate wins.
  const directive = [b.directive, b.state].find((v) => typeof v === "string" && DIRECTIVES.has(v) && v !== "running") ?? "running";
  const out: HeartbeatResult = { directive: directive as WorkerDirective };
  if (Array.isArray(b.jobs_extended)) {
    const extended = new Set(b.jobs_extended.map(String));
    out.extended = [...extended];
    out.lost = req.activeJobIds.filter((id) => !extended.has(id));
  }
  return out;
}

export function cronBody(req: CronRequest): JsonObject {
  const body: JsonObject = { name: req.name, expression: req.cron, job_template: cronTemplateJson(req) };
  if (req.timezone) body.timezone = req.timezone;
  return body;
}

export function cronRegisteredFromJson(b: JsonObject, req: CronRequest): { name: string; nextRunAt?: Date } {
  const c = cronFromJson(unwrap(b, "cron"));
  return c.nextRunAt ? { name: c.name || req.name, nextRunAt: c.nextRunAt } : { name: c.name || req.name };
}

export function cronListFromJson(b: JsonObject): CronJob[] {
  const list = Array.isArray(b.crons) ? b.crons : Array.isArray(b.cron_jobs) ? b.cron_jobs : Array.isArray(b.entries) ? b.entries : [];
  return list.filter(isJsonObject).map(cronFromJson);
}

export function progressBody(update: ProgressUpdate): JsonObject {
  const body: JsonObject = {};
  if (update.progress !== undefined) body.progress = update.progress;
  if (update.message !== undefined) body.message = update.message;
  if (update.data !== undefined) body.data = update.data;
  return body;
}
