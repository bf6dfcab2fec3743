/**
 * The admin-api extension's JSON shapes (ojs-admin-api §6-§10), both ways: the
 * server's routes write them, the client's HTTP binding reads them. Readers are
 * lenient (a missing count reads 0), writers always write every field.
 */
import { normalizeRetention, retentionModelFromJson, retentionToJson } from "./retention.js";
import type {
  AdminPage,
  AdminQueue,
  AdminQueueDetail,
  AdminStats,
  AdminWorker,
  BulkAction,
  BulkResult,
  HistoryPeriod,
  JobFilter,
  JobListOptions,
  PurgeResult,
  StateCounts,
  StatsHistory,
  Throughput,
  WorkerList,
} from "../model/admin.js";
import { JOB_STATES, type JobState } from "../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../model/json.js";
import type { WorkerDirective } from "../model/system.js";
import { formatInstant, parseInstant } from "./values.js";
import { putDefined, type JsonFieldsOut } from "./defined-fields.js";

const num = (v: JsonValue | undefined): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const obj = (v: JsonValue | undefined): JsonObject => (isJsonObject(v) ? v : {});
const STATE_SET: ReadonlySet<string> = new Set(JOB_STATES);

export function isJobState(v: unknown): v is JobState {
  return typeof v === "string" && STATE_SET.has(v);
}

// --- counts, throughput, pages ------------------------------------------------------------

export function countsToJson(c: StateCounts): JsonObject {
  const o: JsonObject = {};
  for (const s of JOB_STATES) o[s] = c[s];
  return o;
}

export function countsFromJson(v: JsonValue | undefined): StateCounts {
  const o = obj(v);
  const c = {} as StateCounts;
  for (const s of JOB_STATES) c[s] = num(o[s]);
  return c;
}

export function throughputToJson(t: Throughput): JsonObject {
  return { processed_per_minute: t.processedPerMinute, failed_per_minute: t.failedPerMinute };
}

export function throughputFromJson(v: JsonValue | undefined): Throughput {
  const o = obj(v);
  return { processedPerMinute: num(o.processed_per_minute), failedPerMinute: num(o.failed_per_minute) };
}

export function pageToJson<T>(p: AdminPage<T>, item: (t: T) => JsonObject): JsonObject {
  return { items: p.items.map(item), pagination: { total: p.total, page: p.page, per_page: p.perPage } };
}

export function pageFromJson<T>(b: JsonObject, item: (o: JsonObject) => T): AdminPage<T> {
  const items = Array.isArray(b.items) ? b.items.filter(isJsonObject).map(item) : [];
  const pg = obj(b.pagination);
  return { items, total: num(pg.total ?? items.length), page: num(pg.page) || 1, perPage: num(pg.per_page) || items.length };
}

// --- queues ----------------------------------------------------------------------------------

export function adminQueueToJson(q: AdminQueue): JsonObject {
  const o: JsonObject = {
    name: q.name,
    state: q.state,
    paused: q.paused,
    counts: countsToJson(q.counts),
    dead_letter: q.deadLetter,
    throughput: throughputToJson(q.throughput),
  };
  if (q.createdAt) o.created_at = formatInstant(q.createdAt);
  return o;
}

export function adminQueueFromJson(o: JsonObject): AdminQueue {
  const paused = o.paused === true || o.state === "paused";
  const q: AdminQueue = {
    name: String(o.name ?? ""),
    state: paused ? "paused" : "active",
    paused,
    counts: countsFromJson(o.counts),
    deadLetter: num(o.dead_letter),
    throughput: throughputFromJson(o.throughput),
  };
  const c = parseInstant(o.created_at);
  if (c) q.createdAt = c;
  return q;
}

export function queueDetailToJson(q: AdminQueueDetail): JsonObject {
  const cfg: JsonObject = {};
  if (q.configuration.rateLimitPerSecond !== undefined) cfg.rate_limit = { limit: q.configuration.rateLimitPerSecond, period: "PT1S" };
  if (q.configuration.maxDepth !== undefined) cfg.max_depth = q.configuration.maxDepth;
  if (q.configuration.retention) cfg.retention = retentionToJson(normalizeRetention(q.configuration.retention) ?? {});
  const o: JsonObject = {
    ...adminQueueToJson(q),
    depth: q.depth,
    configuration: cfg,
    last_hour: { completed: q.lastHour.completed, failed: q.lastHour.failed, avg_duration_ms: q.lastHour.avgDurationMs, avg_wait_ms: q.lastHour.avgWaitMs },
  };
  if (q.oldestAvailableAt) o.oldest_available_at = formatInstant(q.oldestAvailableAt);
  return o;
}

export function queueDetailFromJson(o: JsonObject): AdminQueueDetail {
  const cfg = obj(o.configuration);
  const rl = obj(cfg.rate_limit);
  const hour = obj(o.last_hour);
  const q: AdminQueueDetail = {
    ...adminQueueFromJson(o),
    depth: num(o.depth),
    configuration: {},
    lastHour: { completed: num(hour.completed), failed: num(hour.failed), avgDurationMs: num(hour.avg_duration_ms), avgWaitMs: num(hour.avg_wait_ms) },
  };
  // Only a per-second limit is ours to read; other periods are another server's configuration.
  if (typeof rl.limit === "number" && (rl.period === undefined || rl.period === "PT1S")) q.configuration.rateLimitPerSecond = rl.limit;
  if (typeof cfg.max_depth === "number") q.configuration.maxDepth = cfg.max_depth;
  const retention = retentionModelFromJson(cfg.retention);
  if (retention) q.configuration.retention = retention;
  const oldest = parseInstant(o.oldest_available_at);
  if (oldest) q.oldestAvailableAt = oldest;
  return q;
}

// --- filters ------------------------------------------------------------------------------------

// A table: fields grouped on a line, so prettier leaves it be.
// prettier-ignore
const FILTER_JSON: JsonFieldsOut<JobFilter> = {
  queue: "queue", state: "state", type: "type", since: ["since", formatInstant], until: ["until", formatInstant],
  deadLetter: "dead_letter",
};

export function filterToJson(f: JobFilter): JsonObject {
  return putDefined({}, f, FILTER_JSON);
}

/** GET /admin/jobs query parameters. */
export function listQuery(o: JobListOptions): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filterToJson(o))) q.set(k, String(v));
  if (o.page !== undefined) q.set("page", String(o.page));
  if (o.perPage !== undefined) q.set("per_page", String(o.perPage));
  if (o.sort !== undefined) q.set("sort", o.sort);
  if (o.order !== undefined) q.set("order", o.order);
  const s = q.toString();
  return s ? `?${s}` : "";
}

// --- bulk and purge ------------------------------------------------------------------------------

export function bulkResultToJson(r: BulkResult): JsonObject {
  return {
    action: r.action,
    matched: r.matched,
    succeeded: r.succeeded,
    failed: r.failed,
    remaining: r.remaining,
    errors: r.errors.map((e) => ({ job_id: e.jobId, error: e.error })),
  };
}

export function bulkResultFromJson(o: JsonObject, action: BulkAction): BulkResult {
  const errors = Array.isArray(o.errors) ? o.errors.filter(isJsonObject) : [];
  const a = o.action;
  return {
    action: a === "retry" || a === "cancel" || a === "delete" ? a : action,
    matched: num(o.matched),
    succeeded: num(o.succeeded),
    failed: num(o.failed),
    remaining: num(o.remaining),
    errors: errors.map((e) => ({ jobId: String(e.job_id ?? ""), error: String(e.error ?? "") })),
  };
}

export function purgeResultToJson(r: PurgeResult): JsonObject {
  return { purged_count: r.purgedCount, states: r.states };
}

export function purgeResultFromJson(o: JsonObject): PurgeResult {
  return { purgedCount: num(o.purged_count), states: Array.isArray(o.states) ? o.states.filter(isJobState) : [] };
}

// --- workers -------------------------------------------------------------------------------------

export function adminWorkerToJson(w: AdminWorker): JsonObject {
  return {
    id: w.id,
    worker_id: w.id,
    state: w.state,
    directive: w.directive,
    active_jobs: w.activeJobs,
    active_job_ids: w.activeJobIds,
    started_at: formatInstant(w.startedAt),
    last_heartbeat_at: formatInstant(w.lastHeartbeatAt),
    stale: w.stale,
  };
}

const DIRECTIVES: ReadonlySet<string> = new Set(["running", "quiet", "terminate"]);

export function adminWorkerFromJson(o: JsonObject): AdminWorker {
  const ids = Array.isArray(o.active_job_ids) ? o.active_job_ids.filter((x): x is string => typeof x === "string") : [];
  const directive = typeof o.directive === "string" && DIRECTIVES.has(o.directive) ? (o.directive as WorkerDirective) : "running";
  return {
    id: String(o.id ?? o.worker_id ?? ""),
    state: String(o.state ?? ""),
    directive,
    activeJobs: typeof o.active_jobs === "number" ? o.active_jobs : ids.length,
    activeJobIds: ids,
    startedAt: parseInstant(o.started_at) ?? new Date(0),
    lastHeartbeatAt: parseInstant(o.last_heartbeat_at) ?? new Date(0),
    stale: o.stale === true,
  };
}

export function workerListToJson(l: WorkerList): JsonObject {
  return { ...pageToJson(l, adminWorkerToJson), summary: { ...l.summary } };
}

export function workerListFromJson(b: JsonObject): WorkerList {
  const page = pageFromJson(b, adminWorkerFromJson);
  const s = obj(b.summary);
  const summary: WorkerList["summary"] = { total: num(s.total ?? page.total), stale: num(s.stale) };
  for (const [k, v] of Object.entries(s)) if (typeof v === "number") summary[k] = v;
  return { ...page, summary };
}

// --- stats ---------------------------------------------------------------------------------------

export function statsToJson(s: AdminStats): JsonObject {
  return {
    queues: s.queues,
    workers: s.workers,
    jobs: countsToJson(s.jobs),
    dead_letter: s.deadLetter,
    throughput: throughputToJson(s.throughput),
    uptime_seconds: s.uptimeSeconds,
  };
}

export function statsFromJson(o: JsonObject): AdminStats {
  return {
    queues: num(o.queues),
    workers: num(o.workers),
    jobs: countsFromJson(o.jobs),
    deadLetter: num(o.dead_letter),
    throughput: throughputFromJson(o.throughput),
    uptimeSeconds: num(o.uptime_seconds),
  };
}

export const HISTORY_PERIODS: Readonly<Record<HistoryPeriod, number>> = { "1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000 };

export function historyToJson(h: StatsHistory): JsonObject {
  return { period: h.period, data: h.points.map((p) => ({ timestamp: formatInstant(p.timestamp), processed: p.processed, failed: p.failed })) };
}

export function historyFromJson(o: JsonObject): StatsHistory {
  const period = typeof o.period === "string" && o.period in HISTORY_PERIODS ? (o.period as HistoryPeriod) : "5m";
  const data = Array.isArray(o.data) ? o.data.filter(isJsonObject) : [];
  return { period, points: data.map((p) => ({ timestamp: parseInstant(p.timestamp) ?? new Date(0), processed: num(p.processed), failed: num(p.failed) })) };
}
