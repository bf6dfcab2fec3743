/**
 * Domain model <-> the OJS HTTP/JSON binding (snake_case, RFC 3339 times,
 * durations as ISO 8601 strings in policies and as *_ms integers in options).
 * Used by the HTTP transport and the embedded server's HTTP adapter.
 *
 * Readers are lenient, since official servers and SDKs differ on a few names
 * (unique `key` or `keys`, error `code` or `type`, `timeout` in seconds or
 * `timeout_ms`); writers emit one spelling and omit absent fields.
 */
import { rateLimitInputFromJson, rateLimitToJson } from "./rate-limit.js";
import { jobCheckpointFromJson } from "./checkpoint.js";
import { formatIsoDuration, parseIsoDuration } from "../model/duration.js";
import { JOB_STATES, type Job, type JobError, type JobState, type NormalizedJobRequest, type RetryPolicy, type UniquePolicy } from "../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../model/json.js";
import type { OjsEvent } from "../model/events.js";
import type { EnqueueOptions, JobRequest } from "../model/job.js";
import { formatInstant, parseInstant } from "./values.js";
import { putDefined, type JsonFieldsOut } from "./defined-fields.js";

const STATES = new Set<string>(JOB_STATES);

function durationOut(ms: number): string {
  return formatIsoDuration(ms);
}

/** Accepts "PT1S", or a number of milliseconds. */
function durationIn(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === "string") return parseIsoDuration(v);
  return undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
function strArray(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined;
}

// --- policies -----------------------------------------------------------------

export function retryToJson(r: RetryPolicy): JsonObject {
  const o: JsonObject = {};
  if (r.maxAttempts !== undefined) o.max_attempts = r.maxAttempts;
  if (r.initialInterval !== undefined) o.initial_interval = durationOut(r.initialInterval);
  if (r.backoffCoefficient !== undefined) o.backoff_coefficient = r.backoffCoefficient;
  if (r.maxInterval !== undefined) o.max_interval = durationOut(r.maxInterval);
  if (r.jitter !== undefined) o.jitter = r.jitter;
  if (r.nonRetryableErrors !== undefined) o.non_retryable_errors = r.nonRetryableErrors;
  if (r.onExhaustion !== undefined) o.on_exhaustion = r.onExhaustion;
  if (r.backoffStrategy !== undefined) o.backoff_strategy = r.backoffStrategy;
  return o;
}

export function retryFromJson(o: JsonObject): RetryPolicy {
  const r: RetryPolicy = {};
  const ma = num(o.max_attempts);
  if (ma !== undefined) r.maxAttempts = ma;
  const ii = durationIn(o.initial_interval ?? o.initial_interval_ms);
  if (ii !== undefined) r.initialInterval = ii;
  const bc = num(o.backoff_coefficient);
  if (bc !== undefined) r.backoffCoefficient = bc;
  const mi = durationIn(o.max_interval ?? o.max_interval_ms);
  if (mi !== undefined) r.maxInterval = mi;
  if (typeof o.jitter === "boolean") r.jitter = o.jitter;
  const nre = strArray(o.non_retryable_errors);
  if (nre) r.nonRetryableErrors = nre;
  if (o.on_exhaustion === "discard" || o.on_exhaustion === "dead_letter") r.onExhaustion = o.on_exhaustion;
  const bs = o.backoff_strategy === "none" ? "constant" : o.backoff_strategy;
  if (bs === "exponential" || bs === "linear" || bs === "constant" || bs === "polynomial") r.backoffStrategy = bs;
  return r;
}

// A table: fields grouped on a line, so prettier leaves it be.
// prettier-ignore
const UNIQUE_JSON: JsonFieldsOut<UniquePolicy> = {
  keys: "keys", argsKeys: "args_keys", metaKeys: "meta_keys", period: ["period", durationOut],
  onConflict: "on_conflict", states: "states",
};

export function uniqueToJson(u: UniquePolicy): JsonObject {
  return putDefined({}, u, UNIQUE_JSON);
}

export function uniqueFromJson(o: JsonObject): UniquePolicy {
  const u: UniquePolicy = {};
  const keys = strArray(o.keys) ?? strArray(o.key);
  if (keys) u.keys = keys;
  const ak = strArray(o.args_keys);
  if (ak) u.argsKeys = ak;
  const mk = strArray(o.meta_keys);
  if (mk) u.metaKeys = mk;
  const p = durationIn(o.period ?? o.period_ms);
  if (p !== undefined) u.period = p;
  const oc = o.on_conflict;
  if (oc === "reject" || oc === "replace" || oc === "ignore" || oc === "replace_except_schedule") u.onConflict = oc;
  const st = strArray(o.states);
  if (st) u.states = st.filter((s): s is JobState => STATES.has(s));
  return u;
}

export function jobErrorToJson(e: JobError): JsonObject {
  const o: JsonObject = { code: e.code, type: e.code, message: e.message };
  if (e.retryable !== undefined) o.retryable = e.retryable;
  if (e.attempt !== undefined) o.attempt = e.attempt;
  if (e.occurredAt) o.occurred_at = formatInstant(e.occurredAt);
  if (e.backtrace) o.backtrace = e.backtrace;
  if (e.details) o.details = e.details;
  return o;
}

export function jobErrorFromJson(o: JsonObject): JobError {
  const e: JobError = { code: str(o.code) ?? str(o.type) ?? "error", message: str(o.message) ?? "" };
  if (typeof o.retryable === "boolean") e.retryable = o.retryable;
  const a = num(o.attempt);
  if (a) e.attempt = a;
  const at = parseInstant(o.occurred_at);
  if (at) e.occurredAt = at;
  const bt = str(o.backtrace) ?? (Array.isArray(o.backtrace) ? o.backtrace.join("\n") : undefined);
  if (bt) e.backtrace = bt;
  if (isJsonObject(o.details) && Object.keys(o.details).length) e.details = o.details;
  return e;
}

// --- jobs -----------------------------------------------------------------------

/** A job's instants: JSON name, model name (RFC 3339 strings in JSON). */
const JOB_INSTANTS = [
  ["created_at", "createdAt"],
  ["enqueued_at", "enqueuedAt"],
  ["scheduled_at", "scheduledAt"],
  ["started_at", "startedAt"],
  ["completed_at", "completedAt"],
  ["cancelled_at", "cancelledAt"],
  ["expires_at", "expiresAt"],
] as const;

/** The JSON envelope of a job; `extra` holds unknown top-level fields to echo back. */
export function jobToJson(j: Job, extra?: JsonObject): JsonObject {
  const o: JsonObject = { ...extra, specversion: j.specversion, id: j.id, type: j.type, queue: j.queue, args: j.args, meta: j.meta };
  o.state = j.state;
  o.priority = j.priority;
  o.attempt = j.attempt;
  if (j.maxAttempts !== undefined) o.max_attempts = j.maxAttempts;
  if (j.retry) o.retry = retryToJson(j.retry);
  if (j.unique) o.unique = uniqueToJson(j.unique);
  if (j.result !== undefined) o.result = j.result;
  if (j.errors.length) {
    // `error` is the failure the job is in; a completed job has none, though its history keeps them.
    if (j.state !== "completed") o.error = jobErrorToJson(j.errors[j.errors.length - 1]!);
    o.errors = j.errors.map(jobErrorToJson);
  }
  for (const [k, field] of JOB_INSTANTS) {
    const d = j[field];
    if (d) o[k] = formatInstant(d);
  }
  if (j.timeout !== undefined) o.timeout_ms = j.timeout;
  if (j.visibilityTimeout !== undefined) o.visibility_timeout_ms = j.visibilityTimeout;
  if (j.tags.length) o.tags = j.tags;
  if (j.workflowId) o.workflow_id = j.workflowId;
  if (j.parentResults !== undefined) o.parent_results = j.parentResults;
  if (j.retryDelayMs !== undefined) o.retry_delay_ms = j.retryDelayMs;
  if (j.checkpoint !== undefined) o.checkpoint = { state: j.checkpoint.state, sequence: j.checkpoint.sequence };
  return o;
}

export function jobFromJson(o: JsonObject): Job {
  const state = str(o.state);
  const j: Job = {
    id: str(o.id) ?? "",
    type: str(o.type) ?? "",
    queue: str(o.queue) ?? "default",
    args: Array.isArray(o.args) ? o.args : [],
    meta: isJsonObject(o.meta) ? o.meta : {},
    state: state && STATES.has(state) ? (state as JobState) : "available",
    priority: num(o.priority) ?? 0,
    attempt: num(o.attempt) ?? 0,
    errors: [],
    tags: strArray(o.tags) ?? [],
    specversion: str(o.specversion) ?? "1.0",
  };
  const ma = num(o.max_attempts);
  if (ma) j.maxAttempts = ma;
  const retry = o.retry ?? o.retry_policy;
  if (isJsonObject(retry)) j.retry = retryFromJson(retry);
  const unique = o.unique ?? o.unique_policy;
  if (isJsonObject(unique)) j.unique = uniqueFromJson(unique);
  if ("result" in o && o.result !== undefined) j.result = o.result;
  if (Array.isArray(o.errors)) j.errors = o.errors.filter(isJsonObject).map(jobErrorFromJson);
  else if (isJsonObject(o.error)) j.errors = [jobErrorFromJson(o.error)];
  for (const [k, field] of JOB_INSTANTS) {
    const d = parseInstant(o[k]);
    if (d) j[field] = d;
  }
  const timeout = num(o.timeout_ms) ?? (num(o.timeout) !== undefined ? num(o.timeout)! * 1000 : undefined);
  if (timeout) j.timeout = timeout;
  const vis = num(o.visibility_timeout_ms) ?? (num(o.visibility_timeout) !== undefined ? num(o.visibility_timeout)! * 1000 : undefined);
  if (vis) j.visibilityTimeout = vis;
  const wf = str(o.workflow_id);
  if (wf) j.workflowId = wf;
  if (isJsonObject(o.parent_results)) j.parentResults = o.parent_results;
  // Some servers send the results of a chain's earlier steps as a list: key them by position, as WF §7 does.
  else if (Array.isArray(o.parent_results)) j.parentResults = Object.fromEntries(o.parent_results.map((r, i) => [String(i), r]));
  const rd = num(o.retry_delay_ms);
  if (rd !== undefined) j.retryDelayMs = rd;
  const cp = jobCheckpointFromJson(o.checkpoint);
  if (cp) j.checkpoint = cp;
  return j;
}

// --- worker answers ---------------------------------------------------------------

/** The body of a successful ACK: the settled job's key facts beside the whole job. */
export function ackResultToJson(j: Job, extra?: JsonObject): JsonObject {
  const o: JsonObject = { acknowledged: true, id: j.id, job_id: j.id, state: j.state };
  if (j.completedAt) o.completed_at = formatInstant(j.completedAt);
  o.job = jobToJson(j, extra);
  return o;
}

/** The body of a successful FAIL (nack): where the job went, and when it runs again if it does. */
export function nackResultToJson(j: Job, extra?: JsonObject): JsonObject {
  const o: JsonObject = { id: j.id, job_id: j.id, state: j.state, attempt: j.attempt, max_attempts: j.maxAttempts ?? 0 };
  if (j.state === "retryable" && j.scheduledAt) o.next_attempt_at = formatInstant(j.scheduledAt);
  if (j.state === "retryable" && j.retryDelayMs !== undefined) o.retry_delay_ms = j.retryDelayMs;
  if (j.state === "discarded" && j.completedAt) {
    o.discarded_at = formatInstant(j.completedAt);
    o.completed_at = formatInstant(j.completedAt);
  }
  o.job = jobToJson(j, extra);
  return o;
}

// --- enqueue requests -----------------------------------------------------------

/** The options of an enqueue request as the HTTP binding names them. */
// A table: fields grouped on a line, so prettier leaves it be.
// prettier-ignore
const REQUEST_OPTIONS_JSON: JsonFieldsOut<NormalizedJobRequest> = {
  queue: "queue", priority: "priority", timeout: "timeout_ms", scheduledAt: ["delay_until", formatInstant],
  expiresAt: ["expires_at", formatInstant], retry: ["retry", retryToJson], unique: ["unique", uniqueToJson],
  tags: "tags", visibilityTimeout: "visibility_timeout_ms", rateLimit: ["rate_limit", rateLimitToJson],
};

/** The body of POST /ojs/v1/jobs (and one entry of a batch). */
export function requestToJson(r: NormalizedJobRequest): JsonObject {
  const options = putDefined({}, r, REQUEST_OPTIONS_JSON);
  const o: JsonObject = { type: r.type, args: r.args };
  if (r.id !== undefined) o.id = r.id;
  if (r.meta !== undefined) o.meta = r.meta;
  if (r.schema !== undefined) o.schema = r.schema;
  if (Object.keys(options).length) o.options = options;
  return o;
}

const KNOWN_REQUEST_FIELDS = new Set(["id", "type", "args", "meta", "options", "schema", "specversion", "priority", "queue"]);

/**
 * Reads an enqueue body into the SDK's input shape without judging it: values of
 * the wrong type are passed through so that validation (normalizeJobRequest)
 * reports them by field name. Unknown top-level fields come back in `extra`.
 */
export function jobRequestFromJson(body: JsonObject, now = Date.now()): { request: JobRequest; extra: JsonObject } {
  const raw = isJsonObject(body.options) ? body.options : {};
  const options: Record<string, unknown> = {};
  const id = body.id ?? raw.id;
  if (id !== undefined) options.id = id;
  const queue = raw.queue ?? body.queue;
  if (queue !== undefined) options.queue = queue;
  const priority = raw.priority ?? body.priority;
  if (priority !== undefined) options.priority = priority;
  if (raw.timeout_ms !== undefined) options.timeout = raw.timeout_ms;
  else if (typeof raw.timeout === "number") options.timeout = raw.timeout * 1000;
  else if (raw.timeout !== undefined) options.timeout = raw.timeout;
  const at = raw.delay_until ?? raw.scheduled_at ?? body.scheduled_at;
  if (at !== undefined) options.scheduledAt = relativeInstant(at, now);
  if (raw.delay_ms !== undefined) options.delay = raw.delay_ms;
  const exp = raw.expires_at ?? body.expires_at;
  if (exp !== undefined) options.expiresAt = relativeInstant(exp, now);
  else if (raw.ttl_ms !== undefined) options.expiresAt = typeof raw.ttl_ms === "number" ? new Date(Date.now() + raw.ttl_ms) : raw.ttl_ms;
  const retry = raw.retry ?? raw.retry_policy;
  if (retry !== undefined) options.retry = isJsonObject(retry) ? retryInputFromJson(retry) : retry;
  if (raw.unique !== undefined) options.unique = isJsonObject(raw.unique) ? uniqueInputFromJson(raw.unique) : raw.unique;
  if (raw.tags !== undefined) options.tags = raw.tags;
  if (raw.visibility_timeout_ms !== undefined) options.visibilityTimeout = raw.visibility_timeout_ms;
  else if (typeof raw.visibility_timeout === "number") options.visibilityTimeout = raw.visibility_timeout * 1000;
  else if (typeof raw.visibility_timeout === "string") options.visibilityTimeout = raw.visibility_timeout;
  let meta = body.meta ?? raw.meta;
  // options.metadata is the OpenAPI spelling of meta, merged under it.
  if (isJsonObject(raw.metadata) && (meta === undefined || isJsonObject(meta))) meta = { ...raw.metadata, ...(meta ?? {}) };
  if (meta !== undefined) options.meta = meta;
  const schema = body.schema ?? raw.schema;
  if (schema !== undefined) options.schema = schema;
  // {max_per_second} without a key is the OpenAPI queue-level form, which the server's route reads itself.
  const rl = raw.rate_limit;
  if (rl !== undefined && rl !== null && !(isJsonObject(rl) && rl.key === undefined && rl.max_per_second !== undefined))
    options.rateLimit = rateLimitInputFromJson(rl);
  const extra: JsonObject = {};
  for (const k of Object.keys(body)) if (!KNOWN_REQUEST_FIELDS.has(k)) extra[k] = body[k]!;
  return { request: { type: body.type as string, args: body.args as JsonValue[], options: options as EnqueueOptions }, extra };
}

/** "+PT5S" means five seconds from now (OpenAPI EnqueueOptions); anything else passes through to validation. */
function relativeInstant(v: JsonValue | undefined, now: number): unknown {
  if (typeof v === "string" && v.startsWith("+")) {
    const ms = parseIsoDuration(v.slice(1));
    if (ms !== undefined) return new Date(now + ms);
  }
  return v;
}

function retryInputFromJson(o: JsonObject): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  const map: Array<[string, string]> = [
    ["max_attempts", "maxAttempts"],
    ["initial_interval", "initialInterval"],
    ["initial_interval_ms", "initialInterval"],
    ["backoff_coefficient", "backoffCoefficient"],
    ["max_interval", "maxInterval"],
    ["max_interval_ms", "maxInterval"],
    ["jitter", "jitter"],
    ["non_retryable_errors", "nonRetryableErrors"],
    ["on_exhaustion", "onExhaustion"],
    ["backoff_strategy", "backoffStrategy"],
  ];
  for (const [from, to] of map) if (o[from] !== undefined) r[to] = o[from];
  return r;
}

function uniqueInputFromJson(o: JsonObject): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  const keys = o.keys ?? o.key;
  if (keys !== undefined) r.keys = keys;
  if (o.args_keys !== undefined) r.argsKeys = o.args_keys;
  if (o.meta_keys !== undefined) r.metaKeys = o.meta_keys;
  const period = o.period ?? o.period_ms;
  if (period !== undefined) r.period = period;
  if (o.on_conflict !== undefined) r.onConflict = o.on_conflict;
  if (o.states !== undefined) r.states = o.states;
  return r;
}

export function eventToJson(e: OjsEvent, source: string): JsonObject {
  const o: JsonObject = {
    specversion: "1.0",
    id: e.id,
    type: e.type,
    source,
    time: formatInstant(e.time),
    datacontenttype: "application/json",
  };
  const subject = e.jobId ?? e.workflowId ?? e.queue;
  if (subject) o.subject = subject;
  if (e.jobId) o.job_id = e.jobId;
  if (e.jobType) o.job_type = e.jobType;
  if (e.queue) o.queue = e.queue;
  if (e.workflowId) o.workflow_id = e.workflowId;
  o.data = e.data;
  return o;
}

export function eventFromJson(o: JsonObject): OjsEvent {
  const data = isJsonObject(o.data) ? o.data : {};
  const e: OjsEvent = {
    id: str(o.id) ?? "",
    type: str(o.type) ?? "",
    time: parseInstant(o.time) ?? new Date(0),
    data,
  };
  const jobId = str(o.job_id) ?? str(data.job_id);
  if (jobId) e.jobId = jobId;
  const jobType = str(o.job_type) ?? str(data.job_type);
  if (jobType) e.jobType = jobType;
  const queue = str(o.queue) ?? str(data.queue);
  if (queue) e.queue = queue;
  const wf = str(o.workflow_id) ?? str(data.workflow_id);
  if (wf) e.workflowId = wf;
  return e;
}

export type { JsonValue };
