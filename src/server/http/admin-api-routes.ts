/**
 * The admin-api extension over HTTP (ojs-admin-api §6-§11): queues with
 * per-state counts, job search, bulk actions, workers and statistics, all
 * under /ojs/v1/admin/. Requests are parsed and checked here; the work is
 * done by src/server/admin, the JSON shapes come from src/codec/admin-api.
 */
import {
  adminQueueToJson,
  bulkResultToJson,
  HISTORY_PERIODS,
  historyToJson,
  isJobState,
  pageToJson,
  purgeResultToJson,
  queueDetailToJson,
  statsToJson,
  adminWorkerToJson,
  workerListToJson,
} from "../../codec/admin-api.js";
import { parseInstant } from "../../codec/values.js";
import type { BulkAction, HistoryPeriod, JobFilter, JobListOptions, JobSortField, PageOptions } from "../../model/admin.js";
import { ValidationError } from "../../model/errors.js";
import type { JobState } from "../../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import { bulk, listJobs, MAX_PURGE_LIMIT, purgeDeadLetter, purgeQueue, requireConfirm } from "../admin/jobs.js";
import { AdminViews } from "../admin/views.js";
import type { ServerCore } from "../core.js";
import type { JobRecord } from "../store/records.js";
import { jobJson } from "./route-helpers.js";
import type { HttpRequest, HttpRouter } from "./router.js";

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`${path}: ${message}`, { issues: [{ path, message }] });
}

/** A query parameter or body field, whichever the request has (body first). */
type Source = { get(name: string): JsonValue | undefined };

function querySource(q: URLSearchParams): Source {
  return { get: (n) => q.get(n) ?? undefined };
}

function bodySource(o: JsonObject): Source {
  return { get: (n) => o[n] };
}

function optString(src: Source, name: string): string | undefined {
  const v = src.get(name);
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw invalid(name, "must be a string");
  return v;
}

function optInt(src: Source, name: string): number | undefined {
  const v = src.get(name);
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw invalid(name, "must be an integer");
  return n;
}

function optInstant(src: Source, name: string): Date | undefined {
  const v = optString(src, name);
  if (v === undefined) return undefined;
  const d = parseInstant(v);
  if (!d) throw invalid(name, "must be an RFC 3339 timestamp");
  return d;
}

function optState(src: Source, name: string): JobState | undefined {
  const v = optString(src, name);
  if (v !== undefined && !isJobState(v)) throw invalid(name, `must be a job state, not ${JSON.stringify(v)}`);
  return v;
}

function optBoolean(src: Source, name: string): boolean | undefined {
  const v = src.get(name);
  if (v === undefined || v === null || v === "") return undefined;
  if (v !== true && v !== false && v !== "true" && v !== "false") throw invalid(name, "must be true or false");
  return v === true || v === "true";
}

/** For each option, the field it is read from and how; read in this order, so the first bad field is the one reported. */
type Fields<T> = { [K in keyof T]-?: [name: string, read: (src: Source, name: string) => T[K] | undefined] };

/** The options the request gives; an absent field is left out. */
function readFields<T extends object>(src: Source, fields: Fields<T>): T {
  const out: Partial<T> = {};
  for (const key of Object.keys(fields) as Array<keyof T>) {
    const [name, read] = fields[key];
    const v = read(src, name);
    if (v !== undefined) out[key] = v;
  }
  return out as T;
}

const FILTER_FIELDS: Fields<JobFilter> = {
  queue: ["queue", optString],
  state: ["state", optState],
  type: ["type", optString],
  since: ["since", optInstant],
  until: ["until", optInstant],
  deadLetter: ["dead_letter", optBoolean],
};

const PAGE_FIELDS: Fields<PageOptions> = { page: ["page", optInt], perPage: ["per_page", optInt] };

const filterFrom = (src: Source): JobFilter => readFields(src, FILTER_FIELDS);
const pageFrom = (src: Source): PageOptions => readFields(src, PAGE_FIELDS);

const SORTS: ReadonlySet<string> = new Set<JobSortField>(["created_at", "scheduled_at", "priority"]);

function listOptions(q: URLSearchParams): JobListOptions {
  const src = querySource(q);
  const o: JobListOptions = { ...filterFrom(src), ...pageFrom(src) };
  const sort = optString(src, "sort");
  if (sort !== undefined) {
    if (!SORTS.has(sort)) throw invalid("sort", "must be created_at, scheduled_at or priority");
    o.sort = sort as JobSortField;
  }
  const order = optString(src, "order");
  if (order !== undefined) {
    if (order !== "asc" && order !== "desc") throw invalid("order", "must be asc or desc");
    o.order = order;
  }
  return o;
}

function body(req: HttpRequest): JsonObject {
  if (!isJsonObject(req.body)) throw new ValidationError("request body must be a JSON object");
  return req.body;
}

/** confirm from the body, or ?confirm=true for clients that cannot send a DELETE body. */
function confirmOf(req: HttpRequest, b: JsonObject): unknown {
  return b.confirm ?? (req.query.get("confirm") === "true" ? true : undefined);
}

function statesOf(req: HttpRequest, b: JsonObject): JobState[] {
  const raw: JsonValue | undefined =
    b.states ??
    (req.query.has("states")
      ? req.query
          .get("states")!
          .split(",")
          .map((s) => s.trim())
      : undefined);
  if (!Array.isArray(raw) || raw.length === 0) throw invalid("states", "must be a non-empty array of job states");
  for (const s of raw) if (!isJobState(s)) throw invalid("states", `must be job states, not ${JSON.stringify(s)}`);
  return raw as JobState[];
}

/** Our extension of the purge (a clean): at most `limit` jobs, the oldest first. */
function limitOf(req: HttpRequest, b: JsonObject): number | undefined {
  const raw = b.limit ?? (req.query.has("limit") ? Number(req.query.get("limit")) : undefined);
  if (raw === undefined) return undefined;
  if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 1 || raw > MAX_PURGE_LIMIT)
    throw invalid("limit", `must be a whole number from 1 to ${MAX_PURGE_LIMIT}`);
  return raw;
}

function olderThanOf(req: HttpRequest, b: JsonObject): Date | undefined {
  return optInstant({ get: (n) => b[n] ?? req.query.get(n) ?? undefined }, "older_than");
}

function adminJobJson(r: JobRecord): JsonObject {
  return { ...jobJson(r), dead_letter: r.deadLetter };
}

export function registerAdminApiRoutes(core: ServerCore, router: HttpRouter): void {
  const store = core.jobs;
  const views = new AdminViews(store, core.startedAt, core.store.clock, core.store.defaultVisibilityMs);

  // --- queues (§6) ------------------------------------------------------------------------

  router.on("GET", "/ojs/v1/admin/queues", async (req) => ({
    status: 200,
    body: pageToJson(await views.listQueues(pageFrom(querySource(req.query))), adminQueueToJson),
  }));
  router.on("GET", "/ojs/v1/admin/queues/:name", async (req) => ({ status: 200, body: queueDetailToJson(await views.queue(req.params.name!)) }));
  router.on("POST", "/ojs/v1/admin/queues/:name/pause", async (req) => {
    await store.pauseQueue(req.params.name!);
    return { status: 200, body: queueDetailToJson(await views.queue(req.params.name!)) };
  });
  router.on("POST", "/ojs/v1/admin/queues/:name/resume", async (req) => {
    await store.resumeQueue(req.params.name!);
    return { status: 200, body: queueDetailToJson(await views.queue(req.params.name!)) };
  });
  router.on("DELETE", "/ojs/v1/admin/queues/:name/jobs", async (req) => {
    const b = body(req);
    requireConfirm(confirmOf(req, b), "purge a queue");
    const olderThan = olderThanOf(req, b);
    const limit = limitOf(req, b);
    const out = await purgeQueue(store, req.params.name!, {
      states: statesOf(req, b),
      ...(olderThan ? { olderThan } : {}),
      ...(limit !== undefined ? { limit } : {}),
      confirm: true,
    });
    return { status: 200, body: purgeResultToJson(out) };
  });

  // --- jobs (§7, §8); the bulk routes first: "bulk" must not be read as a job id ---------------

  router.on("GET", "/ojs/v1/admin/jobs", async (req) => {
    const page = await listJobs(store, listOptions(req.query));
    return { status: 200, body: pageToJson(page, adminJobJson) };
  });
  for (const action of ["retry", "cancel", "delete"] as const satisfies readonly BulkAction[]) {
    router.on("POST", `/ojs/v1/admin/jobs/bulk/${action}`, async (req) => {
      const b = body(req);
      requireConfirm(b.confirm, `${action} jobs in bulk`);
      if (b.filter !== undefined && !isJsonObject(b.filter)) throw invalid("filter", "must be an object");
      const filter = filterFrom(bodySource(isJsonObject(b.filter) ? b.filter : {}));
      const limit = optInt(bodySource(b), "limit");
      const out = await bulk(store, action, filter, { confirm: true, ...(limit !== undefined ? { limit } : {}) });
      return { status: 200, body: bulkResultToJson(out) };
    });
  }
  router.on("GET", "/ojs/v1/admin/jobs/:id", async (req) => ({ status: 200, body: adminJobJson(await store.get(req.params.id!)) }));
  router.on("POST", "/ojs/v1/admin/jobs/:id/cancel", async (req) => ({ status: 200, body: adminJobJson(await store.cancel(req.params.id!)) }));
  router.on("POST", "/ojs/v1/admin/jobs/:id/retry", async (req) => ({ status: 200, body: adminJobJson(await store.retryDiscarded(req.params.id!)) }));
  router.on("DELETE", "/ojs/v1/admin/jobs/:id", async (req) => {
    await store.deleteFinished(req.params.id!);
    return { status: 200, body: { deleted: true, job_id: req.params.id! } };
  });

  // --- dead letter purge (§11.3; listing and single retry/delete are in admin-routes.ts) -------

  router.on("DELETE", "/ojs/v1/admin/dead-letter", async (req) => {
    const b = body(req);
    requireConfirm(confirmOf(req, b), "purge the dead-letter queue");
    const queue = optString({ get: (n) => b[n] ?? req.query.get(n) ?? undefined }, "queue");
    const olderThan = olderThanOf(req, b);
    const out = await purgeDeadLetter(store, { ...(queue !== undefined ? { queue } : {}), ...(olderThan ? { olderThan } : {}), confirm: true });
    return { status: 200, body: purgeResultToJson(out) };
  });

  // --- workers (§9.1, §9.2; directives are in admin-routes.ts) ----------------------------------

  router.on("GET", "/ojs/v1/admin/workers", async (req) => ({
    status: 200,
    body: workerListToJson(await views.listWorkers(pageFrom(querySource(req.query)))),
  }));
  router.on("GET", "/ojs/v1/admin/workers/:id", async (req) => {
    const w = adminWorkerToJson(await views.worker(req.params.id!));
    return { status: 200, body: { ...w, worker: w } };
  });

  // --- statistics (§10) ---------------------------------------------------------------------------

  router.on("GET", "/ojs/v1/admin/stats", async () => ({ status: 200, body: statsToJson(await views.stats()) }));
  router.on("GET", "/ojs/v1/admin/stats/history", async (req) => {
    const src = querySource(req.query);
    const period = optString(src, "period") ?? "5m";
    if (!(period in HISTORY_PERIODS)) throw invalid("period", `must be one of ${Object.keys(HISTORY_PERIODS).join(", ")}`);
    const queue = optString(src, "queue");
    const since = optInstant(src, "since");
    const until = optInstant(src, "until");
    const h = await views.history({
      period: period as HistoryPeriod,
      ...(queue !== undefined ? { queue } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
    });
    return { status: 200, body: historyToJson(h) };
  });
}
