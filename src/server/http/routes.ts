/**
 * The OJS HTTP/JSON binding over the store: one handler per route, each a thin
 * translation between the wire JSON (src/codec/json.ts) and a store call.
 */
import { jobErrorFromJson, jobRequestFromJson, jobToJson } from "../../codec/json.js";
import { formatInstant } from "../../codec/values.js";
import { ValidationError } from "../../model/errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import { normalizeJobRequest } from "../../model/schemas.js";
import type { WorkerDirective } from "../../model/system.js";
import type { ServerCore } from "../core.js";
import type { JobRecord } from "../store/store.js";
import { HttpRouter, type HttpRequest } from "./router.js";

function objectBody(req: HttpRequest): JsonObject {
  if (!isJsonObject(req.body)) throw new ValidationError("request body must be a JSON object");
  return req.body;
}

function jobJson(rec: JobRecord): JsonObject {
  return jobToJson(rec.job, rec.extra);
}

function stringField(o: JsonObject, name: string): string {
  const v = o[name];
  if (typeof v !== "string" || v === "") throw new ValidationError(`${name}: must be a non-empty string`, { issues: [{ path: name, message: "must be a non-empty string" }] });
  return v;
}

function optionalMs(o: JsonObject, name: string): number | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
    throw new ValidationError(`${name}: must be a positive number of milliseconds`, { issues: [{ path: name, message: "must be a positive number of milliseconds" }] });
  return v;
}

function queuesField(o: JsonObject): string[] {
  const q = o.queues;
  if (q === undefined) return ["default"];
  if (!Array.isArray(q) || q.length === 0 || !q.every((x) => typeof x === "string"))
    throw new ValidationError("queues: must be a non-empty array of queue names", { issues: [{ path: "queues", message: "must be a non-empty array of queue names" }] });
  return q as string[];
}

const DIRECTIVES = new Set<string>(["running", "quiet", "terminate"]);

export function httpRoutes(core: ServerCore, router = new HttpRouter()): HttpRouter {
  const store = core.store;

  router.on("GET", "/ojs/manifest", () => {
    const m = core.manifest();
    const body: JsonObject = {
      specversion: m.specversion,
      implementation: m.implementation,
      conformance_level: m.conformanceLevel,
      protocols: m.protocols,
      backend: m.backend,
      extensions: m.extensions,
    };
    if (m.schemaValidation !== undefined) body.schema_validation = m.schemaValidation;
    return { status: 200, body };
  });

  router.on("GET", "/ojs/v1/health", () => {
    const h = core.health();
    const body: JsonObject = { status: h.status, timestamp: formatInstant(h.timestamp ?? new Date()), ...(h.details ?? {}) };
    return { status: h.status === "unhealthy" ? 503 : 200, body };
  });

  router.on("POST", "/ojs/v1/jobs", (req) => {
    const { request, extra } = jobRequestFromJson(objectBody(req));
    const rec = store.enqueue(normalizeJobRequest(request), extra);
    return { status: 201, body: { job: jobJson(rec) } };
  });

  router.on("POST", "/ojs/v1/jobs/batch", (req) => {
    const body = objectBody(req);
    if (!Array.isArray(body.jobs) || body.jobs.length === 0)
      throw new ValidationError("jobs: must be a non-empty array of jobs", { issues: [{ path: "jobs", message: "must be a non-empty array" }] });
    const entries = body.jobs.map((j, i) => {
      if (!isJsonObject(j)) throw new ValidationError(`jobs[${i}]: must be a JSON object`);
      const { request, extra } = jobRequestFromJson(j);
      try {
        return { req: normalizeJobRequest(request), extra };
      } catch (e) {
        if (e instanceof Error) e.message = `jobs[${i}].${e.message}`;
        throw e;
      }
    });
    const recs = store.enqueueBatch(entries);
    return { status: 201, body: { jobs: recs.map(jobJson), count: recs.length } };
  });

  router.on("GET", "/ojs/v1/jobs/:id", (req) => ({ status: 200, body: { job: jobJson(store.get(req.params.id!)) } }));

  router.on("DELETE", "/ojs/v1/jobs/:id", (req) => ({ status: 200, body: { job: jobJson(store.cancel(req.params.id!)) } }));

  router.on("POST", "/ojs/v1/workers/fetch", (req) => {
    const body = objectBody(req);
    const count = body.count;
    if (count !== undefined && (typeof count !== "number" || !Number.isInteger(count) || count < 1))
      throw new ValidationError("count: must be a positive integer", { issues: [{ path: "count", message: "must be a positive integer" }] });
    const recs = store.fetch({
      queues: queuesField(body),
      count: count ?? 1,
      workerId: typeof body.worker_id === "string" ? body.worker_id : undefined,
      visibilityTimeoutMs: optionalMs(body, "visibility_timeout_ms"),
    });
    return { status: 200, body: { jobs: recs.map(jobJson) } };
  });

  router.on("POST", "/ojs/v1/workers/ack", (req) => {
    const body = objectBody(req);
    const id = stringField(body, "job_id");
    const rec = store.ack(id, "result" in body ? (body.result as JsonValue) : undefined, typeof body.worker_id === "string" ? body.worker_id : undefined);
    return {
      status: 200,
      body: { acknowledged: true, job_id: id, state: rec.job.state, completed_at: formatInstant(rec.job.completedAt!), job: jobJson(rec) },
    };
  });

  router.on("POST", "/ojs/v1/workers/nack", (req) => {
    const body = objectBody(req);
    const id = stringField(body, "job_id");
    if (!isJsonObject(body.error)) throw new ValidationError("error: must be an object with code and message", { issues: [{ path: "error", message: "must be an object" }] });
    const error = jobErrorFromJson(body.error);
    if (typeof body.error.retryable !== "boolean") delete error.retryable;
    const out = store.nack(id, error, typeof body.worker_id === "string" ? body.worker_id : undefined);
    const j = out.rec.job;
    const res: JsonObject = { id, job_id: id, state: j.state, attempt: j.attempt, max_attempts: j.maxAttempts ?? 0 };
    if (out.nextAttemptAt) res.next_attempt_at = formatInstant(out.nextAttemptAt);
    if (out.retryDelayMs !== undefined) res.retry_delay_ms = out.retryDelayMs;
    if (j.state === "discarded" && j.completedAt) res.discarded_at = formatInstant(j.completedAt);
    res.job = jobJson(out.rec);
    return { status: 200, body: res };
  });

  router.on("POST", "/ojs/v1/workers/heartbeat", (req) => {
    const body = objectBody(req);
    const workerId = stringField(body, "worker_id");
    const ids = new Set<string>();
    for (const field of ["active_jobs", "active_job_ids"]) {
      const v = body[field];
      if (Array.isArray(v)) for (const x of v) if (typeof x === "string") ids.add(x);
    }
    if (typeof body.job_id === "string") ids.add(body.job_id);
    if (typeof body.id === "string") ids.add(body.id);
    const state = typeof body.state === "string" && DIRECTIVES.has(body.state) ? (body.state as WorkerDirective) : undefined;
    const out = store.heartbeat({ workerId, state, jobIds: [...ids], visibilityTimeoutMs: optionalMs(body, "visibility_timeout_ms") });
    return {
      status: 200,
      body: { state: out.directive, directive: out.directive, jobs_extended: out.extended, server_time: formatInstant(new Date(store.clock.now())) },
    };
  });

  return router;
}
