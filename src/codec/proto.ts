/**
 * Domain model <-> ojs.v1 protobuf messages. Used by the gRPC transport and by
 * the embedded server's gRPC adapter, so both ends agree by construction.
 *
 * The proto has no field for a few things the domain model carries. They ride
 * in `meta` under reserved keys (RESERVED_META) and are lifted back out on the
 * other side, so users never see them in `job.meta`:
 *   - "ojs.id"             client-chosen job id on enqueue (EnqueueOptions has no id)
 *   - "ojs.schema"         schema name to validate args against
 *   - "ojs.parent_results" results of the workflow steps a job depends on
 *   - "ojs.expires_at"     absolute expiry on enqueue (the proto only has a relative ttl)
 *   - "ojs.backoff_strategy" the retry policy's backoff_strategy extension field, on enqueue
 *   - "ojs.retry_delay_ms" the backoff applied before the job's current or next attempt
 * A cancelled job's cancelled_at travels in completed_at: the proto has one
 * "finished" timestamp, and the state says which kind of finish it was.
 * A result that is not a plain object travels as {"$value": result}, because the
 * proto field is a Struct; an object whose only key is "$value" is wrapped too,
 * so the mapping is a bijection.
 */
import { rateLimitFromWire, rateLimitToJson } from "./rate-limit.js";
import { create } from "@bufbuild/protobuf";
import type { JsonObject as PbJsonObject } from "@bufbuild/protobuf";
import {
  EnqueueOptionsSchema,
  EnqueueRequestSchema,
  JobErrorSchema,
  JobSchema,
  JobState as PbJobState,
  RetryPolicySchema,
  UniqueConflictAction,
  UniquePolicySchema,
  type EnqueueOptions as PbEnqueueOptions,
  type EnqueueRequest,
  type Job as PbJob,
  type JobError as PbJobError,
  type RetryPolicy as PbRetryPolicy,
  type UniquePolicy as PbUniquePolicy,
} from "../../gen/ojs/v1/job_pb.js";
import { WorkerState } from "../../gen/ojs/v1/worker_pb.js";
import { EventSchema, type Event as PbEvent } from "../../gen/ojs/v1/events_pb.js";
import {
  WorkflowSchema,
  WorkflowStepStatusSchema,
  WorkflowState as PbWorkflowState,
  WorkflowStepState as PbWorkflowStepState,
  type Workflow as PbWorkflow,
} from "../../gen/ojs/v1/workflow_pb.js";
import { HealthStatus as PbHealthStatus } from "../../gen/ojs/v1/service_pb.js";
import {
  JOB_STATES,
  type Job,
  type JobError,
  type JobState,
  type NormalizedJobRequest,
  type RetryPolicy,
  type UniqueConflict,
  type UniquePolicy,
} from "../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../model/json.js";
import type { HealthStatus, WorkerDirective } from "../model/system.js";
import type { Workflow, WorkflowState, WorkflowStepState } from "../model/workflow.js";
import type { OjsEvent } from "../model/events.js";
import { dateFromTimestamp, durationFromMs, formatInstant, msFromDuration, parseInstant, timestampFromDate, valueFromJson, valueToJson } from "./values.js";

export const RESERVED_META = {
  id: "ojs.id",
  schema: "ojs.schema",
  parentResults: "ojs.parent_results",
  expiresAt: "ojs.expires_at",
  backoffStrategy: "ojs.backoff_strategy",
  retryDelayMs: "ojs.retry_delay_ms",
  /** Rate-limiting extension: ojs.v1 EnqueueOptions has no field for rate_limit. */
  rateLimit: "ojs.rate_limit",
} as const;
const RESULT_KEY = "$value";

/**
 * gRPC request header a worker may send on Fetch and StreamJobs to ask for a
 * reservation length in milliseconds: the proto has no field for it. Servers
 * that do not know it ignore it and apply their default.
 */
export const VISIBILITY_HEADER = "x-ojs-visibility-timeout-ms";

// --- enums -----------------------------------------------------------------

const JOB_STATE_TO_PB = byName<JobState, PbJobState>(JOB_STATES, PbJobState);
const JOB_STATE_FROM_PB = invert(JOB_STATE_TO_PB);

export function jobStateToProto(s: JobState): PbJobState {
  return JOB_STATE_TO_PB[s];
}
export function jobStateFromProto(s: PbJobState): JobState | undefined {
  return JOB_STATE_FROM_PB.get(s);
}

const CONFLICT_TO_PB = byName<UniqueConflict, UniqueConflictAction>(["reject", "replace", "ignore", "replace_except_schedule"], UniqueConflictAction);
const CONFLICT_FROM_PB = invert(CONFLICT_TO_PB);

const DIRECTIVE_TO_PB = byName<WorkerDirective, WorkerState>(["running", "quiet", "terminate"], WorkerState);
const DIRECTIVE_FROM_PB = invert(DIRECTIVE_TO_PB);
export function workerStateToProto(s: WorkerDirective): WorkerState {
  return DIRECTIVE_TO_PB[s];
}
export function workerStateFromProto(s: WorkerState): WorkerDirective | undefined {
  return DIRECTIVE_FROM_PB.get(s);
}

// The proto has no PENDING workflow: a pending workflow goes out as RUNNING (and comes back running).
const WF_STATE_TO_PB = {
  ...byName<WorkflowState, PbWorkflowState>(["running", "completed", "failed", "cancelled"], PbWorkflowState),
  pending: PbWorkflowState.RUNNING,
};
const WF_STATE_FROM_PB = invert(WF_STATE_TO_PB);
const STEP_STATE_TO_PB = byName<WorkflowStepState, PbWorkflowStepState>(
  ["waiting", "pending", "active", "completed", "failed", "cancelled"],
  PbWorkflowStepState,
);
const STEP_STATE_FROM_PB = invert(STEP_STATE_TO_PB);

const HEALTH_TO_PB = byName<HealthStatus, PbHealthStatus>(["ok", "degraded", "unhealthy"], PbHealthStatus);
const HEALTH_FROM_PB = invert(HEALTH_TO_PB);
export function healthToProto(s: HealthStatus): PbHealthStatus {
  return HEALTH_TO_PB[s];
}
export function healthFromProto(s: PbHealthStatus): HealthStatus {
  return HEALTH_FROM_PB.get(s) ?? "unhealthy";
}

// --- results ---------------------------------------------------------------

export function resultToStruct(result: JsonValue): PbJsonObject {
  if (isJsonObject(result)) {
    const keys = Object.keys(result);
    if (!(keys.length === 1 && keys[0] === RESULT_KEY)) return result as PbJsonObject;
  }
  return { [RESULT_KEY]: result } as PbJsonObject;
}

export function resultFromStruct(s: PbJsonObject): JsonValue {
  const keys = Object.keys(s);
  if (keys.length === 1 && keys[0] === RESULT_KEY) return (s as JsonObject)[RESULT_KEY]!;
  return s as JsonObject;
}

// --- policies ---------------------------------------------------------------

export function retryToProto(r: RetryPolicy): PbRetryPolicy {
  const p = create(RetryPolicySchema, {
    maxAttempts: r.maxAttempts ?? 0,
    backoffCoefficient: r.backoffCoefficient ?? 0,
    // proto3 cannot say "unset" for a bool: send the spec default so that it is not read as false.
    jitter: r.jitter ?? true,
    nonRetryableErrors: r.nonRetryableErrors ?? [],
    onExhaustion: r.onExhaustion ?? "",
  });
  if (r.initialInterval !== undefined) p.initialInterval = durationFromMs(r.initialInterval);
  if (r.maxInterval !== undefined) p.maxInterval = durationFromMs(r.maxInterval);
  return p;
}

/** Zero values mean "not set" in proto3; they come back as absent fields. */
export function retryFromProto(p: PbRetryPolicy): RetryPolicy {
  const r: RetryPolicy = {};
  if (p.maxAttempts) r.maxAttempts = p.maxAttempts;
  if (p.initialInterval) r.initialInterval = msFromDuration(p.initialInterval);
  if (p.backoffCoefficient) r.backoffCoefficient = p.backoffCoefficient;
  if (p.maxInterval) r.maxInterval = msFromDuration(p.maxInterval);
  r.jitter = p.jitter;
  if (p.nonRetryableErrors.length) r.nonRetryableErrors = [...p.nonRetryableErrors];
  if (p.onExhaustion === "discard" || p.onExhaustion === "dead_letter") r.onExhaustion = p.onExhaustion;
  return r;
}

export function uniqueToProto(u: UniquePolicy): PbUniquePolicy {
  const p = create(UniquePolicySchema, {
    key: u.keys ?? [],
    argsKeys: u.argsKeys ?? [],
    metaKeys: u.metaKeys ?? [],
    onConflict: u.onConflict ? CONFLICT_TO_PB[u.onConflict] : UniqueConflictAction.UNSPECIFIED,
    states: (u.states ?? []).map(jobStateToProto),
  });
  if (u.period !== undefined) p.period = durationFromMs(u.period);
  return p;
}

export function uniqueFromProto(p: PbUniquePolicy): UniquePolicy {
  const u: UniquePolicy = {};
  if (p.key.length) u.keys = [...p.key];
  if (p.argsKeys.length) u.argsKeys = [...p.argsKeys];
  if (p.metaKeys.length) u.metaKeys = [...p.metaKeys];
  if (p.period) u.period = msFromDuration(p.period);
  const c = CONFLICT_FROM_PB.get(p.onConflict);
  if (c) u.onConflict = c;
  const states = p.states.map(jobStateFromProto).filter((s): s is JobState => s !== undefined);
  if (states.length) u.states = states;
  return u;
}

export function jobErrorToProto(e: JobError): PbJobError {
  const p = create(JobErrorSchema, {
    code: e.code,
    message: e.message,
    retryable: e.retryable ?? false,
    attempt: e.attempt ?? 0,
    backtrace: e.backtrace ?? "",
  });
  if (e.occurredAt) p.occurredAt = timestampFromDate(e.occurredAt);
  if (e.details) p.details = e.details as PbJsonObject;
  return p;
}

export function jobErrorFromProto(p: PbJobError): JobError {
  const e: JobError = { code: p.code, message: p.message, retryable: p.retryable };
  if (p.attempt) e.attempt = p.attempt;
  if (p.occurredAt) e.occurredAt = dateFromTimestamp(p.occurredAt);
  if (p.backtrace) e.backtrace = p.backtrace;
  if (p.details && Object.keys(p.details).length) e.details = p.details as JsonObject;
  return e;
}

// --- jobs --------------------------------------------------------------------

export function jobToProto(j: Job): PbJob {
  let meta: JsonObject = j.meta;
  if (j.parentResults !== undefined) meta = { ...meta, [RESERVED_META.parentResults]: j.parentResults };
  if (j.retryDelayMs !== undefined) meta = { ...meta, [RESERVED_META.retryDelayMs]: j.retryDelayMs };
  const p = create(JobSchema, {
    id: j.id,
    type: j.type,
    queue: j.queue,
    args: j.args.map(valueFromJson),
    meta: meta as PbJsonObject,
    state: JOB_STATE_TO_PB[j.state],
    priority: j.priority,
    attempt: j.attempt,
    maxAttempts: j.maxAttempts ?? 0,
    errors: j.errors.map(jobErrorToProto),
    tags: j.tags,
    workflowId: j.workflowId ?? "",
    specversion: j.specversion,
  });
  if (j.retry) p.retryPolicy = retryToProto(j.retry);
  if (j.unique) p.uniquePolicy = uniqueToProto(j.unique);
  if (j.result !== undefined) p.result = resultToStruct(j.result);
  if (j.createdAt) p.createdAt = timestampFromDate(j.createdAt);
  if (j.enqueuedAt) p.enqueuedAt = timestampFromDate(j.enqueuedAt);
  if (j.scheduledAt) p.scheduledAt = timestampFromDate(j.scheduledAt);
  if (j.startedAt) p.startedAt = timestampFromDate(j.startedAt);
  const finished = j.completedAt ?? (j.state === "cancelled" ? j.cancelledAt : undefined);
  if (finished) p.completedAt = timestampFromDate(finished);
  if (j.expiresAt) p.expiresAt = timestampFromDate(j.expiresAt);
  if (j.timeout !== undefined) p.timeout = durationFromMs(j.timeout);
  if (j.visibilityTimeout !== undefined) p.visibilityTimeout = durationFromMs(j.visibilityTimeout);
  return p;
}

/** The Job instants before completion, under the same names in the proto (completed_at is a case apart). */
const EARLY_INSTANTS = ["createdAt", "enqueuedAt", "scheduledAt", "startedAt"] as const;

export function jobFromProto(p: PbJob): Job {
  const meta: JsonObject = { ...((p.meta as JsonObject | undefined) ?? {}) };
  const parentResults = meta[RESERVED_META.parentResults];
  const retryDelayMs = meta[RESERVED_META.retryDelayMs];
  delete meta[RESERVED_META.parentResults];
  delete meta[RESERVED_META.retryDelayMs];
  const j: Job = {
    id: p.id,
    type: p.type,
    queue: p.queue,
    args: p.args.map(valueToJson),
    meta,
    state: JOB_STATE_FROM_PB.get(p.state) ?? "available",
    priority: p.priority,
    attempt: p.attempt,
    errors: p.errors.map(jobErrorFromProto),
    tags: [...p.tags],
    specversion: p.specversion || "1.0",
  };
  if (p.maxAttempts) j.maxAttempts = p.maxAttempts;
  if (p.retryPolicy) j.retry = retryFromProto(p.retryPolicy);
  if (p.uniquePolicy) j.unique = uniqueFromProto(p.uniquePolicy);
  if (p.result) j.result = resultFromStruct(p.result);
  for (const f of EARLY_INSTANTS) {
    const t = p[f];
    if (t) j[f] = dateFromTimestamp(t);
  }
  if (p.completedAt) {
    if (j.state === "cancelled") j.cancelledAt = dateFromTimestamp(p.completedAt);
    else j.completedAt = dateFromTimestamp(p.completedAt);
  }
  if (p.expiresAt) j.expiresAt = dateFromTimestamp(p.expiresAt);
  if (p.timeout) j.timeout = msFromDuration(p.timeout);
  if (p.visibilityTimeout) j.visibilityTimeout = msFromDuration(p.visibilityTimeout);
  if (p.workflowId) j.workflowId = p.workflowId;
  if (isJsonObject(parentResults)) j.parentResults = parentResults;
  if (typeof retryDelayMs === "number") j.retryDelayMs = retryDelayMs;
  return j;
}

// --- enqueue -----------------------------------------------------------------

/**
 * `tunnel` false leaves out the reserved meta keys: only an ojs-connect server
 * reads them, and another server would store them as the user's meta.
 */
export function optionsToProto(r: Omit<NormalizedJobRequest, "type" | "args">, now = Date.now(), tunnel = true): PbEnqueueOptions {
  let meta: JsonObject | undefined = r.meta;
  const reserved: JsonObject = {};
  if (tunnel) {
    if (r.id !== undefined) reserved[RESERVED_META.id] = r.id;
    if (r.schema !== undefined) reserved[RESERVED_META.schema] = r.schema;
    if (r.expiresAt !== undefined) reserved[RESERVED_META.expiresAt] = formatInstant(r.expiresAt);
    if (r.retry?.backoffStrategy !== undefined) reserved[RESERVED_META.backoffStrategy] = r.retry.backoffStrategy;
    if (r.rateLimit !== undefined) reserved[RESERVED_META.rateLimit] = rateLimitToJson(r.rateLimit);
  }
  if (Object.keys(reserved).length) meta = { ...(meta ?? {}), ...reserved };
  const o = create(EnqueueOptionsSchema, {
    queue: r.queue ?? "",
    priority: r.priority ?? 0,
    tags: r.tags ?? [],
    maxAttempts: r.retry?.maxAttempts ?? 0,
  });
  if (meta !== undefined) o.meta = meta as PbJsonObject;
  if (r.scheduledAt !== undefined) o.delayUntil = timestampFromDate(r.scheduledAt);
  if (r.timeout !== undefined) o.timeout = durationFromMs(r.timeout);
  if (r.retry !== undefined) o.retry = retryToProto(r.retry);
  if (r.unique !== undefined) o.unique = uniqueToProto(r.unique);
  // Servers that ignore the reserved key still expire the job through ttl.
  if (r.expiresAt !== undefined) o.ttl = durationFromMs(Math.max(0, r.expiresAt.getTime() - now));
  if (r.visibilityTimeout !== undefined) o.visibilityTimeout = durationFromMs(r.visibilityTimeout);
  return o;
}

export function requestToProto(r: NormalizedJobRequest, now = Date.now(), tunnel = true): EnqueueRequest {
  return create(EnqueueRequestSchema, { type: r.type, args: r.args.map(valueFromJson), options: optionsToProto(r, now, tunnel) });
}

/**
 * The inverse of optionsToProto, for servers. Not validated here: the result
 * goes through the same checks as a request that arrived as JSON.
 */
export function optionsFromProto(o: PbEnqueueOptions | undefined, now = Date.now()): Omit<NormalizedJobRequest, "type" | "args"> {
  const r: Omit<NormalizedJobRequest, "type" | "args"> = {};
  if (!o) return r;
  const meta: JsonObject = { ...((o.meta as JsonObject | undefined) ?? {}) };
  const id = meta[RESERVED_META.id];
  const schema = meta[RESERVED_META.schema];
  const expiresAt = meta[RESERVED_META.expiresAt];
  const strategy = meta[RESERVED_META.backoffStrategy];
  const rateLimit = meta[RESERVED_META.rateLimit];
  delete meta[RESERVED_META.rateLimit];
  // In the wire's form (ISO periods, on_limit): the server validates it as it does JSON.
  if (rateLimit !== undefined) r.rateLimit = rateLimitFromWire(rateLimit);
  delete meta[RESERVED_META.id];
  delete meta[RESERVED_META.schema];
  delete meta[RESERVED_META.expiresAt];
  delete meta[RESERVED_META.backoffStrategy];
  if (typeof id === "string") r.id = id;
  if (typeof schema === "string") r.schema = schema;
  // An empty meta says nothing (the server defaults it to {}); normalized requests leave it out.
  if (Object.keys(meta).length > 0) r.meta = meta;
  if (o.queue) r.queue = o.queue;
  if (o.priority) r.priority = o.priority;
  if (o.tags.length) r.tags = [...o.tags];
  if (o.delayUntil) r.scheduledAt = dateFromTimestamp(o.delayUntil);
  if (o.timeout) r.timeout = msFromDuration(o.timeout);
  if (o.retry) r.retry = retryFromProto(o.retry);
  if (o.maxAttempts) r.retry = { ...(r.retry ?? {}), maxAttempts: o.maxAttempts };
  if (strategy === "exponential" || strategy === "linear" || strategy === "constant" || strategy === "polynomial")
    r.retry = { ...(r.retry ?? {}), backoffStrategy: strategy };
  if (o.unique) r.unique = uniqueFromProto(o.unique);
  // As written (JSON format §5.3): the server answers over HTTP with the producer's form.
  const at = parseInstant(expiresAt);
  if (at) r.expiresAt = at;
  else if (o.ttl) r.expiresAt = new Date(now + msFromDuration(o.ttl));
  if (o.visibilityTimeout) r.visibilityTimeout = msFromDuration(o.visibilityTimeout);
  return r;
}

export function requestFromProto(
  type: string,
  args: ReadonlyArray<import("@bufbuild/protobuf/wkt").Value>,
  o: PbEnqueueOptions | undefined,
  now = Date.now(),
): NormalizedJobRequest {
  return { type, args: args.map(valueToJson), ...optionsFromProto(o, now) };
}

// --- workflows, events --------------------------------------------------------

export function workflowFromProto(p: PbWorkflow): Workflow {
  const w: Workflow = {
    id: p.id,
    name: p.name,
    state: WF_STATE_FROM_PB.get(p.state) ?? "running",
    steps: p.steps.map((s) => {
      const step: Workflow["steps"][number] = {
        id: s.id,
        type: s.type,
        state: STEP_STATE_FROM_PB.get(s.state) ?? "waiting",
        dependsOn: [...s.dependsOn],
      };
      if (s.jobId) step.jobId = s.jobId;
      return step;
    }),
  };
  if (p.createdAt) w.createdAt = dateFromTimestamp(p.createdAt);
  if (p.completedAt) w.completedAt = dateFromTimestamp(p.completedAt);
  return w;
}

export function workflowToProto(w: Workflow): PbWorkflow {
  const p = create(WorkflowSchema, {
    id: w.id,
    name: w.name,
    state: WF_STATE_TO_PB[w.state],
    steps: w.steps.map((s) =>
      create(WorkflowStepStatusSchema, { id: s.id, type: s.type, state: STEP_STATE_TO_PB[s.state], jobId: s.jobId ?? "", dependsOn: s.dependsOn }),
    ),
  });
  if (w.createdAt) p.createdAt = timestampFromDate(w.createdAt);
  if (w.completedAt) p.completedAt = timestampFromDate(w.completedAt);
  return p;
}

export function workflowStateToProto(s: WorkflowState): PbWorkflowState {
  return WF_STATE_TO_PB[s];
}
export function stepStateToProto(s: WorkflowStepState): PbWorkflowStepState {
  return STEP_STATE_TO_PB[s];
}

export function eventToProto(e: OjsEvent): PbEvent {
  const p = create(EventSchema, {
    id: e.id,
    type: e.type,
    jobId: e.jobId ?? "",
    jobType: e.jobType ?? "",
    queue: e.queue ?? "",
    workflowId: e.workflowId ?? "",
    timestamp: timestampFromDate(e.time),
    data: e.data as PbJsonObject,
  });
  return p;
}

export function eventFromProto(p: PbEvent): OjsEvent {
  const e: OjsEvent = {
    id: p.id,
    type: p.type,
    time: p.timestamp ? dateFromTimestamp(p.timestamp) : new Date(0),
    data: (p.data as JsonObject | undefined) ?? {},
  };
  if (p.jobId) e.jobId = p.jobId;
  if (p.jobType) e.jobType = p.jobType;
  if (p.queue) e.queue = p.queue;
  if (p.workflowId) e.workflowId = p.workflowId;
  return e;
}

/** Each model name to the generated enum's member of that name in capitals (`replace_except_schedule` -> REPLACE_EXCEPT_SCHEDULE; test/unit/proto-enums.test.ts). */
function byName<K extends string, V>(names: readonly K[], pb: Record<string, unknown>): Record<K, V> {
  const out = {} as Record<K, V>;
  for (const n of names) out[n] = pb[n.toUpperCase()] as V;
  return out;
}

function invert<K extends string, V>(m: Record<K, V>): Map<V, K> {
  const out = new Map<V, K>();
  for (const [k, v] of Object.entries(m) as Array<[K, V]>) if (!out.has(v)) out.set(v, k);
  return out;
}
