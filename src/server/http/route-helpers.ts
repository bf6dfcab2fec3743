/**
 * Small helpers shared by the HTTP route modules (routes.ts, admin-routes.ts,
 * rate-limit-routes.ts, admin-api-routes.ts): reading bodies and query
 * parameters, and the JSON of a job and a worker. They sit apart so the route
 * modules import them rather than each other.
 */
import { jobToJson } from "../../codec/json.js";
import { formatInstant } from "../../codec/values.js";
import { ValidationError } from "../../model/errors.js";
import type { ScopedEventFilter } from "../store/event-bus.js";
import { isJsonObject, type JsonObject } from "../../model/json.js";
import type { JobRecord, WorkerInfo } from "../store/store.js";
import type { HttpRequest } from "./router.js";

/** The request body, which must be a JSON object. */
export function objectBody(req: HttpRequest): JsonObject {
  if (!isJsonObject(req.body)) throw new ValidationError("request body must be a JSON object");
  return req.body;
}

/** A stored job as its wire JSON. */
export function jobJson(rec: Pick<JobRecord, "job" | "extra">): JsonObject {
  return jobToJson(rec.job, rec.extra);
}

/** A ValidationError naming the field at fault. */
export function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`${path}: ${message}`, { issues: [{ path, message }] });
}

/** A required non-empty string field of a body. */
export function stringField(o: JsonObject, name: string): string {
  const v = o[name];
  if (typeof v !== "string" || v === "") throw invalid(name, "must be a non-empty string");
  return v;
}

/** An optional positive number of milliseconds from a body. */
export function optionalMs(o: JsonObject, name: string): number | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw invalid(name, "must be a positive number of milliseconds");
  return v;
}

/** The `queues` field of a fetch body (default: ["default"]). */
export function queuesField(o: JsonObject): string[] {
  const q = o.queues;
  if (q === undefined) return ["default"];
  if (!Array.isArray(q) || q.length === 0 || !q.every((x) => typeof x === "string")) throw invalid("queues", "must be a non-empty array of queue names");
  return q as string[];
}

/** A query parameter as a non-negative integer, or the default. */
export function intParam(q: URLSearchParams, name: string, def: number, max: number): number {
  const raw = q.get(name);
  if (raw === null || raw === "") return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw invalid(name, "must be a non-negative integer");
  return Math.min(n, max);
}

function listParam(q: URLSearchParams, name: string): string[] | undefined {
  const v = q
    .getAll(name)
    .flatMap((x) => x.split(","))
    .map((x) => x.trim())
    .filter(Boolean);
  return v.length ? v : undefined;
}

/** The event filter of an events stream from its query parameters. */
/** The query's event filter, scoped to the caller's tenant when it has one (multi-tenancy). */
export function eventFilter(q: URLSearchParams, tenant?: string): ScopedEventFilter {
  const f: ScopedEventFilter = tenant !== undefined ? { tenant } : {};
  const queues = listParam(q, "queues") ?? listParam(q, "queue");
  if (queues) f.queues = queues;
  const types = listParam(q, "types") ?? listParam(q, "type");
  if (types) f.types = types;
  const job = q.get("job_id");
  if (job) f.jobId = job;
  const wf = q.get("workflow_id");
  if (wf) f.workflowId = wf;
  return f;
}

/** The id an SSE client resumes after (header or query parameter). */
export function lastEventId(req: HttpRequest): string | undefined {
  const h = req.headers["last-event-id"];
  return (Array.isArray(h) ? h[0] : h) ?? req.query.get("last_event_id") ?? undefined;
}

/** A worker as the admin and worker routes show it. */
export function workerJson(w: WorkerInfo, now: number): JsonObject {
  return {
    id: w.id,
    worker_id: w.id,
    state: w.state,
    directive: w.directive,
    active_jobs: w.activeJobIds.length,
    active_job_ids: w.activeJobIds,
    started_at: formatInstant(new Date(w.firstSeen)),
    last_heartbeat_at: formatInstant(new Date(w.lastSeen)),
    seconds_since_heartbeat: Math.max(0, Math.round((now - w.lastSeen) / 1000)),
  };
}
